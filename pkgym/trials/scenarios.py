"""Phase I dose-finding scenarios: fixed true DLT probabilities and the trial's size rules.

The true MTD follows the convention of the BOIN and CRM papers (Liu & Yuan 2015; Cheung 2011):
the dose level whose true DLT probability is closest to the target; ties go to the lower level.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import yaml

from pkgym.scenarios import from_mapping


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DoseFindingScenario:
    """Truth and size rules of a simulated phase I trial.

    Attributes:
        true_dlt_probabilities: True DLT probability of each dose level, non-decreasing (n_doses,).
        target_dlt_rate: Target DLT probability phi, in (0, 1).
        cohort_size: Patients per cohort (>= 1).
        max_sample_size: Maximum number of patients (a multiple of ``cohort_size``).
        start_level: Zero-based starting dose level.

    Examples:
        >>> scenario = DoseFindingScenario(true_dlt_probabilities=(0.05, 0.12, 0.3, 0.45),
        ...                                target_dlt_rate=0.3, max_sample_size=30)
        >>> scenario.true_mtd, scenario.n_doses, scenario.max_cohorts
        (2, 4, 10)
    """

    true_dlt_probabilities: tuple[float, ...]
    target_dlt_rate: float
    cohort_size: int = 3
    max_sample_size: int = 36
    start_level: int = 0

    def __post_init__(self) -> None:
        """Validate every field, naming it and the allowed values."""
        probabilities = np.asarray(self.true_dlt_probabilities, dtype=np.float64)
        object.__setattr__(self, "true_dlt_probabilities", tuple(float(p) for p in probabilities))
        if probabilities.ndim != 1 or probabilities.size < 2:
            raise ValueError("true_dlt_probabilities must list at least 2 dose levels")
        if not np.all((probabilities > 0) & (probabilities < 1)):
            raise ValueError(
                f"true_dlt_probabilities must lie in (0, 1), got {self.true_dlt_probabilities}"
            )
        if np.any(np.diff(probabilities) < 0):
            raise ValueError("true_dlt_probabilities must be non-decreasing in dose level")
        if not 0 < self.target_dlt_rate < 1:
            raise ValueError(f"target_dlt_rate must lie in (0, 1), got {self.target_dlt_rate}")
        if self.cohort_size < 1:
            raise ValueError(f"cohort_size must be >= 1, got {self.cohort_size}")
        if self.max_sample_size < self.cohort_size or self.max_sample_size % self.cohort_size:
            raise ValueError(
                f"max_sample_size must be a positive multiple of cohort_size={self.cohort_size}, "
                f"got {self.max_sample_size}"
            )
        if not 0 <= self.start_level < probabilities.size:
            raise ValueError(
                f"start_level must be in [0, {probabilities.size - 1}], got {self.start_level}"
            )

    @property
    def n_doses(self) -> int:
        """Number of dose levels."""
        return len(self.true_dlt_probabilities)

    @property
    def max_cohorts(self) -> int:
        """Maximum number of cohorts, ``max_sample_size // cohort_size``."""
        return self.max_sample_size // self.cohort_size

    @property
    def true_mtd(self) -> int:
        """Zero-based level whose true DLT probability is closest to the target (ties: lower)."""
        distances = np.abs(np.asarray(self.true_dlt_probabilities) - self.target_dlt_rate)
        return int(np.flatnonzero(np.isclose(distances, distances.min()))[0])


def load_dose_finding_scenario(path: str | Path) -> DoseFindingScenario:
    """Read a :class:`DoseFindingScenario` from a YAML mapping; unknown keys are errors.

    Args:
        path: YAML file whose keys are the fields of :class:`DoseFindingScenario`.

    Examples:
        >>> import tempfile, os
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     file = os.path.join(folder, "s.yaml")
        ...     text = yaml.safe_dump({"true_dlt_probabilities": [0.1, 0.3],
        ...                            "target_dlt_rate": 0.3})
        ...     _ = open(file, "w").write(text)
        ...     load_dose_finding_scenario(file).true_mtd
        1
    """
    try:
        data = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML ({error})") from None
    return from_mapping(DoseFindingScenario, data, path="dose_finding_scenario")
