"""What the oncology clinic holds for each patient: who they are, doses, counts and scans.

Batched arrays (n patients first) that the core fills in place cycle by cycle. Measured
values are kept in float32 as reported, so an observation is a copy; the true course stays
float64.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from pkgym.envs.chemotherapy.clinic import (
    ANC_HIGH,
    COVARIATES,
    POPULATIONS,
    SLD_HIGH_MM,
    ChemotherapyScenario,
)
from pkgym.envs.pinning import validate_pinned, validate_pinned_etas
from pkgym.models.chemotherapy import DocetaxelPatientModel
from pkgym.models.chemotherapy_kernel import CIRC, SLD, initial_states
from pkgym.models.docetaxel import COVARIATE_RANGES
from pkgym.populations import Population
from pkgym.populations.chemotherapy import CHEMOTHERAPY_COHORT_SCHEMA
from pkgym.populations.derived import bsa_mosteller_m2
from pkgym.populations.variability import BetweenSubjectVariability

PATIENT_KEYS = ("is_female", "age_years", "height_cm", "weight_kg", "aag_g_per_l",
                "hepatic_impairment", "baseline_sld_mm")
"""Covariates a pinned patient must give (etas ``eta_<name>`` and ``id`` are optional)."""
PLACEHOLDER = {"is_female": 0.0, "age_years": 60.0, "height_cm": 175.0, "weight_kg": 80.0,
               "aag_g_per_l": 1.34, "hepatic_impairment": 0.0, "baseline_sld_mm": 70.0}


@dataclass(frozen=True, slots=True)
class OncologySettings:
    """Everything that defines the clinic except the policy (see the env card)."""

    scenario: ChemotherapyScenario
    population: Population
    allow_delay: bool

    @property
    def model(self) -> DocetaxelPatientModel:
        """The joint patient model (it carries ``variability`` for cohort sampling)."""
        s = self.scenario
        return DocetaxelPatientModel(pk=s.pk, myelosuppression=s.truth,
                                     tumour=s.tumour)


def oncology_settings(scenario: ChemotherapyScenario, population: Population | None,
                      allow_delay: bool) -> OncologySettings:
    """The core's settings (an injected population replaces the scenario's named one).

    Examples:
        >>> oncology_settings(ChemotherapyScenario(), None, False).model.pk.infusion_h
        1.0
    """
    return OncologySettings(scenario, population or POPULATIONS[scenario.population],
                            allow_delay)


@dataclass(slots=True)
class ChemoRecords:
    """Everything that happened to each patient, true and measured (batched, in place).

    Attributes:
        covariates: the patients' covariates by name, each (n,) (BSA included).
        etas: random effects (n, 7). params: packed model parameters (n, 14; 16 with an
            Emax effect).
        covariates_f32: what the clinic sees of them (n, 7).
        states, time_h: true model state (n, 9) and hours since treatment start (n,).
        cycle: cycles given so far (n,).
        dose_percent, dose_mg, delayed: per cycle (n, n_cycles).
        daily_anc: true ANC at the end of each day of each cycle (n, n_cycles, max days).
        sld_true: true tumour size at baseline and after each cycle (n, n_cycles + 1).
        anc_measured, anc_mask: lab results, slot c * n_labs + k (float32).
        sld_measured, sld_mask: scans, baseline first (float32). sld_nadir: smallest scan.
        progressed: progression seen at a scan (n,).
        febrile, grade4_days: per cycle (n, n_cycles).
        reward: the last cycle's reward (n,).
        anc_normals, sld_normals, fn_uniforms: the episode's pre-drawn noise.
        patient_id, seed_entropy: cohort id (-1 when drawn) and slot seed entropy (n,).
    """

    covariates: dict[str, np.ndarray]
    etas: np.ndarray
    params: np.ndarray
    covariates_f32: np.ndarray
    states: np.ndarray
    time_h: np.ndarray
    cycle: np.ndarray
    dose_percent: np.ndarray
    dose_mg: np.ndarray
    delayed: np.ndarray
    daily_anc: np.ndarray
    sld_true: np.ndarray
    anc_measured: np.ndarray
    anc_mask: np.ndarray
    sld_measured: np.ndarray
    sld_mask: np.ndarray
    sld_nadir: np.ndarray
    progressed: np.ndarray
    febrile: np.ndarray
    grade4_days: np.ndarray
    reward: np.ndarray
    anc_normals: np.ndarray
    sld_normals: np.ndarray
    fn_uniforms: np.ndarray
    patient_id: np.ndarray
    seed_entropy: np.ndarray


def pinned_patient(given: Mapping[str, Any], model: DocetaxelPatientModel,
                   variability: BetweenSubjectVariability | None = None) -> dict[str, float]:
    """A pinned patient's covariates (validated against the cohort schema), etas and id.

    ``variability`` is ``model.variability`` (pass it when it is at hand: building it costs).

    Examples:
        >>> pinned_patient({**PLACEHOLDER, "eta_CL": 0.2}, DocetaxelPatientModel())["eta_CL"]
        0.2
    """
    row = dict(given.items())
    variability = variability or model.variability
    eta_keys = variability.eta_columns
    unknown = sorted(set(row) - set(PATIENT_KEYS) - set(eta_keys) - {"id", "bsa_m2"})
    if unknown:
        raise ValueError(f"unknown patient field(s) {unknown}; allowed: "
                         f"{PATIENT_KEYS + tuple(eta_keys) + ('id',)}")
    covariates = validate_pinned(row, CHEMOTHERAPY_COHORT_SCHEMA)
    out = {key: float(covariates[key]) for key in PATIENT_KEYS}
    _check_pinned_bsa(out, row.get("id"))
    out.update(validate_pinned_etas(row, variability))
    if "id" in row:
        out["id"] = float(row["id"])
    return out


def _check_pinned_bsa(covariates: Mapping[str, float], patient_id: Any) -> None:
    """Refuse a pinned patient whose Mosteller BSA the PK model does not accept, naming it.

    The cohort schema bounds height and weight one by one; the BSA of its tallest, heaviest
    corner (4.0 m2) lies beyond the model's range (``COVARIATE_RANGES["bsa_m2"]``).
    """
    low, high = COVARIATE_RANGES["bsa_m2"]
    bsa = float(bsa_mosteller_m2(covariates["height_cm"], covariates["weight_kg"]))
    if not low <= bsa <= high:
        who = "pinned patient" if patient_id is None else f"patient {int(patient_id)}"
        raise ValueError(f"{who}: BSA {bsa:.3f} m2 (Mosteller of height_cm "
                         f"{covariates['height_cm']:g}, weight_kg {covariates['weight_kg']:g}) "
                         f"is outside [{low}, {high}] m2, the BSA range of the docetaxel PK "
                         "model (Bruno 1996)")


def _patient_table(settings: Any, draws: Mapping[str, np.ndarray] | None,
                   pinned: list[dict[str, float] | None] | None, n: int,
                   variability: BetweenSubjectVariability
                   ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Covariates, etas and ids of n new patients: drawn, pinned over drawn, or placeholders."""
    if draws is None:
        table = {key: np.full(n, value) for key, value in PLACEHOLDER.items()}
        etas = np.zeros((n, len(variability.names)))
    else:
        table = dict(settings.population.from_uniforms(draws["covariates"]))
        etas = variability.etas_from_normals(draws["eta"])
    table = {key: np.asarray(table[key], dtype=np.float64).copy() for key in PATIENT_KEYS}
    ids = np.full(n, -1, dtype=np.int64)
    for k, row in enumerate(pinned or []):
        if row is None:
            continue
        for key in PATIENT_KEYS:
            table[key][k] = row[key]
        ids[k] = int(row.get("id", -1))
        for j, name in enumerate(variability.eta_columns):
            etas[k, j] = row.get(name, etas[k, j])
    table["bsa_m2"] = bsa_mosteller_m2(table["height_cm"], table["weight_kg"])
    return table, etas, ids


def check_model_covariates(covariates: Mapping[str, np.ndarray], ids: np.ndarray) -> None:
    """Refuse patients whose covariates the PK model does not accept, naming only them.

    Examples:
        >>> check_model_covariates({"bsa_m2": np.array([1.8, 4.5]), "height_cm": np.full(2, 1.),
        ...     "weight_kg": np.full(2, 1.), "aag_g_per_l": np.ones(2),
        ...     "age_years": np.full(2, 60.), "hepatic_impairment": np.zeros(2)}, np.array([3, 9]))
        Traceback (most recent call last):
        ...
        ValueError: patients outside the docetaxel model's ...: patient 9: bsa_m2 4.5 (Mosteller...
    """
    problems = []
    for name, (low, high) in COVARIATE_RANGES.items():
        values = np.asarray(covariates[name], dtype=np.float64)
        for k in np.flatnonzero(~((values >= low) & (values <= high))):
            who = f"patient {ids[k]}" if ids[k] >= 0 else f"drawn patient {k}"
            extra = (f" (Mosteller of height_cm {covariates['height_cm'][k]:g}, weight_kg "
                     f"{covariates['weight_kg'][k]:g})" if name == "bsa_m2" else "")
            problems.append(f"{who}: {name} {values[k]:.4g}{extra} outside [{low}, {high}]")
    if problems:
        raise ValueError("patients outside the docetaxel model's covariate ranges: "
                         + "; ".join(problems[:10]))


def new_records(settings: Any, draws: Mapping[str, np.ndarray] | None,
                pinned: list[dict[str, float] | None] | None, seed_entropy: np.ndarray,
                model: DocetaxelPatientModel | None = None,
                variability: BetweenSubjectVariability | None = None) -> ChemoRecords:
    """Records of fresh episodes before cycle 1: baseline ANC and baseline scan measured.

    ``draws=None`` builds noise-free placeholder patients (before the first reset).
    ``model`` and ``variability`` are ``settings.model`` and its variability (a core passes
    the ones it built once).
    """
    s: ChemotherapyScenario = settings.scenario
    n = seed_entropy.shape[0]
    model = model or settings.model
    covariates, etas, ids = _patient_table(settings, draws, pinned, n,
                                           variability or model.variability)
    check_model_covariates(covariates, ids)
    params = model.parameters(covariates, etas)
    states = initial_states(params, covariates["baseline_sld_mm"])
    n_labs, max_days = s.n_cycles * len(s.lab_days), s.max_cycle_days
    noise = draws or {"anc": np.zeros((n, n_labs)), "sld": np.zeros((n, s.n_scans)),
                      "fn": np.ones((n, s.n_cycles, max_days))}
    per_cycle = np.zeros((n, s.n_cycles))
    records = ChemoRecords(
        covariates=covariates, etas=etas, params=params,
        covariates_f32=np.column_stack([covariates[k] for k in COVARIATES]).astype(np.float32),
        states=states, time_h=np.zeros(n), cycle=np.zeros(n, dtype=np.int64),
        dose_percent=per_cycle.copy(), dose_mg=per_cycle.copy(), delayed=per_cycle.astype(bool),
        daily_anc=np.full((n, s.n_cycles, max_days), np.nan),
        sld_true=np.column_stack([covariates["baseline_sld_mm"], per_cycle]),
        anc_measured=np.zeros((n, n_labs), np.float32), anc_mask=np.zeros((n, n_labs), np.float32),
        sld_measured=np.zeros((n, s.n_scans), np.float32),
        sld_mask=np.zeros((n, s.n_scans), np.float32), sld_nadir=np.zeros(n),
        progressed=np.zeros(n, dtype=bool), febrile=per_cycle.astype(bool),
        grade4_days=per_cycle.astype(np.int64), reward=np.zeros(n),
        anc_normals=noise["anc"], sld_normals=noise["sld"], fn_uniforms=noise["fn"],
        patient_id=ids, seed_entropy=seed_entropy)
    rows = np.arange(n)
    measure_anc(records, s, rows, np.zeros(n, np.int64), states[:, CIRC])
    sld = measure_sld(records, s, rows, np.zeros(n, np.int64), states[:, SLD])
    records.sld_nadir[:] = sld
    return records


def measure_anc(records: ChemoRecords, scenario: ChemotherapyScenario, rows: np.ndarray,
                slots: np.ndarray, true_anc: np.ndarray) -> None:
    """Record lab results (true ANC with log-normal assay error, reported up to ``ANC_HIGH``).

    Counts above the clinic's reporting limit ``ANC_HIGH`` are reported at it (as ">50"); an
    ordinary patient's count stays far below it, an extreme one's rebound may not.
    """
    noise = records.anc_normals[rows, slots]
    records.anc_measured[rows, slots] = np.minimum(
        true_anc * np.exp(scenario.assay_log_sd * noise), ANC_HIGH)
    records.anc_mask[rows, slots] = 1.0


def measure_sld(records: ChemoRecords, scenario: ChemotherapyScenario, rows: np.ndarray,
                slots: np.ndarray, true_sld: np.ndarray) -> np.ndarray:
    """Record scans (true SLD with the tumour model's CV, to 1 mm, reported up to 1000 mm).

    Returns the measured SLD.
    """
    cv = scenario.tumour.measurement_cv
    measured = np.clip(np.round(true_sld * (1 + cv * records.sld_normals[rows, slots])), 0,
                       SLD_HIGH_MM)
    records.sld_measured[rows, slots] = measured
    records.sld_mask[rows, slots] = 1.0
    return measured
