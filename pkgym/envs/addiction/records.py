"""What the addiction clinic holds for each patient: settings, learner state, use and tests.

Batched arrays (n patients first) that the core fills in place week by week: the learner's
parameters and values, the drugs taken, each day's use, the self-reports and the weekly urine
test (the clinic's only measurement, :func:`urine_test`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pkgym.envs.addiction.clinic import DAYS_PER_WEEK, AddictionScenario
from pkgym.envs.pinning import pinned_numbers
from pkgym.models.addiction import (
    N_STATES,
    VARIED,
    Redish2004,
    drug_naive_values,
    simulate_untreated_by_day,
    simulate_untreated_days,
)
from pkgym.populations import BetweenSubjectVariability, Population


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


def pinned_patient(given: Mapping[str, Any], settings: AddictionSettings) -> dict[str, float]:
    """A pinned patient's etas (``eta_<name>`` of ``VARIED``) and id, validated.

    Examples:
        >>> settings = AddictionSettings(AddictionScenario(), AddictionScenario().population)
        >>> pinned_patient({"eta_dopamine_surge": 0.2, "id": 3}, settings)
        {'eta_dopamine_surge': 0.2, 'id': 3.0}
    """
    allowed = (*settings.model.variability.eta_columns, "id")
    return pinned_numbers(given, allowed, settings.model.variability)


def new_records(settings: AddictionSettings, draws: Mapping[str, np.ndarray] | None,
                pinned: Sequence[dict[str, float] | None], seed_entropy: np.ndarray,
                variability: BetweenSubjectVariability | None = None) -> AddictionRecords:
    """Records of fresh episodes at week 0, after the untreated use history.

    ``draws=None`` builds typical drug-naive patients (before the first reset);
    ``variability`` is ``settings.model.variability``, passed by a core that keeps it.

    Examples:
        >>> settings = AddictionSettings(AddictionScenario(), AddictionScenario().population)
        >>> records = new_records(settings, None, [None], np.zeros(1, dtype=object))
        >>> records.values[0].round(2).tolist()
        [2.22, 2.78, 2.78, 1.78]
    """
    scenario, n = settings.scenario, seed_entropy.shape[0]
    weeks = (n, scenario.n_weeks, DAYS_PER_WEEK)
    params, values, prior, ids = _learners(settings, draws, pinned, n, variability)
    course = week_major(n, (scenario.n_weeks + 1, N_STATES), np.float64)
    course[:, 0] = values
    uniforms = {key: week_major(n, shape, np.float64) for key, shape in
                (("choice", weeks[1:]), ("adherence", weeks[1:]), ("report", weeks[1:]),
                 ("test", weeks[1:2]))}
    for key, array in uniforms.items():
        array[:] = 1.0 if draws is None and key == "test" else 0.0 if draws is None else draws[key]
    return AddictionRecords(
        params=params, values=values,
        value_course=course, amounts=np.zeros((n, 2)),
        choice_uniforms=uniforms["choice"], adherence_uniforms=uniforms["adherence"],
        report_uniforms=uniforms["report"], test_uniforms=uniforms["test"],
        used=week_major(n, weeks[1:], np.bool_), reported=np.zeros(weeks[:2], dtype=np.int64),
        urine_positive=np.zeros(weeks[:2], dtype=bool), cm_streak=np.zeros(n, dtype=np.int64),
        actions=np.full(weeks[:2], -1, dtype=np.int64),
        taken=week_major(n, (*weeks[1:], 2), np.float64),
        occupancy=week_major(n, (scenario.n_weeks, 2), np.float64), prior_use_fraction=prior,
        week=np.zeros(n, dtype=np.int64), reward=np.zeros(n), patient_id=ids,
        seed_entropy=seed_entropy)


def week_major(n: int, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """Zeros of shape ``(n, *shape)`` stored week by week (axis 1 outermost in memory).

    A step reads and writes one week of every patient: stored this way, that week is one
    contiguous block instead of a slice in every patient's row (a cache line and a page
    each).

    Examples:
        >>> a = week_major(3, (24, 7), np.bool_)
        >>> a.shape, a.strides
        ((3, 24, 7), (7, 21, 1))
    """
    return np.zeros((shape[0], n, *shape[1:]), dtype).swapaxes(0, 1)


def restart_records(records: AddictionRecords, settings: AddictionSettings,
                    draws: Mapping[str, np.ndarray], pinned: Sequence[dict[str, float] | None],
                    seed_entropy: np.ndarray, variability: BetweenSubjectVariability) -> None:
    """:func:`new_records` of every row, its course arrays reused in place (the same numbers).

    ``draws`` holds ``eta`` and the burn-in's uniforms by day, ``burn_in_by_day`` (n_days,
    n); the episode's uniforms are already drawn into
    the records' own arrays. Reusing the arrays spares the fresh pages of new ones (the
    first touch of a page costs more than the numbers written to it); arrays of one value
    per patient are replaced.
    """
    params, values, prior, ids = _learners(settings, draws, pinned, len(pinned), variability)
    records.params, records.values, records.prior_use_fraction = params, values, prior
    records.patient_id, records.seed_entropy = ids, seed_entropy
    records.value_course.fill(0.0)
    records.value_course[:, 0] = values
    for zeroed in (records.amounts, records.used, records.reported, records.urine_positive,
                   records.cm_streak, records.taken, records.occupancy, records.week,
                   records.reward):
        zeroed.fill(0)
    records.actions.fill(-1)


def _learners(settings: AddictionSettings, draws: Mapping[str, np.ndarray] | None,
              pinned: Sequence[dict[str, float] | None], n: int,
              variability: BetweenSubjectVariability | None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parameters, values after the use history, its drug-use share and ids of n patients."""
    scenario = settings.scenario
    model = scenario.redish
    variability = variability or model.variability
    etas = np.zeros((n, len(VARIED)))
    if draws is not None:
        etas = variability.etas_from_normals(draws["eta"])
    ids = np.full(n, -1, dtype=np.int64)
    for k, row in enumerate(pinned):
        if row is None:
            continue
        ids[k] = int(row.get("id", -1))
        for j, name in enumerate(variability.eta_columns):
            etas[k, j] = row.get(name, etas[k, j])
    patients = model.patients(etas)
    params = np.column_stack([patients[name] for name in VARIED])
    values = drug_naive_values(model, patients["reward_sensitivity"])
    prior = np.zeros(n)
    if draws is not None and scenario.burn_in_days:
        if "burn_in_by_day" in draws:
            values, drug_days = simulate_untreated_by_day(model, params, values,
                                                          draws["burn_in_by_day"])
        else:
            values, drug_days = simulate_untreated_days(model, params, values, draws["burn_in"])
        prior = drug_days / scenario.burn_in_days
    return params, values, prior, ids


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
