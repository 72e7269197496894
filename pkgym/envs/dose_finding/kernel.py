"""Compiled bookkeeping of N phase I trials: start fresh trials and treat one cohort of each.

The same integer arithmetic and comparisons as the numpy reference in
:mod:`pkgym.envs.dose_finding.records` (:func:`~pkgym.envs.dose_finding.records.new_records`,
:func:`~pkgym.envs.dose_finding.records.treat_cohort`) and
:func:`pkgym.envs.dose_finding.core.assign_levels`, one trial at a time, writing the records'
arrays in place. Arguments named after :class:`~pkgym.envs.dose_finding.records.TrialRecords`
fields are those arrays (n trials first); ``rows`` (m,) picks the trials worked on.
"""

from __future__ import annotations

import numba
import numpy as np

from pkgym.models.dose_toxicity import assigned_level, closest_level
from pkgym.sim.bitgen import pcg64_next_double

TRIAL_FIELDS = ("truth", "true_mtd", "patients", "dlts", "level", "highest_tried", "cohort",
                "requested", "assigned", "selected", "finished", "cohort_levels", "cohort_dlts",
                "dlt_uniforms")
"""The records' numeric arrays, in the order the kernels take them."""


@numba.njit(cache=True, error_model="numpy", inline="always")
def _treat(row: int, level: int, truth: np.ndarray, patients: np.ndarray, dlts: np.ndarray,
           levels: np.ndarray, highest_tried: np.ndarray, cohort: np.ndarray,
           cohort_levels: np.ndarray, cohort_dlts: np.ndarray,
           dlt_uniforms: np.ndarray) -> int:  # pragma: no cover - compiled
    """Treat trial ``row``'s next cohort at ``level``; return its DLTs (uniform < p_level)."""
    c, count = cohort[row], 0
    for i in range(dlt_uniforms.shape[2]):
        toxic = dlt_uniforms[row, c, i] < truth[row, level]
        cohort_dlts[row, c, i] = toxic
        count += toxic
    patients[row, level] += dlt_uniforms.shape[2]
    dlts[row, level] += count
    cohort_levels[row, c], levels[row], cohort[row] = level, level, c + 1
    highest_tried[row] = max(highest_tried[row], level)
    return count


@numba.njit(cache=True, error_model="numpy")
def start_trials(rows: np.ndarray, curves: np.ndarray, events: np.ndarray, pcg64: int,
                 start: int, target: float, truth: np.ndarray, true_mtd: np.ndarray,
                 patients: np.ndarray,
                 dlts: np.ndarray, level: np.ndarray, highest_tried: np.ndarray,
                 cohort: np.ndarray, requested: np.ndarray, assigned: np.ndarray,
                 selected: np.ndarray, finished: np.ndarray, cohort_levels: np.ndarray,
                 cohort_dlts: np.ndarray,
                 dlt_uniforms: np.ndarray) -> None:  # pragma: no cover - compiled
    """Fresh trials in ``rows`` (curves (m, n_doses)), their DLT uniforms drawn, cohort 1.

    ``events`` (m,) are the :func:`~pkgym.sim.bitgen.bitgen_addresses` of each trial's events
    stream: its row of ``dlt_uniforms`` gets that generator's next ``random((cohorts, size))``
    (C order, drawn straight into the records: no batch of uniforms in between). The first
    cohort is treated at level ``start``; ``target`` is phi (the true MTD rule).
    """
    distance = np.empty(truth.shape[1])
    for k in range(rows.size):
        row = rows[k]
        for j in range(truth.shape[1]):
            truth[row, j], patients[row, j], dlts[row, j] = curves[k, j], 0, 0
        for c in range(dlt_uniforms.shape[1]):
            cohort_levels[row, c] = -1
            for i in range(dlt_uniforms.shape[2]):
                dlt_uniforms[row, c, i] = pcg64_next_double(pcg64, events[k])
                cohort_dlts[row, c, i] = False
        true_mtd[row] = closest_level(truth[row], target, distance)
        level[row] = highest_tried[row] = requested[row] = assigned[row] = start
        selected[row], finished[row], cohort[row] = -1, False, 0
        _treat(row, start, truth, patients, dlts, level, highest_tried, cohort, cohort_levels,
               cohort_dlts, dlt_uniforms)


@numba.njit(cache=True, error_model="numpy")
def step_trials(rows: np.ndarray, decisions: np.ndarray, n_doses: int, allow_skipping: bool,
                max_sample_size: int, truth: np.ndarray, true_mtd: np.ndarray,
                patients: np.ndarray, dlts: np.ndarray, level: np.ndarray,
                highest_tried: np.ndarray, cohort: np.ndarray, requested: np.ndarray,
                assigned: np.ndarray, selected: np.ndarray, finished: np.ndarray,
                cohort_levels: np.ndarray, cohort_dlts: np.ndarray, dlt_uniforms: np.ndarray
                ) -> tuple[bool, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                           np.ndarray]:  # pragma: no cover - compiled
    """Stop, recommend (a full trial) or treat the next cohort of each trial in ``rows``.

    ``decisions`` (m,) are the requested levels (``n_doses``: stop). Nothing is written when
    a trial in ``rows`` is already finished (the first value returned is then False).

    Returns:
        ok, then per row (m,): the levels assigned, DLTs of the cohort treated, patients
        treated above the true MTD, done (stopped or recommended), correct recommendation.
    """
    m = rows.size
    out_levels, out_dlts, above = (np.empty(m, np.int64), np.zeros(m, np.int64),
                                   np.zeros(m, np.int64))
    done, correct = np.empty(m, np.bool_), np.empty(m, np.bool_)
    for k in range(m):
        if finished[rows[k]]:
            return False, out_levels, out_dlts, above, done, correct
    size = dlt_uniforms.shape[2]
    for k in range(m):
        row, want = rows[k], decisions[k]
        level_k, stop, full = assigned_level(want, level[row], highest_tried[row],
                                             patients[row].sum(), n_doses, allow_skipping,
                                             max_sample_size)
        if not (stop or full):
            out_dlts[k] = _treat(row, level_k, truth, patients, dlts, level, highest_tried,
                                 cohort, cohort_levels, cohort_dlts, dlt_uniforms)
            above[k] = size if level_k > true_mtd[row] else 0
        requested[row], assigned[row], out_levels[k] = want, level_k, level_k
        selected[row] = level_k if full and not stop else -1
        done[k] = finished[row] = stop or full
        correct[k] = done[k] and selected[row] == true_mtd[row]
    return True, out_levels, out_dlts, above, done, correct


@numba.njit(cache=True, error_model="numpy")
def row_sums(counts: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """``counts.sum(axis=1)`` of an int64 (n, k) array, one pass (numpy's is slow for small k)."""
    sums = np.zeros(counts.shape[0], dtype=np.int64)
    for row in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            sums[row] += counts[row, j]
    return sums


@numba.njit(cache=True, error_model="numpy")
def patients_above(true_mtd: np.ndarray, patients: np.ndarray) -> np.ndarray:  # pragma: no cover
    """Patients treated above each trial's true MTD (n,), from ``patients`` (n, n_doses)."""
    above = np.zeros(patients.shape[0], dtype=np.int64)
    for row in range(patients.shape[0]):
        for j in range(true_mtd[row] + 1, patients.shape[1]):
            above[row] += patients[row, j]
    return above
