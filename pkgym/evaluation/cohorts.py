"""Held-out cohorts and the leakage guard: training and evaluation never share patients.

Cohort roots live in disjoint seed spaces: ``SeedSequence(seed, spawn_key=(space,))`` with
space 0 for training, 1 for evaluation and 2 for validation (the held-out patients that pick
checkpoints during training), so no evaluation patient can be a training or validation
patient, whatever the seeds. A trained model records the cohorts it saw (``CohortId``);
evaluating it on one of them raises :class:`LeakageError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pkgym.populations import BetweenSubjectVariability, Population

TRAINING, EVALUATION, VALIDATION = 0, 1, 2
"""Seed spaces of training, evaluation and validation (model selection) cohorts."""
SEED_SPACES = (TRAINING, EVALUATION, VALIDATION)


class LeakageError(ValueError):
    """An evaluation cohort overlaps the patients a model was trained on."""


@dataclass(frozen=True, slots=True)
class CohortId:
    """Identity of a sampled cohort: root seed entropy, spawn key and patient index range."""

    seed_entropy: int
    spawn_key: tuple[int, ...]
    start: int
    stop: int

    def overlaps(self, other: CohortId) -> bool:
        """Same root and intersecting patient ranges.

        Examples:
            >>> CohortId(1, (0,), 0, 10).overlaps(CohortId(1, (0,), 5, 20))
            True
            >>> CohortId(1, (0,), 0, 10).overlaps(CohortId(1, (1,), 0, 10))
            False
        """
        return ((self.seed_entropy, self.spawn_key) == (other.seed_entropy, other.spawn_key)
                and self.start < other.stop and other.start < self.stop)


def cohort_root(seed: int, space: int) -> np.random.SeedSequence:
    """Root seed of a cohort in a seed space (``TRAINING``, ``EVALUATION`` or ``VALIDATION``).

    Examples:
        >>> cohort_root(7, EVALUATION).spawn_key, cohort_root(7, VALIDATION).spawn_key
        ((1,), (2,))
    """
    if space not in SEED_SPACES:
        raise ValueError(f"space must be TRAINING (0), EVALUATION (1) or VALIDATION (2), got "
                         f"{space}")
    if int(seed) < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return np.random.SeedSequence(int(seed), spawn_key=(space,))


def sample_cohort(population: Population, variability: BetweenSubjectVariability, n: int,
                  seed: int, space: int = EVALUATION, *, start: int = 0) -> pd.DataFrame:
    """Covariates and random effects of ``n`` patients from a seed space, with its identity.

    ``start`` gives patients ``start .. start+n-1`` (a shard of a larger cohort): patient k is
    the same patient in any slice.

    Examples:
        >>> from pkgym.models.vancomycin import Goti2018
        >>> from pkgym.populations.vancomycin import ADULT_INPATIENTS
        >>> cohort = sample_cohort(ADULT_INPATIENTS, Goti2018().variability, 3, seed=1)
        >>> cohort_id(cohort).spawn_key, "eta_CL" in cohort.columns
        ((1,), True)
        >>> whole = sample_cohort(ADULT_INPATIENTS, Goti2018().variability, 5, seed=1)
        >>> part = sample_cohort(ADULT_INPATIENTS, Goti2018().variability, 2, seed=1, start=3)
        >>> part.equals(whole.iloc[3:].reset_index(drop=True))
        True
    """
    root = cohort_root(seed, space)
    covariates = population.sample(n, root, start=start)
    etas = variability.sample_etas(root, n, start=start)
    cohort = pd.concat([covariates, etas], axis=1)
    cohort.attrs.update(covariates.attrs)
    return cohort


def env_cohort(settings: Any, n: int, seed: int, space: int = EVALUATION, *,
               start: int = 0) -> pd.DataFrame:
    """``n`` pinnable rows of an env, from its core's ``settings``: patients, or trials.

    An env whose settings define ``sample_cohort(n, root, start)`` (``pkgym/DoseFinding-v0``,
    whose "patients" are trials) samples its own rows; every other env samples its
    population's covariates and its model's random effects (:func:`sample_cohort`). ``start``
    gives rows ``start .. start+n-1`` of the cohort (a shard): row k is the same in any slice.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> settings = gym.make("pkgym/DoseFinding-v0").unwrapped.core.settings
        >>> cohort_id(env_cohort(settings, 4, seed=3)).spawn_key
        (1,)
    """
    if hasattr(settings, "sample_cohort"):
        return settings.sample_cohort(n, cohort_root(seed, space), start)
    return sample_cohort(settings.population, settings.model.variability, n, seed, space,
                         start=start)


def cohort_id(cohort: pd.DataFrame) -> CohortId:
    """The identity recorded when a cohort was sampled (a user's own file has none)."""
    attrs = cohort.attrs
    if "seed_entropy" not in attrs:
        raise ValueError("cohort has no sampling record (attrs['seed_entropy']): it was not "
                         "drawn by Population.sample")
    start = int(attrs.get("start", 0))
    return CohortId(int(attrs["seed_entropy"]), tuple(attrs.get("seed_spawn_key", ())), start,
                    start + len(cohort))


def check_no_leakage(cohort: pd.DataFrame, training_cohorts: Iterable[CohortId]) -> None:
    """Raise :class:`LeakageError` if ``cohort`` shares patients with a training cohort.

    Examples:
        >>> from pkgym.models.vancomycin import Goti2018
        >>> from pkgym.populations.vancomycin import ADULT_INPATIENTS
        >>> train = sample_cohort(ADULT_INPATIENTS, Goti2018().variability, 5, 3, TRAINING)
        >>> check_no_leakage(train, [cohort_id(train)])
        Traceback (most recent call last):
        ...
        pkgym.evaluation.cohorts.LeakageError: evaluation cohort ...
    """
    if "seed_entropy" not in cohort.attrs:
        return  # a user's own cohort file: nothing sampled, nothing to compare
    this = cohort_id(cohort)
    for seen in training_cohorts:
        if this.overlaps(seen):
            raise LeakageError(
                f"evaluation cohort {this} overlaps training cohort {seen}: the model was "
                "trained on these patients; sample the evaluation cohort in the EVALUATION "
                "seed space (pkgym.evaluation.cohorts.sample_cohort)")
