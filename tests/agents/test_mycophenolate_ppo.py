"""The standard VAE + PPO path on ``pkgym/Mycophenolate-v0`` (one decision per visit).

The env decides 6 times per episode (visits on days 0, 3, 7, 10, 14, 21) while its canonical
history holds 56 dose slots of 12 h: the VAE's data loop must step to the hooks' ``n_steps``,
and a PPO agent on the VAE encoder must train on, and be evaluated in, that env.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np

import pkgym  # noqa: F401  (registers the envs)
from agents.policies.mycophenolate.hooks import n_steps
from agents.policies.registry import make_policy
from agents.rl.training import train
from agents.vae.data import n_decisions, simulate_vae_data
from agents.vae.training import train_vae
from pkgym.evaluation.cohorts import TRAINING, env_cohort
from pkgym.evaluation.evaluate import evaluate
from pkgym.wrappers import exposure_grid, history_layout
from tests.agents.training_helpers import tiny_config

ENV_ID = "pkgym/Mycophenolate-v0"


def _core():  # type: ignore[no-untyped-def]
    return gym.make(ENV_ID).unwrapped.core


def test_registry_entry__names_the_history_and_the_hourly_exposure() -> None:
    """56 dose slots of 12 h over 28 days; the true course every hour (672 points, mg/L)."""
    core = _core()
    layout = history_layout(core)
    times, unit = exposure_grid(core)
    assert (layout.n_doses, layout.interval_h, layout.horizon_h) == (56, 12.0, 672.0)
    assert (times[0], times[-1], times.size, unit) == (1.0, 672.0, 672, "mg/L")


def test_vae_data__steps_once_per_visit_and_keeps_whole_episodes() -> None:
    """6 decisions (the hooks' n_steps), every one of the 56 slots dosed, a full true course."""
    core = _core()
    cohort = env_cohort(core.settings, 5, seed=0, space=TRAINING)
    data = simulate_vae_data(ENV_ID, cohort, np.random.default_rng(0))
    assert n_decisions(core) == n_steps(core) == 6
    assert data.regimens_mg.shape == (5, 56) and data.exposures.shape == (5, 672)
    # one stepped-past-the-end episode would leave undosed slots or NaN exposure
    assert (data.regimens_mg >= 250.0).all() and np.isfinite(data.exposures).all()
    assert set(np.unique(data.cut_step)) <= set(range(6)) and 0 in data.cut_step
    # a visit's dose runs from its evening dose (slot 2 day + 1) to the next visit's morning
    changes = (np.diff(data.regimens_mg, axis=1) != 0).sum(axis=1)
    assert (changes <= 5).all() and changes.sum() > 0
    starts = 2 * np.asarray(core.settings.scenario.visit_days[1:]) + 1
    assert (data.regimens_mg[:, starts - 1] != data.regimens_mg[:, starts]).sum() == changes.sum()


def test_ppo_on_the_vae_encoder__trains_and_is_evaluated_on_held_out_patients(
        tmp_path: Path) -> None:
    """A briefly trained VAE, 256 PPO steps on its encoder, then a paired evaluation."""
    vae_path = train_vae(ENV_ID, 24, 0, tmp_path / "vae", epochs=1, n_validation_patients=8,
                         progress=False)
    result = train(tiny_config(tmp_path, "ppo", env_id=ENV_ID, timesteps=256,
                               encoder="vae", vae_path=vae_path))
    core = _core()
    model = make_policy(f"sb3:{result.model_path}", core, env_id=ENV_ID)
    cohort = env_cohort(core.settings, 4, seed=0)
    table = evaluate([model, make_policy("fixed", core)], ENV_ID, cohort, seed=0)
    assert table.groupby("policy", sort=False).size().tolist() == [4, 4]
    assert np.isfinite(table["return"]).all()
    assert table["days_in_target_fraction"].between(0.0, 1.0).all()
