"""Hovorka 2004 model: compiled RK4 against LSODA, steady state, population, input checks.

The reference right-hand side is written here again from the paper's equations, with the
Table 1 values typed in, and integrated minute by minute by LSODA at rtol = atol = 1e-10.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.integrate import solve_ivp

from pkgym.models.glucose_hovorka import (
    PARAM_NAMES,
    HovorkaPatients,
    advance,
    basal_insulin_u_per_min,
    hovorka_population,
    steady_state,
)

BW, VG, VI = 70.0, 0.16 * 70.0, 0.12 * 70.0
EGP0, F01, K12, KE = 0.0161 * 70.0, 0.0097 * 70.0, 0.066, 0.138
KA = (0.006, 0.06, 0.03)
SI = (51.2e-4, 8.2e-4, 520e-4)
TMAXI, TMAXG, AG = 55.0, 40.0, 0.8


def _reference_rhs(x: np.ndarray, u_mu_per_min: float, d_mmol_per_min: float) -> np.ndarray:
    d1, d2, s1, s2, ins, x1, x2, x3, q1, q2 = x
    g = q1 / VG
    f01c = F01 if g >= 4.5 else F01 * g / 4.5
    fr = 0.003 * (g - 9.0) * VG if g >= 9.0 else 0.0
    return np.array([
        AG * d_mmol_per_min - d1 / TMAXG, d1 / TMAXG - d2 / TMAXG,
        u_mu_per_min - s1 / TMAXI, s1 / TMAXI - s2 / TMAXI,
        s2 / TMAXI / VI - KE * ins,
        -KA[0] * x1 + KA[0] * SI[0] * ins, -KA[1] * x2 + KA[1] * SI[1] * ins,
        -KA[2] * x3 + KA[2] * SI[2] * ins,
        -(f01c / (VG * g) + x1) * q1 + K12 * q2 - fr + d2 / TMAXG + EGP0 * (1 - x3),
        x1 * q1 - (K12 + x2) * q2])


def test_advance__typical_meal_and_bolus_match_lsoda_over_8_h():
    """75 g meal over 15 min + 4 U bolus on basal: RK4 (4 substeps) within 1e-6 of LSODA."""
    p = HovorkaPatients.typical()
    basal = basal_insulin_u_per_min(p, 7.0)
    x0 = steady_state(p, basal)
    insulin = np.full((1, 480), basal[0])
    insulin[0, 10] += 4.0
    carbs = np.zeros((1, 480))
    carbs[0, :15] = 5.0
    x, g = advance(x0, p, insulin, carbs, 480, substeps=4)
    y, ref = x0[0].copy(), np.empty(480)
    for m in range(480):
        u, d = insulin[0, m] * 1e3, carbs[0, m] * 1e3 / 180.16
        y = solve_ivp(lambda _t, z, u=u, d=d: _reference_rhs(z, u, d), (0.0, 1.0), y,
                      method="LSODA", rtol=1e-10, atol=1e-10).y[:, -1]
        ref[m] = y[8] / VG
    assert ref.max() > 12.0 and ref.min() < 4.5  # crosses the F01c kink
    np.testing.assert_allclose(g[0], ref, rtol=1e-6)
    np.testing.assert_allclose(x[0], y, rtol=1e-6, atol=1e-9)


def test_steady_state__holds_under_basal_for_a_day():
    """Sampled patients at their steady state under the 7 mmol/L basal stay there for 24 h."""
    drawn = hovorka_population(60, seed=2)
    feasible = drawn.column("egp0_mmol_per_kg_min") > drawn.column("f01_mmol_per_kg_min")
    p = HovorkaPatients(parameters=drawn.parameters[feasible])
    basal = basal_insulin_u_per_min(p, 7.0)
    x0 = steady_state(p, basal)
    np.testing.assert_allclose(x0[:, 8] / (p.column("vg_l_per_kg") * p.column("body_weight_kg")),
                               7.0, rtol=1e-10)
    x, g = advance(x0, p, basal, 0.0, 1440)
    np.testing.assert_allclose(g[:, -1], 7.0, rtol=1e-9)
    np.testing.assert_allclose(x, x0, rtol=1e-8, atol=1e-12)


def test_population__batch_invariant_positive_and_centred():
    """Patient k is the same in batches of 5 and 2000; draws are > 0 near the listed means."""
    small, large = hovorka_population(5, seed=7), hovorka_population(2000, seed=7)
    np.testing.assert_array_equal(small.parameters, large.parameters[:5])
    assert np.all(large.parameters > 0)
    means = dict(zip(PARAM_NAMES, large.parameters.mean(axis=0), strict=True))
    assert means["egp0_mmol_per_kg_min"] == pytest.approx(0.0161, rel=0.03)
    assert means["sie_per_mu_per_l"] == pytest.approx(0.055, rel=0.06)  # truncation lifts it
    assert np.median(large.column("tmax_g_min")) == pytest.approx(40.0, rel=0.03)
    assert np.median(large.column("vg_l_per_kg")) == pytest.approx(0.16, rel=0.03)
    # truncated normal: the mean of N(0.0055, 0.0056) above 0
    truncated = stats.truncnorm(-0.0055 / 0.0056, np.inf, loc=0.0055, scale=0.0056)
    assert means["ka1_per_min"] == pytest.approx(float(truncated.mean()), rel=0.05)


def test_advance__batch_equals_one_by_one():
    """Patients are independent in the compiled batch."""
    p = hovorka_population(4, seed=3)
    basal = basal_insulin_u_per_min(p, 8.0)
    x0 = steady_state(p, basal)
    x, g = advance(x0, p, basal + 0.05, 3.0, 90)
    for k in range(4):
        one = HovorkaPatients(parameters=p.parameters[k:k + 1])
        xk, gk = advance(x0[k:k + 1], one, basal[k] + 0.05, 3.0, 90)
        np.testing.assert_array_equal(xk[0], x[k])
        np.testing.assert_array_equal(gk[0], g[k])


def test_advance__refuses_bad_input():
    """Negative insulin or carbs, bad shapes and bad parameters raise named ValueErrors."""
    p = HovorkaPatients.typical()
    x0 = steady_state(p, basal_insulin_u_per_min(p, 7.0))
    with pytest.raises(ValueError, match="insulin_u_per_min"):
        advance(x0, p, -1.0, 0.0, 5)
    with pytest.raises(ValueError, match="carbs_g_per_min"):
        advance(x0, p, 0.01, -2.0, 5)
    with pytest.raises(ValueError, match="minutes"):
        advance(x0, p, 0.01, 0.0, 2.5)
    with pytest.raises(ValueError, match="parameters"):
        HovorkaPatients(parameters=np.zeros((1, len(PARAM_NAMES))))
    with pytest.raises(ValueError, match="glucose_mmol_per_l"):
        basal_insulin_u_per_min(p, 40.0)
