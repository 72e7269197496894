"""Mechanistic efficacy-toxicity truth for phase I/II dose finding: docetaxel virtual patients.

The virtual patients are those of :mod:`pkgym.trials.mechanistic` (the same covariates and
joint-model etas for a given seed and cohort size, so the DLT rates are identical). Each patient
receives two 21-day cycles of the same dose (mg/m2 x BSA, 1-h infusion on day 1; no dose
modification after a cycle-1 DLT: our choice), simulated once with
:class:`~pkgym.models.chemotherapy.DocetaxelPatientModel` (Bruno 1996 PK, Friberg/Kloft
neutrophils, Claret 2009 tumour with the calibrated docetaxel kill rate):

* **cycle-1 DLT**, as :class:`~pkgym.models.chemotherapy.DoseLimitingToxicity`: grade 4
  neutropenia (ANC < 0.5 x10^9/L, CTCAE v5) for more than ``grade4_days_limit`` days, or
  febrile neutropenia at a daily hazard of 0.0064 while grade 4 (calibrated to the label's 11%
  at 100 mg/m2), counted over the first cycle's 21 days;
* **tumour response by cycle 2**: RECIST 1.1 partial response or better (Eisenhauer EA et al.
  2009, Eur J Cancer 45:228-247: sum of longest diameters >= 30% below baseline) at the scan
  after cycle 2 (day 42). The scan reads the true SLD x (1 + 0.10 Z), Z standard normal (the
  tumour model's measurement CV, itself an assumption; the env's ``measure_sld`` does the
  same), without its 1-mm rounding (our choice); the baseline SLD is the patient's covariate,
  read without error (our choice). So Pr(response) = Phi((0.7 b / s_2 - 1) / 0.10), with b the
  baseline and s_2 the true SLD after cycle 2.

Given the patient (its trajectory), the DLT's febrile draw and the scan's error are independent;
DLT and response are correlated through the patient: exposure (clearance, covariates) drives
both the neutrophil nadir and the tumour kill. The population joint probability of a dose is
the cohort mean of p_T,i x p_E,i. Everything is deterministic given the seed.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from scipy import stats

from pkgym.models.chemotherapy import GRADE4_ANC_1E9_PER_L, DoseLimitingToxicity
from pkgym.models.dose_efficacy import PHI_E, PHI_T, U_BOTH, U_NEITHER
from pkgym.scenarios import from_mapping, read_yaml
from pkgym.trials.mechanistic import MechanisticTruth, virtual_patients
from pkgym.trials.phase12_simulation import Phase12Scenario

RECIST_RESPONSE_FRACTION = 0.7
"""RECIST 1.1 partial response: SLD at most 70% of baseline (Eisenhauer et al. 2009)."""
RESPONSE_CYCLES = 2
"""Response is read at the scan after this many cycles."""
PROBABILITY_FLOOR = 1e-4
"""Population rates are kept within [1e-4, 1 - 1e-4] for a scenario (our choice: a phase I/II
scenario needs probabilities strictly inside (0, 1))."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EfficacyToxicityTruth:
    """Dose grid and seeded virtual cohort of the efficacy-toxicity truth.

    Attributes:
        dose_levels_mg_per_m2: Dose of each level, mg/m2, increasing, in (0, 1000] (n_doses,).
        n_patients: Virtual patients averaged over (1..100 000).
        seed: Root seed of the virtual cohort (>= 0).
        grade4_days_limit: Days of grade 4 neutropenia beyond which it is a DLT (0..20).

    Examples:
        >>> EfficacyToxicityTruth(dose_levels_mg_per_m2=(75, 100)).n_doses
        2
    """

    dose_levels_mg_per_m2: tuple[float, ...]
    n_patients: int = 2000
    seed: int = 0
    grade4_days_limit: int = 7

    def __post_init__(self) -> None:
        """Validate through :class:`MechanisticTruth` (same fields, same rules)."""
        checked = self.toxicity_truth
        object.__setattr__(self, "dose_levels_mg_per_m2", checked.dose_levels_mg_per_m2)

    @property
    def toxicity_truth(self) -> MechanisticTruth:
        """The phase I truth of the same patients (its DLT rates equal these)."""
        return MechanisticTruth(dose_levels_mg_per_m2=self.dose_levels_mg_per_m2,
                                n_patients=self.n_patients, seed=self.seed,
                                grade4_days_limit=self.grade4_days_limit)

    @property
    def n_doses(self) -> int:
        """Number of dose levels."""
        return len(self.dose_levels_mg_per_m2)


def patient_outcome_probabilities(truth: EfficacyToxicityTruth) -> tuple[np.ndarray, np.ndarray]:
    """Each patient's cycle-1 DLT and cycle-2 response probability per dose, (n, D) each.

    Examples:
        >>> truth = EfficacyToxicityTruth(dose_levels_mg_per_m2=(75, 150), n_patients=8)
        >>> tox, eff = patient_outcome_probabilities(truth)
        >>> tox.shape, bool(np.all(eff[:, 1] >= eff[:, 0]))
        ((8, 2), True)
    """
    model, covariates, etas = virtual_patients(truth.n_patients, truth.seed)
    dlt = DoseLimitingToxicity(grade4_days_limit=truth.grade4_days_limit)
    params = model.parameters(covariates, etas)
    baseline = np.asarray(covariates["baseline_sld_mm"], dtype=np.float64)
    bsa = np.asarray(covariates["bsa_m2"], dtype=np.float64)
    tox, eff = [], []
    for dose in truth.dose_levels_mg_per_m2:
        doses = np.repeat((dose * bsa)[:, None], RESPONSE_CYCLES, axis=1)
        anc, sld = model.run_cycles(params, baseline, doses, dlt.cycle_days)
        days = (anc[:, : dlt.cycle_days] < GRADE4_ANC_1E9_PER_L).sum(axis=1)
        febrile = -np.expm1(np.log1p(-dlt.febrile_neutropenia_per_day) * days)
        tox.append(np.where(days > dlt.grade4_days_limit, 1.0, febrile))
        threshold = RECIST_RESPONSE_FRACTION * baseline / sld[:, RESPONSE_CYCLES - 1]
        eff.append(stats.norm.cdf((threshold - 1) / model.tumour.measurement_cv))
    return np.stack(tox, axis=1), np.stack(eff, axis=1)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EfficacyToxicityRates:
    """Population rates per dose (each (n_doses,)) and the joint 2x2 table.

    Attributes:
        dlt: Pr(DLT) per dose.
        response: Pr(response) per dose.
        both: Pr(DLT and response) per dose.
    """

    dlt: np.ndarray
    response: np.ndarray
    both: np.ndarray

    @classmethod
    def from_patients(cls, tox: np.ndarray, eff: np.ndarray) -> EfficacyToxicityRates:
        """Cohort means of p_T, p_E and p_T p_E from per-patient probabilities (n, D) each."""
        return cls(dlt=tox.mean(axis=0), response=eff.mean(axis=0), both=(tox * eff).mean(axis=0))

    @property
    def joint_table(self) -> np.ndarray:
        """(n_doses, 2, 2): [dose, DLT (0/1), response (0/1)], each dose's table sums to 1."""
        table = np.empty((self.dlt.size, 2, 2))
        table[:, 1, 1] = self.both
        table[:, 1, 0] = self.dlt - self.both
        table[:, 0, 1] = self.response - self.both
        table[:, 0, 0] = 1 - self.dlt - self.response + self.both
        return table

    @property
    def correlation(self) -> np.ndarray:
        """Pearson correlation of the DLT and response indicators per dose (n_doses,)."""
        covariance = self.both - self.dlt * self.response
        scale = np.sqrt(self.dlt * (1 - self.dlt) * self.response * (1 - self.response))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(scale > 0, covariance / scale, 0.0)


def population_rates(truth: EfficacyToxicityTruth) -> EfficacyToxicityRates:
    """Marginal and joint rates: cohort means of p_T, p_E and p_T p_E per dose.

    Examples:
        >>> rates = population_rates(EfficacyToxicityTruth(dose_levels_mg_per_m2=(75, 150),
        ...                                                n_patients=8))
        >>> bool(np.allclose(rates.joint_table.sum(axis=(1, 2)), 1.0))
        True
    """
    return EfficacyToxicityRates.from_patients(*patient_outcome_probabilities(truth))


def phase12_scenario(truth: EfficacyToxicityTruth, *, target_dlt_rate: float = PHI_T,
                     min_efficacy_rate: float = PHI_E, utility_neither: float = U_NEITHER,
                     utility_both: float = U_BOTH, cohort_size: int = 3,
                     max_sample_size: int = 36, start_level: int = 0) -> Phase12Scenario:
    """A :class:`Phase12Scenario` whose truth is the docetaxel cohort's joint rates.

    Rates are kept within [1e-4, 1 - 1e-4], the DLT rates non-decreasing (a guard: the cohort
    means already are) and the joint within its bounds (our choices); the
    defaults for phi_T, phi_E and utilities are Lin et al. (2020)'s.
    """
    rates = population_rates(truth)
    low, high = PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR
    tox, eff = np.clip(rates.dlt, low, high), np.clip(rates.response, low, high)
    both = np.clip(rates.both, np.maximum(0.0, tox + eff - 1), np.minimum(tox, eff))
    return Phase12Scenario(
        true_dlt_probabilities=tuple(np.maximum.accumulate(tox).tolist()),
        true_efficacy_probabilities=tuple(eff.tolist()), true_joint_probabilities=tuple(
            both.tolist()), target_dlt_rate=target_dlt_rate,
        min_efficacy_rate=min_efficacy_rate, utility_neither=utility_neither,
        utility_both=utility_both, cohort_size=cohort_size, max_sample_size=max_sample_size,
        start_level=start_level)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MechanisticPhase12:
    """YAML schema of a phase I/II scenario whose truth is the docetaxel cohort.

    Attributes:
        efficacy_toxicity_truth: Dose grid and virtual cohort.
        target_dlt_rate: phi_T; min_efficacy_rate: phi_E (Lin et al. 2020: 0.35, 0.25).
        utility_neither: u2; utility_both: u3 (0-100; paper 40, 60).
        cohort_size: Patients per cohort; max_sample_size: most patients; start_level: first.
    """

    efficacy_toxicity_truth: EfficacyToxicityTruth
    target_dlt_rate: float = PHI_T
    min_efficacy_rate: float = PHI_E
    utility_neither: float = U_NEITHER
    utility_both: float = U_BOTH
    cohort_size: int = 3
    max_sample_size: int = 36
    start_level: int = 0


def load_phase12_scenario(path: str | Path) -> tuple[Phase12Scenario, tuple[float, ...] | None]:
    """Read a phase I/II scenario, fixed-truth or mechanistic; unknown keys are errors.

    A mapping with an ``efficacy_toxicity_truth`` key follows :class:`MechanisticPhase12`; any
    other the fields of :class:`~pkgym.trials.phase12_simulation.Phase12Scenario`.

    Returns:
        The scenario, and the dose of each level (mg/m2) or ``None`` for a fixed-truth table.

    Examples:
        >>> import tempfile, os, yaml
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     file = os.path.join(folder, "s.yaml")
        ...     text = yaml.safe_dump({"true_dlt_probabilities": [0.1, 0.3],
        ...                            "true_efficacy_probabilities": [0.3, 0.5]})
        ...     _ = open(file, "w").write(text)
        ...     scenario, doses = load_phase12_scenario(file)
        >>> scenario.true_obd, doses
        (1, None)
    """
    data = read_yaml(path)
    if isinstance(data, dict) and "efficacy_toxicity_truth" in data:
        spec = from_mapping(MechanisticPhase12, data, path=Path(path).name)
        options = {field.name: getattr(spec, field.name)
                   for field in dataclasses.fields(spec)}
        truth = options.pop("efficacy_toxicity_truth")
        return phase12_scenario(truth, **options), truth.dose_levels_mg_per_m2
    return from_mapping(Phase12Scenario, data, path=Path(path).name), None
