"""Shared fixtures for the population tests: an adult population and a correlated omega."""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.populations import (
    Bernoulli,
    BetweenSubjectVariability,
    BodySize,
    BoundedLogNormal,
    BoundedNormal,
    Categorical,
    Genotype,
    Population,
    bsa_mosteller_m2,
    cockcroft_gault_ml_per_min,
)


@pytest.fixture
def adult_population() -> Population:
    """Six covariates (one joint height/weight) and two derived ones."""
    return Population(
        covariates={
            "is_female": Bernoulli(p=0.5),
            "age_years": BoundedNormal(mean=55.0, sd=15.0, low=18.0, high=90.0),
            "body": BodySize(),
            "serum_creatinine_mg_per_dl": BoundedLogNormal(median=0.9, cv=0.25, low=0.4,
                                                           high=4.0),
            "cyp2c9": Genotype(allele_frequencies={"*1": 0.8, "*2": 0.12, "*3": 0.08}),
            "formulation": Categorical(probabilities={"tablet": 0.7, "solution": 0.3}),
        },
        derived={
            "crcl_ml_per_min": lambda df: cockcroft_gault_ml_per_min(
                df["age_years"], df["weight_kg"], df["serum_creatinine_mg_per_dl"],
                df["is_female"]),
            "bsa_m2": lambda df: bsa_mosteller_m2(df["height_cm"], df["weight_kg"]),
        },
    )


@pytest.fixture
def full_omega() -> np.ndarray:
    """A 3x3 omega with every correlation non-zero (0.5, -0.3, 0.2)."""
    sds = np.array([0.3, 0.2, 0.5])
    correlation = np.array([[1.0, 0.5, -0.3], [0.5, 1.0, 0.2], [-0.3, 0.2, 1.0]])
    return correlation * np.outer(sds, sds)


@pytest.fixture
def correlated_bsv(full_omega: np.ndarray) -> BetweenSubjectVariability:
    """BSV on clearance, volume and absorption rate with the full omega."""
    return BetweenSubjectVariability(names=("cl", "v", "ka"), omega=full_omega)
