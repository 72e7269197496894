"""A general adult population, the default for generic compartment models.

Sex is 50/50; height and weight come jointly by sex from :class:`BodySize` (NHANES
2015-2018 means, Fryar et al. 2021); age is a normal of mean 47, SD 17 years truncated to
18-90 (median age of US adults ~ 38-48 in Census 2020 tables: an *assumed* spread, replace it
for a specific indication).
"""

from __future__ import annotations

from pkgym.populations.body_size import BodySize
from pkgym.populations.discrete import Bernoulli
from pkgym.populations.distributions import BoundedNormal
from pkgym.populations.population import Population

GENERAL_ADULTS = Population(covariates={
    "is_female": Bernoulli(p=0.5),
    "age_years": BoundedNormal(mean=47.0, sd=17.0, low=18.0, high=90.0),
    "body_size": BodySize(),
})
"""General adults: ``is_female``, ``age_years``, ``height_cm``, ``weight_kg``."""

TYPICAL_ADULT = {"is_female": 0, "age_years": 47.0, "height_cm": 175.0, "weight_kg": 70.0}
"""The typical patient of generic models (the 70-kg reference of allometric scaling)."""
