"""What the depression clinic holds for each patient: settings, pinning, visits and ratings.

Batched arrays (n patients first) that the core fills in place week by week. A clinic visit
(:func:`assess`) rates the MADRS and runs a PRT session; ratings are kept in float32 as
reported, so an observation is a copy; the true course stays float64.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pkgym.envs.depression.clinic import COVARIATES, POPULATIONS, DepressionScenario
from pkgym.envs.depression.kernel import record_visit, visit_inputs
from pkgym.envs.pinning import validate_pinned_etas
from pkgym.models.depression import response_bias, simulate_hashed_prt
from pkgym.models.depression_drug import VARIABILITY_NAMES, DepressionPatientModel, symptom_score
from pkgym.populations import BetweenSubjectVariability, Population

PATIENT_KEYS = ("age_years", "is_female", "weight_kg")
ETA_KEYS = tuple(f"eta_{name}" for name in VARIABILITY_NAMES)
BOUNDS = {"age_years": (18.0, 100.0), "is_female": (0.0, 1.0), "weight_kg": (30.0, 250.0)}
PLACEHOLDER = {"age_years": 40.0, "is_female": 0.0, "weight_kg": 75.0}


def pinned_patient(given: Mapping[str, Any], variability: Any) -> dict[str, float]:
    """A pinned patient's covariates, optional etas (range-checked by ``variability``) and id.

    Examples:
        >>> variability = DepressionScenario().model.variability
        >>> pinned_patient({"age_years": 30, "is_female": 1, "weight_kg": 60, "eta_rho": 0.1},
        ...                variability)
        {'age_years': 30.0, 'is_female': 1.0, 'weight_kg': 60.0, 'eta_rho': 0.1}
    """
    row = dict(given.items())
    unknown = sorted(set(row) - set(PATIENT_KEYS) - set(ETA_KEYS) - {"id", "height_cm"})
    if unknown:
        raise ValueError(f"unknown patient field(s) {unknown}; allowed: "
                         f"{PATIENT_KEYS + ETA_KEYS + ('id', 'height_cm')}")
    out: dict[str, float] = {}
    for key in PATIENT_KEYS:
        if key not in row:
            raise ValueError(f"patient field {key!r} is missing; required: {PATIENT_KEYS}")
        value = float(row[key])
        low, high = BOUNDS[key]
        if not low <= value <= high:
            raise ValueError(f"patient {key}={value} is outside [{low}, {high}]")
        out[key] = value
    out.update(validate_pinned_etas(row, variability))
    if "id" in row:
        out["id"] = float(row["id"])
    return out

@dataclass(frozen=True, slots=True)
class DepressionSettings:
    """Everything that defines the clinic except the policy (see the env card)."""

    scenario: DepressionScenario
    population: Population

    @property
    def model(self) -> DepressionPatientModel:
        """The patient model (it carries ``variability`` for cohort sampling)."""
        return self.scenario.model


def depression_settings(scenario: DepressionScenario,
                        population: Population | None) -> DepressionSettings:
    """The core's settings (an injected population replaces the scenario's named one).

    Examples:
        >>> depression_settings(DepressionScenario(), None).model.drug.clearance_l_per_h
        36.0
    """
    return DepressionSettings(scenario, population or POPULATIONS[scenario.population])


@dataclass(slots=True)
class DepressionRecords:
    """Everything that happened to each patient, true and measured (batched, in place).

    Week k columns hold week k's end (column 0: the baseline visit).

    Attributes:
        covariates: by name, each (n,). covariates_f32: what the clinic sees (n, 3).
        params: individual parameters by name (rho0, epsilon, gamma, clearance_l_per_h,
            emax), each (n,). etas: (n, 5).
        amount_mg, effect, week: drug in the body, adaptation state, weeks done (n,).
        doses_mg, adverse_probability, adverse_event, concentration_mg_per_l, occupancy:
            per week (n, n_weeks).
        rho, score: true reward sensitivity and symptom score (n, n_weeks + 1).
        counts: PRT answer counts (n, n_weeks + 1, 4).
        madrs_measured, bias_measured, accuracy_measured, assessed: float32 (n, n_weeks + 1).
        reward: last week's reward (n,).
        rater_normals, session_seeds, event_uniforms: the episode's pre-drawn randomness.
        patient_id, seed_entropy: cohort id (-1 when drawn) and slot seed entropy (n,).
    """

    covariates: dict[str, np.ndarray]
    covariates_f32: np.ndarray
    params: dict[str, np.ndarray]
    etas: np.ndarray
    amount_mg: np.ndarray
    effect: np.ndarray
    week: np.ndarray
    doses_mg: np.ndarray
    adverse_probability: np.ndarray
    adverse_event: np.ndarray
    concentration_mg_per_l: np.ndarray
    occupancy: np.ndarray
    rho: np.ndarray
    score: np.ndarray
    counts: np.ndarray
    madrs_measured: np.ndarray
    bias_measured: np.ndarray
    accuracy_measured: np.ndarray
    assessed: np.ndarray
    reward: np.ndarray
    rater_normals: np.ndarray
    session_seeds: np.ndarray
    event_uniforms: np.ndarray
    patient_id: np.ndarray
    seed_entropy: np.ndarray


def take_record_rows(records: DepressionRecords, rows: np.ndarray) -> DepressionRecords:
    """A copy of ``rows`` of every per-patient array (dicts of arrays included).

    Examples:
        >>> records = new_records(depression_settings(DepressionScenario(), None), None,
        ...                       [None, None], np.zeros(2, dtype=object))
        >>> take_record_rows(records, np.array([1])).params["rho0"].shape
        (1,)
    """
    values: dict[str, Any] = {}
    for name in records.__dataclass_fields__:
        value = getattr(records, name)
        values[name] = ({key: array[rows] for key, array in value.items()}
                        if isinstance(value, dict) else value[rows])
    return DepressionRecords(**values)


def _patient_table(settings: DepressionSettings, draws: Mapping[str, np.ndarray] | None,
                   pinned: Sequence[dict[str, float] | None], n: int,
                   variability: BetweenSubjectVariability
                   ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Covariates, etas and ids of n new patients: drawn, pinned over drawn, or placeholders."""
    if draws is None:
        table = {key: np.full(n, value) for key, value in PLACEHOLDER.items()}
        etas = np.zeros((n, len(ETA_KEYS)))
    else:
        drawn = settings.population.from_uniforms(draws["covariates"])
        table = {key: np.asarray(drawn[key], np.float64).copy() for key in PATIENT_KEYS}
        etas = variability.etas_from_normals(draws["eta"])
    ids = np.full(n, -1, dtype=np.int64)
    for k, row in enumerate(pinned):
        if row is None:
            continue
        for key in PATIENT_KEYS:
            table[key][k] = row[key]
        ids[k] = int(row.get("id", -1))
        for j, name in enumerate(ETA_KEYS):
            etas[k, j] = row.get(name, etas[k, j])
    return table, etas, ids


def new_records(settings: DepressionSettings, draws: Mapping[str, np.ndarray] | None,
                pinned: Sequence[dict[str, float] | None], seed_entropy: np.ndarray,
                variability: BetweenSubjectVariability | None = None) -> DepressionRecords:
    """Records of fresh episodes after the baseline visit (MADRS rated, PRT session done).

    ``variability`` is ``settings.model.variability``, passed by a core that keeps it.
    """
    s, n = settings.scenario, seed_entropy.shape[0]
    covariates, etas, ids = _patient_table(settings, draws, pinned, n,
                                           variability or settings.model.variability)
    params = settings.model.parameters(covariates["age_years"], etas)
    w = s.n_weeks

    def per_week(dtype: type = np.float64) -> np.ndarray:
        return np.zeros((n, w), dtype)  # fresh zeros each: no copy touches the pages

    def per_visit(dtype: type = np.float64) -> np.ndarray:
        return np.zeros((n, w + 1), dtype)

    noise = draws or {"rater": per_visit(), "seeds": per_visit(np.uint64),
                      "events": np.ones((n, w))}
    records = DepressionRecords(
        covariates=covariates, params=params, etas=etas,
        covariates_f32=np.column_stack([covariates[k] for k in COVARIATES]).astype(np.float32),
        amount_mg=np.zeros(n), effect=np.zeros(n), week=np.zeros(n, np.int64),
        doses_mg=per_week(), adverse_probability=per_week(), adverse_event=per_week(bool),
        concentration_mg_per_l=per_week(), occupancy=per_week(), rho=per_visit(),
        score=per_visit(), counts=np.zeros((n, w + 1, 4)), madrs_measured=per_visit(np.float32),
        bias_measured=per_visit(np.float32), accuracy_measured=per_visit(np.float32),
        assessed=per_visit(np.float32),
        reward=np.zeros(n), rater_normals=noise["rater"], session_seeds=noise["seeds"],
        event_uniforms=noise["events"], patient_id=ids, seed_entropy=seed_entropy)
    assess(records, settings, np.arange(n), np.zeros(n, np.int64), params["rho0"])
    return records


def assess(records: DepressionRecords, settings: DepressionSettings, rows: np.ndarray,
           visit: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """A clinic visit of ``rows``: true score, rated MADRS (to 1 point) and a PRT session.

    Returns the true symptom score.
    """
    model, p, r = settings.model, records.params, records
    normals, seeds, epsilon, gamma = visit_inputs(rows, visit, r.rater_normals, r.session_seeds,
                                                  p["epsilon"], p["gamma"])
    score = symptom_score(rho, model)
    rated = np.clip(np.round(score + model.scale.rater_sd * normals), 0, 60)
    counts = simulate_hashed_prt(rho, epsilon, gamma, seeds, model.task, model.learner.initial_q)
    record_visit(rows, visit, (rho, score, rated, response_bias(counts), counts),
                 (r.rho, r.score, r.counts, r.madrs_measured, r.bias_measured,
                  r.accuracy_measured, r.assessed))
    return score
