"""The IWPC 2009 warfarin dose formulas: a published regression model of the stable dose.

International Warfarin Pharmacogenetics Consortium. Estimation of the warfarin dose with
clinical and pharmacogenetic data. N Engl J Med 2009;360:753-764, Supplementary Appendix
(coefficients as quoted by ReiL ``iwpc.py`` and M. Yao's ``WarfarinDosingOracle``, which
agree); the EU-PACT modification (Pirmohamed et al., N Engl J Med 2013;369:2294). The square
root of the weekly dose is linear in the covariates. Pure, batched (leading axis = patient):
the clinical baselines (:mod:`agents.policies.warfarin.iwpc`) dose with them and
``pkgym validate`` compares them with the Hamberg model on real patients.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

from pkgym.populations.warfarin import CYP2C9_DIPLOTYPES, VKORC1_GENOTYPES

UNKNOWN = "unknown"
"""Genotype label for an untested patient (the IWPC pharmacogenetic formula's own terms)."""
PGX_INTERCEPT, PGX_AGE, PGX_HEIGHT, PGX_WEIGHT = 5.6044, -0.2614, 0.0087, 0.0128
PGX_VKORC1 = {"G/G": 0.0, "G/A": -0.8677, "A/A": -1.6974, UNKNOWN: -0.4854}
PGX_CYP2C9 = {"*1/*1": 0.0, "*1/*2": -0.5211, "*1/*3": -0.9357, "*2/*2": -1.0616,
              "*2/*3": -1.9206, "*3/*3": -2.3312, UNKNOWN: -0.2188}
PGX_RACE = {"white": 0.0, "asian": -0.1092, "black": -0.2760, "other": -0.1032}
PGX_INDUCER, PGX_AMIODARONE = 1.1816, -0.5503
CLIN_INTERCEPT, CLIN_AGE, CLIN_HEIGHT, CLIN_WEIGHT = 4.0376, -0.2546, 0.0118, 0.0134
CLIN_RACE = {"white": 0.0, "asian": -0.6752, "black": 0.4060, "other": 0.0443}
CLIN_INDUCER, CLIN_AMIODARONE = 1.2799, -0.5695
"""IWPC 2009 Appendix: sqrt(weekly dose, mg) is linear in these terms; white is the reference
race and ``other`` is IWPC's "missing or mixed race"; enzyme inducer = carbamazepine,
phenytoin, rifampin/rifampicin."""


def lookup_coefficients(name: str, table: Mapping[str, float],
                        labels: ArrayLike) -> np.ndarray:
    """The coefficient of each label in ``table``; ValueError naming ``name`` for others."""
    labels = np.asarray(labels).astype(str)
    known = np.isin(labels, list(table))
    if not np.all(known):
        raise ValueError(f"{name} must be one of {sorted(table)}, got {labels[~known][:3]}")
    return np.select([labels == label for label in table], list(table.values()), 0.0)


def iwpc_age_decades(age_years: ArrayLike) -> np.ndarray:
    """IWPC's age category: floor(age / 10) (10-19 y -> 1, ..., 90+ y -> 9).

    Examples:
        >>> iwpc_age_decades([19.9, 65.0, 97.0]).tolist()
        [1.0, 6.0, 9.0]
    """
    return np.minimum(np.floor(np.asarray(age_years, dtype=np.float64) / 10.0), 9.0)


def iwpc_pharmacogenetic_weekly_dose_mg(
        age_years: ArrayLike, height_cm: ArrayLike, weight_kg: ArrayLike, race: ArrayLike,
        cyp2c9: ArrayLike, vkorc1: ArrayLike, amiodarone: ArrayLike,
        enzyme_inducer: ArrayLike) -> np.ndarray:
    """IWPC pharmacogenetic weekly dose, mg/week (NEJM 2009;360:753, Appendix).

    sqrt(dose) = 5.6044 - 0.2614 age decades + 0.0087 height + 0.0128 weight - 0.8677 VKORC1
    G/A - 1.6974 A/A - 0.4854 VKORC1 unknown - 0.5211 CYP2C9 *1/*2 - 0.9357 *1/*3 - 1.0616
    *2/*2 - 1.9206 *2/*3 - 2.3312 *3/*3 - 0.2188 CYP2C9 unknown - 0.1092 Asian - 0.2760 Black
    - 0.1032 other + 1.1816 enzyme inducer - 0.5503 amiodarone; the dose is its square.

    Args:
        age_years: age, years (IWPC's decade category floor(age / 10), at most 9, is used).
        height_cm: height, cm.
        weight_kg: weight, kg.
        race: labels of ``RACES`` ("white", "asian", "black", "other").
        cyp2c9: labels of ``CYP2C9_DIPLOTYPES`` or "unknown".
        vkorc1: labels of ``VKORC1_GENOTYPES`` or "unknown".
        amiodarone: 1 (or True) for patients on amiodarone.
        enzyme_inducer: 1 for patients on carbamazepine, phenytoin or rifampicin.

    Examples:
        >>> dose = iwpc_pharmacogenetic_weekly_dose_mg(65, 175, 80, "white", "*1/*1", "G/A",
        ...                                            0, 0)
        >>> round(float(dose), 4)  # (5.6044 - 0.2614*6 + 0.0087*175 + 0.0128*80 - 0.8677)**2
        32.6589
    """
    root = (PGX_INTERCEPT + PGX_AGE * iwpc_age_decades(age_years)
            + PGX_HEIGHT * np.asarray(height_cm, dtype=np.float64)
            + PGX_WEIGHT * np.asarray(weight_kg, dtype=np.float64)
            + lookup_coefficients("vkorc1", PGX_VKORC1, vkorc1)
            + lookup_coefficients("cyp2c9", PGX_CYP2C9, cyp2c9)
            + lookup_coefficients("race", PGX_RACE, race)
            + PGX_INDUCER * np.asarray(enzyme_inducer, dtype=np.float64)
            + PGX_AMIODARONE * np.asarray(amiodarone, dtype=np.float64))
    return root**2


def iwpc_clinical_weekly_dose_mg(
        age_years: ArrayLike, height_cm: ArrayLike, weight_kg: ArrayLike, race: ArrayLike,
        amiodarone: ArrayLike, enzyme_inducer: ArrayLike) -> np.ndarray:
    """IWPC clinical weekly dose, mg/week (NEJM 2009;360:753, Appendix).

    sqrt(dose) = 4.0376 - 0.2546 age decades + 0.0118 height + 0.0134 weight - 0.6752 Asian
    + 0.4060 Black + 0.0443 other + 1.2799 enzyme inducer - 0.5695 amiodarone.

    Args:
        age_years: age, years (decade category floor(age / 10), at most 9).
        height_cm: height, cm.
        weight_kg: weight, kg.
        race: labels of ``RACES``.
        amiodarone: 1 for patients on amiodarone.
        enzyme_inducer: 1 for patients on carbamazepine, phenytoin or rifampicin.

    Examples:
        >>> dose = iwpc_clinical_weekly_dose_mg(65, 175, 80, "white", 0, 0)
        >>> round(float(dose), 4)  # (4.0376 - 0.2546*6 + 0.0118*175 + 0.0134*80)**2
        31.8886
    """
    root = (CLIN_INTERCEPT + CLIN_AGE * iwpc_age_decades(age_years)
            + CLIN_HEIGHT * np.asarray(height_cm, dtype=np.float64)
            + CLIN_WEIGHT * np.asarray(weight_kg, dtype=np.float64)
            + lookup_coefficients("race", CLIN_RACE, race)
            + CLIN_INDUCER * np.asarray(enzyme_inducer, dtype=np.float64)
            + CLIN_AMIODARONE * np.asarray(amiodarone, dtype=np.float64))
    return root**2


def iwpc_modified_weekly_dose_mg(
        age_years: ArrayLike, height_cm: ArrayLike, weight_kg: ArrayLike, cyp2c9: ArrayLike,
        vkorc1: ArrayLike, amiodarone: ArrayLike) -> np.ndarray:
    """EU-PACT's modified IWPC weekly dose, mg/week: continuous age, no race/inducer terms.

    The pharmacogenetic coefficients with age in years x 0.02614 and without the race,
    enzyme-inducer and unknown-genotype terms (EU-PACT, as coded in ReiL ``iwpc.py``).

    Args:
        age_years: age, years (continuous).
        height_cm: height, cm.
        weight_kg: weight, kg.
        cyp2c9: labels of ``CYP2C9_DIPLOTYPES``.
        vkorc1: labels of ``VKORC1_GENOTYPES``.
        amiodarone: 1 for patients on amiodarone.

    Examples:
        >>> dose = iwpc_modified_weekly_dose_mg(65, 175, 80, "*1/*1", "G/A", 0)
        >>> round(float(dose), 4)  # (5.6044 - 0.2614*6.5 + 0.0087*175 + 0.0128*80 - 0.8677)**2
        31.1822
    """
    known = {label: PGX_CYP2C9[label] for label in CYP2C9_DIPLOTYPES}
    root = (PGX_INTERCEPT + PGX_AGE * np.asarray(age_years, dtype=np.float64) / 10.0
            + PGX_HEIGHT * np.asarray(height_cm, dtype=np.float64)
            + PGX_WEIGHT * np.asarray(weight_kg, dtype=np.float64)
            + lookup_coefficients("vkorc1", {g: PGX_VKORC1[g] for g in VKORC1_GENOTYPES}, vkorc1)
            + lookup_coefficients("cyp2c9", known, cyp2c9)
            + PGX_AMIODARONE * np.asarray(amiodarone, dtype=np.float64))
    return root**2
