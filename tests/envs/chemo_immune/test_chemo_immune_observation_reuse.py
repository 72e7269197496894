"""ChemoImmune-v0's vector observation: dose arrays reused only once no caller holds them."""

from __future__ import annotations

import copy
import pickle
import weakref

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401
from pkgym.envs.chemo_immune.clinic import CellCountObservation

ENV_ID = "pkgym/ChemoImmune-v0"


def _vector(n: int = 6, **kwargs: object) -> gym.vector.VectorEnv:
    """A vector env of ``n`` ChemoImmune patients with 12-day episodes, its actions seeded."""
    vec = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point",
                       scenario=pkgym.envs.chemo_immune.ChemoImmuneScenario(
                           n_days=12, stop_below_floor=True, normal_cell_floor=0.8),
                       **kwargs)
    vec.action_space.seed(5)
    return vec


def _assert_fresh(obs: dict[str, np.ndarray], vec: gym.vector.VectorEnv, where: str) -> None:
    """``obs`` equals the observation model's fresh arrays (keys, dtypes, values, own data)."""
    core = vec.unwrapped.core
    expected = CellCountObservation()(core.records, core.settings)
    assert list(obs) == list(expected)
    for key, value in expected.items():
        assert obs[key].dtype == value.dtype and obs[key].flags.owndata
        assert obs[key].flags.c_contiguous and obs[key].flags.writeable
        np.testing.assert_array_equal(obs[key], value, err_msg=f"{key} at {where}")


@pytest.mark.parametrize("mode", ["NextStep", "SameStep"])
def test_observe__equals_fresh_arrays_and_never_changes_held_ones(mode: str) -> None:
    """Each observation equals a fresh one; kept ones (some for one step only) never change.

    Through terminations, autoresets and masked resets.
    """
    vec = _vector(autoreset_mode=gym.vector.AutoresetMode(mode))
    held, saved = [], []
    obs, _ = vec.reset(seed=0)
    previous = obs
    for step in range(60):
        _assert_fresh(obs, vec, f"step {step}")
        if step % 5 == 0:
            held.append(obs)
            saved.append(copy.deepcopy(obs))
        if step % 17 == 16:
            mask = np.arange(6) % 3 == step % 3
            obs, _ = vec.reset(options={"reset_mask": mask})
            continue
        previous, previous_saved = obs, copy.deepcopy(obs)  # held across one step only
        obs, *_ = vec.step(vec.action_space.sample() * (step % 4 != 0))
        for key in previous_saved:
            np.testing.assert_array_equal(previous[key], previous_saved[key])
    for kept, values in zip(held, saved, strict=True):
        for key in values:
            np.testing.assert_array_equal(kept[key], values[key])


def test_observe__reuses_dropped_doses_but_not_viewed_or_weakly_held_ones() -> None:
    """Dropped dose arrays come back; a view or a weak reference keeps one out of reuse."""
    vec = _vector(n=4)
    vec.reset(seed=1)
    addresses = {vec.step(vec.action_space.sample())[0]["doses"].ctypes.data
                 for _ in range(8)}
    assert len(addresses) <= 2
    obs, *_ = vec.step(vec.action_space.sample())
    view, values = obs["doses"][:, :3], obs["doses"][:, :3].copy()
    row = obs["doses"][1]
    weak = weakref.ref(obs["doses"])
    del obs
    for _ in range(10):  # through the end of the episodes and the autoreset
        fresh, *_ = vec.step(vec.action_space.sample())
        _assert_fresh(fresh, vec, "after a view was kept")
        assert not np.shares_memory(fresh["doses"], view)
    np.testing.assert_array_equal(view, values)
    np.testing.assert_array_equal(row, weak()[1])


def test_observe__copies_and_pickles_hold_no_handed_arrays() -> None:
    """A deep copy or an unpickled env starts without the original's handed-out arrays."""
    vec = _vector()
    vec.reset(seed=2)
    obs, *_ = vec.step(vec.action_space.sample())
    for twin in (copy.deepcopy(vec.unwrapped), pickle.loads(pickle.dumps(vec.unwrapped))):
        assert len(twin.core._handed) == 0
        twin_obs, *_ = twin.step(np.ones(6, dtype=np.int64))
        assert not np.shares_memory(twin_obs["doses"], obs["doses"])
        _assert_fresh(twin_obs, twin, "in a copy")


def test_observe__a_caller_writing_into_a_dropped_observation_changes_nothing() -> None:
    """Writes into an observation a caller then drops never reach a later observation."""
    vec = _vector(n=8)
    vec.reset(seed=3)
    for step in range(30):  # through the end of the episodes and the autoreset
        obs, *_ = vec.step(vec.action_space.sample())
        _assert_fresh(obs, vec, f"step {step}")
        for value in obs.values():
            value[...] = -7  # e.g. an in-place normalisation
        del obs
