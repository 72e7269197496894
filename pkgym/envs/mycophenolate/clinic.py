"""The transplant clinic: scenario, reward, observation model and the step's outcome type.

Configuration flows one way (STYLE 11): a YAML file or keyword arguments give a frozen
:class:`MycophenolateScenario`, which :func:`pkgym.envs.mycophenolate.records.clinic_settings`
turns into the core's settings.

Targets and risks, each with its source:

* target: total MPA AUC0-12 30-60 mg*h/L in the first month (consensus, Kuypers D et al.
  2010, Clin J Am Soc Nephrol 5:341, recommendation table);
* acute rejection: a logistic in log AUC0-12 that WE fit (:func:`fit_rejection_logistic`) to
  the biopsy-proven acute rejection rates of the three arms of the randomised
  concentration-controlled trial (van Gelder T et al. 1999, Transplantation 68:261: 14/51,
  7/47 and 6/52 at target AUCs 16.1, 32.2 and 60.6 mg*h/L). The trial's achieved AUCs were not
  available to us, so the fit uses the target AUCs: a value we fit, not a published curve;
* toxicity: a day whose AUC0-12 exceeds 60 mg*h/L, the consensus upper bound (Kuypers 2010),
  above which toxicity was reported (review of 28 adult kidney studies: Kiang TKL & Ensom MHH
  2019, Clin Pharmacokinet). The trough cut-off of Borrows R et al. 2006 (Am J Transplant
  6:121: 2.75 mg/L) is not used here: in this model the median trough at AUC0-12 45 is
  2.4 mg/L and 28% of patients dosed to 45 exceed 2.75, so a trough penalty would fight the
  consensus AUC target (the ``protocol`` baseline uses it as its clinical upper bound).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gymnasium import spaces

from pkgym.envs.base import ObservationModel, RewardFn
from pkgym.models.mycophenolate import DeWinter2009
from pkgym.scenarios import check_fields
from pkgym.scenarios import resolve_scenario as resolve

REJECTION_AUCS_MG_H_PER_L = (16.1, 32.2, 60.6)
"""Target AUC0-12 of the three arms of van Gelder et al. 1999 (Transplantation 68:261)."""
REJECTION_EVENTS = (14, 7, 6)
REJECTION_PATIENTS = (51, 47, 52)
"""Biopsy-proven acute rejections / analysable patients per arm (same source, abstract)."""
COVARIATES = ("weight_kg", "age_years", "female", "ciclosporin")
COVARIATE_HIGHS = np.array([300.0, 120.0, 1.0, 1.0])
"""Upper bounds of the ``covariates`` observation (values beyond are clipped)."""
ALBUMIN_HIGH_G_PER_L, CRCL_HIGH_ML_PER_MIN, LEVEL_HIGH_MG_PER_L = 80.0, 250.0, 200.0


def fit_rejection_logistic(aucs: tuple[float, ...] = REJECTION_AUCS_MG_H_PER_L,
                           events: tuple[int, ...] = REJECTION_EVENTS,
                           patients: tuple[int, ...] = REJECTION_PATIENTS,
                           iterations: int = 50) -> tuple[float, float]:
    """Maximum-likelihood ``(intercept, slope)`` of ``logit p = a + b ln AUC`` (our fit).

    Binomial likelihood of the arms' rejection counts, by Newton-Raphson (IRLS) from 0.

    Args:
        aucs: each arm's AUC0-12, mg*h/L.
        events: rejections per arm.
        patients: patients per arm.
        iterations: Newton steps (converged long before 50).

    Examples:
        >>> a, b = fit_rejection_logistic()
        >>> round(a, 4), round(b, 4)
        (1.322, -0.841)
    """
    x = np.column_stack([np.ones(len(aucs)), np.log(np.asarray(aucs, dtype=np.float64))])
    k, n = np.asarray(events, dtype=np.float64), np.asarray(patients, dtype=np.float64)
    if np.any(k < 0) or np.any(k > n) or x.shape[0] < 2:
        raise ValueError(f"events must lie in 0..patients for >= 2 arms, got {events}, {patients}")
    beta = np.zeros(2)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-x @ beta))
        hessian = x.T @ ((n * p * (1.0 - p))[:, None] * x)
        beta = beta + np.linalg.solve(hessian, x.T @ (k - n * p))
    return float(beta[0]), float(beta[1])


@dataclass(frozen=True, slots=True, kw_only=True)
class RejectionRisk:
    """6-month acute-rejection probability at a sustained AUC0-12: ``logit p = a + b ln AUC``.

    The defaults are :func:`fit_rejection_logistic` of van Gelder 1999's arms (our fit; it
    gives 26.6%, 16.8% and 10.6% at 16.1, 32.2 and 60.6 mg*h/L against the observed 27.5%,
    14.9% and 11.5%).
    """

    intercept: float = 1.3220044
    slope_per_log_auc: float = -0.8409963

    def __call__(self, auc0_12_mg_h_per_l: np.ndarray) -> np.ndarray:
        """Probability for each AUC0-12 (mg*h/L; values below 0.1 are taken as 0.1).

        Examples:
            >>> RejectionRisk()(np.array([16.1, 60.6])).round(3).tolist()
            [0.266, 0.106]
        """
        log_auc = np.log(np.maximum(np.asarray(auc0_12_mg_h_per_l, dtype=np.float64), 0.1))
        return 1.0 / (1.0 + np.exp(-(self.intercept + self.slope_per_log_auc * log_auc)))


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """One step's clinical outcome of every patient, over the days the step completed.

    Attributes:
        days_in_target: days whose true AUC0-12 was within the target, (n,).
        rejection_risk: sum over those days of the rejection probability, (n,).
        toxic_days: days whose true AUC0-12 exceeded the toxicity bound, (n,).
    """

    days_in_target: np.ndarray
    rejection_risk: np.ndarray
    toxic_days: np.ndarray


@dataclass(frozen=True, slots=True, kw_only=True)
class TransplantReward(RewardFn):
    """Reward per step, summed over the days it completed, each day weighted 1 / ``n_days``.

    ``reward = (in_target_weight * days_in_target - rejection_weight * sum of the days'
    rejection probabilities - toxicity_weight * toxic_days) / n_days``, so the return is the
    share of days in target minus the weighted mean daily rejection probability and share of
    toxic days. The weights are ours (chosen so that the target band, not the rejection term
    alone, dominates: the fitted risk keeps falling above 60 mg*h/L, the toxicity term stops
    it).

    Attributes:
        in_target_weight: per day in 30-60 mg*h/L.
        rejection_weight: per unit of daily rejection probability.
        toxicity_weight: per day with a true AUC0-12 above the toxicity bound.
        n_days: days in the episode (28 by default; the core fills in its scenario's).
    """

    in_target_weight: float = 1.0
    rejection_weight: float = 1.0
    toxicity_weight: float = 0.5
    n_days: int = 28

    def __call__(self, outcome: StepOutcome, doses_mg: np.ndarray) -> np.ndarray:
        """Reward of each patient for one step."""
        return (self.in_target_weight * outcome.days_in_target
                - self.rejection_weight * outcome.rejection_risk
                - self.toxicity_weight * outcome.toxic_days) / self.n_days


@dataclass(frozen=True, slots=True, kw_only=True)
class SamplingPlan:
    """The limited sampling strategy at each visit after day 0, and its ward jitter.

    Three samples around the visit's morning dose (given on time, at the current dose): C0
    drawn up to ``trough_early_min`` before the dose (uniform), C0.5 and C2 at their nominal
    times after it plus a normal error (SD ``jitter_sd_min``) clipped to +-``jitter_max_min``.
    The jitter is OUR assumption of ward practice (samples drawn within about 10 min of the
    planned time); the actual times are recorded and observed, as on a real request form.
    """

    post_dose_h: tuple[float, ...] = (0.5, 2.0)
    trough_early_min: float = 30.0
    jitter_sd_min: float = 10.0
    jitter_max_min: float = 15.0

    def __post_init__(self) -> None:
        """Post-dose times must rise in (jitter max, 12 h - jitter max)."""
        t, top = np.asarray(self.post_dose_h, dtype=np.float64), self.jitter_max_min / 60.0
        if not 0.0 <= self.jitter_max_min < 60.0 or self.jitter_sd_min < 0:
            raise ValueError(f"jitter_max_min must be in [0, 60) and jitter_sd_min >= 0, got "
                             f"{self.jitter_max_min}, {self.jitter_sd_min}")
        if t.size < 1 or np.any(np.diff(t) <= 0) or t[0] <= top or t[-1] >= 12.0 - top:
            raise ValueError(f"post_dose_h must rise within ({top:g}, {12.0 - top:g}) h, got "
                             f"{self.post_dose_h}")
        if not 0.0 <= self.trough_early_min < 720.0:
            raise ValueError(f"trough_early_min must be in [0, 720), got {self.trough_early_min}")

    @property
    def n_samples(self) -> int:
        """Samples per visit (the trough and the post-dose ones)."""
        return 1 + len(self.post_dose_h)


@dataclass(frozen=True, slots=True, kw_only=True)
class MycophenolateScenario:
    """Everything that defines the clinic (YAML fields have the same names).

    Attributes:
        visit_days: decision days after transplant (Kuypers 2010 consensus: days 3, 7 and
            10-14; FDCC, van Gelder 2008: day 3, 10, month 1); the first must be 0.
        end_day: the episode's last day (exclusive): the first month.
        dose_levels_mg: MMF per administration (bid) of the action levels.
        target_auc_mg_h_per_l: the AUC0-12 target (Kuypers 2010).
        toxic_auc_mg_h_per_l: the day's AUC0-12 above which it counts as toxic (Kuypers
            2010's upper bound; Kiang & Ensom 2019).
        assay_cv: proportional HPLC assay error (interday CV < 8%: Yu 2017, Acta Pharmacol Sin
            38:1566); assay_loq_mg_per_l: its limit of quantification (0.25 mg/L, same; 0:
            every level is quantified).
        sampling: the limited sampling plan; reward, rejection: reward weights, risk curve.
        model: the name of the truth (the field holding it): ``dewinter2009``.
        dewinter2009: de Winter 2009's parameters (:class:`~pkgym.models.mycophenolate.
            DeWinter2009`), the model that generates the patients.
    """

    visit_days: tuple[int, ...] = (0, 3, 7, 10, 14, 21)
    end_day: int = 28
    dose_levels_mg: tuple[float, ...] = (250.0, 500.0, 750.0, 1000.0, 1250.0, 1500.0,
                                         1750.0, 2000.0)
    target_auc_mg_h_per_l: tuple[float, float] = (30.0, 60.0)
    toxic_auc_mg_h_per_l: float = 60.0
    assay_cv: float = 0.07
    assay_loq_mg_per_l: float = 0.25
    sampling: SamplingPlan = field(default_factory=SamplingPlan)
    reward: TransplantReward = field(default_factory=TransplantReward)
    rejection: RejectionRisk = field(default_factory=RejectionRisk)
    model: str = "dewinter2009"
    dewinter2009: DeWinter2009 = field(default_factory=DeWinter2009)

    def __post_init__(self) -> None:
        """Validate the schedule, levels and limits."""
        check_fields(self)
        if self.model != "dewinter2009":
            raise ValueError(f"model must be 'dewinter2009' (the only truth), got {self.model!r}")
        days = np.asarray(self.visit_days)
        if days.size < 1 or days[0] != 0 or np.any(np.diff(days) <= 0) or \
                days[-1] >= self.end_day or self.end_day > 365:
            raise ValueError(f"visit_days must rise from 0 and end before end_day (<= 365), got "
                             f"{self.visit_days}, end_day {self.end_day}")
        levels = np.asarray(self.dose_levels_mg)
        if levels.size < 2 or np.any(np.diff(levels) <= 0) or levels[0] <= 0 or levels[-1] > 5000:
            raise ValueError(f"dose_levels_mg must rise strictly within (0, 5000], got "
                             f"{self.dose_levels_mg}")
        low, high = self.target_auc_mg_h_per_l
        if not 0 < low < high:
            raise ValueError(f"target_auc_mg_h_per_l must be (low, high) with 0 < low < high, "
                             f"got {self.target_auc_mg_h_per_l}")
        if not 0 <= self.assay_cv < 1 or self.assay_loq_mg_per_l < 0 or \
                self.toxic_auc_mg_h_per_l <= 0:
            raise ValueError("assay_cv must be in [0, 1), assay_loq_mg_per_l >= 0 and "
                             "toxic_auc_mg_h_per_l > 0")
        if self.reward.n_days != self.end_day:
            object.__setattr__(self, "reward", _with_days(self.reward, self.end_day))

    @property
    def n_steps(self) -> int:
        """Decisions per episode (one per visit)."""
        return len(self.visit_days)

    @property
    def n_levels(self) -> int:
        """Level slots: the samples of every visit after day 0."""
        return (len(self.visit_days) - 1) * self.sampling.n_samples


def _with_days(reward: TransplantReward, n_days: int) -> TransplantReward:
    """``reward`` normalised by ``n_days`` days."""
    return TransplantReward(in_target_weight=reward.in_target_weight,
                            rejection_weight=reward.rejection_weight,
                            toxicity_weight=reward.toxicity_weight, n_days=n_days)


def resolve_scenario(scenario: MycophenolateScenario | str | os.PathLike | None,
                     env_id: str) -> MycophenolateScenario:
    """The scenario from an object, a YAML path or ``None`` (see ``scenarios.resolve_scenario``).

    Examples:
        >>> resolve_scenario(None, "any id").visit_days
        (0, 3, 7, 10, 14, 21)
    """
    return resolve(scenario, MycophenolateScenario, env_id)


class ClinicObservation(ObservationModel):
    """What the clinic knows (float32): covariates, labs by visit, doses, levels, time."""

    def space(self, settings: Any) -> spaces.Dict:
        """The observation space of one patient under ``settings``."""
        s = settings.scenario
        n_visits, n_doses = s.n_steps, 2 * s.end_day
        horizon_h = 24.0 * s.end_day

        def box(size: int, high: float | np.ndarray) -> spaces.Box:
            return spaces.Box(0.0, np.broadcast_to(np.float32(high), (size,)), dtype=np.float32)

        return spaces.Dict({
            "covariates": box(len(COVARIATES), COVARIATE_HIGHS),
            "albumin_g_per_l": box(n_visits, ALBUMIN_HIGH_G_PER_L),
            "creatinine_clearance_ml_per_min": box(n_visits, CRCL_HIGH_ML_PER_MIN),
            "doses_mg": box(n_doses, max(s.dose_levels_mg)),
            "level_times_h": box(s.n_levels, horizon_h),
            "levels_mg_per_l": box(s.n_levels, LEVEL_HIGH_MG_PER_L),
            "level_mask": box(s.n_levels, 1.0),
            "day": box(1, float(s.end_day)), "time_h": box(1, horizon_h)})

    def __call__(self, records: Any, settings: Any) -> dict[str, np.ndarray]:
        """Batched observation of all patients (fresh float32 arrays, clipped to the space)."""
        visit = records.visit
        time_h = np.where(visit == 0, 0.0, 24.0 * records.day + 12.0)
        time_h = np.minimum(time_h, 24.0 * settings.scenario.end_day)
        return {
            "covariates": np.clip(records.covariates_shown, 0.0, COVARIATE_HIGHS
                                  ).astype(np.float32),
            "albumin_g_per_l": np.clip(records.albumin_shown, 0, ALBUMIN_HIGH_G_PER_L
                                       ).astype(np.float32),
            "creatinine_clearance_ml_per_min": np.clip(
                records.crcl_shown, 0, CRCL_HIGH_ML_PER_MIN).astype(np.float32),
            "doses_mg": records.doses_mg.astype(np.float32),
            "level_times_h": records.level_times_h.astype(np.float32),
            "levels_mg_per_l": np.clip(records.levels_mg_per_l, 0, LEVEL_HIGH_MG_PER_L
                                       ).astype(np.float32),
            "level_mask": records.level_mask.astype(np.float32),
            "day": records.day[:, None].astype(np.float32),
            "time_h": time_h[:, None].astype(np.float32)}
