"""Baselines of ``pkgym/Addiction-v0``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

import pkgym  # noqa: F401
from agents.policies.addiction.baselines import SteppedCarePolicy
from agents.policies.registry import make_policy
from pkgym.envs.addiction.clinic import AddictionScenario
from pkgym.evaluation.cohorts import sample_cohort
from pkgym.evaluation.runner import run_policy

ROOT = Path(__file__).resolve().parents[4]


def test_stepped_care__follows_its_steps() -> None:
    """CM while fewer than 2 positive tests, naltrexone 50 mg from the second on."""
    urine = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 1]], np.float32)
    obs = {"urine_positive": urine, "week": np.full((4, 1), 3, np.float32)}
    assert SteppedCarePolicy().act(obs).tolist() == [6.0, 6.0, 2.0, 2.0]


def test_addiction_baselines__oracle_beats_no_treatment_paired() -> None:
    """On the same 12 patients and noise, the oracle has more abstinent days than none."""
    scenario = AddictionScenario(n_weeks=8)
    cohort = sample_cohort(scenario.population, scenario.redish.variability, 12, seed=5)
    import gymnasium as gym
    core = gym.make("pkgym/Addiction-v0").unwrapped.core
    scores = {name: run_policy(make_policy(name, core), "pkgym/Addiction-v0", cohort, 3,
                               {"scenario": scenario})["abstinent_days_fraction"].mean()
              for name in ("none", "oracle", "naltrexone_50mg", "stepped_care")}
    assert scores["oracle"] > scores["none"] + 0.2
    assert scores["naltrexone_50mg"] > scores["none"]


def test_pkgym_evaluate__runs_addiction_baselines(tmp_path: Path) -> None:
    """The CLI evaluates none and stepped care on 4 patients."""
    out = subprocess.run([sys.executable, "-m", "pkgym.cli", "evaluate", "--env",
                          "pkgym/Addiction-v0", "--policy", "none", "--policy", "stepped_care",
                          "--n-patients", "4", "--out", str(tmp_path)],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "stepped_care" in (tmp_path / "summary.md").read_text()
