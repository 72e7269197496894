"""``pkgym/Addiction-v0``: pinned learners, reward, scenario, renders (contract elsewhere)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401
from pkgym.envs.addiction.clinic import AddictionScenario

ENV_ID = "pkgym/Addiction-v0"
ROOT = Path(__file__).resolve().parents[3]
SHORT = AddictionScenario(n_weeks=3, burn_in_days=60)
PATIENT = {"eta_learning_rate": 0.2, "eta_dopamine_surge": -0.3, "eta_inverse_temperature": 0.1,
           "eta_reward_sensitivity": 0.0, "id": 9}


def test_addiction_env__pinned_patient_reward_formula_and_bad_input() -> None:
    """Pinned etas set the learner; reward = abstinent days - burden; bad input fails."""
    env = gym.make(ENV_ID)
    _, info = env.reset(seed=1, options={"patient": PATIENT})
    assert info["patient_id"] == 9
    np.testing.assert_allclose(info["dopamine_surge"], 0.1 * np.exp(-0.3))
    _, reward, _, _, info = env.step(3)
    assert reward == pytest.approx(info["abstinent_days"] - 1.0)
    assert info["treatment_burden"] == 1.0 and info["naltrexone_occupancy"] > 0.5
    with pytest.raises(ValueError, match="action"):
        env.step(7)
    with pytest.raises(ValueError, match="unknown patient"):
        env.reset(options={"patient": {"eta_CL": 0.1}})
    with pytest.raises(ValueError, match="continuous"):
        gym.make(ENV_ID, continuous=True)


def test_addiction_env__yaml_render_and_dataset(tmp_path: Path) -> None:
    """The YAML scenario loads; ansi and rgb renders; the dataset has doses and DV."""
    env = gym.make(ENV_ID, scenario=str(ROOT / "scenarios/addiction.yaml"), render_mode="ansi")
    assert env.unwrapped.core.settings.scenario == AddictionScenario()
    bad = tmp_path / "bad.yaml"
    bad.write_text("env: pkgym/Addiction-v0\nn_weeks: 0\n")
    with pytest.raises(ValueError, match="n_weeks"):
        gym.make(ENV_ID, scenario=str(bad))
    env.reset(seed=0)
    env.step(5)
    assert env.render().startswith("week 1/24  treatment buprenorphine_24mg")
    table = env.unwrapped.episode_dataset()
    assert set(table.loc[table.EVID == 1, "CMT"]) == {2} and table.DV.notna().sum() == 1
    rgb = gym.make(ENV_ID, scenario=replace(SHORT), render_mode="rgb_array")
    rgb.reset(seed=0)
    assert rgb.render().ndim == 3
