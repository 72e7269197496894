"""What the vancomycin ward holds about each patient: settings, records, pinning, measuring.

Batched arrays (n patients first) that the core fills in place step by step: the true course,
the doses given, the measured levels and the morning creatinine labs (the ward's measurements;
the day-0 labs are taken here when an episode starts, the later ones by the compiled step).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from pkgym.envs.pinning import validate_pinned, validate_pinned_etas
from pkgym.envs.vancomycin.clinic import POPULATIONS, StepMetrics, VancomycinScenario
from pkgym.envs.vancomycin.kernel import WardConstants, take_labs, ward_constants
from pkgym.models.kidney import KidneyInjuryParams, initial_kidney_state
from pkgym.models.vancomycin import TwoCompartmentVancomycin
from pkgym.models.vancomycin_course import CourseConfig, CoursePatients, CourseState, start_course
from pkgym.populations import Population, ResidualError
from pkgym.populations.vancomycin import VANCOMYCIN_COHORT_SCHEMA

PLACEHOLDER = {"age_years": 50.0, "is_female": 0.0, "weight_kg": 70.0, "height_cm": 170.0,
               "on_dialysis": 0.0, "serum_creatinine_mg_per_dl": 1.0, "eta_CL": 0.0,
               "eta_V1": 0.0, "eta_V2": 0.0, "id": -1.0}
"""The values patient slots hold before their first reset."""
PATIENT_KEYS = ("age_years", "is_female", "weight_kg", "height_cm", "on_dialysis",
                "serum_creatinine_mg_per_dl")
"""Covariates a pinned patient must give (``eta_CL``, ``eta_V1``, ``eta_V2``, ``id`` optional)."""
OPTIONAL_PATIENT_KEYS = ("id", "eta_CL", "eta_V1", "eta_V2")


@dataclass(frozen=True, slots=True, kw_only=True)
class WardSettings:
    """Everything that defines a vancomycin ward except the policy (see the env card).

    ``model`` is the truth (``scenario.truth``); ``scenario`` keeps the other named parameter
    sets a policy may take as its prior.
    """

    config: CourseConfig
    model: TwoCompartmentVancomycin
    scenario: VancomycinScenario
    kidney: KidneyInjuryParams
    population: Population
    assay: ResidualError
    creatinine_assay_cv: float
    dose_levels_mg: np.ndarray
    target_auc24_over_mic: tuple[float, float]
    mic_mg_per_l: float

    @property
    def constants(self) -> WardConstants:
        """The settings as the compiled step reads them."""
        return ward_constants(self.config, self.model, self.kidney, self.assay,
                              self.creatinine_assay_cv, self.target_auc24_over_mic,
                              self.mic_mg_per_l)


def ward_settings(scenario: VancomycinScenario,
                  population: Population | None = None) -> WardSettings:
    """The core's settings for a scenario (an injected population replaces the named one).

    Examples:
        >>> ward_settings(VancomycinScenario(dose_step_mg=500.0)).dose_levels_mg.tolist()
        [0.0, 500.0, 1000.0, 1500.0, 2000.0, 2500.0, 3000.0]
    """
    return WardSettings(
        config=scenario.course_config(), model=scenario.truth, scenario=scenario,
        kidney=scenario.kidney,
        population=population or POPULATIONS[scenario.population],
        assay=scenario.truth.residual_error, creatinine_assay_cv=scenario.creatinine_assay_cv,
        dose_levels_mg=np.arange(0.0, scenario.max_dose_mg + 1e-9, scenario.dose_step_mg),
        target_auc24_over_mic=scenario.target_auc24_over_mic, mic_mg_per_l=scenario.mic_mg_per_l)


@dataclass(slots=True)
class WardRecords:
    """What happened to each patient and what the ward measured (all batched, (n, ...)).

    Mutable: the core owns its records and fills them in place step by step (the model
    kernels it calls stay pure).

    Attributes:
        patients: fixed characteristics and true random effects.
        course: the true course (hidden).
        doses_mg, infusion_h: given doses per step.  # (n, n_steps)
        level_times_h, levels_mg_per_l, level_mask: measured levels per slot.  # (n, n_levels)
        creatinine_mg_per_dl, creatinine_clearance_ml_per_min: morning labs.  # (n, n_days)
        true_creatinine_mg_per_dl: true creatinine each morning.  # (n, n_days)
        clearance_by_step_l_per_h, amounts_by_step_mg: true state at each step start.
        auc24_mg_h_per_l, metrics, reward: the last step's outcome.
        kidney_uniforms, level_uniforms, creatinine_normals: the episode's pre-drawn noise.
        patient_id: cohort id of a pinned patient, -1 for a drawn one.  # (n,)
        seed_entropy: root seed entropy of the env slot (Python ints).  # (n,)
    """

    patients: CoursePatients
    course: CourseState
    doses_mg: np.ndarray
    infusion_h: np.ndarray
    level_times_h: np.ndarray
    levels_mg_per_l: np.ndarray
    level_mask: np.ndarray
    creatinine_mg_per_dl: np.ndarray
    creatinine_clearance_ml_per_min: np.ndarray
    true_creatinine_mg_per_dl: np.ndarray
    clearance_by_step_l_per_h: np.ndarray
    amounts_by_step_mg: np.ndarray
    auc24_mg_h_per_l: np.ndarray
    metrics: StepMetrics
    reward: np.ndarray
    kidney_uniforms: np.ndarray
    level_uniforms: np.ndarray
    creatinine_normals: np.ndarray
    patient_id: np.ndarray
    seed_entropy: np.ndarray

    def kernel_arrays(self) -> tuple:
        """The arrays the compiled step reads and writes, no copy.

        As plain tuples in the field order of :class:`pkgym.envs.vancomycin.kernel.WardArrays`
        (:func:`pkgym.envs.vancomycin.kernel.plain` says why), which names them again.
        """
        p, course, kidney, metrics = self.patients, self.course, self.course.kidney, self.metrics
        return (
            (p.age_years, p.is_female, p.weight_kg, p.on_dialysis, p.etas),
            (course.step, course.amounts_mg, course.clearance_l_per_h, course.volumes_l,
             course.intercompartmental_clearance_l_per_h, course.auc_by_step_mg_h_per_l,
             kidney.baseline_creatinine_mg_per_dl, kidney.creatinine_mg_per_dl,
             kidney.injury_factor),
            (self.kidney_uniforms, self.level_uniforms, self.creatinine_normals),
            (self.doses_mg, self.infusion_h, self.clearance_by_step_l_per_h,
             self.amounts_by_step_mg),
            (self.level_times_h, self.levels_mg_per_l, self.level_mask),
            (self.creatinine_mg_per_dl, self.true_creatinine_mg_per_dl,
             self.creatinine_clearance_ml_per_min),
            (self.auc24_mg_h_per_l, metrics.auc24_over_mic, metrics.in_target_range,
             metrics.distance_to_range, metrics.aki))


def new_records(settings: WardSettings, plain_constants: tuple,
                table: Mapping[str, np.ndarray], draws: Mapping[str, np.ndarray],
                seed_entropy: np.ndarray) -> WardRecords:
    """Records of fresh episodes for the given patients: time 0, day-0 labs measured.

    Args:
        settings: the ward.
        plain_constants: ``plain(settings.constants)`` (the core computes them once).
        table: one array per :data:`PLACEHOLDER` key, (n,) each.
        draws: the episodes' ``"kidney"`` (n, n_days, 3), ``"levels"`` (n, n_levels) and
            ``"creatinine"`` (n, n_days) noise.
        seed_entropy: root seed entropy of each slot, (n,) object.
    """
    config, n = settings.config, table["weight_kg"].shape[0]
    patients = CoursePatients(
        table["age_years"], table["is_female"], table["weight_kg"], table["height_cm"],
        table["on_dialysis"], np.stack([table["eta_CL"], table["eta_V1"], table["eta_V2"]], 1))
    kidney = initial_kidney_state(table["serum_creatinine_mg_per_dl"])
    course = start_course(patients, kidney, config, settings.model)
    zeros_steps, levels = np.zeros((n, config.n_steps)), np.zeros((n, len(config.sampling)))
    records = WardRecords(
        patients=patients, course=course, doses_mg=zeros_steps, infusion_h=zeros_steps.copy(),
        level_times_h=levels, levels_mg_per_l=levels.copy(), level_mask=levels.astype(bool),
        creatinine_mg_per_dl=np.zeros((n, config.n_days)),
        creatinine_clearance_ml_per_min=np.zeros((n, config.n_days)),
        true_creatinine_mg_per_dl=np.zeros((n, config.n_days)),
        clearance_by_step_l_per_h=zeros_steps.copy(),
        amounts_by_step_mg=np.zeros((n, config.n_steps, 2)),
        auc24_mg_h_per_l=np.zeros(n), metrics=StepMetrics.before_first_step(n),
        reward=np.zeros(n),
        kidney_uniforms=draws["kidney"], level_uniforms=draws["levels"],
        creatinine_normals=draws["creatinine"], patient_id=table["id"].astype(np.int64),
        seed_entropy=seed_entropy)
    take_labs(plain_constants, np.zeros(n, dtype=np.int64), records.kernel_arrays())
    return records


def pinned_row(pinned: Mapping[str, Any], variability: Any) -> dict[str, float]:
    """A pinned patient's covariates (validated against the cohort schema) and given etas.

    Etas given are range-checked against ``variability`` (the model's omega); etas not given
    are drawn by the caller.

    Examples:
        >>> from pkgym.models.vancomycin import Goti2018
        >>> row = pinned_row({"age_years": 60, "is_female": 0, "weight_kg": 80, "height_cm": 175,
        ...                   "on_dialysis": 0, "serum_creatinine_mg_per_dl": 1.1, "eta_CL": 0.2},
        ...                  Goti2018().variability)
        >>> row["weight_kg"], row["eta_CL"]
        (80.0, 0.2)
    """
    given = dict(pinned.items())
    unknown = sorted(set(given) - set(PATIENT_KEYS) - set(OPTIONAL_PATIENT_KEYS))
    if unknown:
        raise ValueError(f"unknown patient field(s) {unknown}; allowed: "
                         f"{PATIENT_KEYS + OPTIONAL_PATIENT_KEYS}")
    covariates = validate_pinned(given, VANCOMYCIN_COHORT_SCHEMA)
    row = {key: float(covariates[key]) for key in PATIENT_KEYS}
    row.update(validate_pinned_etas(given, variability))
    if "id" in given:
        row["id"] = float(given["id"])
    return row
