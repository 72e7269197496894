"""Tests for ``pkgym.sim.integrate``: reference problems against scipy and closed forms."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp
from scipy.special import lambertw

from pkgym.sim.integrate import SolverConfig, integrate, integrate_final

TIGHT = SolverConfig(rtol=1e-9, atol=1e-12)
REFERENCE = {"rtol": 1e-10, "atol": 1e-12}  # solve_ivp settings of the reference solutions


def _relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """Largest relative deviation of ``actual`` from ``expected``."""
    return float(np.max(np.abs(actual - expected) / np.abs(expected)))


def _reference(rhs, y0, times_h, params, method, t0_h=0.0) -> np.ndarray:
    """Solve each patient alone with ``solve_ivp``: shape ``(n_patients, n_times, n_states)``."""
    solutions = []
    for i in range(y0.shape[0]):

        def single(t, y, i=i):
            return rhs(np.array([t]), y[None, :], _take(params, i))[0]

        sol = solve_ivp(
            single, (t0_h, times_h[-1]), y0[i], method=method, t_eval=times_h, **REFERENCE
        )
        assert sol.success, sol.message
        solutions.append(sol.y.T)
    return np.stack(solutions)


def _take(params, i: int):
    """Patient ``i`` of a dataclass of ``(n_patients,)`` arrays, as a batch of one."""
    return type(params)(**{name: getattr(params, name)[i : i + 1] for name in params.__slots__})


# --- Michaelis–Menten elimination after an IV bolus (one compartment, amount in mg) ---------


@dataclass(frozen=True, slots=True, kw_only=True)
class MichaelisMentenParams:
    """Saturable elimination ``dA/dt = -Vmax * C / (Km + C)``, ``C = A / V``."""

    vmax_mg_per_h: np.ndarray  # (n_patients,)
    km_mg_per_l: np.ndarray  # (n_patients,)
    volume_l: np.ndarray  # (n_patients,)


MM = MichaelisMentenParams(
    vmax_mg_per_h=np.array([30.0, 60.0, 90.0, 45.0, 120.0]),
    km_mg_per_l=np.array([2.0, 5.0, 10.0, 4.0, 8.0]),
    volume_l=np.array([40.0, 60.0, 50.0, 30.0, 70.0]),
)
MM_DOSES_MG = np.array([800.0, 1500.0, 1000.0, 600.0, 2500.0])


def mm_rhs(t_h, amounts_mg, p: MichaelisMentenParams):
    """Batched Michaelis–Menten right-hand side, shape ``(n_patients, 1)``."""
    conc = amounts_mg[:, 0] / p.volume_l
    return (-p.vmax_mg_per_h * conc / (p.km_mg_per_l + conc))[:, None]


def mm_exact_amounts(times_h, doses_mg, p: MichaelisMentenParams) -> np.ndarray:
    """Closed form via Lambert W, shape ``(n_patients, n_times)``.

    With ``v = Vmax / V`` (mg/L/h): ``Km ln C + C = Km ln C0 + C0 - v t``, so
    ``C(t) = Km W((C0 / Km) exp((C0 - v t) / Km))``.
    """
    c0 = (doses_mg / p.volume_l)[:, None]
    km = p.km_mg_per_l[:, None]
    v = (p.vmax_mg_per_h / p.volume_l)[:, None]
    w = lambertw(c0 / km * np.exp((c0 - v * times_h) / km)).real
    return p.volume_l[:, None] * km * w


# --- Friberg 2002 myelosuppression (Prol, Transit1..3, Circ) ----------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class FribergParams:
    """Friberg et al. (2002) J Clin Oncol 20:4713, with ``Conc(t) = C0 exp(-k t)``."""

    mtt_h: np.ndarray  # (n_patients,)
    gamma: np.ndarray  # (n_patients,)
    circ0_1e9_per_l: np.ndarray  # (n_patients,)
    slope_l_per_mg: np.ndarray  # (n_patients,)
    conc0_mg_per_l: np.ndarray  # (n_patients,)
    k_per_h: np.ndarray  # (n_patients,)


FRIBERG = FribergParams(
    mtt_h=np.array([125.0, 90.0, 160.0, 110.0, 140.0, 100.0]),
    gamma=np.array([0.16, 0.12, 0.20, 0.25, 0.16, 0.10]),
    circ0_1e9_per_l=np.array([5.0, 4.0, 6.5, 3.0, 5.5, 7.0]),
    slope_l_per_mg=np.array([0.10, 0.18, 0.05, 0.15, 0.08, 0.12]),
    conc0_mg_per_l=np.array([5.0, 4.0, 8.0, 6.0, 5.0, 3.0]),
    k_per_h=np.array([0.05, 0.04, 0.06, 0.05, 0.05, 0.05]),
)


def friberg_rhs(t_h, y, p: FribergParams):
    """Batched Friberg transit model; states ``(Prol, T1, T2, T3, Circ)``."""
    ktr = 4.0 / p.mtt_h
    edrug = p.slope_l_per_mg * p.conc0_mg_per_l * np.exp(-p.k_per_h * t_h)
    prol, t1, t2, t3, circ = y.T
    feedback = (p.circ0_1e9_per_l / circ) ** p.gamma
    return np.stack(
        [
            ktr * prol * (1.0 - edrug) * feedback - ktr * prol,
            ktr * (prol - t1),
            ktr * (t1 - t2),
            ktr * (t2 - t3),
            ktr * (t3 - circ),
        ],
        axis=1,
    )


def friberg_y0(p: FribergParams) -> np.ndarray:
    """Steady state before treatment: every compartment at Circ0."""
    return np.repeat(p.circ0_1e9_per_l[:, None], 5, axis=1)


# --- Logistic tumour growth -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class LogisticParams:
    """``dV/dt = lambda V (1 - V / K)``."""

    growth_per_h: np.ndarray  # (n_patients,)
    capacity_ml: np.ndarray  # (n_patients,)


LOGISTIC = LogisticParams(
    growth_per_h=np.array([0.01, 0.05, 0.2]), capacity_ml=np.array([100.0, 50.0, 400.0])
)
LOGISTIC_V0_ML = np.array([[1.0], [5.0], [0.1]])


def logistic_rhs(t_h, volume_ml, p: LogisticParams):
    """Batched logistic growth, shape ``(n_patients, 1)``."""
    return p.growth_per_h[:, None] * volume_ml * (1.0 - volume_ml / p.capacity_ml[:, None])


def logistic_exact(times_h, v0_ml, p: LogisticParams) -> np.ndarray:
    """``V(t) = K V0 / (V0 + (K - V0) exp(-lambda t))``, shape ``(n_patients, n_times)``."""
    k, v0 = p.capacity_ml[:, None], v0_ml
    return k * v0 / (v0 + (k - v0) * np.exp(-p.growth_per_h[:, None] * times_h))


# --- Tests ------------------------------------------------------------------------------------


def test_integrate__michaelis_menten_matches_lambert_w():
    """Batched MM elimination matches its Lambert-W closed form to 1e-8 relative."""
    times_h = np.linspace(0.0, 24.0, 25)
    ys = integrate(mm_rhs, MM_DOSES_MG[:, None], times_h, MM, TIGHT)
    assert _relative_error(ys[:, :, 0], mm_exact_amounts(times_h, MM_DOSES_MG, MM)) < 1e-8


def test_integrate__michaelis_menten_matches_solve_ivp_per_patient():
    """Each MM patient matches its own solve_ivp(Radau) solution to 1e-6 relative.

    Radau, not DOP853: at rtol=1e-10 scipy's DOP853 is itself ~5e-7 off the closed form for
    patient 3 here, while Radau is within 1e-10.
    """
    times_h = np.linspace(0.0, 24.0, 25)
    ys = integrate(mm_rhs, MM_DOSES_MG[:, None], times_h, MM, TIGHT)
    reference = _reference(mm_rhs, MM_DOSES_MG[:, None], times_h, MM, "Radau")
    assert _relative_error(ys, reference) < 1e-6


@pytest.mark.parametrize("method", ["DOP853", "Radau"])
def test_integrate__friberg_matches_solve_ivp_per_patient(method):
    """The Friberg model over 500 h matches per-patient solve_ivp to 1e-6 relative."""
    times_h = np.linspace(0.0, 500.0, 51)
    y0 = friberg_y0(FRIBERG)
    ys = integrate(friberg_rhs, y0, times_h, FRIBERG, TIGHT)
    reference = _reference(friberg_rhs, y0, times_h, FRIBERG, method)
    assert _relative_error(ys, reference) < 1e-6
    assert np.all(ys[:, :, 4].min(axis=1) < 0.9 * FRIBERG.circ0_1e9_per_l)  # a real nadir


def test_integrate__logistic_matches_closed_form_and_radau():
    """Logistic growth matches its closed form and solve_ivp(Radau) to 1e-6 relative."""
    times_h = np.linspace(0.0, 200.0, 41)
    ys = integrate(logistic_rhs, LOGISTIC_V0_ML, times_h, LOGISTIC, TIGHT)
    assert _relative_error(ys[:, :, 0], logistic_exact(times_h, LOGISTIC_V0_ML, LOGISTIC)) < 1e-6
    reference = _reference(logistic_rhs, LOGISTIC_V0_ML, times_h, LOGISTIC, "Radau")
    assert _relative_error(ys, reference) < 1e-6


def test_integrate__patients_have_distinct_parameters():
    """Patients with different parameters get different trajectories, each its own."""
    times_h = np.array([12.0])
    ys = integrate(mm_rhs, MM_DOSES_MG[:, None], times_h, MM, TIGHT)
    fractions = ys[:, 0, 0] / MM_DOSES_MG
    assert np.unique(np.round(fractions, 6)).size == fractions.size


def test_integrate__batch_of_one_equals_patient_in_batch():
    """Patient k solved alone equals patient k of the batch (per-patient step control)."""
    times_h = np.linspace(0.0, 500.0, 11)
    y0 = friberg_y0(FRIBERG)
    config = SolverConfig(rtol=1e-6, atol=1e-9)
    batch = integrate(friberg_rhs, y0, times_h, FRIBERG, config)
    for k in range(y0.shape[0]):
        alone = integrate(friberg_rhs, y0[k : k + 1], times_h, _take(FRIBERG, k), config)
        np.testing.assert_allclose(alone[0], batch[k], rtol=1e-13, atol=0.0)


def test_integrate__rk4_converges_at_fourth_order():
    """Halving the rk4 step divides the error by about 16."""
    times_h = np.array([4.0, 8.0, 12.0])
    exact = mm_exact_amounts(times_h, MM_DOSES_MG, MM)
    errors = []
    for step_h in (0.5, 0.25, 0.125):
        config = SolverConfig(method="rk4", max_step_h=step_h)
        ys = integrate(mm_rhs, MM_DOSES_MG[:, None], times_h, MM, config)
        errors.append(np.max(np.abs(ys[:, :, 0] - exact)))
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios > 14.0) & (ratios < 18.0)), ratios


def test_integrate__dopri5_error_shrinks_with_rtol():
    """Tightening rtol by 1000x reduces the global error by at least 100x."""
    times_h = np.linspace(0.0, 24.0, 7)
    exact = mm_exact_amounts(times_h, MM_DOSES_MG, MM)
    loose, tight = (
        _relative_error(
            integrate(mm_rhs, MM_DOSES_MG[:, None], times_h, MM, SolverConfig(rtol=rtol))[:, :, 0],
            exact,
        )
        for rtol in (1e-5, 1e-8)
    )
    assert tight < loose / 100.0


@pytest.mark.parametrize("config", [TIGHT, SolverConfig(method="rk4", max_step_h=0.3)])
def test_integrate__steps_never_cross_output_times(config):
    """A switch on the output grid is resolved exactly: no step crosses it, stages see each side."""
    seen_h: list[np.ndarray] = []

    def switch(t_h, y, _params):
        seen_h.append(t_h.copy())
        return np.where(t_h < 1.0, 1.0, 0.0)[:, None] * np.ones_like(y)

    ys = integrate(switch, np.zeros((3, 2)), np.array([0.5, 1.0, 2.5]), None, config)
    np.testing.assert_allclose(ys[:, :, 0], [[0.5, 1.0, 1.0]] * 3, rtol=0.0, atol=1e-14)
    seen = np.concatenate(seen_h)
    assert np.any(seen == 1.0) and seen.max() <= 2.5


@pytest.mark.parametrize("config", [TIGHT, SolverConfig(method="rk4", max_step_h=0.1)])
def test_integrate__infusion_end_on_grid_matches_closed_form(config):
    """A zero-order infusion ending on an output time matches the one-compartment closed form."""
    k_per_h, rate_mg_per_h, end_h = np.array([0.2, 0.7]), 100.0, 2.0

    def infusion(t_h, amounts_mg, k):
        return np.where(t_h < end_h, rate_mg_per_h, 0.0)[:, None] - k[:, None] * amounts_mg

    times_h = np.array([1.0, 2.0, 3.0, 6.0])
    ys = integrate(infusion, np.zeros((2, 1)), times_h, k_per_h, config)
    at_end = (
        rate_mg_per_h
        / k_per_h[:, None]
        * (1.0 - np.exp(-k_per_h[:, None] * np.minimum(times_h, end_h)))
    )
    exact = at_end * np.exp(-k_per_h[:, None] * np.maximum(times_h - end_h, 0.0))
    assert _relative_error(ys[:, :, 0], exact) < (1e-8 if config.method == "dopri5" else 1e-5)


def test_integrate__output_at_t0_returns_y0_and_offsets_t0():
    """An output time equal to t0_h returns y0 exactly; a nonzero t0_h shifts the solution."""
    y0 = np.array([[2.0], [3.0]])
    rates = np.array([0.3, 0.1])
    ys = integrate(lambda t, y, r: -r[:, None] * y, y0, [5.0, 7.0], rates, TIGHT, t0_h=5.0)
    np.testing.assert_array_equal(ys[:, 0], y0)
    np.testing.assert_allclose(ys[:, 1, 0], y0[:, 0] * np.exp(-2.0 * rates), rtol=1e-9)


def test_integrate_final__equals_last_output():
    """integrate_final returns the last output of integrate."""
    final = integrate_final(mm_rhs, MM_DOSES_MG[:, None], 10.0, MM, TIGHT, t0_h=0.0)
    full = integrate(mm_rhs, MM_DOSES_MG[:, None], [3.0, 10.0], MM, TIGHT)
    np.testing.assert_allclose(final, full[:, -1], rtol=1e-9)


def test_integrate__explicit_first_step_keeps_accuracy():
    """A user-given first_step_h changes the path, not the accuracy."""
    times_h = np.linspace(0.0, 24.0, 5)
    config = SolverConfig(rtol=1e-9, atol=1e-12, first_step_h=5.0, max_step_h=2.0)
    ys = integrate(mm_rhs, MM_DOSES_MG[:, None], times_h, MM, config)
    assert _relative_error(ys[:, :, 0], mm_exact_amounts(times_h, MM_DOSES_MG, MM)) < 1e-6


@settings(max_examples=25, deadline=None)
@given(
    rates=st.lists(st.floats(1e-3, 5.0), min_size=1, max_size=4),
    end_h=st.floats(0.1, 10.0),
)
def test_integrate__linear_decay_matches_exponential(rates, end_h):
    """For any decay rates and horizon, dopri5 matches exp(-k t) to 1e-7 (atol 1e-11)."""
    k = np.array(rates)
    times_h = np.linspace(0.0, end_h, 4)
    ys = integrate(lambda t, y, kk: -kk[:, None] * y, np.ones((k.size, 1)), times_h, k, TIGHT)
    np.testing.assert_allclose(ys[:, :, 0], np.exp(-np.outer(k, times_h)), rtol=1e-7, atol=1e-11)


def test_integrate__max_steps_exceeded_raises_runtime_error():
    """Too small a step budget raises RuntimeError naming max_steps, for both methods."""
    with pytest.raises(RuntimeError, match="max_steps"):
        integrate(mm_rhs, MM_DOSES_MG[:, None], [24.0], MM, SolverConfig(rtol=1e-9, max_steps=3))
    with pytest.raises(RuntimeError, match="max_steps"):
        rk4 = SolverConfig(method="rk4", max_step_h=0.1, max_steps=10)
        integrate(mm_rhs, MM_DOSES_MG[:, None], [24.0], MM, rk4)


def test_integrate__non_finite_rhs_mid_run_raises_runtime_error():
    """An rhs that turns NaN partway makes the step size underflow, reported as RuntimeError."""

    def blows_up(t_h, y, _params):
        return np.where(t_h < 1.0, -y[:, 0], np.nan)[:, None]

    with pytest.raises(RuntimeError, match="underflow"):
        integrate(blows_up, np.ones((2, 1)), [2.0], None, TIGHT)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"y0": [[np.nan]]}, "y0"),
        ({"y0": [1.0, 2.0]}, "y0"),
        ({"times_h": [2.0, 1.0]}, "times_h"),
        ({"times_h": [1.0, 1.0]}, "times_h"),
        ({"times_h": [np.inf]}, "times_h"),
        ({"times_h": [-1.0, 1.0]}, "times_h"),
        ({"t0_h": np.nan}, "t0_h"),
        ({"rhs": lambda t, y, p: y[:, :1] * 0.0}, "rhs"),
        ({"rhs": lambda t, y, p: y * np.nan}, "rhs"),
        ({"config": {"rtol": 1e-6}}, "config"),
    ],
)
def test_integrate__bad_input_raises_value_error_naming_it(kwargs, name):
    """Malformed inputs raise ValueError naming the offending argument."""
    arguments = {
        "rhs": lambda t, y, p: -y,
        "y0": [[1.0, 2.0]],
        "times_h": [1.0, 2.0],
        "params": None,
        "config": TIGHT,
    } | kwargs
    t0_h = arguments.pop("t0_h", 0.0)
    with pytest.raises(ValueError, match=name):
        integrate(**arguments, t0_h=t0_h)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"method": "euler"}, "method"),
        ({"rtol": -1e-6}, "rtol"),
        ({"rtol": np.nan}, "rtol"),
        ({"atol": 0.0}, "atol"),
        ({"max_step_h": 0.0}, "max_step_h"),
        ({"method": "rk4"}, "max_step_h"),
        ({"first_step_h": -1.0}, "first_step_h"),
        ({"max_steps": 0}, "max_steps"),
        ({"max_steps": 10.5}, "max_steps"),
        ({"rtol": "1e-6"}, "rtol"),
    ],
)
def test_solver_config__invalid_field_raises_value_error_naming_it(kwargs, name):
    """Invalid solver settings raise ValueError naming the field."""
    with pytest.raises(ValueError, match=name):
        SolverConfig(**kwargs)
