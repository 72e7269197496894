"""One CLI grammar (issue 20): --n-patients, repeated flags, pkgym list/--version, aliases."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

import pkgym  # noqa: F401
from pkgym.cli import build_parser, main


def _parse(capsys: pytest.CaptureFixture, *argv: str) -> tuple[object, str]:
    """The parsed namespace and what parsing printed on stderr."""
    args = build_parser().parse_args(list(argv))
    return args, capsys.readouterr().err


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture) -> None:
    """``pkgym --version``: ``pkgym X.Y.Z`` and exit 0."""
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"pkgym {pkgym.__version__}"


def test_list_names_every_env_and_one_envs_policies_and_columns(
        capsys: pytest.CaptureFixture) -> None:
    """``pkgym list``: every registered id; ``--env``: baselines in -> out, cohort columns."""
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for env_id in (k for k in gym.registry if k.startswith("pkgym/")):
        assert env_id in out
    assert main(["list", "--env", "pkgym/Vancomycin-v0"]) == 0
    out = capsys.readouterr().out
    assert "map                          -> map_bayesian" in out
    assert "trough                       -> trough_guided" in out
    assert "serum_creatinine_mg_per_dl" in out and "weight_kg" in out


@pytest.mark.parametrize(("argv", "dest", "value", "old", "new"), [
    (["simulate", "vancomycin", "--n", "7", "--out", "x.csv"], "n_patients", 7, "--n",
     "--n-patients"),
    (["trial", "--arm", "label", "--arm", "trough", "--pool", "9", "--out", "x"], "n_patients",
     9, "--pool", "--n-patients"),
    (["trial", "--arms", "label,trough", "--out", "x"], "arms", ["label", "trough"], "--arms",
     "--arm"),
    (["train", "--env", "pkgym/Vancomycin-v0", "--algo", "ppo", "--timesteps", "5",
      "--n-validation", "4", "--out", "x"], "n_validation_patients", 4, "--n-validation",
     "--n-validation-patients"),
    (["benchmark", "--envs", "pkgym/Vancomycin-v0", "pkgym/Warfarin-v1", "--algo", "ppo",
      "--seed", "0", "--timesteps", "5", "--out", "x"], "envs",
     ["pkgym/Vancomycin-v0", "pkgym/Warfarin-v1"], "--envs", "--env"),
    (["benchmark", "--env", "pkgym/Vancomycin-v0", "--algos", "ppo", "a2c", "--seeds", "0",
      "1", "--timesteps", "5", "--out", "x"], "algos", ["ppo", "a2c"], "--algos", "--algo"),
])
def test_old_spellings_still_work_and_name_the_new_one(
        capsys: pytest.CaptureFixture, argv: list[str], dest: str, value: object, old: str,
        new: str) -> None:
    """A deprecated flag stores into the new flag's field and prints one line naming it."""
    args, err = _parse(capsys, *argv)
    assert getattr(args, dest) == value
    assert f"{old} is deprecated" in err and f"use {new}" in err and err.count("\n") >= 1


def test_repeated_flags_are_the_new_lists(capsys: pytest.CaptureFixture) -> None:
    """``--env A --env B --algo x --seed 0 --seed 1`` and ``--arm A --arm B``: no warning."""
    args, err = _parse(capsys, "benchmark", "--env", "pkgym/Vancomycin-v0", "--env",
                       "pkgym/Warfarin-v1", "--algo", "ppo", "--seed", "0", "--seed", "1",
                       "--timesteps", "5", "--out", "x")
    assert args.envs == ["pkgym/Vancomycin-v0", "pkgym/Warfarin-v1"]  # type: ignore[attr-defined]
    assert args.seeds == [0, 1] and err == ""  # type: ignore[attr-defined]
    args, err = _parse(capsys, "trial", "--arm", "label", "--arm", "map", "--out", "x")
    assert args.arms == ["label", "map"] and err == ""  # type: ignore[attr-defined]


def test_benchmark_without_an_env_is_refused_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Neither --env nor --envs: exit 2, one line naming --env."""
    code = main(["benchmark", "--algo", "ppo", "--seed", "0", "--timesteps", "5", "--out",
                 str(tmp_path / "b")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == "pkgym benchmark: error: --env is required (repeat it for " \
                                "several values)"


def test_result_names_are_accepted_back_as_policies() -> None:
    """``trough_guided`` and ``map_bayesian[prior=thomson2009]`` build those policies."""
    from agents.policies.registry import make_policy

    core = gym.make("pkgym/Vancomycin-v0").unwrapped.core  # type: ignore[attr-defined]
    assert make_policy("trough_guided", core).name == "trough_guided"
    named = make_policy("map_bayesian[prior=thomson2009]", core)
    assert named.name == "map_bayesian[prior=thomson2009]"
    with pytest.raises(ValueError, match="policy must be one of"):
        make_policy("trough_guide", core)


def off_grid(observation: dict) -> np.ndarray:
    """A user policy between the dose levels: 1100 mg to everyone."""
    return np.full(np.shape(observation["covariates"])[0], 1100.0)


def test_doses_between_levels_are_given_as_the_nearest_and_said(tmp_path: Path) -> None:
    """A module:callable dosing 1100 mg gets 1000 mg and a warning with the count."""
    from agents.policies.registry import make_policy
    from pkgym.evaluation.runner import run_policy

    core = gym.make("pkgym/Vancomycin-v0").unwrapped.core  # type: ignore[attr-defined]
    policy = make_policy("test_cli_grammar:off_grid", core)
    cohort = pd.DataFrame({"id": [0, 1], "age_years": [50.0, 60.0], "is_female": [0, 1],
                           "weight_kg": [70.0, 80.0], "height_cm": [175.0, 165.0],
                           "on_dialysis": [0, 0], "serum_creatinine_mg_per_dl": [1.0, 0.9]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_policy(policy, "pkgym/Vancomycin-v0", cohort, seed=0)
    messages = [str(w.message) for w in caught if "nearest level" in str(w.message)]
    assert len(messages) == 1 and "28 doses" in messages[0]  # 2 patients x 14 decisions


def test_resume_of_a_finished_run_is_refused_and_keeps_the_model(tmp_path: Path) -> None:
    """--resume when model.json already records >= --timesteps: one line, nothing touched."""
    from agents.rl.training import TrainConfig, _check_out_dir

    (tmp_path / "model.json").write_text(json.dumps({"timesteps": 4096}))
    config = TrainConfig(env_id="pkgym/Vancomycin-v0", algo="ppo", timesteps=4096,
                         out_dir=tmp_path, resume=True)
    with pytest.raises(ValueError, match=r"finished run of 4096 steps.*model.zip is kept"):
        _check_out_dir(config)


def test_training_progress_line_reports_steps_and_time_left(
        capsys: pytest.CaptureFixture) -> None:
    """The log callback prints steps done of the total, the share and the time left."""
    from agents.rl.callbacks import ProgressLogCallback

    callback = ProgressLogCallback(total_steps=1000, every_s=0.0)
    callback.num_timesteps = 250
    callback._on_rollout_end()
    err = capsys.readouterr().err
    assert err.startswith("train: 250/1,000 steps (25.0%),") and "min left" in err


def test_benchmark_modules_describe_themselves_on_help() -> None:
    """``python -m benchmarks.bench_sim --help`` prints its docstring and runs nothing."""
    result = subprocess.run([sys.executable, "-m", "benchmarks.bench_sim", "--help"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0 and "Simulation-core throughput" in result.stdout
