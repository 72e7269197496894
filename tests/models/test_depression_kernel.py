"""The compiled PRT kernel: table-settled answers and whole sessions equal the plain loop."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from pkgym.models.depression import _sessions, session_uniforms
from pkgym.models.depression_kernel import (
    SIGMOID_SPAN,
    SIGMOID_STEPS,
    SIGMOID_TABLE,
    _answers,
    hashed_sessions,
)


@numba.njit(cache=True)
def _sigmoid(x: np.ndarray) -> np.ndarray:
    """The sessions' expression with their (libm) exp; numpy's own exp may differ by an ulp."""
    return 1.0 / (1.0 + np.exp(-x))


def _hard_points() -> np.ndarray:
    """Grid points, their float neighbours, the table's ends, off-table and non-finite x."""
    grid = -SIGMOID_SPAN + np.arange(SIGMOID_TABLE.size) / SIGMOID_STEPS
    near = np.concatenate([grid, np.nextafter(grid, -np.inf), np.nextafter(grid, np.inf),
                           grid + 0.5 / SIGMOID_STEPS])
    extra = [SIGMOID_SPAN + 1e-9, -SIGMOID_SPAN - 1e-9, 40.0, -40.0, 800.0, -800.0,
             np.inf, -np.inf, np.nan, 0.0, -0.0]
    return np.concatenate([near, extra])


def _answered(xs: np.ndarray, us: np.ndarray) -> np.ndarray:
    """The kernel's answers (0.0 / 1.0) to advantages ``xs`` with answer uniforms ``us``."""
    answer = np.empty(xs.size)
    _answers(np.ascontiguousarray(xs), np.ascontiguousarray(us), SIGMOID_TABLE, answer)
    return answer


def test_answer__equals_the_expression_where_it_is_closest() -> None:
    """A u at the computed sigmoid of x, or one ulp either side: the answer of the expression."""
    xs = _hard_points()
    values = _sigmoid(xs)
    for u in (values, np.nextafter(values, 0.0), np.nextafter(values, 1.0),
              np.zeros_like(xs), np.full_like(xs, np.nextafter(1.0, 0.0))):
        assert np.array_equal(_answered(xs, u), np.where(u < values, 0.0, 1.0))


def test_answer__random_points_equal_the_expression() -> None:
    """Many random (x, u) pairs over and beyond the table: the same answers."""
    rng = np.random.default_rng(7)
    xs, us = rng.uniform(-20.0, 20.0, 20000), rng.random(20000)
    assert np.array_equal(_answered(xs, us), np.where(us < _sigmoid(xs), 0.0, 1.0))


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize(("rho_scale", "gamma_scale"), [(2.0, 2.0), (30.0, 12.0)])
def test_hashed_sessions__equal_the_plain_session_loop(parallel: bool, rho_scale: float,
                                                       gamma_scale: float) -> None:
    """Learners that stay on the table and ones that leave it, blocks full and partial."""
    rng = np.random.default_rng(int(rho_scale))
    n, n_trials = 157, 200
    seeds = rng.integers(0, 2**63, size=n, dtype=np.uint64)
    rho, epsilon = rng.random(n) * rho_scale, rng.uniform(0.01, 1.0, n)
    gamma = rng.normal(0, gamma_scale, n)
    rho[:3] = np.inf  # Q turns infinite, then NaN: the off-table path
    expected = _sessions(rho, epsilon, gamma, 0.1, 0.8, 0.2,
                         session_uniforms(seeds, n_trials))
    got = hashed_sessions(seeds, rho, epsilon, gamma, (0.1, 0.8, 0.2, n_trials), parallel)
    assert np.array_equal(got, expected)
