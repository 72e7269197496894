"""The ``pkgym`` console script, run for real in a subprocess with tiny budgets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.cli_helpers import run_in_process

TWO_CMT = ["two-compartment", "--param", "CL=4.5", "--param", "V1=58.4", "--param", "Q2=6.5",
           "--param", "V2=38.4"]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """Run ``python -m pkgym.cli`` with the given arguments."""
    return subprocess.run([sys.executable, "-m", "pkgym.cli", *args], capture_output=True,
                          text=True, check=False)


def test_simulate__typical_csv_matches_closed_form(tmp_path: Path) -> None:
    """A one-compartment bolus of 500 mg (CL 5, V 50) gives C = 10 exp(-0.1 t) in the CSV."""
    out = tmp_path / "typical.csv"
    result = run_cli("simulate", "one-compartment", "--param", "CL=5", "--param", "V1=50",
                     "--dose", "500", "--n-doses", "1", "--until", "24", "--step", "6",
                     "--out", str(out))
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out)
    assert list(table.columns) == ["id", "time_h", "conc_mg_per_l", "auc_mg_h_per_l"]
    np.testing.assert_allclose(table["conc_mg_per_l"], 10 * np.exp(-0.1 * table["time_h"]),
                               rtol=1e-9)


@pytest.mark.slow  # trimmed from the default suite (10-minute budget); -m slow runs it
def test_simulate__cohort_is_reproducible_and_fixed_covariates_apply(tmp_path: Path) -> None:
    """The same seed writes the same cohort; --covariate fixes weight for every patient."""
    first, second, heavy = (tmp_path / f"{k}.csv" for k in ("a", "b", "c"))
    common = [*TWO_CMT, "--n-patients", "20", "--seed", "3", "--until", "24"]
    assert run_cli("simulate", *common, "--out", str(first)).returncode == 0
    assert run_cli("simulate", *common, "--out", str(second)).returncode == 0
    assert first.read_bytes() == second.read_bytes()
    assert run_cli("simulate", *common, "--covariate", "weight_kg=140", "--out",
                   str(heavy)).returncode == 0
    table = pd.read_csv(first)
    assert table["id"].nunique() == 20 and table["conc_mg_per_l"].std() > 0
    assert not pd.read_csv(heavy).equals(table)


def test_simulate__png_is_written(tmp_path: Path) -> None:
    """A .png output is a real PNG file (percentile bands of the cohort)."""
    out = tmp_path / "vpc.png"
    result = run_cli("simulate", *TWO_CMT, "--n-patients", "50", "--infusion-hours", "1",
                     "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_simulate__bad_input_exits_2_naming_the_field(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Missing parameters, unknown covariates and negative doses fail with a named error.

    One case as a real process (its exit status), the rest through :func:`pkgym.cli.main`.
    """
    out = str(tmp_path / "x.csv")
    result = run_cli("simulate", "one-compartment", "--param", "CL=5", "--out", out)
    assert result.returncode == 2 and "V1" in result.stderr, result.stderr
    cases = [
        (["one-compartment", "--param", "CL=5"], "V1"),
        (["one-compartment", "--param", "CL=5", "--param", "V1=50", "--covariate", "wt=3"], "wt"),
        (["one-compartment", "--param", "CL=5", "--param", "V1=50", "--dose", "-3"], "amount_mg"),
        (["one-compartment", "--param", "CL=abc", "--param", "V1=50"], "CL"),
        (["one-compartment", "--param", "CL=5", "--param", "V1=50", "--out", "x.txt"], ".csv"),
    ]
    for args, field in cases:
        code, stderr = run_in_process(capsys, "simulate", *args,
                                      *([] if "--out" in args else ["--out", out]))
        assert code == 2 and field in stderr, (args, stderr)
    assert not Path(out).exists()


@pytest.mark.slow  # trimmed from the default suite (10-minute budget); -m slow runs it
def test_simulate__vancomycin_typical_patient_and_scenario_cohort(tmp_path: Path) -> None:
    """``simulate vancomycin`` uses Goti 2018 for the typical inpatient and a scenario cohort."""
    out = tmp_path / "v.csv"
    result = run_cli("simulate", "vancomycin", "--typical", "--n-doses", "28", "--until", "336",
                     "--step", "24", "--infusion-hours", "1", "--out", str(out))
    assert result.returncode == 0, result.stderr
    auc = pd.read_csv(out)["auc_mg_h_per_l"].to_numpy()
    crcl = min((140 - 57) * 79 / (72 * 0.9), 150.0)
    assert auc[-1] - auc[-2] == pytest.approx(2000 / (4.5 * (crcl / 120) ** 0.8), rel=1e-3)
    cohort = tmp_path / "renal.csv"
    result = run_cli("simulate", "vancomycin", "--n-patients", "30", "--scenario",
                     "scenarios/vancomycin_renal_impairment.yaml", "--out", str(cohort))
    assert result.returncode == 0, result.stderr
    assert pd.read_csv(cohort)["id"].nunique() == 30
    bad = run_cli("simulate", "vancomycin", "--covariate", "age=3", "--out", str(out))
    assert bad.returncode == 2 and "age_years" in bad.stderr


def test_benchmark__unknown_algo_is_refused(tmp_path: Path) -> None:
    """``benchmark`` exits 2 naming the supported algorithms; nothing is written."""
    out = tmp_path / "bench"
    common = ["--seed", "0", "--timesteps", "64", "--out", str(out)]
    result = run_cli("benchmark", "--env", "pkgym/Vancomycin-v0", "--algo", "muzero", *common)
    assert result.returncode == 2 and "algos must be" in result.stderr and "ppo" in result.stderr
    assert not out.exists()


@pytest.mark.slow
def test_benchmark__tiny_real_run_prints_the_leaderboard(tmp_path: Path) -> None:
    """A tiny real benchmark through the console entry point writes and prints the board."""
    out = tmp_path / "bench"
    result = run_cli("benchmark", "--env", "pkgym/Vancomycin-v0", "--algo", "ppo", "--seed",
                     "0", "--timesteps", "256", "--n-patients", "10", "--no-baselines", "--out",
                     str(out))
    assert result.returncode == 0, result.stderr
    assert "| ppo | algorithm | 1 x 1 |" in result.stdout
    assert (out / "leaderboard.csv").exists() and (out / "performance_profile.png").exists()


def test_train__tiny_run_writes_the_model_curve_and_checkpoints(tmp_path: Path) -> None:
    """``pkgym train`` trains a tiny A2C and writes model.zip/json, the curve, checkpoints."""
    out = tmp_path / "train"
    result = run_cli("train", "--env", "pkgym/Vancomycin-v0", "--algo", "a2c", "--n-envs", "4",
                     "--timesteps", "112", "--eval-freq", "56", "--n-validation-patients", "4",
                     "--n-training-patients", "8", "--checkpoint-freq", "56", "--device", "cpu",
                     "--no-progress", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "trained a2c on pkgym/Vancomycin-v0 for 112 steps" in result.stdout
    assert f"wrote {out / 'model.zip'}, {out / 'model.json'}" in result.stdout
    assert json.loads((out / "model.json").read_text())["n_envs"] == 4
    assert len(pd.read_csv(out / "learning_curve.csv")) == 2
    assert (out / "checkpoints" / "model_112_steps.zip").exists()


def test_train_vae__tiny_run_writes_the_vae_and_refuses_other_envs(tmp_path: Path) -> None:
    """``pkgym train-vae`` writes vae.pt and vae.json; an env without levels exits 2."""
    done = run_cli("train-vae", "--env", "pkgym/Vancomycin-v0", "--n-patients", "20",
                   "--epochs", "1", "--latent-dim", "4", "--out", str(tmp_path / "vae"))
    assert done.returncode == 0, done.stderr
    saved = json.loads((tmp_path / "vae" / "vae.json").read_text())
    assert saved["config"]["latent_dim"] == 4 and (tmp_path / "vae" / "vae.pt").is_file()
    assert "held-out RMSE" in done.stdout
    refused = run_cli("train-vae", "--env", "pkgym/Depression-v0", "--n-patients", "20",
                      "--out", str(tmp_path / "other"))
    assert refused.returncode == 2 and "pkgym/Vancomycin-v0" in refused.stderr


def test_trial__writes_operating_characteristics(tmp_path: Path) -> None:
    """``pkgym trial`` with a tiny n writes the CSV, Markdown and PNG; bad keys exit 2."""
    out = tmp_path / "boin"
    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "dose_finding_classic.yaml"
    result = run_cli("trial", "--design", "boin", "--scenario", str(scenario), "--n-trials", "20",
                     "--seed", "1", "--out", str(out))
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out / "operating_characteristics.csv")
    assert len(table) == 5 and table["true_mtd"].tolist() == [False, True, False, False, False]
    assert "% correct selection" in (out / "operating_characteristics.md").read_text()
    assert (out / "selection.png").read_bytes()[:4] == b"\x89PNG"
    bad = tmp_path / "bad.yaml"
    bad.write_text("true_dlt_probabilities: [0.1, 0.3]\ntarget_dlt_rate: 0.3\ncohort: 3\n")
    failed = run_cli("trial", "--design", "crm", "--scenario", str(bad), "--n-trials", "20",
                     "--out", str(tmp_path / "x"))
    assert failed.returncode == 2 and "unknown field" in failed.stderr


def test_trial__virtual_trial_of_vancomycin_arms_writes_power_next_to_type_one_error(
        tmp_path: Path) -> None:
    """``pkgym trial --arm label --arm trough`` writes trials, characteristics and the plot."""
    out = tmp_path / "vt"
    result = run_cli("trial", "--env", "pkgym/Vancomycin-v0", "--arm", "label", "--arm", "trough",
                     "--max-patients", "36", "--n-patients", "40", "--n-trials", "50",
                     "--futility-z", "-1", "--seed", "1", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "| reject H0: trough vs label |" in result.stdout
    assert "endpoint pool" in result.stderr  # the progress bar
    trials = pd.read_csv(out / "virtual_trial.csv")
    assert len(trials) == 100 and set(trials["scenario"]) == {"simulated", "under_null"}
    table = pd.read_csv(out / "operating_characteristics.csv").set_index("characteristic")
    assert {"simulated", "simulated_se", "under_null", "under_null_se"} <= set(table.columns)
    assert table.loc["reject any (family-wise)", "under_null"] == trials.loc[
        trials["scenario"] == "under_null", "rejected"].mean()
    assert table.loc["expected N (total)", "simulated"] <= 36
    assert "in_target_range_fraction" in (out / "operating_characteristics.md").read_text()
    assert (out / "power.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(("args", "words"), [
    (["--design", "boin", "--arm", "label"], ["--arm", "not allowed with", "--design"]),
    ([], ["--design", "--arm", "required"]),
    (["--arm", "label", "--arm", "map", "--max-patients", "30"], ["--env is required"]),
    (["--arm", "label", "--env", "pkgym/Vancomycin-v0", "--max-patients", "30"], ["--arm"]),
    (["--arm", "label", "--arm", "trough", "--arm", "map", "--env", "pkgym/Vancomycin-v0",
      "--max-patients", "30", "--allocation", "neyman"], ["allocation", "thall_wathen"]),
    (["--arm", "label", "--arm", "label", "--env", "pkgym/Vancomycin-v0", "--max-patients",
      "30"], ["distinct"]),
    (["--arm", "label", "--arm", "nope", "--env", "pkgym/Vancomycin-v0", "--max-patients",
      "30"], ["policy must be one of", "trough"]),
    (["--arm", "label", "--arm", "map", "--env", "pkgym/Vancomycin-v0", "--max-patients", "30",
      "--allocation", "urn"], ["--allocation", "thall_wathen"]),
    (["--design", "crm", "--max-patients", "30"], ["--max-patients", "only with --arm"]),
    (["--design", "bayes", "--scenario", "scenarios/dose_finding_classic.yaml"],
     ["design must be one of", "boin"]),
])
def test_trial__bad_flags_exit_2_naming_the_flag(tmp_path: Path, args: list[str],
                                                 words: list[str],
                                                 capsys: pytest.CaptureFixture) -> None:
    """Both or neither mode, missing or bad virtual-trial flags: exit 2, nothing written.

    Run in-process (``pkgym.cli.main``) to skip a subprocess start per case.
    """
    from pkgym.cli import main

    out = tmp_path / "x"
    try:
        code = main(["trial", *args, "--n-trials", "5", "--out", str(out)])
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    stderr = capsys.readouterr().err
    assert code == 2, stderr
    for word in words:
        assert word in stderr, (args, stderr)
    assert not out.exists()


def test_trial__flag_choices_match_the_library() -> None:
    """The CLI's choices for --alternative/--spending/--allocation are the library's."""
    from pkgym.commands import trial as cli
    from pkgym.trials import group_sequential, virtual_trial_design

    assert cli.ALTERNATIVES == virtual_trial_design.ALTERNATIVES
    assert cli.ALLOCATIONS == virtual_trial_design.ALLOCATIONS
    assert cli.SPENDING_FUNCTIONS == group_sequential.SPENDING_FUNCTIONS
