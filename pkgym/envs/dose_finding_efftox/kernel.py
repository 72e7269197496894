"""Compiled draws and bookkeeping of N phase I/II trials: start fresh trials, treat cohorts.

The same numbers, float operations and comparisons as the numpy reference: the truths of
:meth:`pkgym.models.dose_efficacy.RandomEfficacyToxicity.sample` (drawn on each slot's own bit
generator through numpy's C interface, as :func:`pkgym.models.dose_toxicity.sample_curves`),
the records of :func:`pkgym.envs.dose_finding_efftox.records.new_records` and
:func:`~pkgym.envs.dose_finding_efftox.records.treat_cohort`, and the level rules of
:func:`pkgym.envs.dose_finding.core.assign_levels`, one trial at a time, writing the records'
arrays in place. Arguments named after
:class:`~pkgym.envs.dose_finding_efftox.records.EffToxRecords` fields are those arrays (n
trials first); ``rows`` (m,) picks the trials worked on.
"""

from __future__ import annotations

import numba
import numpy as np

from pkgym.models.dose_efficacy import U_EFFICACY_ONLY, U_TOXICITY_ONLY
from pkgym.models.dose_toxicity import assigned_level, closest_level, sample_curve
from pkgym.sim.bitgen import draw_level, pcg64_next_double

TRIAL_FIELDS = ("dlt_truth", "response_truth", "both_truth", "true_mtd", "true_obd", "patients",
                "dlts", "responses", "both", "level", "highest_tried", "cohort", "requested",
                "assigned", "selected", "finished", "cohort_levels", "cohort_dlts",
                "cohort_responses", "uniforms")
"""The records' numeric arrays, in the order the kernels take them."""

TRUTH_FOUND, CURVE_NOT_FOUND, PLATEAU_NOT_REACHED = 0, 1, 2
"""Status of a slot's truth draw (:func:`draw_truths`): drawn, or which rejection gave up."""


@numba.njit(cache=True, error_model="numpy")
def draw_truths(addresses: np.ndarray, beta: int, pcg64: int, n_doses: int, width: int,
                rounds_per_bound: int, tox_max_rounds: int, target: float, low: float,
                high: float, max_rounds: int, efficacy_low: float, efficacy_high: float,
                floor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                       np.ndarray]:  # pragma: no cover - compiled
    """``RandomEfficacyToxicity.sample`` on each generator in turn (its ``patient`` stream).

    Per slot: the plateau level (``rng.integers``), toxicity curves
    (:func:`~pkgym.models.dose_toxicity.sample_curve`) until
    one's MTD is at or above it (at most ``max_rounds``), the plateau response
    ``efficacy_low + (efficacy_high - efficacy_low) U``, then ``plateau`` responses
    ``floor + (top - floor) U``, sorted, below it; Pr(both) = p_T p_E.

    Returns:
        Pr(DLT), Pr(response), Pr(both) (n, n_doses), each slot's status (:data:`TRUTH_FOUND`
        or the rejection that gave up; the slots after a failed one are not drawn) and its
        plateau level (n,).
    """
    n = addresses.size
    tox, eff = np.empty((n, n_doses)), np.empty((n, n_doses))
    status, plateaus = np.full(n, TRUTH_FOUND, np.int64), np.zeros(n, np.int64)
    candidates, curve, distance = np.empty((width, n_doses)), np.empty(n_doses), np.empty(n_doses)
    for i in range(n):
        address = addresses[i]
        plateau = plateaus[i] = draw_level(address, n_doses)
        status[i] = PLATEAU_NOT_REACHED
        for _ in range(max_rounds):
            if not sample_curve(address, beta, pcg64, n_doses, width, rounds_per_bound,
                                tox_max_rounds, target, low, high, candidates, curve, distance):
                status[i] = CURVE_NOT_FOUND
                break
            if closest_level(curve, target, distance) >= plateau:
                status[i] = TRUTH_FOUND
                break
        if status[i] != TRUTH_FOUND:
            return tox, eff, tox * eff, status, plateaus
        tox[i] = curve
        top = efficacy_low + (efficacy_high - efficacy_low) * pcg64_next_double(pcg64, address)
        spread = top - floor
        for j in range(plateau):  # insertion sort of the draws: the values np.sort gives
            value, m = floor + spread * pcg64_next_double(pcg64, address), j
            while m > 0 and eff[i, m - 1] > value:
                eff[i, m] = eff[i, m - 1]
                m -= 1
            eff[i, m] = value
        for j in range(plateau, n_doses):
            eff[i, j] = top
    return tox, eff, tox * eff, status, plateaus


@numba.njit(cache=True, error_model="numpy", inline="always")
def _utility(dlt: float, response: float, both: float, utility_neither: float,
             utility_both: float) -> float:  # pragma: no cover - compiled
    """:func:`pkgym.models.dose_efficacy.phase12_utilities` of one level (the same operations)."""
    neither = 1.0 - dlt - response + both
    return (U_EFFICACY_ONLY * (response - both) + utility_neither * neither
            + utility_both * both + U_TOXICITY_ONLY * (dlt - both))


@numba.njit(cache=True, error_model="numpy", inline="always")
def _treat(row: int, level: int, dlt_truth: np.ndarray, response_truth: np.ndarray,
           both_truth: np.ndarray, patients: np.ndarray, dlts: np.ndarray,
           responses: np.ndarray, both: np.ndarray, levels: np.ndarray,
           highest_tried: np.ndarray, cohort: np.ndarray, cohort_levels: np.ndarray,
           cohort_dlts: np.ndarray, cohort_responses: np.ndarray,
           uniforms: np.ndarray) -> int:  # pragma: no cover - compiled
    """Treat trial ``row``'s next cohort at ``level``; return its DLTs (``treat_cohort``)."""
    c, count, responded, toxic_responses = cohort[row], 0, 0, 0
    p_t, p_e, p_te = dlt_truth[row, level], response_truth[row, level], both_truth[row, level]
    for i in range(uniforms.shape[2]):
        u = uniforms[row, c, i]
        toxic = u < p_t
        response = (u < p_te) | ((u >= p_t) & (u < p_t + p_e - p_te))
        cohort_dlts[row, c, i], cohort_responses[row, c, i] = toxic, response
        count += toxic
        responded += response
        toxic_responses += toxic & response
    patients[row, level] += uniforms.shape[2]
    dlts[row, level] += count
    responses[row, level] += responded
    both[row, level] += toxic_responses
    cohort_levels[row, c], levels[row], cohort[row] = level, level, c + 1
    highest_tried[row] = max(highest_tried[row], level)
    return count


@numba.njit(cache=True, error_model="numpy")
def start_trials(rows: np.ndarray, tox: np.ndarray, eff: np.ndarray, joint: np.ndarray,
                 events: np.ndarray, pcg64: int, start: int, target: float,
                 utility_neither: float,
                 utility_both: float, dlt_truth: np.ndarray, response_truth: np.ndarray,
                 both_truth: np.ndarray, true_mtd: np.ndarray, true_obd: np.ndarray,
                 patients: np.ndarray, dlts: np.ndarray, responses: np.ndarray,
                 both: np.ndarray, level: np.ndarray, highest_tried: np.ndarray,
                 cohort: np.ndarray, requested: np.ndarray, assigned: np.ndarray,
                 selected: np.ndarray, finished: np.ndarray, cohort_levels: np.ndarray,
                 cohort_dlts: np.ndarray, cohort_responses: np.ndarray,
                 uniforms: np.ndarray) -> None:  # pragma: no cover - compiled
    """Fresh trials in ``rows``: truths (m, n_doses), their outcome uniforms drawn, cohort 1.

    ``events`` (m,) are the :func:`~pkgym.sim.bitgen.bitgen_addresses` of each trial's events
    stream: its row of ``uniforms`` gets that generator's next ``random((cohorts, size))``
    (C order, drawn straight into the records: no batch of uniforms in between). The true
    MTD (closest to ``target``), the true OBD (the first level of highest utility at or below
    the MTD), then the first cohort treated at level ``start``.
    """
    distance = np.empty(dlt_truth.shape[1])
    for k in range(rows.size):
        row = rows[k]
        for j in range(dlt_truth.shape[1]):
            dlt_truth[row, j], response_truth[row, j] = tox[k, j], eff[k, j]
            both_truth[row, j] = joint[k, j]
            patients[row, j] = dlts[row, j] = responses[row, j] = both[row, j] = 0
        for c in range(uniforms.shape[1]):
            cohort_levels[row, c] = -1
            for i in range(uniforms.shape[2]):
                uniforms[row, c, i] = pcg64_next_double(pcg64, events[k])
                cohort_dlts[row, c, i] = cohort_responses[row, c, i] = False
        mtd = true_mtd[row] = closest_level(dlt_truth[row], target, distance)
        best, obd = -np.inf, 0
        for j in range(mtd + 1):
            value = _utility(tox[k, j], eff[k, j], joint[k, j], utility_neither, utility_both)
            if value > best:
                best, obd = value, j
        true_obd[row] = obd
        level[row] = highest_tried[row] = requested[row] = assigned[row] = start
        selected[row], finished[row], cohort[row] = -1, False, 0
        _treat(row, start, dlt_truth, response_truth, both_truth, patients, dlts, responses,
               both, level, highest_tried, cohort, cohort_levels, cohort_dlts,
               cohort_responses, uniforms)


@numba.njit(cache=True, error_model="numpy")
def step_trials(rows: np.ndarray, decisions: np.ndarray, n_doses: int, allow_skipping: bool,
                max_sample_size: int, utility_neither: float, utility_both: float,
                dlt_truth: np.ndarray, response_truth: np.ndarray, both_truth: np.ndarray,
                true_mtd: np.ndarray, true_obd: np.ndarray, patients: np.ndarray,
                dlts: np.ndarray, responses: np.ndarray, both: np.ndarray, level: np.ndarray,
                highest_tried: np.ndarray, cohort: np.ndarray, requested: np.ndarray,
                assigned: np.ndarray, selected: np.ndarray, finished: np.ndarray,
                cohort_levels: np.ndarray, cohort_dlts: np.ndarray,
                cohort_responses: np.ndarray, uniforms: np.ndarray
                ) -> tuple[bool, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                           np.ndarray]:  # pragma: no cover - compiled
    """Stop, recommend (a full trial) or treat the next cohort of each trial in ``rows``.

    ``decisions`` (m,) are the requested levels (``n_doses``: stop). Nothing is written when
    a trial in ``rows`` is already finished (the first value returned is then False).

    Returns:
        ok, then per row (m,): the levels assigned, DLTs of the cohort treated, patients
        treated above the true MTD, done (stopped or recommended), and the relative utility
        (:func:`pkgym.envs.dose_finding_efftox.views.relative_utilities`) after the step.
    """
    m = rows.size
    out_levels, out_dlts, above = (np.empty(m, np.int64), np.zeros(m, np.int64),
                                   np.zeros(m, np.int64))
    done, relative = np.empty(m, np.bool_), np.zeros(m)
    for k in range(m):
        if finished[rows[k]]:
            return False, out_levels, out_dlts, above, done, relative
    for k in range(m):
        row, want = rows[k], decisions[k]
        level_k, stop, full = assigned_level(want, level[row], highest_tried[row],
                                             patients[row].sum(), n_doses, allow_skipping,
                                             max_sample_size)
        if not (stop or full):
            out_dlts[k] = _treat(row, level_k, dlt_truth, response_truth, both_truth, patients,
                                 dlts, responses, both, level, highest_tried, cohort,
                                 cohort_levels, cohort_dlts, cohort_responses, uniforms)
            above[k] = uniforms.shape[2] if level_k > true_mtd[row] else 0
        requested[row], assigned[row], out_levels[k] = want, level_k, level_k
        selected[row] = level_k if full and not stop else -1
        done[k] = finished[row] = stop or full
        if done[k] and 0 <= selected[row] <= true_mtd[row]:
            chosen = _utility(dlt_truth[row, level_k], response_truth[row, level_k],
                              both_truth[row, level_k], utility_neither, utility_both)
            obd = true_obd[row]
            best = _utility(dlt_truth[row, obd], response_truth[row, obd], both_truth[row, obd],
                            utility_neither, utility_both)
            relative[k] = chosen / (best if best > 0 else 1.0)
    return True, out_levels, out_dlts, above, done, relative


@numba.njit(cache=True, error_model="numpy")
def utility_table(dlt: np.ndarray, response: np.ndarray, both: np.ndarray,
                  utility_neither: float, utility_both: float) -> np.ndarray:  # pragma: no cover
    """:func:`pkgym.models.dose_efficacy.phase12_utilities` of (n, n_doses) truths, one pass."""
    out = np.empty(dlt.shape)
    for i in range(dlt.shape[0]):
        for j in range(dlt.shape[1]):
            out[i, j] = _utility(dlt[i, j], response[i, j], both[i, j], utility_neither,
                                 utility_both)
    return out
