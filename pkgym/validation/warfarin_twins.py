"""Virtual twins of real warfarin patients, titrated to a stable dose as a clinic would.

The IWPC "therapeutic dose" is where clinical titration stopped: a dose at which measured
INRs were in range, not the exact dose for an INR of 2.5. To compare like with like, each
real patient gets ``replicates`` virtual twins (their covariates, fresh between-subject
random effects) and every twin's stable dose follows a stated rule on its steady-state INR
curve (:class:`~pkgym.models.warfarin_steady_state.SteadyState`): by default the titration
lands uniformly inside the target window (:class:`InrWindow`); :class:`TitrationProtocol`
simulates visit-by-visit titration from a 5 mg start with the model's INR error instead.
The twin's exact requirement (steady-state morning INR = its target) is kept beside it.

The statistics the validation and the calibration compare (median dose by group, pooled
within-genotype SD of log dose, within-genotype age slope, and the auxiliary regression of
log dose on the covariates) are small functions of a table with ``dose`` and the covariate
columns, applied alike to real patients and to twins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from pkgym.models.warfarin import Hamberg2010, WarfarinParameters
from pkgym.models.warfarin_steady_state import SteadyState
from pkgym.populations.warfarin import CYP2C9_DIPLOTYPES, RACES, VKORC1_GENOTYPES, genotype_codes

TITRATION_VISITS = 30
"""Titration normals drawn per twin (the most visits a :class:`TitrationProtocol` may use)."""
GENOTYPE = ("cyp2c9", "vkorc1")
"""The columns whose combinations are the genotype groups."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InrWindow:
    """The stable dose as the end of titration into a target window (the default rule).

    A titration stops at the first dose whose INRs are in ``target +/- half_window`` (the
    IWPC sites' definitions of a therapeutic dose: "INR within 0.5 of the target"); where
    inside the window it lands depends on where it came from and on the INR noise at each
    visit, which nothing in the data records. This rule takes the landing INR uniform over
    the window: the stable dose is the steady-state dose for an INR of ``target + half_window
    (2 U - 1)`` (U uniform, from the twin's first titration normal), rounded to
    ``weekly_step_mg``. Unlike :class:`TitrationProtocol` it does not pile twins on the
    start dose (see that class).

    Attributes:
        half_window: INR units either side of the target counted as therapeutic.
        weekly_step_mg: the weekly dose is rounded to this, mg/week.
    """

    half_window: float = 0.5
    weekly_step_mg: float = 0.5

    def __post_init__(self) -> None:
        """Both are > 0."""
        if not (self.half_window > 0 and self.weekly_step_mg > 0):
            raise ValueError("half_window and weekly_step_mg must be > 0")

    def stable_doses(self, steady: SteadyState, target_inr: np.ndarray, normals: np.ndarray,
                     inr_log_sd: float) -> tuple[np.ndarray, np.ndarray]:
        """Stable daily dose (mg) of each patient and ``True`` (every patient is stable), (n,).

        ``inr_log_sd`` is not used (the signature is :class:`TitrationProtocol`'s).
        """
        uniform = special.ndtr(normals[:, 0])
        landing = np.maximum(target_inr + self.half_window * (2.0 * uniform - 1.0),
                             steady.structure.baseline_inr + 0.05)
        weekly = 7.0 * steady.dose_for_inr(landing)
        step = self.weekly_step_mg
        return np.maximum(step * np.round(weekly / step), step) / 7.0, np.ones(len(weekly), bool)


@dataclass(frozen=True, slots=True, kw_only=True)
class TitrationProtocol:
    """A step-by-step titration to a stable dose (pkgym's choice, stated, not published).

    Each visit measures the INR at steady state on the current weekly dose (one dose is
    held until its INR is at steady state, as the IWPC sites' stable-dose definitions
    require several unchanged weeks), with log-normal error, reported to 0.1. In
    ``target +/- half_window`` nothing changes; below it the weekly dose rises by 10% (15%
    more than ``half_window`` further below), above it falls by 10% (15% more than 1 INR
    unit further above): the size of the steps of ACCP-style maintenance nomograms.
    ``stable_visits`` in-range INRs in a row make the dose stable; a twin never stable
    after ``max_visits`` keeps its last dose. Measured on the IWPC training split after
    calibration, this rule leaves 18% of twins on the 5 mg start dose (35 mg/week) against 7%
    of real patients, compressing the dose distribution: real initiation and titration are
    less tied to one start dose, so :class:`InrWindow` is the default.

    Attributes:
        start_dose_mg: first daily dose, mg (5 mg: the label's and most sites' start).
        half_window: INR units either side of the target counted as in range.
        stable_visits: in-range INRs in a row that make the dose stable.
        max_visits: most titration visits.
        weekly_step_mg: the weekly dose is rounded to this, mg/week.
        inr_log_sd: SD of log of a measured INR; ``None``: the model's residual error.
    """

    start_dose_mg: float = 5.0
    half_window: float = 0.5
    stable_visits: int = 2
    max_visits: int = TITRATION_VISITS
    weekly_step_mg: float = 0.5
    inr_log_sd: float | None = None

    def __post_init__(self) -> None:
        """Doses and the window are positive; visit counts at least 1."""
        if not (self.start_dose_mg > 0 and self.half_window > 0 and self.weekly_step_mg > 0):
            raise ValueError("start_dose_mg, half_window and weekly_step_mg must be > 0")
        if not 1 <= self.stable_visits <= self.max_visits:
            raise ValueError(f"need 1 <= stable_visits <= max_visits, got "
                             f"{self.stable_visits}, {self.max_visits}")
        if self.inr_log_sd is not None and not 0 <= self.inr_log_sd <= 2:
            raise ValueError(f"inr_log_sd must be in [0, 2] or None, got {self.inr_log_sd}")

    def stable_doses(self, steady: SteadyState, target_inr: np.ndarray, normals: np.ndarray,
                inr_log_sd: float) -> tuple[np.ndarray, np.ndarray]:
        """Stable daily dose (mg) and whether it was reached, for each patient (n,).

        Args:
            steady: the patients' steady-state INR curves.
            target_inr: each patient's target INR, (n,).
            normals: standard normals of the measurement errors, (n, max_visits).
            inr_log_sd: SD of log of a measured INR (``self.inr_log_sd`` wins when set).
        """
        sd = inr_log_sd if self.inr_log_sd is None else self.inr_log_sd
        n = target_inr.shape[0]
        weekly = np.full(n, 7.0 * self.start_dose_mg)
        streak, stable = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
        low, high = target_inr - self.half_window, target_inr + self.half_window
        for visit in range(self.max_visits):
            inr = np.round(steady.inr(weekly / 7.0) * np.exp(sd * normals[:, visit]), 1)
            in_range = (inr >= low - 1e-9) & (inr <= high + 1e-9)
            streak = np.where(in_range, streak + 1, 0)
            stable |= streak >= self.stable_visits
            factor = np.select([inr < low - self.half_window, inr < low, inr <= high,
                                inr <= high + 1.0], [1.15, 1.10, 1.0, 0.90], 0.85)
            step = self.weekly_step_mg
            weekly = np.where(stable, weekly,
                              np.maximum(step * np.round(weekly * factor / step), step))
        return weekly / 7.0, stable


def twin_parameters(model: Hamberg2010, cohort: pd.DataFrame,
                    eta_normals: np.ndarray) -> WarfarinParameters:
    """The twins' individual parameters: the rows' covariates and ``sqrt(omega) z`` etas."""
    omega = np.sqrt(np.diag(model.variability.omega))
    return model.parameters(
        genotype_codes(cohort["cyp2c9"], CYP2C9_DIPLOTYPES, name="cyp2c9"),
        genotype_codes(cohort["vkorc1"], VKORC1_GENOTYPES, name="vkorc1"),
        cohort["age_years"].to_numpy(dtype=np.float64), eta_normals * omega,
        race=genotype_codes(cohort["race"], RACES, name="race"),
        amiodarone=cohort["amiodarone"].to_numpy(dtype=np.float64),
        enzyme_inducer=cohort["enzyme_inducer"].to_numpy(dtype=np.float64))


@dataclass(frozen=True, slots=True)
class TwinNoise:
    """The random numbers of a twin cohort: etas' normals (N, 3), titration's (N, visits)."""

    etas: np.ndarray
    titration: np.ndarray

    @classmethod
    def draw(cls, n: int, seed: int, visits: int = TITRATION_VISITS) -> TwinNoise:
        """Independent streams for etas and titration (``visits`` normals per twin)."""
        eta_seed, titration_seed = np.random.SeedSequence(seed).spawn(2)
        return cls(np.random.default_rng(eta_seed).standard_normal((n, 3)),
                   np.random.default_rng(titration_seed).standard_normal((n, visits)))


def replicate(cohort: pd.DataFrame, replicates: int) -> pd.DataFrame:
    """Each row ``replicates`` times (row-major), with ``row`` and ``replicate`` columns."""
    if replicates < 1:
        raise ValueError(f"replicates must be >= 1, got {replicates}")
    out = cohort.loc[cohort.index.repeat(replicates)].reset_index(drop=True)
    out["row"] = np.repeat(np.arange(len(cohort)), replicates)
    out["replicate"] = np.tile(np.arange(replicates), len(cohort))
    return out


StableDoseRule = InrWindow | TitrationProtocol
"""How a twin's stable dose is found."""


def simulate_twins(model: Hamberg2010, twins: pd.DataFrame, noise: TwinNoise,
                   rule: StableDoseRule | None = None) -> pd.DataFrame:
    """``twins`` with each one's ``required_dose`` and stable ``dose`` (mg/day), ``stable``."""
    rule = rule or InrWindow()
    steady = SteadyState(twin_parameters(model, twins, noise.etas), model.structure)
    target = twins["target_inr"].to_numpy(dtype=np.float64)
    dose, stable = rule.stable_doses(steady, target, noise.titration, model.residual_inr_log_sd)
    return twins.assign(required_dose=steady.dose_for_inr(target), dose=dose, stable=stable)


def median_by(table: pd.DataFrame, column: str | None) -> pd.Series:
    """Median ``dose`` overall (``column=None``, index ``"all"``) or by ``column``."""
    if column is None:
        return pd.Series({"all": float(table["dose"].median())})
    return table.groupby(column, observed=True)["dose"].median()


def within_genotype_sd(table: pd.DataFrame) -> float:
    """Pooled SD of log dose around each CYP2C9 x VKORC1 group's mean."""
    log_dose = np.log(table["dose"])
    groups = table.groupby(list(GENOTYPE), observed=True)
    residual = log_dose - groups["dose"].transform(lambda d: np.log(d).mean())
    degrees = len(table) - groups.ngroups
    return float(np.sqrt((residual**2).sum() / degrees))


def age_slope_percent_per_year(table: pd.DataFrame) -> float:
    """Within-genotype change of dose with age, %/year: ``100 (exp(b) - 1)`` of log dose."""
    log_dose = np.log(table["dose"].to_numpy())
    key = table[list(GENOTYPE)].astype(str).agg("|".join, axis=1)
    centred_age = table["age_years"] - table.groupby(key)["age_years"].transform("mean")
    centred_dose = log_dose - pd.Series(log_dose, index=table.index).groupby(key).transform("mean")
    slope = float((centred_age * centred_dose).sum() / (centred_age**2).sum())
    return 100.0 * float(np.expm1(slope))


AUXILIARY_TERMS = (*(f"cyp2c9={g}" for g in CYP2C9_DIPLOTYPES[1:]),
                   *(f"vkorc1={g}" for g in VKORC1_GENOTYPES[1:]),
                   *(f"race={r}" for r in RACES[1:]), "age_per_decade", "amiodarone",
                   "enzyme_inducer")
"""The auxiliary regression's terms besides the intercept (reference: *1/*1, G/G, white)."""


def auxiliary_design(table: pd.DataFrame) -> np.ndarray:
    """Design matrix ``[1, terms of AUXILIARY_TERMS]`` of the auxiliary regression, (n, 14)."""
    columns = [np.ones(len(table))]
    for term in AUXILIARY_TERMS:
        if "=" in term:
            name, level = term.split("=")
            columns.append((table[name].to_numpy() == level).astype(np.float64))
        elif term == "age_per_decade":
            columns.append((table["age_years"].to_numpy(dtype=np.float64) - 65.0) / 10.0)
        else:
            columns.append(table[term].to_numpy(dtype=np.float64))
    return np.column_stack(columns)


def auxiliary_statistics(design: np.ndarray, log_dose: np.ndarray) -> np.ndarray:
    """OLS coefficients of log dose on ``design`` and the log residual SD, (15,)."""
    coefficients, *_ = np.linalg.lstsq(design, log_dose, rcond=None)
    residual = log_dose - design @ coefficients
    sd = np.sqrt(residual @ residual / (design.shape[0] - design.shape[1]))
    return np.append(coefficients, np.log(sd))


def auxiliary_standard_errors(design: np.ndarray, log_dose: np.ndarray) -> np.ndarray:
    """OLS standard errors of the coefficients, and ``1 / sqrt(2 (n - p))`` for log SD."""
    statistics = auxiliary_statistics(design, log_dose)
    variance = np.exp(2 * statistics[-1])
    covariance = variance * np.linalg.inv(design.T @ design)
    degrees = design.shape[0] - design.shape[1]
    return np.append(np.sqrt(np.diag(covariance)), 1.0 / np.sqrt(2.0 * degrees))


MEDIAN_GROUPS = (("cyp2c9", CYP2C9_DIPLOTYPES), ("vkorc1", VKORC1_GENOTYPES), ("race", RACES))
"""The groups whose median dose the calibration matches."""
REGRESSION_TERMS = ("age_per_decade", "amiodarone", "enzyme_inducer")
"""The auxiliary regression's coefficients the calibration matches."""
CALIBRATION_STATISTICS = (*(f"log median (Harrell-Davis) dose, {column} {level}"
                            for column, levels in MEDIAN_GROUPS for level in levels),
                          *(f"log dose per {term}" for term in REGRESSION_TERMS),
                          "log within-genotype SD of log dose")
"""Names of :func:`calibration_statistics`, in order."""


def harrell_davis_weights(n: int) -> np.ndarray:
    """Weights of the sorted sample in the Harrell-Davis median, (n,).

    ``W_i = I_(i/n)(a, a) - I_((i-1)/n)(a, a)`` with ``a = (n + 1) / 2`` (Harrell and Davis
    1982, Biometrika 69:635): a smooth median that does not snap to one tablet-grid dose.

    Examples:
        >>> harrell_davis_weights(3).round(4).tolist()
        [0.2593, 0.4815, 0.2593]
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    a = (n + 1) / 2.0
    return np.diff(special.betainc(a, a, np.arange(n + 1) / n))


def harrell_davis_median(values: np.ndarray) -> float:
    """The Harrell-Davis estimate of the median of ``values`` (see the weights).

    Examples:
        >>> round(harrell_davis_median(np.array([1.0, 2.0, 10.0])), 4)
        3.8148
    """
    data = np.sort(np.asarray(values, dtype=np.float64))
    return float(harrell_davis_weights(data.size) @ data)


def median_dose(table: pd.DataFrame, column: str | None) -> pd.Series:
    """Harrell-Davis median ``dose`` overall (``column=None``, index ``"all"``) or by column."""
    if column is None:
        return pd.Series({"all": harrell_davis_median(table["dose"].to_numpy())})
    return table.groupby(column, observed=True)["dose"].apply(
        lambda d: harrell_davis_median(d.to_numpy()))


@dataclass(frozen=True, slots=True)
class StatisticsLayout:
    """Where each patient of a table sits for :func:`calibration_statistics` (built once)."""

    groups: tuple[np.ndarray, ...]  # row indices of each median group, in name order
    weights: tuple[np.ndarray, ...]  # Harrell-Davis weights of each group's sorted doses
    projection: np.ndarray  # rows of the design's pseudo-inverse for REGRESSION_TERMS (3, n)
    genotype: np.ndarray  # CYP2C9 x VKORC1 group code of each row (n,)

    @classmethod
    def of(cls, table: pd.DataFrame) -> StatisticsLayout:
        """The layout of ``table`` (columns cyp2c9, vkorc1, race, age_years, amiodarone, ...)."""
        groups = tuple(np.flatnonzero(table[column].to_numpy() == level)
                       for column, levels in MEDIAN_GROUPS for level in levels)
        empty = [name for name, rows in zip(CALIBRATION_STATISTICS, groups, strict=False)
                 if rows.size == 0]
        if empty:
            raise ValueError(f"no patients for {empty}: every group needs at least one")
        genotype = (genotype_codes(table["cyp2c9"], CYP2C9_DIPLOTYPES, name="cyp2c9") * 3
                    + genotype_codes(table["vkorc1"], VKORC1_GENOTYPES, name="vkorc1"))
        weights = tuple(harrell_davis_weights(rows.size) for rows in groups)
        terms = [1 + AUXILIARY_TERMS.index(term) for term in REGRESSION_TERMS]
        projection = np.linalg.pinv(auxiliary_design(table))[terms]
        return cls(groups, weights, projection, genotype)


def calibration_statistics(layout: StatisticsLayout, log_dose: np.ndarray) -> np.ndarray:
    """Group log medians, three regression coefficients and the log within-genotype SD."""
    medians = [w @ np.sort(log_dose[rows]) for rows, w in zip(layout.groups, layout.weights,
                                                               strict=True)]
    coefficients = layout.projection @ log_dose  # OLS, the design's pseudo-inverse kept
    counts = np.bincount(layout.genotype, minlength=18)
    means = np.bincount(layout.genotype, log_dose, minlength=18) / np.maximum(counts, 1)
    residual = log_dose - means[layout.genotype]
    sd = np.sqrt(residual @ residual / (log_dose.size - np.count_nonzero(counts)))
    return np.array([*medians, *coefficients, np.log(sd)])


def calibration_scale(layout: StatisticsLayout, design: np.ndarray,
                      log_dose: np.ndarray) -> np.ndarray:
    """Standard errors of :func:`calibration_statistics` on real data (asymptotic).

    ``design`` is the table's :func:`auxiliary_design`.
    """
    medians = [1.2533 * np.std(log_dose[rows], ddof=1) / np.sqrt(rows.size) if rows.size > 1
               else 1.0 for rows in layout.groups]
    errors = auxiliary_standard_errors(design, log_dose)
    terms = [1 + AUXILIARY_TERMS.index(term) for term in REGRESSION_TERMS]
    degrees = log_dose.size - np.unique(layout.genotype).size
    return np.array([*medians, *errors[terms], 1.0 / np.sqrt(2.0 * degrees)])
