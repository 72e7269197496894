"""Virtual patients: covariate distributions, between-subject variability and residual error.

* :mod:`~pkgym.populations.streams`: per-patient random streams (patient k is the same in a
  cohort of 10 or 10 000; independent ``covariates``, ``bsv``, ``residual``, ``events``).
* :mod:`~pkgym.populations.distributions`, :mod:`~pkgym.populations.discrete` and
  :mod:`~pkgym.populations.body_size`: covariate specs (bounded normal/log-normal, uniform;
  categorical, Bernoulli, Hardy-Weinberg genotypes; height and weight jointly by sex).
* :mod:`~pkgym.populations.derived`: Cockcroft-Gault, BSA, ideal and lean body weight.
* :mod:`~pkgym.populations.variability`: log-normal etas with a full omega matrix.
* :mod:`~pkgym.populations.residual`: additive/proportional/combined assay error, LLOQ.
* :mod:`~pkgym.populations.population`: ``Population.sample`` -> cohort DataFrame, and
  ``load_cohort`` / ``validate_cohort`` for user cohorts (:mod:`~pkgym.populations.cohort`).

Examples:
    >>> import numpy as np
    >>> population = Population(covariates={
    ...     "is_female": Bernoulli(p=0.5),
    ...     "age_years": BoundedNormal(mean=55.0, sd=15.0, low=18.0, high=90.0),
    ...     "body": BodySize(),
    ...     "serum_creatinine_mg_per_dl": BoundedLogNormal(median=0.9, cv=0.25, low=0.4, high=4),
    ... }, derived={"crcl_ml_per_min": lambda df: cockcroft_gault_ml_per_min(
    ...     df["age_years"], df["weight_kg"], df["serum_creatinine_mg_per_dl"], df["is_female"])})
    >>> cohort = population.sample(100, seed=2024)
    >>> cohort.columns.tolist()[:4]
    ['id', 'is_female', 'age_years', 'height_cm']
    >>> bsv = BetweenSubjectVariability(names=("cl", "v"),
    ...                                 omega=omega_from_cv([0.3, 0.2], [[1, 0.5], [0.5, 1]]))
    >>> params = bsv.individual_parameters({"cl": 4.0, "v": 50.0}, bsv.sample_etas(2024, 100))
    >>> params["cl"].shape
    (100,)
"""

from __future__ import annotations

from pkgym.populations.body_size import US_ADULT_MEN, US_ADULT_WOMEN, BodySize, SexAnthropometry
from pkgym.populations.cohort import (
    CohortProblem,
    CohortSchema,
    CohortValidationError,
    ColumnRule,
    load_cohort,
    validate_cohort,
)
from pkgym.populations.derived import (
    body_mass_index_kg_per_m2,
    bsa_dubois_m2,
    bsa_mosteller_m2,
    cockcroft_gault_ml_per_min,
    ideal_body_weight_kg,
    lean_body_weight_kg,
)
from pkgym.populations.discrete import Bernoulli, Categorical, Genotype
from pkgym.populations.distributions import (
    BoundedLogNormal,
    BoundedNormal,
    CovariateSpec,
    ScalarCovariateSpec,
    Uniform,
    truncated_normal_ppf,
)
from pkgym.populations.population import Population
from pkgym.populations.residual import Measurements, ResidualError
from pkgym.populations.streams import (
    STREAM_IDS,
    patient_generators,
    patient_normals,
    patient_seed_sequences,
    patient_uniforms,
    root_seed_sequence,
)
from pkgym.populations.variability import (
    BetweenSubjectVariability,
    omega_from_cv,
    omega_from_variances,
)

__all__ = [
    "STREAM_IDS",
    "US_ADULT_MEN",
    "US_ADULT_WOMEN",
    "Bernoulli",
    "BetweenSubjectVariability",
    "BodySize",
    "BoundedLogNormal",
    "BoundedNormal",
    "Categorical",
    "CohortProblem",
    "CohortSchema",
    "CohortValidationError",
    "ColumnRule",
    "CovariateSpec",
    "Genotype",
    "Measurements",
    "Population",
    "ResidualError",
    "ScalarCovariateSpec",
    "SexAnthropometry",
    "Uniform",
    "body_mass_index_kg_per_m2",
    "bsa_dubois_m2",
    "bsa_mosteller_m2",
    "cockcroft_gault_ml_per_min",
    "ideal_body_weight_kg",
    "lean_body_weight_kg",
    "load_cohort",
    "omega_from_cv",
    "omega_from_variances",
    "patient_generators",
    "patient_normals",
    "patient_seed_sequences",
    "patient_uniforms",
    "root_seed_sequence",
    "truncated_normal_ppf",
    "validate_cohort",
]
