"""Models that ``pkgym simulate`` knows by name, each with its population and variability."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pkgym.models.compartmental import PARAMETER_NAMES, CompartmentalModel
from pkgym.models.vancomycin import Goti2018, TwoCompartmentVancomycin
from pkgym.populations import BetweenSubjectVariability, Population
from pkgym.populations.adults import GENERAL_ADULTS, TYPICAL_ADULT
from pkgym.populations.vancomycin import ADULT_INPATIENTS
from pkgym.sim.modal import LinearPKParams
from pkgym.utils import SeedLike


@dataclass(frozen=True, slots=True, kw_only=True)
class CohortModel:
    """A model ready to simulate: covariates, random effects and the map to parameters.

    Attributes:
        name: the name used on the command line.
        population: samples covariates.
        variability: samples the ``eta_*`` random effects.
        typical_covariates: the typical patient's covariates (etas are 0).
        to_params: cohort table (covariates and etas) to per-patient parameters.
    """

    name: str
    population: Population
    variability: BetweenSubjectVariability
    typical_covariates: Mapping[str, float]
    to_params: Callable[[pd.DataFrame], LinearPKParams]

    def typical_cohort(self) -> pd.DataFrame:
        """One typical patient (``id`` 0, zero random effects)."""
        etas = {f"eta_{name}": 0.0 for name in self.variability.names}
        return pd.DataFrame([{"id": 0, **self.typical_covariates, **etas}])

    def sample_cohort(self, n: int, seed: SeedLike) -> pd.DataFrame:
        """``n`` virtual patients: covariates and random effects, reproducible from ``seed``."""
        covariates = self.population.sample(n, seed)
        etas = self.variability.sample_etas(seed, n)
        return pd.concat([covariates.reset_index(drop=True),
                          etas.drop(columns="id", errors="ignore").reset_index(drop=True)], axis=1)


def generic_model(kind: str, values: Mapping[str, float]) -> CohortModel:
    """A generic compartment model over general adults, weight-scaled allometrically.

    Examples:
        >>> model = generic_model("one-compartment", {"CL": 5.0, "V1": 50.0})
        >>> model.to_params(model.typical_cohort()).clearance_l_per_h.tolist()
        [5.0]
    """
    model = CompartmentalModel.from_named(kind, values)

    def to_params(cohort: pd.DataFrame) -> LinearPKParams:
        return model.linear_params(cohort["weight_kg"].to_numpy(np.float64),
                                   cohort["eta_CL"].to_numpy(), cohort["eta_V1"].to_numpy())

    return CohortModel(
        name=kind, population=GENERAL_ADULTS,
        variability=BetweenSubjectVariability(names=("CL", "V1"), omega=model.omega),
        typical_covariates=TYPICAL_ADULT, to_params=to_params,
    )


def vancomycin_model(model: TwoCompartmentVancomycin | None = None,
                     population: Population | None = None) -> CohortModel:
    """Vancomycin (default Goti 2018) over adult inpatients (creatinine constant).

    Examples:
        >>> cohort = vancomycin_model().typical_cohort()
        >>> vancomycin_model().to_params(cohort).central_volume_l.round(2).tolist()
        [65.91]
    """
    model = model or Goti2018()

    def to_params(cohort: pd.DataFrame) -> LinearPKParams:
        column = lambda name: cohort[name].to_numpy(np.float64)  # noqa: E731
        crcl = model.creatinine_clearance_ml_per_min(
            column("age_years"), column("weight_kg"), column("serum_creatinine_mg_per_dl"),
            column("is_female"))
        etas = np.stack([column(f"eta_{name}") for name in ("CL", "V1", "V2")], axis=1)
        return model.linear_params(weight_kg=column("weight_kg"), on_dialysis=column("on_dialysis"),
                                   creatinine_clearance_ml_per_min=crcl, etas=etas,
                                   age_years=column("age_years"),
                                   serum_creatinine_mg_per_dl=column("serum_creatinine_mg_per_dl"))

    return CohortModel(name="vancomycin", population=population or ADULT_INPATIENTS,
                       variability=model.variability, typical_covariates=TYPICAL_INPATIENT,
                       to_params=to_params)


TYPICAL_INPATIENT = {"is_female": 0, "age_years": 57.0, "height_cm": 175.0, "weight_kg": 79.0,
                     "on_dialysis": 0, "serum_creatinine_mg_per_dl": 0.9}
"""Goti 2018 Table 1 medians (age 57 y, weight 79 kg; creatinine from Tong et al. 2026)."""

MODEL_NAMES = (*PARAMETER_NAMES, "vancomycin")
"""Every model name ``cohort_model`` accepts."""


def cohort_model(name: str, values: Mapping[str, float]) -> CohortModel:
    """Look a model up by name; ``values`` are NONMEM-style parameters for generic models.

    Examples:
        >>> cohort_model("two-compartment", {"CL": 4.5, "V1": 30, "Q2": 7, "V2": 45}).name
        'two-compartment'
    """
    if name in PARAMETER_NAMES:
        return generic_model(name, values)
    if name == "vancomycin":
        if values:
            raise ValueError("vancomycin takes no --param; its parameters come from Goti 2018 "
                             "(change them in a scenario file with --scenario)")
        return vancomycin_model()
    raise ValueError(f"model must be one of {MODEL_NAMES}, got {name!r}")
