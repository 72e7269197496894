"""The batched core of ``pkgym/Addiction-v0``: N TD-learning patients, a week per step.

Randomness: each episode's seed spawns three child streams (STYLE 14), all drawn at reset:
the patient (etas and the untreated use history of ``burn_in_days``), events (each day's
choice and adherence) and noise (self-report and urine-test errors). The learning state
(values, drug amounts) lives in the records, so a seed replays the whole episode.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces

from pkgym.envs.actions import decided_levels
from pkgym.envs.addiction import views as addiction_views
from pkgym.envs.addiction.clinic import (
    CONTINGENCY,
    DAILY_DOSES_MG,
    DAYS_PER_WEEK,
    TREATMENTS,
    AddictionScenario,
    WeekOutcome,
)
from pkgym.envs.addiction.records import (
    AddictionRecords,
    AddictionSettings,
    new_records,
    pinned_patient,
    urine_test,
)
from pkgym.envs.base import DosingCore, EpisodeStreams, ObservationModel, RewardFn
from pkgym.models.addiction import (
    DRUG,
    VARIED,
    choice_probabilities,
    choose,
    td_day,
    untreated_rewards,
)
from pkgym.models.addiction_treatment import (
    CM_TEST_DAYS,
    advance_amounts,
    blocked_fraction,
    occupancies,
    vouchers,
)


class AddictionCore(DosingCore):
    """N patients advanced a week at a time (see :class:`pkgym.envs.base.DosingCore`).

    Decisions are action indices (float or int, shape (n,)); ``dose_levels_mg`` is
    ``arange(n_actions)`` so that generic code mapping levels to "doses" passes indices.
    """

    views = addiction_views

    def __init__(self, n_patients: int, settings: AddictionSettings, reward_fn: RewardFn,
                 observation_model: ObservationModel) -> None:
        """Allocate N placeholder patients; ``reset_patients`` draws real ones."""
        if n_patients < 1:
            raise ValueError(f"n_patients must be >= 1, got {n_patients}")
        self.n_patients, self.settings = int(n_patients), settings
        self.reward_fn, self.observation_model = reward_fn, observation_model
        self.dose_levels_mg = np.arange(len(TREATMENTS), dtype=np.float64)
        self.observation_space = observation_model.space(settings)
        self.records = new_records(settings, None, [None] * self.n_patients,
                                   np.zeros(self.n_patients, dtype=object))

    def action_space(self, continuous: bool) -> spaces.Space:
        """``Discrete(7)`` over :data:`TREATMENTS`; there is no continuous variant."""
        if continuous:
            raise ValueError("pkgym/Addiction-v0 has discrete treatments only (continuous=False)")
        return spaces.Discrete(len(TREATMENTS))

    def encode_decisions(self, decisions: np.ndarray, continuous: bool) -> np.ndarray:
        """Actions for decisions that are action indices (n,)."""
        return decided_levels(decisions, len(TREATMENTS), "action indices of the treatments")


    def pin_patient(self, patient: Mapping[str, Any]) -> dict[str, Any]:
        """A pinned patient's validated covariates, etas and id."""
        return pinned_patient(patient, self.settings)

    def new_records(self, draws: dict[str, np.ndarray], pinned: list[dict[str, Any] | None],
                    seed_entropy: np.ndarray) -> Any:
        """Records of fresh episodes for the drawn (or pinned) patients."""
        return new_records(self.settings, draws, pinned, seed_entropy)

    def episode_draws(self, streams: EpisodeStreams) -> dict[str, np.ndarray]:
        """All of one episode's random numbers, from the slot's three streams."""
        scenario = self.settings.scenario
        shape = (scenario.n_weeks, DAYS_PER_WEEK)
        return {"eta": streams.patient.standard_normal(len(VARIED)),
                "burn_in": streams.patient.random(scenario.burn_in_days),
                "choice": streams.events.random(shape), "adherence": streams.events.random(shape),
                "report": streams.noise.random(shape),
                "test": streams.noise.random(scenario.n_weeks)}

    def step(self, rows: np.ndarray, doses_mg: np.ndarray) -> tuple[np.ndarray, ...]:
        """Give each row its week of treatment (``doses_mg``: action indices)."""
        rec, scenario = self.records, self.settings.scenario
        week = rec.week[rows]
        if np.any(week >= scenario.n_weeks):
            raise RuntimeError("the episode is over (truncated): call reset() first")
        actions = np.asarray(doses_mg).reshape(rows.size).astype(np.int64)
        rec.actions[rows, week] = actions
        simulate_week(rec, rows, week, actions, scenario)
        rec.week[rows] = week + 1
        rec.value_course[rows, week + 1] = rec.values[rows]
        use_days = rec.used[rows, week].sum(axis=1)
        reward = np.asarray(self.reward_fn(WeekOutcome(use_days, actions), actions), np.float64)
        rec.reward[rows] = reward
        return reward, np.zeros(rows.size, dtype=bool), week + 1 >= scenario.n_weeks

    def info(self) -> dict[str, np.ndarray]:
        """Clinical metrics of the last week and the true, hidden state of every patient."""
        return addiction_views.info(self.records, self.settings)


def simulate_week(rec: AddictionRecords, rows: np.ndarray, week: np.ndarray,
                  actions: np.ndarray, scenario: AddictionScenario) -> None:
    """Seven days of treatment, choice and learning for ``rows``, written into ``rec``."""
    model, pharmacology = scenario.redish, scenario.pharmacology
    patients = rec.patients(rows)
    base = untreated_rewards(model, patients["reward_sensitivity"])
    retention, a50 = pharmacology.daily_retention, pharmacology.half_occupancy_amounts_mg
    values, amounts, index = rec.values[rows], rec.amounts[rows], np.arange(rows.size)
    occupancy_sum = np.zeros((rows.size, 2))
    on_cm = CONTINGENCY[actions]
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
        rec.used[rows, week, day] = options == DRUG - 1
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
