"""Exact, batched simulation of linear compartment models for arbitrary dose histories.

Each patient's events (boluses, infusion starts and ends, oral doses reaching the depot) and
the requested output times are merged into one sorted grid per patient; the state then
jumps exactly from grid point to grid point with :func:`pkgym.sim.modal.advance_modes`.
The cost is linear in (patients x (outputs + doses)); memory is proportional to the output.
The AUC comes from mass balance: what went in minus what is still in the body, over CL.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from pkgym.sim.batch import take_rows
from pkgym.sim.doses import IV, ORAL, DoseSchedule
from pkgym.sim.modal import LinearPKParams, ModalBasis, advance_modes, modal_basis, step_factors
from pkgym.utils import check_finite, check_non_negative


@dataclass(frozen=True, slots=True)
class LinearPKState:
    """Drug amounts in the body at one instant.

    Attributes:
        amounts_mg: amount in each compartment, central first.  # (n, m)
        depot_mg: amount in the oral absorption depot.  # (n,)
    """

    amounts_mg: np.ndarray
    depot_mg: np.ndarray


@dataclass(frozen=True, slots=True)
class LinearPKSolution:
    """Result of :func:`simulate_linear`.

    Attributes:
        times_h: output times, h.  # (n_times,)
        concentration_mg_per_l: central concentration at each output time.  # (n, n_times)
        auc_mg_h_per_l: AUC of the central concentration from ``start_h``.  # (n, n_times)
        final_state: the state at the last output time (infusions still running then
            are not part of it: pass them again to a follow-on call).
    """

    times_h: np.ndarray
    concentration_mg_per_l: np.ndarray
    auc_mg_h_per_l: np.ndarray
    final_state: LinearPKState


def empty_state(n_patients: int, n_compartments: int) -> LinearPKState:
    """A drug-free body.

    Examples:
        >>> empty_state(3, 2).amounts_mg.shape
        (3, 2)
    """
    return LinearPKState(np.zeros((n_patients, n_compartments)), np.zeros(n_patients))


def simulate_linear(
    params: LinearPKParams,
    doses: DoseSchedule,
    times_h: np.ndarray,
    *,
    initial_state: LinearPKState | None = None,
    start_h: float = 0.0,
    chunk_size: int = 2048,
    n_threads: int = 1,
) -> LinearPKSolution:
    """Exact central concentrations and AUCs of every patient at ``times_h``.

    Doses at or after ``start_h`` and no later than the last output time are applied; an
    output at the same time as a bolus sees the post-dose level. Infusions that started
    before ``start_h`` contribute their remaining part. ``initial_state`` is the state just
    before ``start_h`` (drug-free by default).

    Args:
        params: per-patient model parameters (n patients).
        doses: per-patient dose history (n patients).
        times_h: common increasing output times, h, all >= ``start_h``.
        initial_state: amounts just before ``start_h``.
        start_h: time at which the simulation starts, h.
        chunk_size: patients advanced together (bounds the working memory; ~2 000 keeps
            the working set in cache).
        n_threads: chunks simulated in parallel threads (numpy releases the GIL).

    Examples:
        >>> from pkgym.sim.doses import regular_schedule
        >>> from pkgym.sim.modal import compartment_params
        >>> sol = simulate_linear(compartment_params(5.0, 50.0),
        ...                       regular_schedule(1, amount_mg=500.0, every_h=12.0, n_doses=1),
        ...                       np.array([0.0, 10.0]))
        >>> sol.concentration_mg_per_l.round(4).tolist()
        [[10.0, 3.6788]]
    """
    times_h = _check_times(times_h, start_h)
    n = params.n_patients
    if doses.n_patients != n:
        raise ValueError(f"doses has {doses.n_patients} patients but params has {n}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    state = initial_state or empty_state(n, params.n_compartments)
    _check_state(state, n, params.n_compartments)
    levels, aucs = np.empty((n, times_h.size)), np.empty((n, times_h.size))
    amounts, depot = np.empty_like(state.amounts_mg), np.empty_like(state.depot_mg)

    def run(rows: slice) -> None:
        levels[rows], aucs[rows], amounts[rows], depot[rows] = _simulate_chunk(
            take_rows(params, rows), take_rows(doses, rows), times_h, take_rows(state, rows),
            start_h
        )

    chunks = [slice(i, i + chunk_size) for i in range(0, n, chunk_size)]
    if n_threads > 1 and len(chunks) > 1:
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            list(pool.map(run, chunks))
    else:
        for rows in chunks:
            run(rows)
    return LinearPKSolution(times_h, levels, aucs, LinearPKState(amounts, depot))


def _check_times(times_h: np.ndarray, start_h: float) -> np.ndarray:
    times = check_finite("times_h", times_h)
    if times.ndim != 1 or times.size == 0:
        raise ValueError(f"times_h must be a non-empty 1-D array, got shape {times.shape}")
    if np.any(np.diff(times) < 0):
        raise ValueError("times_h must be sorted in increasing order")
    if times[0] < start_h:
        raise ValueError(f"times_h must be >= start_h={start_h}, got {times[0]}")
    return times


def _check_state(state: LinearPKState, n: int, m: int) -> None:
    if np.shape(state.amounts_mg) != (n, m) or np.shape(state.depot_mg) != (n,):
        raise ValueError(f"initial_state must hold amounts_mg ({n}, {m}) and depot_mg ({n},)")
    check_non_negative("initial_state.amounts_mg", state.amounts_mg)
    check_non_negative("initial_state.depot_mg", state.depot_mg)


def _event_grid(
    params: LinearPKParams, doses: DoseSchedule, start_h: float, end_h: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each dose as two events: (time, bolus mg, depot mg, infusion-rate change mg/h)."""
    time = np.asarray(doses.time_h, dtype=np.float64)
    amount = np.asarray(doses.amount_mg, dtype=np.float64)
    route = np.asarray(doses.route)
    duration = np.asarray(doses.duration_h, dtype=np.float64)
    rate = doses.infusion_rate_mg_per_h
    infusion = (route == IV) & (duration > 0)
    arrival = np.where(route == ORAL, time + params.lag_time_h[:, None], time)
    first = np.where(infusion, np.maximum(arrival, start_h), arrival)
    end = time + duration
    instant_ok = (arrival >= start_h) & (arrival <= end_h) & ~infusion
    infusion_ok = infusion & (end > start_h) & (first <= end_h)
    end_ok = infusion_ok & (end <= end_h)
    times = np.concatenate([np.where(instant_ok | infusion_ok, first, end_h),
                            np.where(end_ok, end, end_h)], axis=1)
    bolus = np.where(instant_ok & (route == IV), amount, 0.0)
    depot = np.where(instant_ok & (route == ORAL), amount * params.bioavailability[:, None], 0.0)
    rate_on = np.where(infusion_ok, rate, 0.0)
    zeros = np.zeros_like(bolus)
    return (times, np.concatenate([bolus, zeros], axis=1), np.concatenate([depot, zeros], axis=1),
            np.concatenate([rate_on, -np.where(end_ok, rate, 0.0)], axis=1))


def _simulate_chunk(params, doses, times_h, state, start_h):  # noqa: ANN001, ANN202
    """Merge events and outputs into one grid and step through it."""
    basis = modal_basis(params)
    event_times, *payload = _event_grid(params, doses, start_h, times_h[-1])
    n, n_events = event_times.shape
    shared = bool(np.all(event_times == event_times[:1]))
    grid = np.concatenate([event_times[:1] if shared else event_times,
                           np.broadcast_to(times_h, (1 if shared else n, times_h.size))], axis=1)
    order = np.argsort(grid, axis=1, kind="stable")  # events before outputs at equal times
    # The march reads one grid column at a time: keep columns contiguous (time-major).
    grid = np.take_along_axis(grid, order, axis=1).T
    if shared:  # payload rows only for event columns, gathered with one index
        events = order[0][order[0] < n_events]
        payload = [a.T[events] for a in payload]
        payload_row = np.full(order.shape[1], -1)
        payload_row[order[0] < n_events] = np.arange(events.size)
    else:
        payload = [np.take_along_axis(np.pad(a, ((0, 0), (0, times_h.size))), order, axis=1).T
                   .copy() for a in payload]
        payload_row = np.arange(order.shape[1])
    output_of_column = np.where(order >= n_events, order - n_events, -1).T
    levels, inputs, body, final = _march(basis, state, grid, (payload_row, *payload),
                                         output_of_column, start_h)
    amount0 = state.amounts_mg.sum(axis=1) + state.depot_mg
    auc = (inputs - (body - amount0)) / params.clearance_l_per_h
    return levels.T, np.maximum(auc, 0.0).T, *final


def _march(basis: ModalBasis, state, grid, payload, output_of_column, start_h):  # noqa: ANN001, ANN202
    """Jump from grid row to grid row; record level, input and body amount at outputs.

    All arrays are time-major here, (n_columns, n); ``grid`` and ``output_of_column`` have
    a single patient column when every patient shares the grid. ``payload_row`` maps each
    grid column to its row of the (bolus, depot, rate-change) payload.
    """
    payload_row, bolus, depot_in, rate_delta = payload
    acts = np.any(bolus, axis=1) | np.any(depot_in, axis=1) | np.any(rate_delta, axis=1)
    acts = np.append(acts, False)[payload_row]  # per grid column; row -1 never acts
    n = state.depot_mg.shape[0]
    modes = np.einsum("nij,nj->ni", basis.to_modal, state.amounts_mg)
    depot, rate, given = state.depot_mg.copy(), np.zeros(n), np.zeros(n)
    n_out = int((output_of_column[:, 0] >= 0).sum())
    levels, inputs, body = (np.zeros((n_out, n)) for _ in range(3))
    previous, rows = np.full(grid.shape[1], float(start_h)), np.arange(n)
    cache: dict[float, tuple[np.ndarray, np.ndarray]] = {}  # shared grid: factors by step
    for j in range(grid.shape[0]):
        dt = grid[j] - previous
        if np.any(dt > 0):
            if dt.size == 1:
                dt = dt[0]
                factors = cache.get(dt) or cache.setdefault(dt, step_factors(basis, dt))
            else:
                factors = step_factors(basis, dt)
            modes, depot = advance_modes(basis, modes, depot, dt, rate, factors)
            given += rate * dt
        previous = grid[j]
        if acts[j]:
            r = payload_row[j]
            modes += basis.input_weights * bolus[r, :, None]
            depot = depot + depot_in[r]
            given += bolus[r] + depot_in[r]
            rate = np.maximum(rate + rate_delta[r], 0.0)
        out = output_of_column[j]
        if out.size == 1 and out[0] < 0:
            continue
        k, at = (out[0], slice(None)) if out.size == 1 else (out[out >= 0], rows[out >= 0])
        levels[k, at] = np.einsum("ni,ni->n", modes, basis.input_weights)[at]
        inputs[k, at] = given[at]
        body[k, at] = (np.einsum("ni,ni->n", modes, basis.amount_weights) + depot)[at]
    amounts = np.einsum("nij,nj->ni", basis.from_modal, modes)
    return levels, inputs, body, (np.maximum(amounts, 0.0), depot)
