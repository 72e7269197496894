"""Insulin baselines: plausible control on pinned patients, the oracle's edge, factory errors."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401  (registers the envs)
from agents.policies.insulin import make_baseline
from agents.policies.insulin.baselines import LevelDither

ENV_ID = "pkgym/Insulin-v0"


def _day(name: str, profiles: list[str], meal_seed: int = 5) -> dict[str, np.ndarray]:
    """One day of ``name`` on pinned rows (one per profile): the final info."""
    n = len(profiles)
    vec = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point")
    core = vec.unwrapped.core
    rows = [{"profile": p, "patient_seed": 0, "meal_seed": meal_seed + k, "noise_seed": k}
            for k, p in enumerate(profiles)]
    obs, info = vec.reset(seed=0, options={"patients": rows})
    policy = make_baseline(name, core)
    policy.reset(n)
    alive, final = np.ones(n, bool), {}
    while alive.any():
        actions = core.encode_decisions(policy.act(obs, info), False)
        obs, _, terminated, truncated, info = vec.step(actions)
        for key in ("time_in_range_fraction", "time_below_54_fraction", "lbgi", "hbgi"):
            final[key] = np.where(alive, info[key], final.get(key, 0.0))
        alive &= ~(terminated | truncated)
    return final


def test_basal_bolus__adult001_spends_most_of_the_day_in_range() -> None:
    """The simglucose basal-bolus therapy keeps adult#001 in 70-180 mg/dL > 60% of a day."""
    assert _day("basal_bolus", ["adult#001"])["time_in_range_fraction"][0] > 0.6


def test_pid__controls_without_severe_hypoglycaemia() -> None:
    """PID with the IOB constraint: TIR > 0.6 and < 5% below 54 mg/dL on two adults."""
    out = _day("pid", ["adult#001", "adult#002"])
    assert np.all(out["time_in_range_fraction"] > 0.6)
    assert np.all(out["time_below_54_fraction"] < 0.05)


def test_oracle_and_map__beat_or_match_basal_bolus_in_risk() -> None:
    """The true-model MPC has a lower risk index than basal-bolus; MAP stays in range."""
    profiles = ["adult#003", "adolescent#002"]
    bb, oracle = _day("basal_bolus", profiles), _day("oracle", profiles)
    assert (oracle["lbgi"] + oracle["hbgi"]).mean() < (bb["lbgi"] + bb["hbgi"]).mean()
    assert np.all(_day("map", profiles)["time_in_range_fraction"] > 0.6)


def test_level_dither__delivers_the_requested_mean() -> None:
    """Rounding to levels with carried error gives the requested amount on average."""
    dither = LevelDither(np.array([0.0, 0.025, 0.05, 0.1]))
    dither.reset(2)
    given = np.array([dither(np.array([0.043, 0.011])) for _ in range(400)])
    np.testing.assert_allclose(given.mean(axis=0), [0.043, 0.011], atol=0.1 / 400)


def test_make_baseline__unknown_name_is_refused() -> None:
    """An unknown baseline name lists the known ones."""
    core = gym.make(ENV_ID).unwrapped.core
    with pytest.raises(ValueError, match="basal_bolus"):
        make_baseline("insulin_pen", core)
