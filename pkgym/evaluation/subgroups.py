"""Outcomes by subgroup: who does a policy serve well, and whom does it fail?

``results`` carry each patient's covariates (:func:`pkgym.evaluation.evaluate.evaluate`), so
any categorical covariate is a subgroup (``race``, ``cyp2c9``, ``on_dialysis``, ...), and a
few clinical bands are derived where their inputs exist (:data:`BANDS`):

========================  ===================================================================
``sex``                   female / male, from ``is_female``
``age_band``              < 40, 40-59, 60-74, >= 75 years
``bmi_class``             WHO: underweight < 18.5, normal < 25, overweight < 30, obese (kg/m²)
``renal_function``        Cockcroft-Gault CrCL (total weight): >= 90 normal, 60-89 mild,
                          30-59 moderate, 15-29 severe, < 15 failure (mL/min); dialysis
``genotype``              CYP2C9 + VKORC1 (warfarin)
========================  ===================================================================

:func:`subgroup_table` gives, per subgroup level and policy, each score's mean with its 95%
bootstrap interval and the paired difference to the reference policy; levels with fewer
than ``min_patients`` patients are flagged (``small``), never hidden.
:func:`forest_figure` draws the paired differences of one score.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pkgym.evaluation.report import summarise
from pkgym.populations.derived import cockcroft_gault_unchecked
from pkgym.utils import plain_label

MIN_PATIENTS = 30
"""Subgroups smaller than this are flagged ``small``."""


def _cut(values: pd.Series, edges: Sequence[float], labels: Sequence[str]) -> pd.Series:
    return pd.cut(values.astype(float), [-np.inf, *edges, np.inf], labels=list(labels),
                  right=False).astype(object)


def _renal(table: pd.DataFrame) -> pd.Series:
    crcl = pd.Series(cockcroft_gault_unchecked(
        table["age_years"].to_numpy(float), table["weight_kg"].to_numpy(float),
        table["serum_creatinine_mg_per_dl"].to_numpy(float), table["is_female"].to_numpy(float)),
        index=table.index)
    bands = _cut(crcl, (15, 30, 60, 90), ("failure <15", "severe 15-29", "moderate 30-59",
                                          "mild 60-89", "normal >=90"))
    if "on_dialysis" in table:
        bands = bands.where(table["on_dialysis"].to_numpy() != 1, "dialysis")
    return bands


BANDS: Mapping[str, tuple[tuple[str, ...], Callable[[pd.DataFrame], pd.Series]]] = \
    MappingProxyType({
        "sex": (("is_female",), lambda t: t["is_female"].astype(float).map(
            {1.0: "female", 0.0: "male"})),
        "age_band": (("age_years",), lambda t: _cut(t["age_years"], (40, 60, 75),
                                                    ("<40", "40-59", "60-74", ">=75"))),
        "bmi_class": (("weight_kg", "height_cm"), lambda t: _cut(
            t["weight_kg"] / (t["height_cm"] / 100.0) ** 2, (18.5, 25, 30),
            ("underweight", "normal", "overweight", "obese"))),
        "renal_function": (("age_years", "weight_kg", "serum_creatinine_mg_per_dl",
                            "is_female"), _renal),
        "genotype": (("cyp2c9", "vkorc1"), lambda t: t["cyp2c9"].astype(str) + " "
                     + t["vkorc1"].astype(str)),
    })
"""Derived subgroup columns: name -> (the covariates they need, how to compute them)."""


def subgroup_names(covariates: Sequence[str], categorical: Sequence[str]) -> list[str]:
    """The subgroups a cohort allows: derivable bands, then its categorical columns.

    Bands come from ``covariates``; ``categorical`` are the columns holding labels or whole
    numbers (the cohort schema says which).

    Examples:
        >>> subgroup_names(["age_years", "is_female", "race"], ["is_female", "race"])
        ['sex', 'age_band', 'is_female', 'race']
    """
    bands = [name for name, (needs, _) in BANDS.items() if set(needs) <= set(covariates)]
    return bands + [c for c in categorical if c not in bands]


def subgroup_values(results: pd.DataFrame, by: str, covariates: Sequence[str]) -> pd.Series:
    """Each row's level of subgroup ``by`` (a derived band or a covariate column).

    Raises:
        ValueError: ``by`` is neither a band derivable from ``covariates`` nor one of them.
    """
    needs = BANDS[by][0] if by in BANDS else (by,)
    allowed = subgroup_names(covariates, covariates)
    if by not in allowed or not set(needs) <= set(results.columns):
        raise ValueError(f"--by {by!r}: not a subgroup of this env's results; allowed: "
                         f"{allowed}")
    if by in BANDS and by not in results.columns:
        return BANDS[by][1](results).astype(str)
    return results[by].astype(str)


def subgroup_table(results: pd.DataFrame, by: Sequence[str], covariates: Sequence[str],
                   reference: str, scores: Sequence[str], *, seed: int = 0, reps: int = 2000,
                   min_patients: int = MIN_PATIENTS) -> pd.DataFrame:
    """Per (subgroup, level, policy, score): n, mean and 95% CI, paired difference and CI.

    Args:
        results: one row per (policy, patient) with covariates (``evaluate``'s output).
        by: subgroups (see :func:`subgroup_names`).
        covariates: the env's cohort columns.
        reference: the policy the paired differences refer to.
        scores: the score columns.
        seed: seed of the bootstrap (:func:`~pkgym.evaluation.report.summarise`'s).
        reps: bootstrap resamples.
        min_patients: levels with fewer patients are flagged ``small``.
    """
    if reference not in set(results["policy"]):
        raise ValueError(f"reference {reference!r} is not one of the policies "
                         f"{sorted(set(results['policy']))}")
    levels = {name: subgroup_values(results, name, covariates) for name in by}
    rows: list[dict] = []
    for name, values in levels.items():
        for level in sorted(values.unique()):
            part = results[(values == level).to_numpy()]
            rows += _level_rows(part, name, level, reference, scores, seed, reps, min_patients)
    return pd.DataFrame(rows)


def _level_rows(part: pd.DataFrame, name: str, level: str, reference: str,
                scores: Sequence[str], seed: int, reps: int, min_patients: int) -> list[dict]:
    """The rows of one subgroup level (every policy and score), by :func:`summarise`."""
    n = int(part["id"].nunique())
    summary = summarise(part, reference, {score: score for score in scores}, reps=reps,
                        seed=seed).reset_index()
    return [{"subgroup": name, "level": level, "n": n, "small": n < min_patients, **row}
            for row in summary.to_dict("records")]


def forest_figure(table: pd.DataFrame, score: str, label: str, reference: str) -> Figure:
    """Paired differences to ``reference`` of one score, one line per (subgroup level, policy)."""
    rows = table[(table["score"] == score) & (table["policy"] != reference)]
    fig = Figure(figsize=(8, 0.35 * max(len(rows), 4) + 1.2), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(rows))[::-1]
    small = rows["small"].to_numpy(bool)
    for mask, color in ((~small, "C0"), (small, "0.6")):
        ax.errorbar(rows["difference"][mask], y[mask],
                    xerr=[(rows["difference"] - rows["diff_low"])[mask],
                          (rows["diff_high"] - rows["difference"])[mask]],
                    fmt="o", capsize=3, color=color)
    ax.axvline(0.0, color="0.3", lw=0.8)
    ax.set_yticks(y, [plain_label(f"{r.subgroup} {r.level} (n={r.n}{', small' if r.small else ''})"
                                  f" - {r.policy}") for r in rows.itertuples()])
    ax.set(xlabel=plain_label(f"{label}: difference to {reference} (95% CI)"),
           title=plain_label(f"Subgroups: {label}"))
    return fig
