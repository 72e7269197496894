"""``pkgym/Addiction-v0``'s compiled week and batched reset against the numpy reference."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401
from pkgym.envs.addiction import core as addiction_core
from pkgym.envs.addiction.clinic import CONTINGENCY, DAILY_DOSES_MG, DAYS_PER_WEEK
from pkgym.envs.addiction.records import urine_test
from pkgym.envs.base import spawn_streams
from pkgym.models.addiction import choice_probabilities, choose, td_day, untreated_rewards
from pkgym.models.addiction_treatment import (
    CM_TEST_DAYS,
    advance_amounts,
    blocked_fraction,
    occupancies,
    vouchers,
)

PINNED = {"eta_dopamine_surge": 0.3, "id": 4}
ENV_ID = "pkgym/Addiction-v0"


def reference_week(rec, rows, week, actions, scenario) -> None:  # noqa: ANN001
    """The clinic's week in numpy, as the core computed it before it was compiled."""
    model, pharmacology = scenario.redish, scenario.pharmacology
    patients = rec.patients(rows)
    base = untreated_rewards(model, patients["reward_sensitivity"])
    retention, a50 = pharmacology.daily_retention, pharmacology.half_occupancy_amounts_mg
    values, amounts, index = rec.values[rows], rec.amounts[rows], np.arange(rows.size)
    occupancy_sum, on_cm = np.zeros((rows.size, 2)), CONTINGENCY[actions]
    streak = np.where(on_cm, rec.cm_streak[rows], 0)
    for day in range(DAYS_PER_WEEK):
        taken = DAILY_DOSES_MG[actions] * (rec.adherence_uniforms[rows, week, day, None]
                                           < pharmacology.adherence)
        amounts, mean = advance_amounts(amounts, taken, retention)
        occupancy = occupancies(mean, a50)
        occupancy_sum += occupancy
        options = choose(choice_probabilities(values, model.option_costs,
                                              patients["inverse_temperature"]),
                         rec.choice_uniforms[rows, week, day])
        rec.used[rows, week, day] = options == 0
        rewards = base[index, options]
        if day == DAYS_PER_WEEK - 1:
            positive = urine_test(rec.used[rows, week], rec.test_uniforms[rows, week], scenario)
            rec.urine_positive[rows, week] = positive
        elif day in CM_TEST_DAYS:
            positive = np.asarray(rec.used[rows, week, max(day - 2, 0):day + 1].any(axis=1))
        if day in CM_TEST_DAYS:
            pay, tested_streak = vouchers(~positive, streak, pharmacology)
            rewards, streak = rewards + np.where(on_cm, pay, 0.0), np.where(on_cm, tested_streak, 0)
        values = td_day(values, options, rewards, patients["dopamine_surge"],
                        blocked_fraction(occupancy), patients["learning_rate"],
                        model.discount_per_day)
        rec.taken[rows, week, day] = taken
    rec.values[rows], rec.amounts[rows], rec.cm_streak[rows] = values, amounts, streak
    rec.occupancy[rows, week] = occupancy_sum / DAYS_PER_WEEK
    reports = rec.used[rows, week] & (rec.report_uniforms[rows, week]
                                      < scenario.report_probability)
    rec.reported[rows, week] = reports.sum(axis=1)


def _differing(a, b) -> list[str]:  # noqa: ANN001
    """Record fields that differ (``reward`` is the reward function's, set by ``step``)."""
    return [name for name in a.__dataclass_fields__ if name not in ("seed_entropy", "reward")
            and not np.array_equal(getattr(a, name), getattr(b, name))]


@pytest.mark.parametrize("parallel_from", [1, 10**9])
def test_addiction_kernel__week_equals_the_numpy_reference_bit_for_bit(
        parallel_from: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Random treatments on a subset of rows, serial and threaded: every record identical."""
    monkeypatch.setattr(addiction_core, "PARALLEL_PATIENTS", parallel_from)
    compiled = gym.make_vec(ENV_ID, num_envs=40, vectorization_mode="vector_entry_point").core
    reference = gym.make_vec(ENV_ID, num_envs=40, vectorization_mode="vector_entry_point").core
    streams = [spawn_streams(np.random.default_rng(s)) for s in range(40)]
    compiled.reset_patients(np.arange(40), streams, [None] * 40)
    streams = [spawn_streams(np.random.default_rng(s)) for s in range(40)]
    reference.reset_patients(np.arange(40), streams, [None] * 40)
    rng, scenario = np.random.default_rng(0), compiled.settings.scenario
    for _ in range(10):
        rows = np.flatnonzero(rng.random(40) < 0.7)
        actions = rng.integers(0, len(DAILY_DOSES_MG), rows.size)
        compiled.step(rows, actions.astype(np.float64))
        rec, week = reference.records, reference.records.week[rows]
        rec.actions[rows, week] = actions
        reference_week(rec, rows, week, actions, scenario)
        rec.week[rows] = week + 1
        rec.value_course[rows, week + 1] = rec.values[rows]
        assert _differing(compiled.records, reference.records) == []


def test_addiction_core__batched_reset_equals_per_slot_resets_pinned_and_drawn() -> None:
    """A mixed batch (pinned and drawn rows) resets each row as a batch of one would."""
    pinned = [None, {"eta_dopamine_surge": 0.3, "id": 4}, None, {"eta_learning_rate": -0.2}]
    vec = gym.make_vec(ENV_ID, num_envs=6, vectorization_mode="vector_entry_point")
    vec.reset(seed=3)
    rows = np.array([0, 2, 3, 5])
    vec.core.reset_patients(rows, [vec._streams[i] for i in rows], pinned)
    for slot, (row, patient) in enumerate(zip(rows, pinned, strict=True)):
        env = gym.make(ENV_ID).unwrapped
        env.reset(seed=3 + int(row))
        env.reset(options={"patient": patient} if patient else None)
        single, batched = env.core.records, vec.core.records
        for name in single.__dataclass_fields__:
            assert np.array_equal(np.asarray(getattr(single, name))[0],
                                  np.asarray(getattr(batched, name))[row]), (slot, name)


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
