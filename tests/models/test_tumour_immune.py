"""de Pillis & Radunskaya tumour-immune model: against solve_ivp, its equilibria and invariants.

The references here are written from the equations in the docstring of
:mod:`pkgym.models.tumour_immune` (per day, with named parameters), not from its ``rhs``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import fsolve

from pkgym.models.tumour_immune import (
    SYMBOLS,
    DePillis2003,
    TumourImmuneParameters,
    advance_rows,
    simulate_days,
)
from pkgym.sim.integrate import SolverConfig, integrate_final

DEFAULT = SolverConfig(method="rk4", max_step_h=1.0)
ADAPTIVE = SolverConfig(method="dopri5", rtol=1e-10, atol=1e-12)
PUBLISHED = {"a1": 0.2, "a2": 0.3, "a3": 0.1, "b1": 1.0, "b2": 1.0, "c1": 1.0, "c2": 0.5,
             "c3": 1.0, "c4": 1.0, "d1": 0.2, "d2": 1.0, "r1": 1.5, "r2": 1.0, "s": 0.33,
             "alpha": 0.3, "rho": 0.01}
"""de Pillis & Radunskaya's parameter values, as DTRGym and ReiL use them."""
DE_PILLIS_START = (1.0, 0.25, 0.10, 0.0)
"""A start above the saddle (T ~ 0.25 with little immunity): untreated, the tumour wins."""


def equations_per_day(y: np.ndarray, v: float, p: dict[str, float]) -> np.ndarray:
    """dN, dT, dI, du per day for one patient, written from the published equations."""
    n, t, i, u = y
    kill = 1.0 - np.exp(-u)
    return np.array([
        p["r2"] * n * (1 - p["b2"] * n) - p["c4"] * t * n - p["a3"] * kill * n,
        p["r1"] * t * (1 - p["b1"] * t) - p["c2"] * i * t - p["c3"] * t * n - p["a2"] * kill * t,
        p["s"] + p["rho"] * i * t / (p["alpha"] + t) - p["c1"] * i * t - p["d1"] * i
        - p["a1"] * kill * i,
        v - p["d2"] * u])


def reference_course(y0: np.ndarray, doses: np.ndarray, p: dict[str, float]) -> np.ndarray:
    """Each morning's state under daily infusions, solve_ivp (DOP853, rtol 1e-10), days."""
    course, y = [np.asarray(y0, dtype=np.float64)], np.asarray(y0, dtype=np.float64)
    for v in doses:
        solution = solve_ivp(lambda _, z, v=v: equations_per_day(z, v, p), (0.0, 1.0), y,
                             method="DOP853", rtol=1e-10, atol=1e-13)
        assert solution.success
        y = solution.y[:, -1]
        course.append(y)
    return np.array(course)


def patient_dict(params: TumourImmuneParameters, i: int) -> dict[str, float]:
    """Patient i's parameters by symbol."""
    return dict(zip(SYMBOLS, params.table[i].tolist(), strict=True))


@pytest.fixture(scope="module")
def courses() -> dict[str, np.ndarray]:
    """Four patients (two typical, two with etas) on 40 days of mixed doses, and references."""
    rng = np.random.default_rng(5)
    etas = np.vstack([np.zeros((2, 3)), rng.normal(size=(2, 3)) * 0.3])
    params = DePillis2003().parameters(4, etas)
    doses = np.vstack([np.zeros(40), np.ones(40), rng.choice([0.0, 0.4, 1.0], (2, 40))])
    starts = np.array([DE_PILLIS_START, DE_PILLIS_START, (0.9, 0.2, 0.005, 0.0),
                       (0.8, 0.5, 0.3, 0.5)])
    reference = np.stack([reference_course(starts[i], doses[i], patient_dict(params, i))
                          for i in range(4)])
    return {"etas": etas, "doses": doses, "starts": starts, "reference": reference}


def test_parameters__match_the_published_table() -> None:
    """The typical patient's 16 values are the published ones, in SYMBOLS order."""
    table = DePillis2003().parameters(1).table[0]
    assert dict(zip(SYMBOLS, table.tolist(), strict=True)) == PUBLISHED


@pytest.mark.parametrize(("solver", "tolerance"), [(DEFAULT, 1e-7), (ADAPTIVE, 1e-8)])
def test_simulate_days__matches_solve_ivp_with_and_without_drug(
        courses: dict[str, np.ndarray], solver: SolverConfig, tolerance: float) -> None:
    """Hourly RK4 (default) and DOPRI5 stay within tolerance of solve_ivp over 40 days."""
    params = DePillis2003().parameters(4, courses["etas"])
    course = simulate_days(courses["starts"], courses["doses"], params, solver)
    np.testing.assert_allclose(course, courses["reference"], rtol=0, atol=tolerance)
    untreated, treated = courses["reference"][0, -1], courses["reference"][1, -1]
    assert treated[1] < 0.2 * untreated[1]  # the drug changes the course, not a no-op test


def test_advance_rows__compiled_rk4_equals_the_integrate_rk4_path(
        courses: dict[str, np.ndarray]) -> None:
    """The numba RK4 takes exactly pkgym.sim.integrate's RK4 steps (to rounding)."""
    from functools import partial

    from pkgym.models.tumour_immune import rhs

    params = DePillis2003().parameters(4, courses["etas"])
    for solver in (DEFAULT, SolverConfig(method="rk4", max_step_h=5.0)):
        states = courses["starts"].copy()
        rates = courses["doses"][:, 0]
        expected = integrate_final(partial(rhs, infusion_per_day=rates), states, 24.0, params,
                                   solver)
        advance_rows(np.arange(4), states, rates, params, solver)
        np.testing.assert_allclose(states, expected, rtol=1e-13, atol=1e-15)


def test_advance_rows__a_patient_is_the_same_alone_or_in_a_batch(
        courses: dict[str, np.ndarray]) -> None:
    """Rows advance independently: a batch equals each patient advanced alone, bit for bit."""
    params = DePillis2003().parameters(4, courses["etas"])
    batch = courses["starts"].copy()
    advance_rows(np.array([3, 1, 2]), batch, np.array([0.2, 0.7, 1.0]), params, DEFAULT)
    for row, rate in ((3, 0.2), (1, 0.7), (2, 1.0)):
        alone = courses["starts"].copy()
        advance_rows(np.array([row]), alone, np.array([rate]), params, DEFAULT)
        np.testing.assert_array_equal(batch[row], alone[row])
    np.testing.assert_array_equal(batch[0], courses["starts"][0])  # not in rows: untouched


def _equilibrium(guess: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """A drug-free equilibrium (N, T, I) by fsolve and the eigenvalues of its Jacobian."""
    def f(z: np.ndarray) -> np.ndarray:
        return equations_per_day(np.r_[z, 0.0], 0.0, PUBLISHED)[:3]

    point = fsolve(f, guess, xtol=1e-13)
    jacobian = np.column_stack([(f(point + e) - f(point - e)) / 2e-7
                                for e in np.eye(3) * 1e-7])
    return point, np.linalg.eigvals(jacobian)


def test_simulate_days__without_drug_approaches_the_stable_equilibria() -> None:
    """Untreated, a small tumour dies out (cure state) and a larger one settles high."""
    tumour_free, free_eigs = _equilibrium((1.0, 0.0, 1.6))
    high, high_eigs = _equilibrium((0.4, 0.6, 0.4))
    saddle, saddle_eigs = _equilibrium((0.75, 0.25, 0.75))
    np.testing.assert_allclose(tumour_free, [1.0, 0.0, 0.33 / 0.2], atol=1e-12)
    assert np.all(free_eigs.real < 0) and np.all(high_eigs.real < 0)
    assert 0.5 < high[1] < 0.6 and 0.2 < saddle[1] < 0.3 and np.any(saddle_eigs.real > 0)
    np.testing.assert_allclose(DePillis2003().tumour_free_equilibrium[:3], tumour_free,
                               atol=1e-12)
    starts = np.array([DE_PILLIS_START, (1.0, 0.05, 0.10, 0.0), (0.9, 0.2, 0.005, 0.0)])
    course = simulate_days(starts, np.zeros((3, 400)), DePillis2003().parameters(3), DEFAULT)
    np.testing.assert_allclose(course[0, -1, :3], high, atol=1e-6)
    np.testing.assert_allclose(course[1, -1, :3], tumour_free, atol=1e-6)
    np.testing.assert_allclose(course[2, -1, :3], high, atol=1e-6)


def test_advance_rows__drug_kills_tumour_normal_and_immune_cells_more_at_higher_doses() -> None:
    """One day at infusions 0, 0.5, 1, 2: every cell population falls as the dose rises."""
    params = DePillis2003().parameters(4)
    states = np.tile([0.9, 0.3, 0.4, 0.0], (4, 1))
    advance_rows(np.arange(4), states, np.array([0.0, 0.5, 1.0, 2.0]), params, DEFAULT)
    for column in range(3):
        assert np.all(np.diff(states[:, column]) < 0), column
    course = simulate_days(np.array([DE_PILLIS_START]), np.ones((1, 90)),
                           DePillis2003().parameters(1), DEFAULT)
    assert course[0, -1, 1] < 1e-3 and course[0, :, 0].min() < 0.75  # cured at a cost to N


def test_advance_rows__drug_level_follows_its_closed_form() -> None:
    """u(t) = u0 e^(-d2 t) + v / d2 (1 - e^(-d2 t)) for any dose and any patient's d2."""
    etas = np.zeros((3, 3))
    etas[:, 2] = [-0.4, 0.0, 0.5]
    params = DePillis2003().parameters(3, etas)
    states = np.array([[0.9, 0.3, 0.4, 0.0], [0.9, 0.3, 0.4, 1.5], [0.5, 0.1, 1.0, 0.2]])
    u0, rates, d2 = states[:, 3].copy(), np.array([1.0, 0.0, 0.6]), params.column("d2")
    advance_rows(np.arange(3), states, rates, params, DEFAULT)
    expected = u0 * np.exp(-d2) + rates / d2 * (1 - np.exp(-d2))
    np.testing.assert_allclose(states[:, 3], expected, rtol=1e-7)  # RK4 truncation ~3e-8


def test_simulate_days__stays_nonnegative_and_below_the_carrying_capacities() -> None:
    """Random patients, starts and doses: N, T, I, u >= 0; N <= 1/b2 and T <= 1/b1 persist."""
    rng = np.random.default_rng(11)
    n = 200
    model = DePillis2003()
    params = model.parameters(n, rng.normal(size=(n, 3)) * 3 * np.sqrt(
        np.diag(model.variability.omega)))
    starts = np.column_stack([rng.uniform(0, 1, (n, 2)), rng.uniform(0, 2, n),
                              rng.uniform(0, 3, n)])
    starts[:5, 1] = 0.0  # no tumour stays no tumour
    course = simulate_days(starts, rng.uniform(0, 1, (n, 30)) * (rng.random((n, 30)) < 0.5),
                           params, DEFAULT)
    assert np.all(np.isfinite(course)) and course.min() >= 0.0
    assert course[:, :, 0].max() <= 1.0 + 1e-12 and course[:, :, 1].max() <= 1.0 + 1e-12
    assert np.all(course[:5, :, 1] == 0.0)


def test_variability__log_normal_etas_on_a2_a3_d2_with_the_stated_cvs() -> None:
    """Omega is diagonal log(1 + CV^2); each eta scales exactly its own parameter."""
    model = DePillis2003(cv_a2=0.0, cv_d2=0.3)
    bsv = model.variability
    assert bsv.eta_columns == ("eta_a2", "eta_a3", "eta_d2")
    np.testing.assert_allclose(np.diag(bsv.omega), np.log1p(np.array([0.0, 0.2, 0.3]) ** 2))
    for k, name in enumerate(("a2", "a3", "d2")):
        etas = np.zeros((1, 3))
        etas[0, k] = 0.5
        changed = model.parameters(1, etas).table[0] != model.typical_table
        assert changed.tolist() == [symbol == name for symbol in SYMBOLS]


@pytest.mark.parametrize(("call", "match"), [
    (lambda: DePillis2003(r1_tumour_growth_per_day=-1.0), r"r1_tumour_growth_per_day must be"),
    (lambda: DePillis2003(s_immune_influx_per_day=float("nan")), r"s_immune_influx_per_day"),
    (lambda: DePillis2003(cv_a3=-0.1), r"cv_a3 must be a finite number >= 0"),
    (lambda: DePillis2003().parameters(2, np.zeros((2, 4))), r"etas must be .* \(2, 3\)"),
    (lambda: advance_rows(np.array([0]), np.zeros((1, 4)), [-1.0], DePillis2003().parameters(1),
                          DEFAULT), r"infusion_per_day must be finite and >= 0"),
    (lambda: simulate_days(np.zeros((2, 4)), np.zeros((1, 3)), DePillis2003().parameters(1),
                           DEFAULT), r"initial must have shape \(1, 4\)"),
    (lambda: simulate_days(-np.ones((1, 4)), np.zeros((1, 3)), DePillis2003().parameters(1),
                           DEFAULT), r"initial states must be finite and >= 0")])
def test_tumour_immune__bad_input_names_the_field(call, match: str) -> None:  # noqa: ANN001
    """Invalid parameters, etas, infusions and states raise ValueError naming what is wrong."""
    with pytest.raises(ValueError, match=match):
        call()
