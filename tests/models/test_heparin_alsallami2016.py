"""Al-Sallami 2016 heparin PK/PD: exact solution vs solve_ivp, published and adult values."""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from pkgym.models.heparin_alsallami2016 import (
    AlSallami2016,
    advance_amount_iu,
    aptt_s,
    fat_free_mass_kg,
    half_life_h,
    individual_parameters,
    rhs,
)

TYPICAL = (np.array([80.0]), np.array([176.0]), np.array([0.0]))
"""An 80-kg, 176-cm man."""


def _typical(model: AlSallami2016 | None = None) -> np.ndarray:
    return individual_parameters(model or AlSallami2016(), *TYPICAL, np.zeros((1, 3)))[0]


def test_advance_amount__matches_solve_ivp_for_a_bolus_then_changing_rates() -> None:
    """Bolus, 1-h hold and three rates on 3 patients: exact within 1e-8 of solve_ivp(1e-10)."""
    cl, v = np.array([2.4, 1.1, 4.0]), np.array([3.0, 2.2, 5.5])
    segments = [(1.0, np.zeros(3)), (5.0, np.array([1440.0, 800.0, 2500.0])),
                (6.0, np.array([1600.0, 0.0, 3000.0])), (6.0, np.array([1200.0, 400.0, 0.0]))]
    amount = np.array([6400.0, 3000.0, 0.0])
    reference = amount.copy()
    for dt, rate in segments:
        amount = advance_amount_iu(amount, cl, v, rate, dt)
        solution = solve_ivp(rhs, (0.0, dt), reference, args=(cl, v, rate), rtol=1e-10,
                             atol=1e-10, method="DOP853")
        reference = solution.y[:, -1]
        np.testing.assert_allclose(amount, reference, rtol=1e-8, atol=1e-6)


def test_steady_state__is_rate_over_clearance_and_non_negative() -> None:
    """A long infusion reaches R / CL; amounts never go negative; no dose stays at zero."""
    cl, v = np.array([2.0]), np.array([3.0])
    far = advance_amount_iu(np.array([0.0]), cl, v, np.array([1000.0]), 200.0)
    assert np.isclose(far[0] / v[0], 1000.0 / 2.0)
    assert advance_amount_iu(np.zeros(1), cl, v, np.zeros(1), 5.0)[0] == 0.0
    decays = advance_amount_iu(np.array([5000.0]), cl, v, np.zeros(1), np.linspace(0, 48, 97))
    assert np.all(decays >= 0) and np.all(np.diff(decays) < 0)


def test_published_reference__table2_values_at_the_reference_child() -> None:
    """At FFM 15 kg and WT 20 kg (the paper's references) CL 0.603 L/h and V 0.751 L."""
    model = AlSallami2016()
    params = individual_parameters(model, np.array([20.0]), np.array([115.0]), np.array([0.0]),
                                   np.zeros((1, 3)))
    ffm = fat_free_mass_kg(np.array([20.0]), np.array([115.0]), np.array([0.0]))[0]
    assert np.isclose(params[0, 0], 0.603 * ffm / 15.0) and np.isclose(params[0, 1], 0.751)
    omega = model.variability.omega
    assert np.allclose(np.diag(omega), np.log1p(np.array([0.5, 0.4, 0.64]) ** 2))
    assert np.isclose(omega[0, 1] / np.sqrt(omega[0, 0] * omega[1, 1]), 0.75)


def test_fat_free_mass__janmahasatian_by_hand() -> None:
    """Janmahasatian 2005: 80 kg, 1.76 m man 60.5 kg; 65 kg, 1.62 m woman 40.6 kg."""
    ffm = fat_free_mass_kg(np.array([80.0, 65.0]), np.array([176.0, 162.0]), np.array([0, 1]))
    bmi_w = 65.0 / 1.62**2
    assert np.isclose(ffm[1], 9270 * 65.0 / (8780 + 244 * bmi_w))
    assert np.round(ffm, 1).tolist() == [60.5, 40.6]


def test_typical_adult__half_life_as_hirsh_1976_and_volume_near_plasma() -> None:
    """Adult typical t1/2 51 min, inside Hirsh 1976's 63 +/- 15 min (VTE); V 37.5 mL/kg."""
    cl, v, _ = _typical()
    t_half_min = 60.0 * float(half_life_h(cl, v))
    assert 63.0 - 15.0 <= t_half_min <= 63.0 + 15.0
    assert round(t_half_min) == 51 and np.isclose(v / 80.0 * 1000.0, 37.55)


def test_typical_adult__raschke_maintenance_gives_therapeutic_levels_and_aptt() -> None:
    """18 U/kg/h: steady state 0.59 IU/mL (anti-Xa range 0.3-0.7) and aPTT 89 s (60-100)."""
    cl, v, slope = _typical()
    css_iu_per_l = 18.0 * 80.0 / cl
    assert 300.0 <= css_iu_per_l <= 700.0 and round(css_iu_per_l) == 592
    aptt = float(aptt_s(css_iu_per_l * v, v, 30.0, slope))
    assert 60.0 <= aptt <= 100.0 and round(aptt) == 89
    # the published paediatric slope would put the same adult at ~430 s (Al-Sallami's caveat)
    assert float(aptt_s(css_iu_per_l * v, v, 30.0, 0.67)) > 400.0


def test_model__bad_parameters_raise_naming_the_field() -> None:
    """A non-positive clearance or a CV above 2 is refused with the field's name."""
    for kwargs, name in (({"clearance_l_per_h_per_15kg_ffm": 0.0}, "clearance"),
                         ({"cv_slope": 3.0}, "cv_slope"),
                         ({"correlation_clearance_volume": 1.5}, "correlation")):
        try:
            AlSallami2016(**kwargs)
        except ValueError as error:
            assert name in str(error)
        else:
            raise AssertionError(f"{kwargs} was accepted")
