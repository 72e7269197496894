# lines: the step's compiled passes (minutes, booking, risk, measuring, observation) kept together
"""Compiled step of N insulin patients: the float operations of the numpy reference, per row.

``InsulinCore.step`` ran a dozen numpy passes over the stepped patients around the compiled
model (meal announcements, eating at 5 g/min, the risk sums, the CGM reading, insulin on
board); here each patient goes through them in one pass, in the same floating-point
operations in the same order, split around the one place numpy must do the work so that
every bit stays: Kovatchev's ``ln(BG)^1.084`` (numpy's own vectorised ``log`` and ``power``,
on the ``(rows, minutes)`` array the numpy code gave them). Every row sum is numpy's
pairwise sum (:func:`numpy_sum`). ``rows`` (k,) picks the patients worked on; the other
arrays are the records' (n first) or the stepped patients' (k first).
"""

from __future__ import annotations

import numba
import numpy as np

from pkgym.models.glucose_uva_padova_kernel import advance_one

_PW_BLOCK = 128
"""numpy's ``PW_BLOCKSIZE``: the pairwise sum's leaf size."""


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _leaf(a: np.ndarray, start: int, n: int) -> float:  # pragma: no cover - compiled
    """The ``pairwise_sum`` of numpy of at most 128 terms ``a[start:start + n]``."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[start + i]
        return res
    r0, r1, r2, r3 = a[start], a[start + 1], a[start + 2], a[start + 3]
    r4, r5, r6, r7 = a[start + 4], a[start + 5], a[start + 6], a[start + 7]
    i = 8
    while i < n - n % 8:
        j = start + i
        r0 += a[j]
        r1 += a[j + 1]
        r2 += a[j + 2]
        r3 += a[j + 3]
        r4 += a[j + 4]
        r5 += a[j + 5]
        r6 += a[j + 6]
        r7 += a[j + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[start + i]
        i += 1
    return res


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _half(n: int) -> int:  # pragma: no cover - compiled
    """Where numpy's pairwise sum splits ``n`` > 128 terms: half, down to a multiple of 8."""
    half = n // 2
    return half - half % 8


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _pairwise(a: np.ndarray, start: int, n: int) -> float:  # pragma: no cover - compiled
    """The ``pairwise_sum`` of numpy (``loops_utils.h.src``) of ``a[start:start + n]``.

    Its recursion (left half + right half above 128 terms) run on an explicit stack: numba
    does not load recursive functions back from its cache.
    """
    if n <= _PW_BLOCK:
        return _leaf(a, start, n)
    starts, sizes = np.empty(64, np.int64), np.empty(64, np.int64)
    phase, left = np.zeros(64, np.int64), np.empty(64)
    top, starts[0], sizes[0], phase[0], result = 0, start, n, 0, 0.0
    while top >= 0:
        if sizes[top] > _PW_BLOCK:  # a split: its left half first
            phase[top] = 1
            starts[top + 1], sizes[top + 1], phase[top + 1] = starts[top], _half(sizes[top]), 0
            top += 1
            continue
        result = _leaf(a, starts[top], sizes[top])
        top -= 1
        while top >= 0 and phase[top] == 2:  # both halves done: add them
            result = left[top] + result
            top -= 1
        if top >= 0:  # a left half done: keep it, do the right half
            left[top], phase[top] = result, 2
            half = _half(sizes[top])
            starts[top + 1], sizes[top + 1], phase[top + 1] = (starts[top] + half,
                                                              sizes[top] - half, 0)
            top += 1
    return result


@numba.njit(cache=True, nogil=True, error_model="numpy")
def numpy_sum(a: np.ndarray, start: int, n: int) -> float:  # pragma: no cover - compiled
    """``np.add.reduce`` of ``a[start:start + n]`` (float64, a row): the same sum, bit for bit.

    numpy reduces a contiguous row from its identity 0.0 plus ``pairwise_sum``: fewer than 8
    terms in order; up to 128 in 8 interleaved partial sums added as a tree, the rest in
    order; more split in two halves (a multiple of 8 first).
    """
    return 0.0 + _pairwise(a, start, n)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def announced_minutes(meal_minutes: np.ndarray, meal_grams: np.ndarray, r: int, first: int,
                      out: np.ndarray, hits: np.ndarray,
                      scratch: np.ndarray) -> None:  # pragma: no cover - compiled
    """Grams announced at each minute ``first + j`` of row ``r`` into ``out``.

    (``announced_per_minute``).

    numpy sums ``where(meal_minutes - first == j, meal_grams, 0.0)`` over the meals; a
    minute that no meal or one meal starts in is that sum without the zeros (``0.0 + g``,
    the same bits), one that several start in the whole pairwise sum.
    """
    m = out.size
    for j in range(m):
        out[j], hits[j] = 0.0, 0
    n_meals = meal_minutes.shape[1]
    for j in range(n_meals):
        offset = meal_minutes[r, j] - first
        if 0.0 <= offset < m and offset == np.floor(offset):
            minute = int(offset)
            hits[minute] += 1
            out[minute] = 0.0 + meal_grams[r, j]
    for minute in range(m):
        if hits[minute] > 1:
            for j in range(n_meals):
                scratch[j] = meal_grams[r, j] if meal_minutes[r, j] - first == minute else 0.0
            out[minute] = numpy_sum(scratch, 0, n_meals)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _intake(meal_minutes: np.ndarray, meal_grams: np.ndarray, r: int, first: int,
            pending: float, carbs: np.ndarray, hits: np.ndarray,
            scratch: np.ndarray) -> float:  # pragma: no cover - compiled
    """Row ``r``'s announced grams eaten at 5 g/min over the step (``meal_intake``); pending."""
    announced_minutes(meal_minutes, meal_grams, r, first, carbs, hits, scratch)
    for j in range(carbs.size):
        pending += carbs[j]
        carbs[j] = min(5.0, pending)
        pending = max(pending - carbs[j], 0.0)
    return pending


@numba.njit(cache=True, nogil=True, error_model="numpy")
def intake_rows(rows: np.ndarray, step: np.ndarray, step_minutes: int, meal_minutes: np.ndarray,
                meal_grams: np.ndarray, pending: np.ndarray, delivered: np.ndarray,
                insulin: np.ndarray, carbs: np.ndarray,
                eaten: np.ndarray) -> None:  # pragma: no cover - compiled
    """Each row's insulin (U/min) and carbs (g/min) per minute of the step; pending updated."""
    scratch, hits = np.empty(meal_minutes.shape[1]), np.empty(step_minutes, np.int64)
    for k in range(rows.size):
        r = rows[k]
        pending[r] = _intake(meal_minutes, meal_grams, r, step[r] * step_minutes,
                             pending[r], carbs[k], hits, scratch)
        eaten[k] = numpy_sum(carbs[k], 0, carbs.shape[1])
        for j in range(insulin.shape[1]):
            insulin[k, j] = delivered[k] / step_minutes


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _uva_row(k: int, r: int, step: np.ndarray, step_minutes: int, meal_minutes: np.ndarray,
             meal_grams: np.ndarray, pending: np.ndarray, delivered: np.ndarray,
             state: np.ndarray, params: np.ndarray, memory: np.ndarray, substeps: int,
             vg: int, bg: np.ndarray, sensor: np.ndarray,
             eaten: np.ndarray) -> None:  # pragma: no cover - compiled
    """One UVA/Padova row through the step's minutes (``simulate_minutes``), in place."""
    carbs, insulin = np.empty(step_minutes), np.empty(step_minutes)
    scratch, hits = np.empty(meal_minutes.shape[1]), np.empty(step_minutes, np.int64)
    pending[r] = _intake(meal_minutes, meal_grams, r, step[r] * step_minutes, pending[r],
                         carbs, hits, scratch)
    for j in range(step_minutes):
        insulin[j] = delivered[k] / step_minutes
    advance_one(state[r], params[r], insulin, carbs, memory[r], substeps, bg[k])
    eaten[k] = numpy_sum(carbs, 0, step_minutes)
    sensor[k] = state[r, 12] / params[r, vg]


@numba.njit(cache=True, nogil=True, error_model="numpy", parallel=True)
def uva_rows(rows: np.ndarray, step: np.ndarray, step_minutes: int, meal_minutes: np.ndarray,
             meal_grams: np.ndarray, pending: np.ndarray, delivered: np.ndarray,
             state: np.ndarray, params: np.ndarray, memory: np.ndarray, substeps: int, vg: int,
             bg: np.ndarray, sensor: np.ndarray,
             eaten: np.ndarray) -> None:  # pragma: no cover - compiled
    """UVA/Padova rows through the step (:func:`_uva_row`), rows spread over the threads.

    Writes the rows' state, meal memory and pending carbs in place, ``bg`` (k, minutes) the
    plasma glucose at the end of each minute, ``sensor`` (k,) the subcutaneous glucose and
    ``eaten`` (k,) the step's carbs.
    """
    for k in numba.prange(rows.size):
        _uva_row(k, rows[k], step, step_minutes, meal_minutes, meal_grams, pending, delivered,
                 state, params, memory, substeps, vg, bg, sensor, eaten)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def uva_rows_serial(rows: np.ndarray, step: np.ndarray, step_minutes: int,
                    meal_minutes: np.ndarray, meal_grams: np.ndarray, pending: np.ndarray,
                    delivered: np.ndarray, state: np.ndarray, params: np.ndarray,
                    memory: np.ndarray, substeps: int, vg: int, bg: np.ndarray,
                    sensor: np.ndarray, eaten: np.ndarray) -> None:  # pragma: no cover
    """:func:`uva_rows` on the calling thread (a few rows: no thread hand-off)."""
    for k in range(rows.size):
        _uva_row(k, rows[k], step, step_minutes, meal_minutes, meal_grams, pending, delivered,
                 state, params, memory, substeps, vg, bg, sensor, eaten)


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def clip(x: float, low: float, high: float) -> float:  # pragma: no cover - compiled
    """``np.clip`` of a finite value: ``min(max(x, low), high)`` with numpy's tie rule."""
    x = x if x > low else low
    return x if x < high else high


@numba.njit(cache=True, nogil=True, error_model="numpy")
def measure_rows(rows: np.ndarray, bg_now: np.ndarray, sensor: np.ndarray, step: np.ndarray,
                 bg: np.ndarray, cgm: np.ndarray, noise: np.ndarray, cgm_range: tuple,
                 delivered_u: np.ndarray, pump_settings: np.ndarray, iob_weights: np.ndarray,
                 step_minutes: int, iob_u: np.ndarray, announce: bool,
                 meal_minutes: np.ndarray, meal_grams: np.ndarray,
                 announced_now: np.ndarray) -> None:  # pragma: no cover - compiled
    """True BG, CGM reading, insulin on board and announced carbs at each row's step.

    ``InsulinCore._measure_now``'s numpy: the reading clipped to ``cgm_range``; insulin on
    board the pairwise sum of ``given * weights`` (before the start, the basal per step
    ``basal * step_minutes / 60``); the carbs the sum over the step's minutes.
    """
    given = np.empty(iob_weights.size)
    per_minute, scratch = np.empty(step_minutes), np.empty(meal_minutes.shape[1])
    hits = np.empty(step_minutes, np.int64)
    for k in range(rows.size):
        r, now = rows[k], step[rows[k]]
        bg[r, now] = bg_now[k]
        cgm[r, now] = clip(sensor[k] + noise[r, now], cgm_range[0], cgm_range[1])
        basal_step = pump_settings[r, 0] * step_minutes / 60.0
        for j in range(iob_weights.size):
            back = now - 1 - j
            given[j] = (delivered_u[r, back] if back >= 0 else basal_step) * iob_weights[j]
        iob_u[r] = numpy_sum(given, 0, given.size)
        if announce:
            announced_minutes(meal_minutes, meal_grams, r, now * step_minutes, per_minute, hits,
                              scratch)
            announced_now[r] = numpy_sum(per_minute, 0, step_minutes)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def score_rows(rows: np.ndarray, bg: np.ndarray, log_power: np.ndarray, delivered: np.ndarray,
               eaten: np.ndarray, step: np.ndarray, delivered_u: np.ndarray,
               eaten_g: np.ndarray, tallies: tuple, limits: tuple, weights: tuple,
               n_steps: int, terminated_rec: np.ndarray, reward: np.ndarray,
               terminated: np.ndarray, truncated: np.ndarray) -> None:  # pragma: no cover
    """Book the step of each row: ``InsulinCore.step``'s records, risk, reward and flags.

    ``rows`` (k,) are the stepped rows; ``step``, ``delivered_u``, ``eaten_g`` and
    ``terminated_rec`` their records (n first), ``step`` counted on. ``delivered`` and
    ``eaten`` (k,) are the step's insulin (U) and carbs (g); ``bg`` (k, minutes) the true
    plasma glucose at the end of each minute (mg/dL) and ``log_power`` numpy's
    ``ln(max(bg, 1)) ** 1.084`` for Kovatchev's ``f``. ``tallies`` are the records' (n,)
    float arrays ``in_range, below_70, below_54, above_180, above_250, minutes,
    sum_low_risk, sum_high_risk, sum_bg, sum_bg2, step_low_risk, step_high_risk, cost,
    reward``, updated in place; ``limits`` is ``(hypo_threshold, bg_low, bg_high)`` mg/dL,
    ``weights`` ``(hypo_weight, termination_penalty)`` of the default reward, ``n_steps``
    the decisions per episode. ``reward``, ``terminated`` and ``truncated`` (k,) receive
    the default reward and the flags.
    """
    (in_range, below_70, below_54, above_180, above_250, minutes, sum_low, sum_high, sum_bg,
     sum_bg2, step_low, step_high, cost, rec_reward) = tallies
    m = bg.shape[1]
    low, high, square = np.empty(m), np.empty(m), np.empty(m)
    for k in range(rows.size):
        r, done = rows[k], step[rows[k]]
        delivered_u[r, done], eaten_g[r, done] = delivered[k], eaten[k]
        step[r] = done + 1
        n_in, n_70, n_54, n_180, n_250 = 0, 0, 0, 0, 0
        hypo, ended = False, False
        for j in range(m):
            g = bg[k, j]
            f = 1.509 * (log_power[k, j] - 5.381)
            risk = 10.0 * f * f
            low[j] = risk if f < 0 else 0.0
            high[j] = risk if f > 0 else 0.0
            square[j] = g * g
            n_in += (g >= 70.0) & (g <= 180.0)
            n_70 += g < 70.0
            n_54 += g < 54.0
            n_180 += g > 180.0
            n_250 += g > 250.0
            hypo |= g < limits[0]
            ended |= (g < limits[1]) | (g > limits[2])
        in_range[r] += n_in
        below_70[r] += n_70
        below_54[r] += n_54
        above_180[r] += n_180
        above_250[r] += n_250
        minutes[r] += m
        low_sum, high_sum = numpy_sum(low, 0, m), numpy_sum(high, 0, m)
        sum_low[r] += low_sum
        sum_high[r] += high_sum
        sum_bg[r] += numpy_sum(bg[k], 0, m)
        sum_bg2[r] += numpy_sum(square, 0, m)
        step_low[r], step_high[r] = low_sum / m, high_sum / m
        cost[r] = 1.0 if hypo else 0.0
        steps_left = float(n_steps - (done + 1))
        penalty = weights[1] * steps_left if ended else 0.0
        reward[k] = -(weights[0] * step_low[r] + step_high[r]) - penalty
        rec_reward[r] = reward[k]
        terminated_rec[r], terminated[k] = ended, ended
        truncated[k] = (done + 1 >= n_steps) and not ended


@numba.njit(cache=True, nogil=True, error_model="numpy")
def observe_rows(step: np.ndarray, cgm: np.ndarray, iob_u: np.ndarray,
                 announced_now: np.ndarray, pump_settings: np.ndarray, step_minutes: int,
                 start_hour: float, highs: tuple, settings_highs: np.ndarray,
                 out_cgm: np.ndarray, out_mask: np.ndarray, out_iob: np.ndarray,
                 out_carbs: np.ndarray, out_clock: np.ndarray, out_settings: np.ndarray,
                 first: int, last: int) -> None:  # pragma: no cover - compiled
    """``ClinicObservation``'s float32 arrays of rows ``first`` to ``last - 1``.

    (No default arguments: a call omitting one would miss numba's fast dispatch.)

    The last ``out_cgm.shape[1]`` CGM readings up to each row's step (0 and mask 0 before
    the start), clipped to ``[0, highs[0]]``; insulin on board and announced carbs clipped to
    ``[0, highs[1]]`` and ``[0, highs[2]]``; the clock ``(start_hour + minute / 60) % 24``;
    the pump settings clipped to ``[0, settings_highs]``.
    """
    n_hist = out_cgm.shape[1]
    for r in range(first, last):
        now = step[r]
        for j in range(n_hist):
            col = now + 1 - n_hist + j
            seen = col >= 0
            value = cgm[r, col] if seen else 0.0
            out_cgm[r, j] = np.float32(clip(value, 0.0, highs[0]))
            out_mask[r, j] = np.float32(1.0 if seen else 0.0)
        out_iob[r, 0] = np.float32(clip(iob_u[r], 0.0, highs[1]))
        out_carbs[r, 0] = np.float32(clip(announced_now[r], 0.0, highs[2]))
        clock = (start_hour + now * step_minutes / 60.0) % 24.0
        out_clock[r, 0] = np.float32(clock if clock < 24.0 else 24.0)
        for j in range(settings_highs.size):
            out_settings[r, j] = np.float32(clip(pump_settings[r, j], 0.0, settings_highs[j]))


@numba.njit(cache=True, nogil=True, parallel=True)
def observe_chunks(n_chunks: int, step: np.ndarray, cgm: np.ndarray, iob_u: np.ndarray,
                   announced_now: np.ndarray, pump_settings: np.ndarray, step_minutes: int,
                   start_hour: float, highs: np.ndarray, settings_highs: np.ndarray,
                   outs: tuple) -> None:  # pragma: no cover - compiled
    """:func:`observe_rows` over ``n_chunks`` contiguous chunks of the rows, side by side.

    ``highs``: the three bounds as an array; ``outs``: the six ``out_*`` arrays.
    """
    n, bounds = step.size, (highs[0], highs[1], highs[2])
    for c in numba.prange(n_chunks):
        observe_rows(step, cgm, iob_u, announced_now, pump_settings, step_minutes, start_hour,
                     bounds, settings_highs, outs[0], outs[1], outs[2], outs[3], outs[4],
                     outs[5], c * n // n_chunks, (c + 1) * n // n_chunks)


@numba.njit(cache=True, nogil=True, error_model="numpy", parallel=True)
def finish_rows(rows: np.ndarray, bg: np.ndarray, log_power: np.ndarray,
                delivered: np.ndarray, eaten: np.ndarray, step: np.ndarray,
                delivered_u: np.ndarray, eaten_g: np.ndarray, tallies: tuple, limits: tuple,
                weights: tuple, n_steps: int, terminated_rec: np.ndarray, reward: np.ndarray,
                terminated: np.ndarray, truncated: np.ndarray, measures: tuple,
                chunk: int) -> None:  # pragma: no cover - compiled
    """:func:`score_rows` then :func:`measure_rows` of each chunk of rows, chunks over threads.

    A chunk's records are still in cache when it is measured. ``measures`` holds
    :func:`measure_rows`'s arguments after ``rows`` (``step`` and ``delivered_u`` again).
    """
    (bg_now, sensor, _, bg_rec, cgm, noise, cgm_range, _, pump_settings, iob_weights,
     step_minutes, iob_u, announce, meal_minutes, meal_grams, announced_now) = measures
    for c in numba.prange((rows.size + chunk - 1) // chunk):
        lo, hi = c * chunk, min(rows.size, (c + 1) * chunk)
        part = rows[lo:hi]
        score_rows(part, bg[lo:hi], log_power[lo:hi], delivered[lo:hi], eaten[lo:hi], step,
                   delivered_u, eaten_g, tallies, limits, weights, n_steps, terminated_rec,
                   reward[lo:hi], terminated[lo:hi], truncated[lo:hi])
        measure_rows(part, bg_now[lo:hi], sensor[lo:hi], step, bg_rec, cgm, noise, cgm_range,
                     delivered_u, pump_settings, iob_weights, step_minutes, iob_u, announce,
                     meal_minutes, meal_grams, announced_now)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def pump_amounts(amount_u: np.ndarray, per_hour: float, basal: tuple, bolus: tuple,
                 out: np.ndarray) -> bool:  # pragma: no cover - compiled
    """``records.pump_delivery_u`` of each amount into ``out``; False (nothing kept) on a bad one.

    ``basal`` is ``(inc, min, max)`` U/h and ``bolus`` ``(inc, min, max)`` U of the pump:
    ``rate = clip(rint(min(a per_hour, max) / inc) inc)``, then the rest as a bolus, the same
    float operations as the numpy code. A negative or NaN amount returns False so that the
    caller's numpy code raises its error.
    """
    for k in range(amount_u.size):
        a = amount_u[k]
        if not a >= 0.0:
            return False
        wanted = a * per_hour
        wanted = wanted if wanted < basal[2] or np.isnan(wanted) else basal[2]
        if not wanted >= 0.0:
            return False
        rate = clip(np.rint(wanted / basal[0]) * basal[0], basal[1], basal[2])
        given = rate / per_hour
        rest = a - given
        rest = rest if rest >= 0.0 else 0.0
        out[k] = given + clip(np.rint(rest / bolus[0]) * bolus[0], bolus[1], bolus[2])
    return True
