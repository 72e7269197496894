"""Phase I dose-toxicity truth: fixed scenarios and random dose-toxicity curves.

The true MTD follows the convention of the BOIN and CRM papers (Liu & Yuan 2015; Cheung 2011):
the dose level whose true DLT probability is closest to the target; ties go to the lower level.

This module sits below both the trial simulator (:mod:`pkgym.trials`) and the dose-finding
environment (:mod:`pkgym.envs.dose_finding.env`), which score designs against the same truth.
"""

from __future__ import annotations

import dataclasses

import numpy as np

CANDIDATES_PER_ROUND = 32
"""Candidate curves drawn per pending curve and numpy call in :class:`RandomDoseToxicity`."""
PROBABILITY_BOUNDS = (1e-4, 1.0 - 1e-4)
"""Random curves with a level outside these bounds are rejected and redrawn (see
:class:`RandomDoseToxicity`): the probabilities stay strictly inside (0, 1) and strictly
increasing, which clipping would not guarantee."""


MAX_SAMPLE_SIZE = 10_000
"""Most patients of one simulated trial (and so most cohorts, the env's horizon)."""


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
        if not 1 <= self.cohort_size <= MAX_SAMPLE_SIZE:
            raise ValueError(f"cohort_size must be in 1..{MAX_SAMPLE_SIZE}, got {self.cohort_size}")
        if not self.cohort_size <= self.max_sample_size <= MAX_SAMPLE_SIZE or \
                self.max_sample_size % self.cohort_size:
            raise ValueError(
                f"max_sample_size must be a positive multiple of cohort_size={self.cohort_size}, "
                f"at most {MAX_SAMPLE_SIZE}, got {self.max_sample_size}"
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


def closest_levels(probabilities: np.ndarray, target_dlt_rate: float) -> np.ndarray:
    """True MTD of each curve, batched: the level closest to the target (ties: the lower).

    The same rule as :attr:`DoseFindingScenario.true_mtd`, row by row.

    Args:
        probabilities: true DLT probabilities (n_curves, n_doses).
        target_dlt_rate: target DLT probability phi.

    Examples:
        >>> closest_levels(np.array([[0.1, 0.25, 0.35], [0.3, 0.5, 0.6]]), 0.3).tolist()
        [1, 0]
    """
    distances = np.abs(np.asarray(probabilities, dtype=np.float64) - target_dlt_rate)
    best = distances.min(axis=1, keepdims=True)
    # np.isclose(distances, best) with its default tolerances, without its overhead
    return (np.abs(distances - best) <= 1e-8 + 1e-5 * best).argmax(axis=1)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RandomDoseToxicity:
    """Random dose-toxicity curves with a uniformly drawn MTD ("pseudo-uniform" algorithm).

    Clertant M, O'Quigley J (2017). Semiparametric dose finding methods. J R Stat Soc B
    79:1487-1508; used to compare designs over random scenarios by Zhou H, Yuan Y, Nie L
    (2018). Accuracy, safety, and reliability of novel phase I trial designs ... Stat Med
    37:2208-2222. With J levels and target phi:

    1. the MTD level j (1-based) is uniform over the J levels;
    2. M ~ Beta(max(J - j, 0.5), 1) and the upper bound B = phi + (1 - phi) M;
    3. J probabilities are drawn uniformly on [0, B] and sorted, again and again, until level
       j is the one closest to the target (ties to the lower level), so the MTD is exactly j.

    A draw with a probability outside ``PROBABILITY_BOUNDS`` is also redrawn (a negligible
    tail), so every curve is strictly increasing inside (0, 1). Step 3 can be nearly
    impossible for a rare B (e.g. j = 1 with B just above phi); after ``rounds_per_bound``
    failed draws a curve gets a fresh M (same j), which the paper leaves unspecified.

    Attributes:
        n_doses: number of dose levels J (>= 2).
        target_dlt_rate: target DLT probability phi, in (0, 1).
        rounds_per_bound: failed draws of step 3 before M is drawn again.
        max_rounds: most rejection rounds before giving up with an error.

    Examples:
        >>> curves = RandomDoseToxicity().sample(np.random.default_rng(0), 3)
        >>> curves.shape, bool(np.all(np.diff(curves, axis=1) > 0))
        ((3, 5), True)
    """

    n_doses: int = 5
    target_dlt_rate: float = 0.3
    rounds_per_bound: int = 1000
    max_rounds: int = 100_000

    def __post_init__(self) -> None:
        """Validate every field, naming it and the allowed values."""
        if not 2 <= self.n_doses <= 50:
            raise ValueError(f"n_doses must be in 2..50, got {self.n_doses}")
        if not 0 < self.target_dlt_rate < 1:
            raise ValueError(f"target_dlt_rate must lie in (0, 1), got {self.target_dlt_rate}")
        if self.rounds_per_bound < 1:
            raise ValueError(f"rounds_per_bound must be >= 1, got {self.rounds_per_bound}")
        if self.max_rounds < 1:
            raise ValueError(f"max_rounds must be >= 1, got {self.max_rounds}")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` random curves of true DLT probabilities, strictly increasing (n, n_doses).

        Args:
            rng: the only source of randomness; the same state gives the same curves.
            n: number of curves (>= 0).
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        mtds = rng.integers(0, self.n_doses, size=n)
        bounds = self._bounds(rng, mtds)
        curves = np.empty((n, self.n_doses))
        pending = np.arange(n)
        # step 3 for many candidates at once (a draw is one candidate; the first accepted wins)
        width = min(CANDIDATES_PER_ROUND, self.rounds_per_bound, self.max_rounds)
        for draws in range(width, self.max_rounds + width, width):
            if pending.size == 0:
                return curves
            accepted, first = self._candidates(rng, mtds[pending], bounds[pending], width)
            curves[pending[accepted]] = first[accepted]
            pending = pending[~accepted]
            if draws % self.rounds_per_bound < width and pending.size:
                bounds[pending] = self._bounds(rng, mtds[pending])
        if pending.size == 0:
            return curves
        raise RuntimeError(f"{pending.size} curve(s) still rejected after {self.max_rounds} "
                           "rounds; raise max_rounds")

    def _candidates(self, rng: np.random.Generator, mtds: np.ndarray, bounds: np.ndarray,
                    width: int) -> tuple[np.ndarray, np.ndarray]:
        """Step 3 with ``width`` sorted uniform candidates on [0, B] per pending curve.

        Returns whether a candidate has the drawn MTD (n,), and the first that has (n, n_doses).
        """
        n, d = mtds.size, self.n_doses
        drawn = np.sort(rng.random((n, width, d)), axis=2) * bounds[:, None, None]
        flat = drawn.reshape(n * width, d)
        low, high = PROBABILITY_BOUNDS
        ok = ((closest_levels(flat, self.target_dlt_rate) == np.repeat(mtds, width))
              & np.all((flat >= low) & (flat <= high), axis=1)
              & np.all(np.diff(flat, axis=1) > 0, axis=1)).reshape(n, width)
        return ok.any(axis=1), drawn[np.arange(n), ok.argmax(axis=1)]

    def _bounds(self, rng: np.random.Generator, mtds: np.ndarray) -> np.ndarray:
        """Step 2: the upper bound B = phi + (1 - phi) M per curve, M ~ Beta(max(J - j, .5), 1)."""
        shapes = np.maximum(self.n_doses - (mtds + 1), 0.5)
        return self.target_dlt_rate + (1 - self.target_dlt_rate) * rng.beta(shapes, 1.0)
