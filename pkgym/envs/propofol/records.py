"""What the theatre holds for each patient: settings, population, pinning, records, measuring.

A patient row is the covariates of :data:`PATIENT_KEYS` plus optional random effects
``eta_<name>`` (:data:`pkgym.models.propofol_eleveld.ETA_NAMES`) and ``id``. Time runs in
decision steps from the start of the infusion; step k ends at ``(k + 1) step_seconds`` s.
Each patient's exact step (its propagator) and the propagator to its delayed BIS sample are
computed once, at reset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pkgym.envs.pinning import validate_pinned, validate_pinned_etas
from pkgym.envs.propofol.clinic import PropofolScenario
from pkgym.models.propofol_eleveld import (
    ETA_NAMES,
    N_STATES,
    BisPD,
    EffectSitePK,
    Eleveld2018,
    bis_of_ce,
    eleveld_pd,
    eleveld_pk,
    step_propagator,
)
from pkgym.populations.body_size import BodySize
from pkgym.populations.cohort import CohortSchema, ColumnRule
from pkgym.populations.discrete import Bernoulli
from pkgym.populations.distributions import BoundedNormal
from pkgym.populations.population import Population
from pkgym.sim.layout import step_major, transpose_into

PATIENT_KEYS = ("age_years", "weight_kg", "height_cm", "is_female", "opioid")
"""Covariates a pinned patient must give (the anaesthetist knows them)."""
ETA_KEYS = tuple(f"eta_{name}" for name in ETA_NAMES)
COHORT_SCHEMA = CohortSchema(columns={
    "age_years": ColumnRule(low=18.0, high=100.0, unit="years"),
    "weight_kg": ColumnRule(low=30.0, high=250.0, unit="kg"),
    "height_cm": ColumnRule(low=120.0, high=230.0, unit="cm"),
    "is_female": ColumnRule(low=0, high=1, unit="0/1", integer=True),
    "opioid": ColumnRule(low=0, high=1, unit="0/1 (remifentanil co-administered)",
                         integer=True)})
"""Columns a pinned patient or a cohort file must have (adults: the env's population)."""
PLACEHOLDER = {"age_years": 35.0, "weight_kg": 70.0, "height_cm": 170.0, "is_female": 0.0,
               "opioid": 0.0}
"""Eleveld's reference individual, held by the slots before their first reset."""


def adult_population(scenario: PropofolScenario) -> Population:
    """Adults having anaesthesia (the env card's population; the age law is chosen).

    50 % women, age normal (50, 17) truncated to 18-85 y, NHANES height and weight by sex
    (:class:`~pkgym.populations.body_size.BodySize`), remifentanil with
    ``opioid_probability``.

    Examples:
        >>> adult_population(PropofolScenario()).columns[1:]
        ('is_female', 'age_years', 'height_cm', 'weight_kg', 'opioid')
    """
    return Population(covariates={
        "is_female": Bernoulli(p=0.5),
        "age_years": BoundedNormal(mean=scenario.age_mean_years, sd=scenario.age_sd_years,
                                   low=18.0, high=85.0),
        "body_size": BodySize(), "opioid": Bernoulli(p=scenario.opioid_probability)})


@dataclass(frozen=True, slots=True)
class ClinicSettings:
    """Everything that defines the theatre except the policy: scenario, truth, population."""

    scenario: PropofolScenario
    model: Eleveld2018
    population: Population

    @property
    def dose_levels_mg(self) -> np.ndarray:
        """Infusion rates of the action levels, mg/kg/h (the shells' name for them)."""
        return np.asarray(self.scenario.rate_levels_mg_per_kg_per_h, dtype=np.float64)


def clinic_settings(scenario: PropofolScenario) -> ClinicSettings:
    """The core's settings of ``scenario``.

    Examples:
        >>> clinic_settings(PropofolScenario()).dose_levels_mg[[0, -1]].tolist()
        [0.0, 160.0]
    """
    return ClinicSettings(scenario, Eleveld2018(), adult_population(scenario))


@dataclass(slots=True)
class ClinicRecords:
    """Everything that happened to each patient, true and measured (batched, in place).

    Attributes:
        covariates: (n, 5) age y, weight kg, height cm, female, opioid. etas: (n, 9).
        pk: (n, 7) V1, V2, V3 L, CL, Q2, Q3 L/min, ke0 /min (:class:`EffectSitePK` order).
        pd: (n, 6) Ce50, gamma, gamma2, BIS0, delay s, residual SD (:class:`BisPD` order).
        transition, input: the exact step (n, 4, 4), (n, 4).
        lag_steps: (n,) int; delay_transition, delay_input: the step from the start of step
            ``k - lag`` to the BIS sample seen at the end of step k (n, 4, 4), (n, 4).
        step: decisions taken (n,). states: (n, n_steps + 1, 4) at each step's end.
        rates: (n, n_steps) mg/kg/h. bis_true, bis_measured, noise: (n, n_steps + 1).
        The four histories are stored step by step (:func:`pkgym.sim.layout.step_major`) in
        batches built here; a batch's rows taken as fresh arrays are C order.
        in_range, below_40, above_60: counts over the step ends (n,). induction_step: the
            first step ending with BIS < 60, -1 before (n,). total_mg_per_kg, reward: (n,).
        patient_id, seed_entropy: cohort id (-1 drawn), slot seed entropy (n,).
    """

    covariates: np.ndarray
    etas: np.ndarray
    pk: np.ndarray
    pd: np.ndarray
    transition: np.ndarray
    input: np.ndarray
    lag_steps: np.ndarray
    delay_transition: np.ndarray
    delay_input: np.ndarray
    step: np.ndarray
    states: np.ndarray
    rates: np.ndarray
    bis_true: np.ndarray
    bis_measured: np.ndarray
    noise: np.ndarray
    in_range: np.ndarray
    below_40: np.ndarray
    above_60: np.ndarray
    induction_step: np.ndarray
    total_mg_per_kg: np.ndarray
    reward: np.ndarray
    patient_id: np.ndarray
    seed_entropy: np.ndarray


def pk_of(pk: np.ndarray) -> EffectSitePK:
    """The (n, 7) PK columns as :class:`EffectSitePK`."""
    return EffectSitePK(*(pk[:, j] for j in range(pk.shape[1])))


def pd_of(pd: np.ndarray) -> BisPD:
    """The (n, 6) PD columns as :class:`BisPD`."""
    return BisPD(*(pd[:, j] for j in range(pd.shape[1])))


def pinned_patient(given: Mapping[str, Any], model: Eleveld2018) -> dict[str, float]:
    """A pinned patient's covariates (cohort schema), given etas (range-checked) and id.

    Examples:
        >>> row = pinned_patient({**PLACEHOLDER, "eta_CL": 0.1}, Eleveld2018())
        >>> row["weight_kg"], row["eta_CL"]
        (70.0, 0.1)
    """
    row = dict(given.items())
    allowed = (*PATIENT_KEYS, *ETA_KEYS, "id")
    unknown = sorted(set(row) - set(allowed))
    if unknown:
        raise ValueError(f"unknown patient field(s) {unknown}; allowed: {allowed}")
    out = {key: float(value) for key, value in validate_pinned(row, COHORT_SCHEMA).items()}
    out.update(validate_pinned_etas(row, model.variability))
    if "id" in row:
        out["id"] = float(row["id"])
    return out


def new_records(settings: ClinicSettings, table: Mapping[str, np.ndarray], etas: np.ndarray,
                noise: np.ndarray, seed_entropy: np.ndarray) -> ClinicRecords:
    """Records of fresh episodes at time 0 (drug-free, the first BIS sample taken).

    Args:
        settings: the theatre.
        table: one (n,) array per :data:`PATIENT_KEYS` key and ``id``.
        etas: (n, 9) random effects.
        noise: (n, n_steps + 1) standard normals of the BIS residual error.
        seed_entropy: root seed entropy of each slot, (n,) object.
    """
    s, n = settings.scenario, etas.shape[0]
    cov = np.column_stack([np.asarray(table[key], dtype=np.float64) for key in PATIENT_KEYS])
    pk = eleveld_pk(settings.model, cov[:, 0], cov[:, 1], cov[:, 2], cov[:, 3], cov[:, 4],
                    etas=etas)
    pd = eleveld_pd(settings.model, cov[:, 0], etas=etas)
    step = step_propagator(pk, s.step_min)
    lag = np.ceil(pd.delay_s / s.step_seconds).astype(np.int64)
    delayed = step_propagator(pk, (lag * s.step_seconds - pd.delay_s) / 60.0)
    states = step_major(n, (s.n_steps + 1, N_STATES))
    bis = step_major(n, (s.n_steps + 1,))
    bis[:, 0] = pd.bis_baseline
    measured = step_major(n, (s.n_steps + 1,))  # zeros after the first sample, as bis
    measured[:, 0] = measure_bis(pd.bis_baseline, pd.residual_sd * s.bis_noise_scale,
                                 noise[:, 0])
    noise_by_step = step_major(n, (s.n_steps + 1,))
    transpose_into(np.ascontiguousarray(noise, dtype=np.float64), noise_by_step.T)
    zeros = np.zeros(n)
    return ClinicRecords(
        covariates=cov, etas=np.asarray(etas, dtype=np.float64), pk=pk.as_array(),
        pd=pd.as_array(), transition=step.transition, input=step.input, lag_steps=lag,
        delay_transition=delayed.transition, delay_input=delayed.input,
        step=np.zeros(n, np.int64), states=states, rates=step_major(n, (s.n_steps,)),
        bis_true=bis, bis_measured=measured, noise=noise_by_step,
        in_range=zeros.copy(), below_40=zeros.copy(), above_60=zeros.copy(),
        induction_step=np.full(n, -1, np.int64), total_mg_per_kg=zeros.copy(),
        reward=zeros.copy(), patient_id=np.asarray(table["id"], dtype=np.int64),
        seed_entropy=seed_entropy)


def measure_bis(bis: np.ndarray, sd: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """A monitor's reading: BIS plus additive error, clipped to 0-100.

    Examples:
        >>> measure_bis(np.array([93.0, 50.0]), np.array([8.0, 8.0]), np.array([2.0, 0.5]))
        array([100.,  54.])
    """
    return np.clip(bis + sd * normals, 0.0, 100.0)


def delayed_bis(records: ClinicRecords, rows: np.ndarray, step_end: np.ndarray) -> np.ndarray:
    """The noise-free BIS the monitor shows at the end of step ``step_end - 1`` (delayed).

    The effect site at ``t - delay`` is exact: the state at the start of step ``step_end -
    lag`` advanced over ``lag * dt - delay`` at that step's rate; before time 0 the baseline.
    """
    start = step_end - records.lag_steps[rows]
    ok = start >= 0
    index = np.maximum(start, 0)
    state = records.states[rows, index]
    rate = np.where(start < records.rates.shape[1],
                    records.rates[rows, np.minimum(index, records.rates.shape[1] - 1)], 0.0)
    rate_mg_per_min = rate * records.covariates[rows, 1] / 60.0
    moved = (np.einsum("nij,nj->ni", records.delay_transition[rows], state)
             + records.delay_input[rows] * rate_mg_per_min[:, None])
    pd = pd_of(records.pd[rows])
    bis = bis_of_ce(moved[:, 3], pd)
    return np.where(ok, bis, pd.bis_baseline)


def draw_patients(settings: ClinicSettings, uniforms: np.ndarray, normals: np.ndarray,
                  pinned: Sequence[dict[str, float] | None]) -> tuple[dict[str, np.ndarray],
                                                                      np.ndarray]:
    """Covariates and etas of drawn patients, pinned fields replacing the drawn ones."""
    table = settings.population.from_uniforms(uniforms)
    table = {key: np.asarray(table[key], dtype=np.float64) for key in PATIENT_KEYS}
    table["id"] = np.full(uniforms.shape[0], -1.0)
    etas = settings.model.variability.etas_from_normals(normals)
    for k, row in enumerate(pinned):
        for key, value in (row or {}).items():
            if key in ETA_KEYS:
                etas[k, ETA_KEYS.index(key)] = value
            else:
                table[key][k] = value
    return table, etas
