"""Derived covariates: creatinine clearance, body surface area, ideal and lean body weight.

Vectorised numpy functions of covariates in pkgym's canonical units (years, kg, cm, mg/dL).
Inputs broadcast against each other; every input is validated and a bad one raises
``ValueError`` naming the argument. ``is_female`` is 0/1 (or bool).

References:
    Cockcroft DW, Gault MH. Prediction of creatinine clearance from serum creatinine.
    Nephron 1976;16:31-41.
    Mosteller RD. Simplified calculation of body-surface area. N Engl J Med 1987;317:1098.
    Du Bois D, Du Bois EF. A formula to estimate the approximate surface area if height and
    weight be known. Arch Intern Med 1916;17:863-71.
    Devine BJ. Gentamicin therapy. Drug Intell Clin Pharm 1974;8:650-5.
    Janmahasatian S, Duffull SB, Ash S, Ward LC, Byrne NM, Green B. Quantification of lean
    bodyweight. Clin Pharmacokinet 2005;44:1051-65.
"""

from __future__ import annotations

import numpy as np

from pkgym.sim.elementwise import elementwise, where
from pkgym.utils import check_finite, check_positive

CM_PER_INCH = 2.54
DEVINE_KG_PER_INCH = 2.3
"""Devine (1974): 2.3 kg per inch of height over 5 ft (60 in = 152.4 cm)."""


def _broadcast(**arrays: np.ndarray) -> list[np.ndarray]:
    """Broadcast validated arrays, raising ``ValueError`` naming them if shapes mismatch."""
    try:
        return list(np.broadcast_arrays(*arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{name}{np.shape(a)}" for name, a in arrays.items())
        raise ValueError(f"arguments have mismatched shapes: {shapes}") from None


def _check_is_female(values: np.ndarray | float | bool) -> np.ndarray:
    """Return ``is_female`` as a bool array, raising ``ValueError`` unless every value is 0/1."""
    array = np.asarray(values)
    if array.dtype == bool:
        return array
    if array.dtype.kind not in "iuf" or not np.all(np.isin(array, (0, 1))):
        raise ValueError(f"is_female must be 0/1 or bool, got {array.ravel()[:5]}")
    return array.astype(bool)


def body_mass_index_kg_per_m2(height_cm: np.ndarray | float, weight_kg: np.ndarray | float
                              ) -> np.ndarray:
    """Return BMI = weight / height**2 in kg/m^2.

    Args:
        height_cm: height, cm, > 0.
        weight_kg: total body weight, kg, > 0.

    Examples:
        >>> round(float(body_mass_index_kg_per_m2(180.0, 81.0)), 2)
        25.0
    """
    height, weight = _broadcast(height_cm=check_positive("height_cm", height_cm),
                                weight_kg=check_positive("weight_kg", weight_kg))
    return weight / (height / 100.0) ** 2


def cockcroft_gault_ml_per_min(
    age_years: np.ndarray | float,
    weight_kg: np.ndarray | float,
    serum_creatinine_mg_per_dl: np.ndarray | float,
    is_female: np.ndarray | float | bool,
) -> np.ndarray:
    """Return creatinine clearance by Cockcroft-Gault, mL/min.

    ``CrCl = (140 - age) * weight / (72 * SCr)``, times 0.85 for women. The weight is the
    one you pass (total, ideal or adjusted: the choice is the caller's).

    Args:
        age_years: age, years, in [0, 140).
        weight_kg: body weight, kg, > 0.
        serum_creatinine_mg_per_dl: serum creatinine, mg/dL, > 0.
        is_female: 1 (or True) for women, 0 for men.

    Examples:
        >>> round(float(cockcroft_gault_ml_per_min(60.0, 70.0, 1.0, 0)), 2)
        77.78
        >>> round(float(cockcroft_gault_ml_per_min(60.0, 70.0, 1.0, 1)), 2)
        66.11
    """
    age = check_finite("age_years", age_years)
    if np.any((age < 0) | (age >= 140)):
        raise ValueError(f"age_years must be in [0, 140) for Cockcroft-Gault, got "
                         f"{age.ravel()[:5]}")
    age, weight, creatinine, female = _broadcast(
        age_years=age,
        weight_kg=check_positive("weight_kg", weight_kg),
        serum_creatinine_mg_per_dl=check_positive("serum_creatinine_mg_per_dl",
                                                  serum_creatinine_mg_per_dl),
        is_female=_check_is_female(is_female),
    )
    return cockcroft_gault_unchecked(age, weight, creatinine, female)


@elementwise
def cockcroft_gault_unchecked(age_years: np.ndarray, weight_kg: np.ndarray,
                              serum_creatinine_mg_per_dl: np.ndarray,
                              is_female: np.ndarray) -> np.ndarray:
    """Cockcroft-Gault without input checks, for hot loops whose inputs were validated once.

    Elementwise (:mod:`pkgym.sim.elementwise`): compiled kernels call it on floats.

    Examples:
        >>> round(float(cockcroft_gault_unchecked(60.0, 70.0, 1.0, 0)), 2)
        77.78
    """
    clearance = (140.0 - age_years) * weight_kg / (72.0 * serum_creatinine_mg_per_dl)
    return where(is_female, 0.85 * clearance, clearance)


def bsa_mosteller_m2(height_cm: np.ndarray | float, weight_kg: np.ndarray | float) -> np.ndarray:
    """Return body surface area by Mosteller (1987), ``sqrt(height_cm * weight_kg / 3600)``, m^2.

    Args:
        height_cm: height, cm, > 0.
        weight_kg: body weight, kg, > 0.

    Examples:
        >>> round(float(bsa_mosteller_m2(180.0, 80.0)), 4)
        2.0
    """
    height, weight = _broadcast(height_cm=check_positive("height_cm", height_cm),
                                weight_kg=check_positive("weight_kg", weight_kg))
    return np.sqrt(height * weight / 3600.0)


def bsa_dubois_m2(height_cm: np.ndarray | float, weight_kg: np.ndarray | float) -> np.ndarray:
    """Return body surface area by Du Bois (1916), ``0.007184 * W**0.425 * H**0.725``, m^2.

    Args:
        height_cm: height, cm, > 0.
        weight_kg: body weight, kg, > 0.

    Examples:
        >>> round(float(bsa_dubois_m2(180.0, 80.0)), 4)
        1.9964
    """
    height, weight = _broadcast(height_cm=check_positive("height_cm", height_cm),
                                weight_kg=check_positive("weight_kg", weight_kg))
    return 0.007184 * weight**0.425 * height**0.725


def ideal_body_weight_kg(height_cm: np.ndarray | float, is_female: np.ndarray | float | bool
                         ) -> np.ndarray:
    """Return ideal body weight by Devine (1974), kg.

    ``IBW = 50 kg (men) or 45.5 kg (women) + 2.3 kg per inch over 5 ft``, i.e.
    ``+ (2.3 / 2.54) * (height_cm - 152.4)``. Not floored: below 5 ft it extrapolates the
    same line downwards.

    Args:
        height_cm: height, cm, > 0.
        is_female: 1 (or True) for women, 0 for men.

    Examples:
        >>> round(float(ideal_body_weight_kg(180.0, 0)), 2)
        74.99
        >>> round(float(ideal_body_weight_kg(165.0, 1)), 2)
        56.91
    """
    height, female = _broadcast(height_cm=check_positive("height_cm", height_cm),
                                is_female=_check_is_female(is_female))
    base = np.where(female, 45.5, 50.0)
    return base + DEVINE_KG_PER_INCH * (height / CM_PER_INCH - 60.0)


def lean_body_weight_kg(
    height_cm: np.ndarray | float,
    weight_kg: np.ndarray | float,
    is_female: np.ndarray | float | bool,
) -> np.ndarray:
    """Return lean body weight by Janmahasatian et al. (2005), kg.

    Men: ``9270 * W / (6680 + 216 * BMI)``; women: ``9270 * W / (8780 + 244 * BMI)``, with
    ``BMI = W / (H / 100)**2`` in kg/m^2.

    Args:
        height_cm: height, cm, > 0.
        weight_kg: total body weight, kg, > 0.
        is_female: 1 (or True) for women, 0 for men.

    Examples:
        >>> round(float(lean_body_weight_kg(180.0, 81.0, 0)), 2)
        62.16
    """
    height, weight, female = _broadcast(
        height_cm=check_positive("height_cm", height_cm),
        weight_kg=check_positive("weight_kg", weight_kg),
        is_female=_check_is_female(is_female),
    )
    bmi = weight / (height / 100.0) ** 2
    return np.where(female, 9270.0 * weight / (8780.0 + 244.0 * bmi),
                    9270.0 * weight / (6680.0 + 216.0 * bmi))
