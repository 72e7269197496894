"""The warfarin clinic's batched readouts, compiled: the observation and ``info``'s metrics.

Both read every patient's records once per step. At 10^4 patients that is tens of
megabytes of copies (the observation's four daily histories) and scattered reads (``info``'s
event counts), so each runs as one compiled pass over the rows, split across numba's threads
from :data:`PARALLEL_FROM` rows (each row is written by one thread only). The values are
those of the numpy expressions they replace (:meth:`ClinicObservation.fill
<pkgym.envs.warfarin.clinic.ClinicObservation.fill>`'s docstring): plain copies, ``np.minimum``
against positive bounds and int64 to float32 casts (tested against numpy).
"""

from __future__ import annotations

import numba
import numpy as np

from pkgym.envs.warfarin.kernel import RecordArrays

PARALLEL_FROM = 2048
"""Batches of at least this many rows are split across numba's threads."""


def row_chunks(n: int) -> int:
    """How many chunks (one per numba thread) a readout of ``n`` rows is split into.

    Examples:
        >>> row_chunks(10)
        1
    """
    threads = numba.get_num_threads()
    return threads if n >= PARALLEL_FROM and threads > 1 else 1


@numba.njit(cache=True, nogil=True)
def _observe_rows(first: int, last: int, sources: tuple, outs: tuple,
                  highs: np.ndarray) -> None:  # pragma: no cover - compiled
    """:func:`observe_rows` for rows ``first`` to ``last - 1``."""
    covariates, genotype, doses, inr_days, inr_values, inr_mask, day, last_test, next_test = \
        sources
    o_covariates, o_genotype, o_doses, o_days, o_values, o_mask, o_day, o_since, o_next = outs
    for p in range(first, last):
        for j in range(covariates.shape[1]):  # np.minimum: NaN kept, else the smaller
            value, high = covariates[p, j], highs[j]
            o_covariates[p, j] = value if (value < high or value != value) else high
        for j in range(genotype.shape[1]):
            o_genotype[p, j] = genotype[p, j]
        for j in range(doses.shape[1]):
            o_doses[p, j] = doses[p, j]
        for j in range(inr_days.shape[1]):
            o_days[p, j] = inr_days[p, j]
        for j in range(inr_values.shape[1]):
            o_values[p, j] = inr_values[p, j]
        for j in range(inr_mask.shape[1]):
            o_mask[p, j] = inr_mask[p, j]
        d = day[p]  # int64 to float32 as numpy casts it
        o_day[p, 0] = d
        o_since[p, 0] = d - last_test[p]
        o_next[p, 0] = max(next_test[p] - d, 0)


@numba.njit(cache=True, nogil=True, parallel=True)
def _observe_parallel(n: int, sources: tuple, outs: tuple, highs: np.ndarray,
                      n_chunks: int) -> None:  # pragma: no cover - compiled
    """:func:`_observe_rows` over ``n_chunks`` chunks of the ``n`` rows, in parallel."""
    size = (n + n_chunks - 1) // n_chunks
    for chunk in numba.prange(n_chunks):
        first = chunk * size
        last = min(first + size, n)
        if first < last:
            _observe_rows(first, last, sources, outs, highs)


def observe_rows(sources: tuple, outs: tuple, highs: np.ndarray) -> None:
    """Write every row's observation into ``outs`` (in place) from the records' ``sources``.

    ``sources``: covariates (n, c) and genotype (n, g) float32, the daily doses, INR days,
    INR values and INR mask (n, days) float32, then day, last test day and next test day
    (n,) int64. ``outs``: the observation's arrays in the same order (float32; the last three
    (n, 1)). A non-genotype-guided clinic passes (0, 0) genotype arrays. Covariates are capped
    at ``highs`` (c,) as ``np.minimum`` caps them; the three day counts are the day, the day
    minus the last test day, and ``max(next test day - day, 0)``, cast to float32.
    """
    n = sources[6].shape[0]
    chunks = row_chunks(n)
    if chunks > 1:
        _observe_parallel(n, sources, outs, highs, chunks)
    else:
        _observe_rows(0, n, sources, outs, highs)


@numba.njit(cache=True, nogil=True)
def _count(flags: np.ndarray, p: int) -> int:  # pragma: no cover - compiled
    """How many of row p's ``flags`` (booleans viewed as uint8: 0 or 1) are set.

    Indexed, not sliced: a view per row costs an atomic reference count on the array,
    which numba's threads contend for.
    """
    total = 0
    for j in range(flags.shape[1]):
        total += flags[p, j]
    return total


@numba.njit(cache=True, nogil=True)
def _info_chunk(first: int, last: int, rows: np.ndarray, records: tuple, target: tuple,
                bleeding: np.ndarray, thromboembolism: np.ndarray,
                outs: tuple) -> None:  # pragma: no cover - compiled
    """:func:`info_rows` for ``rows[first:last]``, into ``outs`` (its arrays, in its order)."""
    r = RecordArrays(*records)
    low, high = target
    day, dose, inr, in_range, tested, result, conc, bled, clotted, bleeds, clots = outs
    for i in range(first, last):
        p = rows[i]
        d = r.day[p]
        previous, started = max(d - 1, 0), d > 0
        day[i], inr[i], conc[i] = d, r.inr[p, d], r.concentration[p, d]
        dose[i] = r.doses_mg[p, previous] if started else 0.0
        in_range[i] = (inr[i] >= low) & (inr[i] <= high)
        tested[i] = r.last_test_day[p] == d
        result[i] = np.float64(r.inr_values[p, max(r.n_tests[p] - 1, 0)])
        bled[i] = r.bleeding[p, previous] & started
        clotted[i] = r.thromboembolism[p, previous] & started
        bleeds[i], clots[i] = _count(bleeding, p), _count(thromboembolism, p)


@numba.njit(cache=True, nogil=True)
def _info_arrays(m: int) -> tuple:  # pragma: no cover - compiled
    """Uninitialised arrays of :func:`info_rows`'s result for ``m`` rows."""
    return (np.empty(m, np.int64), np.empty(m), np.empty(m), np.empty(m, np.bool_),
            np.empty(m, np.bool_), np.empty(m), np.empty(m), np.empty(m, np.bool_),
            np.empty(m, np.bool_), np.empty(m, np.int64), np.empty(m, np.int64))


@numba.njit(cache=True, nogil=True)
def _info_serial(rows: np.ndarray, records: tuple, target: tuple, bleeding: np.ndarray,
                 thromboembolism: np.ndarray) -> tuple:  # pragma: no cover - compiled
    """:func:`_info_chunk` over every row, on this thread."""
    outs = _info_arrays(rows.shape[0])
    _info_chunk(0, rows.shape[0], rows, records, target, bleeding, thromboembolism, outs)
    return outs


@numba.njit(cache=True, nogil=True, parallel=True)
def _info_parallel(rows: np.ndarray, records: tuple, target: tuple, bleeding: np.ndarray,
                   thromboembolism: np.ndarray,
                   n_chunks: int) -> tuple:  # pragma: no cover - compiled
    """:func:`_info_chunk` over ``n_chunks`` chunks of rows, in parallel."""
    m = rows.shape[0]
    outs = _info_arrays(m)
    size = (m + n_chunks - 1) // n_chunks
    for chunk in numba.prange(n_chunks):
        first = chunk * size
        last = min(first + size, m)
        if first < last:
            _info_chunk(first, last, rows, records, target, bleeding, thromboembolism, outs)
    return outs


def info_rows(rows: np.ndarray, records: tuple, target: tuple, bleeding: np.ndarray,
              thromboembolism: np.ndarray) -> tuple:
    """This morning's clinical metrics of ``rows``, in one pass (``views.info``).

    ``records`` is a :class:`~pkgym.envs.warfarin.kernel.RecordArrays` as a plain tuple,
    ``target`` (low, high) INR; ``bleeding`` and ``thromboembolism`` are its event flags
    viewed as uint8 (counted as such). Returns (day, dose_mg, inr, in_therapeutic_range,
    inr_tested, last INR result (float64, unrounded), s_warfarin_mg_per_l, bleeding_event,
    thromboembolic_event, bleeding_events, thromboembolic_events), each (m,).
    """
    chunks = row_chunks(rows.shape[0])
    if chunks > 1:
        return _info_parallel(rows, records, target, bleeding, thromboembolism, chunks)
    return _info_serial(rows, records, target, bleeding, thromboembolism)
