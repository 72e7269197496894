# lines: the random curves' compiled draws sit beside the generator whose numbers they repeat
"""Phase I dose-toxicity truth: fixed scenarios and random dose-toxicity curves.

The true MTD follows the convention of the BOIN and CRM papers (Liu & Yuan 2015; Cheung 2011):
the dose level whose true DLT probability is closest to the target; ties go to the lower level.

Many curves, one generator each (an env's slots), are drawn compiled by
:meth:`RandomDoseToxicity.sample_each`: numba calls each generator's own bit generator through
numpy's C interface (``bit_generator.capsule``), so the numbers and their order are exactly
those of ``sample(rng, 1)`` per generator, without a Python call per draw.

This module sits below both the trial simulator (:mod:`pkgym.trials`) and the dose-finding
environment (:mod:`pkgym.envs.dose_finding.env`), which score designs against the same truth.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numba
import numpy as np

from pkgym.sim import bitgen
from pkgym.sim.bitgen import NUMPY_BETA, PCG64_DOUBLE, bitgen_addresses

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

    def sample_each(self, rngs: Sequence[np.random.Generator],
                    addresses: np.ndarray | None = None) -> np.ndarray:
        """One curve per generator (len(rngs), n_doses): row i is ``sample(rngs[i], 1)[0]``.

        Compiled (:func:`sample_curves`): curve after curve, each generator gives exactly the
        numbers ``sample(rng, 1)`` draws, in the same order, from its own bit generator and
        by numpy's own beta function. Where numpy does not export that function, one
        ``sample`` call per curve.

        Args:
            rngs: one generator per curve.
            addresses: their :func:`bitgen_addresses`, when the caller keeps them.

        Examples:
            >>> model = RandomDoseToxicity()
            >>> rows = model.sample_each([np.random.default_rng(s) for s in (1, 2)])
            >>> bool(np.array_equal(rows[1], model.sample(np.random.default_rng(2), 1)[0]))
            True
        """
        if not NUMPY_BETA:
            return np.array([self.sample(rng, 1)[0] for rng in rngs]).reshape(len(rngs),
                                                                                self.n_doses)
        addresses = bitgen_addresses(rngs) if addresses is None else addresses
        width = min(CANDIDATES_PER_ROUND, self.rounds_per_bound, self.max_rounds)
        curves, accepted = sample_curves(addresses, NUMPY_BETA, PCG64_DOUBLE, self.n_doses, width,
                                         self.rounds_per_bound, self.max_rounds,
                                         self.target_dlt_rate, *PROBABILITY_BOUNDS)
        if not accepted.all():
            raise RuntimeError(f"{int((~accepted).sum())} curve(s) still rejected after "
                               f"{self.max_rounds} rounds; raise max_rounds")
        return curves

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


@numba.njit(cache=True, error_model="numpy")
def closest_level(curve: np.ndarray, target: float,
                  distance: np.ndarray) -> int:  # pragma: no cover - compiled
    """One curve's row of :func:`closest_levels`, compiled (the same float operations).

    Args:
        curve: true DLT probabilities (n_doses,).
        target: target DLT probability phi.
        distance: scratch space (n_doses,), overwritten with ``|curve - target|``.
    """
    best = np.inf
    for j in range(curve.size):
        distance[j] = abs(curve[j] - target)
        best = min(best, distance[j])
    closest = 0
    while not abs(distance[closest] - best) <= 1e-8 + 1e-5 * best:
        closest += 1
    return closest


@numba.njit(cache=True, error_model="numpy", inline="always")
def assigned_level(want: int, current: int, highest_tried: int, enrolled: int, n_doses: int,
                   allow_skipping: bool, max_sample_size: int) -> tuple:  # pragma: no cover
    """The level a trial's next cohort gets when the design asks for ``want``: (level, stop, full).

    ``want == n_doses`` stops the trial (at the ``current`` level); without skipping the
    level is at most one above the highest tried; a trial with ``max_sample_size`` patients
    enrolled is full and treats no one more (its level then at most the highest tried).
    The rule of both dose-finding envs' steps.
    """
    stop = want == n_doses
    level = current if stop else want
    if not allow_skipping:
        level = min(level, highest_tried + 1)
    full = enrolled >= max_sample_size
    if full and not stop:
        level = min(level, highest_tried)
    return level, stop, full


@numba.njit(cache=True, error_model="numpy")
def sample_curves(addresses: np.ndarray, beta: int, pcg64: int, n_doses: int, width: int,
                  rounds_per_bound: int, max_rounds: int, target: float, low: float,
                  high: float) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """:meth:`RandomDoseToxicity.sample` with n = 1 for each generator in turn, compiled.

    Curve i (:func:`sample_curve`): its MTD level (``rng.integers``), its bound B from
    numpy's ``random_beta`` at ``beta``, then rounds of ``width`` candidates of ``n_doses`` uniforms
    (``rng.random((1, width, n_doses))``), each sorted and scaled by B; the first whose
    closest level (:func:`closest_level`) is its MTD, inside ``[low, high]`` and strictly
    increasing is the curve. A failed round whose count of draws asks for it
    (``draws % rounds_per_bound < width``) draws a fresh B, as ``sample`` does.

    Args:
        addresses: :func:`~pkgym.sim.bitgen.bitgen_addresses` of the generators (n,).
        beta: address of numpy's ``random_beta(bitgen_t *, a, b)`` (:data:`NUMPY_BETA`).
        pcg64: :data:`~pkgym.sim.bitgen.PCG64_DOUBLE` (uniforms of PCG64 generators drawn
            inline, the same numbers).
        n_doses: dose levels J.
        width: candidates per round.
        rounds_per_bound: failed draws before a fresh B.
        max_rounds: most draws.
        target: target DLT probability phi.
        low: lowest probability allowed (``PROBABILITY_BOUNDS[0]``).
        high: highest probability allowed (``PROBABILITY_BOUNDS[1]``).

    Returns:
        The curves (n, n_doses) and whether each was found within ``max_rounds`` (n,).
    """
    n = addresses.size
    curves, accepted = np.empty((n, n_doses)), np.zeros(n, dtype=np.bool_)
    candidates, curve, distance = np.empty((width, n_doses)), np.empty(n_doses), np.empty(n_doses)
    for i in range(n):
        accepted[i] = sample_curve(addresses[i], beta, pcg64, n_doses, width, rounds_per_bound,
                                   max_rounds, target, low, high, candidates, curve, distance)
        if accepted[i]:
            curves[i] = curve
    return curves, accepted


@numba.njit(cache=True, error_model="numpy")
def sample_curve(address: int, beta: int, pcg64: int, n_doses: int, width: int,
                 rounds_per_bound: int, max_rounds: int, target: float, low: float, high: float,
                 candidates: np.ndarray, curve: np.ndarray,
                 distance: np.ndarray) -> bool:  # pragma: no cover - compiled
    """One curve of :func:`sample_curves` into ``curve``; False if none in ``max_rounds``.

    ``RandomDoseToxicity.sample(rng, 1)`` on the generator at ``address``; ``candidates``
    (width, n_doses) and ``distance`` (n_doses,) are scratch.
    """
    mtd = bitgen.draw_level(address, n_doses)
    shape = max(n_doses - (mtd + 1), 0.5)
    bound = target + (1 - target) * bitgen.beta(beta, address, shape, 1.0)
    draws = width
    while draws < max_rounds + width:
        for w in range(width):
            for j in range(n_doses):
                candidates[w, j] = bitgen.pcg64_next_double(pcg64, address)
        for w in range(width):
            if _accepts(candidates[w], bound, mtd, target, low, high, curve, distance):
                return True
        if draws % rounds_per_bound < width:
            bound = target + (1 - target) * bitgen.beta(beta, address, shape, 1.0)
        draws += width
    return False


@numba.njit(cache=True, error_model="numpy", inline="always")
def _accepts(uniforms: np.ndarray, bound: float, mtd: int | np.int64, target: float, low: float,
             high: float, curve: np.ndarray,
             distance: np.ndarray) -> bool:  # pragma: no cover - compiled
    """Whether one candidate (sorted ``uniforms`` times ``bound``, into ``curve``) is kept."""
    for j in range(uniforms.size):  # insertion sort: the values np.sort gives
        value, m = uniforms[j], j
        while m > 0 and curve[m - 1] > value:
            curve[m] = curve[m - 1]
            m -= 1
        curve[m] = value
    for j in range(uniforms.size):
        curve[j] *= bound
    ok = closest_level(curve, target, distance) == mtd
    for j in range(uniforms.size):
        ok = ok and low <= curve[j] <= high and (j == 0 or curve[j] - curve[j - 1] > 0)
    return ok
