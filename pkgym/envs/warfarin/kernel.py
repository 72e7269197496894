"""The clinic's side of one warfarin day, compiled: dose record, INR, events, INR test, schedule.

After the PK/PD day (:func:`pkgym.models.warfarin_kernel.advance_days`), :func:`clinic_day`
books what happened to each patient in one pass. Its scalar rules (:func:`next_test_day`,
:func:`event_probability`, :func:`report_inr`) are the only implementations: the clinic's
dataclasses call them too, so the compiled step and the documented rules cannot drift apart.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from pkgym.models.warfarin import inr_of

# Slots of the packed clinic parameters (``clinic_parameters``).
LOW, HIGH, ASSAY_SD, DECIMALS, N_DAYS, INTERVAL, TO_EXTEND, REPORT_HIGH, BLEED, CLOT = range(10)


@numba.njit(cache=True, nogil=True)
def next_test_day(day: int, in_range_streak: int, initial_days: np.ndarray, interval_days: int,
                  in_range_to_extend: int,
                  stable_intervals: np.ndarray) -> int:  # pragma: no cover - compiled
    """The next INR day after a test on ``day`` (see ``MonitoringSchedule``)."""
    for initial in initial_days:
        if initial > day:
            return initial
    rank = in_range_streak - in_range_to_extend
    if rank >= 0 and stable_intervals.size > 0:
        return day + stable_intervals[min(rank, stable_intervals.size - 1)]
    return day + interval_days


@numba.njit(cache=True, nogil=True)
def event_probability(inr: float, band_edges: np.ndarray, relative_risks: np.ndarray,
                      rate_per_day: float) -> float:  # pragma: no cover - compiled
    """Probability of an event over one day at this INR (band i: edges[i-1] <= INR < edges[i])."""
    band = 0
    while band < band_edges.size and inr >= band_edges[band]:
        band += 1
    return -math.expm1(-rate_per_day * relative_risks[band])


@numba.njit(cache=True, nogil=True)
def report_inr(true_inr: float, normal: float, log_sd: float, decimals: int,
               report_high: float) -> float:  # pragma: no cover - compiled
    """The lab's INR: log-normal assay error, rounded half up to ``decimals``, capped."""
    scale = 10.0 ** decimals
    value = math.floor(true_inr * math.exp(log_sd * normal) * scale + 0.5) / scale
    return min(value, report_high)


@numba.njit(cache=True, nogil=True)
def _measure(p: int, day: int, records: tuple, clinic: tuple) -> None:  # pragma: no cover
    """Measure patient p's INR this morning if a test is due (in place)."""
    (_, _, _, inr, _, inr_days, inr_values, inr_mask, n_tests, last_test_day, next_test,
     streak, _, _, assay_normals, _) = records
    params, _, _, _, initial_days, stable_intervals = clinic
    if day != next_test[p] or day >= int(params[N_DAYS]):
        return
    measured = report_inr(inr[p, day], assay_normals[p, day], params[ASSAY_SD],
                          int(params[DECIMALS]), params[REPORT_HIGH])
    slot = n_tests[p]
    inr_days[p, slot], inr_values[p, slot], inr_mask[p, slot] = day, measured, 1.0
    n_tests[p] = slot + 1
    last_test_day[p] = day
    if params[LOW] <= measured <= params[HIGH]:
        streak[p] += 1
    else:
        streak[p] = 0
    next_test[p] = next_test_day(day, streak[p], initial_days, int(params[INTERVAL]),
                                 int(params[TO_EXTEND]), stable_intervals)


@numba.njit(cache=True, nogil=True)
def measure_due(rows: np.ndarray, records: tuple, clinic: tuple) -> None:  # pragma: no cover
    """Measure the INR of every row whose test falls on its current morning."""
    day = records[0]
    for p in rows:
        _measure(p, day[p], records, clinic)


@numba.njit(cache=True, nogil=True)
def clinic_day(rows: np.ndarray, doses_mg: np.ndarray, chosen_days: np.ndarray,
               concentrations: np.ndarray, chains: np.ndarray, chain_lengths: np.ndarray,
               inr_form: tuple, records: tuple, clinic: tuple,
               out: tuple) -> None:  # pragma: no cover - compiled
    """Book one day of ``rows`` whose PK/PD day has just been computed (in place).

    ``chosen_days[k] > 0`` sets the next test that many days ahead when patient k was tested
    this morning. ``out`` receives the new true INR, bleed, thromboembolism and whether a
    test was done this morning, per row.
    """
    (day, dose_record, dose_f32, inr, concentration, _, _, _, _, last_test_day, next_test,
     _, bleeding, thromboembolism, _, event_uniforms) = records
    params, edges, bleed_rr, clot_rr, _, _ = clinic
    product_form, exponent, inr_max, baseline = inr_form
    out_inr, out_bleed, out_clot, out_tested = out
    for k in range(rows.shape[0]):
        p, d = rows[k], day[rows[k]]
        tested = last_test_day[p] == d
        if tested and chosen_days[k] > 0:
            next_test[p] = d + chosen_days[k]
        dose_record[p, d], dose_f32[p, d] = doses_mg[k], doses_mg[k]
        new = inr_of(chains[p, 0, chain_lengths[0] - 1], chains[p, 1, chain_lengths[1] - 1],
                     product_form, exponent, inr_max, baseline)
        mean = 0.5 * (inr[p, d] + new)
        bleed = event_uniforms[p, d, 0] < event_probability(mean, edges, bleed_rr, params[BLEED])
        clot = event_uniforms[p, d, 1] < event_probability(mean, edges, clot_rr, params[CLOT])
        bleeding[p, d], thromboembolism[p, d] = bleed, clot
        inr[p, d + 1], concentration[p, d + 1] = new, concentrations[k]
        day[p] = d + 1
        _measure(p, d + 1, records, clinic)
        out_inr[k], out_bleed[k], out_clot[k], out_tested[k] = new, bleed, clot, tested
