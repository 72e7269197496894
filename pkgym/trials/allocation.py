"""Allocation rules of virtual trials: equal, Neyman (two arms) and Thall-Wathen (many arms).

Every rule returns the probabilities of the next randomisation block over *all* arms, shape
``(n_arms,)``, arm 0 the control, zero for dropped arms; :func:`randomise` turns them into a
permuted block.

* ``"equal"``: ``1 / m`` for each of the ``m`` active arms (control included).
* ``"neyman"`` (two arms only): the experimental arm gets ``sigma_E / (sigma_E + sigma_C)``, the
  variance-minimising target for a difference of means (Neyman 1934; as a response-adaptive
  target, Zhang & Rosenberger 2006, Biometrics 62:562), estimated from the outcomes so far and
  capped to ``allocation_bounds``.
* ``"thall_wathen"``: the control keeps ``1 / m``; the active experimental arms share the rest in
  proportion to ``P(arm is best)^c`` with ``c = n / (2 N_max)`` (Thall & Wathen 2007, Eur J
  Cancer 43:859), ``n`` the patients enrolled so far, so allocation starts equal and grows more
  adaptive as data accrue. ``P(arm is best)`` is over the active experimental arms, from normal
  approximations ``N(mean_j, s_j^2 / n_j)`` of their means (:func:`probability_best`); "best"
  is the largest mean, or the smallest for ``alternative="less"``. If an arm's probability
  falls outside ``allocation_bounds`` the vector is shrunk towards equal allocation just enough
  to respect them.

Both adaptive rules allocate equally during the first ``burn_in`` patients and while an arm has
fewer than two outcomes.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
from scipy import special

_HERMITE_NODES, _HERMITE_WEIGHTS = np.polynomial.hermite_e.hermegauss(64)
_HERMITE_WEIGHTS = _HERMITE_WEIGHTS / np.sqrt(2.0 * np.pi)


class AllocationSettings(Protocol):
    """The design fields an allocation rule reads (a ``VirtualTrialDesign`` satisfies it)."""

    @property
    def allocation(self) -> str: ...  # noqa: D102
    @property
    def alternative(self) -> str: ...  # noqa: D102
    @property
    def burn_in(self) -> int: ...  # noqa: D102
    @property
    def max_patients(self) -> int: ...  # noqa: D102
    @property
    def allocation_bounds(self) -> tuple[float, float]: ...  # noqa: D102


def allocation_probabilities(design: AllocationSettings, outcomes: np.ndarray, arms: np.ndarray,
                             active: np.ndarray) -> np.ndarray:
    """Probabilities of each arm for the next block.

    Args:
        design: the allocation fields of a design.
        outcomes: potential outcomes of the patients enrolled so far.  # (n, n_arms)
        arms: their arms.  # (n,)
        active: which arms still enrol (the control always does).  # (n_arms,)

    Examples:
        >>> class D:
        ...     allocation, alternative, burn_in, max_patients = "equal", "two-sided", 0, 90
        ...     allocation_bounds = (0.2, 0.8)
        >>> allocation_probabilities(D(), np.zeros((0, 3)), np.zeros(0, int),
        ...                          np.array([True, False, True])).tolist()
        [0.5, 0.0, 0.5]
    """
    equal = active / active.sum()
    if design.allocation == "equal" or len(arms) < design.burn_in:
        return equal
    revealed = outcomes[np.arange(len(arms)), arms]
    n_arms = len(active)
    counts = np.bincount(arms, minlength=n_arms)
    if counts[active].min() < 2:
        return equal
    sums = np.bincount(arms, weights=revealed, minlength=n_arms)
    squares = np.bincount(arms, weights=revealed ** 2, minlength=n_arms)
    safe = np.maximum(counts, 2)
    sds = np.sqrt(np.maximum(squares - sums ** 2 / safe, 0.0) / (safe - 1))
    if design.allocation == "neyman":
        return _neyman(design, sds, equal)
    means = sums / np.maximum(counts, 1)
    return _thall_wathen(design, means, sds / np.sqrt(safe), active, len(arms))


def _neyman(design: AllocationSettings, sds: np.ndarray, equal: np.ndarray) -> np.ndarray:
    """Two arms: the capped estimated Neyman allocation, or equal if both sds are 0."""
    if sds.sum() <= 0:
        return equal
    low, high = design.allocation_bounds
    p = float(np.clip(sds[1] / sds.sum(), low, high))
    return np.array([1.0 - p, p])


def _thall_wathen(design: AllocationSettings, means: np.ndarray, standard_errors: np.ndarray,
                  active: np.ndarray, n_enrolled: int) -> np.ndarray:
    """Control 1/m; experimental arms in proportion to P(best)^c, shrunk to the bounds."""
    m = int(active.sum())
    experimental = np.flatnonzero(active[1:]) + 1
    sign = -1.0 if design.alternative == "less" else 1.0
    best = probability_best(sign * means[experimental], standard_errors[experimental])
    weights = best ** (n_enrolled / (2.0 * design.max_patients))
    target = (1.0 - 1.0 / m) * weights / weights.sum()
    low, high = design.allocation_bounds
    floor, even = min(low, 1.0 / m), 1.0 / m
    shrink = np.ones_like(target)
    below, above = target < floor, target > high
    shrink[below] = (even - floor) / (even - target[below])
    shrink[above] = (high - even) / (target[above] - even)
    probabilities = np.zeros(len(active))
    probabilities[0] = even
    probabilities[experimental] = even + float(shrink.min()) * (target - even)
    return probabilities


def probability_best(means: np.ndarray, standard_errors: np.ndarray) -> np.ndarray:
    """P(arm j has the largest mean) for independent normal means (Gauss-Hermite, 64 nodes).

    ``P_j = E[prod_{l != j} Phi((X_j - mu_l) / s_l)]`` with ``X_j ~ N(mu_j, s_j^2)``; the result
    is normalised to sum to 1 (quadrature error ~1e-10 for comparable scales). One or two arms
    use the closed form ``P_1 = Phi((mu_1 - mu_2) / sqrt(s_1^2 + s_2^2))``.

    Args:
        means: the arms' mean estimates.  # (n_arms,)
        standard_errors: their standard errors (floored at 1e-12).  # (n_arms,)

    Examples:
        >>> probability_best(np.array([0.0, 0.0]), np.array([1.0, 1.0])).round(6).tolist()
        [0.5, 0.5]
        >>> round(float(probability_best(np.array([0.0, 1.0]), np.array([0.5, 0.5]))[1]), 4)
        0.9214
    """
    mu = np.asarray(means, dtype=np.float64)
    se = np.maximum(np.asarray(standard_errors, dtype=np.float64), 1e-12)
    if len(mu) <= 2:
        first = special.ndtr((mu[0] - mu[-1]) / np.sqrt(se[0] ** 2 + se[-1] ** 2))
        return np.array([1.0]) if len(mu) == 1 else np.array([first, 1.0 - first])
    draws = mu[:, None] + se[:, None] * _HERMITE_NODES[None, :]  # (n_arms, n_nodes)
    cdfs = special.ndtr((draws[:, None, :] - mu[None, :, None]) / se[None, :, None])
    cdfs[np.arange(len(mu)), np.arange(len(mu)), :] = 1.0  # (arm j, other l, node)
    best = np.prod(cdfs, axis=1) @ _HERMITE_WEIGHTS
    return best / best.sum()


def randomise(n: int, probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A permuted block of ``n`` assignments with about ``n p_j`` patients on arm ``j``.

    Systematic randomised rounding with one uniform ``u``: the experimental arms get
    ``floor(n P_j + u) - floor(n P_{j-1} + u)`` patients (``P_j`` the cumulative probability of
    arms 1..j), the control the rest, so each arm's expected count is exactly ``n p_j``. With
    two arms this is ``floor(n p_1 + u)`` experimental patients.

    Examples:
        >>> randomise(6, np.array([1 / 3, 1 / 3, 1 / 3]), np.random.default_rng(0)).tolist()
        [1, 1, 2, 2, 0, 0]
    """
    u = rng.random()
    counts, previous, cumulative = [0], 0, 0.0
    for p in probabilities[1:]:  # a few arms: plain floats are faster than array calls
        cumulative += float(p)
        edge = min(math.floor(n * cumulative + u), n)
        counts.append(edge - previous)
        previous = edge
    counts[0] = n - previous
    return rng.permutation(np.repeat(np.arange(len(probabilities)), counts))
