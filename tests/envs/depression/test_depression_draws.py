"""Batched episode draws with a slot whose noise stream is not PCG64 (seeds drawn per slot)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import pkgym  # noqa: F401
from pkgym.envs.base import EpisodeStreams, spawn_streams


def test_draw_episodes__other_bit_generator_slot_equals_its_episode_draws() -> None:
    """A Philox noise stream between PCG64 slots: every row is that slot's episode_draws."""
    core = gym.make_vec("pkgym/Depression-v0", num_envs=3,
                        vectorization_mode="vector_entry_point").unwrapped.core

    def streams() -> list[EpisodeStreams]:
        slots = [spawn_streams(np.random.default_rng(s)) for s in range(3)]
        odd = slots[1]
        slots[1] = EpisodeStreams(odd.patient, np.random.Generator(np.random.Philox(5)),
                                  odd.events, odd.seed_entropy)
        return slots

    batched = core.draw_episodes(streams())
    for k, slot in enumerate(streams()):
        single = core.episode_draws(slot)
        for key, values in single.items():
            assert np.array_equal(batched[key][k], values), (k, key)


def test_compiled_draws__equal_numpy_draws_and_leave_streams_in_the_same_state() -> None:
    """Compiled draws (one slot repeated, as drawn ahead) equal numpy's on every bit generator."""
    core = gym.make_vec("pkgym/Depression-v0", num_envs=2,
                        vectorization_mode="vector_entry_point").unwrapped.core
    kinds = (np.random.PCG64, np.random.MT19937, np.random.Philox, np.random.SFC64,
             np.random.PCG64DXSM)

    def streams() -> list[EpisodeStreams]:
        slots = [EpisodeStreams(*(np.random.Generator(kind(10 * k + j)) for j in range(3)),
                                seed_entropy=k) for k, kind in enumerate(kinds)]
        return slots + [slots[2]] * 3

    compiled, by_numpy = streams(), streams()
    a, b = core.draw_episodes(compiled), core._draw_with_numpy(by_numpy)
    for key, values in b.items():
        assert a[key].dtype == values.dtype and np.array_equal(a[key], values), key
    for x, y in zip(compiled, by_numpy, strict=True):
        for name in ("patient", "noise", "events"):
            first, second = getattr(x, name), getattr(y, name)
            assert np.array_equal(first.random(2), second.random(2))
            assert np.array_equal(first.integers(0, 9, 3), second.integers(0, 9, 3))


def test_vector_reset__subset_of_rows_equals_their_single_env_episodes() -> None:
    """A reset_mask reset (compiled draws at kept slot addresses) gives each row its own draws."""
    vec = gym.make_vec("pkgym/Depression-v0", num_envs=4, vectorization_mode="vector_entry_point")
    vec.reset(seed=3)
    vec.reset(options={"reset_mask": np.array([False, True, False, True])})
    obs, _ = vec.reset(options={"reset_mask": np.array([False, True, True, False])})
    for k, resets in enumerate((1, 3, 2, 2)):
        env = gym.make("pkgym/Depression-v0").unwrapped
        single, _ = env.reset(seed=3 + k)
        for _ in range(resets - 1):
            single, _ = env.reset()
        for key, values in single.items():
            assert np.array_equal(obs[key][k], values), (k, key)
