"""A vancomycin course in hospital: its timing, sampling plan, patients and starting state.

Each decision step is one dosing interval. A dose is infused from the start of the interval
at no more than ``max_infusion_rate_mg_per_h`` and over at least ``min_infusion_h`` (the
label: at least 60 min, no faster than 10-16.7 mg/min). Clearance follows the day's true
creatinine through Goti's Cockcroft-Gault; at the end of each day the day's AUC drives the
kidney-injury hazard of :mod:`pkgym.models.kidney`. The course itself is stepped by the
compiled ward (:func:`pkgym.envs.vancomycin.kernel.advance_ward`), which tests hold to an
independent numpy course (``tests/models/vancomycin_reference.py``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from pkgym.models.kidney import KidneyState
from pkgym.models.vancomycin import TwoCompartmentVancomycin
from pkgym.sim.elementwise import FloatOrArray, elementwise
from pkgym.units import HOURS_PER_DAY

SAMPLE_KINDS = ("trough", "peak")
"""A trough is taken 30 min before dose k; a peak 1 h after the end of dose k's infusion."""
TROUGH_BEFORE_H, PEAK_AFTER_END_H = 0.5, 1.0


def infusion_duration_h(dose_mg: np.ndarray | float, max_rate_mg_per_h: float = 1000.0,
                        min_duration_h: float = 1.0) -> np.ndarray:
    """Infusion time of a dose: at least ``min_duration_h``, at most ``max_rate`` mg/h.

    Examples:
        >>> infusion_duration_h(np.array([500.0, 1500.0])).tolist()
        [1.0, 1.5]
    """
    return infusion_time_h(np.asarray(dose_mg, dtype=np.float64), max_rate_mg_per_h,
                           min_duration_h)


@elementwise
def infusion_time_h(dose_mg: FloatOrArray, max_rate_mg_per_h: float,
                    min_duration_h: float) -> FloatOrArray:
    """:func:`infusion_duration_h` of float64 doses, elementwise (:mod:`pkgym.sim.elementwise`).

    The compiled ward times its infusions with it.

    Examples:
        >>> float(infusion_time_h(2500.0, 1000.0, 1.0))
        2.5
    """
    return np.maximum(min_duration_h, dose_mg / max_rate_mg_per_h)


@dataclass(frozen=True, slots=True, kw_only=True)
class CourseConfig:
    """Timing of a course: interval, horizon, infusion limits and the level-sampling plan.

    Attributes:
        interval_h: dosing interval; must divide 24 h.
        n_steps: number of dosing decisions (the horizon).
        max_infusion_rate_mg_per_h: fastest allowed infusion.
        min_infusion_h: shortest allowed infusion.
        sampling: levels drawn, as (kind, dose number) pairs, dose numbers from 1; e.g.
            ``(("trough", 4), ("peak", 4))`` is a trough before and a peak after the 4th dose.
    """

    interval_h: float = field(default=12.0, metadata={"unit": "h"})
    n_steps: int = 14
    max_infusion_rate_mg_per_h: float = field(default=1000.0, metadata={"unit": "mg/h"})
    min_infusion_h: float = field(default=1.0, metadata={"unit": "h"})
    sampling: tuple[tuple[str, int], ...] = (("trough", 4), ("peak", 4))

    def __post_init__(self) -> None:
        """Check the interval divides a day and every sample falls inside the course."""
        if self.interval_h not in (4.0, 6.0, 8.0, 12.0, 24.0):
            raise ValueError(f"interval_h must be one of 4, 6, 8, 12, 24 h, got {self.interval_h}")
        if self.n_steps < 1:
            raise ValueError(f"n_steps must be >= 1, got {self.n_steps}")
        if self.max_infusion_rate_mg_per_h <= 0 or not 0 < self.min_infusion_h < self.interval_h:
            raise ValueError("max_infusion_rate_mg_per_h must be > 0 and min_infusion_h in "
                             f"(0, interval_h={self.interval_h})")
        for kind, dose in self.sampling:
            first = 2 if kind == "trough" else 1
            if kind not in SAMPLE_KINDS or not first <= dose <= self.n_steps:
                raise ValueError(f"sampling entry ({kind!r}, {dose}) must be a kind in "
                                 f"{SAMPLE_KINDS} and a dose number in {first}..{self.n_steps}")
        if len(set(self.sampling)) != len(self.sampling):
            raise ValueError("sampling entries must be unique")

    @property
    def n_days(self) -> int:
        """Days covered by the course (creatinine is measured each morning)."""
        return math.ceil(self.n_steps * self.interval_h / HOURS_PER_DAY)

    @property
    def steps_per_day(self) -> int:
        """Dosing intervals per day."""
        return round(HOURS_PER_DAY / self.interval_h)

    @property
    def sample_slots(self) -> np.ndarray:
        """Level slot filled in each step: column 0 the trough, 1 the peak; -1 for none.

        Shape (n_steps, 2); slot numbers follow the order of ``sampling``. Read-only.
        """
        return _sample_slots(self.sampling, self.n_steps)

    def dose_duration_h(self, dose_mg: np.ndarray) -> np.ndarray:
        """Infusion duration of each dose under this config's limits."""
        return infusion_duration_h(dose_mg, self.max_infusion_rate_mg_per_h, self.min_infusion_h)


@functools.lru_cache(maxsize=64)
def _sample_slots(sampling: tuple[tuple[str, int], ...], n_steps: int) -> np.ndarray:
    """The table behind :attr:`CourseConfig.sample_slots`, built once per plan."""
    slots = np.full((n_steps, 2), -1)
    for slot, (kind, dose) in enumerate(sampling):
        step, column = (dose - 2, 0) if kind == "trough" else (dose - 1, 1)
        slots[step, column] = slot
    slots.setflags(write=False)
    return slots


def daily_troughs(n_steps: int = 14, interval_h: float = 12.0) -> tuple[tuple[str, int], ...]:
    """Sampling plan with a trough before the first dose of every day from day 2.

    Examples:
        >>> daily_troughs(6, 12.0)
        (('trough', 3), ('trough', 5))
    """
    per_day = round(HOURS_PER_DAY / interval_h)
    return tuple(("trough", k) for k in range(per_day + 1, n_steps + 1, per_day))


@dataclass(frozen=True, slots=True)
class CoursePatients:
    """Fixed characteristics of a batch of patients (all shape (n,), etas (n, 3))."""

    age_years: np.ndarray
    is_female: np.ndarray
    weight_kg: np.ndarray
    height_cm: np.ndarray
    on_dialysis: np.ndarray
    etas: np.ndarray


@dataclass(frozen=True, slots=True)
class CourseState:
    """Where each patient's course stands.

    Attributes:
        step: decision steps taken.  # (n,)
        amounts_mg: drug in the central and peripheral compartments.  # (n, 2)
        kidney: renal state (true creatinine, injury).
        clearance_l_per_h: today's vancomycin clearance.  # (n,)
        volumes_l: central and peripheral volumes (constant over the course).  # (n, 2)
        intercompartmental_clearance_l_per_h: Q (constant).  # (n, 1)
        auc_by_step_mg_h_per_l: AUC of each past interval.  # (n, n_steps)
    """

    step: np.ndarray
    amounts_mg: np.ndarray
    kidney: KidneyState
    clearance_l_per_h: np.ndarray
    volumes_l: np.ndarray
    intercompartmental_clearance_l_per_h: np.ndarray
    auc_by_step_mg_h_per_l: np.ndarray


def start_course(patients: CoursePatients, kidney: KidneyState, config: CourseConfig,
                 model: TwoCompartmentVancomycin) -> CourseState:
    """A drug-free patient at time 0 of the course (the one place inputs are validated).

    Examples:
        >>> from pkgym.models.kidney import initial_kidney_state
        >>> from pkgym.models.vancomycin import Goti2018
        >>> p = CoursePatients(np.array([50.0]), np.array([0.0]), np.array([70.0]),
        ...                    np.array([175.0]), np.array([0.0]), np.zeros((1, 3)))
        >>> state = start_course(p, initial_kidney_state(np.array([1.0])), CourseConfig(),
        ...                      Goti2018())
        >>> state.volumes_l.tolist(), state.step.tolist()
        ([[58.4, 38.4]], [0])
    """
    n = patients.weight_kg.shape[0]
    crcl = model.creatinine_clearance_ml_per_min(
        patients.age_years, patients.weight_kg, kidney.creatinine_mg_per_dl, patients.is_female)
    params = model.linear_params(weight_kg=patients.weight_kg, on_dialysis=patients.on_dialysis,
                                 creatinine_clearance_ml_per_min=crcl, etas=patients.etas,
                                 age_years=patients.age_years,
                                 serum_creatinine_mg_per_dl=kidney.creatinine_mg_per_dl)
    q = params.intercompartmental_clearance_l_per_h
    return CourseState(np.zeros(n, dtype=np.int64), np.zeros((n, 2)), kidney,
                       params.clearance_l_per_h, params.volumes_l, q,
                       np.zeros((n, config.n_steps)))
