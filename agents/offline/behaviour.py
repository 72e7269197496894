"""Stochastic clinical behaviour policies: the clinicians who wrote an offline dataset.

A deterministic clinical baseline (label dosing, a nomogram, trough-guided dosing) gives one
dose level ``a_c(s)`` per decision. Real clinicians vary around such a rule, so the behaviour
policy of a dataset is ("clinician variability", our model, not a published one)::

    pi_b(a | s) = (1 - epsilon) * D(a; a_c(s), sd) + epsilon / n_levels

where ``D`` is a normal distribution with mean ``a_c(s)`` and standard deviation ``sd`` (in
dose levels) discretised over the level indices ``0 .. n_levels - 1``: level ``a`` gets the
normal's mass on ``[a - 1/2, a + 1/2]``, the two end levels also get the tails (no clinician
gives more than the top level or less than none). ``sd = 0`` is a point mass on ``a_c(s)``;
``epsilon`` is the share of decisions made uniformly at random over the levels (a slip, a
protocol deviation). Every level then has probability ``>= epsilon / n_levels > 0`` when
``epsilon > 0``, as importance sampling needs.

A mixture of clinicians assigns each *patient* one clinician, drawn with the mixture's weights
(a ward where each patient has one attending physician), and keeps it for the whole episode.

Randomness: patient ``k`` with noise seed ``s_k`` draws its clinician and its actions from its
own generator ``default_rng(SeedSequence(s_k, spawn_key=(BEHAVIOUR_STREAM,)))``, a stream
independent of the env's (seeded with ``s_k`` alone), so a patient's actions do not depend on
the other patients in the batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import ndtr

BEHAVIOUR_STREAM = 0xBE
"""Spawn key of the behaviour streams (distinct from the env's own seeding of ``s_k``)."""
DEFAULT_EPSILON = 0.1
"""Share of uniformly random decisions (our choice: one decision in ten off-protocol)."""
DEFAULT_SD_LEVELS = 0.5
"""Clinician variability in dose levels (our choice: about a third of decisions one level
off the rule, ``2 * (1 - Phi(1))`` = 0.32 for ``sd = 0.5``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BehaviourSpec:
    """The behaviour policy of a dataset: clinicians, their mixture weights, variability.

    Attributes:
        policies: baseline specs of the clinicians (``pkgym list --env ID``), at least one.
        weights: mixture weights (share of patients per clinician), summing to 1; default
            equal shares.
        epsilon: share of uniformly random decisions, in ``[0, 1]``.
        sd_levels: SD of the clinician's variability, in dose levels, ``>= 0``.

    Examples:
        >>> BehaviourSpec(policies=("label", "trough")).weights
        (0.5, 0.5)
        >>> BehaviourSpec(policies=("label",), epsilon=2.0)
        Traceback (most recent call last):
        ...
        ValueError: epsilon must be in [0, 1], got 2.0
    """

    policies: tuple[str, ...]
    weights: tuple[float, ...] = field(default=())
    epsilon: float = DEFAULT_EPSILON
    sd_levels: float = DEFAULT_SD_LEVELS

    def __post_init__(self) -> None:
        """Check the fields; fill equal weights."""
        if not self.policies or not all(isinstance(p, str) and p for p in self.policies):
            raise ValueError(f"policies must be one or more policy names, got {self.policies!r}")
        if not self.weights:
            object.__setattr__(self, "weights", (1.0 / len(self.policies),) * len(self.policies))
        weights = np.asarray(self.weights, dtype=np.float64)
        if weights.shape != (len(self.policies),) or not np.all(np.isfinite(weights)) or \
                np.any(weights < 0) or abs(weights.sum() - 1.0) > 1e-9:
            raise ValueError(f"weights must be {len(self.policies)} non-negative numbers summing "
                             f"to 1, got {self.weights!r}")
        if not 0.0 <= self.epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {self.epsilon}")
        if not (np.isfinite(self.sd_levels) and self.sd_levels >= 0.0):
            raise ValueError(f"sd_levels must be >= 0, got {self.sd_levels}")

    def record(self) -> dict[str, Any]:
        """JSON-ready fields (for the dataset's metadata).

        Examples:
            >>> BehaviourSpec(policies=("label",)).record()["model"][:28]
            '(1 - epsilon) * D(a; a_c, sd'
        """
        return {"policies": list(self.policies), "weights": list(self.weights),
                "epsilon": self.epsilon, "sd_levels": self.sd_levels,
                "model": "(1 - epsilon) * D(a; a_c, sd) + epsilon / n_levels; D: normal around "
                         "the clinician's level a_c, discretised over level indices (tails to "
                         "the end levels); one clinician per patient, drawn with weights"}


def level_distribution(levels: np.ndarray, n_levels: int, epsilon: float,
                       sd_levels: float) -> np.ndarray:
    """The behaviour distribution over dose levels around each clinician level.

    Args:
        levels: the clinicians' level indices, shape ``(n_patients,)``.
        n_levels: number of dose levels of the env's ``Discrete`` action space.
        epsilon: share of uniformly random decisions.
        sd_levels: SD of the discretised normal, in levels (0: a point mass).

    Returns:
        Probabilities, shape ``(n_patients, n_levels)``, float64; rows sum to 1.

    Examples:
        >>> level_distribution(np.array([0, 2]), 3, 0.0, 0.0).tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
        >>> p = level_distribution(np.array([1]), 3, 0.3, 0.5)
        >>> np.round(p, 3).tolist(), round(float(p.sum()), 12)
        ([[0.211, 0.578, 0.211]], 1.0)
    """
    centre = np.asarray(levels, dtype=np.float64)[:, None]
    grid = np.arange(n_levels, dtype=np.float64)[None, :]
    if sd_levels == 0.0:
        core = (grid == centre).astype(np.float64)
    else:
        upper = np.where(grid == n_levels - 1, np.inf, grid + 0.5)
        lower = np.where(grid == 0, -np.inf, grid - 0.5)
        core = ndtr((upper - centre) / sd_levels) - ndtr((lower - centre) / sd_levels)
        core /= core.sum(axis=1, keepdims=True)  # float rounding only: the bins tile the line
    return (1.0 - epsilon) * core + epsilon / n_levels


def behaviour_generators(seeds: Sequence[int]) -> list[np.random.Generator]:
    """One behaviour stream per patient, from its noise seed (independent of the env's).

    Examples:
        >>> a, = behaviour_generators([5]); b, = behaviour_generators([5])
        >>> a.random() == b.random()
        True
    """
    return [np.random.default_rng(np.random.SeedSequence(int(s), spawn_key=(BEHAVIOUR_STREAM,)))
            for s in seeds]


class BehaviourPolicy:
    """A mixture of stochastic clinicians acting on a batch of patients.

    Each clinician is a deterministic baseline (``reset(n)``, ``act(observation, info)`` ->
    doses in mg); it sees only its own patients. :meth:`act` gives the sampled level indices,
    their full distribution and the clinicians' own levels.

    Args:
        spec: the behaviour spec.
        clinicians: the built baselines, one per ``spec.policies`` entry.
        encode: doses (mg, ``(n,)``) -> level indices (the env core's ``encode_decisions``).
        n_levels: number of dose levels.
    """

    def __init__(self, spec: BehaviourSpec, clinicians: Sequence[Any],
                 encode: Any, n_levels: int) -> None:
        """Keep the clinicians; :meth:`reset` assigns them to patients."""
        if len(clinicians) != len(spec.policies):
            raise ValueError(f"clinicians must be one per policy {spec.policies}, got "
                             f"{len(clinicians)}")
        self.spec, self.clinicians, self.encode, self.n_levels = (spec, list(clinicians), encode,
                                                                  n_levels)
        self.generators: list[np.random.Generator] = []
        self.assigned = np.zeros(0, dtype=np.int64)

    def reset(self, seeds: Sequence[int]) -> np.ndarray:
        """Start one episode per patient (noise seeds ``seeds``); draw each one's clinician.

        Returns:
            The clinician index of each patient, shape ``(n_patients,)``.
        """
        self.generators = behaviour_generators(seeds)
        cumulative = np.cumsum(self.spec.weights)
        draws = np.array([g.random() for g in self.generators])
        self.assigned = np.minimum(np.searchsorted(cumulative, draws, side="right"),
                                   len(self.clinicians) - 1)
        for c, clinician in enumerate(self.clinicians):
            count = int((self.assigned == c).sum())
            if count:  # a clinician without patients never acts
                clinician.reset(count)
        return self.assigned.copy()

    def act(self, observation: Mapping[str, np.ndarray], info: Mapping[str, Any],
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sample one level per patient.

        Returns:
            ``(actions, probabilities, clinician_levels)``: sampled level indices ``(n,)``
            int64, the behaviour distribution ``(n, n_levels)`` float64 and the clinicians'
            deterministic levels ``(n,)`` int64.
        """
        n = self.assigned.size
        clinician_levels = np.zeros(n, dtype=np.int64)
        for c, clinician in enumerate(self.clinicians):
            rows = np.flatnonzero(self.assigned == c)
            if rows.size:
                doses = clinician.act(_rows(observation, rows, n), _rows(info, rows, n))
                clinician_levels[rows] = self.encode(np.asarray(doses, dtype=np.float64))
        probabilities = level_distribution(clinician_levels, self.n_levels, self.spec.epsilon,
                                           self.spec.sd_levels)
        cumulative = np.cumsum(probabilities, axis=1)
        draws = np.array([g.random() for g in self.generators])
        actions = (cumulative < draws[:, None] * cumulative[:, -1:]).sum(axis=1)
        return np.minimum(actions, self.n_levels - 1), probabilities, clinician_levels


def _rows(batch: Mapping[str, Any], rows: np.ndarray, n: int) -> dict[str, Any]:
    """The entries of a batched dict for ``rows`` (entries not of leading size ``n`` dropped)."""
    out = {}
    for key, value in batch.items():
        array = np.asarray(value)
        if array.ndim and array.shape[0] == n:
            out[key] = array[rows]
    return out
