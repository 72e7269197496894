"""Daily warfarin courses and INR of a typical patient or a sampled cohort (``pkgym simulate``).

Every patient takes the same racemic oral dose each morning for ``n_days`` days under a
Hamberg model (2010 by default, see :mod:`pkgym.models.warfarin`); the true INR and
S-warfarin concentration are read each morning before the dose. The result is one long
table, one row per patient per morning (day 0 .. n_days):

=========================  =====  ==============================================
column                     unit   meaning
=========================  =====  ==============================================
``id``                     -      patient
``day``                    d      morning (0 = before the first dose)
``time_h``                 h      ``24 * day``
``dose_mg``                mg     racemic dose taken that morning (0 on the last)
``s_warfarin_mg_per_l``    mg/L   S-warfarin concentration before that dose
``inr``                    -      true INR (no assay error) before that dose
=========================  =====  ==============================================

Only the covariates of the Hamberg models can be fixed: ``age_years`` (years), ``cyp2c9``
(one of ``CYP2C9_DIPLOTYPES``) and ``vkorc1`` (one of ``VKORC1_GENOTYPES``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pkgym.models.warfarin import Hamberg2010, HambergModel
from pkgym.models.warfarin_kernel import simulate_inr
from pkgym.populations.population import Population
from pkgym.populations.warfarin import (
    CYP2C9_DIPLOTYPES,
    US_ANTICOAGULATION_CLINIC,
    VKORC1_GENOTYPES,
    WARFARIN_POPULATIONS,
    genotype_codes,
)
from pkgym.units import HOURS_PER_DAY
from pkgym.utils import SeedLike

if TYPE_CHECKING:
    from matplotlib.figure import Figure

GENOTYPES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"cyp2c9": CYP2C9_DIPLOTYPES, "vkorc1": VKORC1_GENOTYPES})
"""The genotype covariates and their allowed labels."""
WARFARIN_COVARIATES = ("age_years", "cyp2c9", "vkorc1")
"""The covariates of the Hamberg models, the only ones ``--covariate`` may fix."""
TYPICAL_WARFARIN_PATIENT: Mapping[str, float | str] = MappingProxyType(
    {"age_years": 60.0, "cyp2c9": "*1/*1", "vkorc1": "G/G"})
"""The typical patient: 60 years old, wild type (reference genotypes of both genes)."""
TABLE_COLUMNS = ("id", "day", "time_h", "dose_mg", "s_warfarin_mg_per_l", "inr")
"""Columns of :func:`simulate_warfarin`'s table, in order."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DailyRegimen:
    """The same racemic warfarin dose every morning for every patient.

    Attributes:
        dose_mg: racemic dose each morning, mg (>= 0; 0 gives the untreated course).
        n_days: days of dosing (1..3650); the table has ``n_days + 1`` mornings.
    """

    dose_mg: float = 5.0
    n_days: int = 30

    def __post_init__(self) -> None:
        """Validate both fields, naming the option that sets them."""
        if not (np.isfinite(self.dose_mg) and 0 <= self.dose_mg <= 100):
            raise ValueError(f"dose_mg (--dose) must be in [0, 100] mg, got {self.dose_mg}")
        if not 1 <= self.n_days <= 3650:
            raise ValueError(f"n_days (--n-doses) must be in 1..3650, got {self.n_days}")


def parse_warfarin_covariates(items: Sequence[str] | None) -> dict[str, float | str]:
    """Parse repeated ``NAME=VALUE`` options into checked warfarin covariates.

    Args:
        items: strings such as ``"cyp2c9=*1/*3"``, ``"vkorc1=A/A"`` or ``"age_years=72"``.

    Raises:
        ValueError: naming an unknown covariate, a bad genotype label or a non-numeric age,
            and listing the allowed names or labels.

    Examples:
        >>> parse_warfarin_covariates(["cyp2c9=*1/*3", "age_years=72"])
        {'cyp2c9': '*1/*3', 'age_years': 72.0}
        >>> parse_warfarin_covariates(["vkorc1=A/G"])
        Traceback (most recent call last):
        ...
        ValueError: vkorc1: unknown label(s) ['A/G']; allowed: ['G/G', 'G/A', 'A/A']
    """
    parsed: dict[str, float | str] = {}
    for item in items or []:
        name, sep, value = (part.strip() for part in item.partition("="))
        if not sep or not name:
            raise ValueError(f"--covariate expects NAME=VALUE, got {item!r}")
        parsed[name] = _checked(name, value)
    return parsed


def _checked(name: str, value: float | str) -> float | str:
    """A warfarin covariate checked by name: a known genotype label or an age in [18, 110]."""
    if name not in WARFARIN_COVARIATES:
        raise ValueError(f"unknown covariate {name!r} for warfarin; allowed: "
                         f"{list(WARFARIN_COVARIATES)} (the Hamberg model's covariates)")
    if name in GENOTYPES:
        genotype_codes([value], GENOTYPES[name], name=name)
        return str(value)
    try:
        age = float(value)
    except ValueError:
        raise ValueError(f"age_years: {value!r} is not a number") from None
    if not 18.0 <= age <= 110.0:
        raise ValueError(f"age_years must be in [18, 110] years, got {age}")
    return age


def warfarin_cohort(model: HambergModel, *, n: int | None = None, seed: SeedLike = 0,
                    population: Population = US_ANTICOAGULATION_CLINIC,
                    covariates: Mapping[str, float | str] | None = None) -> pd.DataFrame:
    """The typical patient (``n=None``) or ``n`` sampled patients, with ``eta_*`` columns.

    Args:
        model: the Hamberg parameter set whose variability gives the etas.
        n: number of patients to sample; ``None`` for the typical patient (etas 0).
        seed: root seed of the cohort (covariates and etas), ignored for the typical patient.
        population: samples the covariates.
        covariates: values fixed for every patient (see :func:`parse_warfarin_covariates`).

    Examples:
        >>> cohort = warfarin_cohort(Hamberg2010(), covariates={"vkorc1": "A/A"})
        >>> cohort[["id", "age_years", "cyp2c9", "vkorc1", "eta_CL"]].values.tolist()
        [[0, 60.0, '*1/*1', 'A/A', 0.0]]
        >>> warfarin_cohort(Hamberg2010(), n=3, seed=1)["id"].tolist()
        [0, 1, 2]
    """
    variability = model.variability
    if n is None:
        etas = dict.fromkeys(variability.eta_columns, 0.0)
        cohort = pd.DataFrame([{"id": 0, **TYPICAL_WARFARIN_PATIENT, **etas}])
    else:
        if n < 1:
            raise ValueError(f"n (--n-patients) must be >= 1, got {n}")
        cohort = pd.concat([population.sample(n, seed).reset_index(drop=True),
                            variability.sample_etas(seed, n).reset_index(drop=True)], axis=1)
    for name, value in (covariates or {}).items():
        cohort[name] = _checked(name, value)
    return cohort


def simulate_warfarin(cohort: pd.DataFrame, model: HambergModel,
                      regimen: DailyRegimen) -> pd.DataFrame:
    """Give ``regimen`` to every patient of ``cohort``; return the long table (module docstring).

    Args:
        cohort: one row per patient: ``id``, ``age_years`` (years), ``cyp2c9``, ``vkorc1``
            (labels) and the model's ``eta_*`` columns (missing etas count as 0).
        model: the Hamberg parameter set.
        regimen: the daily dose and the number of days.

    Examples:
        >>> table = simulate_warfarin(warfarin_cohort(Hamberg2010()), Hamberg2010(),
        ...                           DailyRegimen(dose_mg=5.0, n_days=2))
        >>> table[["day", "time_h", "dose_mg"]].values.tolist()
        [[0.0, 0.0, 5.0], [1.0, 24.0, 5.0], [2.0, 48.0, 0.0]]
        >>> float(table["inr"].iloc[0]), bool(table["s_warfarin_mg_per_l"].iloc[-1] > 0)
        (1.0, True)
    """
    missing = sorted({"id", *WARFARIN_COVARIATES} - set(cohort.columns))
    if missing:
        raise ValueError(f"cohort lacks column(s) {missing}")
    etas = np.column_stack([cohort[c].to_numpy(np.float64) if c in cohort.columns
                            else np.zeros(len(cohort)) for c in model.variability.eta_columns])
    params = model.parameters(
        genotype_codes(cohort["cyp2c9"], CYP2C9_DIPLOTYPES, name="cyp2c9"),
        genotype_codes(cohort["vkorc1"], VKORC1_GENOTYPES, name="vkorc1"),
        cohort["age_years"].to_numpy(np.float64), etas)
    doses = np.full((len(cohort), regimen.n_days), float(regimen.dose_mg))
    inr, conc = simulate_inr(params, model.structure, doses)
    n, mornings = inr.shape
    days = np.arange(mornings)
    return pd.DataFrame({
        "id": np.repeat(cohort["id"].to_numpy(), mornings),
        "day": np.tile(days, n),
        "time_h": np.tile(days * HOURS_PER_DAY, n),
        "dose_mg": np.column_stack([doses, np.zeros(n)]).ravel(),
        "s_warfarin_mg_per_l": conc.ravel(),
        "inr": inr.ravel(),
    })


@dataclass(frozen=True, slots=True)
class WarfarinSetting:
    """What a warfarin scenario gives ``pkgym simulate``.

    Attributes:
        model: the Hamberg parameter set.
        population: samples cohort covariates.
        target_inr: the therapeutic range shown on plots.
    """

    model: HambergModel
    population: Population
    target_inr: tuple[float, float] = (2.0, 3.0)


def warfarin_setting(scenario: str | os.PathLike | None = None) -> WarfarinSetting:
    """The default setting (Hamberg 2010, US clinic) or that of a warfarin scenario YAML.

    Examples:
        >>> warfarin_setting().target_inr
        (2.0, 3.0)
    """
    if scenario is None:
        return WarfarinSetting(Hamberg2010(), US_ANTICOAGULATION_CLINIC)
    from pkgym.envs.warfarin.clinic import resolve_scenario

    resolved = resolve_scenario(scenario, "pkgym/Warfarin-v0")
    return WarfarinSetting(resolved.hamberg, WARFARIN_POPULATIONS[resolved.population],
                           resolved.target_inr)


def plot_inr(table: pd.DataFrame, *, title: str,
             target_inr: tuple[float, float] = (2.0, 3.0)) -> Figure:
    """Median INR and 5th-95th percentile band by day, with the target range shaded.

    Examples:
        >>> table = simulate_warfarin(warfarin_cohort(Hamberg2010()), Hamberg2010(),
        ...                           DailyRegimen(n_days=3))
        >>> plot_inr(table, title="typical").axes[0].get_xlabel()
        'day'
    """
    from pkgym.evaluation.plots import plot_profiles

    n = table["id"].nunique()
    values = table["inr"].to_numpy().reshape(n, -1)
    fig = plot_profiles(table["day"].to_numpy()[: values.shape[1]], values, ylabel="INR",
                        title=title, target_range=target_inr)
    fig.axes[0].set_xlabel("day")
    return fig
