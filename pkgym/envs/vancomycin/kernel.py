# lines: the ward step in passes (PK, score, kidneys, assays, labs) and its observation writer
"""One dosing interval of a vancomycin ward, compiled: the fast path of ``Vancomycin-v0``.

:func:`advance_ward` does in one ``numba`` call, in passes over the patients, what a numpy
course would do in about 200 small array operations: the exact two-compartment interval
(:func:`pkgym.sim.interval_njit.infuse_two_compartment`: levels at the trough and peak offsets,
mass-balance AUC), the 24-h AUC window, the end-of-day kidneys
(:func:`pkgym.models.kidney.kidney_day`) and the new clearance
(:func:`pkgym.models.vancomycin.vancomycin_clearance`), the assay
(:func:`pkgym.populations.residual.measure_value`), the morning creatinine lab and the step's
AUC24/MIC metrics. The physics is the models' own (elementwise functions compiled here for
floats, :mod:`pkgym.sim.elementwise`); this module only orchestrates the ward. Tests hold the
kernel to an independent numpy course (``tests/models/vancomycin_reference.py``) to 1e-12.

The kernel is pure in the numba sense: no RNG (all noise arrives pre-drawn), no I/O, no
hidden state; it writes its results into the arrays it is given (the core's records, bundled
by name in :class:`WardArrays`; the constants in :class:`WardConstants`).

Numba caches compiled code on disk per source file: edits to the models' elementwise functions,
:mod:`pkgym.sim.normal` or :mod:`pkgym.sim.interval_njit` are not seen by this module's cache
until its ``__pycache__`` numba files are removed.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from pkgym.models.kidney import KidneyConstants, KidneyInjuryParams, kidney_day
from pkgym.models.vancomycin import (
    ClearanceLaw,
    Goti2018,
    TwoCompartmentVancomycin,
    vancomycin_clearance,
    vancomycin_creatinine_clearance,
)
from pkgym.models.vancomycin_course import (
    PEAK_AFTER_END_H,
    TROUGH_BEFORE_H,
    CourseConfig,
    infusion_time_h,
)
from pkgym.populations.residual import AssayConstants, ResidualError, measure_value
from pkgym.sim.interval_njit import infuse_two_compartment
from pkgym.sim.normal import ndtri
from pkgym.units import HOURS_PER_DAY


class WardConstants(NamedTuple):
    """Everything that stays fixed over a ward's courses, as the compiled step reads it."""

    law: ClearanceLaw
    kidney: KidneyConstants
    assay: AssayConstants
    interval_h: float
    max_infusion_rate_mg_per_h: float
    min_infusion_h: float
    steps_per_day: int
    n_days: int
    creatinine_assay_cv: float
    target_low_auc24_over_mic: float
    target_high_auc24_over_mic: float
    mic_mg_per_l: float


def ward_constants(config: CourseConfig | None = None,
                   model: TwoCompartmentVancomycin | None = None,
                   kidney: KidneyInjuryParams | None = None, assay: ResidualError | None = None,
                   creatinine_assay_cv: float = 0.025,
                   target_auc24_over_mic: tuple[float, float] = (400.0, 600.0),
                   mic_mg_per_l: float = 1.0) -> WardConstants:
    """The kernel's constants (``None`` gives the defaults).

    Args:
        config: course timing.
        model: the vancomycin parameters (default :class:`Goti2018`).
        kidney: the AKI hazard and creatinine variability.
        assay: the level assay error (default ``model.residual_error``).
        creatinine_assay_cv: analytical CV of creatinine, fraction.
        target_auc24_over_mic: target range of AUC24/MIC, mg*h/L.
        mic_mg_per_l: the pathogen's MIC, mg/L.

    Examples:
        >>> c = ward_constants()
        >>> c.interval_h, c.steps_per_day, bool(np.isnan(c.assay.lloq))
        (12.0, 2, True)
    """
    config, model = config or CourseConfig(), model or Goti2018()
    kidney, assay = kidney or KidneyInjuryParams(), assay or model.residual_error
    low, high = target_auc24_over_mic
    return WardConstants(
        law=model.constants, kidney=kidney.constants, assay=assay.constants,
        interval_h=float(config.interval_h),
        max_infusion_rate_mg_per_h=float(config.max_infusion_rate_mg_per_h),
        min_infusion_h=float(config.min_infusion_h), steps_per_day=config.steps_per_day,
        n_days=config.n_days, creatinine_assay_cv=float(creatinine_assay_cv),
        target_low_auc24_over_mic=float(low), target_high_auc24_over_mic=float(high),
        mic_mg_per_l=float(mic_mg_per_l))


class WardPatients(NamedTuple):
    """Fixed characteristics of each patient (all (n,), etas (n, 3))."""

    age_years: np.ndarray
    is_female: np.ndarray
    weight_kg: np.ndarray
    on_dialysis: np.ndarray
    etas: np.ndarray


class WardCourse(NamedTuple):
    """The true course, updated in place each step."""

    step: np.ndarray  # (n,) int
    amounts_mg: np.ndarray  # (n, 2)
    clearance_l_per_h: np.ndarray  # (n,)
    volumes_l: np.ndarray  # (n, 2)
    intercompartmental_clearance_l_per_h: np.ndarray  # (n, 1)
    auc_by_step_mg_h_per_l: np.ndarray  # (n, n_steps)
    baseline_creatinine_mg_per_dl: np.ndarray  # (n,)
    creatinine_mg_per_dl: np.ndarray  # (n,)
    injury_factor: np.ndarray  # (n,)


class WardNoise(NamedTuple):
    """The episode's pre-drawn noise."""

    kidney_uniforms: np.ndarray  # (n, n_days, 3): event, injury size, creatinine walk
    level_uniforms: np.ndarray  # (n, n_levels)
    creatinine_normals: np.ndarray  # (n, n_days): creatinine assay


class WardHistory(NamedTuple):
    """What each step gave and started from; step ``s``'s column is written at step ``s``."""

    doses_mg: np.ndarray  # (n, n_steps)
    infusion_h: np.ndarray  # (n, n_steps)
    clearance_by_step_l_per_h: np.ndarray  # (n, n_steps)
    amounts_by_step_mg: np.ndarray  # (n, n_steps, 2)


class WardAssays(NamedTuple):
    """Measured levels by slot; a slot is written when its sample is due."""

    level_times_h: np.ndarray  # (n, n_levels)
    levels_mg_per_l: np.ndarray  # (n, n_levels), 0 where censored
    level_mask: np.ndarray  # (n, n_levels) bool


class WardLabs(NamedTuple):
    """Morning creatinine labs by day."""

    creatinine_mg_per_dl: np.ndarray  # (n, n_days), measured
    true_creatinine_mg_per_dl: np.ndarray  # (n, n_days)
    creatinine_clearance_ml_per_min: np.ndarray  # (n, n_days), from the measured value


class WardMetrics(NamedTuple):
    """The last step's outcome, overwritten each step (all (n,))."""

    auc24_mg_h_per_l: np.ndarray
    auc24_over_mic: np.ndarray
    in_target_range: np.ndarray
    distance_to_range: np.ndarray
    aki: np.ndarray


class WardArrays(NamedTuple):
    """Every array the kernel reads or writes, bundled by what it holds."""

    patients: WardPatients
    course: WardCourse
    noise: WardNoise
    history: WardHistory
    assays: WardAssays
    labs: WardLabs
    metrics: WardMetrics


def plain(bundle: WardConstants | WardArrays) -> tuple:
    """``bundle`` as plain nested tuples, the form the compiled entry points take.

    Numba types a NamedTuple argument field by field in Python (about 10 us for the ward's
    60 fields, as long as a whole step of one patient) but plain tuples in C, so
    :func:`advance_ward`, :func:`take_labs` and the torch path's ``record_ward`` take the
    constants and arrays as plain tuples in the NamedTuples' field order and name them again
    on entry (:func:`named_constants`, :func:`named_arrays`).

    Examples:
        >>> plain(ward_constants())[2]
        (3.4, 0.227, nan)
    """
    return tuple(tuple(field) if isinstance(field, tuple) else field for field in bundle)


@numba.njit(cache=True, error_model="numpy", inline="always")
def named_constants(constants: tuple) -> WardConstants:
    """:func:`plain` constants named again (in compiled code, free)."""
    return WardConstants(ClearanceLaw(*constants[0]), KidneyConstants(*constants[1]),
                         AssayConstants(*constants[2]), *constants[3:])


@numba.njit(cache=True, error_model="numpy", inline="always")
def named_arrays(ward: tuple) -> WardArrays:
    """:func:`plain` arrays named again (in compiled code, free; from Python, no copy)."""
    return WardArrays(WardPatients(*ward[0]), WardCourse(*ward[1]), WardNoise(*ward[2]),
                      WardHistory(*ward[3]), WardAssays(*ward[4]), WardLabs(*ward[5]),
                      WardMetrics(*ward[6]))


@numba.njit(cache=True, error_model="numpy", nogil=True)
def advance_ward(plain_constants: tuple, sample_slots: np.ndarray, doses_mg: np.ndarray,
                 plain_ward: tuple) -> None:
    """Give every patient its dose and advance it one interval, in place (see module doc).

    Args:
        plain_constants: the ward's constants, ``plain(ward_constants(...))``.
        sample_slots: level slot of each step's trough and peak, -1 for none, (n_steps, 2).
        doses_mg: dose to infuse now, (n,).
        plain_ward: the records' arrays, ``plain(WardArrays(...))``; the course and metrics
            are updated, this step's history column, the levels due and the next morning's
            labs are written.
    """
    constants, ward = named_constants(plain_constants), named_arrays(plain_ward)
    course, interval = ward.course, constants.interval_h
    step, amounts, clearance = course.step, course.amounts_mg, course.clearance_l_per_h
    volumes, q = course.volumes_l, course.intercompartmental_clearance_l_per_h
    record_history(constants, ward.history, course, doses_mg)
    levels, times = np.empty((step.shape[0], 2)), np.empty((step.shape[0], 2))
    for p in range(step.shape[0]):
        s, dose = step[p], doses_mg[p]
        duration = ward.history.infusion_h[p, s]
        t_trough, t_peak = interval - TROUGH_BEFORE_H, min(duration + PEAK_AFTER_END_H, interval)
        levels[p, 0], levels[p, 1], amounts[p, 0], amounts[p, 1], \
            course.auc_by_step_mg_h_per_l[p, s] = infuse_two_compartment(
                amounts[p, 0], amounts[p, 1], clearance[p], volumes[p, 0], volumes[p, 1],
                q[p, 0], dose, duration, interval, t_trough, t_peak)
        times[p, 0], times[p, 1] = s * interval + t_trough, s * interval + t_peak
    finish_steps(constants, sample_slots, levels, times, ward)


@numba.njit(cache=True, error_model="numpy", inline="always")
def record_history(constants: WardConstants, history: WardHistory, course: WardCourse,
                   doses_mg: np.ndarray) -> None:
    """Write this step's dose, infusion time, clearance and starting amounts of every patient."""
    step, amounts, by_step = course.step, course.amounts_mg, history.amounts_by_step_mg
    for p in range(step.shape[0]):
        s = step[p]
        history.doses_mg[p, s], history.infusion_h[p, s] = doses_mg[p], infusion_time_h(
            doses_mg[p], constants.max_infusion_rate_mg_per_h, constants.min_infusion_h)
        history.clearance_by_step_l_per_h[p, s] = course.clearance_l_per_h[p]
        by_step[p, s, 0], by_step[p, s, 1] = amounts[p, 0], amounts[p, 1]


@numba.njit(cache=True, error_model="numpy", inline="always")
def finish_steps(constants: WardConstants, sample_slots: np.ndarray,
                 levels_mg_per_l: np.ndarray, times_h: np.ndarray, ward: WardArrays) -> None:
    """Everything after the PK interval of every patient (its AUC already in the course).

    The 24-h AUC and the step's score, the day's kidneys and next-morning labs at a day's
    end, the trough and peak levels due (``levels_mg_per_l`` at ``times_h``, (n, 2) each),
    then the step count; shared by both backends, so the torch path differs from numpy only
    in the PK interval. Each pass loops over the patients with the arrays it needs in hand
    (passing arrays to a compiled function per patient costs reference counting, so the
    passes are inlined and their per-patient helpers take and return numbers).
    """
    _score(constants, ward.course, ward.metrics)
    _close_days(constants, ward)
    _measure_due(constants.assay, sample_slots, levels_mg_per_l, times_h, ward.course.step,
                 ward.noise.level_uniforms, ward.assays)
    step = ward.course.step
    for p in range(step.shape[0]):
        step[p] += 1


@numba.njit(cache=True, error_model="numpy", inline="always")
def _score(constants: WardConstants, course: WardCourse, metrics: WardMetrics) -> None:
    """AUC over the last 24 h (this step and those before it), AUC24/MIC and target range."""
    step, aucs, per_day = course.step, course.auc_by_step_mg_h_per_l, constants.steps_per_day
    for p in range(step.shape[0]):
        s, auc24 = step[p], 0.0
        for j in range(max(s - per_day + 1, 0), s + 1):
            auc24 += aucs[p, j]
        ratio = auc24 / constants.mic_mg_per_l
        distance = (max(constants.target_low_auc24_over_mic - ratio, 0.0)
                    + max(ratio - constants.target_high_auc24_over_mic, 0.0))
        metrics.auc24_mg_h_per_l[p], metrics.auc24_over_mic[p] = auc24, ratio
        metrics.in_target_range[p], metrics.distance_to_range[p] = distance == 0.0, distance


@numba.njit(cache=True, error_model="numpy", inline="always")
def _close_days(constants: WardConstants, ward: WardArrays) -> None:
    """Move the kidneys of patients whose day ends now, recompute CL, take tomorrow's labs.

    Patients on haemodialysis have no residual renal function to injure: no AKI for them.
    """
    course, patients, uniforms = ward.course, ward.patients, ward.noise.kidney_uniforms
    scr, injury, aki = course.creatinine_mg_per_dl, course.injury_factor, ward.metrics.aki
    for p in range(scr.shape[0]):
        s = course.step[p]
        aki[p] = False
        if (s + 1) % constants.steps_per_day != 0:
            continue
        day = int(s * constants.interval_h // HOURS_PER_DAY)
        u_event = 1.0 if patients.on_dialysis[p] == 1.0 else uniforms[p, day, 0]
        scr[p], injury[p], aki[p] = kidney_day(
            constants.kidney, course.baseline_creatinine_mg_per_dl[p], scr[p], injury[p],
            ward.metrics.auc24_mg_h_per_l[p], u_event, uniforms[p, day, 1],
            ndtri(uniforms[p, day, 2]))
        crcl = vancomycin_creatinine_clearance(constants.law, patients.age_years[p],
                                               patients.weight_kg[p], scr[p],
                                               patients.is_female[p])
        course.clearance_l_per_h[p] = vancomycin_clearance(
            constants.law, crcl, patients.weight_kg[p], patients.on_dialysis[p],
            patients.etas[p, 0], patients.age_years[p], scr[p], patients.etas[p, 1])
        if day + 1 < constants.n_days:
            _write_lab(constants, p, day + 1, scr[p], patients, ward.noise.creatinine_normals,
                       ward.labs)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _write_lab(constants: WardConstants, p: int, day: int, true_scr: float,
               patients: WardPatients, normals: np.ndarray, labs: WardLabs) -> None:
    """Morning creatinine of patient ``p`` on ``day``: measured, true, and CrCL from it."""
    measured = true_scr * math.exp(constants.creatinine_assay_cv * normals[p, day])
    labs.creatinine_mg_per_dl[p, day] = measured
    labs.true_creatinine_mg_per_dl[p, day] = true_scr
    labs.creatinine_clearance_ml_per_min[p, day] = vancomycin_creatinine_clearance(
        constants.law, patients.age_years[p], patients.weight_kg[p], measured,
        patients.is_female[p])


@numba.njit(cache=True, error_model="numpy")
def take_labs(plain_constants: tuple, days: np.ndarray, plain_ward: tuple) -> None:
    """Morning creatinine of every patient on its ``days`` entry (reset: day 0), in place.

    From the course's true creatinine and the episode's creatinine assay normals; writes
    the labs (measured, true, and the CrCL the ward computes from the measured value).

    Args:
        plain_constants: the ward's constants, ``plain(ward_constants(...))``.
        days: day of each patient's lab, (n,) int.
        plain_ward: the records' arrays, ``plain(WardArrays(...))``.
    """
    constants, ward = named_constants(plain_constants), named_arrays(plain_ward)
    for p in range(days.shape[0]):
        _write_lab(constants, p, days[p], ward.course.creatinine_mg_per_dl[p], ward.patients,
                   ward.noise.creatinine_normals, ward.labs)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _measure_due(assay: AssayConstants, sample_slots: np.ndarray, levels_mg_per_l: np.ndarray,
                 times_h: np.ndarray, step: np.ndarray, uniforms: np.ndarray,
                 assays: WardAssays) -> None:
    """Assay the trough and peak levels due this step: time, value (0 if censored), flag."""
    for p in range(step.shape[0]):
        for column in range(2):
            slot = sample_slots[step[p], column]
            if slot < 0:
                continue
            value, censored = measure_value(assay, levels_mg_per_l[p, column], uniforms[p, slot])
            assays.levels_mg_per_l[p, slot] = 0.0 if censored else value
            assays.level_mask[p, slot] = not censored
            assays.level_times_h[p, slot] = times_h[p, column]


@numba.njit(cache=True, error_model="numpy", nogil=True)
def write_observation(covariates: tuple, covariate_highs: np.ndarray, creatinine: np.ndarray,
                      creatinine_high: float, clearance: np.ndarray, doses: np.ndarray,
                      level_times: np.ndarray, levels: np.ndarray, level_high: float,
                      level_mask: np.ndarray, step: np.ndarray, interval_h: float,
                      out: tuple) -> None:
    """The ward's float32 observation of every patient, written into ``out`` in one pass.

    The same numbers as the numpy expression it replaces (``np.minimum`` of the float64
    value and its cap, then a cast to float32, rounding to nearest).

    Args:
        covariates: age, female, weight, height, dialysis, (n,) each.
        covariate_highs: their caps, (5,).
        creatinine: measured morning creatinine, mg/dL, (n, n_days).
        creatinine_high: its cap, mg/dL.
        clearance: creatinine clearance from it, mL/min, (n, n_days).
        doses: doses given, mg, (n, n_steps).
        level_times: times of the measured levels, h, (n, n_levels).
        levels: measured levels, mg/L, (n, n_levels).
        level_high: their cap, mg/L.
        level_mask: which levels were measured, (n, n_levels).
        step: decision steps taken, (n,).
        interval_h: the dosing interval, h (the time is ``step * interval_h``).
        out: the observation's arrays in the order of
            :class:`pkgym.envs.vancomycin.clinic.WardObservation`'s keys.
    """
    (o_cov, o_scr, o_crcl, o_doses, o_times, o_levels, o_mask, o_time) = out
    for p in range(step.shape[0]):
        for j in range(5):
            o_cov[p, j] = np.float32(min(covariates[j][p], covariate_highs[j]))
        for d in range(creatinine.shape[1]):
            o_scr[p, d] = np.float32(min(creatinine[p, d], creatinine_high))
            o_crcl[p, d] = np.float32(clearance[p, d])
        for s in range(doses.shape[1]):
            o_doses[p, s] = np.float32(doses[p, s])
        for k in range(levels.shape[1]):
            o_times[p, k] = np.float32(level_times[p, k])
            o_levels[p, k] = np.float32(min(levels[p, k], level_high))
            o_mask[p, k] = np.float32(level_mask[p, k])
        o_time[p, 0] = np.float32(step[p] * interval_h)
