"""The compiled de Pillis RK4 (blocks of patients, threads) gives each patient its own numbers."""

from __future__ import annotations

import math

import numba
import numpy as np

from pkgym.models import tumour_immune
from pkgym.models.tumour_immune import DePillis2003, advance_rows
from pkgym.sim.integrate import SolverConfig
from pkgym.sim.integrate_njit import rk4_segment


@numba.njit
def _derivative(t_days: float, y: np.ndarray, row: tuple,
                out: np.ndarray) -> None:  # pragma: no cover - compiled
    """The four equations of one patient, written as before the block kernel (reference)."""
    p, v = row[0], row[1]
    n, t, i, u = y[0], y[1], y[2], y[3]
    kill = -math.expm1(-u)
    out[0] = p[12] * n * (1.0 - p[4] * n) - p[8] * t * n - p[2] * kill * n
    out[1] = p[11] * t * (1.0 - p[3] * t) - p[6] * i * t - p[7] * t * n - p[1] * kill * t
    out[2] = (p[13] + p[15] * i * t / (p[14] + t) - p[5] * i * t - p[9] * i
              - p[0] * kill * i)
    out[3] = v - p[10] * u


@numba.njit
def _one_patient_at_a_time(rows: np.ndarray, states: np.ndarray, rates: np.ndarray,
                           table: np.ndarray, n_steps: int,
                           step: float) -> None:  # pragma: no cover - compiled
    """The kernel before blocks: rk4_segment on one patient after another (reference)."""
    work = np.empty((5, 4))
    for k in range(rows.shape[0]):
        rk4_segment(_derivative, 0.0, n_steps * step, n_steps, step, states[rows[k]],
                    (table[rows[k]], rates[k]), work)


def _patients(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Random parameter table, start states, shuffled rows (a few left out) and rates."""
    rng = np.random.default_rng(seed)
    table = DePillis2003().parameters(n, rng.standard_normal((n, 3)) * 0.3).table
    start = np.column_stack([rng.uniform(0.5, 1.0, n), rng.uniform(0.0, 0.6, n),
                             rng.uniform(0.0, 0.5, n), rng.uniform(0.0, 2.0, n)])
    start[:5, 3] = 0.0  # no drug yet: expm1(-0)
    rows = rng.permutation(n)[:n - 11]
    return table, start, rows, rng.uniform(0.0, 1.0, rows.size)


def test_rk4_rows__blocks_are_bit_identical_to_one_patient_at_a_time() -> None:
    """Blocks (full and a ragged last one) == the per-patient rk4_segment loop, byte for byte."""
    table, start, rows, rates = _patients(3 * tumour_immune.BLOCK + 29, 4)
    for n_steps, step in ((24, 1.0 / 24), (5, 0.2)):
        expected, blocks = start.copy(), start.copy()
        _one_patient_at_a_time(rows, expected, rates, table, n_steps, step)
        tumour_immune._rk4_rows(rows, blocks, rates, table, n_steps, step)
        assert blocks.tobytes() == expected.tobytes()


def test_rk4_rows_parallel__each_patient_bit_identical_to_the_serial_kernel() -> None:
    """Chunked prange over shuffled rows == the serial kernel, byte for byte, 1 to 64 chunks."""
    table, start, rows, rates = _patients(1500, 5)
    serial = start.copy()
    tumour_immune._rk4_rows(rows, serial, rates, table, 24, 1.0 / 24)
    for n_chunks in (1, 3, 64):
        parallel = start.copy()
        tumour_immune._rk4_rows_parallel(rows, parallel, rates, table, 24, 1.0 / 24, n_chunks)
        assert parallel.tobytes() == serial.tobytes()


def test_advance_rows__large_batch_equals_each_patient_alone() -> None:
    """Above ``PARALLEL_FROM`` a patient's day is the one it has alone (the serial path)."""
    rng = np.random.default_rng(5)
    n = tumour_immune.PARALLEL_FROM + 37
    params = DePillis2003().parameters(n, rng.standard_normal((n, 3)) * 0.3)
    states = np.column_stack([np.full(n, 0.9), rng.uniform(0.05, 0.6, n), np.full(n, 0.005),
                              np.zeros(n)])
    rates = rng.uniform(0.0, 1.0, n)
    solver = SolverConfig(method="rk4", max_step_h=1.0)
    batch = states.copy()
    advance_rows(np.arange(n), batch, rates, params, solver)
    for row in (0, 1, n // 2, n - 1):
        alone = states.copy()
        advance_rows(np.array([row]), alone, rates[row:row + 1], params, solver)
        assert alone[row].tobytes() == batch[row].tobytes()
