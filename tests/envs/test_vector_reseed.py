"""A vector env's reseed pauses Python's garbage collector only while it spawns the streams."""

from __future__ import annotations

import gc

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401

ENV_ID = "pkgym/Vancomycin-v0"


@pytest.mark.parametrize("enabled", [True, False])
def test_vector_env__reseed_leaves_the_collector_as_it_was(enabled: bool) -> None:
    """After reset(seed=...), the collector is on again if it was on, and off if it was off."""
    vec = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point")
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        vec.reset(seed=4)
        assert gc.isenabled() is enabled
        with pytest.raises(ValueError, match="seed"):
            vec.reset(seed=[1, 2])
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_vector_env__reseed_with_the_collector_paused_gives_the_same_slots() -> None:
    """Slot i reseeded with s + i draws the same patient as a single env seeded s + i."""
    vec = gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="vector_entry_point")
    obs, _ = vec.reset(seed=9)
    for i in range(2):
        single, _ = gym.make(ENV_ID).reset(seed=9 + i)
        for key, value in single.items():
            np.testing.assert_array_equal(obs[key][i], value, err_msg=key)
