"""Paired evaluation, the leakage guard, the policy registry and ``pkgym evaluate``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pkgym  # noqa: F401
from agents.policies.registry import make_policy
from pkgym.evaluation.cohorts import (
    EVALUATION,
    TRAINING,
    LeakageError,
    cohort_id,
    sample_cohort,
)
from pkgym.evaluation.evaluate import evaluate
from pkgym.evaluation.outcomes import VANCOMYCIN_OUTCOMES
from pkgym.evaluation.report import summarise
from pkgym.models.vancomycin import Goti2018
from pkgym.populations.vancomycin import ADULT_INPATIENTS

ENV_ID = "pkgym/Vancomycin-v0"


def _cohort(n: int, seed: int, space: int = EVALUATION) -> pd.DataFrame:
    return sample_cohort(ADULT_INPATIENTS, Goti2018().variability, n, seed, space)


def test_evaluate__identical_policies_have_a_paired_difference_of_exactly_zero(
        fixed_dose) -> None:  # noqa: ANN001
    """Two copies of one policy meet the same patients and noise: difference 0 [0, 0]."""
    policies = [fixed_dose(1000.0, "a"), fixed_dose(1000.0, "b")]
    results = evaluate(policies, ENV_ID, _cohort(12, 1), 4)
    summary = summarise(results, "a", VANCOMYCIN_OUTCOMES.scores, reps=300)
    for score in ("return", "in_target_range_fraction", "had_aki"):
        row = summary.loc[("b", score)]
        assert (row["difference"], row["diff_low"], row["diff_high"]) == (0.0, 0.0, 0.0)


def test_evaluate__refuses_patients_a_model_was_trained_on(fixed_dose) -> None:  # noqa: ANN001
    """A model evaluated on its own training cohort raises LeakageError; disjoint spaces pass."""
    train = _cohort(10, 5, TRAINING)
    trained = fixed_dose(750.0, "trained", training_cohorts=(cohort_id(train),))
    with pytest.raises(LeakageError, match="overlaps training cohort"):
        evaluate([trained], ENV_ID, train, 1)
    same_seed_eval = _cohort(10, 5, EVALUATION)
    assert not cohort_id(same_seed_eval).overlaps(cohort_id(train))
    assert len(evaluate([trained], ENV_ID, same_seed_eval, 1)) == 10


def test_make_policy__names_baselines_and_rejects_unknown_specs() -> None:
    """Baselines by name; a bad spec fails naming what is allowed."""
    import gymnasium as gym

    core = gym.make(ENV_ID).unwrapped.core
    assert [make_policy(n, core).name for n in ("label", "trough", "map", "oracle")] == [
        "label", "trough_guided", "map_bayesian", "oracle"]
    with pytest.raises(ValueError, match="sb3:PATH.zip"):
        make_policy("nonsense", core)
    with pytest.raises(ValueError, match="cannot import"):
        make_policy("no_such_module:f", core)


def test_cli_evaluate__writes_results_summary_and_report(tmp_path: Path) -> None:
    """``pkgym evaluate`` with a baseline and a user callable writes all outputs and shards."""
    out = tmp_path / "eval"
    (tmp_path / "my_policies.py").write_text("def half_gram(observation):\n    return 500.0\n")
    result = subprocess.run(
        [sys.executable, "-m", "pkgym.cli", "evaluate", "--env", ENV_ID, "--policy", "label",
         "--policy", "my_policies:half_gram", "--n-patients", "8", "--seed", "2", "--out",
         str(out)], capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "results.csv",
                                                    "results.parquet", "shards", "summary.csv",
                                                    "summary.md"]
    results = pd.read_csv(out / "results.csv")
    assert results.groupby("policy").size().to_dict() == {"label": 8,
                                                          "my_policies:half_gram": 8}
    assert (results.loc[results["policy"] == "my_policies:half_gram", "dose_mg_0"] == 500).all()
    assert "| label |" in (out / "summary.md").read_text()
    assert (out / "report.html").read_text().count("data:image/png;base64") == 3


def test_make_policy__loads_an_sb3_model_and_evaluates_it(tmp_path: Path) -> None:
    """``sb3:PATH.zip`` loads a saved SB3 model whose actions become doses from the env."""
    import gymnasium as gym
    from stable_baselines3 import PPO

    from agents.rl.sb3_vec_env import make_sb3_vec_env

    model = PPO("MultiInputPolicy", make_sb3_vec_env(ENV_ID, 2), n_steps=16, batch_size=16,
                seed=0, device="cpu")
    model.save(tmp_path / "tiny.zip")
    policy = make_policy(f"sb3:{tmp_path / 'tiny.zip'}", gym.make(ENV_ID).unwrapped.core,
                         trust_model_file=True)  # a foreign zip: no model.json
    results = evaluate([policy], ENV_ID, _cohort(3, 9), 1)
    assert policy.name == "sb3:tiny" and len(results) == 3
    assert set(results["dose_mg_0"]) <= set(np.arange(0.0, 3001.0, 250.0))


def test_make_policy__baselines_follow_the_scenario_interval_and_infusion_limits() -> None:
    """Built for an 8-h, 750 mg/h ward, the baselines use that interval and those limits."""
    import gymnasium as gym

    from pkgym.envs.vancomycin.clinic import VancomycinScenario

    scenario = VancomycinScenario(interval_h=8.0, n_steps=21, max_infusion_rate_mg_per_h=750.0)
    core = gym.make(ENV_ID, scenario=scenario).unwrapped.core
    assert {make_policy(n, core).interval_h for n in ("label", "trough", "map", "oracle")} == {8.0}
    results = evaluate([make_policy("oracle", core)], ENV_ID, _cohort(4, 3), 1,
                       env_kwargs={"scenario": scenario})
    assert results.filter(like="in_target_range_").iloc[:, 6:].to_numpy().mean() > 0.8


def test_cli_evaluate__scores_warfarin_policies_by_time_in_range(tmp_path: Path) -> None:
    """On the warfarin env the summary reports Rosendaal TTR, extreme INRs, events and tests."""
    out = tmp_path / "warfarin"
    result = subprocess.run(
        [sys.executable, "-m", "pkgym.cli", "evaluate", "--env", "pkgym/WarfarinPGx-v0",
         "--policy", "fixed_5mg", "--policy", "iwpc_pgx+aurora", "--n-patients", "6",
         "--seed", "3", "--out", str(out)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["score"]) == {
        "time_in_therapeutic_range", "ttr_measured_rosendaal", "percent_days_inr_above_4",
        "percent_days_inr_below_1_5", "bleeding_events", "thromboembolic_events", "inr_tests",
        "return"}
    results = pd.read_csv(out / "results.csv")
    assert results["time_in_therapeutic_range"].between(0, 1).all()
    assert (results.loc[results["policy"] == "fixed_5mg", "dose_mg_0"] == 5.0).all()
    assert "TTR (true INR, Rosendaal)" in (out / "summary.md").read_text()
