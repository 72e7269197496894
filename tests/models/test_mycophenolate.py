"""de Winter 2009 MPA model: the compiled interval against scipy, EHC, covariates, bad input.

The reference right-hand sides are written here from the paper's equations (Table 2 values
typed in again), not imported from the model, so a slip in the kernel cannot hide in both.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from pkgym.models.mycophenolate import (
    PARAM_NAMES,
    DeWinter2009,
    measure,
    simulate_interval,
    simulate_regimen,
    steady_profile,
)

TAU = 12.0
DOSE_UMOL = 1000.0 / 433.5 * 1000.0  # 1 g MMF
# Table 2 of de Winter 2009 (typical Tac patient, ALB 0.5 mmol/L, CrCL 50 mL/min).
K24, K42, K56, K65 = 0.153, 169.0, 0.0133, 93.1
TLAG, KA, VC, CL, VP, Q, BMAX = 0.231, 4.0, 189.0, 747.0, 34300.0, 2010.0, 35100.0
VM, CLM, TGB, DGB, K72 = 8.56, 4.75 * (50.0 / 45.0) ** 1.36, 7.9, 1.0, 10.0


def _covariates(albumin: float = 33.25, ciclosporin: float = 0.0,
                crcl: float = 50.0) -> dict[str, np.ndarray]:
    return {"albumin_g_per_l": np.array([albumin]), "ciclosporin": np.array([ciclosporin]),
            "creatinine_clearance_ml_per_min": np.array([crcl])}


def _full_rhs(_t: float, y: np.ndarray, k57: float, emptying: float) -> np.ndarray:
    """Full 7-state model: depot, fMPA, peripheral, bMPA, fMPAG, bMPAG, GB (umol)."""
    depot, c, p, b1, m, b2, gb = y
    sites = BMAX - b1 - b2
    bind1, bind2 = K24 * c / VC * sites - K42 * b1, K56 * m / VM * sites - K65 * b2
    empty = emptying * K72 * gb
    return np.array([-KA * depot,
                     KA * depot - CL / VC * c - Q / VC * c + Q / VP * p - bind1 + empty,
                     Q / VC * c - Q / VP * p, bind1,
                     CL / VC * c - CLM / VM * m - bind2 - 0.0796 * k57 * m, bind2,
                     0.0796 * k57 * m - empty])


def _reduced_rhs(_t: float, y: np.ndarray, k57: float, emptying: float) -> np.ndarray:
    """Rapid-equilibrium binding: the free sites solve a cubic (numpy roots)."""
    depot, total, p, total_g, gb, _ = y
    kd1, kd2 = K42 / K24, K65 / K56
    sites = BMAX
    for _ in range(30):
        cf, cmf = total / (VC + sites / kd1), total_g / (VM + sites / kd2)
        sites = BMAX / (1 + cf / kd1 + cmf / kd2)
    cf, cmf = total / (VC + sites / kd1), total_g / (VM + sites / kd2)
    empty = emptying * K72 * gb
    return np.array([-KA * depot, KA * depot - CL * cf - Q * (cf - p / VP) + empty,
                     Q * (cf - p / VP), CL * cf - CLM * cmf - 0.0796 * k57 * VM * cmf,
                     0.0796 * k57 * VM * cmf - empty, cf * (1 + sites / kd1) * 0.3203])


def _scipy_course(rhs, y0: np.ndarray, n_doses: int, grid: np.ndarray, k57: float,  # noqa: ANN001
                  total) -> np.ndarray:  # noqa: ANN001
    """Total MPA (mg/L) at ``grid`` (within the last interval) after ``n_doses`` doses."""
    y, out = y0.copy(), []
    for dose in range(n_doses):
        last = dose == n_doses - 1
        if last and y.size in (6, 8):
            y[-1] = 0.0  # the AUC of the last interval only
        edges = sorted({0.0, TLAG, TGB, TGB + DGB, TAU, *(grid if last else ())})
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            if a == TLAG:
                y[0] += DOSE_UMOL
            sol = solve_ivp(rhs, (a, b), y, method="Radau", rtol=1e-10, atol=1e-10,
                            args=(k57, 1.0 if TGB <= a < TGB + DGB else 0.0))
            y = sol.y[:, -1].copy()
            if last and b in grid:
                out.append(total(y))
    return np.array(out)


def _full_total(y: np.ndarray) -> float:
    return (y[1] / VC + y[3]) * 0.3203


def _with_auc(t: float, y: np.ndarray, k57: float, emptying: float) -> np.ndarray:
    return np.append(_full_rhs(t, y[:7], k57, emptying), _full_total(y[:7]))


def test_quasi_steady_binding__error_against_the_full_seven_state_ode_is_bounded() -> None:
    """Two doses of 1 g to the typical Tac patient: QSS vs the full ODE (Radau, rtol 1e-10).

    Measured (second interval): AUC0-12 differs by 6e-5 relative (first: 1e-4);
    concentrations from 0.5 h on by at most 2.1 % (0.75 h, near the peak) and 2.1 % at
    8.2 h (gallbladder peak), < 0.01 % in the post-absorption phase. The binding is not
    1000x faster than the rest: free MPA binds at k24*BMAX/Vc = 28 /h and unbinds at
    169 /h, vs (CL + Q)/Vc = 14.6 /h, so right after the lag (0.25 h) QSS overshoots by
    29 % of the value (10 % of the peak) for a few minutes.
    """
    grid = np.array([0.5, 0.75, 1.0, 2.0, 4.0, 8.2, 8.5, 12.0])
    states = _scipy_course(_with_auc, np.zeros(8), 2, grid, 1.0, lambda y: y.copy())
    full, full_auc = np.array([_full_total(y) for y in states]), states[-1][7]
    p = DeWinter2009().typical_params(_covariates())
    _, conc, aucs = simulate_regimen(p, np.full((1, 2), 1000.0), TAU, grid + TAU)
    error = np.max(np.abs(conc[0] - full) / full)
    assert 0.01 < error < 0.025, error
    assert aucs[0, 1] == pytest.approx(full_auc, rel=2e-4)


def test_compiled_interval__matches_solve_ivp_of_the_reduced_ode_to_1e_6() -> None:
    """Three doses, profile and AUC of the third: kernel vs Radau (rtol 1e-10) within 1e-6."""
    grid = np.array([0.1, 0.231, 0.6, 1.0, 3.0, 7.9, 8.3, 8.9, 10.0, 12.0])
    for csa, k57 in ((0.0, 1.0), (1.0, 0.002)):
        states = _scipy_course(_reduced_rhs, np.zeros(6), 3, grid, k57, lambda y: y.copy())
        p = DeWinter2009().typical_params(_covariates(ciclosporin=csa))
        conc, auc = steady_profile(p, np.array([1000.0]), grid, n_doses=3)
        totals = np.array([_reduced_rhs(0, y, k57, 0.0)[5] for y in states])
        np.testing.assert_allclose(conc[0], totals, rtol=1e-6)
        assert auc[0] == pytest.approx(states[-1][5], rel=1e-6)


def test_secondary_peak__with_tacrolimus_only_inside_the_gallbladder_window() -> None:
    """At steady state a clear local maximum of total MPA in [TGB, TGB + DGB + 1] with Tac.

    Measured: Tac peak at 8.0 h, 2.9x the concentration just before TGB; with ciclosporin
    the bump is 0.3 % (k57 * 0.002), i.e. no visible secondary peak.
    """
    times = np.linspace(0.0, 12.0, 481)
    window = (times >= TGB) & (times <= TGB + DGB + 1.0)
    before = np.searchsorted(times, TGB) - 1
    for csa in (0.0, 1.0):
        p = DeWinter2009().typical_params(_covariates(ciclosporin=csa))
        c = steady_profile(p, np.array([1000.0]), times)[0][0]
        i = np.flatnonzero(window)[np.argmax(c[window])]
        bump = c[i] / c[before]
        if csa == 0.0:
            assert c[i - 1] < c[i] > c[i + 1] and bump > 2.0, (times[i], bump)
            assert TGB <= times[i] <= TGB + DGB
        else:
            assert bump < 1.005, bump


def test_auc_at_1_g_bid__typical_tac_patient_is_near_the_papers_31_1() -> None:
    """1 g bid, 14 doses, ALB 0.5 mmol/L, CrCL 50: ours 33.8 vs the paper's 31.1 mg*h/L.

    Not calibrated: the 9 % excess is reported as is (nlmixr2lib's own vignette is ~1.2x).
    With ciclosporin: ours 30.6 vs the paper's 30.1.
    """
    tac = steady_profile(DeWinter2009().typical_params(_covariates()), np.array([1000.0]),
                         np.array([0.0]))[1][0]
    csa = steady_profile(DeWinter2009().typical_params(_covariates(ciclosporin=1.0)),
                         np.array([1000.0]), np.array([0.0]))[1][0]
    assert tac == pytest.approx(33.8, abs=0.1)
    assert csa == pytest.approx(30.6, abs=0.1)
    assert 31.1 < tac < 1.2 * 31.1


def test_covariates__lower_albumin_lowers_total_auc_and_ciclosporin_lowers_it_too() -> None:
    """ALB 0.6 -> 0.4 mmol/L cuts total AUC (paper: -41 %); CsA < Tac at the same dose."""
    model = DeWinter2009()
    cov = {"albumin_g_per_l": np.array([0.6, 0.4, 0.5, 0.5]) * 66.5,
           "ciclosporin": np.array([1.0, 1.0, 0.0, 1.0]),
           "creatinine_clearance_ml_per_min": np.full(4, 50.0)}
    _, auc = steady_profile(model.typical_params(cov), np.full(4, 1000.0), np.array([0.0]))
    assert auc[1] < 0.75 * auc[0]
    assert auc[3] < auc[2]


def test_simulate_interval__is_batched_and_row_independent_and_lag_past_the_interval() -> None:
    """A patient's result does not depend on its neighbours; a lag > interval doses at its end."""
    p = DeWinter2009().individual_params(
        {"albumin_g_per_l": np.full(3, 35.0), "ciclosporin": np.array([0.0, 1.0, 0.0]),
         "creatinine_clearance_ml_per_min": np.array([20.0, 60.0, 90.0])},
        np.random.default_rng(1).normal(0.0, 0.8, (3, 7)))
    p[2, PARAM_NAMES.index("tlag_h")] = 30.0
    state = np.zeros((3, 5))
    times = np.array([[1.0, 5.0], [12.0, 0.0], [6.0, 2.0]])
    new, conc, auc = simulate_interval(state, p, np.full(3, 750.0), 12.0, times)
    one = simulate_interval(state[1:2], p[1:2], np.array([750.0]), 12.0, times[1:2])
    np.testing.assert_array_equal(new[1], one[0][0])
    np.testing.assert_array_equal(conc[1], one[1][0])
    assert new[2, 0] == pytest.approx(750.0 / 433.5 * 1000.0) and auc[2] == 0.0
    assert conc[1, 1] == 0.0 and np.all(state == 0.0)


def test_simulate_speed__a_thousand_patients_one_interval() -> None:
    """Compiled speed (informational bound): 1000 patient-intervals in well under a second."""
    rng = np.random.default_rng(2)
    model = DeWinter2009()
    cov = {"albumin_g_per_l": rng.uniform(25, 45, 1000), "ciclosporin": np.zeros(1000),
           "creatinine_clearance_ml_per_min": rng.uniform(15, 90, 1000)}
    p = model.individual_params(cov, rng.multivariate_normal(np.zeros(7), model.omega, 1000))
    args = (np.zeros((1000, 5)), p, np.full(1000, 1000.0), 12.0, np.tile([0.0, 0.5, 2.0],
                                                                         (1000, 1)))
    simulate_interval(*args)
    start = time.perf_counter()
    simulate_interval(*args)
    assert time.perf_counter() - start < 2.0


def test_bad_input__is_refused_with_the_field_named() -> None:
    """Wrong shapes, negative doses, times past the interval, bad flags and values."""
    model = DeWinter2009()
    p = model.typical_params(_covariates())
    with pytest.raises(ValueError, match="dose"):
        simulate_interval(np.zeros((1, 5)), p, np.array([-1.0]), 12.0, np.zeros((1, 0)))
    with pytest.raises(ValueError, match="sample_times_h"):
        simulate_interval(np.zeros((1, 5)), p, np.array([1.0]), 12.0, np.array([[13.0]]))
    with pytest.raises(ValueError, match="state"):
        simulate_interval(np.zeros((1, 4)), p, np.array([1.0]), 12.0, np.zeros((1, 0)))
    with pytest.raises(ValueError, match="params"):
        simulate_interval(np.zeros((1, 5)), p[:, :3], np.array([1.0]), 12.0, np.zeros((1, 0)))
    with pytest.raises(ValueError, match="interval_h"):
        steady_profile(p, np.array([1.0]), np.array([0.0]), interval_h=0.0)
    with pytest.raises(ValueError, match="ciclosporin"):
        model.typical_params(_covariates(ciclosporin=0.5))
    with pytest.raises(ValueError, match="albumin_g_per_l"):
        model.typical_params(_covariates(albumin=0.0))
    with pytest.raises(ValueError, match="etas"):
        model.individual_params(_covariates(), np.zeros((1, 6)))
    with pytest.raises(ValueError, match="vc_l"):
        DeWinter2009(vc_l=-1.0)


def test_omega_and_assay__follow_table_2_and_the_hplc_error() -> None:
    """Omegas are log(1 + CV^2) on the diagonal; the assay censors below 0.25 mg/L."""
    omega = DeWinter2009().omega
    np.testing.assert_allclose(np.diag(omega)[[2, 6]], np.log1p(np.array([0.97, 0.71]) ** 2))
    assert np.count_nonzero(omega - np.diag(np.diag(omega))) == 0
    m = measure(np.array([0.2, 4.0]), np.random.default_rng(0))
    assert m.censored.tolist() == [True, False] and np.isnan(m.values[0])
