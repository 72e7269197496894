"""Escitalopram baselines: the stepped-care rule, the oracle, the registry and the CLI."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

import pkgym  # noqa: F401  (registers pkgym/Depression-v0)
from agents.policies.depression.baselines import SteppedCarePolicy
from agents.policies.registry import DEPRESSION_BASELINES, make_policy
from pkgym.evaluation.cohorts import sample_cohort
from pkgym.evaluation.evaluate import evaluate
from pkgym.evaluation.policy import Policy

ENV_ID = "pkgym/Depression-v0"
LEVELS = np.array([0.0, 5.0, 10.0, 15.0, 20.0])


def observation(week: int, madrs: list[float], doses: list[float],
                events: list[float]) -> dict[str, np.ndarray]:
    """A hand-built one-patient observation of a 12-week episode."""
    pad = np.zeros(13)
    pad[:len(madrs)] = madrs
    dose, event = np.zeros(12), np.zeros(12)
    dose[:len(doses)], event[:len(events)] = doses, events
    return {"week": np.array([[week]], float), "madrs": pad[None], "doses_mg": dose[None],
            "adverse_event": event[None]}


@pytest.mark.parametrize(("week", "madrs", "doses", "events", "expected"), [
    (0, [30], [], [], 10.0),                                   # start at 10 mg
    (2, [30, 29, 29], [10, 10], [0, 0], 10.0),                 # no review before week 4
    (4, [30, 28, 27, 26, 25], [10] * 4, [0] * 4, 15.0),        # < 25% better: one level up
    (4, [30, 28, 25, 23, 22], [10] * 4, [0] * 4, 10.0),        # >= 25% better: keep
    (4, [30, 30, 30, 30, 30], [10] * 4, [1, 0, 0, 1], 5.0),    # 2 adverse events: one down
    (8, [30] * 9, [10] * 4 + [20] * 4, [0] * 8, 20.0),          # already at the maximum
    (5, [30] * 6, [10] * 4 + [15], [0] * 5, 15.0),              # between reviews: keep
])
def test_stepped_care__follows_its_steps_on_hand_built_observations(
        week: int, madrs: list, doses: list, events: list, expected: float) -> None:
    """Start 10 mg; at weeks 4, 8: up if < 25% improvement, down after >= 2 adverse events."""
    obs = observation(week, madrs, doses, events)
    assert SteppedCarePolicy(LEVELS).act(obs).tolist() == [expected]


def test_depression_baselines__run_an_episode_with_doses_on_the_levels() -> None:
    """Every registered baseline satisfies the Policy protocol and doses on the env's levels."""
    vec = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point")
    core = vec.unwrapped.core
    for name in DEPRESSION_BASELINES:
        policy = make_policy(name, core)
        assert isinstance(policy, Policy) and policy.name == name
        obs, info = vec.reset(seed=0)
        policy.reset(3)
        for _ in range(12):
            doses = policy.act(obs, info)
            assert set(doses.tolist()) <= set(LEVELS.tolist())
            obs, _, _, truncated, info = vec.step(core.encode_decisions(doses, False))
        assert truncated.all()
    assert make_policy("oracle", core).reads_hidden_state


def test_depression_oracle__beats_no_treatment_in_a_paired_evaluation() -> None:
    """On 40 held-out patients the oracle's return exceeds no treatment's for most patients."""
    core = gym.make(ENV_ID).unwrapped.core
    cohort = sample_cohort(core.settings.population, core.settings.model.variability, 40, 3)
    results = evaluate([make_policy(n, core) for n in ("none", "oracle", "fixed")], ENV_ID,
                       cohort, 7)
    by = {name: table.sort_values("id") for name, table in results.groupby("policy")}
    gain = by["oracle"]["return"].to_numpy() - by["none"]["return"].to_numpy()
    assert gain.mean() > 0.5 and (gain > 0).mean() > 0.9
    assert by["oracle"]["return"].mean() >= by["fixed"]["return"].mean()
    assert by["oracle"]["final_symptom_score"].mean() < by["none"]["final_symptom_score"].mean()


def test_pkgym_evaluate__runs_the_depression_baselines_in_a_subprocess(tmp_path) -> None:  # noqa: ANN001
    """``pkgym evaluate --env pkgym/Depression-v0`` writes a summary for both policies."""
    result = subprocess.run(
        [sys.executable, "-m", "pkgym.cli", "evaluate", "--env", ENV_ID, "--policy", "none",
         "--policy", "stepped_care", "--n-patients", "4", "--out", str(tmp_path)],
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert set(summary["policy"]) == {"none", "stepped_care"}
    assert "remission" in set(summary["score"])
