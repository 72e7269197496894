"""The compiled de Pillis RK4 run on every thread gives each patient the serial numbers."""

from __future__ import annotations

import numpy as np

from pkgym.models import tumour_immune
from pkgym.models.tumour_immune import DePillis2003, advance_rows
from pkgym.sim.integrate import SolverConfig


def test_rk4_rows_parallel__each_patient_bit_identical_to_the_serial_kernel() -> None:
    """Chunked prange over shuffled rows == the serial loop, byte for byte, chunks 1 to 64."""
    rng = np.random.default_rng(4)
    n = 1500
    table = DePillis2003().parameters(n, rng.standard_normal((n, 3)) * 0.3).table
    start = np.column_stack([rng.uniform(0.5, 1.0, n), rng.uniform(0.05, 0.6, n),
                             rng.uniform(0.0, 0.5, n), rng.uniform(0.0, 2.0, n)])
    rows = rng.permutation(n)[:n - 11]
    rates = rng.uniform(0.0, 1.0, rows.size)
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
