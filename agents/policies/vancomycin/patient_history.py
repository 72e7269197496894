"""What the ward knows about one vancomycin patient: the history a MAP prediction starts from.

:class:`PatientHistory` holds one patient's covariates, CrCL by day, doses (constant-rate
infusions within the history's infusion limits,
:func:`pkgym.models.vancomycin_course.infusion_duration_h`) and measured levels, built from an
environment observation or at admission for what-if questions;
:mod:`agents.policies.vancomycin.map_predict` predicts from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from pkgym.models.vancomycin_course import infusion_duration_h
from pkgym.units import HOURS_PER_DAY
from pkgym.utils import check_finite, check_non_negative, check_positive

OBSERVATION_KEYS = ("covariates", "creatinine_mg_per_dl", "creatinine_clearance_ml_per_min",
                    "doses_mg", "level_times_h", "levels_mg_per_l", "level_mask", "time_h")


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class PatientHistory:
    """What the ward knows about one patient at ``time_h``.

    Attributes:
        weight_kg: total body weight, kg.
        on_dialysis: intermittent haemodialysis, 0 or 1.
        age_years: age, years.
        is_female: 0 or 1.
        height_cm: height, cm.
        daily_creatinine_clearance_ml_per_min: CrCL of day d (``[24 d, 24 (d+1))`` h); the
            last value also holds for later days.  # (n_days,)
        dose_times_h: start of each infusion, h since admission.  # (n_doses,)
        dose_amounts_mg: amount of each dose, mg.  # (n_doses,)
        dose_durations_h: infusion duration of each dose, h (> 0).  # (n_doses,)
        level_times_h: time of each measured level, h.  # (n_levels,)
        levels_mg_per_l: measured concentrations, mg/L.  # (n_levels,)
        time_h: now, h (the next dose starts now).
        max_infusion_rate_mg_per_h: fastest allowed infusion, mg/h (for future doses).
        min_infusion_h: shortest allowed infusion, h (for future doses).
        daily_creatinine_mg_per_dl: measured serum creatinine of day d, filled like the CrCL,
            or ``None`` where unknown (then only CrCL-based models can predict).  # (n_days,)
    """

    weight_kg: float
    on_dialysis: float
    age_years: float
    is_female: float
    height_cm: float
    daily_creatinine_clearance_ml_per_min: np.ndarray
    dose_times_h: np.ndarray
    dose_amounts_mg: np.ndarray
    dose_durations_h: np.ndarray
    level_times_h: np.ndarray
    levels_mg_per_l: np.ndarray
    time_h: float
    max_infusion_rate_mg_per_h: float = 1000.0
    min_infusion_h: float = 1.0
    daily_creatinine_mg_per_dl: np.ndarray | None = None

    def __post_init__(self) -> None:
        """Validate every field (as float64, 1-D), naming the offending one."""
        for name in ("weight_kg", "height_cm", "daily_creatinine_clearance_ml_per_min",
                     "max_infusion_rate_mg_per_h", "min_infusion_h"):
            check_positive(name, getattr(self, name))
        for name in ("age_years", "time_h", "dose_times_h", "dose_amounts_mg", "level_times_h",
                     "levels_mg_per_l"):
            check_non_negative(name, getattr(self, name))
        check_positive("dose_durations_h", self.dose_durations_h)
        for name in ("on_dialysis", "is_female"):
            if getattr(self, name) not in (0.0, 1.0):
                raise ValueError(f"{name} must be 0 or 1, got {getattr(self, name)}")
        for name in ("daily_creatinine_clearance_ml_per_min", "dose_times_h", "dose_amounts_mg",
                     "dose_durations_h", "level_times_h", "levels_mg_per_l"):
            object.__setattr__(self, name, np.atleast_1d(np.asarray(getattr(self, name), float)))
            if getattr(self, name).ndim != 1:
                raise ValueError(f"{name} must be 1-D, got shape {getattr(self, name).shape}")
        for group in (("dose_times_h", "dose_amounts_mg", "dose_durations_h"),
                      ("level_times_h", "levels_mg_per_l")):
            if len({getattr(self, name).shape for name in group}) > 1:
                raise ValueError(f"{', '.join(group)} must have equal shapes")
        if self.daily_creatinine_mg_per_dl is not None:
            scr = np.atleast_1d(check_positive("daily_creatinine_mg_per_dl",
                                               self.daily_creatinine_mg_per_dl))
            if scr.shape != self.daily_creatinine_clearance_ml_per_min.shape:
                raise ValueError("daily_creatinine_mg_per_dl must have the shape of "
                                 "daily_creatinine_clearance_ml_per_min "
                                 f"{self.daily_creatinine_clearance_ml_per_min.shape}, "
                                 f"got {scr.shape}")
            object.__setattr__(self, "daily_creatinine_mg_per_dl", scr)
        if np.any(self.level_times_h > self.time_h):
            raise ValueError(f"level_times_h must be <= time_h={self.time_h}")

    @classmethod
    def admission(cls, *, weight_kg: float, creatinine_clearance_ml_per_min: float,
                  on_dialysis: float = 0.0, age_years: float = 50.0, is_female: float = 0.0,
                  height_cm: float = 170.0,
                  serum_creatinine_mg_per_dl: float | None = None) -> PatientHistory:
        """A patient at time 0 with no doses or levels yet (for what-if questions).

        Examples:
            >>> PatientHistory.admission(weight_kg=70, creatinine_clearance_ml_per_min=80).time_h
            0.0
        """
        return cls(weight_kg=weight_kg, on_dialysis=on_dialysis, age_years=age_years,
                   is_female=is_female, height_cm=height_cm,
                   daily_creatinine_clearance_ml_per_min=[creatinine_clearance_ml_per_min],
                   dose_times_h=[], dose_amounts_mg=[], dose_durations_h=[], level_times_h=[],
                   levels_mg_per_l=[], time_h=0.0,
                   daily_creatinine_mg_per_dl=None if serum_creatinine_mg_per_dl is None
                   else [serum_creatinine_mg_per_dl])

    @classmethod
    def from_observation(cls, observation: Mapping[str, np.ndarray], interval_h: float, *,
                         max_infusion_rate_mg_per_h: float = 1000.0,
                         min_infusion_h: float = 1.0) -> PatientHistory:
        """Build the history from one patient's (unbatched) environment observation.

        Doses are the entries of ``doses_mg`` for the steps before ``time_h / interval_h``,
        infused within the env's limits (``max_infusion_rate_mg_per_h``, mg/h, and
        ``min_infusion_h``, h: the scenario's values); days whose CrCL is 0 (not measured)
        take the previous measured day's value, and so do those of the measured creatinine.

        Examples:
            >>> obs = {"covariates": np.array([60, 0, 80, 175, 0]), "creatinine_mg_per_dl":
            ...        np.array([1.0, 0]), "creatinine_clearance_ml_per_min": np.array([89., 0]),
            ...        "doses_mg": np.array([2000.0, 1000, 0]), "level_times_h": np.zeros(2),
            ...        "levels_mg_per_l": np.zeros(2), "level_mask": np.zeros(2),
            ...        "time_h": np.array([12.0])}
            >>> PatientHistory.from_observation(obs, 12.0).dose_durations_h.tolist()
            [2.0]
        """
        missing = [key for key in OBSERVATION_KEYS if key not in observation]
        if missing:
            raise ValueError(f"observation lacks {missing}")
        obs = {key: check_finite(key, observation[key]) for key in OBSERVATION_KEYS
               if key not in ("levels_mg_per_l", "level_times_h")}
        for key, shape in (("covariates", (5,)), ("time_h", (1,))):
            if obs[key].shape != shape:
                raise ValueError(f"{key} must have shape {shape}, got {obs[key].shape}")
        check_positive("interval_h", interval_h)
        time_h, (age, female, weight, height, dialysis) = float(obs["time_h"][0]), obs["covariates"]
        doses = check_non_negative("doses_mg", obs["doses_mg"])
        step = round(time_h / interval_h)
        if not 0 <= step <= doses.size:
            raise ValueError(f"time_h={time_h} is not a decision step of doses_mg ({doses.size})")
        given = np.flatnonzero(doses[:step] > 0)
        mask = obs["level_mask"] > 0.5
        for key in ("level_times_h", "levels_mg_per_l"):
            if np.shape(observation[key]) != mask.shape:
                raise ValueError(f"{key} must have the shape of level_mask {mask.shape}")
        check_non_negative("creatinine_mg_per_dl", obs["creatinine_mg_per_dl"])
        limits = {"max_infusion_rate_mg_per_h": check_positive(
            "max_infusion_rate_mg_per_h", max_infusion_rate_mg_per_h),
                  "min_infusion_h": check_positive("min_infusion_h", min_infusion_h)}
        return cls(
            weight_kg=weight, on_dialysis=dialysis, age_years=age, is_female=female,
            height_cm=height, daily_creatinine_clearance_ml_per_min=_filled_days(
                "creatinine_clearance_ml_per_min", obs["creatinine_clearance_ml_per_min"],
                time_h),
            daily_creatinine_mg_per_dl=_filled_days(
                "creatinine_mg_per_dl", obs["creatinine_mg_per_dl"], time_h),
            dose_times_h=interval_h * given, dose_amounts_mg=doses[given],
            dose_durations_h=infusion_duration_h(doses[given], max_infusion_rate_mg_per_h,
                                                 min_infusion_h),
            level_times_h=check_finite("level_times_h",
                                       np.asarray(observation["level_times_h"])[mask]),
            levels_mg_per_l=check_finite("levels_mg_per_l",
                                         np.asarray(observation["levels_mg_per_l"])[mask]),
            time_h=time_h, **limits)

    def with_doses(self, doses: Sequence[tuple[float, float]]) -> PatientHistory:
        """This history plus future doses, given as ``(start time h, amount mg)`` pairs.

        Examples:
            >>> h = PatientHistory.admission(weight_kg=70.0, creatinine_clearance_ml_per_min=80.)
            >>> h.with_doses([(0.0, 1500.0)]).dose_durations_h.tolist()
            [1.5]
        """
        times, amounts = np.reshape(np.asarray(doses, dtype=np.float64), (-1, 2)).T
        return replace(self, dose_times_h=np.concatenate([self.dose_times_h, times]),
                       dose_amounts_mg=np.concatenate([self.dose_amounts_mg, amounts]),
                       dose_durations_h=np.concatenate([self.dose_durations_h,
                                                        self.infusion_durations_h(amounts)]))

    def infusion_durations_h(self, doses_mg: np.ndarray) -> np.ndarray:
        """Infusion time of each dose, h, within this history's infusion limits.

        Examples:
            >>> h = PatientHistory.admission(weight_kg=70.0, creatinine_clearance_ml_per_min=80.)
            >>> replace(h, max_infusion_rate_mg_per_h=500.0).infusion_durations_h([250, 1500])
            array([1., 3.])
        """
        return infusion_duration_h(doses_mg, self.max_infusion_rate_mg_per_h,
                                   self.min_infusion_h)


def _filled_days(name: str, values: np.ndarray, time_h: float) -> np.ndarray:
    """Measured lab ``name`` of days 0..today; unmeasured (0) days take the earlier value."""
    days = check_non_negative(name, values)
    days = days[: int(time_h // HOURS_PER_DAY) + 1]
    measured = np.flatnonzero(days > 0)
    if measured.size == 0:
        raise ValueError(f"{name} has no measured day by time_h={time_h}")
    index = np.maximum.accumulate(np.where(days > 0, np.arange(days.size), measured[0]))
    return days[index]
