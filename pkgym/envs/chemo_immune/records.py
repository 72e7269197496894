"""What the chemotherapy clinic holds for each patient: settings, cell courses and measurements.

Batched arrays (n patients first) that the core fills in place day by day. Measured cell
levels (:func:`measure`) are kept in float32 as reported, so an observation is a copy; the
true course stays float64.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pkgym.envs.chemo_immune.clinic import CELL_HIGH, ChemoImmuneScenario
from pkgym.envs.pinning import pinned_numbers
from pkgym.models.tumour_immune import DePillis2003, TumourImmuneParameters
from pkgym.populations import Population
from pkgym.populations.variability import BetweenSubjectVariability
from pkgym.sim.layout import step_major


@dataclass(frozen=True, slots=True)
class ChemoSettings:
    """Everything that defines the clinic except the policy (see the env card)."""

    scenario: ChemoImmuneScenario
    population: Population

    @property
    def model(self) -> DePillis2003:
        """The de Pillis parameter set (it carries ``variability`` for cohort sampling)."""
        return self.scenario.de_pillis


def chemo_settings(scenario: ChemoImmuneScenario, population: Population | None
                   ) -> ChemoSettings:
    """The core's settings (an injected population replaces the scenario's).

    Examples:
        >>> chemo_settings(ChemoImmuneScenario(), None).population.n_draws
        1
    """
    return ChemoSettings(scenario, population or scenario.population)


@dataclass(slots=True)
class ChemoRecords:
    """Everything that happened to each patient, true and measured (batched, in place).

    Attributes:
        tumour_at_start: T at day 0 (the patient covariate).  # (n,)
        etas: random effects on a2, a3, d2.  # (n, 3)
        params: the true individual parameters.  # table (n, 16)
        states: true (N, T, I, u) now.  # (n, 4)
        course: true (N, T, I, u) each morning.  # (n, n_days + 1, 4)
        measured: measured (N, T, I) each morning, float32.  # (n, n_days + 1, 3)
        measured_now: this morning's row of ``measured``.  # (n, 3)
        assay_normals: the episode's pre-drawn measurement noise (step-major when
            the core allocates it).  # (n, n_days + 1, 3)
        doses, doses_f32: infusion rate given each day (0 for days to come).  # (n, n_days)
        last_dose: the infusion rate of the last day (0 before the first).  # (n,)
        below_floor: whether N was below the floor the morning after each day.  # (n, n_days)
        days_below_floor: the count of ``below_floor`` so far.  # (n,)
        day: the current morning (0 = first day).  # (n,)
        stopped: whether the episode was terminated below the floor.  # (n,)
        reward: the last step's reward.  # (n,)
        patient_id: cohort id of a pinned patient, -1 for a drawn one.  # (n,)
        seed_entropy: root seed entropy of the env slot (Python ints).  # (n,)
    """

    tumour_at_start: np.ndarray
    etas: np.ndarray
    params: TumourImmuneParameters
    states: np.ndarray
    course: np.ndarray
    measured: np.ndarray
    measured_now: np.ndarray
    assay_normals: np.ndarray
    doses: np.ndarray
    doses_f32: np.ndarray
    last_dose: np.ndarray
    below_floor: np.ndarray
    days_below_floor: np.ndarray
    day: np.ndarray
    stopped: np.ndarray
    reward: np.ndarray
    patient_id: np.ndarray
    seed_entropy: np.ndarray


PATIENT_KEYS = ("tumour_at_start",)
"""Covariates a pinned patient may give (etas ``eta_<name>`` and ``id`` too); absent ones are
drawn from the slot's patient stream, as for a new patient."""


def pinned_patient(given: Mapping[str, Any], settings: ChemoSettings,
                   variability: BetweenSubjectVariability | None = None) -> dict[str, float]:
    """A pinned patient's tumour burden at day 0, etas and id, validated.

    ``variability`` is ``settings.model.variability`` (pass it when it is at hand).

    Examples:
        >>> settings = chemo_settings(ChemoImmuneScenario(), None)
        >>> pinned_patient({"tumour_at_start": 0.3, "eta_a2": 0.1}, settings)
        {'tumour_at_start': 0.3, 'eta_a2': 0.1}
    """
    variability = variability or settings.model.variability
    allowed = (*PATIENT_KEYS, *variability.eta_columns, "id")
    out = pinned_numbers(given, allowed, variability)
    capacity = 1 / settings.model.b1_tumour_inverse_capacity
    if "tumour_at_start" in out and not 0 < out["tumour_at_start"] <= capacity:
        raise ValueError(f"patient field tumour_at_start must be in (0, 1/b1 = {capacity:g}], "
                         f"got {out['tumour_at_start']}")
    return out


def new_records(settings: ChemoSettings, draws: Mapping[str, np.ndarray] | None,
                pinned: Sequence[dict[str, float] | None], seed_entropy: np.ndarray,
                variability: BetweenSubjectVariability | None = None) -> ChemoRecords:
    """Records of fresh episodes at day 0 with the first measurement taken.

    ``draws=None`` builds noise-free typical patients (before the first reset).
    ``variability`` is ``settings.model.variability`` (a core passes the one it built).

    Examples:
        >>> settings = chemo_settings(ChemoImmuneScenario(), None)
        >>> records = new_records(settings, None, [{"tumour_at_start": 0.4}, None],
        ...                       np.zeros(2, dtype=object))
        >>> records.states.tolist()
        [[0.9, 0.4, 0.005, 0.0], [0.9, 0.2, 0.005, 0.0]]
    """
    n, days = seed_entropy.shape[0], settings.scenario.n_days
    normals = step_major(n, (days + 1, 3), np.float64) if draws is None else draws["assay"]
    records = ChemoRecords(
        tumour_at_start=np.zeros(n), etas=np.zeros((n, 0)),
        params=TumourImmuneParameters(np.zeros((n, 0))), states=np.zeros((n, 4)),
        course=step_major(n, (days + 1, 4), np.float64),
        measured=step_major(n, (days + 1, 3), np.float32), measured_now=np.zeros((n, 3)),
        assay_normals=normals, doses=step_major(n, (days,), np.float64),
        doses_f32=np.zeros((n, days), np.float32), last_dose=np.zeros(n),
        below_floor=step_major(n, (days,), np.bool_), days_below_floor=np.zeros(n),
        day=np.zeros(n), stopped=np.zeros(n), reward=np.zeros(n), patient_id=np.zeros(n),
        seed_entropy=seed_entropy)
    restart_records(records, settings, draws, pinned, seed_entropy,
                    variability or settings.model.variability)
    return records


def restart_records(records: ChemoRecords, settings: ChemoSettings,
                    draws: Mapping[str, np.ndarray] | None,
                    pinned: Sequence[dict[str, float] | None],
                    seed_entropy: np.ndarray, variability: BetweenSubjectVariability) -> None:
    """:func:`new_records` of every row, its course arrays reused in place (the same numbers).

    ``draws`` holds ``covariates`` and ``eta`` (None: typical patients); the assay normals
    are already drawn into ``records.assay_normals``. Reusing the course arrays spares the
    fresh pages of new ones; arrays of one value per patient are replaced. Only day 0 is
    measured: the course of days to come is 0, which measures 0 (``0 x exp(log_sd z)``,
    finite for ``log_sd <= 2``).
    """
    scenario, n = settings.scenario, len(pinned)
    tumour, etas, ids = _patient_table(settings, draws, pinned, n, variability)
    states = np.column_stack([np.full(n, scenario.initial_normal_cells), tumour,
                              np.full(n, scenario.initial_immune_cells), np.zeros(n)])
    records.course.fill(0.0)
    records.course[:, 0] = states
    first = measure(records.course[:, 0, :3], records.assay_normals[:, 0],
                    scenario.measurement_log_sd)
    records.measured.fill(0.0)
    records.measured[:, 0] = first
    for zeroed in (records.doses, records.doses_f32, records.below_floor):
        zeroed.fill(0)
    records.tumour_at_start, records.etas, records.states = tumour, etas, states
    records.params = scenario.de_pillis.parameters(n, etas)
    records.measured_now, records.last_dose = first, np.zeros(n)
    records.days_below_floor = np.zeros(n, dtype=np.int64)
    records.day = np.zeros(n, dtype=np.int64)
    records.stopped, records.reward = np.zeros(n, dtype=bool), np.zeros(n)
    records.patient_id, records.seed_entropy = ids, seed_entropy


def _patient_table(settings: ChemoSettings, draws: Mapping[str, np.ndarray] | None,
                   pinned: Sequence[dict[str, float] | None], n: int,
                   variability: BetweenSubjectVariability
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tumour burden at day 0, etas and ids of n new patients: drawn, then pinned over them."""
    scenario = settings.scenario
    tumour = np.full(n, scenario.tumour_at_start_median)
    etas = np.zeros((n, len(variability.names)))
    if draws is not None:
        covariates = settings.population.from_uniforms(draws["covariates"])
        tumour = np.asarray(covariates.get("tumour_at_start", tumour), dtype=np.float64)
        etas = variability.etas_from_normals(draws["eta"])
    ids = np.full(n, -1, dtype=np.int64)
    for k, row in enumerate(pinned):
        if row is None:
            continue
        tumour[k] = row.get("tumour_at_start", tumour[k])
        ids[k] = int(row.get("id", -1))
        for j, name in enumerate(variability.eta_columns):
            etas[k, j] = row.get(name, etas[k, j])
    return tumour, etas, ids


def measure(true_cells: np.ndarray, normals: np.ndarray, log_sd: float) -> np.ndarray:
    """Measured cell levels: ``true * exp(log_sd * z)``, capped at ``CELL_HIGH``, float32.

    Examples:
        >>> measure(np.array([0.5, 0.5, 4.0]), np.array([0.0, 1.0, 3.0]), 0.1)
        array([0.5      , 0.5525855, 5.       ], dtype=float32)
    """
    values = np.asarray(true_cells, dtype=np.float64) * np.exp(log_sd * normals)
    return np.minimum(values, CELL_HIGH).astype(np.float32)
