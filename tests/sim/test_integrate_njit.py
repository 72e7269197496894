"""The compiled steppers: closed forms, solve_ivp, their step budget, and integrate's twins."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from pkgym.sim.integrate import SolverConfig, integrate_final
from pkgym.sim.integrate_njit import dopri5_segment, rk4_segment
from pkgym.sim.tableaus import DOPRI5_A, DOPRI5_C, DOPRI5_E

DECAY_PER_H, GROWTH_PER_H, CAPACITY = 0.7, 1.3, 50.0
CLOSED_FORM_PARAMS = np.array([DECAY_PER_H, GROWTH_PER_H, CAPACITY])
CLOSED_FORM_Y0 = np.array([3.0, 0.5, 2.0])
VAN_DER_POL_MU = 1.5


@numba.njit
def closed_form_rhs(t: float, y: np.ndarray, p: np.ndarray, out: np.ndarray) -> None:
    """Decay y' = -k y, logistic y' = r y (1 - y / K) and a time-dependent y' = cos(t) y."""
    out[0] = -p[0] * y[0]
    out[1] = p[1] * y[1] * (1.0 - y[1] / p[2])
    out[2] = math.cos(t) * y[2]


def closed_form(t: float) -> np.ndarray:
    """Exact solution of :func:`closed_form_rhs` from ``CLOSED_FORM_Y0`` at time 0."""
    y0 = CLOSED_FORM_Y0
    logistic = CAPACITY / (1.0 + (CAPACITY / y0[1] - 1.0) * np.exp(-GROWTH_PER_H * t))
    return np.array([y0[0] * np.exp(-DECAY_PER_H * t), logistic, y0[2] * np.exp(np.sin(t))])


@numba.njit
def van_der_pol_rhs(t: float, y: np.ndarray, p: np.ndarray, out: np.ndarray) -> None:
    """Van der Pol oscillator, mu = p[0] (non-stiff at mu 1.5)."""
    out[0] = y[1]
    out[1] = p[0] * (1.0 - y[0] * y[0]) * y[1] - y[0]


@numba.njit
def ends_at_one_rhs(t: float, y: np.ndarray, p: np.ndarray, out: np.ndarray) -> None:
    """The slope sqrt(1 - t), and NaN for any stage evaluated after t = 1."""
    out[0] = math.sqrt(1.0 - t) if t <= 1.0 else math.nan


def van_der_pol_reference(t1: float) -> np.ndarray:
    """Van der Pol state at ``t1`` from (2, 0) by solve_ivp DOP853 at rtol 1e-13."""
    solution = solve_ivp(lambda t, y: [y[1], VAN_DER_POL_MU * (1 - y[0] ** 2) * y[1] - y[0]],
                         (0.0, t1), [2.0, 0.0], method="DOP853", rtol=1e-13, atol=1e-15)
    assert solution.success
    return solution.y[:, -1]


def van_der_pol_error(rtol: float, t1: float = 10.0) -> float:
    """Largest |dopri5 - reference| at ``t1`` for one tolerance (atol = rtol / 100)."""
    y = np.array([2.0, 0.0])
    dopri5_segment(van_der_pol_rhs, 0.0, t1, y, np.array([VAN_DER_POL_MU]), rtol, rtol / 100,
                   0.01, 1_000_000)
    return float(np.abs(y - van_der_pol_reference(t1)).max())


def test_dopri5_segment__matches_decay_logistic_and_time_dependent_closed_forms() -> None:
    """Segments [0, 1], [1, 2.5], [2.5, 8] in place reach the exact solutions (observed 9e-12)."""
    y = CLOSED_FORM_Y0.copy()
    h = 0.01
    for t0, t1 in ((0.0, 1.0), (1.0, 2.5), (2.5, 8.0)):
        h = dopri5_segment(closed_form_rhs, t0, t1, y, CLOSED_FORM_PARAMS, 1e-11, 1e-13, h,
                           100_000)
        assert h > 0.0
        np.testing.assert_allclose(y, closed_form(t1), rtol=1e-10, atol=0)
    assert y[1] > 0.9 * CAPACITY  # the logistic has saturated: the nonlinearity was exercised


def test_dopri5_segment__matches_solve_ivp_on_van_der_pol_at_rtol_1e_10() -> None:
    """Ten time units of Van der Pol agree with DOP853 (rtol 1e-13) to 2e-9 (observed 3e-10)."""
    assert van_der_pol_error(1e-10) < 2e-9


def test_dopri5_segment__tighter_tolerance_reduces_the_error() -> None:
    """At rtol 1e-5, 1e-7, 1e-9 each hundredfold tightening cuts the error > 30x (observed 130x)."""
    errors = [van_der_pol_error(rtol) for rtol in (1e-5, 1e-7, 1e-9)]
    assert errors[0] > 30 * errors[1] and errors[1] > 30 * errors[2], errors
    assert errors[0] > 1e-7  # the loose run is measurably off: the comparison has teeth


def test_dopri5_segment__never_evaluates_past_the_segment_end() -> None:
    """A slope of sqrt(1 - t) (NaN after t = 1) integrates to 2/3 at t = 1 without a NaN."""
    y = np.zeros(1)
    dopri5_segment(ends_at_one_rhs, 0.0, 1.0, y, np.zeros(1), 1e-10, 1e-12, 0.3, 100_000)
    assert y[0] == pytest.approx(2.0 / 3.0, rel=1e-7)


def test_dopri5_segment__raises_when_max_steps_do_not_reach_the_end() -> None:
    """Five steps cannot cover 8 h of the closed-form system at rtol 1e-10: RuntimeError."""
    y = CLOSED_FORM_Y0.copy()
    with pytest.raises(RuntimeError, match="max_steps reached before the segment end"):
        dopri5_segment(closed_form_rhs, 0.0, 8.0, y, CLOSED_FORM_PARAMS, 1e-10, 1e-12, 0.01, 5)
    enough = CLOSED_FORM_Y0.copy()
    dopri5_segment(closed_form_rhs, 0.0, 8.0, enough, CLOSED_FORM_PARAMS, 1e-10, 1e-12, 0.01,
                   100_000)
    np.testing.assert_allclose(enough, closed_form(8.0), rtol=1e-8)


@numba.njit
def polynomial_rhs(t: float, y: np.ndarray, p: np.ndarray, out: np.ndarray) -> None:
    """A nonlinear, time-dependent system using only + - * (rounded alike in numpy)."""
    out[0] = -p[0] * y[0] * y[1] + 0.25 * t
    out[1] = y[0] - p[1] * y[1] * t


def polynomial_rhs_batched(t_h: np.ndarray, y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """:func:`polynomial_rhs` for a batch, in numpy (the path of ``integrate``)."""
    return np.column_stack([-p[0] * y[:, 0] * y[:, 1] + 0.25 * t_h,
                            y[:, 0] - p[1] * y[:, 1] * t_h])


@pytest.mark.parametrize("max_step_h", [0.1, 0.37, 5.0])
def test_rk4_segment__equals_integrate_rk4_bit_for_bit(max_step_h: float) -> None:
    """The compiled RK4 takes integrate's "rk4" steps exactly: same states to the last bit."""
    params, t0, t1 = np.array([0.8, 0.3]), 0.3, 2.9
    expected = integrate_final(polynomial_rhs_batched, [[1.5, 0.5]], t1, params,
                               SolverConfig(method="rk4", max_step_h=max_step_h), t0_h=t0)[0]
    n_steps = int(np.ceil((t1 - t0) / max_step_h * (1.0 - 1e-12)))
    y = np.array([1.5, 0.5])
    rk4_segment(polynomial_rhs, t0, t1, n_steps, (t1 - t0) / n_steps, y, params,
                np.empty((5, 2)))
    np.testing.assert_array_equal(y, expected)
    assert abs(y[0] - 1.5) > 0.1  # the state moved: not a vacuous comparison


def test_dopri5_segment__agrees_with_integrate_dopri5_and_solve_ivp() -> None:
    """Compiled and batched Dormand-Prince (one tableau, own step control) agree (seen 9e-12)."""
    batched = integrate_final(
        lambda t_h, y, mu: np.column_stack([y[:, 1], mu * (1 - y[:, 0] ** 2) * y[:, 1] - y[:, 0]]),
        [[2.0, 0.0]], 10.0, VAN_DER_POL_MU, SolverConfig(rtol=1e-10, atol=1e-12))[0]
    y = np.array([2.0, 0.0])
    dopri5_segment(van_der_pol_rhs, 0.0, 10.0, y, np.array([VAN_DER_POL_MU]), 1e-10, 1e-12,
                   0.01, 1_000_000)
    np.testing.assert_allclose(y, batched, rtol=0, atol=1e-10)
    np.testing.assert_allclose(y, van_der_pol_reference(10.0), rtol=0, atol=2e-9)


def test_dopri5_tableau__is_consistent_and_fifth_order_on_quadrature() -> None:
    """Rows of A sum to C, the error weights sum to 0, and the weights integrate t^4 exactly."""
    for c, row in zip(DOPRI5_C, DOPRI5_A, strict=True):
        assert sum(row) == pytest.approx(c, abs=1e-15)
    assert sum(DOPRI5_E) == pytest.approx(0.0, abs=1e-15)
    weights = DOPRI5_A[-1]
    for power in range(5):
        quadrature = sum(b * c ** power for b, c in zip(weights, DOPRI5_C, strict=False))
        assert quadrature == pytest.approx(1.0 / (power + 1), abs=1e-15)
