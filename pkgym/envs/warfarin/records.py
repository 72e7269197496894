"""What the warfarin clinic holds for each patient: who they are, what was given and measured.

The records are batched arrays (n patients first) that the core fills in place day by day.
Observation-side arrays (doses, INR results) are kept in float32 as the clinic reports them,
so building an observation is a copy; the true course stays float64.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from pkgym.envs.pinning import validate_pinned, validate_pinned_etas
from pkgym.envs.warfarin.clinic import WarfarinScenario, clinic_parameters
from pkgym.envs.warfarin.kernel import RECORD_ARRAYS, measure_due
from pkgym.models.warfarin import WarfarinParameters
from pkgym.models.warfarin_kernel import initial_state
from pkgym.populations import Population
from pkgym.populations.warfarin import (
    CYP2C9_DIPLOTYPES,
    RACES,
    VKORC1_GENOTYPES,
    WARFARIN_COHORT_SCHEMA,
    genotype_codes,
)
from pkgym.populations.warfarin_iwpc import ALL_WARFARIN_POPULATIONS

PATIENT_KEYS = ("age_years", "is_female", "weight_kg", "height_cm", "race", "cyp2c9",
                "vkorc1", "amiodarone", "enzyme_inducer")
"""Covariates a pinned patient must give (etas ``eta_<name>`` and ``id`` are optional)."""
PLACEHOLDER = {"age_years": 60.0, "is_female": 0.0, "weight_kg": 80.0, "height_cm": 175.0,
               "race": "white", "cyp2c9": "*1/*1", "vkorc1": "G/A", "amiodarone": 0.0,
               "enzyme_inducer": 0.0}
"""The patient every slot holds before its first reset."""


@dataclass(frozen=True, slots=True)
class ClinicSettings:
    """Everything that defines the clinic except the policy (see the env card)."""

    scenario: WarfarinScenario
    population: Population
    genotype_guided: bool
    chooses_test_days: bool

    @property
    def model(self) -> Any:
        """The Hamberg parameter set (it carries ``variability`` for cohort sampling)."""
        return self.scenario.hamberg


def clinic_settings(scenario: WarfarinScenario, population: Population | None,
                    genotype_guided: bool, chooses_test_days: bool) -> ClinicSettings:
    """The core's settings (an injected population replaces the scenario's named one).

    Examples:
        >>> from pkgym.envs.warfarin.clinic import WarfarinScenario
        >>> clinic_settings(WarfarinScenario(), None, False, False).population.n_draws > 0
        True
    """
    return ClinicSettings(scenario, population or ALL_WARFARIN_POPULATIONS[scenario.population],
                          genotype_guided, chooses_test_days)


@dataclass(slots=True)
class ClinicPatients:
    """Fixed characteristics of each patient (all (n,) except ``etas``).

    ``race``, ``cyp2c9`` and ``vkorc1`` are indices into ``RACES``, ``CYP2C9_DIPLOTYPES`` and
    ``VKORC1_GENOTYPES``.
    """

    age_years: np.ndarray
    is_female: np.ndarray
    weight_kg: np.ndarray
    height_cm: np.ndarray
    race: np.ndarray
    cyp2c9: np.ndarray
    vkorc1: np.ndarray
    amiodarone: np.ndarray
    enzyme_inducer: np.ndarray
    etas: np.ndarray  # (n, n_etas)


@dataclass(slots=True)
class ClinicRecords:
    """Everything that happened to each patient, true and measured (batched, in place).

    Attributes:
        patients, params: who the patients are and their true PK/PD parameters.
        covariates_f32, genotype_f32: what the clinic sees of them (n, 10) and (n, 9).
        pk, chains: true drug amounts (n, 3) and transit-chain state (n, 2, 6).
        day: the current morning (0 = first day).  # (n,)
        doses_mg, doses_f32: dose given each day (float64 and the observation's float32).
            # (n, n_days)
        inr, concentration: true INR and S-warfarin (mg/L) each morning.  # (n, n_days + 1)
        inr_days, inr_values, inr_mask: the k-th measured INR's day, value, presence
            (float32).  # (n, n_days)
        n_tests, last_test_day, next_test_day, in_range_streak: the clinic's schedule
            state.  # (n,)
        bleeding, thromboembolism: events during each day.  # (n, n_days)
        reward: the last step's reward.  # (n,)
        assay_normals, event_uniforms: the episode's pre-drawn noise.  # (n, n_days[, 2])
        patient_id: cohort id of a pinned patient, -1 for a drawn one.  # (n,)
        seed_entropy: root seed entropy of the env slot (Python ints).  # (n,)
    """

    patients: ClinicPatients
    covariates_f32: np.ndarray
    genotype_f32: np.ndarray
    params: WarfarinParameters
    pk: np.ndarray
    chains: np.ndarray
    day: np.ndarray
    doses_mg: np.ndarray
    doses_f32: np.ndarray
    inr: np.ndarray
    concentration: np.ndarray
    inr_days: np.ndarray
    inr_values: np.ndarray
    inr_mask: np.ndarray
    n_tests: np.ndarray
    last_test_day: np.ndarray
    next_test_day: np.ndarray
    in_range_streak: np.ndarray
    bleeding: np.ndarray
    thromboembolism: np.ndarray
    reward: np.ndarray
    assay_normals: np.ndarray
    event_uniforms: np.ndarray
    patient_id: np.ndarray
    seed_entropy: np.ndarray


def pinned_patient(given: Mapping[str, Any], settings: Any) -> dict[str, Any]:
    """A pinned patient's covariates (validated against the cohort schema), etas and id.

    Examples:
        >>> from pkgym.envs.warfarin.clinic import WarfarinScenario
        >>> settings = clinic_settings(WarfarinScenario(), None, False, False)
        >>> pinned_patient({**PLACEHOLDER, "eta_CL": 0.1}, settings)["eta_CL"]
        0.1
    """
    row = dict(given.items())
    eta_keys = settings.model.variability.eta_columns
    unknown = sorted(set(row) - set(PATIENT_KEYS) - set(eta_keys) - {"id"})
    if unknown:
        raise ValueError(f"unknown patient field(s) {unknown}; allowed: "
                         f"{PATIENT_KEYS + tuple(eta_keys) + ('id',)}")
    covariates = validate_pinned(row, WARFARIN_COHORT_SCHEMA)
    out: dict[str, Any] = {key: covariates[key] for key in PATIENT_KEYS}
    out.update(validate_pinned_etas(row, settings.model.variability))
    if "id" in row:
        out["id"] = float(row["id"])
    return out


def _patient_table(settings: Any, draws: Mapping[str, np.ndarray] | None,
                   pinned: list[dict[str, Any] | None] | None, n: int) -> dict[str, np.ndarray]:
    """Covariates and etas of n new patients: drawn, pinned over drawn, or placeholders."""
    variability = settings.model.variability
    if draws is None:
        table = {key: np.array([value] * n, dtype=object if isinstance(value, str) else float)
                 for key, value in PLACEHOLDER.items()}
        etas = np.zeros((n, len(variability.names)))
    else:
        table = dict(settings.population.from_uniforms(draws["covariates"]))
        etas = variability.etas_from_normals(draws["eta"])
    table = {key: np.asarray(table[key]).astype(object if key in ("race", "cyp2c9", "vkorc1")
                                                else np.float64) for key in PATIENT_KEYS}
    table["id"] = np.full(n, -1, dtype=np.int64)
    for k, row in enumerate(pinned or []):
        if row is None:
            continue
        for key in (*PATIENT_KEYS, "id"):
            if key in row:
                table[key][k] = row[key]
        for j, name in enumerate(variability.eta_columns):
            if name in row:
                etas[k, j] = row[name]
    table["etas"] = etas
    return table


def new_records(settings: Any, draws: Mapping[str, np.ndarray] | None,
                pinned: list[dict[str, Any] | None] | None,
                seed_entropy: np.ndarray, rules: tuple | None = None) -> ClinicRecords:
    """Records of fresh episodes at day 0 with the baseline INR measured.

    ``draws=None`` builds noise-free placeholder patients (before the first reset).
    ``rules``: the scenario's ``clinic_parameters`` as a plain tuple, when the caller holds
    them (built from the scenario otherwise).
    """
    n, n_days = seed_entropy.shape[0], settings.scenario.n_days
    t = _patient_table(settings, draws, pinned, n)
    patients = ClinicPatients(
        t["age_years"], t["is_female"], t["weight_kg"], t["height_cm"],
        genotype_codes(t["race"], RACES, name="race"),
        genotype_codes(t["cyp2c9"], CYP2C9_DIPLOTYPES, name="cyp2c9"),
        genotype_codes(t["vkorc1"], VKORC1_GENOTYPES, name="vkorc1"),
        t["amiodarone"], t["enzyme_inducer"], t["etas"])
    params = settings.model.parameters(patients.cyp2c9, patients.vkorc1, patients.age_years,
                                       patients.etas, race=patients.race,
                                       amiodarone=patients.amiodarone,
                                       enzyme_inducer=patients.enzyme_inducer)
    pk, chains = initial_state(n)
    structure = settings.model.structure
    inr = np.zeros((n, n_days + 1))
    inr[:, 0] = structure.baseline_inr
    shape = (n, n_days)
    per_day = np.zeros(shape)
    covariates, genotype = clinic_covariates(patients)
    records = ClinicRecords(
        patients=patients, covariates_f32=covariates, genotype_f32=genotype, params=params,
        pk=pk, chains=chains,
        day=np.zeros(n, dtype=np.int64), doses_mg=per_day, doses_f32=np.zeros(shape, np.float32),
        inr=inr, concentration=np.zeros((n, n_days + 1)),
        inr_days=np.zeros(shape, np.float32),
        inr_values=np.zeros(shape, np.float32),
        inr_mask=np.zeros(shape, np.float32), n_tests=np.zeros(n, dtype=np.int64),
        last_test_day=np.full(n, -1, dtype=np.int64), next_test_day=np.zeros(n, dtype=np.int64),
        in_range_streak=np.zeros(n, dtype=np.int64), bleeding=np.zeros(shape, bool),
        thromboembolism=np.zeros(shape, bool), reward=np.zeros(n),
        assay_normals=np.zeros((n, n_days)) if draws is None else draws["assay"],
        event_uniforms=np.ones((n, n_days, 2)) if draws is None else draws["events"],
        patient_id=t["id"].astype(np.int64), seed_entropy=seed_entropy)
    measure_due(np.arange(n), record_arrays(records),
                tuple(clinic_parameters(settings.scenario)) if rules is None else rules)
    return records


def record_arrays(records: ClinicRecords) -> tuple[np.ndarray, ...]:
    """The arrays the compiled day reads and writes: a :class:`RecordArrays`, as a plain tuple.

    Examples:
        >>> from pkgym.envs.warfarin.clinic import WarfarinScenario
        >>> settings = clinic_settings(WarfarinScenario(), None, False, False)
        >>> records = new_records(settings, None, None, np.zeros(2, object))
        >>> from pkgym.envs.warfarin.kernel import RecordArrays
        >>> RecordArrays(*record_arrays(records)).next_test_day.tolist()
        [3, 3]
    """
    return RECORD_ARRAYS(records)


def clinic_covariates(patients: ClinicPatients) -> tuple[np.ndarray, np.ndarray]:
    """The covariates (n, 10) and genotype one-hots (n, 9) the clinic sees, float32.

    Examples:
        >>> p = ClinicPatients(*(np.array([v]) for v in (70.0, 1, 80, 170, 2, 5, 2, 1, 0)),
        ...                    np.zeros((1, 3)))
        >>> covariates, genotype = clinic_covariates(p)
        >>> covariates[0].tolist(), np.flatnonzero(genotype[0]).tolist()
        ([70.0, 1.0, 80.0, 170.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0], [5, 8])
    """
    n, rows = patients.age_years.shape[0], np.arange(patients.age_years.shape[0])
    covariates = np.zeros((n, 4 + len(RACES) + 2), dtype=np.float32)
    covariates[:, 0], covariates[:, 1] = patients.age_years, patients.is_female
    covariates[:, 2], covariates[:, 3] = patients.weight_kg, patients.height_cm
    covariates[rows, 4 + patients.race] = 1.0
    covariates[:, 8], covariates[:, 9] = patients.amiodarone, patients.enzyme_inducer
    genotype = np.zeros((n, len(CYP2C9_DIPLOTYPES) + len(VKORC1_GENOTYPES)), dtype=np.float32)
    genotype[rows, patients.cyp2c9] = 1.0
    genotype[rows, len(CYP2C9_DIPLOTYPES) + patients.vkorc1] = 1.0
    return covariates, genotype
