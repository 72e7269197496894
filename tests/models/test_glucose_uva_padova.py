"""UVA/Padova T1D model (simglucose 0.2.11 equations): steady state, solve_ivp, batching, input.

The reference right-hand side (``glucose_uva_reference.py``) is written separately from the
compiled kernel and integrated minute by minute by LSODA at rtol = atol = 1e-10.
"""

from __future__ import annotations

import numpy as np
import pytest
from glucose_uva_reference import reference_run, uva_rhs

from pkgym.models.glucose_uva_padova import (
    PARAM_NAMES,
    advance,
    derivatives,
    initial_meal_memory,
    meal_intake,
    uva_padova_patients,
)


def _meal_and_bolus(patients, minutes: int, meal_g: float = 50.0):
    announced = np.zeros((patients.n_patients, minutes))
    announced[:, 0] = meal_g
    carbs, _ = meal_intake(announced, np.zeros(patients.n_patients))
    insulin = np.repeat(patients.basal_insulin_u_per_min[:, None], minutes, axis=1)
    insulin[:, 0] += meal_g / patients.carb_ratio_g_per_u
    return insulin, carbs


def test_patients__thirty_shipped_with_quest_values():
    """30 patients in three groups; adult#001 values as in simglucose's CSVs."""
    every = uva_padova_patients()
    assert every.n_patients == 30
    adult = uva_padova_patients("adult#001")
    assert adult.column("BW")[0] == pytest.approx(102.32)
    assert adult.carb_ratio_g_per_u[0] == pytest.approx(10.0)
    assert adult.basal_glucose_mg_per_dl[0] == pytest.approx(138.56, abs=0.01)
    assert uva_padova_patients(["child#003", "adult#010"]).names == ("child#003", "adult#010")
    with pytest.raises(ValueError, match="selection"):
        uva_padova_patients("adult#011")


def test_derivatives__zero_at_x0_with_basal_insulin():
    """Every patient's x0 is a steady state under u2ss * BW / 6000 U/min, fasting."""
    p = uva_padova_patients()
    d = derivatives(p.initial_states, p, p.basal_insulin_u_per_min, 0.0, 0.0)
    scale = np.maximum(np.abs(p.initial_states), 1.0)
    assert np.all(np.abs(d) / scale < 1e-9)


def test_derivatives__match_independent_rhs_mid_meal():
    """The compiled right-hand side equals the reference one at a perturbed, mid-meal state."""
    p = uva_padova_patients("adolescent#004")
    q = dict(zip(PARAM_NAMES, p.parameters[0], strict=True))
    x = p.initial_states[0] * 1.3 + np.r_[20000.0, 15000.0, 8000.0, np.zeros(10)]
    got = derivatives(x[None], p, 0.2, 5.0, 40000.0)[0]
    np.testing.assert_allclose(got, uva_rhs(x, q, 0.2, 5.0, 40000.0), rtol=1e-12, atol=1e-12)


def test_advance__fasting_with_basal_stays_at_basal_glucose():
    """24 h of basal insulin without food keeps every patient at its basal glucose."""
    p = uva_padova_patients()
    x, _, g = advance(p.initial_states, p, p.basal_insulin_u_per_min, 0.0, 1440,
                      initial_meal_memory(p.initial_states))
    np.testing.assert_allclose(g[:, -1], p.basal_glucose_mg_per_dl, rtol=1e-8)


def test_advance__meal_and_bolus_match_lsoda_over_8_h():
    """A 50 g meal with its bolus: RK4 at 2 substeps/min within 1e-6 of LSODA (1e-10)."""
    p = uva_padova_patients("adult#001")
    q = dict(zip(PARAM_NAMES, p.parameters[0], strict=True))
    insulin, carbs = _meal_and_bolus(p, 480)
    ref = reference_run(p.initial_states[0], q, insulin[0], carbs[0])
    x, memory, g = advance(p.initial_states, p, insulin, carbs, 480,
                           initial_meal_memory(p.initial_states))
    g_ref = ref[:, 3] / q["Vg"]
    assert g_ref.max() > 180.0  # the meal does raise glucose
    np.testing.assert_allclose(g[0], g_ref, rtol=1e-6)
    np.testing.assert_allclose(x[0], ref[-1], rtol=1e-6, atol=1e-6)
    assert memory[0].tolist() == [0.0, 50.0, 0.0]


def test_advance__batch_equals_one_by_one_and_chunks():
    """Patients are independent; 8 h in one call equals 96 calls of 5 minutes."""
    p = uva_padova_patients(["child#002", "adult#005", "adolescent#009"])
    insulin, carbs = _meal_and_bolus(p, 480, meal_g=70.0)
    memory0 = initial_meal_memory(p.initial_states)
    x, m, g = advance(p.initial_states, p, insulin, carbs, 480, memory0)
    for k in range(3):
        one = p.take([k])
        xk, mk, gk = advance(one.initial_states, one, insulin[k:k + 1], carbs[k:k + 1], 480,
                             memory0[k:k + 1])
        np.testing.assert_array_equal(xk[0], x[k])
        np.testing.assert_array_equal(gk[0], g[k])
    xs, ms = p.initial_states, memory0
    for start in range(0, 480, 5):
        xs, ms, _ = advance(xs, p, insulin[:, start:start + 5], carbs[:, start:start + 5], 5, ms)
    np.testing.assert_array_equal(xs, x)
    np.testing.assert_array_equal(ms, m)


def test_advance__refuses_negative_or_misshaped_input():
    """Negative insulin or carbs, bad shapes and bad minutes raise ValueError naming them."""
    p = uva_padova_patients("adult#001")
    x0, m0 = p.initial_states, initial_meal_memory(p.initial_states)
    with pytest.raises(ValueError, match="insulin_u_per_min"):
        advance(x0, p, -0.01, 0.0, 5, m0)
    with pytest.raises(ValueError, match="carbs_g_per_min"):
        advance(x0, p, 0.01, [-1.0], 5, m0)
    with pytest.raises(ValueError, match="carbs_g_per_min"):
        advance(x0, p, 0.01, np.zeros((1, 4)), 5, m0)
    with pytest.raises(ValueError, match="minutes"):
        advance(x0, p, 0.01, 0.0, 0, m0)
    with pytest.raises(ValueError, match="states"):
        advance(x0[:, :5], p, 0.01, 0.0, 5, m0)
    with pytest.raises(ValueError, match="announced_g"):
        meal_intake([[-1.0]], [0.0])


def test_meal_intake__eats_at_5_g_per_min_across_calls():
    """Announced grams are eaten at 5 g/min, the remainder carried to the next call."""
    carbs, pending = meal_intake([[12.0, 0.0]], [0.0])
    assert carbs.tolist() == [[5.0, 5.0]] and pending.tolist() == [2.0]
    carbs, pending = meal_intake([[3.0, 0.0]], pending)
    assert carbs.tolist() == [[5.0, 0.0]] and pending.tolist() == [0.0]
