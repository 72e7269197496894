"""The vector env's observation arrays: reused only once no caller holds them (WarfarinCore)."""

from __future__ import annotations

import copy
import weakref

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401
from pkgym.envs.warfarin.clinic import ClinicObservation


def _vector(env_id: str = "pkgym/WarfarinPGx-v0", n: int = 6) -> gym.vector.VectorEnv:
    """A seeded vector env of ``n`` warfarin patients with a seeded action space."""
    vec = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point")
    vec.action_space.seed(3)
    return vec


@pytest.mark.parametrize("env_id", ["pkgym/Warfarin-v0", "pkgym/WarfarinPGx-v0",
                                    "pkgym/Warfarin-v1"])
def test_observe__equals_the_models_fresh_arrays_and_keeps_held_ones(env_id: str) -> None:
    """Each step's observation equals the model's fresh one; held ones never change."""
    vec = _vector(env_id)
    core = vec.unwrapped.core
    held, saved = [], []
    obs, _ = vec.reset(seed=0)
    for step in range(100):  # through the truncation at day 90 and the autoreset
        expected = ClinicObservation()(core.records, core.settings)
        assert list(obs) == list(expected)
        for key in expected:
            assert obs[key].dtype == expected[key].dtype and obs[key].flags.owndata
            np.testing.assert_array_equal(obs[key], expected[key], err_msg=f"{key} step {step}")
        if step % 7 == 0:
            held.append(obs)
            saved.append(copy.deepcopy(obs))
        obs, *_ = vec.step(vec.action_space.sample())
    for kept, values in zip(held, saved, strict=True):
        for key in values:
            np.testing.assert_array_equal(kept[key], values[key])


def test_observe__reuses_dropped_arrays_but_not_viewed_or_weakly_held_ones() -> None:
    """Dropped arrays are written again; a view or weak reference keeps an array out of reuse."""
    vec = _vector()
    vec.reset(seed=1)
    addresses = {vec.step(vec.action_space.sample())[0]["inr_values"].ctypes.data
                 for _ in range(8)}
    assert len(addresses) <= 2  # the dropped sets come back
    obs, *_ = vec.step(vec.action_space.sample())
    view, values = obs["inr_values"][:, :3], obs["inr_values"][:, :3].copy()
    weak = weakref.ref(obs["doses_mg"])
    doses = obs["doses_mg"].copy()
    del obs
    for _ in range(10):
        vec.step(vec.action_space.sample())
    np.testing.assert_array_equal(view, values)
    if weak() is not None:
        np.testing.assert_array_equal(weak(), doses)


def test_observe__copies_and_pickles_hold_no_handed_arrays() -> None:
    """A deep copy of the env starts without the original's handed-out arrays."""
    vec = _vector()
    vec.reset(seed=2)
    obs, *_ = vec.step(vec.action_space.sample())
    twin = copy.deepcopy(vec.unwrapped)
    assert len(twin.core._handed) == 0
    twin_obs, *_ = twin.step(np.zeros(6, dtype=np.int64))
    assert not np.shares_memory(twin_obs["inr_values"], obs["inr_values"])
