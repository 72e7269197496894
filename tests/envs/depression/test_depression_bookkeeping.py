"""The compiled bookkeeping equals numpy's fancy indexing, on a subset of rows in any order."""

from __future__ import annotations

import numpy as np

from pkgym.envs.depression.kernel import last_week, record_visit, record_week, this_visit

N, W = 9, 5
ROWS = np.array([7, 0, 3, 4], dtype=np.int64)
WEEKS = np.array([0, 2, 5, 1], dtype=np.int64)


def test_record_visit__equals_fancy_indexing() -> None:
    """Values land where ``a[rows, visit] = values`` puts them; float32 rounded as numpy."""
    rng = np.random.default_rng(0)
    values = (rng.random(4), rng.random(4) * 60, rng.random(4) * 60, rng.normal(size=4),
              rng.integers(0, 100, (4, 4)).astype(np.float64))
    got = (np.zeros((N, W + 1)), np.zeros((N, W + 1)), np.zeros((N, W + 1, 4)),
           *(np.zeros((N, W + 1), np.float32) for _ in range(4)))
    expected = tuple(a.copy() for a in got)
    record_visit(ROWS, WEEKS, values, got)
    rho, score, rated, bias, counts = values
    for array, value in zip(expected, (rho, score, counts, rated, bias,
                                       (counts[:, 0] + counts[:, 2]) / counts.sum(axis=1),
                                       1.0), strict=True):
        array[ROWS, WEEKS] = value
    for a, b in zip(got, expected, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_record_week_and_info_gathers__equal_fancy_indexing() -> None:
    """A week written, then the last week and this visit read back as info does in numpy."""
    rng = np.random.default_rng(1)
    weeks = np.minimum(WEEKS, W - 1)
    values = (*(rng.random(4) for _ in range(4)), rng.random((N, W)))
    records = (np.zeros((N, W)), np.zeros((N, W)), np.zeros((N, W), bool), np.zeros((N, W)),
               np.zeros((N, W)))
    record_week(ROWS, weeks, values, records)
    dose, adverse, concentration, occupancy, uniforms = values
    for array, value in zip(records, (dose, adverse, uniforms[ROWS, weeks] < adverse,
                                      concentration, occupancy), strict=True):
        assert np.array_equal(array[ROWS, weeks], value)
    per_week = (records[0], records[3], records[4], records[1])
    (a, b, c, d), event = last_week(ROWS, WEEKS, per_week, records[2])
    started, last = WEEKS > 0, np.maximum(WEEKS - 1, 0)
    for got, array in zip((a, b, c, d), per_week, strict=True):
        assert np.array_equal(got, np.where(started, array[ROWS, last], 0.0))
    assert np.array_equal(event, np.where(started, records[2][ROWS, last], False))
    true = rng.random((N, W + 1)), rng.random((N, W + 1))
    measured = tuple(rng.random((N, W + 1)).astype(np.float32) for _ in range(3))
    out = this_visit(ROWS, WEEKS, true, measured)
    for got, array in zip(out[:5], (*true, *measured), strict=True):
        assert np.array_equal(got, array[ROWS, WEEKS].astype(np.float64))
    assert np.array_equal(out[5], true[0][ROWS, 0])
