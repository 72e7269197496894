# lines: the clinic's records plus the two truths' adapters (UVA/Padova, Hovorka) in one place
"""What the diabetes clinic holds for each patient: settings, truths, meals, pinning, records.

A patient row is ``(profile, patient_seed, meal_seed, noise_seed)`` (:data:`COHORT_SCHEMA`):

* ``profile``: one of simglucose's 30 UVA/Padova patients (``adult#001`` ...), or
  ``hovorka2004`` for a patient drawn from the Hovorka population with ``patient_seed``;
* ``meal_seed``: the episode's random meals (:class:`~pkgym.envs.insulin.clinic.MealPlan`);
* ``noise_seed``: the CGM error sequence (Breton & Kovatchev 2008).

A drawn (unpinned) episode draws these numbers from the slot's streams (profile and
patient seed from the patient stream, the meal seed from the events stream, the noise seed
from the noise stream) and is then built exactly as a pinned row. Time runs in minutes from
the episode's start; decision k is at minute ``k * step_minutes``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from pkgym.envs.insulin.clinic import InsulinScenario
from pkgym.envs.insulin.kernel import intake_rows, pump_amounts, uva_rows, uva_rows_serial
from pkgym.envs.insulin.seeding import seeded_draws
from pkgym.envs.pinning import validate_pinned
from pkgym.models import glucose_hovorka as hovorka
from pkgym.models import glucose_uva_padova as uva
from pkgym.models.glucose_sensor import (
    PumpParameters,
    cgm_noise_from_normals,
    cgm_sensor,
    insulin_pump,
    quantise_basal_u_per_h,
    quantise_bolus_u,
)
from pkgym.populations.cohort import CohortSchema, ColumnRule

UVA_PATIENTS = uva.uva_padova_patients("all")
"""simglucose's 30 patients, read once (:func:`uva_start` takes fresh copies of rows)."""
PROFILES: tuple[str, ...] = UVA_PATIENTS.names
"""simglucose's 30 patient names (adolescent#001-010, adult#001-010, child#001-010)."""
HOVORKA_PROFILE = "hovorka2004"
SEED_HIGH = 2**32 - 1
COHORT_SCHEMA = CohortSchema(columns={
    "profile": ColumnRule(allowed=(*PROFILES, HOVORKA_PROFILE)),
    "patient_seed": ColumnRule(low=0, high=SEED_HIGH, unit="(Hovorka draw)", integer=True),
    "meal_seed": ColumnRule(low=0, high=SEED_HIGH, unit="(meals)", integer=True),
    "noise_seed": ColumnRule(low=0, high=SEED_HIGH, unit="(CGM error)", integer=True)})
"""Columns a pinned patient or a cohort file must have."""
SEED_KEYS = ("patient_seed", "meal_seed", "noise_seed")
TALLIES = ("in_range", "below_70", "below_54", "above_180", "above_250", "minutes",
           "sum_low_risk", "sum_high_risk", "sum_bg", "sum_bg2", "step_low_risk",
           "step_high_risk", "cost", "reward")
"""The records' (n,) float arrays a step books (:func:`pkgym.envs.insulin.kernel.score_rows`)."""
UVA_SUBSTEPS = 2
"""RK4 steps per minute of the UVA/Padova truth (:func:`uva.advance`'s default)."""
UVA_VG = uva.PARAM_NAMES.index("Vg")
PARALLEL_ROWS = 64
"""Rows from which a step's UVA/Padova minutes run on every core."""
HOVORKA_AGE_YEARS = 40.0
"""Age shown for Hovorka patients (adults; the population has no age; ours)."""
HOVORKA_CANDIDATES = 16
"""Hovorka draws tried per patient seed (7.8 % of draws have no basal; 16 fail with ~1e-18)."""


@dataclass(frozen=True, slots=True)
class ClinicSettings:
    """Everything that defines the clinic except the policy."""

    scenario: InsulinScenario

    @property
    def dose_levels_mg(self) -> np.ndarray:
        """Insulin of the action levels, U per decision step (the shells' name for it)."""
        return np.asarray(self.scenario.insulin_levels_u, dtype=np.float64)

    @property
    def pump(self) -> PumpParameters:
        """The pump's limits and steps."""
        return insulin_pump(self.scenario.pump)

    @property
    def n_meals(self) -> int:
        """Meal slots per episode: every slot of every calendar day it touches."""
        return self.scenario.meals.n_slots * (self.scenario.n_days + 1)

    def sample_cohort(self, n: int, root: np.random.SeedSequence, start: int = 0
                      ) -> pd.DataFrame:
        """Rows ``start .. start+n-1`` of ``root``: profiles cycled in a seeded order.

        Row k's seeds come from its own child seed; its profile is entry ``k % 30`` of a
        seeded permutation of the 30 profiles for block ``k // 30`` (UVA/Padova), so any 30
        consecutive rows of a block hold each profile once, and row k is the same in any
        cohort size.

        Examples:
            >>> settings = clinic_settings(InsulinScenario())
            >>> whole = settings.sample_cohort(4, np.random.SeedSequence(1))
            >>> part = settings.sample_cohort(2, np.random.SeedSequence(1), start=2)
            >>> whole.iloc[2:].reset_index(drop=True).equals(part)
            True
        """
        key, rows = root.spawn_key, []
        for k in range(start, start + n):
            seeds = np.random.default_rng(np.random.SeedSequence(
                root.entropy, spawn_key=(*key, k, 0))).integers(0, SEED_HIGH, 3)
            if self.scenario.model == "uva_padova":
                order = np.random.default_rng(np.random.SeedSequence(
                    root.entropy, spawn_key=(*key, k // len(PROFILES), 1))).permutation(
                    len(PROFILES))
                profile = PROFILES[int(order[k % len(PROFILES)])]
            else:
                profile = HOVORKA_PROFILE
            rows.append({"id": k, "profile": profile,
                         **{name: int(v) for name, v in zip(SEED_KEYS, seeds, strict=True)}})
        cohort = pd.DataFrame(rows, columns=["id", "profile", *SEED_KEYS])
        cohort.attrs.update(seed_entropy=root.entropy, seed_spawn_key=root.spawn_key,
                            start=start)
        return cohort


def clinic_settings(scenario: InsulinScenario) -> ClinicSettings:
    """The core's settings of ``scenario``.

    Examples:
        >>> clinic_settings(InsulinScenario()).dose_levels_mg[[0, -1]].tolist()
        [0.0, 8.0]
    """
    return ClinicSettings(scenario)


# ----- the truths -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PatientStart:
    """A batch of patients at the episode's start (one truth), each array with n rows."""

    profile_index: np.ndarray  # (n,) int, -1 for Hovorka
    params: np.ndarray  # (n, n_params)
    state: np.ndarray  # (n, n_states)
    pump_settings: np.ndarray  # (n, 5): basal U/h, CR g/U, CF mg/dL/U, weight kg, age y


def uva_start(profiles: Sequence[str]) -> PatientStart:
    """Simglucose's patients at their steady state (basal ``u2ss BW / 6000`` U/min).

    Examples:
        >>> uva_start(["adult#001"]).pump_settings.round(3).tolist()
        [[1.267, 10.0, 8.773, 102.32, 61.0]]
    """
    idx = np.array([PROFILES.index(name) for name in profiles], dtype=np.int64)
    p = UVA_PATIENTS.take(idx)
    settings = np.column_stack([60.0 * p.basal_insulin_u_per_min, p.carb_ratio_g_per_u,
                                p.correction_factor_mg_per_dl_per_u, p.body_weight_kg,
                                p.age_years])
    return PatientStart(idx, p.parameters.copy(), p.initial_states.copy(), settings)


def hovorka_start(patient_seeds: Sequence[int], basal_glucose_mg_per_dl: float) -> PatientStart:
    """Hovorka patients: the first admissible draw of each seed, at its fasting steady state.

    Candidates are ``hovorka_population(16, seed)`` in order; a draw whose basal insulin for
    the fasting glucose (or whose steady state) does not exist is rejected. Pump settings:
    the basal rate for that glucose rounded to the pump's 0.05 U/h steps (at least 0.05),
    the patient starting at the steady state of that programmed rate (so near, not at, the
    fasting glucose); total daily insulin TDI = 2 x basal x 24 h (basal half of
    TDI), carb ratio 500 / TDI and correction factor 1800 / TDI (the "500" and "1800" rules
    of pump therapy, Walsh J & Roberts R, Pumping Insulin; ours to apply here).

    Examples:
        >>> hovorka_start([1], 126.0).state.shape
        (1, 10)
    """
    glucose_mmol = basal_glucose_mg_per_dl * 10.0 / hovorka.GLUCOSE_MG_PER_MMOL
    pump = insulin_pump("Insulet")
    rows, states, basals = [], [], []
    for seed in patient_seeds:
        candidates = hovorka.hovorka_population(HOVORKA_CANDIDATES, seed=int(seed))
        for row in candidates.parameters:
            one = hovorka.HovorkaPatients(parameters=row[None, :])
            try:
                exact = hovorka.basal_insulin_u_per_min(one, glucose_mmol)
                basal = np.maximum(quantise_basal_u_per_h(60.0 * exact, pump), 0.05) / 60.0
                state = hovorka.steady_state(one, basal)
            except ValueError:
                continue
            rows.append(row)
            states.append(state[0])
            basals.append(float(basal[0]))
            break
        else:
            raise ValueError(f"patient_seed {seed} has no admissible Hovorka draw")
    params, basal_u_per_h = np.array(rows), 60.0 * np.array(basals)
    tdi = 2.0 * basal_u_per_h * 24.0
    weight = params[:, hovorka.PARAM_NAMES.index("body_weight_kg")]
    settings = np.column_stack([basal_u_per_h, 500.0 / tdi, 1800.0 / tdi, weight,
                                np.full(len(rows), HOVORKA_AGE_YEARS)])
    return PatientStart(np.full(len(rows), -1, np.int64), params, np.array(states), settings)


def simulate_minutes(model: str, params: np.ndarray, state: np.ndarray, memory: np.ndarray,
                     pending_g: np.ndarray, insulin_u_per_min: np.ndarray,
                     announced_g: np.ndarray) -> tuple[np.ndarray, ...]:
    """Advance a batch of one truth minute by minute (pure): the core's and planners' physics.

    Announced grams are eaten at 5 g/min (simglucose's ``meal_intake``). The sensor reads
    subcutaneous glucose Gs / Vg (UVA/Padova, as simglucose's CGM) or plasma glucose (Hovorka
    2004 has no interstitial compartment).

    Args:
        model: ``uva_padova`` or ``hovorka2004``.
        params: (n, n_params).
        state: (n, n_states).
        memory: (n, 3) UVA meal memory.
        pending_g: (n,) grams announced, not yet eaten.
        insulin_u_per_min: (n, m) insulin per minute, U/min.
        announced_g: (n, m) grams announced at each minute.

    Returns:
        ``(state, memory, pending_g, bg_mg_per_dl (n, m), sensor_mg_per_dl (n,),
        eaten_g (n,))``: plasma glucose at the end of each minute, the sensor's glucose and
        the carbohydrate eaten at the end.
    """
    carbs, pending = uva.meal_intake(announced_g, pending_g)
    n = params.shape[0]
    if model == "uva_padova":
        zeros = np.zeros(n)
        patients = uva.UvaPadovaPatients(
            names=("",) * n, parameters=params, initial_states=np.zeros((n, uva.N_STATES)),
            carb_ratio_g_per_u=zeros, correction_factor_mg_per_dl_per_u=zeros,
            age_years=zeros, total_daily_insulin_u=zeros)
        state, memory, bg = uva.advance(state, patients, insulin_u_per_min, carbs,
                                        insulin_u_per_min.shape[1], memory)
    else:
        patients_h = hovorka.HovorkaPatients(parameters=params)
        state, glucose = hovorka.advance(state, patients_h, insulin_u_per_min, carbs,
                                         insulin_u_per_min.shape[1])
        bg = glucose * hovorka.GLUCOSE_MG_PER_MMOL / 10.0
    return state, memory, pending, bg, sensor_glucose(model, params, state), carbs.sum(axis=1)


def advance_rows(model: str, records: ClinicRecords, rows: np.ndarray, delivered_u: np.ndarray,
                 step_minutes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`simulate_minutes` of ``rows`` at their step, written into ``records`` in place.

    ``delivered_u`` (k,) runs as a constant rate over the step; the meals announced in it
    are eaten as :func:`simulate_minutes` eats them. UVA/Padova rows run in one compiled
    pass (:func:`pkgym.envs.insulin.kernel.uva_rows`, on every core from
    :data:`PARALLEL_ROWS` rows), Hovorka rows through :func:`hovorka.advance`.

    Returns:
        ``(bg_mg_per_dl (k, step_minutes), sensor_mg_per_dl (k,), eaten_g (k,))``.
    """
    r, k = records, rows.size
    bg, sensor, eaten = np.empty((k, step_minutes)), np.empty(k), np.empty(k)
    if model == "uva_padova":
        advance = uva_rows if k >= PARALLEL_ROWS else uva_rows_serial
        advance(rows, r.step, step_minutes, r.meal_minutes, r.meal_grams, r.pending_g,
                delivered_u, r.state, r.params, r.memory, UVA_SUBSTEPS, UVA_VG, bg, sensor,
                eaten)
        return bg, sensor, eaten
    insulin, carbs = np.empty((k, step_minutes)), np.empty((k, step_minutes))
    intake_rows(rows, r.step, step_minutes, r.meal_minutes, r.meal_grams, r.pending_g,
                delivered_u, insulin, carbs, eaten)
    params = r.params[rows]
    state, glucose = hovorka.advance(r.state[rows], hovorka.HovorkaPatients(parameters=params),
                                     insulin, carbs, step_minutes)
    r.state[rows] = state
    bg[:] = glucose * hovorka.GLUCOSE_MG_PER_MMOL / 10.0
    sensor[:] = sensor_glucose(model, params, state)
    return bg, sensor, eaten


def plasma_glucose(model: str, params: np.ndarray, state: np.ndarray) -> np.ndarray:
    """True plasma glucose of each state, mg/dL (UVA: Gp / Vg; Hovorka: Q1 / (VG BW)).

    Examples:
        >>> start = uva_start(["adult#001"])
        >>> plasma_glucose("uva_padova", start.params, start.state).round(2).tolist()
        [138.56]
    """
    if model == "uva_padova":
        return state[:, 3] / params[:, uva.PARAM_NAMES.index("Vg")]
    p = hovorka.PARAM_NAMES
    volume = params[:, p.index("vg_l_per_kg")] * params[:, p.index("body_weight_kg")]
    return state[:, 8] / volume * hovorka.GLUCOSE_MG_PER_MMOL / 10.0


def sensor_glucose(model: str, params: np.ndarray, state: np.ndarray) -> np.ndarray:
    """The glucose a CGM reads, mg/dL: UVA subcutaneous Gs / Vg; Hovorka plasma glucose."""
    if model == "uva_padova":
        return state[:, 12] / params[:, uva.PARAM_NAMES.index("Vg")]
    return plasma_glucose(model, params, state)


# ----- meals, pump, insulin on board --------------------------------------------------------
def draw_meals(scenario: InsulinScenario, meal_seeds: Sequence[int]
               ) -> tuple[np.ndarray, np.ndarray]:
    """Each patient's meals: start minutes since the episode's start (-1: none) and grams.

    One simglucose day per calendar day the episode touches (``n_days + 1``); meals before
    the start or at/after the end are dropped. Each slot draws (take, time, amount) from the
    patient's meal Generator: ``u < probability``; the truncated normal time by inversion of
    a uniform, rounded to the minute; ``max(round(N(mean_g, sd_g)), 0)`` g.

    Examples:
        >>> minutes, grams = draw_meals(InsulinScenario(), [0])
        >>> minutes.shape, bool(grams.sum() > 0)
        ((1, 12), True)
    """
    plan, n_days = scenario.meals, scenario.n_days
    mean, sd = 60.0 * np.asarray(plan.mean_h), np.asarray(plan.sd_min)
    low = ndtr((60.0 * np.asarray(plan.earliest_h) - mean) / sd)
    high = ndtr((60.0 * np.asarray(plan.latest_h) - mean) / sd)
    shape = (n_days + 1, plan.n_slots)
    cells = shape[0] * shape[1]  # each patient's own Generator: take, u, then z
    uniforms, normals = seeded_draws(np.asarray(meal_seeds, dtype=np.int64), 2 * cells, cells)
    take = uniforms[:, :cells].reshape(len(meal_seeds), *shape)
    u = uniforms[:, cells:].reshape(len(meal_seeds), *shape)
    z = normals.reshape(len(meal_seeds), *shape)
    # element by element the same operations as one patient at a time, all patients at once
    clock = np.round(mean + sd * ndtri(low + u * (high - low)))
    amount = np.maximum(np.round(np.asarray(plan.mean_g) + np.asarray(plan.sd_g) * z), 0)
    day_offset = 1440.0 * np.arange(shape[0])[:, None] - 60.0 * scenario.start_hour
    start = (clock + day_offset).reshape(len(meal_seeds), -1)
    amount = amount.reshape(len(meal_seeds), -1)
    keep = ((take < np.asarray(plan.probability)).reshape(len(meal_seeds), -1) & (start >= 0)
            & (start < 1440.0 * n_days) & (amount > 0))
    minutes, grams = np.where(keep, start, -1.0), np.where(keep, amount, 0.0)
    return minutes, grams


def announced_per_minute(meal_minutes: np.ndarray, meal_grams: np.ndarray, first_minute:
                         np.ndarray, n_minutes: int) -> np.ndarray:
    """Grams announced (meals starting) at each of ``n_minutes`` minutes from ``first_minute``.

    Examples:
        >>> announced_per_minute(np.array([[7.0, -1.0]]), np.array([[50.0, 0.0]]),
        ...                      np.array([5]), 5).tolist()
        [[0.0, 0.0, 50.0, 0.0, 0.0]]
    """
    offset = meal_minutes - first_minute[:, None]
    out = np.zeros((meal_minutes.shape[0], n_minutes))
    for j in range(n_minutes):
        out[:, j] = np.where(offset == j, meal_grams, 0.0).sum(axis=1)
    return out


def pump_delivery_u(amount_u: np.ndarray, pump: PumpParameters, step_minutes: int
                    ) -> np.ndarray:
    """Insulin the pump delivers over one decision step for each requested amount, U.

    Up to the pump's maximum basal rate the amount runs as a temporary basal rate (0.05 U/h
    steps); the rest is a bolus (0.05 U steps, at most the pump's maximum bolus).

    Examples:
        >>> pump_delivery_u(np.array([0.1, 0.003, 8.0]), insulin_pump("Insulet"), 5).round(
        ...     5).tolist()
        [0.1, 0.00417, 8.0]
    """
    per_hour = 60.0 / step_minutes
    amount = np.asarray(amount_u, dtype=np.float64)
    out = np.empty(amount.shape)
    if amount.ndim == 1 and pump_amounts(
            amount, per_hour, (pump.inc_basal_u_per_h, pump.min_basal_u_per_h,
                               pump.max_basal_u_per_h),
            (pump.inc_bolus_u, pump.min_bolus_u, pump.max_bolus_u), out):
        return out  # compiled, the operations below
    rate = quantise_basal_u_per_h(np.minimum(amount_u * per_hour, pump.max_basal_u_per_h), pump)
    basal = rate / per_hour
    return basal + quantise_bolus_u(np.maximum(amount_u - basal, 0.0), pump)


def iob_weights(scenario: InsulinScenario) -> np.ndarray:
    """Insulin-on-board weight of the insulin delivered k = 1, 2, ... steps ago (linear curve).

    ``w_k = max(0, 1 - (k - 1/2) step / DIA)``: a step's insulin counted at its midpoint, all
    of it on board at delivery, none after the insulin action duration DIA (4 h by default;
    the linear approximation of bolus calculators, e.g. Walsh & Roberts, Pumping Insulin).

    Examples:
        >>> iob_weights(InsulinScenario(insulin_action_h=0.5))[:3].round(4).tolist()
        [0.9167, 0.75, 0.5833]
    """
    step = scenario.step_minutes
    n = int(np.ceil(60.0 * scenario.insulin_action_h / step))
    return np.maximum(0.0, 1.0 - (np.arange(1, n + 1) - 0.5) * step
                      / (60.0 * scenario.insulin_action_h))


# ----- pinning and records ------------------------------------------------------------------
def pinned_patient(given: Mapping[str, Any], model: str) -> dict[str, Any]:
    """A pinned row's validated fields (:data:`COHORT_SCHEMA`, plus ``id``).

    Examples:
        >>> pinned_patient({"profile": "adult#001", "patient_seed": 0, "meal_seed": 1,
        ...                 "noise_seed": 2}, "uva_padova")["profile"]
        'adult#001'
    """
    row = dict(given.items())
    allowed = (*COHORT_SCHEMA.columns, "id")
    unknown = sorted(set(row) - set(allowed))
    if unknown:
        raise ValueError(f"unknown patient field(s) {unknown}; allowed: {allowed}")
    out = dict(validate_pinned(row, COHORT_SCHEMA))
    hovorka_row = out["profile"] == HOVORKA_PROFILE
    if hovorka_row != (model == "hovorka2004"):
        raise ValueError(f"profile {out['profile']!r} does not belong to the scenario's model "
                         f"{model!r}: use {HOVORKA_PROFILE!r} for hovorka2004, else one of "
                         f"simglucose's names")
    if "id" in row:
        out["id"] = int(row["id"])
    return out


@dataclass(slots=True)
class ClinicRecords:
    """Everything that happened to each patient, true and measured (batched, in place).

    Attributes:
        profile_index: simglucose profile (n,), -1 for Hovorka. params: (n, n_params) truth.
        state: (n, n_states) true state now. memory: (n, 3) UVA meal memory. pending_g: (n,).
        pump_settings: (n, 5) basal U/h, CR g/U, CF mg/dL/U, weight kg, age years.
        meal_minutes, meal_grams: (n, n_meals) meal starts (-1: none) and carbs, g.
        step: decisions taken (n,). iob_u, announced_now_g: (n,) now.
        cgm, bg, noise: (n, n_steps + 1) CGM reading, true plasma BG and CGM error at each
            decision time, mg/dL. delivered_u, eaten_g: (n, n_steps) per step.
        minutes, in_range, below_70, below_54, above_180, above_250: minute counts (n,).
        sum_low_risk, sum_high_risk, sum_bg, sum_bg2: sums over minutes (n,).
        step_low_risk, step_high_risk, cost, reward: the last step's (n,). terminated: (n,).
        patient_id, patient_seed, meal_seed, noise_seed: the row (n,) int64 (id -1: drawn).
        seed_entropy: slot seed entropy (n,) object.
    """

    profile_index: np.ndarray
    params: np.ndarray
    state: np.ndarray
    memory: np.ndarray
    pending_g: np.ndarray
    pump_settings: np.ndarray
    meal_minutes: np.ndarray
    meal_grams: np.ndarray
    step: np.ndarray
    iob_u: np.ndarray
    announced_now_g: np.ndarray
    cgm: np.ndarray
    bg: np.ndarray
    noise: np.ndarray
    delivered_u: np.ndarray
    eaten_g: np.ndarray
    minutes: np.ndarray
    in_range: np.ndarray
    below_70: np.ndarray
    below_54: np.ndarray
    above_180: np.ndarray
    above_250: np.ndarray
    sum_low_risk: np.ndarray
    sum_high_risk: np.ndarray
    sum_bg: np.ndarray
    sum_bg2: np.ndarray
    step_low_risk: np.ndarray
    step_high_risk: np.ndarray
    cost: np.ndarray
    reward: np.ndarray
    terminated: np.ndarray
    patient_id: np.ndarray
    patient_seed: np.ndarray
    meal_seed: np.ndarray
    noise_seed: np.ndarray
    seed_entropy: np.ndarray


def patient_starts(settings: ClinicSettings, rows: Sequence[Mapping[str, Any]]) -> PatientStart:
    """The truth's start of each row (validated rows: profile and seeds)."""
    s = settings.scenario
    if s.model == "uva_padova":
        return uva_start([row["profile"] for row in rows])
    return hovorka_start([int(row["patient_seed"]) for row in rows],
                         s.hovorka_basal_glucose_mg_per_dl)


def new_records(settings: ClinicSettings, rows: Sequence[Mapping[str, Any]],
                seed_entropy: np.ndarray) -> ClinicRecords:
    """Records of fresh episodes at the start (one CGM sample taken) for validated ``rows``."""
    s, n = settings.scenario, len(rows)
    start = patient_starts(settings, rows)
    seeds = {key: np.array([int(row[key]) for row in rows], dtype=np.int64) for key in SEED_KEYS}
    sensor = cgm_sensor(s.sensor)  # each patient's noise Generator: the start's latent first
    _, normals = seeded_draws(seeds["noise_seed"], 0, s.n_steps + 2)
    noise, _ = cgm_noise_from_normals(sensor, normals[:, 0] * sensor.latent_sd,
                                      np.ascontiguousarray(normals[:, 1:]),
                                      float(s.step_minutes))
    meal_minutes, meal_grams = draw_meals(s, seeds["meal_seed"].tolist())
    per_step, per_sample, zeros = np.zeros((n, s.n_steps)), np.zeros((n, s.n_steps + 1)), \
        np.zeros(n)
    memory = (uva.initial_meal_memory(start.state) if s.model == "uva_padova"
              else np.zeros((n, uva.N_MEMORY)))
    records = ClinicRecords(
        profile_index=start.profile_index, params=start.params, state=start.state,
        memory=memory, pending_g=zeros.copy(), pump_settings=start.pump_settings,
        meal_minutes=meal_minutes, meal_grams=meal_grams, step=np.zeros(n, np.int64),
        iob_u=zeros.copy(), announced_now_g=zeros.copy(), cgm=per_sample.copy(),
        bg=per_sample.copy(), noise=noise, delivered_u=per_step.copy(), eaten_g=per_step,
        **{name: zeros.copy() for name in (
            "minutes", "in_range", "below_70", "below_54", "above_180", "above_250",
            "sum_low_risk", "sum_high_risk", "sum_bg", "sum_bg2", "step_low_risk",
            "step_high_risk", "cost", "reward")},
        terminated=np.zeros(n, bool),
        patient_id=np.array([int(row.get("id", -1)) for row in rows], dtype=np.int64),
        **seeds, seed_entropy=seed_entropy)
    return records
