"""Compiled bookkeeping of the depression clinic: a visit's and a week's values in and out.

Each function is one pass over the stepped rows doing what numpy's fancy indexing
``a[rows, column] = values`` did array by array (the same values: copies, and float64 to
float32 casts rounded to nearest as numpy's). No arithmetic happens here except the PRT
accuracy, whose counts are whole numbers (every partial sum is exact, in any order).
"""

from __future__ import annotations

import numba
import numpy as np

from pkgym.sim.bitgen import next_double, next_uint64, standard_normal


@numba.njit(cache=True, error_model="numpy")
def draw_episodes(addresses: np.ndarray, normal: int, n_draws: int, n_etas: int,
                  n_weeks: int) -> tuple[np.ndarray, ...]:  # pragma: no cover - compiled
    """Each slot's episode draws, slot after slot (``DepressionCore.episode_draws``' plan).

    Per slot, from its patient stream (``addresses[:, 0]``) ``n_draws`` uniforms then
    ``n_etas`` standard normals; from its noise stream (``addresses[:, 1]``) ``n_weeks + 1``
    rater normals then ``n_weeks + 1`` session seeds; from its events stream
    (``addresses[:, 2]``) ``n_weeks`` uniforms. A session seed is
    ``integers(0, 2**63, dtype=np.uint64)``: numpy bounds a 64-bit draw x to the range 2^63 by
    Lemire's method, whose product ``x * 2^63`` is never rejected and whose high word is
    ``x >> 1`` (``normal``: :data:`pkgym.sim.bitgen.NUMPY_NORMAL`).
    """
    m = addresses.shape[0]
    covariates, eta = np.empty((m, n_draws)), np.empty((m, n_etas))
    rater, seeds = np.empty((m, n_weeks + 1)), np.empty((m, n_weeks + 1), np.uint64)
    events = np.empty((m, n_weeks))
    for i in range(m):
        patient, noise, clinic = addresses[i, 0], addresses[i, 1], addresses[i, 2]
        for j in range(n_draws):
            covariates[i, j] = next_double(patient)
        for j in range(n_etas):
            eta[i, j] = standard_normal(normal, patient)
        for j in range(n_weeks + 1):
            rater[i, j] = standard_normal(normal, noise)
        for j in range(n_weeks + 1):
            seeds[i, j] = next_uint64(noise) >> np.uint64(1)
        for j in range(n_weeks):
            events[i, j] = next_double(clinic)
    return covariates, eta, rater, seeds, events


@numba.njit(cache=True, nogil=True)
def visit_inputs(rows: np.ndarray, visit: np.ndarray, rater_normals: np.ndarray,
                 session_seeds: np.ndarray, epsilon: np.ndarray,
                 gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The rater normal, session seed, epsilon and gamma of each row's visit (each (m,))."""
    m = rows.shape[0]
    normals, seeds, eps, gam = np.empty(m), np.empty(m, np.uint64), np.empty(m), np.empty(m)
    for j in range(m):
        i, v = rows[j], visit[j]
        normals[j], seeds[j] = rater_normals[i, v], session_seeds[i, v]
        eps[j], gam[j] = epsilon[i], gamma[i]
    return normals, seeds, eps, gam


@numba.njit(cache=True, nogil=True, error_model="numpy")
def record_visit(rows: np.ndarray, visit: np.ndarray, values: tuple, records: tuple) -> None:
    """Write a visit's values into the records (accuracy: ``(RC + LC) / (RC + RI + LC + LI)``).

    Division by numpy's rules, as before (no counts give NaN, not an error).

    ``values``: rho, score, rated, bias (m,); counts (m, 4). ``records``: rho, score
    (n, v); counts (n, v, 4); madrs, bias, accuracy, assessed (float32, (n, v)).
    """
    rho, score, rated, bias, counts = values
    true_rho, true_score, all_counts, madrs, bias_measured, accuracy, assessed = records
    for j in range(rows.shape[0]):
        i, v = rows[j], visit[j]
        true_rho[i, v], true_score[i, v] = rho[j], score[j]
        for k in range(4):
            all_counts[i, v, k] = counts[j, k]
        madrs[i, v], bias_measured[i, v] = np.float32(rated[j]), np.float32(bias[j])
        total = ((counts[j, 0] + counts[j, 1]) + counts[j, 2]) + counts[j, 3]
        accuracy[i, v] = np.float32((counts[j, 0] + counts[j, 2]) / total)
        assessed[i, v] = np.float32(1.0)


@numba.njit(cache=True, nogil=True)
def record_week(rows: np.ndarray, week: np.ndarray, values: tuple, records: tuple) -> None:
    """Write a week's values into the records; the event is ``uniform < adverse probability``.

    ``values``: dose, adverse probability, concentration, occupancy (m,); event uniforms
    (n, w). ``records``: doses, adverse probability, adverse event, concentration,
    occupancy (n, w).
    """
    dose, adverse, concentration, occupancy, event_uniforms = values
    doses_mg, adverse_probability, adverse_event, concentrations, occupancies = records
    for j in range(rows.shape[0]):
        i, w = rows[j], week[j]
        doses_mg[i, w], adverse_probability[i, w] = dose[j], adverse[j]
        adverse_event[i, w] = event_uniforms[i, w] < adverse[j]
        concentrations[i, w], occupancies[i, w] = concentration[j], occupancy[j]


@numba.njit(cache=True, nogil=True)
def last_week(rows: np.ndarray, week: np.ndarray, per_week: tuple,
              adverse_event: np.ndarray) -> tuple:
    """The four ``per_week`` (n, w) arrays and the adverse event at each row's last week.

    Before the first week: 0.0 and False.
    """
    m = rows.shape[0]
    out = (np.zeros(m), np.zeros(m), np.zeros(m), np.zeros(m))
    event = np.zeros(m, np.bool_)
    for j in range(m):
        i, w = rows[j], week[j] - 1
        if w >= 0:
            for k in range(4):
                out[k][j] = per_week[k][i, w]
            event[j] = adverse_event[i, w]
    return out, event


@numba.njit(cache=True, nogil=True)
def this_visit(rows: np.ndarray, week: np.ndarray, true: tuple, measured: tuple) -> tuple:
    """``true`` (two float64) and ``measured`` (three float32) at each row's visit, as float64.

    The sixth array is ``true[0]`` at the baseline visit.
    """
    m = rows.shape[0]
    out = (np.empty(m), np.empty(m), np.empty(m), np.empty(m), np.empty(m), np.empty(m))
    for j in range(m):
        i, w = rows[j], week[j]
        out[0][j], out[1][j] = true[0][i, w], true[1][i, w]
        for k in range(3):
            out[2 + k][j] = np.float64(measured[k][i, w])
        out[5][j] = true[0][i, 0]
    return out
