"""What a vancomycin step hands back, compiled: the observation, the info and the reward.

The ward's records are updated in place by :func:`pkgym.envs.vancomycin.kernel.advance_ward`;
this module reads them out in one compiled pass per product (the same numbers as the numpy
expressions it replaces, written into fresh arrays the caller allocates):
:func:`write_observation` (the float32 observation), :func:`write_info` (the info arrays) and,
with the step itself, :func:`step_and_score` (the default reward of every patient),
:func:`step_and_read` (the step, reward, observation and info of every patient in one call per
row chunk) and :func:`step_one` (the same for one patient into flat buffers: a single env pays
for one compiled call per step, not four). Each batched kernel takes the rows ``start..stop``
it writes; its ``*_chunks`` twin runs it on ``n_chunks`` row chunks over numba's threads
(``prange``), and :func:`by_rows` picks one or the other for a batch (every patient's
arithmetic is the same whichever thread does it).

Numba caches compiled code on disk per source file: this module's kernels inline
:func:`pkgym.envs.vancomycin.kernel.step_patients`, so an edit there is not seen here until this
module's ``__pycache__`` numba files are removed (as the kernel's own note says of the models).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba
import numpy as np

from pkgym.envs.vancomycin.kernel import named_arrays, named_constants, step_patients
from pkgym.models.kidney import kdigo_stage_of

INFO_KEYS = ("time_h", "dose_mg", "auc24_mg_h_per_l", "auc24_over_mic", "in_target_range",
             "aki", "had_aki", "kdigo_stage", "creatinine_mg_per_dl", "concentration_mg_per_l",
             "central_amount_mg", "peripheral_amount_mg", "auc_interval_mg_h_per_l",
             "clearance_l_per_h", "central_volume_l", "peripheral_volume_l",
             "intercompartmental_clearance_l_per_h")
"""The numeric info keys :func:`write_info` fills, in the info's order (``patient_id`` and
``seed_entropy`` follow)."""
INFO_DTYPES = tuple(bool if key in ("in_target_range", "aki", "had_aki") else
                    np.int64 if key == "kdigo_stage" else np.float64 for key in INFO_KEYS)
"""The dtype of each of :data:`INFO_KEYS`."""
INFO_FLAGS = tuple(k for k, dtype in enumerate(INFO_DTYPES) if dtype is bool)
"""Positions of the yes/no entries of :data:`INFO_KEYS`."""
INFO_STAGE = INFO_KEYS.index("kdigo_stage")


PARALLEL_FROM = 4096
"""Batches of at least this many patients run in row chunks on numba's threads."""
MIN_ROWS_PER_CHUNK = 2048
"""Rows below which a chunk is not worth a thread (handing it over costs more)."""


def row_chunks(n: int) -> int:
    """How many row chunks a batch of ``n`` patients runs in.

    One below :data:`PARALLEL_FROM`, else one per numba thread (``numba.get_num_threads()``),
    each of at least :data:`MIN_ROWS_PER_CHUNK` rows.

    Examples:
        >>> row_chunks(100)
        1
    """
    if n < PARALLEL_FROM:
        return 1
    return max(1, min(numba.get_num_threads(), n // MIN_ROWS_PER_CHUNK))


def by_rows(rows_kernel: Callable[..., None], chunks_kernel: Callable[..., None], n: int,
            *args: Any) -> None:
    """A batched kernel over all ``n`` rows: on this thread, or in row chunks on numba's.

    ``rows_kernel(*args, 0, n)``, or ``chunks_kernel(*args, k)`` when :func:`row_chunks`
    gives ``k > 1`` (the same numbers).
    """
    k = row_chunks(n)
    if k == 1:
        rows_kernel(*args, 0, n)
    else:
        chunks_kernel(*args, k)


_kdigo_stage = numba.njit(cache=True, error_model="numpy", inline="always")(kdigo_stage_of)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _write_observation(covariates: tuple, covariate_highs: np.ndarray, creatinine: np.ndarray,
                       creatinine_high: float, clearance: np.ndarray, doses: np.ndarray,
                       level_times: np.ndarray, levels: np.ndarray, level_high: float,
                       level_mask: np.ndarray, step: np.ndarray, interval_h: float,
                       out: tuple, start: int, stop: int) -> None:
    """The loop of :func:`write_observation` (inlined into its callers)."""
    (o_cov, o_scr, o_crcl, o_doses, o_times, o_levels, o_mask, o_time) = out
    for p in range(start, stop):
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


@numba.njit(cache=True, error_model="numpy", nogil=True)
def write_observation(covariates: tuple, covariate_highs: np.ndarray, creatinine: np.ndarray,
                      creatinine_high: float, clearance: np.ndarray, doses: np.ndarray,
                      level_times: np.ndarray, levels: np.ndarray, level_high: float,
                      level_mask: np.ndarray, step: np.ndarray, interval_h: float,
                      out: tuple, start: int, stop: int) -> None:
    """The ward's float32 observation of rows ``start..stop``, written into ``out``.

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
        start: the first row to write.
        stop: the row after the last.
    """
    _write_observation(covariates, covariate_highs, creatinine, creatinine_high, clearance,
                       doses, level_times, levels, level_high, level_mask, step, interval_h,
                       out, start, stop)


@numba.njit(cache=True, error_model="numpy", nogil=True, parallel=True)
def write_observation_chunks(covariates: tuple, covariate_highs: np.ndarray,
                             creatinine: np.ndarray, creatinine_high: float,
                             clearance: np.ndarray, doses: np.ndarray, level_times: np.ndarray,
                             levels: np.ndarray, level_high: float, level_mask: np.ndarray,
                             step: np.ndarray, interval_h: float, out: tuple,
                             n_chunks: int) -> None:
    """:func:`write_observation` of every row, in ``n_chunks`` row chunks on numba's threads."""
    n = step.shape[0]
    for c in numba.prange(n_chunks):
        write_observation(covariates, covariate_highs, creatinine, creatinine_high, clearance,
                          doses, level_times, levels, level_high, level_mask, step, interval_h,
                          out, c * n // n_chunks, (c + 1) * n // n_chunks)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _write_info(plain_ward: tuple, interval_h: float, out: tuple, start: int,
                stop: int) -> None:
    """The loop of :func:`write_info` (inlined into its callers)."""
    ward = named_arrays(plain_ward)
    course, metrics = ward.course, ward.metrics
    amounts, volumes = course.amounts_mg, course.volumes_l
    (time_h, dose, auc24, ratio, in_range, aki, had_aki, stage, scr, concentration, central,
     peripheral, auc_interval, clearance, v1, v2, q) = out
    for p in range(start, stop):
        s = course.step[p]
        started, last = s > 0, max(s - 1, 0)
        time_h[p] = s * interval_h
        dose[p] = ward.history.doses_mg[p, last] if started else 0.0
        auc24[p], ratio[p] = metrics.auc24_mg_h_per_l[p], metrics.auc24_over_mic[p]
        in_range[p], aki[p] = metrics.in_target_range[p] and started, metrics.aki[p]
        had_aki[p] = course.injury_factor[p] > 1.0
        stage[p] = _kdigo_stage(course.creatinine_mg_per_dl[p],
                                course.baseline_creatinine_mg_per_dl[p])
        scr[p] = course.creatinine_mg_per_dl[p]
        concentration[p] = amounts[p, 0] / volumes[p, 0]
        central[p], peripheral[p] = amounts[p, 0], amounts[p, 1]
        auc_interval[p] = course.auc_by_step_mg_h_per_l[p, last] if started else 0.0
        clearance[p] = course.clearance_l_per_h[p]
        v1[p], v2[p] = volumes[p, 0], volumes[p, 1]
        q[p] = course.intercompartmental_clearance_l_per_h[p, 0]


@numba.njit(cache=True, error_model="numpy", nogil=True)
def write_info(plain_ward: tuple, interval_h: float, out: tuple, start: int, stop: int) -> None:
    """The numeric info of rows ``start..stop`` (:data:`INFO_KEYS`), written into ``out``.

    The same numbers as the numpy expressions of the info: the dose and interval AUC of the
    last step (0 before the first), AUC24/MIC in range only once started, the KDIGO stage
    (:func:`pkgym.models.kidney.kdigo_stage_of`), the concentration as central amount over
    central volume.

    Args:
        plain_ward: the records' arrays, ``plain(WardArrays(...))``.
        interval_h: the dosing interval, h (the time is ``step * interval_h``).
        out: one (n,) array per :data:`INFO_KEYS` entry, of :data:`INFO_DTYPES`.
        start: the first row to write.
        stop: the row after the last.
    """
    _write_info(plain_ward, interval_h, out, start, stop)


@numba.njit(cache=True, error_model="numpy", nogil=True, parallel=True)
def write_info_chunks(plain_ward: tuple, interval_h: float, out: tuple, n_chunks: int) -> None:
    """:func:`write_info` of every row, in ``n_chunks`` row chunks on numba's threads."""
    n = plain_ward[1][0].shape[0]
    a, b, c, d, e, f, g = plain_ward  # a parfor takes flat tuples, not nested ones
    for k in numba.prange(n_chunks):
        write_info((a, b, c, d, e, f, g), interval_h, out, k * n // n_chunks,
                   (k + 1) * n // n_chunks)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _score_rewards(weights: tuple, metrics: tuple, reward: np.ndarray, start: int,
                   stop: int) -> None:
    """:class:`pkgym.envs.vancomycin.clinic.AucTargetReward` of rows ``start..stop``.

    In its order of operations; nothing when ``reward`` is empty (an injected reward).
    """
    bonus, penalty, aki_penalty = weights
    _, _, in_range, distance, aki = metrics
    for p in range(start, stop if reward.shape[0] else start):
        reward[p] = (bonus * in_range[p] - penalty * distance[p] / 100.0
                     - aki_penalty * aki[p])


@numba.njit(cache=True, error_model="numpy", nogil=True)
def step_and_score(plain_constants: tuple, sample_slots: np.ndarray, doses_mg: np.ndarray,
                   plain_ward: tuple, weights: tuple, reward: np.ndarray, start: int,
                   stop: int) -> None:
    """:func:`pkgym.envs.vancomycin.kernel.advance_ward` of rows ``start..stop``, then scored.

    ``weights``: the reward's ``(in_range_bonus, penalty_per_100_outside, aki_penalty)``;
    ``reward`` (n,) receives it, or is empty (0,) for the step alone (an injected reward);
    ``start``, ``stop``: the rows.
    """
    none = np.empty((0, 2))
    step_patients(named_constants(plain_constants), sample_slots, doses_mg,
                  named_arrays(plain_ward), (none, none, none, none[:, 0]), start, stop)
    _score_rewards(weights, plain_ward[6], reward, start, stop)


@numba.njit(cache=True, error_model="numpy", nogil=True, parallel=True)
def step_and_score_chunks(plain_constants: tuple, sample_slots: np.ndarray,
                          doses_mg: np.ndarray, plain_ward: tuple, weights: tuple,
                          reward: np.ndarray, n_chunks: int) -> None:
    """:func:`step_and_score` of every row, in ``n_chunks`` row chunks on numba's threads."""
    n = doses_mg.shape[0]
    a, b, c, d, e, f, g = plain_ward  # a parfor takes flat tuples, not nested ones
    law, kidney, assay, rest = plain_constants[0], plain_constants[1], plain_constants[2], \
        plain_constants[3:]
    for k in numba.prange(n_chunks):
        step_and_score((law, kidney, assay) + rest, sample_slots, doses_mg,
                       (a, b, c, d, e, f, g), weights, reward, k * n // n_chunks,
                       (k + 1) * n // n_chunks)


@numba.njit(cache=True, error_model="numpy", nogil=True)
def step_and_read(plain_constants: tuple, sample_slots: np.ndarray, doses_mg: np.ndarray,
                  plain_ward: tuple, weights: tuple, reward: np.ndarray, observed: tuple,
                  observation: tuple, info: tuple, start: int, stop: int) -> None:
    """:func:`step_and_score`, then the observation and the info of rows ``start..stop``.

    Args:
        plain_constants: the ward's constants, ``plain(ward_constants(...))``.
        sample_slots: level slot of each step's trough and peak, -1 for none, (n_steps, 2).
        doses_mg: dose to infuse now, (n,).
        plain_ward: the records' arrays, ``plain(WardArrays(...))``.
        weights: the default reward's weights (as :func:`step_and_score`).
        reward: (n,), receives the default reward.
        observed: the covariates (n,) each, their caps, the creatinine and level caps and
            the interval (what :func:`write_observation` takes besides the records).
        observation: its ``out``, one (n, size) float32 array per observation key.
        info: one (n,) array per :data:`INFO_KEYS` entry, of :data:`INFO_DTYPES`.
        start: the first row to step and read.
        stop: the row after the last.
    """
    step_and_score(plain_constants, sample_slots, doses_mg, plain_ward, weights, reward,
                   start, stop)
    _read_out(plain_ward, observed, observation, info, start, stop)


@numba.njit(cache=True, error_model="numpy", nogil=True, parallel=True)
def step_and_read_chunks(plain_constants: tuple, sample_slots: np.ndarray,
                         doses_mg: np.ndarray, plain_ward: tuple, weights: tuple,
                         reward: np.ndarray, observed: tuple, observation: tuple, info: tuple,
                         n_chunks: int) -> None:
    """:func:`step_and_read` of every row, in ``n_chunks`` row chunks on numba's threads."""
    n = doses_mg.shape[0]
    a, b, c, d, e, f, g = plain_ward  # a parfor takes flat tuples, not nested ones
    law, kidney, assay, rest = plain_constants[0], plain_constants[1], plain_constants[2], \
        plain_constants[3:]
    covariates, highs, creatinine_high, level_high, interval_h = observed
    for k in numba.prange(n_chunks):
        step_and_read((law, kidney, assay) + rest, sample_slots, doses_mg,
                      (a, b, c, d, e, f, g), weights, reward,
                      (covariates, highs, creatinine_high, level_high, interval_h),
                      observation, info, k * n // n_chunks, (k + 1) * n // n_chunks)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _read_out(plain_ward: tuple, observed: tuple, observation: tuple, info: tuple, start: int,
              stop: int) -> None:
    """The observation and the info of rows ``start..stop`` of ``plain_ward``."""
    covariates, covariate_highs, creatinine_high, level_high, interval_h = observed
    ward = named_arrays(plain_ward)
    labs, assays, history = ward.labs, ward.assays, ward.history
    _write_observation(covariates, covariate_highs, labs.creatinine_mg_per_dl, creatinine_high,
                       labs.creatinine_clearance_ml_per_min, history.doses_mg,
                       assays.level_times_h, assays.levels_mg_per_l, level_high,
                       assays.level_mask, ward.course.step, interval_h, observation, start,
                       stop)
    _write_info(plain_ward, interval_h, info, start, stop)


@numba.njit(cache=True, error_model="numpy")
def step_one(plain_constants: tuple, sample_slots: np.ndarray, doses_mg: np.ndarray,
             plain_ward: tuple, weights: tuple, reward: np.ndarray, observed: tuple,
             observation: np.ndarray, info: np.ndarray) -> None:
    """One patient's whole step: :func:`step_and_score`, its observation and its info numbers.

    Args:
        plain_constants: the ward's constants, ``plain(ward_constants(...))``.
        sample_slots: level slot of each step's trough and peak, -1 for none, (n_steps, 2).
        doses_mg: the dose, (1,).
        plain_ward: the records' arrays (a batch of one), ``plain(WardArrays(...))``.
        weights: the default reward's weights (as :func:`step_and_score`).
        reward: (1,) to receive the default reward, or (0,) for an injected reward (which the
            caller then scores).
        observed: as in :func:`step_and_read`.
        observation: the flat float32 observation, the keys' arrays one after the other.
        info: float64 (len(INFO_KEYS),), the info numbers (flags and stage as 0/1, 0-3).
    """
    step_and_score(plain_constants, sample_slots, doses_mg, plain_ward, weights, reward, 0, 1)
    days, steps = plain_ward[5][0].shape[1], plain_ward[3][0].shape[1]
    levels = plain_ward[4][0].shape[1]
    ends = (5, 5 + days, 5 + 2 * days, 5 + 2 * days + steps, 5 + 2 * days + steps + levels,
            5 + 2 * days + steps + 2 * levels, 5 + 2 * days + steps + 3 * levels,
            6 + 2 * days + steps + 3 * levels)
    _read_out(plain_ward, observed, (
        observation[:ends[0]].reshape((1, -1)), observation[ends[0]:ends[1]].reshape((1, -1)),
        observation[ends[1]:ends[2]].reshape((1, -1)),
        observation[ends[2]:ends[3]].reshape((1, -1)),
        observation[ends[3]:ends[4]].reshape((1, -1)),
        observation[ends[4]:ends[5]].reshape((1, -1)),
        observation[ends[5]:ends[6]].reshape((1, -1)),
        observation[ends[6]:ends[7]].reshape((1, -1))), (
        info[0:1], info[1:2], info[2:3], info[3:4], info[4:5], info[5:6], info[6:7], info[7:8],
        info[8:9], info[9:10], info[10:11], info[11:12], info[12:13], info[13:14],
        info[14:15], info[15:16], info[16:17]), 0, 1)
