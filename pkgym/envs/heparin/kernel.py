"""Compiled interval of N heparin patients: the float operations of the numpy reference.

:func:`pkgym.envs.heparin.records.simulate_interval` and ``HeparinCore.step``'s record
keeping, one patient at a time, split around the two places numpy must do the work so that
every bit stays: the exponentials (numpy's own ``exp``, vectorised, on the arguments
:func:`decay_arguments` lays out) and the mean bleeding excess (numpy's pairwise sum).
``rows`` (m,) picks the patients worked on; the other arrays are the records' (n first) or
the stepped patients' (m first). An episode's random numbers are drawn compiled too
(:func:`draw_episodes`), on each slot's own bit generator, as the dose-finding envs draw theirs.
"""

from __future__ import annotations

import numba
import numpy as np

from pkgym.sim.bitgen import next_double, standard_normal


@numba.njit(cache=True, error_model="numpy")
def decay_arguments(rows: np.ndarray, params: np.ndarray, decisions: np.ndarray,
                    times: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """``-k t`` of the held and infused parts at ``times`` into ``out`` (m, 2, len(times)).

    k = CL / V. The held part runs ``min(t, hold)``, the infusion ``max(t - hold, 0)``
    (``interval_amounts``).
    """
    for i in range(rows.size):
        row = rows[i]
        k, hold = params[row, 0] / params[row, 1], decisions[i, 1]
        for j in range(times.size):
            out[i, 0, j] = -k * min(times[j], hold)
            out[i, 1, j] = -k * max(times[j] - hold, 0.0)


@numba.njit(cache=True, error_model="numpy")
def interval_outcome(rows: np.ndarray, decays: np.ndarray, decisions: np.ndarray,
                     times: np.ndarray, interval_h: float, early_window_h: float,
                     subtherapeutic_ratio: float, recurrence: float, params: np.ndarray,
                     weight_kg: np.ndarray, amount_iu: np.ndarray, baseline_aptt_s: np.ndarray,
                     target_low_s: np.ndarray, target_high_s: np.ndarray, step: np.ndarray,
                     excess: np.ndarray, values: np.ndarray,
                     offset: int) -> None:  # pragma: no cover - compiled
    """The amounts and true aPTT over the interval from the ``decays`` (``exp`` of the above).

    ``times`` are the grid's midpoints then the interval's end. ``excess`` (m, grid points)
    receives ``max(aPTT / upper - 1, 0)`` on the grid, whose row means are the bleeding index;
    column ``offset + i`` of ``values`` (6, total) patient i's end amount, end true aPTT, the
    shares of the grid in, below and above the range, and the thrombosis risk.
    """
    points = times.size - 1
    for i in range(rows.size):
        row, out = rows[i], offset + i
        cl, v, slope = params[row, 0], params[row, 1], params[row, 2]
        k, weight, base = cl / v, weight_kg[row], baseline_aptt_s[row]
        start = amount_iu[row] + decisions[i, 0] * weight
        rate = decisions[i, 2] * weight
        low, high, control = target_low_s[row], target_high_s[row], subtherapeutic_ratio * base
        start_h = step[row] * interval_h
        inside, under, over, early = 0, 0, 0, 0
        for j in range(times.size):
            held = start * decays[i, 0, j] + 0.0 / k * (1.0 - decays[i, 0, j])
            amount = held * decays[i, 1, j] + rate / k * (1.0 - decays[i, 1, j])
            aptt = base + slope * (amount / v)
            if j == points:
                values[0, out], values[1, out] = amount, aptt
                break
            inside += (aptt >= low) & (aptt <= high)
            under += aptt < low
            over += aptt > high
            early += ((start_h + times[j]) < early_window_h) & (aptt < control)
            excess[i, j] = max(aptt / high - 1.0, 0.0)
        values[2, out], values[3, out] = inside / points, under / points
        values[4, out] = over / points
        values[5, out] = early / points * interval_h / early_window_h * recurrence


@numba.njit(cache=True, error_model="numpy")
def record_interval(rows: np.ndarray, decisions: np.ndarray, end_amount: np.ndarray,
                    end_aptt: np.ndarray, in_range: np.ndarray, below: np.ndarray,
                    above: np.ndarray, bleeding: np.ndarray, risk: np.ndarray,
                    interval_h: float, early_window_h: float, recurrence: float,
                    residual_cv: float, assay_max_s: float, weight_kg: np.ndarray,
                    bolus_u_per_kg: np.ndarray, hold_h: np.ndarray,
                    rate_u_per_kg_per_h: np.ndarray, current_rate: np.ndarray,
                    dose_iu: np.ndarray, amount_iu: np.ndarray, step: np.ndarray,
                    hours: np.ndarray, in_range_h: np.ndarray, below_h: np.ndarray,
                    above_h: np.ndarray, bleeding_sum: np.ndarray, thrombosis_risk: np.ndarray,
                    early_below_h: np.ndarray, step_in_range: np.ndarray,
                    step_bleeding: np.ndarray, step_thrombosis: np.ndarray,
                    aptt_true_s: np.ndarray, aptt_measured_s: np.ndarray,
                    assay_normals: np.ndarray, target_low_s: np.ndarray,
                    target_high_s: np.ndarray,
                    first_therapeutic_h: np.ndarray) -> None:  # pragma: no cover - compiled
    """Write one interval of ``rows`` into the records (``HeparinCore.step``'s bookkeeping).

    The decisions given, the dose, the end amount and the step; the interval's time shares
    and risks added to the episode's sums; the aPTT measured at the end (proportional assay
    error, clipped to the assay's limits) and the first time it was in range.
    """
    for i in range(rows.size):
        row = rows[i]
        k = step[row]
        bolus, hold, rate = decisions[i, 0], decisions[i, 1], decisions[i, 2]
        bolus_u_per_kg[row, k], hold_h[row, k] = bolus, hold
        rate_u_per_kg_per_h[row, k], current_rate[row] = rate, rate
        dose_iu[row] += weight_kg[row] * (bolus + rate * (interval_h - hold))
        amount_iu[row], step[row] = end_amount[i], k + 1
        hours[row] += interval_h
        in_range_h[row] += interval_h * in_range[i]
        below_h[row] += interval_h * below[i]
        above_h[row] += interval_h * above[i]
        bleeding_sum[row] += bleeding[i]
        thrombosis_risk[row] += risk[i]
        early_below_h[row] += risk[i] / recurrence * early_window_h
        step_in_range[row], step_bleeding[row] = in_range[i], bleeding[i]
        step_thrombosis[row] = risk[i]
        aptt_true_s[row, k + 1] = end_aptt[i]
        noisy = end_aptt[i] * (1.0 + residual_cv * assay_normals[row, k + 1])
        measured = min(max(noisy, 10.0), assay_max_s)
        aptt_measured_s[row, k + 1] = measured
        if target_low_s[row] <= measured <= target_high_s[row] and \
                np.isnan(first_therapeutic_h[row]):
            first_therapeutic_h[row] = (k + 1) * interval_h


@numba.njit(cache=True, error_model="numpy")
def draw_episodes(addresses: np.ndarray, normal: int, n_covariates: int, n_etas: int,
                  n_assays: int) -> tuple[np.ndarray, np.ndarray,
                                          np.ndarray]:  # pragma: no cover - compiled
    """Each slot's episode draws, slot after slot (``HeparinCore.draw_episodes``' plan).

    Per slot, from its patient stream (``addresses[:, 0]``) ``n_covariates`` uniforms then
    ``n_etas`` standard normals, and from its noise stream (``addresses[:, 1]``) ``n_assays``
    standard normals: the numbers ``random(out=...)`` and ``standard_normal(out=...)`` give,
    drawn on each generator's own bit generator (``normal``: :data:`pkgym.sim.bitgen.NUMPY_NORMAL`).
    """
    m = addresses.shape[0]
    covariates, etas = np.empty((m, n_covariates)), np.empty((m, n_etas))
    assays = np.empty((m, n_assays))
    for i in range(m):
        patient, noise = addresses[i, 0], addresses[i, 1]
        for j in range(n_covariates):
            covariates[i, j] = next_double(patient)
        for j in range(n_etas):
            etas[i, j] = standard_normal(normal, patient)
        for j in range(n_assays):
            assays[i, j] = standard_normal(normal, noise)
    return covariates, etas, assays


@numba.njit(cache=True, error_model="numpy")
def step_values(rows: np.ndarray, interval_h: float, step: np.ndarray, aptt_true_s: np.ndarray,
                aptt_measured_s: np.ndarray, target_low_s: np.ndarray,
                target_high_s: np.ndarray, amount_iu: np.ndarray, params: np.ndarray,
                weight_kg: np.ndarray, bolus_u_per_kg: np.ndarray,
                rate_u_per_kg_per_h: np.ndarray,
                hold_h: np.ndarray) -> tuple[np.ndarray, ...]:  # pragma: no cover - compiled
    """``info``'s values of the last step for ``rows`` (``heparin.views.info``'s operations).

    Returns:
        The true and measured aPTT now, whether the true one is in range, the concentration
        (IU/mL), the last bolus (U/kg) and the last interval's dose (U), 0 before any step.
    """
    m = rows.size
    true, measured, in_range = np.empty(m), np.empty(m), np.empty(m, np.bool_)
    concentration, bolus, dose = np.empty(m), np.empty(m), np.empty(m)
    for i in range(m):
        row = rows[i]
        k = step[row]
        last = max(k - 1, 0)
        true[i], measured[i] = aptt_true_s[row, k], aptt_measured_s[row, k]
        in_range[i] = (true[i] >= target_low_s[row]) & (true[i] <= target_high_s[row])
        concentration[i] = amount_iu[row] / params[row, 1] / 1000.0
        bolus[i] = bolus_u_per_kg[row, last] if k > 0 else 0.0
        dose[i] = weight_kg[row] * (bolus_u_per_kg[row, last] + rate_u_per_kg_per_h[row, last]
                                    * (interval_h - hold_h[row, last])) if k > 0 else 0.0
    return true, measured, in_range, concentration, bolus, dose


@numba.njit(cache=True, error_model="numpy")
def episode_values(rows: np.ndarray, interval_h: float, horizon_h: float, at_24h: int,
                   step: np.ndarray, hours: np.ndarray, in_range_h: np.ndarray,
                   below_h: np.ndarray, above_h: np.ndarray, first_therapeutic_h: np.ndarray,
                   aptt_true_s: np.ndarray, target_low_s: np.ndarray,
                   bleeding_sum: np.ndarray, dose_iu: np.ndarray,
                   weight_kg: np.ndarray) -> tuple[np.ndarray, ...]:  # pragma: no cover
    """``episode_metrics``' values for ``rows`` (its operations, one patient at a time).

    ``at_24h``: the aPTT sample read at 24 h. Returns the time shares in, below and above the
    range, the hours to the first measured aPTT in range, subtherapeutic at 24 h, the
    bleeding index and the cumulative dose (U/kg).
    """
    m = rows.size
    shares_in, shares_below, shares_above = np.empty(m), np.empty(m), np.empty(m)
    first, sub24, bleeding, dose = np.empty(m), np.empty(m), np.empty(m), np.empty(m)
    for i in range(m):
        row = rows[i]
        so_far = max(hours[row], 1e-12)
        shares_in[i], shares_below[i] = in_range_h[row] / so_far, below_h[row] / so_far
        shares_above[i] = above_h[row] / so_far
        first[i] = horizon_h if np.isnan(first_therapeutic_h[row]) else first_therapeutic_h[row]
        low = aptt_true_s[row, at_24h] < target_low_s[row]
        sub24[i] = (1.0 if low else 0.0) if step[row] * interval_h >= 24.0 else 0.0
        bleeding[i] = bleeding_sum[row] / max(step[row], 1)
        dose[i] = dose_iu[row] / weight_kg[row]
    return shares_in, shares_below, shares_above, first, sub24, bleeding, dose


@numba.njit(cache=True, error_model="numpy", inline="always")
def _clip32(x: float, high: float) -> np.float32:  # pragma: no cover - compiled
    """``np.clip(x, 0.0, high).astype(np.float32)``, scalar bounds: NaN and -0.0 kept, as numpy."""
    return np.float32(0.0 if x < 0.0 else (high if x > high else x))


@numba.njit(cache=True, error_model="numpy", inline="always")
def _clip32_by_column(x: float, high: float) -> np.float32:  # pragma: no cover - compiled
    """The same with an array of highs: numpy's loop then gives +0.0 for -0.0 (NaN kept)."""
    x = x if x > 0.0 or x != x else 0.0
    return np.float32(high if x > high else x)


@numba.njit(cache=True, error_model="numpy")
def observe_rows(step: np.ndarray, aptt: np.ndarray, decisions: tuple, current_rate: np.ndarray,
                 patient: tuple, targets: tuple, highs: tuple, patient_highs: np.ndarray,
                 interval_h: float) -> tuple:  # pragma: no cover - compiled
    """The clinic's observation of every patient in one pass, fresh float32 arrays.

    The values of :meth:`pkgym.envs.heparin.clinic.ClinicObservation.__call__`'s numpy
    expressions (clipped at 0 and the space's highs, then float32), without their
    temporaries. ``decisions``: bolus, hold, rate (n, n_steps); ``patient``: the five
    covariate arrays (n,); ``targets``: low, high (n,); ``highs``: the aPTT assay top, the
    bolus, hold and rate highs and the horizon (h).

    Returns:
        aPTT (n, n_steps + 1), its mask, bolus, hold, rate (n, n_steps), current rate (n, 1),
        hours since start (n, 1), patient (n, 5), target aPTT (n, 2).
    """
    n, width = aptt.shape
    top, horizon = highs[0], highs[4]
    out_aptt, mask = np.empty((n, width), np.float32), np.empty((n, width), np.float32)
    history = [np.empty(decisions[0].shape, np.float32) for _ in range(3)]
    rate_now, hours = np.empty((n, 1), np.float32), np.empty((n, 1), np.float32)
    covariates, target = np.empty((n, 5), np.float32), np.empty((n, 2), np.float32)
    for p in range(n):
        for j in range(width):
            seen = j <= step[p]
            out_aptt[p, j] = _clip32(aptt[p, j] if seen else 0.0, top)
            mask[p, j] = np.float32(1.0 if seen else 0.0)
        for d in range(3):
            values, out, high = decisions[d], history[d], highs[d + 1]
            for j in range(values.shape[1]):
                out[p, j] = _clip32(values[p, j], high)
        rate_now[p, 0] = _clip32(current_rate[p], highs[3])
        hours[p, 0] = _clip32(step[p] * interval_h, horizon)
        for j in range(5):
            covariates[p, j] = _clip32_by_column(patient[j][p], np.float64(patient_highs[j]))
        target[p, 0], target[p, 1] = _clip32(targets[0][p], top), _clip32(targets[1][p], top)
    return (out_aptt, mask, history[0], history[1], history[2], rate_now, hours, covariates,
            target)
