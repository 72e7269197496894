"""The addiction clinic's week, compiled: treatment, choice, tests and learning of N patients.

A numba twin of the clinic's week (``core.simulate_week`` before it was compiled): the same
float operations in the same order, so every number is bit-identical. Only ``exp`` (the
softmax of each day's choice) stays a batched ``numpy.exp`` between the compiled parts,
because numpy's SIMD ``exp`` and libm's differ in the last bit: a week is one call of
:func:`week_treatment`, then per day ``numpy.exp`` and one call of :func:`week_day`.

Every kernel reads and writes the records' own arrays at ``(rows[j], weeks[j])``; work
arrays indexed ``j`` have one row per stepped patient.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import literal_unroll

from pkgym.models.addiction import (
    patient_choice,
    patient_learn,
    patient_reward,
    patient_utilities,
)
from pkgym.sim.bitgen import pcg64_next_double, standard_normal

# constants (float64): indices into the clinic vector of :func:`clinic_constants`
DISCOUNT, DRUG_REWARD, NATURAL_REWARD, ABSTAIN_REWARD = 0, 1, 2, 3
# 4:7 option costs
VOUCHER, VOUCHER_STEP, REPORT_P, SENSITIVITY, FALSE_POSITIVE, WINDOW = 7, 8, 9, 10, 11, 12
# pharmacology (4, 2): rows of :func:`pharmacology_table`
RETENTION, RATE, HALF_OCCUPANCY, ADHERENCE = 0, 1, 2, 3


@numba.njit(cache=True, nogil=True)
def _patient_treatment(j: int, rows: np.ndarray, weeks: np.ndarray, actions: np.ndarray,
                       doses: np.ndarray, pharmacology: np.ndarray, adherence_uniforms: np.ndarray,
                       amounts: np.ndarray, taken: np.ndarray, occupancy: np.ndarray,
                       blocked: np.ndarray) -> None:
    """One patient's week of drug taken, amounts and occupancy (they do not depend on use)."""
    i, week, action = rows[j], weeks[j], actions[j]
    n_days = adherence_uniforms.shape[2]
    naltrexone_sum, buprenorphine_sum = 0.0, 0.0
    for day in range(n_days):
        free = 1.0
        for k in range(2):
            is_taken = adherence_uniforms[i, week, day] < pharmacology[ADHERENCE, k]
            dose = doses[action, k] * (1.0 if is_taken else 0.0)
            taken[i, week, day, k] = dose
            start = amounts[i, k] + dose
            retention = pharmacology[RETENTION, k]
            amounts[i, k] = start * retention
            mean = start * (1 - retention) / pharmacology[RATE, k]
            share = mean / (mean + pharmacology[HALF_OCCUPANCY, k])
            if k == 0:
                naltrexone_sum += share
            else:
                buprenorphine_sum += share
            free *= 1.0 - share
        blocked[day, j] = 1.0 - free
    occupancy[i, week, 0] = naltrexone_sum / n_days
    occupancy[i, week, 1] = buprenorphine_sum / n_days


@numba.njit(cache=True, nogil=True)
def week_treatment(rows: np.ndarray, weeks: np.ndarray, actions: np.ndarray, doses: np.ndarray,
                   pharmacology: np.ndarray, records: tuple, choices: np.ndarray,
                   blocked: np.ndarray) -> None:
    """Treatment of the week for ``rows`` and their choice uniforms by day.

    Args:
        rows: stepped patients (m,).
        weeks: their week (m,).
        actions: their treatment index (m,).
        doses: daily naltrexone, buprenorphine doses of each action, mg (n_actions, 2).
        pharmacology: :func:`pharmacology_table` (4, 2).
        records: the record arrays ``(adherence_uniforms, choice_uniforms, amounts, taken,
            occupancy)``.
        choices: out, the week's choice uniforms by day (7, m).
        blocked: out, fraction of the drug blocked by day (7, m).
    """
    adherence_uniforms, choice_uniforms, amounts, taken, occupancy = records
    for j in range(rows.size):
        _patient_week_start(j, rows, weeks, actions, doses, pharmacology, adherence_uniforms,
                            choice_uniforms, amounts, taken, occupancy, choices, blocked)


@numba.njit(cache=True, nogil=True, parallel=True)
def week_treatment_parallel(rows: np.ndarray, weeks: np.ndarray, actions: np.ndarray,
                            doses: np.ndarray, pharmacology: np.ndarray, records: tuple,
                            choices: np.ndarray, blocked: np.ndarray) -> None:
    """:func:`week_treatment` with patients on numba's threads (rows are independent)."""
    adherence_uniforms, choice_uniforms, amounts, taken, occupancy = records
    for j in numba.prange(rows.size):
        _patient_week_start(j, rows, weeks, actions, doses, pharmacology, adherence_uniforms,
                            choice_uniforms, amounts, taken, occupancy, choices, blocked)


@numba.njit(cache=True, nogil=True)
def _patient_week_start(j: int, rows: np.ndarray, weeks: np.ndarray, actions: np.ndarray,
                        doses: np.ndarray, pharmacology: np.ndarray,
                        adherence_uniforms: np.ndarray, choice_uniforms: np.ndarray,
                        amounts: np.ndarray, taken: np.ndarray, occupancy: np.ndarray,
                        choices: np.ndarray, blocked: np.ndarray) -> None:
    _patient_treatment(j, rows, weeks, actions, doses, pharmacology, adherence_uniforms,
                       amounts, taken, occupancy, blocked)
    for day in range(choices.shape[0]):
        choices[day, j] = choice_uniforms[rows[j], weeks[j], day]


@numba.njit(cache=True, nogil=True)
def _recent_use(used: np.ndarray, j: int, first: int, last: int) -> bool:
    """Whether patient ``j`` used on any day ``first..last`` (``used``: (7, m))."""
    for d in range(first, last + 1):
        if used[d, j]:
            return True
    return False


@numba.njit(cache=True, nogil=True)
def _tested_positive(day: int, i: int, j: int, week: int, used: np.ndarray,
                     tests: tuple, constants: np.ndarray) -> bool:
    """Whether row ``j`` tests positive on ``day`` (``used``: (7, m)).

    The last day's test is the clinic's weekly urine test (recorded, with its false
    results); other CM days test use in the last 3 days exactly.
    """
    last_day = used.shape[0] - 1
    if day != last_day:
        return _recent_use(used, j, max(day - 2, 0), day)
    test_uniforms, urine_positive = tests
    recent = _recent_use(used, j, last_day + 1 - int(constants[WINDOW]), last_day)
    positive = test_uniforms[i, week] < (constants[SENSITIVITY] if recent
                                         else constants[FALSE_POSITIVE])
    urine_positive[i, week] = positive
    return positive


@numba.njit(cache=True, nogil=True)
def week_day(day: int, test_day: bool, rows: np.ndarray, weeks: np.ndarray, on_cm: np.ndarray,
             weights: np.ndarray, work: tuple, tests: tuple, values: np.ndarray,
             params: np.ndarray, constants: np.ndarray, utilities: np.ndarray) -> None:
    """One day of ``rows``: choice, urine test and voucher, learning; next day's exponents.

    Args:
        day: day of the week (0-6).
        test_day: whether the day has a CM urine test.
        rows: stepped patients (m,).
        weeks: their week (m,).
        on_cm: whether they get CM (m,).
        weights: exp of the day's softmax exponents (m, 3).
        work: ``(choices, blocked, used, streaks)``: the uniforms and blocked fractions of
            :func:`week_treatment` (7, m), use (7, m) filled day by day, CM streaks (m,).
        tests: the record arrays ``(test_uniforms, urine_positive)``.
        values: record array of learner values (n, 4).
        params: record array of learner parameters (n, 4).
        constants: :func:`clinic_constants`.
        utilities: out, the next day's softmax exponents (m, 3).
    """
    choices, blocked, used, streaks = work
    costs, last_day = constants[4:7], used.shape[0] - 1
    for j in range(rows.size):
        i = rows[j]
        option = patient_choice(weights[j, 0], weights[j, 1], weights[j, 2], choices[day, j])
        used[day, j] = option == 0
        reward = patient_reward(option, params[i, 3], constants)
        positive = (day == last_day or test_day) and _tested_positive(
            day, i, j, weeks[j], used, tests, constants)
        if test_day:
            streak = streaks[j]
            pay = 0.0 if positive else constants[VOUCHER] + constants[VOUCHER_STEP] * streak
            reward = reward + (pay if on_cm[j] else 0.0)
            streaks[j] = (0 if positive else streak + 1) if on_cm[j] else 0
        patient_learn(values, i, option, reward, params, blocked[day, j], constants[DISCOUNT])
        utilities[j, 0], utilities[j, 1], utilities[j, 2] = patient_utilities(
            values[i, 1], values[i, 2], values[i, 3], costs, params[i, 2])


@numba.njit(cache=True, nogil=True)
def week_end(rows: np.ndarray, weeks: np.ndarray, used: np.ndarray, records: tuple,
             probability: float, use_days: np.ndarray) -> None:
    """The week's use (7, m) into the records, self-reports; the true use days (m,) out.

    Args:
        rows: stepped patients (m,).
        weeks: their week (m,).
        used: use by day (7, m).
        records: the record arrays ``(used, report_uniforms, reported)``.
        probability: chance a use day is reported.
        use_days: out (m,).
    """
    record_used, report_uniforms, reported = records
    for j in range(rows.size):
        i, week = rows[j], weeks[j]
        count, reports = 0, 0
        for d in range(used.shape[0]):
            record_used[i, week, d] = used[d, j]
            if used[d, j]:
                count += 1
                if report_uniforms[i, week, d] < probability:
                    reports += 1
        reported[i, week] = reports
        use_days[j] = count


@numba.njit(cache=True, nogil=True)
def record_values(rows: np.ndarray, weeks: np.ndarray, values: np.ndarray,
                  value_course: np.ndarray) -> None:
    """``value_course[rows[j], weeks[j]] = values[rows[j]]`` for every j, one pass.

    Args:
        rows: stepped patients (m,).
        weeks: the week whose start values are written, each row's (m,).
        values: record of learner values (n, 4).
        value_course: record (n, n_weeks + 1, 4).
    """
    for j in range(rows.size):
        i, week = rows[j], weeks[j]
        for s in range(values.shape[1]):
            value_course[i, week, s] = values[i, s]


@numba.njit(cache=True, nogil=True)
def last_week(week: np.ndarray, actions: np.ndarray, used: np.ndarray, reported: np.ndarray,
              urine_positive: np.ndarray, occupancy: np.ndarray, taken: np.ndarray) -> tuple:
    """Each patient's last week from the records (zeros before the first week), one pass.

    Args:
        week: weeks done (n,).
        actions: record (n, n_weeks).
        used: record (n, n_weeks, 7).
        reported: record (n, n_weeks).
        urine_positive: record (n, n_weeks).
        occupancy: record (n, n_weeks, 2).
        taken: record (n, n_weeks, 7, 2).

    Returns:
        Treatment, use days, reported use days (int64, (n,)), urine test (bool, (n,)),
        mean occupancy of each drug and mg taken of each (float64, (n, 2)), and the
        blocked fraction ``1 - prod(1 - occupancy)`` (n,).
    """
    n, n_days = week.size, used.shape[2]
    treatment, use_days = np.zeros(n, np.int64), np.zeros(n, np.int64)
    reports, positive = np.zeros(n, np.int64), np.zeros(n, np.bool_)
    shares, taken_mg, blocked = np.zeros((n, 2)), np.zeros((n, 2)), np.zeros(n)
    for i in range(n):
        if week[i] > 0:
            w = week[i] - 1
            treatment[i], reports[i], positive[i] = actions[i, w], reported[i, w], \
                urine_positive[i, w]
            for d in range(n_days):
                use_days[i] += used[i, w, d]
            for k in range(2):
                shares[i, k] = occupancy[i, w, k]
                total = taken[i, w, 0, k]
                for d in range(1, n_days):
                    total += taken[i, w, d, k]
                taken_mg[i, k] = total
        blocked[i] = 1.0 - (1.0 - shares[i, 0]) * (1.0 - shares[i, 1])
    return treatment, use_days, reports, positive, shares, taken_mg, blocked


@numba.njit(cache=True, nogil=True)
def clinic_observation(week: np.ndarray, reported: np.ndarray, urine_positive: np.ndarray,
                       actions: np.ndarray, out: tuple) -> None:
    """What the clinic knows of weeks done (0 for weeks to come), float32, one pass.

    Args:
        week: weeks done (n,).
        reported: record of self-reported use days (n, n_weeks).
        urine_positive: record of urine tests (n, n_weeks).
        actions: record of treatments (n, n_weeks).
        out: float32 arrays written whole: reported use days, urine positive, urine tested,
            treatment + 1 (each (n, n_weeks)) and the week (n, 1).
    """
    reports, positive, tested, treatments, weeks = out
    n, n_weeks = reported.shape
    for i in range(n):
        weeks[i, 0] = week[i]
        for w in range(n_weeks):
            past = w < week[i]
            reports[i, w] = reported[i, w] if past else 0
            positive[i, w] = 1.0 if past and urine_positive[i, w] else 0.0
            tested[i, w] = 1.0 if past else 0.0
            treatments[i, w] = actions[i, w] + 1 if past else 0


@numba.njit(cache=True, nogil=True, error_model="numpy")
def draw_uniforms(addresses: np.ndarray, normal: int, pcg64: int, eta: np.ndarray,
                  burn_in_by_day: np.ndarray, choice: np.ndarray, adherence: np.ndarray,
                  report: np.ndarray, test: np.ndarray) -> None:  # pragma: no cover - compiled
    """Each slot's episode numbers, drawn on its own bit generators into any layout.

    The numbers ``standard_normal(out=...)`` and ``random(out=...)`` give, in their order
    (``AddictionCore.episode_draws``): per slot k, the patient stream's etas (into row k of
    ``eta``; none drawn when ``normal`` is 0: the caller drew them) then burn-in days (into
    column k of ``burn_in_by_day`` (n_days, n)), the events stream's choice then adherence
    uniforms and the noise stream's reports then tests (into row k of the records' arrays).

    Args:
        addresses: :func:`pkgym.sim.bitgen.bitgen_addresses` of each slot's
            patient, events and noise streams (n, 3).
        normal: :data:`pkgym.sim.bitgen.NUMPY_NORMAL`, or 0.
        pcg64: :data:`pkgym.sim.bitgen.PCG64_DOUBLE` (uniforms of numpy's PCG64 inline).
        eta: out (n, n_etas), when ``normal`` is not 0.
        burn_in_by_day: out (n_days, n).
        choice: out (n, n_weeks, 7).
        adherence: out (n, n_weeks, 7).
        report: out (n, n_weeks, 7).
        test: out (n, n_weeks).
    """
    n, n_days, n_weeks = addresses.shape[0], burn_in_by_day.shape[0], test.shape[1]
    burn_in = np.empty((DRAW_BLOCK, n_days))
    weeks = np.empty((3, DRAW_BLOCK, n_weeks, choice.shape[2]))
    for k0 in range(0, n, DRAW_BLOCK):
        m = min(DRAW_BLOCK, n - k0)
        for b in range(m):
            k = k0 + b
            patient, events, noise = addresses[k, 0], addresses[k, 1], addresses[k, 2]
            if normal != 0:
                for j in range(eta.shape[1]):
                    eta[k, j] = standard_normal(normal, patient)
            for day in range(n_days):
                burn_in[b, day] = pcg64_next_double(pcg64, patient)
            _fill_weeks(weeks[0, b], pcg64, events)
            _fill_weeks(weeks[1, b], pcg64, events)
            _fill_weeks(weeks[2, b], pcg64, noise)
            for week in range(n_weeks):
                test[k, week] = pcg64_next_double(pcg64, noise)
        _scatter_block(k0, m, burn_in, weeks, burn_in_by_day, (choice, adherence, report))


DRAW_BLOCK = 64
"""Slots :func:`draw_uniforms` draws into its scratch before writing them out: a day's or a
week's numbers of a block are then one run of memory (one slot's are a page apart)."""


@numba.njit(cache=True, nogil=True)
def _scatter_block(k0: int, m: int, burn_in: np.ndarray, weeks: np.ndarray,
                   burn_in_by_day: np.ndarray, outs: tuple) -> None:  # pragma: no cover
    """Slots ``k0 .. k0 + m`` of the scratch into the outputs, day by day and week by week."""
    for day in range(burn_in.shape[1]):
        for b in range(m):
            burn_in_by_day[day, k0 + b] = burn_in[b, day]
    for a in literal_unroll((0, 1, 2)):
        out = outs[a]
        for week in range(weeks.shape[2]):
            for b in range(m):
                for d in range(weeks.shape[3]):
                    out[k0 + b, week, d] = weeks[a, b, week, d]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _fill_weeks(out: np.ndarray, pcg64: int, stream: int) -> None:  # pragma: no cover
    """``out`` (n_weeks, 7), week by week, from the bit generator at ``stream``."""
    for week in range(out.shape[0]):
        for day in range(out.shape[1]):
            out[week, day] = pcg64_next_double(pcg64, stream)
