"""The vancomycin ward: scenario, reward, observation model and the step's outcome type.

Configuration flows one way (STYLE 11): a YAML file or keyword arguments give a frozen
:class:`VancomycinScenario`, which :func:`pkgym.envs.vancomycin.records.ward_settings` turns
into the core's settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gymnasium import spaces

from pkgym.envs.base import ObservationModel, RewardFn
from pkgym.envs.vancomycin.readout import by_rows, write_observation, write_observation_chunks
from pkgym.models.kidney import KidneyInjuryParams
from pkgym.models.vancomycin import Goti2018, TwoCompartmentVancomycin
from pkgym.models.vancomycin_colin2019 import Colin2019
from pkgym.models.vancomycin_course import CourseConfig, daily_troughs
from pkgym.models.vancomycin_thomson2009 import Thomson2009
from pkgym.populations.vancomycin import ADULT_INPATIENTS, RENAL_IMPAIRMENT
from pkgym.scenarios import check_fields
from pkgym.scenarios import resolve_scenario as resolve

POPULATIONS = {"adult_inpatients": ADULT_INPATIENTS, "renal_impairment": RENAL_IMPAIRMENT}
"""Named populations a scenario may use."""
MODELS: dict[str, type[TwoCompartmentVancomycin]] = {"goti2018": Goti2018,
                                                     "thomson2009": Thomson2009,
                                                     "colin2019": Colin2019}
"""Named vancomycin models a scenario may take as the truth (and MAP as its prior)."""
SAMPLING_PLANS = ("trough_peak_4th", "daily_troughs")
"""Named sampling plans; a scenario may also list ``[kind, dose number]`` pairs."""
COVARIATES = ("age_years", "is_female", "weight_kg", "height_cm", "on_dialysis")
COVARIATE_HIGHS = np.array([120.0, 1.0, 300.0, 250.0, 1.0])
"""Upper bounds of the observation (values beyond physiology are clipped to them)."""
CREATININE_HIGH_MG_PER_DL = 40.0
LEVEL_HIGH_MG_PER_L = 500.0
INTERVALS_H = (4.0, 6.0, 8.0, 12.0, 24.0)
"""Dosing intervals that divide a day."""
OBSERVATION_KEYS = ("covariates", "creatinine_mg_per_dl", "creatinine_clearance_ml_per_min",
                    "doses_mg", "level_times_h", "levels_mg_per_l", "level_mask", "time_h")
"""The observation's keys in the order :class:`WardObservation` returns them."""
MAX_STEPS = 10_000
"""Most dosing intervals of one episode."""
MAX_DOSE_LEVELS = 10_000
"""Most action levels (``max_dose_mg / dose_step_mg``)."""
MAX_DOSE_MG = 100_000.0
"""Upper bound of ``max_dose_mg`` (and of the infusion rate, mg/h): far above any real dose,
low enough that the action levels stay a small array."""


@dataclass(frozen=True, slots=True)
class StepMetrics:
    """One step's clinical metrics, what reward functions score (all (n,)).

    Attributes:
        auc24_over_mic: true AUC over the last 24 h divided by the MIC.
        in_target_range: whether that ratio is inside the target range.
        distance_to_range: how far outside the range, mg*h/L (0 inside).
        aki: whether an acute kidney injury started this step.
    """

    auc24_over_mic: np.ndarray
    in_target_range: np.ndarray
    distance_to_range: np.ndarray
    aki: np.ndarray

    @classmethod
    def before_first_step(cls, n: int) -> StepMetrics:
        """Zeroed metrics for ``n`` patients; the compiled step writes the real ones in place.

        Examples:
            >>> StepMetrics.before_first_step(2).in_target_range.tolist()
            [False, False]
        """
        return cls(np.zeros(n), np.zeros(n, dtype=bool), np.zeros(n), np.zeros(n, dtype=bool))


@dataclass(frozen=True, slots=True, kw_only=True)
class AucTargetReward(RewardFn):
    """Per-interval reward from the true AUC24/MIC (2020 ASHP/IDSA target 400-600).

    ``reward = in_range_bonus * in_range - penalty_per_100_outside * distance / 100
    - aki_penalty * aki``, where ``distance`` is how far AUC24/MIC lies outside the range.
    """

    in_range_bonus: float = 1.0
    penalty_per_100_outside: float = 1.0
    aki_penalty: float = 10.0

    def __call__(self, outcome: StepMetrics, doses_mg: np.ndarray) -> np.ndarray:
        """Reward of each patient for one interval."""
        return (self.in_range_bonus * outcome.in_target_range
                - self.penalty_per_100_outside * outcome.distance_to_range / 100.0
                - self.aki_penalty * outcome.aki)


class WardObservation(ObservationModel):
    """What the ward knows (float32): covariates, labs, doses, measured levels, time."""

    def space(self, settings: Any) -> spaces.Dict:
        """The observation space of one patient under ``settings``."""
        config = settings.config
        def box(size: int, high: float | np.ndarray) -> spaces.Box:
            return spaces.Box(0.0, np.broadcast_to(np.float32(high), (size,)), dtype=np.float32)

        n_levels, horizon_h = len(config.sampling), config.n_steps * config.interval_h
        return spaces.Dict({
            "covariates": box(len(COVARIATES), COVARIATE_HIGHS),
            "creatinine_mg_per_dl": box(config.n_days, CREATININE_HIGH_MG_PER_DL),
            "creatinine_clearance_ml_per_min": box(
                config.n_days, settings.model.creatinine_clearance_cap_ml_per_min),
            "doses_mg": box(config.n_steps, settings.dose_levels_mg.max()),
            "level_times_h": box(n_levels, horizon_h),
            "levels_mg_per_l": box(n_levels, LEVEL_HIGH_MG_PER_L),
            "level_mask": box(n_levels, 1.0), "time_h": box(1, horizon_h),
        })

    def __call__(self, records: Any, settings: Any) -> dict[str, np.ndarray]:
        """Batched observation of all patients (fresh float32 arrays, one compiled pass)."""
        p, config, n = records.patients, settings.config, records.doses_mg.shape[0]
        n_levels = records.levels_mg_per_l.shape[1]
        shapes = {"covariates": len(COVARIATES), "creatinine_mg_per_dl": config.n_days,
                  "creatinine_clearance_ml_per_min": config.n_days,
                  "doses_mg": records.doses_mg.shape[1], "level_times_h": n_levels,
                  "levels_mg_per_l": n_levels, "level_mask": n_levels, "time_h": 1}
        out = {key: np.empty((n, shapes[key]), dtype=np.float32) for key in OBSERVATION_KEYS}
        by_rows(write_observation, write_observation_chunks, n,
                (p.age_years, p.is_female, p.weight_kg, p.height_cm, p.on_dialysis),
                COVARIATE_HIGHS, records.creatinine_mg_per_dl, CREATININE_HIGH_MG_PER_DL,
                records.creatinine_clearance_ml_per_min, records.doses_mg,
                records.level_times_h, records.levels_mg_per_l, LEVEL_HIGH_MG_PER_L,
                records.level_mask, records.course.step, config.interval_h, tuple(out.values()))
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class VancomycinScenario:
    """Everything that defines a vancomycin ward (YAML fields have the same names).

    Attributes:
        population: one of ``POPULATIONS``.
        interval_h: dosing interval (one decision step), h.
        n_steps: decisions per episode (7 days of q12h by default).
        max_dose_mg, dose_step_mg: action levels 0, step, ..., max.
        max_infusion_rate_mg_per_h, min_infusion_h: infusion limits.
        sampling: one of ``SAMPLING_PLANS`` or a tuple of (kind, dose number) pairs.
        target_auc24_over_mic: the target range of AUC24/MIC, mg*h/L.
        mic_mg_per_l: the pathogen's MIC.
        creatinine_assay_cv: analytical CV of serum creatinine (Mercan et al. 2022).
        reward: reward weights.
        kidney: the exposure-AKI hazard and creatinine variability.
        model: the model that generates the patients (the truth), one of ``MODELS``:
            ``"goti2018"`` (the v0 default), ``"thomson2009"`` or ``"colin2019"``.
        goti2018, thomson2009, colin2019: the parameter sets (override single fields in YAML, e.g.
            ``thomson2009: {proportional_error_sd: 0.1}``); :attr:`truth` is the one ``model``
            names, and a MAP prior (``map:prior=NAME``) reads its set here too.

    ``model=`` also takes a parameter set (the Python API before named models): it becomes
    the field of its kind and ``model`` its name.
    """

    population: str = "adult_inpatients"
    interval_h: float = 12.0
    n_steps: int = 14
    max_dose_mg: float = 3000.0
    dose_step_mg: float = 250.0
    max_infusion_rate_mg_per_h: float = 1000.0
    min_infusion_h: float = 1.0
    sampling: str | tuple[tuple[str, int], ...] = "trough_peak_4th"
    target_auc24_over_mic: tuple[float, float] = (400.0, 600.0)
    mic_mg_per_l: float = 1.0
    creatinine_assay_cv: float = 0.025
    reward: AucTargetReward = field(default_factory=AucTargetReward)
    kidney: KidneyInjuryParams = field(default_factory=KidneyInjuryParams)
    model: str = "goti2018"
    goti2018: Goti2018 = field(default_factory=Goti2018)
    thomson2009: Thomson2009 = field(default_factory=Thomson2009)
    colin2019: Colin2019 = field(default_factory=Colin2019)

    def __post_init__(self) -> None:
        """Validate the fields that are not checked by the objects they build."""
        given: Any = self.model
        if isinstance(given, TwoCompartmentVancomycin):
            names = [name for name, kind in MODELS.items() if type(given) is kind]
            if not names:
                raise ValueError(f"model: {type(given).__name__} is not one of "
                                 f"{sorted(MODELS)}")
            object.__setattr__(self, names[0], given)
            object.__setattr__(self, "model", names[0])
        if self.model not in MODELS:
            raise ValueError(f"model: {self.model!r} is not one of {sorted(MODELS)}")
        check_fields(self)
        if self.population not in POPULATIONS:
            raise ValueError(f"population: {self.population!r} is not one of {sorted(POPULATIONS)}")
        if self.interval_h not in INTERVALS_H:
            raise ValueError(f"interval_h must be one of {INTERVALS_H} h, got {self.interval_h}")
        if not 1 <= self.n_steps <= MAX_STEPS:
            raise ValueError(f"n_steps must be in 1..{MAX_STEPS}, got {self.n_steps}")
        if not 0 < self.max_dose_mg <= MAX_DOSE_MG:
            raise ValueError(f"max_dose_mg must be in (0, {MAX_DOSE_MG:g}], got {self.max_dose_mg}")
        if not 0 < self.max_infusion_rate_mg_per_h <= MAX_DOSE_MG:
            raise ValueError(f"max_infusion_rate_mg_per_h must be in (0, {MAX_DOSE_MG:g}], got "
                             f"{self.max_infusion_rate_mg_per_h}")
        if isinstance(self.sampling, str) and self.sampling not in SAMPLING_PLANS:
            raise ValueError(f"sampling: {self.sampling!r} is not one of {SAMPLING_PLANS} or a "
                             "list of [kind, dose number] pairs")
        if not 0 < self.dose_step_mg <= self.max_dose_mg or \
                self.max_dose_mg / self.dose_step_mg > MAX_DOSE_LEVELS:
            raise ValueError(f"dose_step_mg must be in (0, max_dose_mg={self.max_dose_mg}] with at "
                             f"most {MAX_DOSE_LEVELS} steps, got {self.dose_step_mg}")
        low, high = self.target_auc24_over_mic
        if not 0 < low < high:
            raise ValueError(f"target_auc24_over_mic must be 0 < low < high, got {(low, high)}")
        if not 0 < self.mic_mg_per_l <= 1000 or not 0 <= self.creatinine_assay_cv <= 2:
            raise ValueError(f"mic_mg_per_l must be in (0, 1000] and creatinine_assay_cv in "
                             f"[0, 2], got {self.mic_mg_per_l} and {self.creatinine_assay_cv}")
        self.course_config()

    @property
    def truth(self) -> TwoCompartmentVancomycin:
        """The parameter set ``model`` names: the model the patients follow.

        Examples:
            >>> type(VancomycinScenario(model="thomson2009").truth).__name__
            'Thomson2009'
        """
        chosen: TwoCompartmentVancomycin = getattr(self, self.model)
        return chosen

    def course_config(self) -> CourseConfig:
        """The course timing and sampling plan."""
        plans = {"trough_peak_4th": (("trough", 4), ("peak", 4)),
                 "daily_troughs": daily_troughs(self.n_steps, self.interval_h)}
        sampling = plans[self.sampling] if isinstance(self.sampling, str) else self.sampling
        return CourseConfig(interval_h=self.interval_h, n_steps=self.n_steps,
                            max_infusion_rate_mg_per_h=self.max_infusion_rate_mg_per_h,
                            min_infusion_h=self.min_infusion_h, sampling=sampling)


def resolve_scenario(scenario: VancomycinScenario | str | os.PathLike | None,
                     env_id: str) -> VancomycinScenario:
    """The scenario from an object, a YAML path or ``None`` (see ``scenarios.resolve_scenario``).

    Examples:
        >>> resolve_scenario(None, "any id").n_steps
        14
    """
    return resolve(scenario, VancomycinScenario, env_id)

