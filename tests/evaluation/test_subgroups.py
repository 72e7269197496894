"""Outcomes by subgroup (issue 19, point 4): covariates in the results, bands, paired tables."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

import pkgym  # noqa: F401
from agents.policies.registry import make_policy
from pkgym import cli
from pkgym.evaluation.cohorts import env_cohort
from pkgym.evaluation.evaluate import evaluate
from pkgym.evaluation.subgroups import BANDS, forest_figure, subgroup_names, subgroup_table

MODEL = Path(__file__).parents[1] / "data" / "ppo_vancomycin_0383c29" / "model.zip"
VANCOMYCIN = "pkgym/Vancomycin-v0"


def test_evaluate__results_carry_each_patients_covariates_not_its_etas() -> None:
    """Every cohort column but id and the hidden eta_* joins its patient's rows."""
    core = gym.make(VANCOMYCIN).unwrapped.core
    cohort = env_cohort(core.settings, 6, 1)
    results = evaluate([make_policy("label", core), make_policy("trough", core)], VANCOMYCIN,
                       cohort, 1)
    assert not any(c.startswith("eta_") for c in results.columns)
    merged = results.merge(cohort, on="id", suffixes=("", "_cohort"))
    for column in ("age_years", "serum_creatinine_mg_per_dl", "on_dialysis"):
        np.testing.assert_array_equal(merged[column], merged[f"{column}_cohort"])


def test_bands__edges_and_dialysis() -> None:
    """Age, BMI and Cockcroft-Gault bands at their edges; dialysis overrides CrCL."""
    table = pd.DataFrame({"age_years": [39.9, 40.0, 74.9, 75.0], "is_female": [0, 1, 0, 1],
                          "weight_kg": [70.0, 70.0, 100.0, 50.0],
                          "height_cm": [175.0, 175.0, 175.0, 175.0],
                          "serum_creatinine_mg_per_dl": [1.0, 1.0, 3.0, 1.0],
                          "on_dialysis": [0, 0, 0, 1]})
    assert BANDS["age_band"][1](table).tolist() == ["<40", "40-59", "60-74", ">=75"]
    assert BANDS["sex"][1](table).tolist() == ["male", "female", "male", "female"]
    assert BANDS["bmi_class"][1](table).tolist() == ["normal", "normal", "obese", "underweight"]
    # CrCL (140 - age) w / (72 SCr) [x 0.85]: 97.4, 82.6, 30.1; the last is on dialysis
    assert BANDS["renal_function"][1](table).tolist() == ["normal >=90", "mild 60-89",
                                                          "moderate 30-59", "dialysis"]


def test_subgroup_table__means_counts_and_paired_differences_by_hand() -> None:
    """Means per level are the group means; the reference's difference is 0; small flagged."""
    rng = np.random.default_rng(0)
    n = 40
    base = pd.DataFrame({"id": np.arange(n), "race": np.where(np.arange(n) < 30, "a", "b"),
                         "score": rng.normal(size=n)})
    base["reads_hidden_state"] = False
    results = pd.concat([base.assign(policy="ref"),
                         base.assign(policy="new", score=base["score"] + 1.0)])
    table = subgroup_table(results, ["race"], ["race"], "ref", ["score"], reps=200,
                           min_patients=20)
    rows = table.set_index(["level", "policy"])
    assert rows.loc[("a", "ref"), "n"] == 30 and rows.loc[("b", "ref"), "n"] == 10
    assert rows.loc[("b", "new"), "small"] and not rows.loc[("a", "new"), "small"]
    assert rows.loc[("a", "ref"), "mean"] == pytest.approx(base["score"][:30].mean())
    assert rows.loc[("a", "new"), "difference"] == pytest.approx(1.0)
    assert rows.loc[("a", "ref"), "difference"] == 0.0
    figure = forest_figure(table, "score", "score", "ref")
    assert len(figure.axes[0].get_yticklabels()) == 2


def test_subgroup_names__bands_need_their_inputs() -> None:
    """Renal function needs creatinine; genotype needs both genes."""
    names = subgroup_names(["age_years", "is_female", "weight_kg", "cyp2c9"], ["cyp2c9"])
    assert "renal_function" not in names and "genotype" not in names and "cyp2c9" in names


def test_cli__shifted_agent_by_sex_and_renal_function_writes_the_subgroup_table(
        tmp_path: Path) -> None:
    """Issue 19's end-to-end case: an SB3 model, another scenario, two subgroups."""
    scenario = tmp_path / "renal.yaml"
    scenario.write_text("env: pkgym/Vancomycin-v0\npopulation: renal_impairment\n")
    status = cli.main(["evaluate", "--env", VANCOMYCIN, "--policy", "label", "--policy",
                       f"sb3:{MODEL}", "--scenario", str(scenario), "--n-patients", "30",
                       "--by", "sex", "--by", "renal_function", "--out", str(tmp_path / "out")])
    assert status == 0
    table = pd.read_csv(tmp_path / "out" / "subgroups.csv")
    assert set(table["subgroup"]) == {"sex", "renal_function"}
    assert table.groupby(["subgroup", "policy", "score"])["n"].sum().eq(30).all()
    assert any("shifted" in p for p in table["policy"])
    assert "Subgroups: paired differences" in (tmp_path / "out" / "report.html").read_text()


def test_cli__a_subgroup_the_env_cannot_form_is_refused_before_work(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Vancomycin has no race: one line naming what is allowed, no output folder."""
    status = cli.main(["evaluate", "--env", VANCOMYCIN, "--policy", "label", "--by", "race",
                       "--n-patients", "5", "--out", str(tmp_path / "out")])
    error = capsys.readouterr().err
    assert status == 2 and "--by: ['race'] cannot be formed" in error and "renal_function" in error
    assert not (tmp_path / "out").exists()
