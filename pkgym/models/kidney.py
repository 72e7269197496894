"""Day-to-day serum creatinine and drug-induced acute kidney injury (AKI), batched over patients.

Creatinine follows a mean-reverting random walk in log space around the patient's baseline
(times an injury factor after an AKI). Its stationary coefficient of variation is the
within-subject biological variation of creatinine plus assay error: CVI 5.2% (meta-analysis
of 37 studies, Front Med 2022;9:1009358) and analytical CV 1-2.5% (Mercan et al., Clin Lab
2022), so 6% by default. The daily return rate (0.5/day) is assumed.

AKI is a daily hazard rising log-linearly with the day's vancomycin AUC24::

    h(AUC24) = h0 * exp(beta * (AUC24 - 500) / 100)         per day

No paper publishes this curve; the two constants are calibrated to published figures:

* ``beta = 0.37`` per 100 mg*h/L gives a hazard ratio of 3.0 between AUC24 500 and 800,
  matching the 3- to 4-fold adjusted risk above a day-1 AUC of 677 mg*h/L (Zasowski et al.,
  Antimicrob Agents Chemother 2018;62:e01684-17) and OR 2.1 for AUC >= 600 (Tsutsuura et al.,
  BMC Infect Dis 2021;21:153).
* ``h0 = 0.015`` per day gives ~10% AKI over a 7-day course at AUC24 500, within the 9-19%
  AKI incidence of vancomycin-treated inpatients (Chavada et al., Antimicrob Agents Chemother
  2017;61:e02535-16: 11.2% below AUC 563; Prabaker 2012 8.9%; Bosso 19%).

An AKI multiplies the creatinine set point by a factor drawn uniformly from [1.5, 3.0]
(KDIGO 2012 stages 1-3, Kidney Int Suppl 2:1); creatinine then rises towards it at the
return rate (about 60% of the way in 2 days, KDIGO's 48-hour window). One AKI per course.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from scipy.special import ndtri

from pkgym.sim.elementwise import FloatOrArray, elementwise, where
from pkgym.utils import check_non_negative, check_positive


class KidneyConstants(NamedTuple):
    """:class:`KidneyInjuryParams` as compiled kernels read them (its ``constants``)."""

    baseline_aki_hazard_per_day: float
    log_hazard_ratio_per_100_auc: float
    reference_auc_mg_h_per_l: float
    creatinine_cv: float
    creatinine_return_per_day: float
    injury_factor_low: float
    injury_factor_high: float


@dataclass(frozen=True, slots=True, kw_only=True)
class KidneyInjuryParams:
    """Creatinine variability and the exposure-AKI hazard (sources in the module docstring)."""

    baseline_aki_hazard_per_day: float = field(default=0.015, metadata={"unit": "1/day"})
    log_hazard_ratio_per_100_auc: float = field(default=0.37, metadata={"unit": "per 100 mg*h/L"})
    reference_auc_mg_h_per_l: float = field(default=500.0, metadata={"unit": "mg*h/L"})
    creatinine_cv: float = field(default=0.06, metadata={"unit": "fraction"})
    creatinine_return_per_day: float = field(default=0.5, metadata={"unit": "1/day"})
    injury_factor_low: float = field(default=1.5, metadata={"unit": "x baseline"})
    injury_factor_high: float = field(default=3.0, metadata={"unit": "x baseline"})

    def __post_init__(self) -> None:
        """Hazards, rates and factors must be positive; the factor range ordered."""
        check_non_negative("baseline_aki_hazard_per_day", self.baseline_aki_hazard_per_day)
        check_non_negative("log_hazard_ratio_per_100_auc", self.log_hazard_ratio_per_100_auc)
        check_non_negative("creatinine_cv", self.creatinine_cv)
        check_positive("creatinine_return_per_day", self.creatinine_return_per_day)
        check_positive("injury_factor_low", self.injury_factor_low)
        if self.injury_factor_high < self.injury_factor_low:
            raise ValueError("injury_factor_high must be >= injury_factor_low")

    @property
    def constants(self) -> KidneyConstants:
        """The parameters :func:`kidney_day` and compiled kernels read."""
        return KidneyConstants(
            self.baseline_aki_hazard_per_day, self.log_hazard_ratio_per_100_auc,
            self.reference_auc_mg_h_per_l, self.creatinine_cv, self.creatinine_return_per_day,
            self.injury_factor_low, self.injury_factor_high)

    def aki_hazard_per_day(self, auc24_mg_h_per_l: np.ndarray) -> np.ndarray:
        """Daily AKI hazard at the given AUC24.

        Examples:
            >>> p = KidneyInjuryParams()
            >>> round(float(p.aki_hazard_per_day(800.0) / p.aki_hazard_per_day(500.0)), 2)
            3.03
        """
        return aki_hazard(self.constants, np.asarray(auc24_mg_h_per_l))


@elementwise
def aki_hazard(kidney: KidneyConstants, auc24_mg_h_per_l: FloatOrArray) -> FloatOrArray:
    """Daily AKI hazard at the day's AUC24, 1/day (the module docstring's ``h(AUC24)``).

    Elementwise (:mod:`pkgym.sim.elementwise`).

    Examples:
        >>> round(float(aki_hazard(KidneyInjuryParams().constants, 500.0)), 3)
        0.015
    """
    excess = (auc24_mg_h_per_l - kidney.reference_auc_mg_h_per_l) / 100.0
    return kidney.baseline_aki_hazard_per_day * np.exp(kidney.log_hazard_ratio_per_100_auc * excess)


@dataclass(frozen=True, slots=True)
class KidneyState:
    """Renal state of each patient.

    Attributes:
        baseline_creatinine_mg_per_dl: the patient's pre-treatment creatinine.  # (n,)
        creatinine_mg_per_dl: today's true serum creatinine.  # (n,)
        injury_factor: creatinine set point over baseline (1 until an AKI).  # (n,)
    """

    baseline_creatinine_mg_per_dl: np.ndarray
    creatinine_mg_per_dl: np.ndarray
    injury_factor: np.ndarray

    @property
    def had_aki(self) -> np.ndarray:
        """Whether the patient has had an AKI this course."""
        return self.injury_factor > 1.0


def initial_kidney_state(baseline_creatinine_mg_per_dl: np.ndarray) -> KidneyState:
    """Renal state at the start of treatment (creatinine at baseline, no injury).

    Examples:
        >>> initial_kidney_state(np.array([0.9])).had_aki.tolist()
        [False]
    """
    scr = check_positive("baseline_creatinine_mg_per_dl", baseline_creatinine_mg_per_dl)
    return KidneyState(scr.copy(), scr.copy(), np.ones_like(scr))


def advance_kidney_day(
    state: KidneyState, auc24_mg_h_per_l: np.ndarray, uniforms: np.ndarray,
    params: KidneyInjuryParams,
) -> tuple[KidneyState, np.ndarray]:
    """One day: draw AKI events from the day's AUC24, then move creatinine.

    Args:
        state: renal state at the start of the day.
        auc24_mg_h_per_l: the day's vancomycin AUC, shape (n,).
        uniforms: three U(0,1) draws per patient (event, injury size, creatinine noise),
            shape (n, 3), from the patient's ``events`` stream.
        params: hazard and variability parameters.

    Returns:
        The renal state at the end of the day and whether an AKI started that day, (n,).

    Examples:
        >>> state = initial_kidney_state(np.array([1.0]))
        >>> new, aki = advance_kidney_day(state, np.array([500.0]), np.array([[0.001, 0.5, 0.5]]),
        ...                               KidneyInjuryParams())
        >>> aki.tolist(), float(new.injury_factor[0]), round(float(new.creatinine_mg_per_dl[0]), 3)
        ([True], 2.25, 1.376)
    """
    u = np.asarray(uniforms, dtype=np.float64)
    auc24 = check_non_negative("auc24_mg_h_per_l", auc24_mg_h_per_l)
    scr, factor, aki = kidney_day(
        params.constants, state.baseline_creatinine_mg_per_dl, state.creatinine_mg_per_dl,
        state.injury_factor, auc24, u[:, 0], u[:, 1], ndtri(u[:, 2]))
    return KidneyState(state.baseline_creatinine_mg_per_dl, scr, factor), aki


@elementwise
def kidney_day(kidney: KidneyConstants, baseline_creatinine_mg_per_dl: FloatOrArray,
               creatinine_mg_per_dl: FloatOrArray, injury_factor: FloatOrArray,
               auc24_mg_h_per_l: FloatOrArray, event_uniform: FloatOrArray,
               size_uniform: FloatOrArray,
               creatinine_normal: FloatOrArray) -> tuple[FloatOrArray, ...]:
    """One day of the kidneys: (creatinine mg/dL, injury factor, whether an AKI began).

    The one implementation of the module docstring's day (elementwise,
    :mod:`pkgym.sim.elementwise`): :func:`advance_kidney_day` runs it on arrays, the compiled
    vancomycin ward on floats. No second AKI once the injury factor is above 1.

    Args:
        kidney: hazard and variability parameters.
        baseline_creatinine_mg_per_dl: the patient's pre-treatment creatinine.
        creatinine_mg_per_dl: true creatinine at the start of the day.
        injury_factor: creatinine set point over baseline (1 until an AKI).
        auc24_mg_h_per_l: the day's vancomycin AUC, mg*h/L.
        event_uniform: U(0,1) draw of the AKI event.
        size_uniform: U(0,1) draw of the injury factor.
        creatinine_normal: the day's standard normal deviate of the creatinine walk.

    Examples:
        >>> kidney = KidneyInjuryParams().constants
        >>> scr, factor, aki = kidney_day(kidney, 1.0, 1.0, 1.0, 500.0, 0.001, 0.5, 0.0)
        >>> round(float(scr), 3), float(factor), bool(aki)
        (1.376, 2.25, True)
    """
    hazard = aki_hazard(kidney, auc24_mg_h_per_l)
    aki = (injury_factor <= 1.0) & (event_uniform < -np.expm1(-hazard))
    spread = kidney.injury_factor_high - kidney.injury_factor_low
    factor = where(aki, kidney.injury_factor_low + spread * size_uniform, injury_factor)
    target = np.log(baseline_creatinine_mg_per_dl * factor)
    keep = np.exp(-kidney.creatinine_return_per_day)
    sigma = np.sqrt(np.log1p(kidney.creatinine_cv**2) * (1.0 - keep**2))
    log_scr = target + (np.log(creatinine_mg_per_dl) - target) * keep + sigma * creatinine_normal
    return np.exp(log_scr), factor, aki


def kdigo_stage(creatinine_mg_per_dl: np.ndarray, baseline_mg_per_dl: np.ndarray) -> np.ndarray:
    """KDIGO 2012 AKI stage (0-3) from creatinine against baseline (creatinine criteria only).

    Examples:
        >>> scr, baseline = np.array([1.0, 1.35, 2.1, 3.2, 4.1]), np.array([1, 1, 1, 1, 2.0])
        >>> kdigo_stage(scr, baseline).tolist()
        [0, 1, 2, 3, 3]
    """
    return np.asarray(kdigo_stage_of(np.asarray(creatinine_mg_per_dl, dtype=np.float64),
                                     np.asarray(baseline_mg_per_dl, dtype=np.float64)))


def kdigo_stage_of(creatinine_mg_per_dl: Any, baseline_mg_per_dl: Any) -> Any:
    """:func:`kdigo_stage` on plain floats (an int) or float arrays, with operators only.

    Each criterion overrides the lower ones, so one patient's stage costs no numpy call.

    Examples:
        >>> kdigo_stage_of(4.1, 2.0), kdigo_stage_of(1.0, 1.0)
        (3, 0)
    """
    scr, baseline = creatinine_mg_per_dl, baseline_mg_per_dl
    ratio, rise = scr / baseline, scr - baseline
    stage = (ratio >= 1.5) | (rise >= 0.3)
    stage = stage + (ratio >= 2.0) * (2 - stage)
    return stage + ((ratio >= 3.0) | ((scr >= 4.0) & (rise >= 0.3))) * (3 - stage)
