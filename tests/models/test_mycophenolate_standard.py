"""Staatz 2005 two-compartment MPA model: exact solution vs solve_ivp, AUC, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from pkgym.models.mycophenolate_standard import (
    Staatz2005,
    two_compartment_auc,
    two_compartment_oral,
)


def _ode(_t: float, y: np.ndarray, ka: float, cl: float, v1: float, q: float,
         v2: float) -> np.ndarray:
    depot, central, peripheral = y
    return np.array([-ka * depot, ka * depot - cl / v1 * central - q / v1 * central
                     + q / v2 * peripheral, q / v1 * central - q / v2 * peripheral])


def test_two_compartment_oral__matches_solve_ivp_over_three_doses() -> None:
    """Two patients, doses 1000/750/500 mg every 12 h: exact vs LSODA (rtol 1e-11)."""
    model = Staatz2005()
    p = model.params(np.array([[0.0, 0.0, 0.0], [0.5, -0.3, 0.8]]))
    doses = np.array([[1000.0, 750.0, 500.0], [500.0, 500.0, 1500.0]])
    times = np.array([0.5, 2.0, 11.0, 12.0, 13.5, 30.0, 36.0])
    conc = two_compartment_oral(p, doses, 12.0, np.tile(times, (2, 1)))
    for i in range(2):
        y, out = np.zeros(3), []
        for j in range(3):
            y[0] += doses[i, j]
            grid = [t - 12.0 * j for t in times if 12.0 * j <= t <= 12.0 * (j + 1)]
            sol = solve_ivp(_ode, (0.0, 12.0), y, method="LSODA", rtol=1e-11, atol=1e-12,
                            args=tuple(p[i]), t_eval=grid or None, dense_output=True)
            out += [sol.sol(t)[1] / p[i, 2] for t in grid if not out or t > 0.0]
            y = sol.y[:, -1] if not grid else sol.sol(12.0)
        np.testing.assert_allclose(conc[i], out[: times.size], rtol=1e-7)


def test_two_compartment_auc__equals_dose_over_cl_at_steady_state() -> None:
    """The last interval's AUC after 60 doses (numerical) is dose / CL."""
    p = Staatz2005().params()
    t = 708.0 + np.linspace(0.0, 12.0, 2001)
    c = two_compartment_oral(p, np.full((1, 60), 1000.0), 12.0, t[None, :])[0]
    auc = np.sum((c[1:] + c[:-1]) / 2.0 * np.diff(t))
    assert auc == pytest.approx(two_compartment_auc(p, np.array([1000.0]))[0], rel=1e-3)
    assert two_compartment_auc(p, np.array([1000.0]))[0] == pytest.approx(1000.0 / 34.9)


def test_staatz2005__values_omega_and_bad_input() -> None:
    """Sherwin Table II values; omega log(1 + CV^2); wrong shapes and values refused."""
    model = Staatz2005()
    np.testing.assert_allclose(np.diag(model.omega), np.log1p(np.array([1.09, 0.32, 0.78]) ** 2))
    assert model.residual_error.proportional_sd == 0.41
    with pytest.raises(ValueError, match="etas"):
        model.params(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="doses_mg"):
        two_compartment_oral(model.params(), np.array([[-1.0]]), 12.0, np.zeros((1, 1)))
    with pytest.raises(ValueError, match="interval_h"):
        two_compartment_oral(model.params(), np.ones((1, 1)), 0.0, np.zeros((1, 1)))
    with pytest.raises(ValueError, match="v1_l"):
        Staatz2005(v1_l=0.0)


def test_unit_response__finite_where_ka_meets_a_mode_and_at_extreme_rates() -> None:
    """An absorption rate equal to the slow disposition rate gives the limit form, no warnings."""
    cl, v1, q, v2 = 34.9, 65.0, 30.7, 496.0
    k10, k12, k21 = cl / v1, q / v1, q / v2
    s, d = k10 + k12 + k21, k10 * k21
    beta = (s - np.sqrt(s * s - 4.0 * d)) / 2.0
    times = np.array([[1.0, 10.0, 100.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        at = two_compartment_oral(np.array([[beta, cl, v1, q, v2]]), np.array([[1000.0]]),
                                  12.0, times)
        near = two_compartment_oral(np.array([[beta * (1 + 1e-6), cl, v1, q, v2]]),
                                    np.array([[1000.0]]), 12.0, times)
        extreme = two_compartment_oral(np.array([[400.0, 1e4, 0.5, 1e3, 1e5]]),
                                       np.array([[1000.0] * 60]), 12.0,
                                       np.array([[700.0, 710.0]]))
    np.testing.assert_allclose(at, near, rtol=1e-5)
    assert np.all(np.isfinite(extreme)) and np.all(extreme >= 0)
