"""The phase I/II trial unit: scenario, reward, what the trial team observes, pinnable truths.

Configuration flows one way (STYLE 11): a YAML file or keyword arguments give a frozen
:class:`DoseFindingEffToxScenario`. The truth (per level: Pr(DLT), Pr(response) and
Pr(both)) is a fixed table or drawn per episode from ``random_truth``. The size rules, the
truth's toxicity curve, the cohort columns and the counts observed are those of
``pkgym/DoseFinding-v0`` (:mod:`pkgym.envs.dose_finding.clinic`), shared, not copied.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from gymnasium import spaces

from pkgym.envs.base import RewardFn
from pkgym.envs.dose_finding.clinic import TrialCounts, curve_columns
from pkgym.models.dose_efficacy import (
    PHI_E,
    PHI_T,
    U_BOTH,
    U_NEITHER,
    RandomEfficacyToxicity,
    phase12_utilities,
)
from pkgym.models.dose_toxicity import DoseFindingScenario
from pkgym.scenarios import check_fields
from pkgym.scenarios import resolve_scenario as resolve


@dataclass(frozen=True, slots=True)
class EffToxOutcome:
    """One step's outcome of every stepped trial (all (n,)).

    Attributes:
        treated_above_mtd: patients of the cohort just treated above the true MTD (0 if none).
        dlts: DLTs of the cohort just treated.
        relative_utility: where the trial ended now with a recommendation, the true utility of
            the recommended level over the true OBD's (0 above the true MTD); else 0.
    """

    treated_above_mtd: np.ndarray
    dlts: np.ndarray
    relative_utility: np.ndarray


@dataclass(frozen=True, slots=True, kw_only=True)
class EffToxReward(RewardFn):
    """Reward of a step: the relative utility of the OBD named, penalties while treating.

    ``reward = utility x u(recommended) / u(true OBD) [at the end; 0 above the true MTD or
    with no recommendation] - overdose_per_patient x patients treated above the true MTD
    - dlt_per_patient x DLTs``: the form of ``pkgym/DoseFinding-v0``'s reward with the
    BOIN12 utility (Lin et al. 2020) in place of the 0/1 correct selection.

    Attributes:
        utility: weight of the terminal relative utility (per trial).
        overdose_per_patient: penalty per patient treated above the true MTD.
        dlt_per_patient: penalty per DLT.
    """

    utility: float = 1.0
    overdose_per_patient: float = 0.02
    dlt_per_patient: float = 0.0

    def __post_init__(self) -> None:
        """Every weight must be finite and >= 0 (penalties are subtracted)."""
        for name in ("utility", "overdose_per_patient", "dlt_per_patient"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"reward.{name} must be finite and >= 0, got {value}")

    def __call__(self, outcome: EffToxOutcome, doses_mg: np.ndarray) -> np.ndarray:
        """Reward of each stepped trial (``doses_mg``: the assigned levels, unused)."""
        return (self.utility * outcome.relative_utility
                - self.overdose_per_patient * outcome.treated_above_mtd
                - self.dlt_per_patient * outcome.dlts)


@dataclass(frozen=True, slots=True, kw_only=True)
class DoseFindingEffToxScenario:
    """Everything that defines the phase I/II trial (YAML fields have the same names).

    Attributes:
        n_doses: dose levels (2..20).
        target_dlt_rate: highest acceptable DLT probability phi_T (Lin et al. 2020: 0.35).
        min_efficacy_rate: lowest acceptable response probability phi_E (paper: 0.25).
        utility_neither: u2, utility of neither DLT nor response, 0-100 (paper: 40).
        utility_both: u3, utility of a response with a DLT, 0-100 (paper: 60).
        cohort_size: patients per cohort (>= 1).
        max_sample_size: most patients per trial (a multiple of ``cohort_size``).
        start_level: zero-based level of the first cohort.
        true_dlt_probabilities: a fixed truth's Pr(DLT) per level (non-decreasing), or
            ``None`` to draw every truth from ``random_truth``.
        true_efficacy_probabilities: a fixed truth's Pr(response) per level (with the above).
        true_joint_probabilities: a fixed truth's Pr(DLT and response), ``None``: independent.
        random_truth: the truth generator (its ``n_doses`` and ``target_dlt_rate`` must equal
            the scenario's when the truth is random).
        allow_skipping: whether a level above (highest tried + 1) may be assigned.
        reward: reward weights.

    Examples:
        >>> DoseFindingEffToxScenario().max_cohorts
        12
    """

    n_doses: int = 5
    target_dlt_rate: float = PHI_T
    min_efficacy_rate: float = PHI_E
    utility_neither: float = U_NEITHER
    utility_both: float = U_BOTH
    cohort_size: int = 3
    max_sample_size: int = 36
    start_level: int = 0
    true_dlt_probabilities: tuple[float, ...] | None = None
    true_efficacy_probabilities: tuple[float, ...] | None = None
    true_joint_probabilities: tuple[float, ...] | None = None
    random_truth: RandomEfficacyToxicity = field(default_factory=RandomEfficacyToxicity)
    allow_skipping: bool = False
    reward: EffToxReward = field(default_factory=EffToxReward)

    def __post_init__(self) -> None:
        """Validate the fields, naming each and what it allows."""
        check_fields(self)
        if not 2 <= self.n_doses <= 20:
            raise ValueError(f"n_doses must be in 2..20, got {self.n_doses}")
        for name in ("min_efficacy_rate",):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must lie in (0, 1), got {getattr(self, name)}")
        for name in ("utility_neither", "utility_both"):
            if not 0 <= getattr(self, name) <= 100:
                raise ValueError(f"{name} must lie in [0, 100], got {getattr(self, name)}")
        given = (self.true_dlt_probabilities, self.true_efficacy_probabilities)
        if (given[0] is None) != (given[1] is None) or (
                given[0] is None and self.true_joint_probabilities is not None):
            raise ValueError("true_dlt_probabilities and true_efficacy_probabilities must be "
                             "given together (true_joint_probabilities only with them)")
        if self.fixed_truth is not None:
            tox, eff, both = self.check_truth(*self.fixed_truth)
            for name, values in zip(("true_dlt_probabilities", "true_efficacy_probabilities",
                                     "true_joint_probabilities"), (tox, eff, both), strict=True):
                if getattr(self, name) is not None:
                    object.__setattr__(self, name, tuple(float(p) for p in values))
        elif (self.random_truth.n_doses, self.random_truth.target_dlt_rate) != (
                self.n_doses, self.target_dlt_rate):
            raise ValueError(f"random_truth.n_doses and random_truth.target_dlt_rate must equal "
                             f"n_doses={self.n_doses} and target_dlt_rate={self.target_dlt_rate}"
                             f", got {self.random_truth.n_doses} and "
                             f"{self.random_truth.target_dlt_rate}")
        self.shape_scenario()

    @property
    def fixed_truth(self) -> tuple[Any, Any, Any] | None:
        """The fixed (Pr(DLT), Pr(response), Pr(both) or ``None``) as given, or ``None``."""
        if self.true_dlt_probabilities is None:
            return None
        return (self.true_dlt_probabilities, self.true_efficacy_probabilities,
                self.true_joint_probabilities)

    def check_truth(self, dlt: Any, response: Any, both: Any
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A truth as three (n_doses,) float arrays (``both`` None: independence), validated.

        Pr(DLT) is checked with the size rules by the phase I trial's own scenario; Pr(both)
        must lie within [max(0, pT + pE - 1), min(pT, pE)].

        Examples:
            >>> tox, eff, both = DoseFindingEffToxScenario().check_truth(
            ...     [0.05, 0.1, 0.2, 0.3, 0.5], [0.1, 0.3, 0.5, 0.5, 0.5], None)
            >>> both.round(3).tolist()
            [0.005, 0.03, 0.1, 0.15, 0.25]
        """
        tox = np.asarray(dlt, dtype=np.float64).reshape(-1)
        eff = np.asarray(response, dtype=np.float64).reshape(-1)
        for name, values in (("true_dlt_probabilities", tox),
                             ("true_efficacy_probabilities", eff)):
            if values.size != self.n_doses or not np.all((values > 0) & (values < 1)):
                raise ValueError(f"{name} must list n_doses={self.n_doses} probabilities in "
                                 f"(0, 1), got {values.tolist()}")
        self.tox_scenario(tuple(tox.tolist()))
        joint = tox * eff if both is None else np.asarray(both, dtype=np.float64).reshape(-1)
        low, high = np.maximum(0.0, tox + eff - 1), np.minimum(tox, eff)
        if joint.shape != tox.shape or not np.all((joint >= low - 1e-12) & (joint <= high + 1e-12)):
            raise ValueError("true_joint_probabilities must give one Pr(DLT and response) per "
                             f"level within [max(0, pT + pE - 1), min(pT, pE)], got "
                             f"{joint.tolist()}")
        return tox, eff, np.clip(joint, low, high)

    def tox_scenario(self, probabilities: tuple[float, ...]) -> DoseFindingScenario:
        """The phase I trial scenario of a toxicity curve (validates it and the size rules)."""
        return DoseFindingScenario(
            true_dlt_probabilities=probabilities, target_dlt_rate=self.target_dlt_rate,
            cohort_size=self.cohort_size, max_sample_size=self.max_sample_size,
            start_level=self.start_level)

    def shape_scenario(self) -> DoseFindingScenario:
        """The phase I scenario of these size rules and phi_T (a placeholder curve if random)."""
        curve = self.true_dlt_probabilities or tuple(np.linspace(0.05, 0.95, self.n_doses))
        return self.tox_scenario(tuple(float(p) for p in curve))

    def sample_cohort(self, n: int, root: np.random.SeedSequence,
                      start: int = 0) -> pd.DataFrame:
        """Pinnable trials ``start .. start+n-1`` from ``root`` (:func:`sample_trial_cohort`)."""
        return sample_trial_cohort(self, n, root, start)

    @property
    def max_cohorts(self) -> int:
        """Most cohorts per trial (and steps per episode), ``max_sample_size // cohort_size``."""
        return self.max_sample_size // self.cohort_size


def resolve_scenario(scenario: DoseFindingEffToxScenario | str | os.PathLike | None,
                     env_id: str) -> DoseFindingEffToxScenario:
    """The scenario from an object, a YAML path or ``None`` (see ``scenarios.resolve_scenario``).

    Examples:
        >>> resolve_scenario(None, "any id").target_dlt_rate
        0.35
    """
    return resolve(scenario, DoseFindingEffToxScenario, env_id)


def true_utilities(records: Any, scenario: DoseFindingEffToxScenario) -> np.ndarray:
    """True BOIN12 utility of every level of every trial (n, n_doses), 0-100.

    ``records`` holds the truth: ``dlt_truth``, ``response_truth``, ``both_truth``.
    """
    return phase12_utilities(records.dlt_truth, records.response_truth, records.both_truth,
                             scenario.utility_neither, scenario.utility_both)


def truth_columns(n_doses: int) -> tuple[str, ...]:
    """Cohort columns of a truth: ``p_dlt_*`` (as DoseFinding-v0), ``p_eff_*``, ``p_both_*``.

    Examples:
        >>> truth_columns(2)
        ('p_dlt_1', 'p_dlt_2', 'p_eff_1', 'p_eff_2', 'p_both_1', 'p_both_2')
    """
    levels = range(1, n_doses + 1)
    return (*curve_columns(n_doses), *(f"p_eff_{j}" for j in levels),
            *(f"p_both_{j}" for j in levels))


def sample_trial_cohort(scenario: DoseFindingEffToxScenario, n: int,
                        root: np.random.SeedSequence, start: int = 0) -> pd.DataFrame:
    """``n`` trials' truths (one row per trial, :func:`truth_columns` and ``id``) from ``root``.

    Trial k draws from child k of ``root``, so it is the same trial in a cohort of any size;
    a fixed-truth scenario repeats its table. ``attrs`` records the seed (leakage guard).

    Examples:
        >>> cohort = sample_trial_cohort(DoseFindingEffToxScenario(), 3,
        ...                              np.random.SeedSequence(1))
        >>> cohort.shape
        (3, 16)
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rows = np.empty((n, 3 * scenario.n_doses))
    fixed = scenario.fixed_truth
    for k in range(n):
        if fixed is not None:
            rows[k] = np.concatenate(scenario.check_truth(*fixed))
            continue
        child = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, start + k))
        rows[k] = np.concatenate(scenario.random_truth.sample(np.random.default_rng(child)))
    cohort = pd.DataFrame(rows, columns=list(truth_columns(scenario.n_doses)))
    cohort["id"] = np.arange(start, start + n)
    cohort.attrs.update(seed_entropy=root.entropy, seed_spawn_key=root.spawn_key, start=start)
    return cohort


class EffToxCounts(TrialCounts):
    """DoseFinding-v0's counts (:class:`TrialCounts`) plus responses, both events and phi_E."""

    def space(self, settings: Any) -> spaces.Dict:
        """The observation space of one trial under ``settings`` (a scenario)."""
        s: DoseFindingEffToxScenario = settings
        base = super().space(s)
        count = spaces.Box(np.float32(0.0), np.float32(s.max_sample_size), shape=(s.n_doses,),
                           dtype=np.float32)
        return spaces.Dict({**base.spaces, "responses": count, "both": count,
                            "min_efficacy_rate": spaces.Box(np.float32(0.0), np.float32(1.0),
                                                            shape=(1,), dtype=np.float32)})

    def __call__(self, records: Any, settings: Any) -> dict[str, np.ndarray]:
        """Batched observation of all trials."""
        n = records.level.size
        return {**super().__call__(records, settings), **self._efficacy(
            records.responses, records.both, np.full((n, 1), settings.min_efficacy_rate))}

    def row(self, records: Any, settings: Any, row: int) -> dict[str, np.ndarray]:
        """Row ``row`` of the batched observation, computed for that trial alone."""
        return {**super().row(records, settings, row), **self._efficacy(
            records.responses[row], records.both[row], np.full(1, settings.min_efficacy_rate))}

    @staticmethod
    def _efficacy(responses: np.ndarray, both: np.ndarray,
                  phi_e: np.ndarray) -> dict[str, np.ndarray]:
        return {"responses": responses.astype(np.float32), "both": both.astype(np.float32),
                "min_efficacy_rate": phi_e.astype(np.float32)}
