"""The vector env's info masks (``_key``): Gymnasium's layout, each mask its own array."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import pkgym  # noqa: F401
from pkgym.envs.base import _with_masks

ENV_ID = "pkgym/Vancomycin-v0"


def test_with_masks__every_key_gets_its_own_writable_all_true_mask() -> None:
    """One mask per key, all True, writable; writing one changes no other mask or value."""
    info = {"a": np.arange(4.0), "b": np.zeros(4, bool), "c": np.ones(4, np.int64)}
    out = _with_masks(info)
    assert list(out) == ["a", "b", "c", "_a", "_b", "_c"]
    for key in ("_a", "_b", "_c"):
        assert out[key].dtype == bool and out[key].shape == (4,) and out[key].all()
    out["_a"][1] = False
    out["_b"][:] = False
    assert out["_a"].tolist() == [True, False, True, True] and out["_c"].all()
    assert out["a"] is info["a"] and not out["_b"].any()


def test_with_masks__a_given_mask_is_copied_per_key() -> None:
    """With a mask (SAME_STEP's final info), each key gets a copy; the mask stays unchanged."""
    mask = np.array([True, False, True])
    out = _with_masks({"x": np.zeros(3), "y": np.zeros(3)}, mask)
    assert out["_x"].tolist() == out["_y"].tolist() == mask.tolist()
    out["_x"][0] = False
    assert mask[0] and out["_y"][0]


def test_vector_env__masks_of_each_step_are_fresh_and_independent() -> None:
    """Writing into a step's masks changes neither another key's mask nor a later step's."""
    vec = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point")
    vec.reset(seed=1)
    info = vec.step(np.full(3, 2))[-1]
    masks = [key for key in info if key.startswith("_")]
    assert masks and all(info[key].all() for key in masks)
    info[masks[0]][:] = False
    assert all(info[key].all() for key in masks[1:])
    later = vec.step(np.full(3, 2))[-1]
    assert all(later[key].all() for key in masks)
