"""``pkgym/Chemotherapy-v0``'s batched reset: the per-slot numbers and patients of the template."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import pkgym  # noqa: F401
from pkgym.envs.base import spawn_streams

ENV_ID = "pkgym/Chemotherapy-v0"
PINNED = {"is_female": 1.0, "age_years": 55.0, "height_cm": 160.0, "weight_kg": 60.0,
          "aag_g_per_l": 1.1, "hepatic_impairment": 0.0, "baseline_sld_mm": 80.0,
          "eta_CL": 0.3, "id": 7}


def test_chemotherapy_reset__batched_draws_are_each_slots_own_numbers_in_order() -> None:
    """Row k of the batched draws is what slot k's streams give, drawn one array at a time."""
    core = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point").unwrapped.core
    s = core.settings.scenario
    batched = core.draw_episodes([spawn_streams(np.random.default_rng(10 + k))
                                   for k in range(3)])
    for k in range(3):
        slot = spawn_streams(np.random.default_rng(10 + k))
        expected = {"covariates": slot.patient.random(core.settings.population.n_draws),
                    "eta": slot.patient.standard_normal(7),
                    "anc": slot.noise.standard_normal(s.n_cycles * len(s.lab_days)),
                    "sld": slot.noise.standard_normal(s.n_scans),
                    "fn": slot.events.random((s.n_cycles, s.max_cycle_days))}
        for key, values in expected.items():
            assert batched[key][k].tobytes() == values.tobytes(), key


def test_chemotherapy_reset__mixed_pinned_and_drawn_batch_equals_single_envs() -> None:
    """Slot i of a vector env seeded s (pinned or drawn) is the single env seeded s + i."""
    patients = [None, PINNED, None, {k: v for k, v in PINNED.items() if k != "eta_CL"}]
    vec = gym.make_vec(ENV_ID, num_envs=4, vectorization_mode="vector_entry_point")
    observations, infos = vec.reset(seed=21, options={"patients": patients})
    vec.step(np.full(4, 3))
    mask = np.array([True, False, True, True])
    observations, infos = vec.reset(options={"reset_mask": mask})
    for i, patient in enumerate(patients):
        single = gym.make(ENV_ID).unwrapped
        first, info = single.reset(seed=21 + i, options={"patient": patient})
        if not mask[i]:
            first, *_, info = single.step(3)
        else:
            single.step(3)
            first, info = single.reset()  # the slot's second episode: a drawn patient
        for key, value in first.items():
            assert observations[key][i].tobytes() == np.asarray(value).tobytes(), key
        for key in ("anc_1e9_per_l", "sld_mm", "patient_id"):
            assert infos[key][i] == info[key], key
