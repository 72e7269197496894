"""The compiled PRT kernel: estimate-settled answers and whole sessions equal the plain loop."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from pkgym.models.depression import _sessions, session_uniforms
from pkgym.models.depression_kernel import (
    SIGMOID_MARGIN,
    SIGMOID_SPAN,
    _answers,
    _hash_trial,
    _sigmoid_estimate,
    hashed_sessions,
    splitmix64,
)


@numba.njit(cache=True)
def _sigmoid(x: np.ndarray) -> np.ndarray:
    """The sessions' expression with their (libm) exp; numpy's own exp may differ by an ulp."""
    return 1.0 / (1.0 + np.exp(-x))


@numba.njit(cache=True)
def _estimates(x: np.ndarray) -> np.ndarray:
    """:func:`_sigmoid_estimate` of every x."""
    out = np.empty(x.size)
    for i in range(x.size):
        out[i] = _sigmoid_estimate(x[i])
    return out


def _answered(xs: np.ndarray, us: np.ndarray) -> np.ndarray:
    """The kernel's answers (0.0 / 1.0) to advantages ``xs`` with answer uniforms ``us``."""
    answer, unsure = np.empty(xs.size), np.empty(xs.size, dtype=bool)
    _answers(np.ascontiguousarray(xs), np.ascontiguousarray(us), answer, unsure)
    return answer


def _hard_points() -> np.ndarray:
    """Range-reduction edges (k ln 2 / 2) and their neighbours, span ends, off-span, NaN."""
    edges = np.log(2.0) / 2 * np.arange(-46, 47)
    near = np.concatenate([edges, np.nextafter(edges, -np.inf), np.nextafter(edges, np.inf)])
    extra = [SIGMOID_SPAN, -SIGMOID_SPAN, np.nextafter(SIGMOID_SPAN, np.inf),
             np.nextafter(-SIGMOID_SPAN, -np.inf), 40.0, -40.0, 800.0, -800.0,
             np.inf, -np.inf, np.nan, 0.0, -0.0]
    return np.concatenate([near, extra])


def test_sigmoid_estimate__within_a_thirtieth_of_the_margin_over_the_span() -> None:
    """The premise of the answers' proof: |estimate - computed sigmoid| << SIGMOID_MARGIN."""
    xs = np.concatenate([np.linspace(-SIGMOID_SPAN, SIGMOID_SPAN, 2_000_001),
                         _hard_points()[:-13]])
    assert np.max(np.abs(_estimates(xs) - _sigmoid(xs))) < SIGMOID_MARGIN / 30


def test_answers__equal_the_expression_where_it_is_closest() -> None:
    """A u at the computed sigmoid of x, or one ulp either side: the answer of the expression."""
    xs = _hard_points()
    values = _sigmoid(xs)
    for us in (values, np.nextafter(values, 0.0), np.nextafter(values, 1.0),
               values - SIGMOID_MARGIN, values + SIGMOID_MARGIN,
               np.zeros_like(xs), np.full_like(xs, np.nextafter(1.0, 0.0))):
        us = np.clip(np.nan_to_num(us), 0.0, np.nextafter(1.0, 0.0))
        assert np.array_equal(_answered(xs, us), np.where(us < values, 0.0, 1.0))


def test_answers__random_points_equal_the_expression() -> None:
    """Many random (x, u) pairs over and beyond the span: the same answers."""
    rng = np.random.default_rng(7)
    xs, us = rng.uniform(-20.0, 20.0, 200_000), rng.random(200_000)
    assert np.array_equal(_answered(xs, us), np.where(us < _sigmoid(xs), 0.0, 1.0))


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize(("rho_scale", "gamma_scale"), [(2.0, 2.0), (30.0, 12.0)])
def test_hashed_sessions__equal_the_plain_session_loop(parallel: bool, rho_scale: float,
                                                       gamma_scale: float) -> None:
    """Learners that stay within the span and ones that leave it, blocks full and partial."""
    rng = np.random.default_rng(int(rho_scale))
    n, n_trials = 600, 200
    seeds = rng.integers(0, 2**63, size=n, dtype=np.uint64)
    rho, epsilon = rng.random(n) * rho_scale, rng.uniform(0.01, 1.0, n)
    gamma = rng.normal(0, gamma_scale, n)
    rho[:3] = np.inf  # Q turns infinite, then NaN: the exact path
    expected = _sessions(rho, epsilon, gamma, 0.1, 0.8, 0.2,
                         session_uniforms(seeds, n_trials))
    got = hashed_sessions(seeds, rho, epsilon, gamma, (0.1, 0.8, 0.2, n_trials), parallel)
    assert np.array_equal(got, expected)


@pytest.mark.parametrize("n", [1, 7, 9, 263])
def test_hashed_sessions__blocks_of_any_size_equal_the_plain_session_loop(n: int) -> None:
    """Blocks whose chains are not a whole number of hash lanes (padded): the same counts."""
    rng = np.random.default_rng(n)
    seeds = rng.integers(0, 2**63, size=n, dtype=np.uint64)
    rho, epsilon, gamma = rng.random(n) * 3, rng.uniform(0.01, 1.0, n), rng.normal(0, 2, n)
    expected = _sessions(rho, epsilon, gamma, 0.0, 0.75, 0.3, session_uniforms(seeds, 50))
    got = hashed_sessions(seeds, rho, epsilon, gamma, (0.0, 0.75, 0.3, 50), False)
    assert np.array_equal(got, expected)


def test_hash_trial__vector_lanes_equal_splitmix64_chains() -> None:
    """Each lane's state and three uniforms are three scalar SplitMix64 steps of its chain."""
    states = np.random.default_rng(3).integers(0, 2**63, size=16, dtype=np.uint64)
    states[0], states[1] = 0, np.uint64(2**64 - 1)
    expected_states, expected_u = states.copy(), np.empty((3, 16))
    for b in range(16):
        state = expected_states[b]
        for k in range(3):
            state = splitmix64(np.uint64(state))
            expected_u[k, b] = float(int(state) >> 11) * 2.0**-53
        expected_states[b] = state
    u = np.empty((3, 16))
    _hash_trial(states, u)
    assert np.array_equal(states, expected_states) and np.array_equal(u, expected_u)
