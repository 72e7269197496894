"""The batched core of ``pkgym/Vancomycin-v0``: N patients' courses and the ward's records.

Randomness: each episode's seed spawns three child streams (Gymnasium seeding, STYLE 14):
the patient (covariates and etas), assay noise (levels and creatinine) and clinical events
(creatinine drift and kidney injury). Each stream's draws for the whole episode are taken at
reset, so the step is pure array work and toggling noise never changes the patient.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pkgym.envs import vancomycin_views
from pkgym.envs.base import DosingCore, EpisodeStreams, ObservationModel, RewardFn
from pkgym.models.kidney import KidneyInjuryParams, initial_kidney_state, kdigo_stage
from pkgym.models.vancomycin import Goti2018
from pkgym.models.vancomycin_course import (
    CourseConfig,
    CoursePatients,
    CourseState,
    advance_interval,
    start_course,
)
from pkgym.populations import Population, ResidualError
from pkgym.populations.cohort import validate_cohort
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
    """N vancomycin patients advanced together (see :class:`pkgym.envs.base.DosingCore`)."""

    def __init__(self, n_patients: int, settings: WardSettings, reward_fn: RewardFn,
                 observation_model: ObservationModel) -> None:
        """Allocate N drug-free placeholder patients; ``reset_patients`` draws real ones."""
        if n_patients < 1:
            raise ValueError(f"n_patients must be >= 1, got {n_patients}")
        self.n_patients, self.settings = int(n_patients), settings
        self.reward_fn, self.observation_model = reward_fn, observation_model
        self.dose_levels_mg = settings.dose_levels_mg
        self.observation_space = observation_model.space(settings)
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
            auc24_mg_h_per_l=np.zeros(n), metrics=self.metrics(np.zeros(n), np.zeros(n, bool)),
            reward=np.zeros(n),
            kidney_uniforms=draws["kidney"], level_uniforms=draws["levels"],
            creatinine_normals=draws["creatinine"], patient_id=table["id"].astype(np.int64),
            seed_entropy=seed_entropy)
        return self._take_labs(records, np.zeros(n, dtype=np.int64))

    def _take_labs(self, records: WardRecords, day: np.ndarray,
                   which: np.ndarray | None = None) -> WardRecords:
        """Morning creatinine (with assay error) and Goti CrCL on ``day`` for ``which`` rows."""
        rows, s = np.arange(day.size), self.settings
        if which is not None:
            rows, day = rows[which], day[which]
        true = records.course.kidney.creatinine_mg_per_dl[rows]
        measured = true * np.exp(s.creatinine_assay_cv * records.creatinine_normals[rows, day])
        p = records.patients
        crcl = s.model.creatinine_clearance_unchecked(p.age_years[rows], p.weight_kg[rows],
                                                      measured, p.is_female[rows])
        records.creatinine_mg_per_dl[rows, day] = measured
        records.true_creatinine_mg_per_dl[rows, day] = true
        records.creatinine_clearance_ml_per_min[rows, day] = crcl
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
        s, config = self.settings, self.settings.config
        r, step = np.arange(doses.size), rec.course.step
        day = (step * config.interval_h // 24).astype(np.int64)
        course, outcome = advance_interval(rec.course, doses, rec.patients,
                                           rec.kidney_uniforms[r, day], config, s.model, s.kidney)
        # The history tables are the core's own: filled in place, one column per step.
        rec.doses_mg[r, step] = doses
        rec.infusion_h[r, step] = config.dose_duration_h(doses)
        rec.clearance_by_step_l_per_h[r, step] = rec.course.clearance_l_per_h
        rec.amounts_by_step_mg[r, step] = rec.course.amounts_mg
        if np.any(outcome.sample_slots >= 0):
            self._measure_levels(rec, outcome)
        rec.course, rec.auc24_mg_h_per_l = course, outcome.auc24_mg_h_per_l
        rec.metrics = self.metrics(outcome.auc24_mg_h_per_l, outcome.aki)
        rec.reward = self.reward_fn(rec.metrics, doses)
        next_day = outcome.day_ended & (day + 1 < config.n_days)
        return self._take_labs(rec, day + 1, next_day) if next_day.any() else rec

    def _measure_levels(self, rec: WardRecords, outcome: Any) -> None:
        """Assay the levels due this interval (trough and/or peak) into their slots."""
        times, levels, mask = rec.level_times_h, rec.levels_mg_per_l, rec.level_mask
        for column in (0, 1):
            slot = outcome.sample_slots[:, column]
            due = np.flatnonzero(slot >= 0)
            if due.size == 0:
                continue
            measured = self.settings.assay.measure_from_uniforms(
                outcome.sample_concentrations_mg_per_l[due, column],
                rec.level_uniforms[due, slot[due]])
            levels[due, slot[due]] = np.nan_to_num(measured.values)
            mask[due, slot[due]] = ~measured.censored
            times[due, slot[due]] = outcome.sample_times_h[due, column]

    def metrics(self, auc24: np.ndarray, aki: np.ndarray) -> StepMetrics:
        """Clinical metrics of a step against the ward's AUC24/MIC target."""
        low, high = self.settings.target_auc24_over_mic
        ratio = auc24 / self.settings.mic_mg_per_l
        distance = np.maximum(low - ratio, 0.0) + np.maximum(ratio - high, 0.0)
        return StepMetrics(ratio, distance == 0.0, distance, aki)

    # ----- views ---------------------------------------------------------------------------
    def observe(self) -> dict[str, np.ndarray]:
        """The ward's view of every patient (see the env card)."""
        return self.observation_model(self.records, self.settings)

    def info(self) -> dict[str, np.ndarray]:
        """Clinical metrics of the last step and the true, hidden state of every patient."""
        rec, config = self.records, self.settings.config
        course, metrics = rec.course, rec.metrics
        last = np.maximum(course.step - 1, 0)
        rows = np.arange(self.n_patients)
        return {
            "time_h": course.step * config.interval_h,
            "dose_mg": np.where(course.step > 0, rec.doses_mg[rows, last], 0.0),
            "auc24_mg_h_per_l": rec.auc24_mg_h_per_l,
            "auc24_over_mic": metrics.auc24_over_mic,
            "in_target_range": metrics.in_target_range & (course.step > 0),
            "aki": metrics.aki, "had_aki": course.kidney.had_aki,
            "kdigo_stage": kdigo_stage(course.kidney.creatinine_mg_per_dl,
                                       course.kidney.baseline_creatinine_mg_per_dl),
            "creatinine_mg_per_dl": course.kidney.creatinine_mg_per_dl,
            "concentration_mg_per_l": course.amounts_mg[:, 0] / course.volumes_l[:, 0],
            "central_amount_mg": course.amounts_mg[:, 0],
            "peripheral_amount_mg": course.amounts_mg[:, 1],
            "auc_interval_mg_h_per_l": np.where(
                course.step > 0, course.auc_by_step_mg_h_per_l[rows, last], 0.0),
            "clearance_l_per_h": course.clearance_l_per_h,
            "central_volume_l": course.volumes_l[:, 0],
            "peripheral_volume_l": course.volumes_l[:, 1],
            "intercompartmental_clearance_l_per_h":
                course.intercompartmental_clearance_l_per_h[:, 0],
            "patient_id": rec.patient_id, "seed_entropy": rec.seed_entropy,
        }

    def render_text(self, row: int) -> str:
        """One patient's state as a line of text."""
        return vancomycin_views.render_text(self.records, self.settings, row)

    def render_figure(self, row: int) -> Figure:
        """One patient's course: true and measured levels, doses and creatinine."""
        return vancomycin_views.render_figure(self.records, self.settings, row)

    def episode_dataset(self, row: int) -> pd.DataFrame:
        """One patient's episode as a NONMEM-style dataset with covariates."""
        return vancomycin_views.episode_dataset(self.records, self.settings, row)


def _pinned_row(pinned: Mapping[str, Any]) -> dict[str, float]:
    """A pinned patient's covariates (validated against the cohort schema) and given etas."""
    given = dict(pinned.items())
    unknown = sorted(set(given) - set(PATIENT_KEYS) - set(OPTIONAL_PATIENT_KEYS))
    if unknown:
        raise ValueError(f"unknown patient field(s) {unknown}; allowed: "
                         f"{PATIENT_KEYS + OPTIONAL_PATIENT_KEYS}")
    frame = validate_cohort(pd.DataFrame([{key: given.get(key) for key in PATIENT_KEYS}]),
                            VANCOMYCIN_COHORT_SCHEMA)
    row = {key: float(frame[key].iloc[0]) for key in PATIENT_KEYS}
    row.update({key: float(given[key]) for key in ("eta_CL", "eta_V1", "eta_V2", "id")
                if key in given})
    return row
