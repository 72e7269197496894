"""Derived covariates against hand-computed values, broadcasting and input validation."""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.populations import (
    body_mass_index_kg_per_m2,
    bsa_dubois_m2,
    bsa_mosteller_m2,
    cockcroft_gault_ml_per_min,
    ideal_body_weight_kg,
    lean_body_weight_kg,
)


def test_cockcroft_gault__hand_computed_man_and_woman() -> None:
    """60 y, 70 kg, SCr 1.0: (140-60)*70/72 = 77.78 mL/min for a man, x0.85 for a woman."""
    man = (140 - 60) * 70 / (72 * 1.0)
    assert float(cockcroft_gault_ml_per_min(60, 70, 1.0, 0)) == pytest.approx(77.7778, abs=1e-4)
    assert float(cockcroft_gault_ml_per_min(60, 70, 1.0, False)) == pytest.approx(man)
    assert float(cockcroft_gault_ml_per_min(60, 70, 1.0, True)) == pytest.approx(0.85 * man)
    assert float(cockcroft_gault_ml_per_min(30, 50, 0.5, 1)) == pytest.approx(
        (140 - 30) * 50 / (72 * 0.5) * 0.85)


def test_bsa__mosteller_and_dubois_hand_computed() -> None:
    """Mosteller sqrt(h*w/3600) and DuBois 0.007184*w^0.425*h^0.725 for two patients."""
    height, weight = np.array([180.0, 160.0]), np.array([80.0, 55.0])
    np.testing.assert_allclose(bsa_mosteller_m2(height, weight),
                               [2.0, np.sqrt(160 * 55 / 3600)], rtol=1e-12)
    np.testing.assert_allclose(bsa_dubois_m2(height, weight),
                               0.007184 * weight**0.425 * height**0.725, rtol=1e-12)
    assert float(bsa_dubois_m2(180.0, 80.0)) == pytest.approx(1.9964, abs=1e-4)


def test_ideal_body_weight__devine_per_inch_and_per_cm_forms_agree() -> None:
    """Devine: 50 / 45.5 kg + 2.3 kg per inch over 5 ft = + 0.9055 kg per cm over 152.4 cm."""
    assert float(ideal_body_weight_kg(180.0, 0)) == pytest.approx(50 + 2.3 * (180 / 2.54 - 60))
    assert float(ideal_body_weight_kg(180.0, 0)) == pytest.approx(
        50 + 0.9055 * (180 - 152.4), abs=0.01)
    assert float(ideal_body_weight_kg(152.4, 1)) == pytest.approx(45.5)
    assert float(ideal_body_weight_kg(165.0, 1)) == pytest.approx(56.91, abs=0.005)


def test_lean_body_weight__janmahasatian_hand_computed() -> None:
    """Men 9270*W/(6680+216*BMI), women 9270*W/(8780+244*BMI); 180 cm, 81 kg -> BMI 25."""
    assert float(body_mass_index_kg_per_m2(180.0, 81.0)) == pytest.approx(25.0)
    assert float(lean_body_weight_kg(180.0, 81.0, 0)) == pytest.approx(
        9270 * 81 / (6680 + 216 * 25))
    assert float(lean_body_weight_kg(180.0, 81.0, 1)) == pytest.approx(
        9270 * 81 / (8780 + 244 * 25))


def test_derived__broadcast_scalars_against_arrays() -> None:
    """A scalar covariate broadcasts against per-patient arrays."""
    result = cockcroft_gault_ml_per_min(np.array([40.0, 80.0]), 70.0, 1.0, np.array([0, 1]))
    np.testing.assert_allclose(result, [100 * 70 / 72, 60 * 70 / 72 * 0.85])


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: cockcroft_gault_ml_per_min(-1.0, 70.0, 1.0, 0), "age_years"),
        (lambda: cockcroft_gault_ml_per_min(150.0, 70.0, 1.0, 0), "age_years"),
        (lambda: cockcroft_gault_ml_per_min(60.0, np.nan, 1.0, 0), "weight_kg"),
        (lambda: cockcroft_gault_ml_per_min(60.0, 70.0, 0.0, 0), "serum_creatinine_mg_per_dl"),
        (lambda: cockcroft_gault_ml_per_min(60.0, 70.0, 1.0, 2), "is_female"),
        (lambda: cockcroft_gault_ml_per_min(60.0, 70.0, 1.0, "F"), "is_female"),
        (lambda: cockcroft_gault_ml_per_min([60.0, 70.0], [70.0, 80.0, 90.0], 1.0, 0),
         "age_years"),
        (lambda: bsa_mosteller_m2(-180.0, 80.0), "height_cm"),
        (lambda: bsa_mosteller_m2(180.0, [80.0, np.inf]), "weight_kg"),
        (lambda: bsa_dubois_m2([180.0, 170.0], [80.0, 70.0, 60.0]), "height_cm"),
        (lambda: ideal_body_weight_kg(0.0, 0), "height_cm"),
        (lambda: ideal_body_weight_kg(170.0, np.nan), "is_female"),
        (lambda: lean_body_weight_kg(170.0, -70.0, 0), "weight_kg"),
        (lambda: body_mass_index_kg_per_m2(np.nan, 70.0), "height_cm"),
    ],
)
def test_derived__bad_input_raises_naming_argument(call: object, name: str) -> None:
    """Negative, NaN, out-of-range, non-0/1 and mismatched-shape inputs raise ValueError."""
    with pytest.raises(ValueError, match=name):
        call()
