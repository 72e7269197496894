"""The batched core of ``pkgym/Vancomycin-v0``: N patients' courses and the ward's records.

Randomness: each episode's seed spawns three child streams (Gymnasium seeding, STYLE 14):
the patient (covariates and etas), assay noise (levels and creatinine) and clinical events
(creatinine drift and kidney injury). Each stream's draws for the whole episode are taken at
reset, so the step is pure array work and toggling noise never changes the patient.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pkgym.accel.backend import check_backend, resolve_device
from pkgym.envs.base import DosingCore, EpisodeStreams, ObservationModel, RewardFn
from pkgym.envs.pinning import validate_pinned
from pkgym.envs.vancomycin import views as vancomycin_views
from pkgym.envs.vancomycin.device import advance_ward_on_device
from pkgym.envs.vancomycin.kernel import advance_ward, pack_constants, take_labs
from pkgym.models.kidney import (
    KidneyInjuryParams,
    initial_kidney_state,
    kdigo_stage,
    kdigo_stage_of,
)
from pkgym.models.vancomycin import Goti2018
from pkgym.models.vancomycin_course import CourseConfig, CoursePatients, CourseState, start_course
from pkgym.populations import Population, ResidualError
from pkgym.populations.vancomycin import VANCOMYCIN_COHORT_SCHEMA
from pkgym.sim.batch import put_rows, take_rows

PLACEHOLDER = {"age_years": 50.0, "is_female": 0.0, "weight_kg": 70.0, "height_cm": 170.0,
               "on_dialysis": 0.0, "serum_creatinine_mg_per_dl": 1.0, "eta_CL": 0.0,
               "eta_V1": 0.0, "eta_V2": 0.0, "id": -1.0}
"""The values patient slots hold before their first reset."""
PATIENT_KEYS = ("age_years", "is_female", "weight_kg", "height_cm", "on_dialysis",
                "serum_creatinine_mg_per_dl")
"""Covariates a pinned patient must give (``eta_CL``, ``eta_V1``, ``eta_V2``, ``id`` optional)."""
OPTIONAL_PATIENT_KEYS = ("id", "eta_CL", "eta_V1", "eta_V2")


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


@dataclass(frozen=True, slots=True, kw_only=True)
class WardSettings:
    """Everything that defines a vancomycin ward except the policy (see the env card)."""

    config: CourseConfig
    model: Goti2018
    kidney: KidneyInjuryParams
    population: Population
    assay: ResidualError
    creatinine_assay_cv: float
    dose_levels_mg: np.ndarray
    target_auc24_over_mic: tuple[float, float]
    mic_mg_per_l: float


class VancomycinCore(DosingCore):
    """N vancomycin patients advanced together (see :class:`pkgym.envs.base.DosingCore`).

    ``backend="numpy"`` (default) steps every patient in one compiled loop; ``"torch"`` runs
    the PK interval of all patients as one float64 tensor computation on ``device`` (CUDA
    when present, unless given) and agrees with the default to rounding
    (:mod:`pkgym.envs.vancomycin.device`).
    """

    views = vancomycin_views

    def __init__(self, n_patients: int, settings: WardSettings, reward_fn: RewardFn,
                 observation_model: ObservationModel, *, backend: str = "numpy",
                 device: str | None = None) -> None:
        """Allocate N drug-free placeholder patients; ``reset_patients`` draws real ones."""
        if n_patients < 1:
            raise ValueError(f"n_patients must be >= 1, got {n_patients}")
        self.backend = check_backend(backend)
        if backend == "numpy" and device is not None:
            raise ValueError(f'device applies to backend="torch" only, got device={device!r}')
        self.device = resolve_device(device) if backend == "torch" else None
        self.n_patients, self.settings = int(n_patients), settings
        self.reward_fn, self.observation_model = reward_fn, observation_model
        self.dose_levels_mg = settings.dose_levels_mg
        self.observation_space = observation_model.space(settings)
        self._constants = pack_constants(
            settings.config, settings.model, settings.kidney, settings.assay,
            settings.creatinine_assay_cv, settings.target_auc24_over_mic, settings.mic_mg_per_l)
        placeholder = {key: np.full(self.n_patients, value) for key, value in PLACEHOLDER.items()}
        self.records = self._new_records(placeholder, self._quiet_draws(self.n_patients),
                                         np.zeros(self.n_patients, dtype=object))

    # ----- reset ---------------------------------------------------------------------------
    def reset_patients(self, rows: np.ndarray, streams: Sequence[EpisodeStreams],
                       patients: Sequence[Mapping[str, Any] | None]) -> None:
        """New episodes for ``rows``: patients drawn from their slots' streams, or pinned."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return
        per_slot = [self._episode_draws(s) for s in streams]
        draws = {key: np.stack([d[key] for d in per_slot]) for key in per_slot[0]}
        table = dict(self.settings.population.from_uniforms(draws["covariates"]))
        etas = self.settings.model.variability.etas_from_normals(draws["eta"])
        table.update(id=np.full(rows.size, -1), eta_CL=etas[:, 0], eta_V1=etas[:, 1],
                     eta_V2=etas[:, 2])
        table = {key: np.asarray(table[key], dtype=np.float64) for key in PLACEHOLDER}
        for k, pinned in enumerate(patients):
            if pinned is not None:
                for key, value in _pinned_row(pinned).items():
                    table[key][k] = value
        entropy = np.array([s.seed_entropy for s in streams], dtype=object)
        part = self._new_records(table, draws, entropy)
        self.records = put_rows(self.records, rows, part) if rows.size < self.n_patients else part

    def _episode_draws(self, streams: EpisodeStreams) -> dict[str, np.ndarray]:
        """All of one episode's random numbers, from the slot's three streams."""
        config = self.settings.config
        return {"covariates": streams.patient.random(self.settings.population.n_draws),
                "eta": streams.patient.standard_normal(3),
                "levels": streams.noise.random(len(config.sampling)),
                "creatinine": streams.noise.standard_normal(config.n_days),
                "kidney": streams.events.random((config.n_days, 3))}

    def _quiet_draws(self, n: int) -> dict[str, np.ndarray]:
        """Noise-free draws for the placeholder patients built before the first reset."""
        config = self.settings.config
        return {"levels": np.full((n, len(config.sampling)), 0.5),
                "creatinine": np.zeros((n, config.n_days)),
                "kidney": np.full((n, config.n_days, 3), 0.5)}

    def _new_records(self, table: dict[str, np.ndarray], draws: dict[str, np.ndarray],
                     seed_entropy: np.ndarray) -> WardRecords:
        """Records of fresh episodes for the given patients (time 0, day-0 labs taken)."""
        s, n = self.settings, table["weight_kg"].shape[0]
        config = s.config
        patients = CoursePatients(
            table["age_years"], table["is_female"], table["weight_kg"], table["height_cm"],
            table["on_dialysis"], np.stack([table["eta_CL"], table["eta_V1"], table["eta_V2"]], 1))
        kidney = initial_kidney_state(table["serum_creatinine_mg_per_dl"])
        course = start_course(patients, kidney, config, s.model)
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
        take_labs(self._constants, np.zeros(n, dtype=np.int64), _patient_arrays(patients),
                  kidney.creatinine_mg_per_dl, records.creatinine_normals, _lab_arrays(records))
        return records

    # ----- step ----------------------------------------------------------------------------
    def step(self, rows: np.ndarray, doses_mg: np.ndarray) -> tuple[np.ndarray, ...]:
        """Give ``doses_mg`` to ``rows`` and advance them one dosing interval."""
        whole = rows.size == self.n_patients
        records = self.records if whole else take_rows(self.records, rows)
        if np.any(records.course.step >= self.settings.config.n_steps):
            raise RuntimeError("the episode is over (truncated): call reset() first")
        records = self._advance(records, np.asarray(doses_mg, dtype=np.float64))
        self.records = records if whole else put_rows(self.records, rows, records)
        truncated = records.course.step >= self.settings.config.n_steps
        return records.reward, np.zeros(rows.size, dtype=bool), truncated

    def _advance(self, rec: WardRecords, doses: np.ndarray) -> WardRecords:
        """The compiled interval (in place on ``rec``), then the injected reward."""
        course, kidney = rec.course, rec.course.kidney
        step = advance_ward if self.backend == "numpy" else functools.partial(
            advance_ward_on_device, device=self.device)
        step(
            self._constants, self.settings.config.sample_slots, doses,
            (course.step, course.amounts_mg, course.clearance_l_per_h, course.volumes_l,
             course.intercompartmental_clearance_l_per_h, course.auc_by_step_mg_h_per_l,
             kidney.baseline_creatinine_mg_per_dl, kidney.creatinine_mg_per_dl,
             kidney.injury_factor),
            _patient_arrays(rec.patients),
            (rec.kidney_uniforms, rec.level_uniforms, rec.creatinine_normals),
            (rec.doses_mg, rec.infusion_h, rec.clearance_by_step_l_per_h, rec.amounts_by_step_mg),
            (rec.level_times_h, rec.levels_mg_per_l, rec.level_mask), _lab_arrays(rec),
            (rec.auc24_mg_h_per_l, rec.metrics.auc24_over_mic, rec.metrics.in_target_range,
             rec.metrics.distance_to_range, rec.metrics.aki))
        rec.reward = self.reward_fn(rec.metrics, doses)
        return rec

    # ----- views ---------------------------------------------------------------------------

    def info(self) -> dict[str, np.ndarray]:
        """Clinical metrics of the last step and the true, hidden state of every patient.

        Fresh arrays: the kernel updates the records in place, so nothing here aliases them.
        """
        rec, config = self.records, self.settings.config
        course, metrics, kidney = rec.course, rec.metrics, rec.course.kidney
        started = course.step > 0
        last = np.maximum(course.step - 1, 0)
        rows = np.arange(self.n_patients)
        amounts, volumes = course.amounts_mg, course.volumes_l
        return {
            "time_h": course.step * config.interval_h,
            "dose_mg": np.where(started, rec.doses_mg[rows, last], 0.0),
            "auc24_mg_h_per_l": rec.auc24_mg_h_per_l.copy(),
            "auc24_over_mic": metrics.auc24_over_mic.copy(),
            "in_target_range": metrics.in_target_range & started,
            "aki": metrics.aki.copy(), "had_aki": kidney.had_aki,
            "kdigo_stage": kdigo_stage(kidney.creatinine_mg_per_dl,
                                       kidney.baseline_creatinine_mg_per_dl),
            "creatinine_mg_per_dl": kidney.creatinine_mg_per_dl.copy(),
            "concentration_mg_per_l": amounts[:, 0] / volumes[:, 0],
            "central_amount_mg": amounts[:, 0].copy(),
            "peripheral_amount_mg": amounts[:, 1].copy(),
            "auc_interval_mg_h_per_l": np.where(
                started, course.auc_by_step_mg_h_per_l[rows, last], 0.0),
            "clearance_l_per_h": course.clearance_l_per_h.copy(),
            "central_volume_l": volumes[:, 0],
            "peripheral_volume_l": volumes[:, 1],
            "intercompartmental_clearance_l_per_h":
                course.intercompartmental_clearance_l_per_h[:, 0],
            "patient_id": rec.patient_id, "seed_entropy": rec.seed_entropy,
        }

    def info_row(self, row: int) -> dict[str, Any]:
        """:meth:`info` of one patient as plain Python values, without batched arrays."""
        rec, course = self.records, self.records.course
        kidney, metrics = course.kidney, rec.metrics
        step = int(course.step[row])
        last, started = max(step - 1, 0), step > 0
        scr, baseline = float(kidney.creatinine_mg_per_dl[row]), \
            float(kidney.baseline_creatinine_mg_per_dl[row])
        central, peripheral = course.amounts_mg[row].tolist()
        v1, v2 = course.volumes_l[row].tolist()
        return {
            "time_h": step * self.settings.config.interval_h,
            "dose_mg": float(rec.doses_mg[row, last]) if started else 0.0,
            "auc24_mg_h_per_l": float(rec.auc24_mg_h_per_l[row]),
            "auc24_over_mic": float(metrics.auc24_over_mic[row]),
            "in_target_range": bool(metrics.in_target_range[row]) and started,
            "aki": bool(metrics.aki[row]), "had_aki": bool(kidney.injury_factor[row] > 1.0),
            "kdigo_stage": kdigo_stage_of(scr, baseline), "creatinine_mg_per_dl": scr,
            "concentration_mg_per_l": central / v1,
            "central_amount_mg": central, "peripheral_amount_mg": peripheral,
            "auc_interval_mg_h_per_l":
                float(course.auc_by_step_mg_h_per_l[row, last]) if started else 0.0,
            "clearance_l_per_h": float(course.clearance_l_per_h[row]),
            "central_volume_l": v1, "peripheral_volume_l": v2,
            "intercompartmental_clearance_l_per_h":
                float(course.intercompartmental_clearance_l_per_h[row, 0]),
            "patient_id": int(rec.patient_id[row]), "seed_entropy": rec.seed_entropy[row],
        }


def _patient_arrays(patients: CoursePatients) -> tuple[np.ndarray, ...]:
    """The patients' arrays in the kernel's order (age, female, weight, dialysis, etas)."""
    return (patients.age_years, patients.is_female, patients.weight_kg, patients.on_dialysis,
            patients.etas)


def _lab_arrays(records: WardRecords) -> tuple[np.ndarray, ...]:
    """The morning-lab tables in the kernel's order (measured, true, CrCL)."""
    return (records.creatinine_mg_per_dl, records.true_creatinine_mg_per_dl,
            records.creatinine_clearance_ml_per_min)


def _pinned_row(pinned: Mapping[str, Any]) -> dict[str, float]:
    """A pinned patient's covariates (validated against the cohort schema) and given etas."""
    given = dict(pinned.items())
    unknown = sorted(set(given) - set(PATIENT_KEYS) - set(OPTIONAL_PATIENT_KEYS))
    if unknown:
        raise ValueError(f"unknown patient field(s) {unknown}; allowed: "
                         f"{PATIENT_KEYS + OPTIONAL_PATIENT_KEYS}")
    covariates = validate_pinned(given, VANCOMYCIN_COHORT_SCHEMA)
    row = {key: float(covariates[key]) for key in PATIENT_KEYS}
    row.update({key: float(given[key]) for key in ("eta_CL", "eta_V1", "eta_V2", "id")
                if key in given})
    return row
