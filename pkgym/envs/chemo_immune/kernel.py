"""The clinic's bookkeeping of one day, compiled: one pass over the stepped patients.

Writing a day into the per-patient course arrays ``(n, n_days + 1, ...)`` touches one row of
each array per patient; numpy's fancy indexing does that one array at a time, these loops do
it for all arrays in one pass. They only copy and gather values (no arithmetic), so the
records hold exactly the numbers the numpy indexing wrote. Measurement noise and the reward
stay in numpy (:func:`pkgym.envs.chemo_immune.records.measure`, the injected reward).
"""

from __future__ import annotations

import numba
import numpy as np

from pkgym.sim.bitgen import next_double, standard_normal


@numba.njit(cache=True, error_model="numpy")
def draw_episodes(addresses: np.ndarray, normal: int, covariates: np.ndarray, eta: np.ndarray,
                  assay: np.ndarray) -> None:  # pragma: no cover - compiled
    """Each slot's episode draws into row k of the arrays, slot after slot.

    Per slot, from its patient stream (``addresses[k, 0]``) the covariate uniforms then the
    eta normals, from its noise stream (``addresses[k, 1]``) the assay normals in C order:
    the numbers ``random(out=...)`` and ``standard_normal(out=...)`` give, on each slot's own
    bit generators (``normal``: :data:`pkgym.sim.bitgen.NUMPY_NORMAL`).
    """
    for k in range(addresses.shape[0]):
        patient, noise = addresses[k, 0], addresses[k, 1]
        for j in range(covariates.shape[1]):
            covariates[k, j] = next_double(patient)
        for j in range(eta.shape[1]):
            eta[k, j] = standard_normal(normal, patient)
        for d in range(assay.shape[1]):
            for j in range(assay.shape[2]):
                assay[k, d, j] = standard_normal(normal, noise)


@numba.njit(cache=True, nogil=True)
def record_doses(rows: np.ndarray, day: np.ndarray, doses: np.ndarray, given: np.ndarray,
                 given_f32: np.ndarray, last_dose: np.ndarray) -> None:  # pragma: no cover
    """Day ``day[k]``'s infusion ``doses[k]`` of patient ``rows[k]`` into its records.

    ``given``, ``given_f32``: (n, n_days) float64 and float32; ``last_dose``: (n,).
    """
    for k in range(rows.shape[0]):
        r, d = rows[k], day[k]
        given[r, d] = doses[k]
        given_f32[r, d] = np.float32(doses[k])
        last_dose[r] = doses[k]


@numba.njit(cache=True, nogil=True)
def record_morning(rows: np.ndarray, day: np.ndarray, states: np.ndarray,
                   course: np.ndarray, normals: np.ndarray, today: np.ndarray,
                   after: np.ndarray, noise: np.ndarray) -> None:  # pragma: no cover
    """Patient ``rows[k]``'s new morning ``day[k] + 1``: day count, true course, its noise.

    ``states``: (n, 4) true state now; ``course``: (n, n_days + 1, 4); ``normals``: the
    pre-drawn assay normals (n, n_days + 1, 3); ``today``: the day counters (n,). Fills
    ``after`` (k, 4) with the stepped rows' states and ``noise`` (k, 3) with their normals.
    """
    for k in range(rows.shape[0]):
        r, d = rows[k], day[k] + 1
        today[r] = d
        for j in range(4):
            after[k, j] = course[r, d, j] = states[r, j]
        for j in range(3):
            noise[k, j] = normals[r, d, j]


@numba.njit(cache=True, nogil=True)
def record_measured(rows: np.ndarray, day: np.ndarray, measured: np.ndarray,
                    below: np.ndarray, records_measured: np.ndarray, measured_now: np.ndarray,
                    below_floor: np.ndarray,
                    days_below_floor: np.ndarray) -> None:  # pragma: no cover - compiled
    """Patient ``rows[k]``'s measurement of morning ``day[k] + 1`` and its floor check.

    ``measured`` (k, 3) float32 and ``below`` (k,) bool, as computed; the records:
    ``records_measured`` (n, n_days + 1, 3), ``measured_now`` (n, 3), ``below_floor``
    (n, n_days), ``days_below_floor`` (n,).
    """
    for k in range(rows.shape[0]):
        r, d = rows[k], day[k]
        for j in range(3):
            records_measured[r, d + 1, j] = measured_now[r, j] = measured[k, j]
        below_floor[r, d] = below[k]
        days_below_floor[r] += below[k]
