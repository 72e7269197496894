"""One dosing interval of a vancomycin ward, compiled: the fast path of ``Vancomycin-v0``.

:func:`advance_ward` does in one ``numba`` call, patient by patient, what the numpy
reference does in about 200 small array operations: the exact two-compartment interval of
:func:`pkgym.models.vancomycin_course.advance_interval` (levels at the trough and peak
offsets, mass-balance AUC, the 24-h AUC window, the end-of-day kidney update of
:func:`pkgym.models.kidney.advance_kidney_day` and the new clearance), the Goti combined
assay error of :meth:`pkgym.populations.ResidualError.measure_from_uniforms`, the morning
creatinine lab and the step's AUC24/MIC metrics. The numpy path stays the reference: tests
hold the two to 1e-12.

The kernel is pure in the numba sense: no RNG (all noise arrives pre-drawn), no I/O, no
hidden state; it writes its results into the arrays it is given (the core's records).

Numba caches compiled code on disk per source file: edits to :mod:`pkgym.sim.normal` are
not seen by this module's cache until its ``__pycache__`` numba files are removed.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from pkgym.models.kidney import KidneyInjuryParams
from pkgym.models.vancomycin import Goti2018
from pkgym.models.vancomycin_course import PEAK_AFTER_END_H, TROUGH_BEFORE_H, CourseConfig
from pkgym.populations import ResidualError
from pkgym.sim.normal import ndtri, normal_ppf_above

# Indices of the packed constants (see pack_constants).
INTERVAL_H, MAX_RATE_MG_PER_H, MIN_INFUSION_H, STEPS_PER_DAY, N_DAYS = 0, 1, 2, 3, 4
CL_POP_L_PER_H, CRCL_EXPONENT, CRCL_REF_ML_PER_MIN, CRCL_CAP_ML_PER_MIN = 5, 6, 7, 8
DIALYSIS_CL_FACTOR, ELDERLY_FLOOR = 9, 10
AKI_HAZARD_PER_DAY, AKI_LOG_HR_PER_100, AKI_REF_AUC, CREATININE_CV, CREATININE_RETURN = (
    11, 12, 13, 14, 15)
INJURY_LOW, INJURY_HIGH = 16, 17
ASSAY_ADD_SD, ASSAY_PROP_SD, ASSAY_LLOQ, CREATININE_ASSAY_CV = 18, 19, 20, 21
TARGET_LOW, TARGET_HIGH, MIC_MG_PER_L = 22, 23, 24
N_CONSTANTS = 25


def pack_constants(config: CourseConfig | None = None, model: Goti2018 | None = None,
                   kidney: KidneyInjuryParams | None = None, assay: ResidualError | None = None,
                   creatinine_assay_cv: float = 0.025,
                   target_auc24_over_mic: tuple[float, float] = (400.0, 600.0),
                   mic_mg_per_l: float = 1.0) -> np.ndarray:
    """The kernel's constants as one float64 array (``None`` gives the defaults).

    Args:
        config: course timing.
        model: the Goti 2018 parameters.
        kidney: the AKI hazard and creatinine variability.
        assay: the level assay error (default ``model.residual_error``).
        creatinine_assay_cv: analytical CV of creatinine, fraction.
        target_auc24_over_mic: target range of AUC24/MIC, mg*h/L.
        mic_mg_per_l: the pathogen's MIC, mg/L.

    Examples:
        >>> k = pack_constants()
        >>> k.shape, float(k[INTERVAL_H]), bool(np.isnan(k[ASSAY_LLOQ]))
        ((25,), 12.0, True)
    """
    config, model = config or CourseConfig(), model or Goti2018()
    kidney, assay = kidney or KidneyInjuryParams(), assay or model.residual_error
    k = np.empty(N_CONSTANTS)
    k[[INTERVAL_H, MAX_RATE_MG_PER_H, MIN_INFUSION_H, STEPS_PER_DAY, N_DAYS]] = (
        config.interval_h, config.max_infusion_rate_mg_per_h, config.min_infusion_h,
        config.steps_per_day, config.n_days)
    k[[CL_POP_L_PER_H, CRCL_EXPONENT, CRCL_REF_ML_PER_MIN, CRCL_CAP_ML_PER_MIN,
       DIALYSIS_CL_FACTOR, ELDERLY_FLOOR]] = (
        model.clearance_l_per_h, model.creatinine_clearance_exponent,
        model.reference_creatinine_clearance_ml_per_min,
        model.creatinine_clearance_cap_ml_per_min, model.dialysis_clearance_factor,
        float(model.elderly_creatinine_floor))
    k[AKI_HAZARD_PER_DAY:INJURY_HIGH + 1] = (
        kidney.baseline_aki_hazard_per_day, kidney.log_hazard_ratio_per_100_auc,
        kidney.reference_auc_mg_h_per_l, kidney.creatinine_cv, kidney.creatinine_return_per_day,
        kidney.injury_factor_low, kidney.injury_factor_high)
    k[ASSAY_ADD_SD:MIC_MG_PER_L + 1] = (
        assay.additive_sd, assay.proportional_sd, np.nan if assay.lloq is None else assay.lloq,
        creatinine_assay_cv, *target_auc24_over_mic, mic_mg_per_l)
    return k


@numba.njit(cache=True, error_model="numpy")
def goti_creatinine_clearance(k: np.ndarray, age: float, weight: float, scr: float,
                              female: float) -> float:
    """Goti's Cockcroft-Gault CrCL, mL/min (elderly floor, cap), ``k`` the constants.

    Examples:
        >>> k = pack_constants()
        >>> round(goti_creatinine_clearance(k, 70.0, 70.0, 0.7, 0.0), 2)
        68.06
    """
    if k[ELDERLY_FLOOR] > 0.0 and age > 60.0:
        scr = max(scr, 1.0)
    crcl = (140.0 - age) * weight / (72.0 * scr)
    if female != 0.0:
        crcl = 0.85 * crcl
    return min(crcl, k[CRCL_CAP_ML_PER_MIN])


@numba.njit(cache=True, error_model="numpy")
def goti_clearance(k: np.ndarray, crcl: float, dialysis: float, eta: float) -> float:
    """Goti's vancomycin CL, L/h, from CrCL (mL/min), dialysis (0/1) and eta_CL.

    Examples:
        >>> k = pack_constants()
        >>> round(goti_clearance(k, 80.0, 0.0, 0.0), 3)
        3.253
    """
    renal = (min(crcl, k[CRCL_CAP_ML_PER_MIN]) / k[CRCL_REF_ML_PER_MIN]) ** k[CRCL_EXPONENT]
    return k[CL_POP_L_PER_H] * renal * k[DIALYSIS_CL_FACTOR] ** dialysis * math.exp(eta)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _expm1_ratio(x: float) -> float:
    """``(exp(x) - 1) / x``, 1 at 0."""
    return 1.0 if x == 0.0 else math.expm1(x) / x


@numba.njit(cache=True, error_model="numpy")
def two_compartment_basis(cl: float, v1: float, v2: float, q: float) -> tuple:
    """Modal basis of a 2-compartment model: (lam0, lam1, cos, sin, sqrt V1, sqrt V2).

    One Jacobi rotation of the symmetric matrix, as ``pkgym.sim.modal._eigh_2x2``: the
    eigenvectors are the columns (c, s) and (-s, c).

    Examples:
        >>> lam0, lam1, *_ = two_compartment_basis(5.0, 50.0, 50.0, 1e-12)
        >>> round(min(lam0, lam1), 12)
        -0.1
    """
    r0, r1 = math.sqrt(v1), math.sqrt(v2)
    a, b, d = -(cl + q) / (r0 * r0), q / (r0 * r1), -q / (r1 * r1)
    theta = 0.5 * math.atan2(2.0 * b, a - d)
    c, s = math.cos(theta), math.sin(theta)
    first = a * c * c + 2.0 * b * c * s + d * s * s
    second = a * s * s - 2.0 * b * c * s + d * c * c
    return min(first, 0.0), min(second, 0.0), c, s, r0, r1


@numba.njit(cache=True, error_model="numpy", inline="always")
def _mode_at(lam: float, z: float, w: float, rate: float, duration: float, t: float) -> float:
    """One mode at offset ``t``: free decay of ``z`` plus the infusion's response."""
    on = min(t, duration)
    gain = on * _expm1_ratio(lam * on) * math.exp(lam * (t - on))
    return math.exp(lam * t) * z + w * rate * gain


@numba.njit(cache=True, error_model="numpy")
def pk_interval(x0: float, x1: float, cl: float, v1: float, v2: float, q: float, dose: float,
                duration: float, interval: float, t_trough: float, t_peak: float) -> tuple:
    """Exact interval of an infusion from amounts (x0, x1) mg: levels, end amounts, AUC.

    Returns (trough level, peak level, central mg, peripheral mg, AUC mg*h/L), the levels
    at offsets ``t_trough`` and ``t_peak``; the same closed form as
    :func:`pkgym.sim.interval.infuse_interval`.

    Examples:
        >>> out = pk_interval(0.0, 0.0, 5.0, 50.0, 38.4, 6.5, 1000.0, 1.0, 12.0, 11.5, 2.0)
        >>> round(out[4], 1) > 0, out[2] > 0
        (True, True)
    """
    lam0, lam1, c, s, r0, r1 = two_compartment_basis(cl, v1, v2, q)
    z0, z1 = c / r0 * x0 + s / r1 * x1, -s / r0 * x0 + c / r1 * x1  # to_modal
    w0, w1 = c / r0, -s / r0  # input weights (also read C from the modes)
    rate = dose / duration
    trough = (_mode_at(lam0, z0, w0, rate, duration, t_trough) * w0
              + _mode_at(lam1, z1, w1, rate, duration, t_trough) * w1)
    peak = (_mode_at(lam0, z0, w0, rate, duration, t_peak) * w0
            + _mode_at(lam1, z1, w1, rate, duration, t_peak) * w1)
    e0 = _mode_at(lam0, z0, w0, rate, duration, interval)
    e1 = _mode_at(lam1, z1, w1, rate, duration, interval)
    body_change = (e0 - z0) * (r0 * c + r1 * s) + (e1 - z1) * (r1 * c - r0 * s)
    auc = max((dose - body_change) / cl, 0.0)
    central, peripheral = c * r0 * e0 - s * r0 * e1, s * r1 * e0 + c * r1 * e1  # from_modal
    return trough, peak, max(central, 0.0), max(peripheral, 0.0), auc


@numba.njit(cache=True, error_model="numpy")
def kidney_day(k: np.ndarray, baseline: float, scr: float, injury: float, auc24: float,
               u_event: float, u_size: float, u_noise: float) -> tuple:
    """One day of :func:`pkgym.models.kidney.advance_kidney_day`: (creatinine, factor, aki).

    Examples:
        >>> k = pack_constants()
        >>> scr, factor, aki = kidney_day(k, 1.0, 1.0, 1.0, 500.0, 0.001, 0.5, 0.5)
        >>> round(scr, 3), factor, aki
        (1.376, 2.25, True)
    """
    excess = (auc24 - k[AKI_REF_AUC]) / 100.0
    hazard = k[AKI_HAZARD_PER_DAY] * math.exp(k[AKI_LOG_HR_PER_100] * excess)
    aki = injury <= 1.0 and u_event < -math.expm1(-hazard)
    if aki:
        injury = k[INJURY_LOW] + (k[INJURY_HIGH] - k[INJURY_LOW]) * u_size
    target = math.log(baseline * injury)
    keep = math.exp(-k[CREATININE_RETURN])
    sigma = math.sqrt(math.log1p(k[CREATININE_CV] ** 2) * (1.0 - keep ** 2))
    log_scr = target + (math.log(scr) - target) * keep + sigma * ndtri(u_noise)
    return math.exp(log_scr), injury, aki


@numba.njit(cache=True, error_model="numpy")
def measure_level(k: np.ndarray, true_mg_per_l: float, u: float) -> tuple:
    """A level with the combined assay error (truncated at 0): (value or 0, measured?).

    Censored values (below the LLOQ, NaN in the reference) come back as (0.0, False).

    Examples:
        >>> k = pack_constants()
        >>> value, measured = measure_level(k, 20.0, 0.5)
        >>> round(value, 6) > 20.0, measured
        (True, True)
    """
    f = max(true_mg_per_l, 0.0)
    sd = math.sqrt(k[ASSAY_ADD_SD] ** 2 + (k[ASSAY_PROP_SD] * f) ** 2)
    value = f
    if sd > 0.0:
        value = max(f + sd * normal_ppf_above(u, -f / sd), 0.0)
    if value < k[ASSAY_LLOQ]:  # a NaN LLOQ (none) never censors
        return 0.0, False
    return value, True


@numba.njit(cache=True, error_model="numpy")
def _close_day(k: np.ndarray, p: int, day: int, auc24: float, patients: tuple,
               kidney: tuple, kidney_uniforms: np.ndarray, clearance: np.ndarray) -> bool:
    """End patient ``p``'s ``day``: move its kidneys, recompute CL; return whether AKI began.

    Patients on haemodialysis have no residual renal function to injure: no AKI for them.
    """
    age, female, weight, dialysis, etas = patients
    baseline, scr, injury = kidney
    u = kidney_uniforms[p, day]
    u_event = 1.0 if dialysis[p] == 1.0 else u[0]
    scr[p], injury[p], aki = kidney_day(k, baseline[p], scr[p], injury[p], auc24, u_event,
                                        u[1], u[2])
    crcl = goti_creatinine_clearance(k, age[p], weight[p], scr[p], female[p])
    clearance[p] = goti_clearance(k, crcl, dialysis[p], etas[p, 0])
    return aki


@numba.njit(cache=True, error_model="numpy")
def _take_labs(k: np.ndarray, p: int, day: int, true_scr: float, patients: tuple,
               normals: np.ndarray, labs: tuple) -> None:
    """Morning creatinine of patient ``p`` on ``day``: measured, true, and CrCL from it."""
    measured_scr, true_scrs, crcls = labs
    age, female, weight = patients[0], patients[1], patients[2]
    measured = true_scr * math.exp(k[CREATININE_ASSAY_CV] * normals[p, day])
    measured_scr[p, day] = measured
    true_scrs[p, day] = true_scr
    crcls[p, day] = goti_creatinine_clearance(k, age[p], weight[p], measured, female[p])


@numba.njit(cache=True, error_model="numpy")
def take_labs(k: np.ndarray, days: np.ndarray, patients: tuple, creatinine_mg_per_dl: np.ndarray,
              normals: np.ndarray, labs: tuple) -> None:
    """Morning creatinine of every patient on its ``days`` entry (reset: day 0), in place.

    Args:
        k: packed constants.
        days: day of each patient's lab, (n,) int.
        patients: (age_years, is_female, weight_kg, ...) as in :func:`advance_ward`.
        creatinine_mg_per_dl: true creatinine now, (n,).
        normals: the episode's creatinine assay normals, (n, n_days).
        labs: (measured creatinine, true creatinine, CrCL), each (n, n_days); written.

    Examples:
        >>> labs = tuple(np.zeros((1, 7)) for _ in range(3))
        >>> people = (np.array([50.0]), np.zeros(1), np.array([70.0]))
        >>> take_labs(pack_constants(), np.zeros(1, np.int64), people, np.ones(1),
        ...           np.zeros((1, 7)), labs)
        >>> round(float(labs[2][0, 0]), 2)
        87.5
    """
    for p in range(days.shape[0]):
        _take_labs(k, p, days[p], creatinine_mg_per_dl[p], patients, normals, labs)


@numba.njit(cache=True, error_model="numpy")
def _measure(k: np.ndarray, p: int, slot: int, true_mg_per_l: float, time_h: float,
             uniforms: np.ndarray, assays: tuple) -> None:
    """Assay patient ``p``'s level into ``slot`` (time, value, measured flag)."""
    times, values, mask = assays
    values[p, slot], mask[p, slot] = measure_level(k, true_mg_per_l, uniforms[p, slot])
    times[p, slot] = time_h


@numba.njit(cache=True, error_model="numpy")
def _score(k: np.ndarray, p: int, auc24: float, aki: bool, metrics: tuple) -> None:
    """AUC24, AUC24/MIC, distance to the target range, in range, AKI of patient ``p``."""
    aucs24, ratios, in_range, distances, akis = metrics
    ratio = auc24 / k[MIC_MG_PER_L]
    distance = max(k[TARGET_LOW] - ratio, 0.0) + max(ratio - k[TARGET_HIGH], 0.0)
    aucs24[p], ratios[p], in_range[p], distances[p], akis[p] = (
        auc24, ratio, distance == 0.0, distance, aki)


@numba.njit(cache=True, error_model="numpy")
def advance_ward(k: np.ndarray, sample_slots: np.ndarray, doses_mg: np.ndarray,
                 course: tuple, patients: tuple, noise: tuple, history: tuple, assays: tuple,
                 labs: tuple, metrics: tuple) -> None:
    """Give every patient its dose and advance it one interval, in place (see module doc).

    Args:
        k: packed constants, ``(N_CONSTANTS,)`` (``ward_constants``).
        sample_slots: level slot of each step's trough and peak, -1 for none, (n_steps, 2).
        doses_mg: dose to infuse now, (n,).
        course: (step (n,) int, amounts_mg (n, 2), clearance_l_per_h (n,), volumes_l (n, 2),
            intercompartmental_clearance_l_per_h (n, 1), auc_by_step_mg_h_per_l (n, n_steps),
            baseline creatinine, creatinine, injury factor (n,) each); updated.
        patients: (age_years, is_female, weight_kg, on_dialysis (n,), etas (n, 3)).
        noise: (kidney uniforms (n, n_days, 3), level uniforms (n, n_levels), creatinine
            normals (n, n_days)).
        history: (doses_mg, infusion_h, clearance_by_step_l_per_h (n, n_steps),
            amounts_by_step_mg (n, n_steps, 2)); this step's column is written.
        assays: (level_times_h, levels_mg_per_l, level_mask (n, n_levels)); slots due written.
        labs: (creatinine_mg_per_dl, true_creatinine_mg_per_dl,
            creatinine_clearance_ml_per_min (n, n_days)); the next morning written.
        metrics: (auc24_mg_h_per_l, auc24_over_mic, in_target_range, distance_to_range,
            aki (n,)); overwritten.
    """
    step, amounts, clearance, volumes, q, aucs, _, _, _ = course
    interval = k[INTERVAL_H]
    for p in range(doses_mg.shape[0]):
        s, dose = step[p], doses_mg[p]
        duration = max(k[MIN_INFUSION_H], dose / k[MAX_RATE_MG_PER_H])
        record_history(history, p, s, dose, duration, clearance[p], amounts)
        offsets = (interval - TROUGH_BEFORE_H, min(duration + PEAK_AFTER_END_H, interval))
        trough, peak, amounts[p, 0], amounts[p, 1], aucs[p, s] = pk_interval(
            amounts[p, 0], amounts[p, 1], clearance[p], volumes[p, 0], volumes[p, 1], q[p, 0],
            dose, duration, interval, offsets[0], offsets[1])
        finish_step(k, p, (trough, peak), (s * interval + offsets[0], s * interval + offsets[1]),
                    sample_slots, course, patients, noise, assays, labs, metrics)


@numba.njit(cache=True, error_model="numpy")
def record_history(history: tuple, p: int, s: int, dose: float, duration: float,
                   clearance: float, amounts: np.ndarray) -> None:
    """Write step ``s`` of patient ``p``'s dose, infusion, clearance and starting amounts."""
    history[0][p, s], history[1][p, s], history[2][p, s] = dose, duration, clearance
    history[3][p, s, 0], history[3][p, s, 1] = amounts[p, 0], amounts[p, 1]


@numba.njit(cache=True, error_model="numpy")
def finish_step(k: np.ndarray, p: int, levels: tuple, times_h: tuple, sample_slots: np.ndarray,
                course: tuple, patients: tuple, noise: tuple, assays: tuple, labs: tuple,
                metrics: tuple) -> None:
    """Everything after patient ``p``'s PK interval (its AUC already in ``course``).

    The 24-h AUC, the day's kidney update and next-morning labs at a day's end, the trough
    and peak levels due (``levels`` at ``times_h``), and the step's score; shared by both
    backends, so the torch path differs from numpy only in the PK interval.
    """
    step, _, clearance, _, _, aucs, baseline, scr, injury = course
    interval, per_day = k[INTERVAL_H], int(k[STEPS_PER_DAY])
    s = step[p]
    day = int(s * interval // 24.0)
    auc24 = 0.0
    for j in range(max(s - per_day + 1, 0), s + 1):
        auc24 += aucs[p, j]
    step[p] = s + 1
    aki = False
    if (s + 1) % per_day == 0:
        aki = _close_day(k, p, day, auc24, patients, (baseline, scr, injury), noise[0],
                         clearance)
        if day + 1 < int(k[N_DAYS]):
            _take_labs(k, p, day + 1, scr[p], patients, noise[2], labs)
    for column in range(2):
        if sample_slots[s, column] >= 0:
            _measure(k, p, sample_slots[s, column], levels[column], times_h[column], noise[1],
                     assays)
    _score(k, p, auc24, aki, metrics)
