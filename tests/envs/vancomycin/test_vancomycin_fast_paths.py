"""The single-patient fast paths and the in-place records of ``pkgym/Vancomycin-v0``."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401
from pkgym.envs.base import _unbatch

ENV_ID = "pkgym/Vancomycin-v0"


def test_vancomycin_core__info_row_equals_the_batched_info_with_python_types(rng) -> None:  # noqa: ANN001
    """info_row gives the same keys, values and Python types as row 0 of info()."""
    env = gym.make(ENV_ID, scenario="scenarios/vancomycin_renal_impairment.yaml").unwrapped
    env.reset(seed=21)
    for action in [None, *rng.integers(0, 13, size=14).tolist()]:
        if action is not None:
            env.step(action)
        fast, batched = env.core.info_row(0), _unbatch(env.core.info())
        assert list(fast) == list(batched)
        for key, value in fast.items():
            assert value == batched[key] and type(value) is type(batched[key]), key


def test_vancomycin_vector_env__returned_infos_and_observations_are_not_overwritten() -> None:
    """The kernel updates the records in place; what a step returned stays as it was."""
    vec = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point")
    vec.reset(seed=0)
    obs, _, _, _, info = vec.step(np.full(3, 4))
    kept_obs = {key: value.copy() for key, value in obs.items()}
    kept_info = {key: np.array(value, copy=True) for key, value in info.items()}
    for _ in range(5):
        vec.step(np.full(3, 8))
    for key, value in kept_obs.items():
        np.testing.assert_array_equal(obs[key], value)
    for key, value in kept_info.items():
        np.testing.assert_array_equal(info[key], value)


def test_vancomycin_vector_env__info_ids_and_seeds_are_read_only_and_follow_resets() -> None:
    """Every step shares one read-only copy of the ids and seeds; a reset of a row renews it."""
    vec = gym.make_vec(ENV_ID, num_envs=4, vectorization_mode="vector_entry_point")
    vec.reset(seed=0)
    info = vec.step(np.full(4, 4))[-1]
    first = list(info["seed_entropy"])
    for key in ("seed_entropy", "patient_id"):
        with pytest.raises(ValueError, match="read-only"):
            info[key][0] = 1
    vec.reset(seed=100, options={"reset_mask": np.array([True, False, False, False])})
    later = vec.step(np.full(4, 4))[-1]
    assert later["seed_entropy"][0] != first[0] and list(later["seed_entropy"][1:]) == first[1:]
    assert list(later["seed_entropy"]) == list(vec.unwrapped.core.records.seed_entropy)
    assert list(info["seed_entropy"]) == first  # what the first step handed out is unchanged
