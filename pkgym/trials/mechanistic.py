"""Mechanistic truth for phase I dose finding: DLT rates from docetaxel virtual patients.

Each virtual patient of :data:`~pkgym.populations.chemotherapy.DOCETAXEL_PATIENTS` (covariates
and the joint model's etas, one ``SeedSequence`` child per patient, so patient k is the same
in any cohort size) has a cycle-1 DLT probability at each dose from
:class:`~pkgym.models.chemotherapy.DoseLimitingToxicity`. The population DLT rate of a dose
level is the mean over the seeded cohort; it is the fixed truth of a
:class:`~pkgym.trials.scenarios.DoseFindingScenario`.

Population rates lose nothing for :func:`~pkgym.trials.operating_characteristics.simulate_trials`:
there every patient is a fresh exchangeable draw who gets one dose, so a patient with random
DLT probability ``p_i`` has a DLT with marginal probability ``E[p_i]``, the population rate,
independently of the other patients. Per-patient heterogeneity would change the operating
characteristics only with intra-patient escalation or covariate-driven dosing, which the
simulator does not model.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from pkgym.models.chemotherapy import DocetaxelPatientModel, DoseLimitingToxicity
from pkgym.populations.chemotherapy import DOCETAXEL_PATIENTS
from pkgym.scenarios import from_mapping, read_yaml
from pkgym.trials.scenarios import DoseFindingScenario

MAX_DOSE_MG_PER_M2 = 1000.0
"""Highest dose level a mechanistic truth may simulate (docetaxel label: 75-100 mg/m2)."""
MAX_PATIENTS = 100_000
"""Most virtual patients a mechanistic truth may average over."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MechanisticTruth:
    """Where the true DLT rates come from: a dose grid and a seeded virtual cohort.

    Attributes:
        dose_levels_mg_per_m2: Dose of each level, mg/m2, increasing and > 0 (n_doses,).
        n_patients: Virtual patients averaged over (>= 1).
        seed: Root seed of the virtual cohort (>= 0).
        grade4_days_limit: Days of grade 4 neutropenia beyond which it is a DLT (0..20).

    Examples:
        >>> MechanisticTruth(dose_levels_mg_per_m2=(60, 75, 100)).n_doses
        3
    """

    dose_levels_mg_per_m2: tuple[float, ...]
    n_patients: int = 2000
    seed: int = 0
    grade4_days_limit: int = 7

    def __post_init__(self) -> None:
        """Validate every field, naming it and the allowed values."""
        doses = np.asarray(self.dose_levels_mg_per_m2, dtype=np.float64)
        object.__setattr__(self, "dose_levels_mg_per_m2", tuple(float(d) for d in doses))
        if doses.ndim != 1 or doses.size < 2:
            raise ValueError("dose_levels_mg_per_m2 must list at least 2 dose levels")
        if not np.all(np.isfinite(doses)) or np.any(doses <= 0) or np.any(np.diff(doses) <= 0) \
                or np.any(doses > MAX_DOSE_MG_PER_M2):
            raise ValueError(
                f"dose_levels_mg_per_m2 must be finite, in (0, {MAX_DOSE_MG_PER_M2}] and strictly "
                f"increasing, got {self.dose_levels_mg_per_m2}"
            )
        if not 1 <= self.n_patients <= MAX_PATIENTS:
            raise ValueError(f"n_patients must be in 1..{MAX_PATIENTS}, got {self.n_patients}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        DoseLimitingToxicity(grade4_days_limit=self.grade4_days_limit)  # validates the limit

    @property
    def n_doses(self) -> int:
        """Number of dose levels."""
        return len(self.dose_levels_mg_per_m2)


def virtual_patients(n_patients: int, seed: int
                     ) -> tuple[DocetaxelPatientModel, dict[str, np.ndarray], np.ndarray]:
    """The docetaxel model, its virtual patients' covariates and random effects (n, n_eta)."""
    model = DocetaxelPatientModel()
    cohort = DOCETAXEL_PATIENTS.sample(n_patients, seed)
    covariates = {key: cohort[key].to_numpy() for key in cohort.columns}
    return model, covariates, model.variability.sample_etas(seed, n_patients).to_numpy()


def patient_dlt_probabilities(truth: MechanisticTruth) -> np.ndarray:
    """Each virtual patient's cycle-1 DLT probability at each dose level.

    Args:
        truth: Dose grid (mg/m2), cohort size and seed.

    Returns:
        Probabilities in [0, 1], shape (n_patients, n_doses).

    Examples:
        >>> truth = MechanisticTruth(dose_levels_mg_per_m2=(75, 150), n_patients=20, seed=1)
        >>> p = patient_dlt_probabilities(truth)
        >>> p.shape, bool(np.all(p[:, 1] >= p[:, 0]))
        ((20, 2), True)
    """
    model, covariates, etas = virtual_patients(truth.n_patients, truth.seed)
    dlt = DoseLimitingToxicity(grade4_days_limit=truth.grade4_days_limit)
    columns = [
        dlt.probability(model, covariates, etas, np.full(truth.n_patients, dose))
        for dose in truth.dose_levels_mg_per_m2
    ]
    return np.stack(columns, axis=1)


def population_dlt_rates(truth: MechanisticTruth) -> np.ndarray:
    """Population DLT rate of each dose level: the mean over the seeded virtual cohort.

    Args:
        truth: Dose grid (mg/m2), cohort size and seed.

    Returns:
        Rates in [0, 1], shape (n_doses,).

    Examples:
        >>> truth = MechanisticTruth(dose_levels_mg_per_m2=(75, 100, 150), n_patients=50)
        >>> rates = population_dlt_rates(truth)
        >>> bool(np.all(np.diff(rates) >= 0)), bool(0 < rates[0] < rates[-1] < 1)
        (True, True)
    """
    return patient_dlt_probabilities(truth).mean(axis=0)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MechanisticDoseFinding:
    """YAML schema of a dose-finding scenario whose truth is mechanistic.

    Attributes:
        mechanistic_truth: Dose grid and virtual cohort of the true DLT rates.
        target_dlt_rate: Target DLT probability, in (0, 1).
        cohort_size: Patients per cohort (>= 1).
        max_sample_size: Maximum number of patients (a multiple of ``cohort_size``).
        start_level: Zero-based starting dose level.
    """

    mechanistic_truth: MechanisticTruth
    target_dlt_rate: float
    cohort_size: int = 3
    max_sample_size: int = 36
    start_level: int = 0

    def __post_init__(self) -> None:
        """Validate the trial's size rules and target before any patient is simulated."""
        placeholder = np.linspace(0.05, 0.95, self.mechanistic_truth.n_doses)
        self._trial(tuple(float(p) for p in placeholder))

    def _trial(self, rates: tuple[float, ...]) -> DoseFindingScenario:
        return DoseFindingScenario(
            true_dlt_probabilities=rates, target_dlt_rate=self.target_dlt_rate,
            cohort_size=self.cohort_size, max_sample_size=self.max_sample_size,
            start_level=self.start_level)

    def scenario(self) -> DoseFindingScenario:
        """The fixed-truth scenario whose true DLT probabilities are the population rates.

        Examples:
            >>> spec = MechanisticDoseFinding(
            ...     mechanistic_truth=MechanisticTruth(dose_levels_mg_per_m2=(75, 150),
            ...                                        n_patients=50),
            ...     target_dlt_rate=0.3, max_sample_size=12)
            >>> spec.scenario().n_doses
            2
        """
        rates = population_dlt_rates(self.mechanistic_truth)
        return self._trial(tuple(float(r) for r in rates))


def load_trial_scenario(path: str | Path) -> tuple[DoseFindingScenario, tuple[float, ...] | None]:
    """Read a dose-finding scenario, fixed-truth or mechanistic; unknown keys are errors.

    A mapping with a ``mechanistic_truth`` key follows :class:`MechanisticDoseFinding`; any
    other follows :class:`~pkgym.trials.scenarios.DoseFindingScenario`.

    Args:
        path: YAML file.

    Returns:
        The scenario, and the dose of each level (mg/m2) or ``None`` for a fixed-truth table.

    Examples:
        >>> import tempfile, os, yaml
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     file = os.path.join(folder, "s.yaml")
        ...     text = yaml.safe_dump({"true_dlt_probabilities": [0.1, 0.3],
        ...                            "target_dlt_rate": 0.3})
        ...     _ = open(file, "w").write(text)
        ...     scenario, doses = load_trial_scenario(file)
        >>> scenario.true_mtd, doses
        (1, None)
    """
    data = read_yaml(path)
    if isinstance(data, dict) and "mechanistic_truth" in data:
        spec = from_mapping(MechanisticDoseFinding, data, path=Path(path).name)
        return spec.scenario(), spec.mechanistic_truth.dose_levels_mg_per_m2
    return from_mapping(DoseFindingScenario, data, path=Path(path).name), None
