"""A PPO dose-finding design: trained by ``pkgym train``, scored by ``pkgym trial``."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pandas as pd
import pytest
import yaml
from training_helpers import tiny_config

import pkgym  # noqa: F401
from agents.policies.dose_finding.baselines import learned_design
from agents.policies.registry import make_policy
from agents.rl.training import train
from pkgym.cli import main
from pkgym.evaluation.cohorts import env_cohort
from pkgym.evaluation.evaluate import evaluate
from pkgym.trials.scenarios import DoseFindingScenario

ENV_ID = "pkgym/DoseFinding-v0"
TRUTH = [0.05, 0.12, 0.3, 0.45, 0.6]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PPO design trained for 256 steps on random curves (16 training trials)."""
    out = tmp_path_factory.mktemp("design")
    train(tiny_config(out, "ppo", env_id=ENV_ID, timesteps=256, eval_freq=128))
    return out / "run" / "model.zip"


def test_learned_design__trains_with_validation_on_held_out_trials(model_path: Path) -> None:
    """`pkgym train` writes the model and a learning curve scored by correct MTD selection."""
    curve = pd.read_csv(model_path.parent / "learning_curve.csv")
    assert model_path.is_file() and set(curve["score_name"]) == {"correct_selection"}
    assert curve["mean_score"].between(0, 1).all()


def test_learned_design__pkgym_trial_scores_it_like_any_design(model_path: Path,
                                                               tmp_path: Path) -> None:
    """`pkgym trial --design sb3:...` writes the per-dose table for a 36-patient scenario."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump({"true_dlt_probabilities": TRUTH,
                                        "target_dlt_rate": 0.3, "max_sample_size": 36}))
    code = main(["trial", "--design", f"sb3:{model_path}", "--scenario", str(scenario),
                 "--n-trials", "40", "--out", str(tmp_path / "out")])
    table = pd.read_csv(tmp_path / "out" / "operating_characteristics.csv")
    assert code == 0 and len(table) == 5
    assert table.filter(like="patients").sum().iloc[0] > 0


def test_learned_design__refuses_trials_of_another_shape(model_path: Path) -> None:
    """A model trained on 36-patient trials cannot be scored on 30-patient ones."""
    scenario = DoseFindingScenario(true_dlt_probabilities=tuple(TRUTH), target_dlt_rate=0.3,
                                   max_sample_size=30)
    with pytest.raises(ValueError, match="sample size"):
        learned_design(f"sb3:{model_path}", scenario)


def test_learned_design__evaluates_against_boin_on_held_out_trials(model_path: Path) -> None:
    """The `pkgym evaluate` harness runs the design and BOIN on the same held-out trials."""
    core = gym.make(ENV_ID).unwrapped.core
    cohort = env_cohort(core.settings, 8, seed=1)
    policies = [make_policy("boin", core), make_policy(f"sb3:{model_path}", core, env_id=ENV_ID)]
    results = evaluate(policies, ENV_ID, cohort, seed=1)
    assert set(results["policy"]) == {"boin", f"sb3:{model_path.parent.name}"}  # RUN/model.zip
    assert results["correct_selection"].isin([0.0, 1.0]).all()
