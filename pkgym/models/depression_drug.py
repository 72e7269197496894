"""Escitalopram for depression: daily PK, a delayed effect on reward sensitivity, side effects.

* PK: one compartment, a daily oral dose taken as a bolus (absorption ignored: *assumed*;
  Tmax ~5 h is short against a 30-h half-life). CL/F = 36 L/h (label: oral clearance
  600 mL/min) and V/F = 1560 L, so that t1/2 = ln 2 V / CL = 30 h, within the label's
  27-32 h (Lexapro prescribing information, section 12.3). Age >= 65 y: CL / 1.5 (label:
  AUC and half-life ~50% higher in the elderly). Between-subject CV of CL ~30% (*assumed*).
* Serotonin-transporter occupancy: Emax in concentration, ``C / (EC50 + C)`` with EC50
  3 ng/mL (*assumed*, so that 10 mg/day gives ~80% occupancy, the level Meyer et al. 2004,
  Am J Psychiatry 161:826, found at minimum therapeutic SSRI doses).
* Delayed effect: an adaptation compartment ``dE/dt = k (occupancy - E)`` with a time
  constant of 2 weeks (*assumed*; antidepressant effects build over 2-6 weeks, e.g.
  Taylor et al. 2006, Arch Gen Psychiatry 63:1217). E moves log rho towards the healthy
  value: ``log rho = log rho_0 + (log rho_healthy - log rho_0) min(1, emax_i E + R(t))`` with
  ``emax_i`` the patient's maximal response (logit-normal, median 0.5, *assumed*) and
  ``R(t) = 1 - exp(-t / 52 weeks)`` slow spontaneous recovery (*assumed* natural course).
* Symptoms: MADRS linear in log rho between the healthy and MDD medians (4 and 30 points;
  MADRS <= 10 is remission, trial baselines are ~30): ``S = 4 + 26 (log rho - log rho_h) /
  (log rho_mdd - log rho_h)``, clipped to 0-60. Why: Huys 2013 place anhedonia in rho, and a
  log scale makes equal relative changes of rho equal symptom changes (*assumed* link).
* Side effects: the weekly probability of a troublesome adverse effect
  ``p_max C^h / (EC50^h + C^h)``, p_max 0.6, EC50 40 ng/mL, h = 2 (*assumed*): ~5% at 10 mg
  and ~15% at 20 mg a day, about the label's 10 mg vs 20 mg ratio of discontinuations for
  adverse events in its fixed-dose trial (4% vs 10%).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np

from pkgym.models.depression import Huys2013, ProbabilisticRewardTask
from pkgym.populations import BetweenSubjectVariability
from pkgym.units import HOURS_PER_DAY

DAYS_PER_WEEK = 7


@dataclass(frozen=True, slots=True, kw_only=True)
class Escitalopram:
    """Escitalopram PK and pharmacodynamics (see the module docstring for the sources)."""

    clearance_l_per_h: float = field(default=36.0, metadata={"unit": "L/h"})
    volume_l: float = field(default=1560.0, metadata={"unit": "L"})
    elderly_clearance_factor: float = field(default=1 / 1.5, metadata={"unit": "1"})
    sert_ec50_mg_per_l: float = field(default=0.003, metadata={"unit": "mg/L"})
    onset_time_constant_weeks: float = field(default=2.0, metadata={"unit": "week"})
    adverse_ec50_mg_per_l: float = field(default=0.04, metadata={"unit": "mg/L"})
    adverse_hill: float = field(default=2.0, metadata={"unit": "1"})
    adverse_max_per_week: float = field(default=0.6, metadata={"unit": "probability"})

    def __post_init__(self) -> None:
        """Validate positivity; the Hill exponent at most 10 (a larger one overflows to NaN)."""
        for name in ("clearance_l_per_h", "volume_l", "elderly_clearance_factor",
                     "sert_ec50_mg_per_l", "onset_time_constant_weeks", "adverse_ec50_mg_per_l",
                     "adverse_hill"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not self.adverse_hill <= 10:
            raise ValueError(f"adverse_hill must be in (0, 10], got {self.adverse_hill}")
        if not 0 <= self.adverse_max_per_week <= 1:
            raise ValueError("adverse_max_per_week must be in [0, 1]")

    @property
    def half_life_h(self) -> float:
        """Elimination half-life of a typical adult (h)."""
        return float(np.log(2.0) * self.volume_l / self.clearance_l_per_h)


@dataclass(frozen=True, slots=True, kw_only=True)
class SymptomScale:
    """MADRS-like score linked to log rho, with rater noise (see the module docstring).

    Attributes:
        healthy_score, mdd_score: scores at the healthy and MDD median rho.
        rater_sd: SD of a rated score around the true one (*assumed* 3 points).
        recovery_time_constant_weeks: natural course R(t) (*assumed* 52 weeks).
    """

    healthy_score: float = 4.0
    mdd_score: float = 30.0
    rater_sd: float = 3.0
    recovery_time_constant_weeks: float = 52.0

    def __post_init__(self) -> None:
        """Validate the scale."""
        if not 0 <= self.healthy_score < self.mdd_score <= 60 or self.rater_sd < 0:
            raise ValueError("need 0 <= healthy_score < mdd_score <= 60 and rater_sd >= 0")
        if self.recovery_time_constant_weeks <= 0:
            raise ValueError("recovery_time_constant_weeks must be > 0")


VARIABILITY_NAMES = ("rho", "epsilon", "gamma", "CL", "emax")
"""Random effects: log rho_0, log epsilon, log gamma, log CL, logit emax."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DepressionPatientModel:
    """The joint model of a depressed patient: learner, drug, symptom scale, variability.

    Attributes:
        learner, task, drug, scale: the parts.
        omega_diagonal: eta variances of ``VARIABILITY_NAMES`` (*assumed*: SD 0.15 of log rho
            (baseline MADRS SD ~6), 0.4 of log epsilon, 0.2 of log gamma, 0.3 of log CL,
            1.0 of logit emax).
        emax_median: median maximal drug effect (fraction of the rho gap closed).
    """

    learner: Huys2013 = field(default_factory=Huys2013)
    task: ProbabilisticRewardTask = field(default_factory=ProbabilisticRewardTask)
    drug: Escitalopram = field(default_factory=Escitalopram)
    scale: SymptomScale = field(default_factory=SymptomScale)
    omega_diagonal: tuple[float, ...] = (0.0225, 0.16, 0.04, 0.09, 1.0)
    emax_median: float = 0.5

    def __post_init__(self) -> None:
        """Validate the variances and the median effect."""
        if len(self.omega_diagonal) != len(VARIABILITY_NAMES) or min(self.omega_diagonal) < 0:
            raise ValueError(f"omega_diagonal must be {len(VARIABILITY_NAMES)} variances >= 0")
        if not 0 < self.emax_median < 1:
            raise ValueError("emax_median must be in (0, 1)")

    @property
    def variability(self) -> BetweenSubjectVariability:
        """Independent etas of ``VARIABILITY_NAMES``."""
        return BetweenSubjectVariability(names=VARIABILITY_NAMES,
                                         omega=np.diag(self.omega_diagonal))

    def parameters(self, age_years: np.ndarray, etas: np.ndarray) -> dict[str, np.ndarray]:
        """Individual parameters (each (n,)) from age (y) and etas (n, 5).

        Examples:
            >>> p = DepressionPatientModel().parameters(np.array([40.0, 70.0]), np.zeros((2, 5)))
            >>> p["rho0"].tolist(), p["clearance_l_per_h"].round(1).tolist()
            ([0.5, 0.5], [36.0, 24.0])
        """
        e, lrn, d = np.asarray(etas, dtype=np.float64), self.learner, self.drug
        elderly = np.where(np.asarray(age_years) >= 65.0, d.elderly_clearance_factor, 1.0)
        logit = np.log(self.emax_median / (1 - self.emax_median)) + e[:, 4]
        return {"rho0": lrn.reward_sensitivity_mdd * np.exp(e[:, 0]),
                "epsilon": np.minimum(lrn.learning_rate * np.exp(e[:, 1]), 1.0),
                "gamma": lrn.instruction_sensitivity * np.exp(e[:, 2]),
                "clearance_l_per_h": d.clearance_l_per_h * elderly * np.exp(e[:, 3]),
                "emax": 1.0 / (1.0 + np.exp(-logit))}


@numba.njit(cache=True, nogil=True)
def _week_days(amount: np.ndarray, effect: np.ndarray, doses: np.ndarray,
               mean_factor: np.ndarray, decay: np.ndarray, relax: float, volume_l: float,
               ec50_mg_per_l: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`advance_week`'s day loop (its float operations, in its order), compiled.

    Updates ``amount`` (mg) and ``effect`` in place; returns the daily mean concentrations
    (n, 7), mg/L, and the week's mean occupancy (n,).
    """
    n = amount.size
    daily, occupancy = np.empty((n, DAYS_PER_WEEK)), np.zeros(n)
    for i in range(n):
        for day in range(DAYS_PER_WEEK):
            amount[i] = amount[i] + doses[i]
            concentration = amount[i] / volume_l * mean_factor[i]
            daily[i, day] = concentration
            occ = concentration / (ec50_mg_per_l + concentration)
            effect[i] = occ + (effect[i] - occ) * relax
            occupancy[i] = occupancy[i] + occ / DAYS_PER_WEEK
            amount[i] = amount[i] * decay[i]
    return daily, occupancy


def advance_week(amount_mg: np.ndarray, effect: np.ndarray, daily_dose_mg: np.ndarray,
                 clearance_l_per_h: np.ndarray, drug: Escitalopram) -> dict[str, np.ndarray]:
    """Seven daily doses: PK (exact), occupancy and the adaptation compartment (exact per day).

    Args:
        amount_mg: drug in the body just before the week's first dose. # (n,)
        effect: adaptation state E at the week start, in [0, 1]. # (n,)
        daily_dose_mg: dose taken each day of the week. # (n,)
        clearance_l_per_h: individual CL/F. # (n,)
        drug: the drug parameters.

    Returns:
        ``amount_mg`` and ``effect`` at the week end, the daily mean concentrations
        ``daily_mg_per_l`` (n, 7), and the week's mean ``concentration_mg_per_l``,
        ``occupancy`` and ``adverse_probability``.

    Examples:
        >>> out = advance_week(np.zeros(1), np.zeros(1), np.array([10.0]), np.array([36.0]),
        ...                    Escitalopram())
        >>> round(float(out["amount_mg"][0]), 2), round(float(out["effect"][0]), 3)
        (13.23, 0.297)
    """
    k = np.asarray(clearance_l_per_h, dtype=np.float64) / drug.volume_l
    decay = np.exp(-k * HOURS_PER_DAY)
    mean_factor = -np.expm1(-k * HOURS_PER_DAY) / (k * HOURS_PER_DAY)
    relax = np.exp(-1.0 / (DAYS_PER_WEEK * drug.onset_time_constant_weeks))
    amount = np.array(amount_mg, dtype=np.float64).reshape(-1)
    e = np.array(effect, dtype=np.float64).reshape(-1)
    daily, occupancy = _week_days(amount, e, _per_patient(daily_dose_mg, amount.shape),
                                  _per_patient(mean_factor, amount.shape),
                                  _per_patient(decay, amount.shape), float(relax),
                                  drug.volume_l, drug.sert_ec50_mg_per_l)
    conc = daily.mean(axis=1)
    return {"amount_mg": amount, "effect": e, "daily_mg_per_l": daily,
            "concentration_mg_per_l": conc, "occupancy": occupancy,
            "adverse_probability": adverse_probability(conc, drug)}


def _per_patient(values: np.ndarray | float, shape: tuple[int, ...]) -> np.ndarray:
    """``values`` as a contiguous float64 array of ``shape`` (broadcast only when needed)."""
    array = np.asarray(values, dtype=np.float64)
    if array.shape == shape and array.flags.c_contiguous:
        return array
    return np.ascontiguousarray(np.broadcast_to(array, shape))


def adverse_probability(concentration_mg_per_l: np.ndarray, drug: Escitalopram) -> np.ndarray:
    """Weekly probability of a troublesome adverse effect at a mean concentration (mg/L).

    Examples:
        >>> adverse_probability(np.array([0.0, 0.04]), Escitalopram()).tolist()
        [0.0, 0.3]
    """
    c = np.power(np.maximum(np.asarray(concentration_mg_per_l, np.float64), 0.0),
                 drug.adverse_hill)
    return drug.adverse_max_per_week * c / (drug.adverse_ec50_mg_per_l ** drug.adverse_hill + c)


def reward_sensitivity(rho0: np.ndarray, emax: np.ndarray, effect: np.ndarray,
                       week: np.ndarray | float, model: Any) -> np.ndarray:
    """Rho under treatment: log rho moves from log rho_0 towards healthy (module docstring).

    Examples:
        >>> m = DepressionPatientModel()
        >>> reward_sensitivity(np.array([0.5]), np.array([1.0]), np.array([1.0]), 0.0, m).tolist()
        [1.0]
    """
    healthy = np.log(model.learner.reward_sensitivity_healthy)
    recovery = -np.expm1(-np.asarray(week, np.float64) / model.scale.recovery_time_constant_weeks)
    fraction = np.minimum(1.0, emax * effect + recovery)
    log_rho0 = np.log(rho0)
    return np.exp(log_rho0 + np.maximum(healthy - log_rho0, 0.0) * fraction)


def symptom_score(rho: np.ndarray, model: Any) -> np.ndarray:
    """True MADRS-like score (0-60) of a reward sensitivity (linear in log rho).

    Examples:
        >>> m = DepressionPatientModel()
        >>> symptom_score(np.array([1.0, 0.5, np.sqrt(0.5)]), m).round(6).tolist()
        [4.0, 30.0, 17.0]
    """
    lrn, scale = model.learner, model.scale
    slope = (scale.mdd_score - scale.healthy_score) / np.log(
        lrn.reward_sensitivity_mdd / lrn.reward_sensitivity_healthy)
    score = scale.healthy_score + slope * np.log(rho / lrn.reward_sensitivity_healthy)
    return np.clip(score, 0.0, 60.0)
