"""What the transplant clinic holds for each patient: settings, schedule, pinning, records.

Batched arrays (n patients first) that the core fills in place visit by visit. Time runs from
the first MMF dose (day 0, 08:00); administration j is given at ``12 j`` h. The decision of
visit k starts at administration :func:`first_administrations` ``[k]``: the first dose on
day 0, else the evening dose of the visit day (the morning dose of a visit day is given at
the current dose and sampled around, so the new dose starts 12 h later).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pkgym.envs.mycophenolate.clinic import COVARIATES, MycophenolateScenario
from pkgym.envs.pinning import validate_pinned, validate_pinned_etas
from pkgym.models.mycophenolate import ETA_NAMES, N_STATES, DeWinter2009
from pkgym.populations import BetweenSubjectVariability
from pkgym.populations import mycophenolate as population
from pkgym.populations.cohort import CohortSchema, ColumnRule
from pkgym.populations.residual import ResidualError

INTERVAL_H = 12.0
"""MMF twice daily (08:00 and 20:00)."""
ETA_KEYS = tuple(f"eta_{name}" for name in ETA_NAMES)
FIELD_RULES: dict[str, tuple[float, float, str, bool]] = {
    "ciclosporin": (0, 1, "0/1 (0: tacrolimus)", True),
    "albumin_g_per_l": (10.0, 60.0, "g/L (day 0)", False),
    "albumin_g_per_l_late": (10.0, 70.0, "g/L (recovered)", False),
    "creatinine_clearance_ml_per_min": (2.0, 200.0, "mL/min (day 0)", False),
    "creatinine_clearance_ml_per_min_late": (2.0, 250.0, "mL/min (recovered)", False),
    "crcl_recovery_days": (0.5, 365.0, "days", False),
    "albumin_recovery_days": (0.5, 730.0, "days", False),
    "weight_kg": (30.0, 250.0, "kg", False),
    "age_years": (16.0, 100.0, "years", False),
    "female": (0, 1, "0/1", True)}
"""(low, high, unit, whole number) of each of the population module's patient fields
(:func:`pkgym.populations.mycophenolate.patients_from_uniforms`): physiological bounds,
wider than the population's truncations, for cohorts and pinned patients."""
PATIENT_KEYS: tuple[str, ...] = tuple(FIELD_RULES)
COHORT_SCHEMA = CohortSchema(columns={
    name: ColumnRule(low=low, high=high, unit=unit, integer=integer)
    for name, (low, high, unit, integer) in FIELD_RULES.items()})
"""Columns a pinned patient or a cohort file must have, with their physiological ranges."""


@dataclass(frozen=True, slots=True)
class PatientModel:
    """The truth: de Winter 2009 and its between-subject variability (for cohorts)."""

    pk: DeWinter2009

    @property
    def variability(self) -> BetweenSubjectVariability:
        """Etas of :data:`pkgym.models.mycophenolate.ETA_NAMES` with the model's omega."""
        return BetweenSubjectVariability(names=ETA_NAMES, omega=self.pk.omega)


@dataclass(frozen=True, slots=True)
class ClinicSettings:
    """Everything that defines the clinic except the policy (see the env card)."""

    scenario: MycophenolateScenario
    model: PatientModel

    @property
    def dose_levels_mg(self) -> np.ndarray:
        """MMF per administration of the action levels, mg."""
        return np.asarray(self.scenario.dose_levels_mg, dtype=np.float64)

    def sample_cohort(self, n: int, root: np.random.SeedSequence, start: int = 0
                      ) -> pd.DataFrame:
        """Pinnable patients ``start .. start+n-1`` of ``root`` (patient k from its own seed).

        Examples:
            >>> settings = clinic_settings(MycophenolateScenario())
            >>> whole = settings.sample_cohort(4, np.random.SeedSequence(1))
            >>> part = settings.sample_cohort(2, np.random.SeedSequence(1), start=2)
            >>> bool(np.allclose(whole.iloc[2:, 1:].values, part.iloc[:, 1:].values))
            True
        """
        rows = []
        for k in range(start, start + n):
            seed = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, k))
            drawn = population.draw_patients(np.random.default_rng(seed), 1)
            row: dict[str, float] = {"id": float(k)}
            row.update({key: float(drawn[key][0]) for key in PATIENT_KEYS})
            row.update({key: float(v) for key, v in zip(ETA_KEYS, drawn["etas"][0], strict=True)})
            rows.append(row)
        cohort = pd.DataFrame(rows, columns=["id", *PATIENT_KEYS, *ETA_KEYS])
        cohort["id"] = cohort["id"].astype(np.int64)
        cohort.attrs.update(seed_entropy=root.entropy, seed_spawn_key=root.spawn_key,
                            start=start)
        return cohort


def clinic_settings(scenario: MycophenolateScenario) -> ClinicSettings:
    """The core's settings of ``scenario``.

    Examples:
        >>> clinic_settings(MycophenolateScenario()).dose_levels_mg[[0, -1]].tolist()
        [250.0, 2000.0]
    """
    return ClinicSettings(scenario, PatientModel(scenario.dewinter2009))


def first_administrations(scenario: MycophenolateScenario) -> np.ndarray:
    """Index of the first administration of each visit's decision, then the end, (n_steps + 1,).

    Examples:
        >>> first_administrations(MycophenolateScenario()).tolist()
        [0, 7, 15, 21, 29, 43, 56]
    """
    days = np.asarray(scenario.visit_days, dtype=np.int64)
    starts = np.where(days == 0, 0, 2 * days + 1)
    return np.append(starts, 2 * scenario.end_day)


@dataclass(slots=True)
class ClinicRecords:
    """Everything that happened to each patient, true and measured (batched, in place).

    Attributes:
        patients: the population's covariate fields by name, each (n,). etas: (n, 7).
        covariates_shown: weight, age, female, ciclosporin as the clinic sees them (n, 4).
        albumin_shown, crcl_shown: labs measured at each visit (n, n_steps), 0 until then.
        visit: decisions taken (n,); day: day of the current visit (end_day at the end) (n,).
        state: model states at the next administration, umol (n, 5).
        interval_states: states at the start of each administration (n, 2 end_day, 5).
        doses_mg: MMF of each administration (n, 2 end_day), 0 until given.
        interval_auc: true total MPA AUC of each 12-h interval, mg*h/L (n, 2 end_day).
        interval_trough: true total MPA at each interval's end, mg/L (n, 2 end_day).
        daily_auc: mean of the day's two interval AUCs (its AUC0-12), (n, end_day), 0 until
            the day is over. daily_trough: the trough before the next morning dose, same.
        level_times_h, levels_true, levels_mg_per_l, level_mask: samples (n, n_levels); a
            measured value below the LOQ is reported as 0.
        days_in_target, rejection_risk, toxic_days, days_done, reward: the last step's (n,).
        trough_uniforms (n, n_steps - 1), jitter_normals (n, n_steps - 1, n_post),
        assay_uniforms (n, n_levels): the episode's pre-drawn randomness.
        patient_id, seed_entropy: cohort id (-1 when drawn) and slot seed entropy (n,).
    """

    patients: dict[str, np.ndarray]
    etas: np.ndarray
    covariates_shown: np.ndarray
    albumin_shown: np.ndarray
    crcl_shown: np.ndarray
    visit: np.ndarray
    day: np.ndarray
    state: np.ndarray
    interval_states: np.ndarray
    doses_mg: np.ndarray
    interval_auc: np.ndarray
    interval_trough: np.ndarray
    daily_auc: np.ndarray
    daily_trough: np.ndarray
    level_times_h: np.ndarray
    levels_true: np.ndarray
    levels_mg_per_l: np.ndarray
    level_mask: np.ndarray
    days_in_target: np.ndarray
    rejection_risk: np.ndarray
    toxic_days: np.ndarray
    days_done: np.ndarray
    reward: np.ndarray
    trough_uniforms: np.ndarray
    jitter_normals: np.ndarray
    assay_uniforms: np.ndarray
    patient_id: np.ndarray
    seed_entropy: np.ndarray


def take_record_rows(records: ClinicRecords, rows: np.ndarray) -> ClinicRecords:
    """A copy of ``rows`` of every per-patient array (the patients dict included)."""
    values: dict[str, Any] = {}
    for name in records.__dataclass_fields__:
        value = getattr(records, name)
        values[name] = ({key: array[rows] for key, array in value.items()}
                        if isinstance(value, dict) else value[rows])
    return ClinicRecords(**values)


def draw_shapes(scenario: MycophenolateScenario) -> dict[str, tuple[int, ...]]:
    """Shapes of one episode's noise and event draws (besides the patient's own)."""
    visits, n_post = scenario.n_steps - 1, len(scenario.sampling.post_dose_h)
    return {"trough": (visits,), "jitter": (visits, n_post), "assay": (scenario.n_levels,)}


def pinned_patient(given: Mapping[str, Any], variability: BetweenSubjectVariability
                   ) -> dict[str, float]:
    """A pinned patient's covariates (cohort schema), given etas (range-checked) and id.

    Examples:
        >>> settings = clinic_settings(MycophenolateScenario())
        >>> row = settings.sample_cohort(1, np.random.SeedSequence(0)).iloc[0].to_dict()
        >>> sorted(pinned_patient(row, settings.model.variability))[:2]
        ['age_years', 'albumin_g_per_l']
    """
    row = dict(given.items())
    allowed = (*PATIENT_KEYS, *ETA_KEYS, "id")
    unknown = sorted(set(row) - set(allowed))
    if unknown:
        raise ValueError(f"unknown patient field(s) {unknown}; allowed: {allowed}")
    out = {key: float(value) for key, value in validate_pinned(row, COHORT_SCHEMA).items()}
    out.update(validate_pinned_etas(row, variability))
    if "id" in row:
        out["id"] = float(row["id"])
    return out


def new_records(settings: ClinicSettings, drawn: Mapping[str, np.ndarray],
                draws: Mapping[str, np.ndarray], pinned: Sequence[dict[str, float] | None],
                seed_entropy: np.ndarray) -> ClinicRecords:
    """Records of fresh episodes before the first dose (day-0 labs measured).

    Args:
        settings: the clinic.
        drawn: the population's patients (:func:`pkgym.populations.mycophenolate.
            patients_from_uniforms`): each field (n,), ``etas`` (n, 7).
        draws: the noise and events of :func:`draw_shapes`, each with a leading n.
        pinned: per slot, a pinned patient's fields (replacing the drawn ones) or None.
        seed_entropy: root seed entropy of each slot, (n,) object.
    """
    s, n = settings.scenario, seed_entropy.shape[0]
    patients = {key: np.asarray(drawn[key], dtype=np.float64).copy() for key in PATIENT_KEYS}
    etas, ids = np.asarray(drawn["etas"], dtype=np.float64).copy(), np.full(n, -1, np.int64)
    for k, row in enumerate(pinned):
        if row is None:
            continue
        for key in PATIENT_KEYS:
            patients[key][k] = row[key]
        for j, key in enumerate(ETA_KEYS):
            etas[k, j] = row.get(key, etas[k, j])
        ids[k] = int(row.get("id", -1))
    n_admin, n_visits = 2 * s.end_day, s.n_steps
    per_admin, per_day = np.zeros((n, n_admin)), np.zeros((n, s.end_day))
    per_level = np.zeros((n, s.n_levels))
    records = ClinicRecords(
        patients=patients, etas=etas,
        covariates_shown=np.column_stack([patients[key] for key in COVARIATES]),
        albumin_shown=np.zeros((n, n_visits)), crcl_shown=np.zeros((n, n_visits)),
        visit=np.zeros(n, np.int64), day=np.zeros(n), state=np.zeros((n, N_STATES)),
        interval_states=np.zeros((n, n_admin, N_STATES)), doses_mg=per_admin.copy(),
        interval_auc=per_admin.copy(), interval_trough=per_admin.copy(),
        daily_auc=per_day.copy(), daily_trough=per_day.copy(),
        level_times_h=per_level.copy(), levels_true=per_level.copy(),
        levels_mg_per_l=per_level.copy(), level_mask=per_level.copy(),
        days_in_target=np.zeros(n), rejection_risk=np.zeros(n), toxic_days=np.zeros(n),
        days_done=np.zeros(n), reward=np.zeros(n),
        trough_uniforms=draws["trough"], jitter_normals=draws["jitter"],
        assay_uniforms=draws["assay"], patient_id=ids, seed_entropy=seed_entropy)
    take_labs(records, np.arange(n), np.zeros(n, np.int64), np.zeros(n))
    return records


def take_labs(records: ClinicRecords, rows: np.ndarray, visit: np.ndarray,
              day: np.ndarray) -> None:
    """Albumin and CrCL of ``rows`` measured at ``visit`` on ``day`` (the true values)."""
    today = population.covariates_on_day({k: v[rows] for k, v in records.patients.items()}, day)
    records.albumin_shown[rows, visit] = today["albumin_g_per_l"]
    records.crcl_shown[rows, visit] = today["creatinine_clearance_ml_per_min"]


def measure_levels(records: ClinicRecords, scenario: MycophenolateScenario, rows: np.ndarray,
                   slots: np.ndarray) -> None:
    """Assay ``rows``' true levels in the level ``slots``: HPLC error, below the LOQ -> 0.

    ``slots`` (m,) are the columns of this visit's samples; the uniforms were drawn at reset
    (:meth:`pkgym.populations.residual.ResidualError.measure_from_uniforms`). A true level
    below 0 (the integrator's undershoot near 0 at extreme parameters) is assayed as 0.
    """
    error = ResidualError(proportional_sd=scenario.assay_cv,  # an LOQ of 0: none
                          lloq=scenario.assay_loq_mg_per_l or None)
    true = np.maximum(records.levels_true[np.ix_(rows, slots)], 0.0)  # integrator undershoot
    measured = error.measure_from_uniforms(true, records.assay_uniforms[np.ix_(rows, slots)])
    records.levels_mg_per_l[np.ix_(rows, slots)] = np.where(measured.censored, 0.0,
                                                            measured.values)
    records.level_mask[np.ix_(rows, slots)] = 1.0
