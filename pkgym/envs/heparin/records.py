"""What the heparin ward holds for each patient: settings, population, pinning, records, physics.

A patient row is its covariates (:data:`COHORT_SCHEMA`: weight, height, age, sex, control
aPTT) plus optional random effects ``eta_CL``, ``eta_V``, ``eta_SLOPE`` (drawn when not given)
and ``id``. Time runs in hours from the first decision; decision k is at ``k * interval_h``,
right after the k-th aPTT (k = 0: the control aPTT, taken before any heparin).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from pkgym.envs.heparin.clinic import (
    HULL_EXCESS_RECURRENCE,
    HeparinScenario,
    StepOutcome,
    interval_amounts,
)
from pkgym.envs.pinning import validate_pinned, validate_pinned_etas
from pkgym.models.heparin_alsallami2016 import (
    AlSallami2016,
    aptt_s,
    individual_parameters,
)
from pkgym.populations import Population
from pkgym.populations.body_size import BodySize
from pkgym.populations.cohort import CohortSchema, ColumnRule
from pkgym.populations.discrete import Bernoulli
from pkgym.populations.distributions import BoundedLogNormal, BoundedNormal

HEPARIN_POPULATION = Population(covariates={
    "is_female": Bernoulli(p=0.5),
    "age_years": BoundedNormal(mean=60.0, sd=16.0, low=18.0, high=95.0),
    "body_size": BodySize(),
    "baseline_aptt_s": BoundedLogNormal(median=30.0, cv=0.10, low=22.0, high=45.0),
})
"""Adults starting UFH: sex 50/50, height and weight by sex from :class:`BodySize` (NHANES
2015-2018 means, Fryar et al. 2021), age normal mean 60, SD 16 y in 18-95 (ours, for adults
with venous thromboembolism), control aPTT log-normal median 30 s, CV 10 % in 22-45 s (ours: a
typical adult reference interval of about 25-36 s)."""
COHORT_SCHEMA = CohortSchema(columns={
    "weight_kg": ColumnRule(low=35.0, high=250.0, unit="kg"),
    "height_cm": ColumnRule(low=130.0, high=220.0, unit="cm"),
    "age_years": ColumnRule(low=18.0, high=105.0, unit="years"),
    "is_female": ColumnRule(low=0, high=1, unit="0/1", integer=True),
    "baseline_aptt_s": ColumnRule(low=18.0, high=60.0, unit="s"),
})
"""Columns a pinned patient or a cohort file must have, with their ranges."""
PATIENT_KEYS = tuple(COHORT_SCHEMA.columns)
ETA_KEYS = ("eta_CL", "eta_V", "eta_SLOPE")
PLACEHOLDER = {"weight_kg": 80.0, "height_cm": 176.0, "age_years": 60.0, "is_female": 0.0,
               "baseline_aptt_s": 30.0, "eta_CL": 0.0, "eta_V": 0.0, "eta_SLOPE": 0.0,
               "id": -1.0}
"""The values patient slots hold before their first reset (the typical patient)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ClinicSettings:
    """The scenario plus what the core derives from it once."""

    scenario: HeparinScenario
    population: Population
    model: AlSallami2016
    dose_levels_mg: np.ndarray  # the discrete rate levels, U/kg/h (the runner's dose range)


def clinic_settings(scenario: HeparinScenario,
                    population: Population | None = None) -> ClinicSettings:
    """The core's settings for a scenario.

    Examples:
        >>> clinic_settings(HeparinScenario()).dose_levels_mg.size
        41
    """
    return ClinicSettings(scenario=scenario, population=population or HEPARIN_POPULATION,
                          model=scenario.model,
                          dose_levels_mg=scenario.rate_levels_u_per_kg_per_h)


def pinned_row(pinned: Mapping[str, Any], model: AlSallami2016) -> dict[str, float]:
    """A pinned patient's validated covariates, given etas (range-checked) and id.

    Examples:
        >>> row = pinned_row({"weight_kg": 80, "height_cm": 176, "age_years": 60,
        ...                   "is_female": 0, "baseline_aptt_s": 30, "eta_CL": 0.1},
        ...                  AlSallami2016())
        >>> row["weight_kg"], row["eta_CL"]
        (80.0, 0.1)
    """
    given = dict(pinned.items())
    allowed = (*PATIENT_KEYS, *ETA_KEYS, "id")
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ValueError(f"unknown patient field(s) {unknown}; allowed: {allowed}")
    covariates = validate_pinned(given, COHORT_SCHEMA)
    row = {key: float(covariates[key]) for key in PATIENT_KEYS}
    row.update(validate_pinned_etas(given, model.variability))
    if "id" in given:
        row["id"] = float(given["id"])
    return row


@dataclass(slots=True)
class ClinicRecords:
    """Everything that happened to each patient, true and measured (batched, in place).

    Attributes:
        weight_kg, height_cm, age_years, is_female, baseline_aptt_s: covariates (n,).
        etas: (n, 3). params: (n, 3) true CL L/h, V L, SLOPE s per IU/L.
        target_low_s, target_high_s: the patient's target range (n,).
        amount_iu: heparin in the body now (n,). step: decisions taken (n,).
        current_rate: infusion rate running now, U/kg/h (n,).
        bolus_u_per_kg, hold_h, rate_u_per_kg_per_h: decisions (n, n_steps).
        aptt_true_s, aptt_measured_s: at each decision time (n, n_steps + 1).
        assay_normals: pre-drawn standard normals of the assay error (n, n_steps + 1).
        hours, in_range_h, below_h, above_h, early_below_h: time counts (n,).
        bleeding_sum, thrombosis_risk: sums of the step terms (n,).
        first_therapeutic_h: time of the first measured aPTT in range, NaN before (n,).
        dose_iu: cumulative heparin given (n,).
        step_in_range, step_bleeding, step_thrombosis, reward: the last step's (n,).
        patient_id: cohort id (-1: drawn) (n,). seed_entropy: slot seed entropy (n,) object.
    """

    weight_kg: np.ndarray
    height_cm: np.ndarray
    age_years: np.ndarray
    is_female: np.ndarray
    baseline_aptt_s: np.ndarray
    etas: np.ndarray
    params: np.ndarray
    target_low_s: np.ndarray
    target_high_s: np.ndarray
    amount_iu: np.ndarray
    step: np.ndarray
    current_rate: np.ndarray
    bolus_u_per_kg: np.ndarray
    hold_h: np.ndarray
    rate_u_per_kg_per_h: np.ndarray
    aptt_true_s: np.ndarray
    aptt_measured_s: np.ndarray
    assay_normals: np.ndarray
    hours: np.ndarray
    in_range_h: np.ndarray
    below_h: np.ndarray
    above_h: np.ndarray
    early_below_h: np.ndarray
    bleeding_sum: np.ndarray
    thrombosis_risk: np.ndarray
    first_therapeutic_h: np.ndarray
    dose_iu: np.ndarray
    step_in_range: np.ndarray
    step_bleeding: np.ndarray
    step_thrombosis: np.ndarray
    reward: np.ndarray
    patient_id: np.ndarray
    seed_entropy: np.ndarray


def new_records(settings: ClinicSettings, table: Mapping[str, np.ndarray],
                assay_normals: np.ndarray, seed_entropy: np.ndarray) -> ClinicRecords:
    """Records of fresh episodes at time 0 (control aPTT taken) for a table of patients.

    Args:
        settings: the clinic.
        table: one array (n,) per :data:`PLACEHOLDER` key.
        assay_normals: (n, n_steps + 1) standard normals of the aPTT assay error.
        seed_entropy: (n,) object.
    """
    s, n = settings.scenario, table["weight_kg"].shape[0]
    etas = np.column_stack([table[key] for key in ETA_KEYS])
    params = individual_parameters(settings.model, table["weight_kg"], table["height_cm"],
                                   table["is_female"], etas)
    base = np.asarray(table["baseline_aptt_s"], dtype=np.float64)
    if s.target == "seconds":
        low, high = np.full(n, s.target_aptt_s[0]), np.full(n, s.target_aptt_s[1])
    else:
        low, high = s.target_ratio[0] * base, s.target_ratio[1] * base
    per_step, per_sample, zeros = np.zeros((n, s.n_steps)), np.zeros((n, s.n_steps + 1)), \
        np.zeros(n)
    true = per_sample.copy()
    true[:, 0] = base
    return ClinicRecords(
        **{key: np.asarray(table[key], dtype=np.float64).copy() for key in PATIENT_KEYS},
        etas=etas, params=params, target_low_s=low, target_high_s=high,
        amount_iu=zeros.copy(), step=np.zeros(n, np.int64), current_rate=zeros.copy(),
        bolus_u_per_kg=per_step.copy(), hold_h=per_step.copy(), rate_u_per_kg_per_h=per_step,
        aptt_true_s=true, aptt_measured_s=true.copy(), assay_normals=assay_normals,
        **{name: zeros.copy() for name in (
            "hours", "in_range_h", "below_h", "above_h", "early_below_h", "bleeding_sum",
            "thrombosis_risk", "dose_iu", "step_in_range", "step_bleeding", "step_thrombosis",
            "reward")},
        first_therapeutic_h=np.full(n, np.nan),
        patient_id=np.asarray(table["id"], dtype=np.float64).astype(np.int64),
        seed_entropy=seed_entropy)


def simulate_interval(records: ClinicRecords, rows: np.ndarray, decisions: np.ndarray,
                      scenario: HeparinScenario) -> tuple[np.ndarray, np.ndarray, StepOutcome]:
    """One interval of ``rows``: end amount, end true aPTT and the interval's outcome (pure).

    The time-based metrics average the true aPTT at ``grid_points`` midpoints of the interval.
    """
    r, dt, m = records, scenario.interval_h, scenario.grid_points
    times = (np.arange(m) + 0.5) * dt / m
    params, weight = r.params[rows], r.weight_kg[rows]
    amounts = interval_amounts(r.amount_iu[rows], params, weight, decisions,
                               np.append(times, dt))
    aptt = aptt_s(amounts, params[:, 1:2], r.baseline_aptt_s[rows, None], params[:, 2:3])
    grid, low, high = aptt[:, :-1], r.target_low_s[rows, None], r.target_high_s[rows, None]
    start_h = r.step[rows, None] * dt
    early = (start_h + times[None, :]) < scenario.early_window_h
    below_control = grid < scenario.subtherapeutic_ratio * r.baseline_aptt_s[rows, None]
    early_share = (early & below_control).mean(axis=1) * dt / scenario.early_window_h
    outcome = StepOutcome(
        in_range=((grid >= low) & (grid <= high)).mean(axis=1),
        below=(grid < low).mean(axis=1), above=(grid > high).mean(axis=1),
        bleeding=np.maximum(grid / high - 1.0, 0.0).mean(axis=1),
        thrombosis_risk=early_share * HULL_EXCESS_RECURRENCE)
    return amounts[:, -1], aptt[:, -1], outcome
