"""``pkgym/ChemoImmune-v0``'s batched reset: the per-slot numbers and patients of the template."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import pkgym  # noqa: F401
from pkgym.envs.base import EpisodeStreams, spawn_streams

ENV_ID = "pkgym/ChemoImmune-v0"


def test_chemo_immune_reset__batched_draws_are_each_slots_own_numbers_in_order() -> None:
    """Row k of the batched draws is what slot k's streams give, drawn one array at a time."""
    core = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point").unwrapped.core
    n_days = core.settings.scenario.n_days
    batched = core.draw_episodes([spawn_streams(np.random.default_rng(30 + k))
                                   for k in range(3)])
    for k in range(3):
        slot = spawn_streams(np.random.default_rng(30 + k))
        expected = {"covariates": slot.patient.random(core.settings.population.n_draws),
                    "eta": slot.patient.standard_normal(3),
                    "assay": slot.noise.standard_normal((n_days + 1, 3))}
        for key, values in expected.items():
            assert batched[key][k].tobytes() == values.tobytes(), key


def test_chemo_immune_reset__mixed_pinned_and_drawn_batch_equals_single_envs() -> None:
    """Slot i of a vector env seeded s (pinned or drawn) is the single env seeded s + i."""
    patients = [None, {"tumour_at_start": 0.3, "eta_a2": 0.1, "id": 3}, None, {"eta_d2": -0.2}]
    vec = gym.make_vec(ENV_ID, num_envs=4, vectorization_mode="vector_entry_point")
    vec.reset(seed=8, options={"patients": patients})
    vec.step(np.full(4, 6))
    mask = np.array([True, False, True, True])
    observations, infos = vec.reset(options={"reset_mask": mask})
    for i, patient in enumerate(patients):
        single = gym.make(ENV_ID).unwrapped
        single.reset(seed=8 + i, options={"patient": patient})
        first, *_, info = single.step(6)
        if mask[i]:
            first, info = single.reset()  # the slot's second episode: a drawn patient
        for key, value in first.items():
            assert observations[key][i].tobytes() == np.asarray(value).tobytes(), key
        for key, value in info.items():
            assert infos[key][i] == value, key


def test_chemo_immune_reset__compiled_draws_equal_numpy_draws_on_every_bit_generator() -> None:
    """Compiled draws (a slot repeated too) equal numpy's and leave each stream where it did."""
    core = gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="vector_entry_point").unwrapped.core
    kinds = (np.random.PCG64, np.random.MT19937, np.random.Philox, np.random.SFC64)

    def streams() -> list[EpisodeStreams]:
        slots = [EpisodeStreams(*(np.random.Generator(kind(10 * k + j)) for j in range(3)),
                                seed_entropy=k) for k, kind in enumerate(kinds)]
        return slots + [slots[1], slots[1]]

    compiled, by_numpy = streams(), streams()
    a, b = core.draw_episodes(compiled), core._draw_with_numpy(by_numpy)
    for key, values in b.items():
        assert a[key].tobytes() == values.tobytes(), key
    for x, y in zip(compiled, by_numpy, strict=True):
        for name in ("patient", "noise", "events"):
            first, second = getattr(x, name), getattr(y, name)
            assert np.array_equal(first.random(2), second.random(2))
