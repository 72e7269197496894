"""Concentration-time profiles of a typical patient or a sampled cohort (``pkgym simulate``).

A *regimen* (dose, interval, number of doses, infusion time, route) is given to every
patient; profiles come back as one long table (``id``, ``time_h``, then one column per model
output named with its unit), ready for CSV, Parquet or a percentile-band plot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pkgym.sim.doses import ROUTES, regular_schedule
from pkgym.sim.linear import simulate_linear
from pkgym.sim.modal import LinearPKParams
from pkgym.utils import check_positive

CohortToParams = Callable[[pd.DataFrame], LinearPKParams]
"""Maps a cohort table (covariates and ``eta_*`` columns) to per-patient parameters."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Regimen:
    """The same dosing regimen for every patient.

    Attributes:
        dose_mg: amount per dose.
        every_h: dosing interval.
        n_doses: number of doses.
        infusion_h: infusion duration (0 for a bolus; oral doses must use 0).
        route: ``"iv"`` or ``"oral"``.
    """

    dose_mg: float
    every_h: float
    n_doses: int
    infusion_h: float = 0.0
    route: str = "iv"

    def __post_init__(self) -> None:
        """Validate every field by building a one-patient schedule."""
        if self.route == "oral" and self.infusion_h > 0:
            raise ValueError("infusion_h must be 0 for route 'oral'")
        regular_schedule(1, amount_mg=self.dose_mg, every_h=self.every_h, n_doses=self.n_doses,
                         duration_h=self.infusion_h, route=self.route)


def output_times(until_h: float, step_h: float) -> np.ndarray:
    """Regular output grid from 0 to ``until_h`` inclusive.

    Examples:
        >>> output_times(2.0, 0.5).tolist()
        [0.0, 0.5, 1.0, 1.5, 2.0]
    """
    check_positive("until_h", until_h)
    check_positive("step_h", step_h)
    return np.arange(0.0, until_h + step_h / 2, step_h)


def simulate_profiles(
    cohort: pd.DataFrame, to_params: CohortToParams, regimen: Regimen, times_h: np.ndarray
) -> pd.DataFrame:
    """Simulate every patient of ``cohort`` on ``regimen``; return the long profile table.

    Args:
        cohort: one row per patient with an ``id`` column.
        to_params: the model's mapping from cohort rows to parameters.
        regimen: the regimen every patient receives.
        times_h: output times, h.

    Examples:
        >>> from pkgym.sim.modal import compartment_params
        >>> table = simulate_profiles(pd.DataFrame({"id": [0]}),
        ...                           lambda c: compartment_params(5.0, 50.0),
        ...                           Regimen(dose_mg=500.0, every_h=12.0, n_doses=1),
        ...                           np.array([0.0, 10.0]))
        >>> table["conc_mg_per_l"].round(3).tolist()
        [10.0, 3.679]
    """
    if "id" not in cohort.columns:
        raise ValueError("cohort must have an 'id' column")
    if regimen.route not in ROUTES:
        raise ValueError(f"route must be one of {ROUTES}, got {regimen.route!r}")
    params = to_params(cohort)
    schedule = regular_schedule(len(cohort), amount_mg=regimen.dose_mg, every_h=regimen.every_h,
                                n_doses=regimen.n_doses, duration_h=regimen.infusion_h,
                                route=regimen.route)
    solution = simulate_linear(params, schedule, times_h)
    n, t = len(cohort), times_h.size
    return pd.DataFrame({
        "id": np.repeat(cohort["id"].to_numpy(), t),
        "time_h": np.tile(times_h, n),
        "conc_mg_per_l": solution.concentration_mg_per_l.ravel(),
        "auc_mg_h_per_l": solution.auc_mg_h_per_l.ravel(),
    })


def parse_assignments(items: list[str] | None, what: str) -> dict[str, float]:
    """Parse repeated ``NAME=VALUE`` options into a dict of floats.

    Examples:
        >>> parse_assignments(["CL=4.5", "V1=30"], "--param")
        {'CL': 4.5, 'V1': 30.0}
    """
    parsed: dict[str, float] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"{what} expects NAME=VALUE, got {item!r}")
        try:
            parsed[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"{what} {name}: {value!r} is not a number") from None
    return parsed


def fixed_covariates(cohort: pd.DataFrame, values: Mapping[str, float]) -> pd.DataFrame:
    """Overwrite cohort covariates with fixed values, rejecting names the model does not know.

    Examples:
        >>> cohort = pd.DataFrame({"id": [0], "weight_kg": [70.0]})
        >>> fixed_covariates(cohort, {"weight_kg": 80.0})["weight_kg"].tolist()
        [80.0]
    """
    unknown = sorted(set(values) - set(cohort.columns) - {"id"})
    if unknown:
        allowed = sorted(c for c in cohort.columns if c != "id" and not c.startswith("eta_"))
        raise ValueError(f"unknown covariate(s) {unknown}; allowed: {allowed}")
    out = cohort.copy()
    for name, value in values.items():
        out[name] = value
    return out
