"""One dosing interval of a vancomycin ward, compiled: the fast path of ``Vancomycin-v0``.

:func:`advance_ward` does in one ``numba`` call, in one pass over the patients, what a numpy
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
    none = np.empty((0, 2))
    step_patients(named_constants(plain_constants), sample_slots, doses_mg,
                  named_arrays(plain_ward), (none, none, none, none[:, 0]), 0,
                  doses_mg.shape[0])


@numba.njit(cache=True, error_model="numpy", inline="always")
def step_patients(constants: WardConstants, sample_slots: np.ndarray, doses_mg: np.ndarray,
                  ward: WardArrays, given: tuple, start: int, stop: int) -> None:
    """The step of rows ``start..stop`` in one pass: history, PK, score, kidneys, labs, assays.

    Each patient goes through the whole step while its rows are in cache; patients are
    independent, so the numbers are those of one pass per stage. The arrays are taken out
    of their bundles before the loop (an array handed to a helper per patient costs
    reference counting); the per-patient helpers take and return numbers.

    Args:
        constants: the ward's constants.
        sample_slots: level slot of each step's trough and peak, -1 for none, (n_steps, 2).
        doses_mg: dose to infuse now, (n,).
        ward: the records' arrays.
        given: the PK interval computed elsewhere (the torch path), else four empty arrays:
            trough and peak offsets (n, 2) h, their levels (n, 2) mg/L, the end amounts
            (n, 2) mg and the interval AUCs (n,) mg*h/L.
        start: the first row to step (every patient's numbers are the same whichever rows
            go together, so row chunks may run on different threads).
        stop: the row after the last.
    """
    offsets, levels, ends, interval_aucs = given
    pk_here, interval = offsets.shape[0] == 0, constants.interval_h
    course, history, patients, labs = ward.course, ward.history, ward.patients, ward.labs
    step, amounts, clearance = course.step, course.amounts_mg, course.clearance_l_per_h
    volumes, q = course.volumes_l, course.intercompartmental_clearance_l_per_h
    aucs, scr, injury = course.auc_by_step_mg_h_per_l, course.creatinine_mg_per_dl, \
        course.injury_factor
    given_doses, infusion, by_step = history.doses_mg, history.infusion_h, \
        history.amounts_by_step_mg
    auc24s, ratios, in_range, distances, aki = ward.metrics
    kidney_u, level_u, scr_normals = ward.noise
    level_times, level_values, level_mask = ward.assays
    for p in range(start, stop):
        s, dose = step[p], doses_mg[p]
        duration = infusion_time_h(dose, constants.max_infusion_rate_mg_per_h,
                                   constants.min_infusion_h)
        given_doses[p, s], infusion[p, s] = dose, duration
        history.clearance_by_step_l_per_h[p, s] = clearance[p]
        by_step[p, s, 0], by_step[p, s, 1] = amounts[p, 0], amounts[p, 1]
        if pk_here:
            t_trough = interval - TROUGH_BEFORE_H
            t_peak = min(duration + PEAK_AFTER_END_H, interval)
            trough, peak, amounts[p, 0], amounts[p, 1], aucs[p, s] = infuse_two_compartment(
                amounts[p, 0], amounts[p, 1], clearance[p], volumes[p, 0], volumes[p, 1],
                q[p, 0], dose, duration, interval, t_trough, t_peak)
        else:
            t_trough, t_peak, trough, peak = offsets[p, 0], offsets[p, 1], levels[p, 0], \
                levels[p, 1]
            amounts[p, 0], amounts[p, 1], aucs[p, s] = ends[p, 0], ends[p, 1], interval_aucs[p]
        auc24 = 0.0
        for j in range(max(s - constants.steps_per_day + 1, 0), s + 1):
            auc24 += aucs[p, j]
        auc24s[p], ratios[p], in_range[p], distances[p] = _score(constants, auc24)
        aki[p] = False
        if (s + 1) % constants.steps_per_day == 0:
            day = int(s * interval // HOURS_PER_DAY)
            u_event = 1.0 if patients.on_dialysis[p] == 1.0 else kidney_u[p, day, 0]
            scr[p], injury[p], aki[p] = kidney_day(
                constants.kidney, course.baseline_creatinine_mg_per_dl[p], scr[p], injury[p],
                auc24, u_event, kidney_u[p, day, 1], ndtri(kidney_u[p, day, 2]))
            clearance[p] = _clearance(constants.law, patients, p, scr[p])
            if day + 1 < constants.n_days:
                labs.creatinine_mg_per_dl[p, day + 1], labs.creatinine_clearance_ml_per_min[
                    p, day + 1] = _lab(constants, patients, p, scr[p], scr_normals[p, day + 1])
                labs.true_creatinine_mg_per_dl[p, day + 1] = scr[p]
        for column in range(2):
            slot = sample_slots[s, column]
            if slot >= 0:
                value, censored = measure_value(constants.assay, trough if column == 0 else peak,
                                                level_u[p, slot])
                level_values[p, slot], level_mask[p, slot] = (0.0 if censored else value,
                                                              not censored)
                level_times[p, slot] = s * interval + (t_trough if column == 0 else t_peak)
        step[p] = s + 1


@numba.njit(cache=True, error_model="numpy", inline="always")
def _score(constants: WardConstants, auc24: float) -> tuple:
    """The step's metrics from the 24-h AUC: (AUC24, AUC24/MIC, in range, distance to range)."""
    ratio = auc24 / constants.mic_mg_per_l
    distance = (max(constants.target_low_auc24_over_mic - ratio, 0.0)
                + max(ratio - constants.target_high_auc24_over_mic, 0.0))
    return auc24, ratio, distance == 0.0, distance


@numba.njit(cache=True, error_model="numpy", inline="always")
def _clearance(law: ClearanceLaw, patients: WardPatients, p: int, scr: float) -> float:
    """Patient ``p``'s vancomycin clearance at true creatinine ``scr``, L/h."""
    crcl = vancomycin_creatinine_clearance(law, patients.age_years[p], patients.weight_kg[p],
                                           scr, patients.is_female[p])
    return vancomycin_clearance(law, crcl, patients.weight_kg[p], patients.on_dialysis[p],
                                patients.etas[p, 0], patients.age_years[p], scr,
                                patients.etas[p, 1])


@numba.njit(cache=True, error_model="numpy", inline="always")
def _lab(constants: WardConstants, patients: WardPatients, p: int, true_scr: float,
         normal: float) -> tuple:
    """Patient ``p``'s measured morning creatinine (assay ``normal``) and the CrCL from it."""
    measured = true_scr * math.exp(constants.creatinine_assay_cv * normal)
    return measured, vancomycin_creatinine_clearance(
        constants.law, patients.age_years[p], patients.weight_kg[p], measured,
        patients.is_female[p])


@numba.njit(cache=True, error_model="numpy", inline="always")
def _write_lab(constants: WardConstants, p: int, day: int, true_scr: float,
               patients: WardPatients, normals: np.ndarray, labs: WardLabs) -> None:
    """Morning creatinine of patient ``p`` on ``day``: measured, true, and CrCL from it."""
    labs.creatinine_mg_per_dl[p, day], labs.creatinine_clearance_ml_per_min[p, day] = _lab(
        constants, patients, p, true_scr, normals[p, day])
    labs.true_creatinine_mg_per_dl[p, day] = true_scr


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
