"""``pkgym/Depression-v0``'s batched reset: the same draws and patients as per-slot resets."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import pkgym  # noqa: F401
from pkgym.envs.base import spawn_streams
from pkgym.envs.depression.core import session_seeds

PINNED = {"age_years": 70, "is_female": 1, "weight_kg": 60, "eta_rho": 0.1, "id": 2}
ENV_ID = "pkgym/Depression-v0"


def test_session_seeds__equal_integers_and_leave_the_stream_in_the_same_state() -> None:
    """Raw PCG64 outputs shifted once are numpy's bounded draws of [0, 2^63)."""
    for seed in range(200):
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        assert np.array_equal(session_seeds(a, 13), b.integers(0, 2**63, 13, dtype=np.uint64))
        assert a.random() == b.random()
    philox = np.random.Generator(np.random.Philox(5))
    assert session_seeds(philox, 3).dtype == np.uint64


def test_depression_core__batched_draws_equal_episode_draws() -> None:
    """Each slot's row of the batched draws is what ``episode_draws`` takes from its streams."""
    core = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point").core
    batched = core.draw_episodes([spawn_streams(np.random.default_rng(s)) for s in range(3)])
    for k in range(3):
        single = core.episode_draws(spawn_streams(np.random.default_rng(k)))
        for key, value in single.items():
            assert np.array_equal(batched[key][k], value), (k, key)


def test_depression_core__batched_reset_equals_per_slot_resets_pinned_and_drawn() -> None:
    """A mixed batch (pinned and drawn rows) resets each row as a batch of one would."""
    pinned = [{"age_years": 70, "is_female": 1, "weight_kg": 60, "eta_rho": 0.1, "id": 2},
              None, {"age_years": 30, "is_female": 0, "weight_kg": 90}, None]
    vec = gym.make_vec(ENV_ID, num_envs=6, vectorization_mode="vector_entry_point")
    vec.reset(seed=3)
    rows = np.array([0, 2, 3, 5])
    vec.core.reset_patients(rows, [vec._streams[i] for i in rows], pinned)
    for row, patient in zip(rows, pinned, strict=True):
        env = gym.make(ENV_ID).unwrapped
        env.reset(seed=3 + int(row))
        env.reset(options={"patient": patient} if patient else None)
        single, batched = env.core.records, vec.core.records
        for name in single.__dataclass_fields__:
            one, many = getattr(single, name), getattr(batched, name)
            if isinstance(one, dict):
                assert all(np.array_equal(one[k][0], many[k][row]) for k in one), (row, name)
            else:
                assert np.array_equal(np.asarray(one)[0], np.asarray(many)[row]), (row, name)


def test_one_patient_core__episodes_drawn_ahead_equal_resets_one_at_a_time() -> None:
    """A single env's plain resets (batched ahead), pinned and reseeded: a vector slot's."""
    env = gym.make(ENV_ID).unwrapped
    vec = gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="vector_entry_point")
    env.reset(seed=5)
    vec.reset(seed=5)
    mask = np.array([True, False])
    for episode in range(12):
        patient = PINNED if episode == 4 else None
        if episode == 8:
            env.reset(seed=9)
            vec.reset(seed=[9, 10], options={"reset_mask": mask})
        else:
            env.reset(options={"patient": patient} if patient else None)
            vec.reset(options={"reset_mask": mask, "patients": [patient]})
        for name in env.core.records.__dataclass_fields__:
            one, many = getattr(env.core.records, name), getattr(vec.core.records, name)
            if isinstance(one, dict):
                assert all(np.array_equal(one[k][0], many[k][0]) for k in one), (episode, name)
            else:
                assert np.array_equal(np.asarray(one)[0], np.asarray(many)[0]), (episode, name)
