"""The batched core of ``pkgym/Addiction-v0``: N TD-learning patients, a week per step.

Randomness: each episode's seed spawns three child streams (STYLE 14), all drawn at reset:
the patient (etas and the untreated use history of ``burn_in_days``), events (each day's
choice and adherence) and noise (self-report and urine-test errors). The learning state
(values, drug amounts) lives in the records, so a seed replays the whole episode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

from pkgym.envs.addiction import views as addiction_views
from pkgym.envs.addiction.clinic import (
    CONTINGENCY,
    DAILY_DOSES_MG,
    DAYS_PER_WEEK,
    TREATMENTS,
    AddictionScenario,
    WeekOutcome,
)
from pkgym.envs.base import DosingCore, EpisodeStreams, ObservationModel, RewardFn
from pkgym.models.addiction import (
    DRUG,
    N_STATES,
    VARIED,
    Redish2004,
    choice_probabilities,
    choose,
    drug_naive_values,
    simulate_untreated,
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
from pkgym.populations import Population


@dataclass(frozen=True, slots=True)
class AddictionSettings:
    """Everything that defines the clinic except the policy (see the env card)."""

    scenario: AddictionScenario
    population: Population

    @property
    def model(self) -> Redish2004:
        """The learner's parameters (they carry ``variability`` for cohort sampling)."""
        return self.scenario.redish


@dataclass(slots=True)
class AddictionRecords:
    """Everything that happened to each patient, true and measured (batched, in place).

    Attributes:
        params: alpha, D, beta, reward sensitivity (columns in ``VARIED`` order).  # (n, 4)
        values: state values now (CHOICE, DRUG, NATURAL, ABSTAIN).  # (n, 4)
        value_course: values at the start of each week and the end.  # (n, n_weeks + 1, 4)
        amounts: naltrexone and buprenorphine in the body, mg.  # (n, 2)
        choice_uniforms, adherence_uniforms, report_uniforms: pre-drawn.  # (n, n_weeks, 7)
        test_uniforms: pre-drawn urine-test noise.  # (n, n_weeks)
        used: true use each day.  # (n, n_weeks, 7)
        reported: self-reported use days each week.  # (n, n_weeks)
        urine_positive: the weekly test.  # (n, n_weeks)
        cm_streak: consecutive negative contingency-management tests (0 off CM).  # (n,)
        actions: the treatment each week, -1 for weeks to come.  # (n, n_weeks)
        taken: drug doses taken each day, mg.  # (n, n_weeks, 7, 2)
        occupancy: each drug's mean occupancy each week.  # (n, n_weeks, 2)
        prior_use_fraction: share of burn-in days with use.  # (n,)
        week, reward, patient_id, seed_entropy: per patient.  # (n,)
    """

    params: np.ndarray
    values: np.ndarray
    value_course: np.ndarray
    amounts: np.ndarray
    choice_uniforms: np.ndarray
    adherence_uniforms: np.ndarray
    report_uniforms: np.ndarray
    test_uniforms: np.ndarray
    used: np.ndarray
    reported: np.ndarray
    urine_positive: np.ndarray
    cm_streak: np.ndarray
    actions: np.ndarray
    taken: np.ndarray
    occupancy: np.ndarray
    prior_use_fraction: np.ndarray
    week: np.ndarray
    reward: np.ndarray
    patient_id: np.ndarray
    seed_entropy: np.ndarray

    def patients(self, rows: np.ndarray | slice = slice(None)) -> dict[str, np.ndarray]:
        """The learner's individual parameters of ``rows`` by name."""
        return {name: self.params[rows, k] for k, name in enumerate(VARIED)}


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
        indices = np.asarray(decisions, dtype=np.float64).reshape(-1)
        if not np.all(np.isin(indices, self.dose_levels_mg)):
            raise ValueError(f"decisions must be action indices 0..{len(TREATMENTS) - 1}, got "
                             f"{indices.tolist()[:5]}")
        return indices.astype(np.int64)


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


def urine_test(used: np.ndarray, uniforms: np.ndarray, scenario: AddictionScenario) -> np.ndarray:
    """The weekly test: positive with ``sensitivity`` after use in the window, else ``1 - spec``.

    Examples:
        >>> used = np.array([[1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 1]], dtype=bool)
        >>> urine_test(used, np.array([0.5, 0.5]), AddictionScenario()).tolist()
        [False, True]
    """
    recent = used[:, -scenario.urine_window_days:].any(axis=1)
    threshold = np.where(recent, scenario.urine_sensitivity, 1 - scenario.urine_specificity)
    return uniforms < threshold


def pinned_patient(given: Mapping[str, Any], settings: AddictionSettings) -> dict[str, float]:
    """A pinned patient's etas (``eta_<name>`` of ``VARIED``) and id, validated.

    Examples:
        >>> settings = AddictionSettings(AddictionScenario(), AddictionScenario().population)
        >>> pinned_patient({"eta_dopamine_surge": 0.2, "id": 3}, settings)
        {'eta_dopamine_surge': 0.2, 'id': 3.0}
    """
    allowed = (*settings.model.variability.eta_columns, "id")
    row = dict(given.items())
    unknown = sorted(set(row) - set(allowed))
    if unknown:
        raise ValueError(f"unknown patient field(s) {unknown}; allowed: {allowed}")
    out: dict[str, float] = {}
    for key, value in row.items():
        number = float(value)
        if not np.isfinite(number):
            raise ValueError(f"patient field {key} must be finite, got {value!r}")
        out[key] = number
    return out


def new_records(settings: AddictionSettings, draws: Mapping[str, np.ndarray] | None,
                pinned: Sequence[dict[str, float] | None], seed_entropy: np.ndarray
                ) -> AddictionRecords:
    """Records of fresh episodes at week 0, after the untreated use history.

    ``draws=None`` builds typical drug-naive patients (before the first reset).

    Examples:
        >>> settings = AddictionSettings(AddictionScenario(), AddictionScenario().population)
        >>> records = new_records(settings, None, [None], np.zeros(1, dtype=object))
        >>> records.values[0].round(2).tolist()
        [2.22, 2.78, 2.78, 1.78]
    """
    scenario, n = settings.scenario, seed_entropy.shape[0]
    model, weeks = scenario.redish, (n, scenario.n_weeks, DAYS_PER_WEEK)
    etas, variability = np.zeros((n, len(VARIED))), model.variability
    if draws is not None:
        etas = variability.etas_from_normals(draws["eta"])
    ids = np.full(n, -1, dtype=np.int64)
    for k, row in enumerate(pinned):
        if row is not None:
            ids[k] = int(row.get("id", -1))
            for j, name in enumerate(variability.eta_columns):
                etas[k, j] = row.get(name, etas[k, j])
    patients = model.patients(etas)
    values = drug_naive_values(model, patients["reward_sensitivity"])
    prior = np.zeros(n)
    if draws is not None and scenario.burn_in_days:
        values, chosen = simulate_untreated(model, patients, values, draws["burn_in"])
        prior = (chosen == DRUG - 1).mean(axis=1)
    course = np.zeros((n, scenario.n_weeks + 1, N_STATES))
    course[:, 0] = values
    zeros = np.zeros(weeks)
    return AddictionRecords(
        params=np.column_stack([patients[name] for name in VARIED]), values=values,
        value_course=course, amounts=np.zeros((n, 2)),
        choice_uniforms=zeros if draws is None else draws["choice"],
        adherence_uniforms=zeros if draws is None else draws["adherence"],
        report_uniforms=zeros if draws is None else draws["report"],
        test_uniforms=np.ones(weeks[:2]) if draws is None else draws["test"],
        used=np.zeros(weeks, dtype=bool), reported=np.zeros(weeks[:2], dtype=np.int64),
        urine_positive=np.zeros(weeks[:2], dtype=bool), cm_streak=np.zeros(n, dtype=np.int64),
        actions=np.full(weeks[:2], -1, dtype=np.int64), taken=np.zeros((*weeks, 2)),
        occupancy=np.zeros((n, scenario.n_weeks, 2)), prior_use_fraction=prior,
        week=np.zeros(n, dtype=np.int64), reward=np.zeros(n), patient_id=ids,
        seed_entropy=seed_entropy)
