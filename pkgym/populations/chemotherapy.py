"""Adults receiving docetaxel: covariates of the PK, myelosuppression and tumour models.

The covariates of Bruno 1996 (PK), Kloft 2006 (neutrophils) and Claret 2009 (tumour).

Sex 50/50 and height/weight jointly by sex (NHANES means, :class:`BodySize`); age normal
mean 60, SD 10 y, truncated to 18-90 (an *assumed* oncology-trial age spread); BSA by
Mosteller. alpha1-acid glycoprotein log-normal, median 1.34 g/L (Kloft's reference value),
CV 30%, 0.5-3.5 g/L (*assumed* spread; Bruno's subgroup above 2.27 g/L falls in it); hepatic
impairment (transaminases >= 1.5 x ULN with alkaline phosphatase >= 2.5 x ULN, the label's
definition) in 5% (*assumed*). Baseline tumour size (sum of longest diameters) log-normal,
median 70 mm, CV 50%, 10-300 mm (*assumed*; typical of solid-tumour trials).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pkgym.populations.body_size import BodySize
from pkgym.populations.cohort import CohortSchema, ColumnRule
from pkgym.populations.derived import bsa_mosteller_m2
from pkgym.populations.discrete import Bernoulli
from pkgym.populations.distributions import BoundedLogNormal, BoundedNormal
from pkgym.populations.population import Population


def bsa_from_columns_m2(columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """Mosteller BSA (m2) of the drawn ``height_cm`` and ``weight_kg`` columns.

    A module-level function, not a lambda, so the population (and every env holding it)
    pickles.

    Examples:
        >>> round(float(bsa_from_columns_m2({"height_cm": np.array([180.0]),
        ...                                  "weight_kg": np.array([80.0])})[0]), 3)
        2.0
    """
    return bsa_mosteller_m2(columns["height_cm"], columns["weight_kg"])


DOCETAXEL_PATIENTS = Population(
    covariates={
        "is_female": Bernoulli(p=0.5),
        "age_years": BoundedNormal(mean=60.0, sd=10.0, low=18.0, high=90.0),
        "body_size": BodySize(),
        "aag_g_per_l": BoundedLogNormal(median=1.34, cv=0.3, low=0.5, high=3.5),
        "hepatic_impairment": Bernoulli(p=0.05),
        "baseline_sld_mm": BoundedLogNormal(median=70.0, cv=0.5, low=10.0, high=300.0),
    },
    derived={"bsa_m2": bsa_from_columns_m2},
)
"""The default population of ``pkgym/Chemotherapy-v0``."""

CHEMOTHERAPY_COHORT_SCHEMA = CohortSchema(columns={
    "is_female": ColumnRule(low=0, high=1, unit="0/1", integer=True),
    "age_years": ColumnRule(low=18.0, high=100.0, unit="years"),
    "height_cm": ColumnRule(low=120.0, high=230.0, unit="cm"),
    "weight_kg": ColumnRule(low=30.0, high=250.0, unit="kg"),
    "aag_g_per_l": ColumnRule(low=0.1, high=5.0, unit="g/L"),
    "hepatic_impairment": ColumnRule(low=0, high=1, unit="0/1", integer=True),
    "baseline_sld_mm": ColumnRule(low=1.0, high=500.0, unit="mm"),
})
"""Columns a user's docetaxel cohort CSV must have (BSA is computed by Mosteller).

The Mosteller BSA of a row's height and weight must also lie in the PK model's range, 0.5-3.5
m2 (``pkgym.models.docetaxel.COVARIATE_RANGES``; the corner 230 cm, 250 kg gives 4.0 m2): the
env checks it per patient when the patient is pinned, naming that patient only."""
