"""``pkgym/Vancomycin-v0``'s compiled episode draws against numpy's ``Generator`` calls."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401
from pkgym.envs.base import spawn_streams
from pkgym.envs.vancomycin.core import VancomycinCore
from pkgym.sim.bitgen import NUMPY_NORMAL

ENV_ID = "pkgym/Vancomycin-v0"
pytestmark = pytest.mark.skipif(not NUMPY_NORMAL, reason="numpy exports no standard normal")


def _streams(seeds: list[int]) -> list:
    """One slot's streams per seed."""
    return [spawn_streams(np.random.default_rng(seed)) for seed in seeds]


def _states(streams: list) -> list:
    """Every generator's bit-generator state, slot after slot."""
    return [getattr(slot, name).bit_generator.state for slot in streams
            for name in ("patient", "noise", "events")]


class _NumpyDraws(VancomycinCore):
    """The core with numpy's draws (so its resets run :class:`DosingCore`'s template)."""

    def draw_episodes(self, streams):  # noqa: ANN001, ANN202
        """:meth:`VancomycinCore._draw_with_numpy`."""
        return self._draw_with_numpy(streams)


def test_vancomycin_draws__compiled_equal_numpy_numbers_and_end_states() -> None:
    """The compiled draws give numpy's numbers and leave its generator states (a slot twice)."""
    core = gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="vector_entry_point").unwrapped.core
    compiled, reference = _streams([5, 6, 7]), _streams([5, 6, 7])
    compiled = [compiled[0], compiled[1], compiled[0], compiled[2]]  # slot 0 drawn twice
    reference = [reference[0], reference[1], reference[0], reference[2]]
    fast, slow = core.draw_episodes(compiled), core._draw_with_numpy(reference)
    assert list(fast) == list(slow)
    for key, value in slow.items():
        assert fast[key].shape == value.shape and fast[key].dtype == value.dtype, key
        np.testing.assert_array_equal(fast[key], value, err_msg=key)
    assert np.unique(fast["covariates"], axis=0).shape[0] == 4  # a twice-drawn slot moved on
    assert _states(compiled) == _states(reference)


def test_vancomycin_draws__batched_resets_equal_the_numpy_template() -> None:
    """Vector resets (all rows, some rows, reseeded rows) equal the numpy draws' records."""
    vec = gym.make_vec(ENV_ID, num_envs=6, vectorization_mode="vector_entry_point").unwrapped
    ref = gym.make_vec(ENV_ID, num_envs=6, vectorization_mode="vector_entry_point").unwrapped
    ref.core.__class__ = _NumpyDraws  # the template, numpy's draws
    masks = [None, np.array([1, 0, 1, 0, 0, 1], bool), None, np.array([0, 1, 1, 0, 0, 0], bool)]
    for k, mask in enumerate(masks):
        options = None if mask is None else {"reset_mask": mask}
        seed = 3 if k == 0 else None if k % 2 else 40 + k
        obs, info = vec.reset(seed=seed, options=options)
        ref_obs, ref_info = ref.reset(seed=seed, options=options)
        for key in ref_obs:
            np.testing.assert_array_equal(obs[key], ref_obs[key], err_msg=key)
        for key in ref_info:
            np.testing.assert_array_equal(info[key], ref_info[key], err_msg=key)
        for name in ("kidney_uniforms", "level_uniforms", "creatinine_normals"):
            np.testing.assert_array_equal(getattr(vec.core.records, name),
                                          getattr(ref.core.records, name), err_msg=name)
        np.testing.assert_array_equal(vec.core.records.patients.etas,
                                      ref.core.records.patients.etas)
        for _ in range(3):
            for a, b in zip(vec.step(np.full(6, 3)), ref.step(np.full(6, 3)), strict=True):
                if isinstance(a, dict):
                    for key in b:
                        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
                else:
                    np.testing.assert_array_equal(a, b)
    assert _states(vec._streams) == _states(ref._streams)


def test_vancomycin_draws__a_replaced_draw_episodes_is_used() -> None:
    """A core subclass with its own draw_episodes gets the template, not the compiled draws."""
    calls: list[int] = []

    class Counting(VancomycinCore):
        def draw_episodes(self, streams):  # noqa: ANN001, ANN202
            calls.append(len(streams))
            return super().draw_episodes(streams)

    core = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point").unwrapped.core
    core.__class__ = Counting
    core.reset_patients(np.array([0, 2]), _streams([1, 2]), [None, None])
    assert calls == [2]
