"""The clinic's side of one warfarin day, compiled: dose record, INR, events, INR test, schedule.

After the PK/PD day (:func:`pkgym.models.warfarin_kernel.advance_days`), :func:`clinic_day`
books what happened to each patient in one pass. Its scalar rules (:func:`next_test_day`,
:func:`event_probability`, :func:`report_inr`) are the only implementations: the clinic's
dataclasses call them too, so the compiled step and the documented rules cannot drift apart.

The bundles it reads are named tuples (:class:`RecordArrays`, :class:`ClinicRules`,
:class:`DayOutcome`, :class:`pkgym.models.warfarin.InrForm`). Python hands them over as
plain tuples in field order (``tuple(bundle)``): numba types a plain tuple about twice as
fast as a named one, which is a tenth of a single-patient step; the entry points name them
again at once (``RecordArrays(*records)``).
"""

from __future__ import annotations

import math
import operator
from typing import NamedTuple

import numba
import numpy as np

from pkgym.models.warfarin import S_FRACTION
from pkgym.models.warfarin_inr import InrForm, inr_of
from pkgym.models.warfarin_kernel import PARALLEL_FROM, advance_rows
from pkgym.sim.bitgen import next_double, standard_normal


class ClinicRules(NamedTuple):
    """The scenario's clinic rules as the compiled day reads them (``clinic_parameters``)."""

    low_inr: float
    high_inr: float
    assay_log_sd: float
    report_decimals: int
    n_days: int
    interval_days: int
    in_range_to_extend: int
    report_high_inr: float
    bleed_rate_per_day: float
    clot_rate_per_day: float
    band_edges: np.ndarray  # (n_bands - 1,) INR
    bleed_relative_risks: np.ndarray  # (n_bands,)
    clot_relative_risks: np.ndarray  # (n_bands,)
    initial_days: np.ndarray  # (k,) the first INR days
    stable_intervals: np.ndarray  # (m,) days between INRs once in range


class RecordArrays(NamedTuple):
    """The arrays of ``ClinicRecords`` the compiled day reads and writes (same names, views)."""

    day: np.ndarray  # (n,)
    doses_mg: np.ndarray  # (n, n_days)
    doses_f32: np.ndarray  # (n, n_days)
    inr: np.ndarray  # (n, n_days + 1)
    concentration: np.ndarray  # (n, n_days + 1)
    inr_days: np.ndarray  # (n, n_days)
    inr_values: np.ndarray  # (n, n_days)
    inr_mask: np.ndarray  # (n, n_days)
    n_tests: np.ndarray  # (n,)
    last_test_day: np.ndarray  # (n,)
    next_test_day: np.ndarray  # (n,)
    in_range_streak: np.ndarray  # (n,)
    bleeding: np.ndarray  # (n, n_days)
    thromboembolism: np.ndarray  # (n, n_days)
    assay_normals: np.ndarray  # (n, n_days)
    event_uniforms: np.ndarray  # (n, n_days, 2)


RECORD_ARRAYS = operator.attrgetter(*RecordArrays._fields)
"""The :class:`RecordArrays` of a ``ClinicRecords``, as a plain tuple (module docstring)."""


class DayOutcome(NamedTuple):
    """What :func:`clinic_day` reports for each of its rows (filled in place)."""

    inr: np.ndarray  # (k,) true INR the next morning
    bleeding: np.ndarray  # (k,) bool
    thromboembolism: np.ndarray  # (k,) bool
    tested: np.ndarray  # (k,) bool: an INR was measured this morning


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
def inr_band(inr: float, band_edges: np.ndarray) -> int:  # pragma: no cover - compiled
    """The INR band i of ``inr``: ``edges[i-1] <= INR < edges[i]``."""
    band = 0
    while band < band_edges.size and inr >= band_edges[band]:
        band += 1
    return band


@numba.njit(cache=True, nogil=True)
def band_probabilities(relative_risks: np.ndarray,
                       rate_per_day: float) -> np.ndarray:  # pragma: no cover - compiled
    """Probability of an event over one day in each INR band: ``1 - exp(-rate RR)``."""
    out = np.empty(relative_risks.size)
    for band in range(relative_risks.size):
        out[band] = -math.expm1(-rate_per_day * relative_risks[band])
    return out


@numba.njit(cache=True, nogil=True)
def event_probability(inr: float, band_edges: np.ndarray, relative_risks: np.ndarray,
                      rate_per_day: float) -> float:  # pragma: no cover - compiled
    """Probability of an event over one day at this INR (band i: edges[i-1] <= INR < edges[i]).

    The compiled day reads the same numbers from :func:`band_probabilities` (a band's
    probability is fixed for the episode: computed once per call, not per patient-day).
    """
    return -math.expm1(-rate_per_day * relative_risks[inr_band(inr, band_edges)])


@numba.njit(cache=True, nogil=True)
def report_inr(true_inr: float, normal: float, log_sd: float, decimals: int,
               report_high: float) -> float:  # pragma: no cover - compiled
    """The lab's INR: log-normal assay error, rounded half up to ``decimals``, capped."""
    scale = 10.0 ** decimals
    value = math.floor(true_inr * math.exp(log_sd * normal) * scale + 0.5) / scale
    return min(value, report_high)


# Inlined (numba IR) into its callers: a call per patient costs more than the check itself.
@numba.njit(cache=True, nogil=True, inline="always")
def _measure(p: int, day: int, records: RecordArrays,
             rules: ClinicRules) -> None:  # pragma: no cover - compiled
    """Measure patient p's INR this morning if a test is due (in place)."""
    r = records  # every array read up front: numba then prunes their reference counting
    inr, assay_normals, inr_days, inr_values = r.inr, r.assay_normals, r.inr_days, r.inr_values
    inr_mask, n_tests, last_test_day = r.inr_mask, r.n_tests, r.last_test_day
    next_test, streak = r.next_test_day, r.in_range_streak
    if day != next_test[p] or day >= rules.n_days:
        return
    measured = report_inr(inr[p, day], assay_normals[p, day], rules.assay_log_sd,
                          rules.report_decimals, rules.report_high_inr)
    slot = n_tests[p]
    inr_days[p, slot], inr_values[p, slot], inr_mask[p, slot] = day, measured, 1.0
    n_tests[p] = slot + 1
    last_test_day[p] = day
    if rules.low_inr <= measured <= rules.high_inr:
        streak[p] += 1
    else:
        streak[p] = 0
    next_test[p] = next_test_day(day, streak[p], rules.initial_days, rules.interval_days,
                                 rules.in_range_to_extend, rules.stable_intervals)


@numba.njit(cache=True, nogil=True)
def measure_due(rows: np.ndarray, records: tuple,
                rules: tuple) -> None:  # pragma: no cover - compiled
    """Measure the INR of every row whose test falls on its current morning.

    ``records`` and ``rules`` are a :class:`RecordArrays` and a :class:`ClinicRules` as
    plain tuples (module docstring).
    """
    named, clinic = RecordArrays(*records), ClinicRules(*rules)
    for p in rows:
        _measure(p, named.day[p], named, clinic)


@numba.njit(cache=True, nogil=True)
def clinic_day(rows: np.ndarray, doses_mg: np.ndarray, chosen_days: np.ndarray,
               concentrations: np.ndarray, chains: np.ndarray, chain_lengths: np.ndarray,
               inr_form: tuple, records: tuple, rules: tuple,
               out: tuple) -> None:  # pragma: no cover - compiled
    """Book one day of ``rows`` whose PK/PD day has just been computed (in place).

    ``chosen_days[k] > 0`` sets the next test that many days ahead when patient k was tested
    this morning. ``out`` receives the new true INR, bleed, thromboembolism and whether a
    test was done this morning, per row. ``inr_form``, ``records``, ``rules`` and ``out``
    are an :class:`~pkgym.models.warfarin.InrForm`, a :class:`RecordArrays`, a
    :class:`ClinicRules` and a :class:`DayOutcome` as plain tuples (module docstring).
    """
    _book_rows(0, rows.shape[0], rows, doses_mg, chosen_days, concentrations, chains,
               chain_lengths, InrForm(*inr_form), RecordArrays(*records), ClinicRules(*rules),
               DayOutcome(*out))


@numba.njit(cache=True, nogil=True)
def _book_rows(first: int, last: int, rows: np.ndarray, doses_mg: np.ndarray,
               chosen_days: np.ndarray, concentrations: np.ndarray, chains: np.ndarray,
               chain_lengths: np.ndarray, form: InrForm, r: RecordArrays, clinic: ClinicRules,
               day_out: DayOutcome) -> None:  # pragma: no cover - compiled
    """:func:`clinic_day` for ``rows[first:last]`` (the one implementation of the booking)."""
    bleed_p = band_probabilities(clinic.bleed_relative_risks, clinic.bleed_rate_per_day)
    clot_p = band_probabilities(clinic.clot_relative_risks, clinic.clot_rate_per_day)
    band_edges, next_test, n_days = clinic.band_edges, r.next_test_day, clinic.n_days
    for k in range(first, last):
        p, d = rows[k], r.day[rows[k]]
        tested = r.last_test_day[p] == d
        if tested and chosen_days[k] > 0:
            r.next_test_day[p] = d + chosen_days[k]
        r.doses_mg[p, d], r.doses_f32[p, d] = doses_mg[k], doses_mg[k]
        new = inr_of(chains[p, 0, chain_lengths[0] - 1], chains[p, 1, chain_lengths[1] - 1],
                     form.product_form, form.exponent, form.inr_max, form.baseline_inr)
        mean = 0.5 * (r.inr[p, d] + new)
        band = inr_band(mean, band_edges)
        bleed = r.event_uniforms[p, d, 0] < bleed_p[band]
        clot = r.event_uniforms[p, d, 1] < clot_p[band]
        r.bleeding[p, d], r.thromboembolism[p, d] = bleed, clot
        r.inr[p, d + 1], r.concentration[p, d + 1] = new, concentrations[k]
        r.day[p] = d + 1
        if d + 1 == next_test[p] and d + 1 < n_days:  # _measure's own check, before its reads
            _measure(p, d + 1, r, clinic)
        day_out.inr[k], day_out.bleeding[k] = new, bleed
        day_out.thromboembolism[k], day_out.tested[k] = clot, tested


@numba.njit(cache=True, nogil=True)
def _numpy_max0(value: float) -> float:  # pragma: no cover - compiled
    """``np.maximum(value, 0)`` exactly (NaN and -0.0 kept as numpy keeps them)."""
    return value if (value >= 0.0 or value != value) else 0.0


@numba.njit(cache=True, nogil=True)
def _unit(flag: bool) -> float:  # pragma: no cover - compiled
    """A flag as numpy casts a bool to float64: 1.0 or 0.0."""
    return 1.0 if flag else 0.0


@numba.njit(cache=True, nogil=True)
def score_rows(first: int, last: int, target: tuple, weights: tuple, out: tuple,
               scores: tuple) -> None:  # pragma: no cover - compiled
    """The day's distance to the target range, in-range flag and (optionally) reward.

    ``target`` is (low, high) INR; ``out`` a :class:`DayOutcome`; ``scores`` receives
    (distance (k,), in_range (k,), reward (k,)). ``weights``: whether to score the reward,
    then the 9 weights of ``InrRangeReward`` in field order, whose formula this is, term by
    term in its order (tested against it).
    """
    low, high = target
    inr, bleeding, clot, tested = out
    distance, in_range, reward = scores
    rewarded, bonus, per_inr, high_inr, high_cost, low_inr, low_cost, bleed, te, test = weights
    for k in range(first, last):
        distance[k] = _numpy_max0(low - inr[k]) + _numpy_max0(inr[k] - high)
        in_range[k] = (inr[k] >= low) & (inr[k] <= high)
        if rewarded:
            reward[k] = (bonus * _unit(in_range[k]) - per_inr * distance[k]
                         - high_cost * _unit(inr[k] > high_inr)
                         - low_cost * _unit(inr[k] < low_inr) - bleed * _unit(bleeding[k])
                         - te * _unit(clot[k]) - test * _unit(tested[k]))


@numba.njit(cache=True, nogil=True)
def _day_chunk(first: int, last: int, rows: np.ndarray, doses_mg: np.ndarray,
               s_doses_mg: np.ndarray, chosen_days: np.ndarray, pk: np.ndarray,
               chains: np.ndarray, constants: tuple, concentrations: np.ndarray,
               inr_form: tuple, records: tuple, rules: tuple, out: tuple, target: tuple,
               weights: tuple, scores: tuple) -> None:  # pragma: no cover - compiled
    """The PK/PD day, the clinic's booking and the scores of ``rows[first:last]`` (:func:`day`)."""
    advance_rows(first, last, rows, s_doses_mg, pk, chains, constants, concentrations)
    _book_rows(first, last, rows, doses_mg, chosen_days, concentrations[:, 0], chains,
               constants[-1], InrForm(*inr_form), RecordArrays(*records), ClinicRules(*rules),
               DayOutcome(*out))
    score_rows(first, last, target, weights, out, scores)


@numba.njit(cache=True, nogil=True)
def _s_doses(doses_mg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
    """S-warfarin doses (k, 1), mg (``S_FRACTION * dose``), and room for the concentrations."""
    s_doses = np.empty((doses_mg.shape[0], 1))
    for k in range(doses_mg.shape[0]):
        s_doses[k, 0] = S_FRACTION * doses_mg[k]
    return s_doses, np.empty((doses_mg.shape[0], 1))


@numba.njit(cache=True, nogil=True)
def _day_serial(rows: np.ndarray, doses_mg: np.ndarray, chosen_days: np.ndarray,
                pk: np.ndarray, chains: np.ndarray, constants: tuple, inr_form: tuple,
                records: tuple, rules: tuple, out: tuple, target: tuple, weights: tuple,
                scores: tuple) -> None:  # pragma: no cover - compiled
    """:func:`_day_chunk` over every row, on this thread."""
    s_doses, concentrations = _s_doses(doses_mg)
    _day_chunk(0, rows.shape[0], rows, doses_mg, s_doses, chosen_days, pk, chains, constants,
               concentrations, inr_form, records, rules, out, target, weights, scores)


@numba.njit(cache=True, nogil=True, parallel=True)
def _day_parallel(rows: np.ndarray, doses_mg: np.ndarray, chosen_days: np.ndarray,
                  pk: np.ndarray, chains: np.ndarray, constants: tuple, inr_form: tuple,
                  records: tuple, rules: tuple, out: tuple, target: tuple, weights: tuple,
                  scores: tuple, n_chunks: int) -> None:  # pragma: no cover - compiled
    """:func:`_day_chunk` over ``n_chunks`` chunks of rows, run in parallel."""
    s_doses, concentrations = _s_doses(doses_mg)
    size = (rows.shape[0] + n_chunks - 1) // n_chunks
    for chunk in numba.prange(n_chunks):
        first = chunk * size
        last = min(first + size, rows.shape[0])
        if first < last:
            _day_chunk(first, last, rows, doses_mg, s_doses, chosen_days, pk, chains,
                       constants, concentrations, inr_form, records, rules, out, target,
                       weights, scores)


def day(rows: np.ndarray, doses_mg: np.ndarray, chosen_days: np.ndarray, pk: np.ndarray,
        chains: np.ndarray, constants: tuple, inr_form: tuple, records: tuple, rules: tuple,
        out: tuple, target: tuple, weights: tuple, scores: tuple) -> None:
    """One whole day of ``rows`` (distinct patients) in one compiled call, in place.

    :func:`pkgym.models.warfarin_kernel.advance_days` with the day's racemic ``doses_mg``
    (k,), then :func:`clinic_day`, then :func:`score_rows` (``target``, ``weights`` and
    ``scores`` are its): the same arithmetic in the same order for each patient,
    patients split across numba's threads from ``PARALLEL_FROM`` rows (each patient's work
    touches only its own rows). ``constants`` is a ``DayConstants`` as a plain tuple.
    """
    if rows.shape[0] >= PARALLEL_FROM and numba.get_num_threads() > 1:
        _day_parallel(rows, doses_mg, chosen_days, pk, chains, constants, inr_form, records,
                      rules, out, target, weights, scores, numba.get_num_threads())
    else:
        _day_serial(rows, doses_mg, chosen_days, pk, chains, constants, inr_form, records,
                    rules, out, target, weights, scores)


@numba.njit(cache=True, nogil=True)
def draw_episodes(addresses: np.ndarray, normal: int, covariates: np.ndarray, eta: np.ndarray,
                  assay: np.ndarray, events: np.ndarray) -> None:  # pragma: no cover - compiled
    """Each slot's episode draws into its rows, slot after slot (``WarfarinCore``'s plan).

    Slot i's patient stream (``addresses[i, 0]``) gives ``covariates[i]`` (uniforms), then
    ``eta[i]`` (standard normals); its noise stream ``assay[i]`` (standard normals), its
    events stream ``events[i]`` (uniforms, C order): the numbers ``random(out=...)`` and
    ``standard_normal(out=...)`` give, drawn on each generator's own bit generator
    (``normal``: :data:`pkgym.sim.bitgen.NUMPY_NORMAL`).
    """
    for i in range(addresses.shape[0]):
        patient, noise, clinic = addresses[i, 0], addresses[i, 1], addresses[i, 2]
        for j in range(covariates.shape[1]):
            covariates[i, j] = next_double(patient)
        for j in range(eta.shape[1]):
            eta[i, j] = standard_normal(normal, patient)
        for j in range(assay.shape[1]):
            assay[i, j] = standard_normal(normal, noise)
        for d in range(events.shape[1]):
            for k in range(events.shape[2]):
                events[i, d, k] = next_double(clinic)
