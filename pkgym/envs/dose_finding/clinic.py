"""The phase I trial unit: scenario, reward, what the trial team observes, pinned truths.

Configuration flows one way (STYLE 11): a YAML file or keyword arguments give a frozen
:class:`DoseFindingEnvScenario`; the core reads it directly. The truth is either fixed
(``true_dlt_probabilities``) or drawn per episode from ``random_truth``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from gymnasium import spaces

from pkgym.envs.base import ObservationModel, RewardFn
from pkgym.envs.dose_finding.kernel import row_sums
from pkgym.models.dose_toxicity import DoseFindingScenario, RandomDoseToxicity
from pkgym.scenarios import check_fields
from pkgym.scenarios import resolve_scenario as resolve

DLT_WINDOW_DAYS = 28.0
"""Days between cohorts: the usual DLT assessment window of one 28-day cycle."""


@dataclass(frozen=True, slots=True)
class CohortOutcome:
    """One step's outcome of every stepped trial (all (n,)).

    Attributes:
        treated_above_mtd: patients of the cohort just treated above the true MTD (0 if none).
        dlts: DLTs of the cohort just treated.
        correct_selection: True where the trial ended now recommending the true MTD.
    """

    treated_above_mtd: np.ndarray
    dlts: np.ndarray
    correct_selection: np.ndarray


@dataclass(frozen=True, slots=True, kw_only=True)
class DoseFindingReward(RewardFn):
    """Reward of a step: a terminal bonus for a correct MTD, penalties while treating.

    ``reward = correct_selection x [recommended level == true MTD, at the end]
    - overdose_per_patient x patients treated above the true MTD (when the cohort is treated)
    - dlt_per_patient x DLTs observed``. The first cohort, treated at ``start_level`` by
    ``reset``, is not the policy's choice and is charged nothing.

    Attributes:
        correct_selection: bonus for recommending the true MTD (per trial).
        overdose_per_patient: penalty per patient treated above the true MTD.
        dlt_per_patient: penalty per DLT.
    """

    correct_selection: float = 1.0
    overdose_per_patient: float = 0.02
    dlt_per_patient: float = 0.0

    def __post_init__(self) -> None:
        """Every weight must be finite and >= 0 (penalties are subtracted)."""
        for name in ("correct_selection", "overdose_per_patient", "dlt_per_patient"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"reward.{name} must be finite and >= 0, got {value}")

    def __call__(self, outcome: CohortOutcome, doses_mg: np.ndarray) -> np.ndarray:
        """Reward of each stepped trial (``doses_mg``: the assigned levels, unused)."""
        return (self.correct_selection * outcome.correct_selection
                - self.overdose_per_patient * outcome.treated_above_mtd
                - self.dlt_per_patient * outcome.dlts)


@dataclass(frozen=True, slots=True, kw_only=True)
class DoseFindingEnvScenario:
    """Everything that defines the trial (YAML fields have the same names).

    Attributes:
        n_doses: dose levels (2..20).
        target_dlt_rate: target DLT probability phi, in (0, 1).
        cohort_size: patients per cohort (>= 1).
        max_sample_size: most patients per trial (a multiple of ``cohort_size``).
        start_level: zero-based level of the first cohort.
        true_dlt_probabilities: a fixed truth (n_doses,), or ``None`` to draw a fresh curve
            each episode from ``random_truth``.
        random_truth: the curve generator (its ``n_doses`` and ``target_dlt_rate`` must equal
            the scenario's when the truth is random).
        allow_skipping: whether a level above (highest tried + 1) may be assigned.
        reward: reward weights.

    Examples:
        >>> DoseFindingEnvScenario().max_cohorts
        12
    """

    n_doses: int = 5
    target_dlt_rate: float = 0.3
    cohort_size: int = 3
    max_sample_size: int = 36
    start_level: int = 0
    true_dlt_probabilities: tuple[float, ...] | None = None
    random_truth: RandomDoseToxicity = field(default_factory=RandomDoseToxicity)
    allow_skipping: bool = False
    reward: DoseFindingReward = field(default_factory=DoseFindingReward)

    def __post_init__(self) -> None:
        """Validate the fields, naming each and what it allows."""
        check_fields(self)
        if not 2 <= self.n_doses <= 20:
            raise ValueError(f"n_doses must be in 2..20, got {self.n_doses}")
        if self.true_dlt_probabilities is not None:
            given = tuple(float(p) for p in self.true_dlt_probabilities)
            object.__setattr__(self, "true_dlt_probabilities", given)
            if len(given) != self.n_doses:
                raise ValueError(f"true_dlt_probabilities must list n_doses={self.n_doses} "
                                 f"values, got {len(given)}")
        elif (self.random_truth.n_doses, self.random_truth.target_dlt_rate) != (
                self.n_doses, self.target_dlt_rate):
            raise ValueError(f"random_truth.n_doses and random_truth.target_dlt_rate must equal "
                             f"n_doses={self.n_doses} and target_dlt_rate={self.target_dlt_rate}"
                             f", got {self.random_truth.n_doses} and "
                             f"{self.random_truth.target_dlt_rate}")
        self.shape_scenario()

    def trial(self, probabilities: tuple[float, ...]) -> DoseFindingScenario:
        """The trial simulator's scenario for a truth (validates the truth and size rules)."""
        return DoseFindingScenario(
            true_dlt_probabilities=probabilities, target_dlt_rate=self.target_dlt_rate,
            cohort_size=self.cohort_size, max_sample_size=self.max_sample_size,
            start_level=self.start_level)

    def sample_cohort(self, n: int, root: np.random.SeedSequence,
                      start: int = 0) -> pd.DataFrame:
        """Pinnable trials ``start .. start+n-1`` from ``root`` (:func:`sample_trial_cohort`)."""
        return sample_trial_cohort(self, n, root, start)

    def shape_scenario(self) -> DoseFindingScenario:
        """The trial scenario of these size rules and target, for what needs no truth.

        Its truth is the fixed curve, or (random truth) an increasing placeholder curve.
        """
        return self.trial(self.true_dlt_probabilities or _placeholder(self.n_doses))

    @property
    def max_cohorts(self) -> int:
        """Most cohorts per trial (and steps per episode), ``max_sample_size // cohort_size``."""
        return self.max_sample_size // self.cohort_size


def _placeholder(n_doses: int) -> tuple[float, ...]:
    """A valid increasing curve used only to validate the size rules of a random-truth trial."""
    return tuple(float(p) for p in np.linspace(0.05, 0.95, n_doses))


def resolve_scenario(scenario: DoseFindingEnvScenario | str | os.PathLike | None,
                     env_id: str) -> DoseFindingEnvScenario:
    """The scenario from an object, a YAML path or ``None`` (see ``scenarios.resolve_scenario``).

    Examples:
        >>> resolve_scenario(None, "any id").n_doses
        5
    """
    return resolve(scenario, DoseFindingEnvScenario, env_id)


def curve_columns(n_doses: int) -> tuple[str, ...]:
    """Cohort columns of a trial's true curve, ``p_dlt_1`` .. ``p_dlt_<n_doses>``."""
    return tuple(f"p_dlt_{level}" for level in range(1, n_doses + 1))


def sample_trial_cohort(scenario: DoseFindingEnvScenario, n: int,
                        root: np.random.SeedSequence, start: int = 0) -> pd.DataFrame:
    """``n`` trials' true curves (one row per trial, ``p_dlt_*`` and ``id``) from ``root``.

    Trial k draws from child k of ``root``, so it is the same trial in a cohort of any size;
    a fixed-truth scenario repeats its curve. ``attrs`` records the seed, as
    :meth:`pkgym.populations.Population.sample` does, for the leakage guard.

    Examples:
        >>> cohort = sample_trial_cohort(DoseFindingEnvScenario(), 3, np.random.SeedSequence(1))
        >>> list(cohort.columns)
        ['p_dlt_1', 'p_dlt_2', 'p_dlt_3', 'p_dlt_4', 'p_dlt_5', 'id']
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    curves = np.empty((n, scenario.n_doses))
    for k in range(n):
        if scenario.true_dlt_probabilities is not None:
            curves[k] = scenario.true_dlt_probabilities
            continue
        child = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, start + k))
        curves[k] = scenario.random_truth.sample(np.random.default_rng(child), 1)[0]
    cohort = pd.DataFrame(curves, columns=list(curve_columns(scenario.n_doses)))
    cohort["id"] = np.arange(start, start + n)
    cohort.attrs.update(seed_entropy=root.entropy, seed_spawn_key=root.spawn_key, start=start)
    return cohort


class TrialCounts(ObservationModel):
    """What the trial team knows (float32): patients and DLTs per level, the current level."""

    def space(self, settings: Any) -> spaces.Dict:
        """The observation space of one trial under ``settings`` (a scenario)."""
        s: DoseFindingEnvScenario = settings

        def box(size: int, high: float) -> spaces.Box:
            return spaces.Box(np.float32(0.0), np.float32(high), shape=(size,), dtype=np.float32)

        return spaces.Dict({
            "patients": box(s.n_doses, s.max_sample_size),
            "dlts": box(s.n_doses, s.max_sample_size),
            "level": box(s.n_doses, 1.0), "enrolled_fraction": box(1, 1.0),
            "target_dlt_rate": box(1, 1.0)})

    def __call__(self, records: Any, settings: Any) -> dict[str, np.ndarray]:
        """Batched observation of all trials."""
        s: DoseFindingEnvScenario = settings
        n = records.level.size
        level = np.zeros((n, s.n_doses), dtype=np.float32)
        level[np.arange(n), records.level] = 1.0
        patients = records.patients
        treated = (row_sums(patients) if patients.dtype == np.int64 and patients.ndim == 2
                   else patients.sum(axis=1))  # the same sums, compiled for the usual counts
        enrolled = treated / s.max_sample_size
        return {"patients": records.patients.astype(np.float32),
                "dlts": records.dlts.astype(np.float32), "level": level,
                "enrolled_fraction": enrolled[:, None].astype(np.float32),
                "target_dlt_rate": np.full((n, 1), s.target_dlt_rate, dtype=np.float32)}

    def row(self, records: Any, settings: Any, row: int) -> dict[str, np.ndarray]:
        """Row ``row`` of the batched observation, computed for that trial alone."""
        s: DoseFindingEnvScenario = settings
        level = np.zeros(s.n_doses, dtype=np.float32)
        level[records.level[row]] = 1.0
        patients = records.patients[row]
        enrolled = np.array([patients.sum() / s.max_sample_size], dtype=np.float32)
        return {"patients": patients.astype(np.float32),
                "dlts": records.dlts[row].astype(np.float32), "level": level,
                "enrolled_fraction": enrolled,
                "target_dlt_rate": np.full(1, s.target_dlt_rate, dtype=np.float32)}
