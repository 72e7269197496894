"""Exact linear compartment solutions against independent closed-form formulas.

The references use the classical macro-constant (A_i, lambda_i) forms of the unit impulse
response (Gibaldi & Perrier, Pharmacokinetics, 2nd ed., ch. 2-3; Abuhelwa, Foster & Upton
2015, J Pharmacol Toxicol Methods 73:42), with infusions and oral doses obtained by
convolving that response: nothing here goes through pkgym's modal decomposition.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pkgym.sim.doses import IV, ORAL, DoseSchedule, regular_schedule
from pkgym.sim.linear import simulate_linear
from pkgym.sim.modal import compartment_params

RTOL = 1e-9
TIMES_H = np.array([0.0, 0.25, 0.5, 1.0, 1.7, 2.0, 3.0, 6.0, 12.0, 24.0, 48.0])


def macro_constants(cl, v1, qs=(), vs=()):  # noqa: ANN001, ANN201
    """Rates lambda_i (> 0) and per-mg coefficients A_i (1/L) of C(t) = sum A_i exp(-lambda_i t)."""
    k10, k1 = cl / v1, [q / v1 for q in qs]
    kback = [q / v for q, v in zip(qs, vs, strict=True)]
    if not qs:
        return np.array([k10]), np.array([1.0 / v1])
    if len(qs) == 1:
        (k12,), (k21,) = k1, kback
        total = k10 + k12 + k21
        root = np.sqrt(total**2 - 4 * k10 * k21)
        alpha, beta = (total + root) / 2, (total - root) / 2
        return np.array([alpha, beta]), np.array(
            [(alpha - k21) / (alpha - beta), (k21 - beta) / (alpha - beta)]
        ) / v1
    (k12, k13), (k21, k31) = k1, kback
    poly = [1.0, k10 + k12 + k13 + k21 + k31,
            k10 * k21 + k10 * k31 + k21 * k31 + k12 * k31 + k13 * k21, k10 * k21 * k31]
    lam = np.sort(np.roots(poly).real * -1.0)
    coef = [(k21 - lam[i]) * (k31 - lam[i]) / np.prod([lam[j] - lam[i] for j in range(3) if j != i])
            for i in range(3)]
    return lam, np.array(coef) / v1


def bolus_reference(lam, a, dose, t):  # noqa: ANN001, ANN201
    """C(t) after an IV bolus."""
    return dose * np.sum(a[:, None] * np.exp(-lam[:, None] * t), axis=0)


def infusion_reference(lam, a, dose, duration, t):  # noqa: ANN001, ANN201
    """C(t) during and after a zero-order infusion (the impulse response integrated)."""
    rate, tt = dose / duration, np.minimum(t, duration)
    during = rate * (a / lam)[:, None] * (1 - np.exp(-lam[:, None] * tt))
    return np.sum(during * np.exp(-lam[:, None] * (t - tt)), axis=0)


def oral_reference(lam, a, dose, ka, f, lag, t):  # noqa: ANN001, ANN201
    """C(t) after a first-order oral dose (impulse response convolved with ka e^-ka t)."""
    s = np.maximum(t - lag, 0.0)
    terms = (a * ka / (ka - lam))[:, None] * (np.exp(-lam[:, None] * s) - np.exp(-ka * s))
    return f * dose * np.sum(terms, axis=0)


MODELS = {
    "one": (5.0, 40.0, (), ()),
    "two": (4.5, 58.4, (6.5,), (38.4,)),
    "three": (3.0, 20.0, (12.0, 1.5), (30.0, 90.0)),
}


def _params(name, **kw):  # noqa: ANN001, ANN202
    cl, v1, qs, vs = MODELS[name]
    return compartment_params(cl, v1, intercompartmental_clearance_l_per_h=qs,
                              peripheral_volume_l=vs, **kw)


@pytest.mark.parametrize("name", MODELS)
def test_simulate_linear__bolus_matches_closed_form(name: str) -> None:
    """An IV bolus gives C(t) = D * sum A_i exp(-lambda_i t) for 1, 2 and 3 compartments."""
    sol = simulate_linear(_params(name), regular_schedule(1, amount_mg=1000.0, every_h=24.0,
                                                          n_doses=1), TIMES_H)
    expected = bolus_reference(*macro_constants(*MODELS[name]), 1000.0, TIMES_H)
    np.testing.assert_allclose(sol.concentration_mg_per_l[0], expected, rtol=RTOL)


@pytest.mark.parametrize("name", MODELS)
def test_simulate_linear__infusion_matches_closed_form(name: str) -> None:
    """A 1.7-h zero-order infusion matches the convolved impulse response, during and after."""
    doses = regular_schedule(1, amount_mg=1500.0, every_h=24.0, n_doses=1, duration_h=1.7)
    sol = simulate_linear(_params(name), doses, TIMES_H)
    expected = infusion_reference(*macro_constants(*MODELS[name]), 1500.0, 1.7, TIMES_H)
    np.testing.assert_allclose(sol.concentration_mg_per_l[0], expected, rtol=RTOL, atol=1e-13)


@pytest.mark.parametrize("name", MODELS)
def test_simulate_linear__oral_matches_closed_form(name: str) -> None:
    """An oral dose with F = 0.8, ka = 1.3/h and a 0.5-h lag matches the Bateman-type sum."""
    params = _params(name, absorption_rate_per_h=1.3, bioavailability=0.8, lag_time_h=0.5)
    sol = simulate_linear(params, regular_schedule(1, amount_mg=200.0, every_h=24.0, n_doses=1,
                                                   route="oral"), TIMES_H)
    expected = oral_reference(*macro_constants(*MODELS[name]), 200.0, 1.3, 0.8, 0.5, TIMES_H)
    np.testing.assert_allclose(sol.concentration_mg_per_l[0], expected, rtol=RTOL, atol=1e-13)


def test_simulate_linear__oral_flip_flop_limit_is_exact() -> None:
    """When ka equals the elimination rate, C(t) = F D k t exp(-k t) / V (the degenerate case)."""
    params = compartment_params(5.0, 50.0, absorption_rate_per_h=0.1)
    sol = simulate_linear(params, regular_schedule(1, amount_mg=100.0, every_h=24.0, n_doses=1,
                                                   route="oral"), TIMES_H)
    expected = 100.0 * 0.1 * TIMES_H * np.exp(-0.1 * TIMES_H) / 50.0
    np.testing.assert_allclose(sol.concentration_mg_per_l[0], expected, rtol=RTOL)


def test_simulate_linear__many_doses_superpose() -> None:
    """Irregular mixed doses equal the sum of their single-dose responses (linearity)."""
    rng = np.random.default_rng(7)
    times = np.sort(rng.uniform(0, 40, 12))
    amounts, durations = rng.uniform(50, 900, 12), np.where(rng.random(12) < 0.5, 0.0, 1.3)
    schedule = DoseSchedule(time_h=times[None], amount_mg=amounts[None],
                            duration_h=durations[None], route=np.full((1, 12), IV))
    grid = np.linspace(0, 60, 241)
    sol = simulate_linear(_params("two"), schedule, grid)
    lam, a = macro_constants(*MODELS["two"])
    expected = np.zeros_like(grid)
    for t0, amt, dur in zip(times, amounts, durations, strict=True):
        shifted = np.maximum(grid - t0, 0.0)
        single = (infusion_reference(lam, a, amt, dur, shifted) if dur > 0
                  else bolus_reference(lam, a, amt, shifted))
        expected += np.where(grid >= t0, single, 0.0)
    np.testing.assert_allclose(sol.concentration_mg_per_l[0], expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", MODELS)
def test_simulate_linear__steady_state_auc_equals_dose_over_clearance(name: str) -> None:
    """Over one dosing interval at steady state, AUC_tau = dose / CL."""
    doses = regular_schedule(1, amount_mg=1000.0, every_h=12.0, n_doses=800, duration_h=1.0)
    sol = simulate_linear(_params(name), doses, np.array([9576.0, 9588.0]))
    auc_tau = np.diff(sol.auc_mg_h_per_l[0])[0]
    assert auc_tau == pytest.approx(1000.0 / MODELS[name][0], rel=1e-9)


def test_simulate_linear__patients_keep_their_own_parameters_and_doses() -> None:
    """A batch of three different patients equals three single-patient simulations."""
    cls, doses_mg = np.array([2.0, 5.0, 9.0]), np.array([500.0, 1000.0, 1750.0])
    batch = simulate_linear(
        compartment_params(cls, 40.0, intercompartmental_clearance_l_per_h=(6.0,),
                           peripheral_volume_l=(30.0,)),
        regular_schedule(3, amount_mg=doses_mg, every_h=12.0, n_doses=4,
                         duration_h=doses_mg / 1000),
        TIMES_H, chunk_size=2,
    )
    for k in range(3):
        lam, a = macro_constants(cls[k], 40.0, (6.0,), (30.0,))
        expected = sum(np.where(TIMES_H >= 12 * i, infusion_reference(
            lam, a, doses_mg[k], doses_mg[k] / 1000, np.maximum(TIMES_H - 12 * i, 0)), 0)
            for i in range(4))
        np.testing.assert_allclose(batch.concentration_mg_per_l[k], expected, rtol=RTOL)


def test_simulate_linear__restart_from_final_state_continues_the_course() -> None:
    """Simulating 0-30 h then 30-60 h from the final state equals one 0-60 h run."""
    params = _params("three", absorption_rate_per_h=0.9)
    schedule = DoseSchedule(time_h=np.array([[0.0, 20.0, 29.0, 40.0]]),
                            amount_mg=np.array([[800.0, 300.0, 600.0, 100.0]]),
                            duration_h=np.array([[0.0, 0.0, 2.5, 0.0]]),
                            route=np.array([[IV, ORAL, IV, ORAL]]))
    whole = simulate_linear(params, schedule, np.array([30.0, 45.0, 60.0]))
    first = simulate_linear(params, schedule, np.array([30.0]))
    later = DoseSchedule(time_h=schedule.time_h, amount_mg=schedule.amount_mg * [[0, 0, 1, 1]],
                         duration_h=schedule.duration_h, route=schedule.route)
    second = simulate_linear(params, later, np.array([45.0, 60.0]),
                             initial_state=first.final_state, start_h=30.0)
    np.testing.assert_allclose(second.concentration_mg_per_l, whole.concentration_mg_per_l[:, 1:],
                               rtol=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    cl=st.floats(0.1, 20.0), v1=st.floats(1.0, 200.0), q=st.floats(0.1, 30.0),
    v2=st.floats(1.0, 300.0), ka=st.floats(0.05, 5.0),
    amounts=st.lists(st.floats(0.0, 3000.0), min_size=1, max_size=6),
    durations=st.lists(st.sampled_from([0.0, 0.5, 1.0, 3.0]), min_size=6, max_size=6),
    oral=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_simulate_linear__mass_balance_and_non_negativity(cl, v1, q, v2, ka, amounts, durations,
                                                          oral) -> None:  # noqa: ANN001
    """Levels stay >= 0, the body holds no more than was given, mass-balance AUC = trapezoid."""
    k = len(amounts)
    route = np.array(oral[:k], dtype=np.int8)
    schedule = DoseSchedule(time_h=np.arange(k, dtype=float)[None] * 5.0,
                            amount_mg=np.array(amounts)[None],
                            duration_h=np.where(route == ORAL, 0.0, durations[:k])[None],
                            route=route[None])
    params = compartment_params(cl, v1, intercompartmental_clearance_l_per_h=(q,),
                                peripheral_volume_l=(v2,), absorption_rate_per_h=ka)
    grid = np.linspace(0.0, 60.0, 3001)
    sol = simulate_linear(params, schedule, grid)
    conc = sol.concentration_mg_per_l[0]
    assert np.all(conc >= -1e-12)
    body = sol.final_state.amounts_mg.sum() + sol.final_state.depot_mg.sum()
    assert body <= sum(amounts) * (1 + 1e-9) + 1e-9
    trapezoid = np.concatenate([[0.0], np.cumsum(np.diff(grid) * (conc[1:] + conc[:-1]) / 2)])
    # The trapezoid rule errs by up to half a step times each bolus jump, and by O(dt^2)
    # where the curve bends fast (ka and k near 5/h: up to ~0.4% of the total AUC).
    jumps = sum(a for a, o in zip(amounts, oral, strict=False) if not o) / v1
    atol = 5e-3 * sum(amounts) / cl + np.diff(grid)[0] * jumps
    np.testing.assert_allclose(sol.auc_mg_h_per_l[0], trapezoid, atol=atol)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"amount_mg": -1.0}, "amount_mg"),
        ({"amount_mg": np.nan}, "amount_mg"),
        ({"every_h": 0.0}, "every_h"),
        ({"duration_h": -1.0}, "duration_h"),
        ({"route": "rectal"}, "route"),
    ],
)
def test_regular_schedule__bad_input_names_the_argument(kwargs: dict, field: str) -> None:
    """Negative or NaN doses, zero intervals and unknown routes raise ValueError naming it."""
    base = {"amount_mg": 100.0, "every_h": 12.0, "n_doses": 2}
    with pytest.raises(ValueError, match=field):
        regular_schedule(1, **{**base, **kwargs})


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"central_volume_l": 0.0}, "central_volume_l"),
        ({"clearance_l_per_h": np.nan}, "clearance_l_per_h"),
        ({"bioavailability": 1.5}, "bioavailability"),
        ({"lag_time_h": -0.5}, "lag_time_h"),
    ],
)
def test_compartment_params__bad_input_names_the_argument(kwargs: dict, field: str) -> None:
    """Zero volumes, NaN clearances, F > 1 and negative lags raise ValueError naming the field."""
    base = {"clearance_l_per_h": 5.0, "central_volume_l": 50.0}
    with pytest.raises(ValueError, match=field):
        compartment_params(**{**base, **kwargs})


def test_simulate_linear__mismatched_shapes_and_bad_times_are_rejected() -> None:
    """Patient counts must agree and output times must be sorted and finite."""
    params = compartment_params([5.0, 6.0], 50.0)
    with pytest.raises(ValueError, match="patients"):
        simulate_linear(params, regular_schedule(3, amount_mg=1.0, every_h=1.0, n_doses=1), TIMES_H)
    doses = regular_schedule(2, amount_mg=1.0, every_h=1.0, n_doses=1)
    with pytest.raises(ValueError, match="times_h"):
        simulate_linear(params, doses, np.array([2.0, 1.0]))
    with pytest.raises(ValueError, match="times_h"):
        simulate_linear(params, doses, np.array([np.nan]))
    with pytest.raises(ValueError, match="time_h"):
        DoseSchedule(time_h=np.zeros((2, 2)), amount_mg=np.zeros((2, 3)),
                     duration_h=np.zeros((2, 2)), route=np.zeros((2, 2)))
