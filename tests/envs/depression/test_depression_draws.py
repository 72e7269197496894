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
