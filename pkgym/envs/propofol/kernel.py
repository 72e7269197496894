"""The theatre's step, compiled: propagation, BIS, the delayed monitor, counts and reward.

:func:`advance_rows` does in one pass per patient what the numpy step did in many array
calls (kept bit for bit: the same float64 operations in the same order, no fastmath;
``tests/envs/propofol/test_propofol_bit_identity.py`` compares every trajectory byte for
byte with ones recorded from the numpy step), in two passes around the one numpy call
left, the Hill power: :func:`propagate_rows`, then :func:`score_rows`. numpy's ``**`` runs
a SIMD ``pow`` on CPUs that have one (AVX-512 here), which differs from libm's (numba's) in
the last bit for about 5 % of arguments. :func:`observe_rows` builds the clinic's float32
observation. :func:`interp` is ``np.interp`` for one point (numpy's search and formula).

The record arrays travel as one plain tuple in :data:`STEP_FIELDS` order (numba types a
tuple of arrays once per call, cheaper than many arguments).
"""

from __future__ import annotations

from operator import attrgetter

import numba
import numpy as np

STEP_FIELDS = ("covariates", "pd", "transition", "input", "lag_steps", "delay_transition",
               "delay_input", "step", "states", "rates", "bis_true", "bis_measured", "noise",
               "in_range", "below_40", "above_60", "induction_step", "total_mg_per_kg",
               "reward")
"""The :class:`~pkgym.envs.propofol.records.ClinicRecords` fields the step kernels use."""
STEP_ARRAYS = attrgetter(*STEP_FIELDS)
"""The tuple of those arrays of a records object."""
LOW, HIGH = 40.0, 60.0  # BIS_TARGET (clinic), repeated as compile-time constants
OBSERVE_BLOCK = 64
"""Patients per block of :func:`observe_rows`."""


@numba.njit(cache=True, nogil=True, inline="always")
def interp(x: float, xp: np.ndarray, fp: np.ndarray, left: float, right: float) -> float:
    """``np.interp(x, xp, fp, left, right)`` for one point, as numpy computes it."""
    n = xp.size
    if n == 1:
        return left if x < xp[0] else (right if x > xp[0] else fp[0])
    if x < xp[0]:
        return left
    if x > xp[n - 1]:
        return right
    lo, hi = 0, n - 1  # xp[lo] <= x, the last j with xp[j] <= x
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if xp[mid] <= x:
            lo = mid
        else:
            hi = mid
    j = n - 1 if x >= xp[n - 1] else lo
    if j == n - 1 or xp[j] == x:
        return fp[j]
    slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
    return slope * (x - xp[j]) + fp[j]


@numba.njit(cache=True, nogil=True, inline="always")
def clip(x: float, low: float, high: float) -> float:
    """``np.clip`` of one value."""
    x = x if x > low else low
    return x if x < high else high


@numba.njit(cache=True, nogil=True, inline="always")
def propagate(transition: np.ndarray, inputs: np.ndarray, p: int, state: np.ndarray,
              rate_mg_per_min: float, out: np.ndarray) -> None:
    """``out = transition[p] @ state + inputs[p] * rate`` (4 states, einsum's order of sums)."""
    for i in range(4):
        out[i] = ((transition[p, i, 0] * state[0] + transition[p, i, 2] * state[2])
                  + (transition[p, i, 1] * state[1] + transition[p, i, 3] * state[3])
                  + inputs[p, i] * rate_mg_per_min)


@numba.njit(cache=True, nogil=True)
def propagate_rows(rows: np.ndarray, rates: np.ndarray, rec: tuple, ce_ratio: np.ndarray,
                   gamma: np.ndarray) -> None:
    """Advance ``rows`` one step at ``rates`` (mg/kg/h), in place on the records ``rec``.

    Writes the Hill base ``Ce / Ce50`` and exponent of the new effect site (``[0, m]``) and
    of the one the monitor sees now (``[1, m]``) into ``ce_ratio`` and ``gamma`` (2, m):
    the power itself is numpy's (its SIMD ``pow`` can differ from numba's in the last bit).
    """
    cov, pd, transition, inputs, lag, delay_transition, delay_input, step, states, \
        rate_log = rec[:10]
    n_rates = rate_log.shape[1]
    new = np.empty(4)
    for m in range(rows.size):
        p, rate = rows[m], rates[m]
        k = step[p]
        propagate(transition, inputs, p, states[p, k], rate * cov[p, 1] / 60.0, new)
        rate_log[p, k] = rate
        states[p, k + 1] = new
        step[p] = k + 1
        start = k + 1 - lag[p]
        index = max(start, 0)
        seen_rate = rate_log[p, min(index, n_rates - 1)] if start < n_rates else 0.0
        hill_base(new[3], pd, p, ce_ratio, gamma, 0, m)
        propagate(delay_transition, delay_input, p, states[p, index],
                  seen_rate * cov[p, 1] / 60.0, new)
        hill_base(new[3], pd, p, ce_ratio, gamma, 1, m)


@numba.njit(cache=True, nogil=True, inline="always")
def hill_base(ce: float, pd: np.ndarray, p: int, ce_ratio: np.ndarray, gamma: np.ndarray,
              which: int, m: int) -> None:
    """Base and exponent of :func:`pkgym.models.propofol_eleveld.bis_of_ce` at ``ce``."""
    ce = max(ce, 0.0)
    ce_ratio[which, m] = ce / pd[p, 0]
    gamma[which, m] = pd[p, 1] if ce <= pd[p, 0] else pd[p, 2]


@numba.njit(cache=True, nogil=True)
def score_rows(rows: np.ndarray, rates: np.ndarray, rec: tuple, constants: np.ndarray,
               stim_times: np.ndarray, stim_points: np.ndarray, ratio: np.ndarray,
               weights: np.ndarray, score: bool, bis_out: np.ndarray) -> None:
    """The BIS, monitor reading, counts (and reward) of ``rows`` after :func:`propagate_rows`.

    ``ratio``: ``(Ce / Ce50) ** gamma`` (2, m). ``constants``: step min, BIS noise scale.
    ``weights``: the BisReward weights (in range, deep, light, dose), used when ``score``
    (else the reward is left to the caller). ``bis_out``: each row's true BIS.
    """
    (pd, lag, step, bis_true, bis_measured, noise, in_range, below_40, above_60, induction,
     total, reward) = (rec[1], rec[4], rec[7]) + rec[10:]
    step_min, noise_scale = constants[0], constants[1]
    for m in range(rows.size):
        p, rate = rows[m], rates[m]
        k = step[p] - 1
        now_min = (k + 1) * step_min
        drug = pd[p, 3] * (1.0 - ratio[0, m] / (1.0 + ratio[0, m]))
        bis = clip(drug + interp(now_min, stim_times, stim_points, 0.0, 0.0), 0.0, 100.0)
        bis_true[p, k + 1] = bis
        seen = (pd[p, 3] * (1.0 - ratio[1, m] / (1.0 + ratio[1, m])) if k + 1 - lag[p] >= 0
                else pd[p, 3])
        seen += interp(now_min - pd[p, 4] / 60.0, stim_times, stim_points, 0.0, 0.0)
        bis_measured[p, k + 1] = clip(seen + pd[p, 5] * noise_scale * noise[p, k + 1],
                                      0.0, 100.0)
        in_range[p] += 1.0 if LOW <= bis <= HIGH else 0.0
        below_40[p] += 1.0 if bis < LOW else 0.0
        above_60[p] += 1.0 if bis > HIGH else 0.0
        if induction[p] < 0 and bis < HIGH:
            induction[p] = k
        total[p] += rate * step_min / 60.0
        bis_out[m] = bis
        if score:
            reward[p] = (weights[0] * (1.0 if LOW <= bis <= HIGH else 0.0)
                         - weights[1] * max(LOW - bis, 0.0) / 10.0
                         - weights[2] * max(bis - HIGH, 0.0) / 10.0
                         - weights[3] * rate / 10.0)


@numba.njit(cache=True, nogil=True)
def observe_rows(bis_measured: np.ndarray, rate_log: np.ndarray, covariates: np.ndarray,
                 step: np.ndarray, n_hist: int, top: float, step_min: float, n_minutes: float,
                 highs: np.ndarray) -> tuple:
    """The clinic's observation of every patient: (bis, bis_mask, rates, covariates, elapsed).

    Blocks of :data:`OBSERVE_BLOCK` patients, history column by column within a block: the
    histories are stored step by step (:func:`pkgym.sim.layout.step_major`), so a
    column of a block is a few adjacent cache lines.
    """
    n = step.size
    bis = np.empty((n, n_hist), np.float32)
    mask = np.empty((n, n_hist), np.float32)
    rates = np.empty((n, n_hist), np.float32)
    cov = np.empty((n, covariates.shape[1]), np.float32)
    elapsed = np.empty((n, 1), np.float32)
    for start in range(0, n, OBSERVE_BLOCK):
        stop = min(start + OBSERVE_BLOCK, n)
        for j in range(n_hist):
            for p in range(start, stop):
                sample = step[p] + 1 - n_hist + j  # this slot's sample column (< 0: before 0)
                if sample < 0:
                    bis[p, j] = mask[p, j] = 0.0
                else:
                    bis[p, j] = bis_measured[p, sample]
                    mask[p, j] = 1.0
                rates[p, j] = 0.0 if sample < 1 else clip(rate_log[p, sample - 1], 0.0, top)
        for p in range(start, stop):
            for j in range(covariates.shape[1]):
                cov[p, j] = np.float32(clip(covariates[p, j], 0.0, np.float64(highs[j])))
            elapsed[p, 0] = np.float32(min(step[p] * step_min, n_minutes))
    return bis, mask, rates, cov, elapsed


@numba.njit(cache=True, nogil=True)
def info_rows(rows: np.ndarray, rec: tuple, pk: np.ndarray, step_min: float,
              stimulation: np.ndarray) -> tuple:
    """The step's clinical metrics of ``rows`` (:func:`pkgym.envs.propofol.views.info`).

    Returns (step, minute, bis, bis_measured, cp, ce, in_range, too_deep, too_light, rate,
    stimulation_bis, in range / below / above fractions, induction_time_min, total dose,
    model_state); ``stimulation``: the stimulation's BIS points at each step end.
    """
    (step, states, rate_log, bis_true, bis_measured, in_range, below_40, above_60, induction,
     total) = (rec[7], rec[8], rec[9], rec[10], rec[11], rec[13], rec[14], rec[15], rec[16],
               rec[17])
    m = rows.size
    floats = np.empty((12, m))
    flags = np.empty((3, m), np.bool_)
    steps = np.empty(m, np.int64)
    model_state = np.empty((m, 4))
    for i in range(m):
        p = rows[i]
        k = step[p]
        bis = bis_true[p, k]
        n = float(max(k, 1))
        model_state[i] = states[p, k]
        steps[i] = k
        floats[0, i], floats[1, i], floats[2, i] = k * step_min, bis, bis_measured[p, k]
        floats[3, i], floats[4, i] = states[p, k, 0] / pk[p, 0], states[p, k, 3]
        flags[0, i], flags[1, i], flags[2, i] = LOW <= bis <= HIGH, bis < LOW, bis > HIGH
        floats[5, i] = rate_log[p, k - 1] if k > 0 else 0.0
        floats[6, i] = stimulation[k]
        floats[7, i], floats[8, i], floats[9, i] = in_range[p] / n, below_40[p] / n, \
            above_60[p] / n
        floats[10, i] = (induction[p] + 1) * step_min if induction[p] >= 0 else -1.0
        floats[11, i] = total[p]
    return steps, floats, flags, model_state
