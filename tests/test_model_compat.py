"""A model zip saved by pkgym before the package reorganisation still loads and acts."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np

import pkgym  # noqa: F401
from agents.policies.registry import make_policy

MODEL = Path(__file__).parent / "data" / "ppo_vancomycin_0383c29" / "model.zip"


def test_sb3_model_from_0383c29__loads_and_doses() -> None:
    """PPO saved on main 0383c29 (policy_kwargs pickled as agents.rl.encoders) doses 4 patients."""
    vec = gym.make_vec("pkgym/Vancomycin-v0", num_envs=4, vectorization_mode="vector_entry_point")
    observation, info = vec.reset(seed=5)
    policy = make_policy(f"sb3:{MODEL}", vec.unwrapped.core, env_id="pkgym/Vancomycin-v0")
    policy.reset(4)
    doses = policy.act(observation, info)
    assert doses.shape == (4,)
    assert np.all(np.isin(doses, vec.unwrapped.core.dose_levels_mg))


def test_sb3_model_from_0383c29__loads_without_unpickling_and_acts_as_sb3_load() -> None:
    """Its model.json rebuilds it (weights only, nothing unpickled); SB3's load acts the same."""
    from unittest import mock

    import cloudpickle
    import stable_baselines3.common.save_util as save_util

    from agents.rl.model_loading import load_model_trusted

    vec = gym.make_vec("pkgym/Vancomycin-v0", num_envs=8, vectorization_mode="vector_entry_point")
    observation, info = vec.reset(seed=3)
    core = vec.unwrapped.core
    error = AssertionError("unpickled")
    with mock.patch.object(save_util, "json_to_data", side_effect=error), \
            mock.patch.object(cloudpickle, "loads", side_effect=error):
        policy = make_policy(f"sb3:{MODEL}", core, env_id="pkgym/Vancomycin-v0")
    reference = load_model_trusted(MODEL, "ppo")
    policy.reset(8)
    np.testing.assert_array_equal(policy.model.predict(observation, deterministic=True)[0],
                                  reference.predict(observation, deterministic=True)[0])
