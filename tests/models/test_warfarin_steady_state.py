"""Steady state of the Hamberg models: morning INR on a constant dose, its inverse, the kernels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hamberg_helpers import random_patients
from scipy.integrate import solve_ivp

from pkgym.models.warfarin import Hamberg2007, Hamberg2010
from pkgym.models.warfarin_kernel import DayQuadrature, simulate_inr
from pkgym.models.warfarin_steady_state import (
    SteadyState,
    periodic_chain_kernel,
    steady_state_inr,
    unit_dose_profile,
)

CASES = [(Hamberg2010(), 400, 1e-8), (Hamberg2007(), 1500, 1e-6)]
"""(model, days simulated, INR tolerance): 2007's chains have MTTs of weeks with its IIV."""


@pytest.mark.parametrize(("model", "days", "tolerance"), CASES, ids=["2010", "2007"])
def test_steady_state__inr_equals_a_long_simulation_at_a_constant_dose(model, days: int,
                                                                       tolerance: float) -> None:
    """SteadyState.inr is the morning INR of simulate_inr after many days at one dose."""
    rng = np.random.default_rng(18)
    params = random_patients(model, 12, rng)
    doses = rng.uniform(0.5, 12.0, 12)
    inr, _ = simulate_inr(params, model.structure, np.repeat(doses[:, None], days, axis=1))
    # converged: the last two mornings agree far below the tolerance
    assert np.max(np.abs(inr[:, -1] - inr[:, -2])) < tolerance / 10
    steady = SteadyState(params, model.structure).inr(doses)
    np.testing.assert_allclose(steady, inr[:, -1], rtol=0, atol=tolerance)
    assert np.all(steady > model.baseline_inr)


@pytest.mark.parametrize("model", [Hamberg2010(), Hamberg2007()], ids=["2010", "2007"])
def test_steady_state__dose_for_inr_inverts_inr_and_rises_with_the_target(model) -> None:
    """inr(dose_for_inr(t)) == t to 1e-10, and the dose rises with the target."""
    params = random_patients(model, 5, np.random.default_rng(3))
    steady = SteadyState(params, model.structure)
    targets = np.array([1.5, 2.0, 2.5, 3.0, 4.0])
    doses = np.stack([steady.dose_for_inr(np.full(5, t)) for t in targets])  # (targets, n)
    for t, d in zip(targets, doses, strict=True):
        np.testing.assert_allclose(steady.inr(d), t, rtol=0, atol=1e-10)
    assert np.all(np.diff(doses, axis=0) > 0)


def test_steady_state__zero_dose_gives_base_and_out_of_range_targets_are_refused() -> None:
    """Dose 0 gives BASE; a target at or outside (BASE, BASE + INRmax) raises naming it."""
    model = Hamberg2010()
    params = random_patients(model, 3, np.random.default_rng(1))
    steady = SteadyState(params, model.structure)
    np.testing.assert_array_equal(steady.inr(np.zeros(3)), model.baseline_inr)
    np.testing.assert_array_equal(steady_state_inr(params, model.structure, np.zeros(3)),
                                  model.baseline_inr)
    top = model.baseline_inr + model.inr_max
    for bad in (model.baseline_inr, 0.5, top, top + 1.0, np.nan):
        with pytest.raises(ValueError, match="target_inr"):
            steady.dose_for_inr(np.full(3, bad))
    with pytest.raises(ValueError, match="dose_mg"):
        steady.inr(np.array([1.0, -1.0, 2.0]))


def _erlang(t: np.ndarray, rate: np.ndarray, n: int) -> np.ndarray:
    return rate**n * t ** (n - 1) * np.exp(-rate * t) / math.factorial(n - 1)


@pytest.mark.parametrize("length", range(1, 7))
def test_periodic_chain_kernel__equals_the_brute_force_sum_and_integrates_to_one(
        length: int) -> None:
    """K(u) = sum_k h(u + 24 k) of the Erlang density (brute force), and its day integral is 1."""
    mtt = np.array([6.0, 28.6, 118.3, 400.0])
    rate = length / mtt[:, None]
    u = np.linspace(0.0, 23.99, 97)
    kernel = periodic_chain_kernel(mtt, length, u)
    brute = sum(_erlang(u[None, :] + 24.0 * k, rate, length) for k in range(4000))
    np.testing.assert_allclose(kernel, brute, rtol=1e-12, atol=0)
    x, w = np.polynomial.legendre.leggauss(40)
    edges = np.linspace(0.0, 24.0, 49)
    nodes = ((edges[:-1, None] + edges[1:, None]) / 2 + 0.25 * x[None, :]).ravel()
    weights = np.tile(0.25 * w, 48)
    integral = periodic_chain_kernel(mtt, length, nodes) @ weights
    np.testing.assert_allclose(integral, 1.0, rtol=0, atol=1e-12)


def test_periodic_chain_kernel__refuses_chains_of_seven() -> None:
    """Only chain lengths 1..6 have closed forms here."""
    with pytest.raises(ValueError, match="chain length"):
        periodic_chain_kernel(np.array([28.6]), 7, np.array([1.0]))
    with pytest.raises(ValueError, match="chain length"):
        periodic_chain_kernel(np.array([28.6]), 0, np.array([1.0]))


def test_unit_dose_profile__mean_concentration_is_s_dose_over_24_clearance() -> None:
    """One compartment at steady state: mean C over a day = 0.5 mg / (24 h CL) per mg/day."""
    model = Hamberg2010()
    params = random_patients(model, 10, np.random.default_rng(5))
    quadrature = DayQuadrature(nodes_per_panel=12)
    concentration, weights = unit_dose_profile(params, model.structure, quadrature)
    mean = concentration @ weights / 24.0
    np.testing.assert_allclose(mean, 0.5 / (24.0 * params.clearance_l_per_h), rtol=1e-10)
    assert np.all(concentration > 0)


def _hamberg2010_ode(t: float, y: np.ndarray, cl: float, v: float, ec50: float, hill: float,
                     ktr: tuple[float, float]) -> np.ndarray:
    """Depot, central (mg), chain 1 (3), chain 2 (3): written from Hamberg 2010's equations."""
    depot, central = y[0], y[1]
    c = max(central / v, 0.0)
    effect = c**hill / (ec50**hill + c**hill)
    out = np.empty(8)
    out[0] = -2.0 * depot
    out[1] = 2.0 * depot - cl / v * central
    for start, k in zip((2, 5), ktr, strict=True):
        a = y[start:start + 3]
        out[start] = k * (1.0 - effect - a[0])
        out[start + 1] = k * (a[0] - a[1])
        out[start + 2] = k * (a[1] - a[2])
    return out


def test_simulate_inr__matches_solve_ivp_of_the_hamberg2010_odes_after_60_days() -> None:
    """A typical patient dosed 4 mg daily: morning INRs match an independent Radau solution."""
    model = Hamberg2010()
    p = model.parameters(np.array([1]), np.array([1]), np.array([65.0]))
    cl, v = float(p.clearance_l_per_h[0]), float(p.central_volume_l[0])
    ec50, hill = float(p.ec50_mg_per_l[0]), float(p.hill[0])
    ktr = (3.0 / float(p.mtt1_h[0]), 3.0 / float(p.mtt2_h[0]))
    days, dose = 60, 4.0
    y = np.array([0.0, 0.0, *np.ones(6)])
    mornings = [1.0]
    for _ in range(days):
        y[0] += 0.5 * dose
        sol = solve_ivp(_hamberg2010_ode, (0.0, 24.0), y, method="Radau", rtol=1e-10,
                        atol=1e-12, args=(cl, v, ec50, hill, ktr))
        y = sol.y[:, -1]
        mornings.append(1.0 + 20.0 * (1.0 - 0.5 * (y[4] + y[7])))
    inr, _ = simulate_inr(p, model.structure, np.full((1, days), dose))
    np.testing.assert_allclose(inr[0], mornings, rtol=0, atol=1e-7)
