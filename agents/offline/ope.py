"""Off-policy evaluation: a target policy's value from logged episodes with behaviour probabilities.

Written here, small and readable, because the maintained libraries cannot be installed beside
pkgym: d3rlpy 2.x pins ``gymnasium==1.0.0`` (pkgym needs gymnasium 1.4) and SCOPE-RL 0.2.1
requires d3rlpy. Each estimator cites its paper and is checked against a hand-computed toy MDP
and against the simulator's ground truth (``tests/agents/test_ope.py``).

Episodes are padded arrays with patients first, then decision steps (STYLE 16):

- ``rewards`` ``(n_episodes, horizon)``: the env's reward at each step (0 after the end);
- ``mask`` ``(n_episodes, horizon)``: True where the step happened;
- ``ratios`` ``(n_episodes, horizon)``: ``pi_e(a_t|s_t) / pi_b(a_t|s_t)`` of the logged action
  (1 after the end, so a finished episode's weight stays what it was);
- ``q_taken``, ``v_states`` ``(n_episodes, horizon)``: a fitted ``Q(s_t, a_t)`` and
  ``V(s_t) = sum_a pi_e(a|s_t) Q(s_t, a)`` (:mod:`agents.offline.ope_fqe`), for DR and FQE.

Returns are undiscounted (gamma = 1), as ``pkgym evaluate`` reports them: every episode is a
finite clinical course. With ``w_t = prod_{k<=t} ratio_k`` (``w_{-1} = 1``):

- ``is``: trajectory importance sampling, ``mean_i w_{i,T-1} G_i`` (Precup et al. 2000, eq. 1);
- ``wis``: weighted IS, ``sum_i w_{i,T-1} G_i / sum_i w_{i,T-1}`` (Precup et al. 2000);
- ``pdis``: per-decision IS, ``mean_i sum_t w_{i,t} r_{i,t}`` (Precup et al. 2000, eq. 3);
- ``wpdis``: weighted per-decision IS, ``sum_t sum_i w_{i,t} r_{i,t} / sum_i w_{i,t}``;
- ``dr``: doubly robust, ``mean_i sum_t [w_{i,t} (r_{i,t} - Q_{i,t}) + w_{i,t-1} V_{i,t}]``
  (Jiang & Li 2016, eq. 9 unrolled; Thomas & Brunskill 2016, eq. 8);
- ``wdr``: weighted DR, the same with ``w_{i,t}`` replaced by ``w_{i,t} / mean_j w_{j,t}``
  (Thomas & Brunskill 2016, eq. 10);
- ``fqe``: fitted Q evaluation, ``mean_i V(s_{i,0})`` (Le et al. 2019, Algorithm 3).

``is``, ``pdis`` and ``dr`` are unbiased given the true behaviour probabilities (DR with a
``Q`` fitted on other episodes: :func:`agents.offline.ope_fqe.cross_fitted_q`); the weighted
ones and FQE are biased but consistent and have lower variance.

Examples:
    >>> inputs = OPEInputs(rewards=np.array([[1.0, 1.0], [0.0, 2.0]]),
    ...                    mask=np.ones((2, 2), dtype=bool),
    ...                    ratios=np.array([[2.0, 1.0], [0.5, 1.0]]))
    >>> estimate(inputs, "pdis"), estimate(inputs, "wpdis")
    (2.5, 2.0)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pkgym.evaluation.bootstrap import resample_indices


@dataclass(frozen=True, slots=True, kw_only=True)
class OPEInputs:
    """What the estimators read, padded per episode (module docstring for the axes).

    Attributes:
        rewards: ``(n_episodes, horizon)`` rewards, 0 after an episode's end.
        mask: ``(n_episodes, horizon)`` True where the step happened.
        ratios: ``(n_episodes, horizon)`` ``pi_e / pi_b`` of the logged action, 1 after the end.
        q_taken: ``(n_episodes, horizon)`` fitted ``Q(s_t, a_t)`` (DR), or None.
        v_states: ``(n_episodes, horizon)`` fitted ``V(s_t)`` under pi_e (DR, FQE), or None.
    """

    rewards: np.ndarray
    mask: np.ndarray
    ratios: np.ndarray
    q_taken: np.ndarray | None = None
    v_states: np.ndarray | None = None

    def __post_init__(self) -> None:
        """Check shapes and values: one ``(n_episodes, horizon)`` grid, ratios finite >= 0."""
        shape = np.shape(self.rewards)
        if len(shape) != 2 or shape[0] < 1:
            raise ValueError(f"rewards must be (n_episodes >= 1, horizon), got shape {shape}")
        for name in ("mask", "ratios", "q_taken", "v_states"):
            value = getattr(self, name)
            if value is not None and np.shape(value) != shape:
                raise ValueError(f"{name} must have the rewards' shape {shape}, got "
                                 f"{np.shape(value)}")
        if not np.all(np.isfinite(self.ratios)) or np.any(np.asarray(self.ratios) < 0):
            raise ValueError("ratios must be finite and >= 0 (pi_b > 0 wherever an action "
                             "was taken)")

    def take(self, rows: np.ndarray) -> OPEInputs:
        """The episodes ``rows`` (a bootstrap resample)."""
        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[rows]
        return OPEInputs(rewards=self.rewards[rows], mask=self.mask[rows],
                         ratios=self.ratios[rows], q_taken=pick(self.q_taken),
                         v_states=pick(self.v_states))

    @property
    def weights(self) -> np.ndarray:
        """``w_t = prod_{k<=t} ratio_k``, ``(n_episodes, horizon)`` (constant after the end)."""
        return np.cumprod(np.where(self.mask, self.ratios, 1.0), axis=1)

    @property
    def returns(self) -> np.ndarray:
        """Each episode's undiscounted return, ``(n_episodes,)``."""
        return np.sum(np.where(self.mask, self.rewards, 0.0), axis=1)


def _rewards(x: OPEInputs) -> np.ndarray:
    return np.where(x.mask, x.rewards, 0.0)


def trajectory_is(x: OPEInputs) -> float:
    """Importance sampling of whole returns (Precup et al. 2000, eq. 1)."""
    return float(np.mean(x.weights[:, -1] * x.returns))


def weighted_is(x: OPEInputs) -> float:
    """Weighted (self-normalised) importance sampling of whole returns (Precup et al. 2000)."""
    w = x.weights[:, -1]
    return float(np.sum(w * x.returns) / np.sum(w)) if np.sum(w) > 0 else float("nan")


def per_decision_is(x: OPEInputs) -> float:
    """Per-decision importance sampling (Precup et al. 2000, eq. 3)."""
    return float(np.mean(np.sum(x.weights * _rewards(x), axis=1)))


def _normalised(weights: np.ndarray) -> np.ndarray:
    """``w_{i,t} / mean_j w_{j,t}`` (0 where no episode has weight at step t)."""
    means = weights.mean(axis=0, keepdims=True)
    return np.divide(weights, means, out=np.zeros_like(weights), where=means > 0)


def weighted_per_decision_is(x: OPEInputs) -> float:
    """Weighted per-decision importance sampling (Precup et al. 2000; Thomas 2015, sect. 3.9)."""
    return float(np.mean(np.sum(_normalised(x.weights) * _rewards(x), axis=1)))


def _dr(x: OPEInputs, weights: np.ndarray) -> float:
    if x.q_taken is None or x.v_states is None:
        raise ValueError("doubly robust estimators need q_taken and v_states (a fitted Q)")
    before = np.concatenate([np.ones((weights.shape[0], 1)), weights[:, :-1]], axis=1)
    q = np.where(x.mask, x.q_taken, 0.0)
    v = np.where(x.mask, x.v_states, 0.0)
    return float(np.mean(np.sum(weights * (_rewards(x) - q) + before * v, axis=1)))


def doubly_robust(x: OPEInputs) -> float:
    """Step-wise doubly robust estimate (Jiang & Li 2016, eq. 9; Thomas & Brunskill 2016)."""
    return _dr(x, x.weights)


def weighted_doubly_robust(x: OPEInputs) -> float:
    """Weighted doubly robust estimate (Thomas & Brunskill 2016, eq. 10)."""
    normalised = _normalised(x.weights)
    return _dr(x, normalised)


def fitted_q(x: OPEInputs) -> float:
    """Fitted Q evaluation: the mean fitted ``V(s_0)`` under pi_e (Le et al. 2019, Alg. 3)."""
    if x.v_states is None:
        raise ValueError("fqe needs v_states (a fitted Q: agents.offline.ope_fqe)")
    return float(np.mean(x.v_states[:, 0]))


ESTIMATORS: dict[str, Callable[[OPEInputs], float]] = {
    "is": trajectory_is, "wis": weighted_is, "pdis": per_decision_is,
    "wpdis": weighted_per_decision_is, "dr": doubly_robust, "wdr": weighted_doubly_robust,
    "fqe": fitted_q}
"""Estimators by name (module docstring for the formulas)."""

UNBIASED = ("is", "pdis", "dr")
"""Estimators unbiased given the true behaviour probabilities (and, for DR, a cross-fitted Q)."""

NEEDS_Q = ("dr", "wdr", "fqe")
"""Estimators that read a fitted Q."""


def check_estimators(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The names, or a one-line ValueError naming the allowed ones.

    Examples:
        >>> check_estimators(["wpdis", "fqe"])
        ('wpdis', 'fqe')
    """
    bad = [name for name in names if name not in ESTIMATORS]
    if bad or not names:
        raise ValueError(f"estimator must be some of {list(ESTIMATORS)}, got {list(names)}")
    return tuple(names)


def estimate(inputs: OPEInputs, estimator: str) -> float:
    """One estimator's value of the target policy (undiscounted return per episode).

    Examples:
        >>> x = OPEInputs(rewards=np.array([[1.0], [3.0]]), mask=np.ones((2, 1), dtype=bool),
        ...               ratios=np.array([[1.0], [1.0]]))
        >>> estimate(x, "wis")  # the behaviour policy: the mean return
        2.0
    """
    return ESTIMATORS[check_estimators([estimator])[0]](inputs)


def estimate_with_ci(inputs: OPEInputs, estimator: str, *, reps: int,
                     rng: np.random.Generator,
                     confidence: float = 0.95) -> tuple[float, float, float, float]:
    """``(point, low, high, se)``: the estimate, a percentile bootstrap interval over episodes.

    Episodes are resampled with replacement (:func:`pkgym.evaluation.bootstrap.resample_indices`)
    and the estimator recomputed on each resample; ``se`` is the resamples' standard deviation.
    FQE's interval resamples the fitted initial values with ``Q`` held fixed, so it leaves out
    the variance of fitting ``Q``.

    Examples:
        >>> x = OPEInputs(rewards=np.arange(20.0)[:, None], mask=np.ones((20, 1), dtype=bool),
        ...               ratios=np.ones((20, 1)))
        >>> point, low, high, se = estimate_with_ci(x, "pdis", reps=200,
        ...                                         rng=np.random.default_rng(0))
        >>> point, bool(low < point < high), bool(se > 0)
        (9.5, True, True)
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if int(reps) < 2:
        raise ValueError(f"reps (--bootstrap) must be >= 2, got {reps}")
    point = estimate(inputs, estimator)
    function = ESTIMATORS[estimator]
    n = inputs.rewards.shape[0]
    values = np.array([function(inputs.take(rows)) for rows in resample_indices(n, reps, rng)])
    alpha = 1.0 - confidence
    low, high = np.nanpercentile(values, [50.0 * alpha, 100.0 * (1.0 - alpha / 2.0)])
    return point, float(low), float(high), float(np.nanstd(values, ddof=1))


def ratios_of(target_probabilities: np.ndarray, behaviour_probabilities: np.ndarray,
              actions: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``pi_e(a_t|s_t) / pi_b(a_t|s_t)`` of the logged actions, ``(n_episodes, horizon)``.

    Args:
        target_probabilities: ``(n_episodes, horizon, n_levels)`` pi_e at the logged states.
        behaviour_probabilities: ``(n_episodes, horizon, n_levels)`` logged pi_b.
        actions: ``(n_episodes, horizon)`` logged level indices.
        mask: ``(n_episodes, horizon)`` True where the step happened (ratio 1 elsewhere).

    Examples:
        >>> ratios_of(np.array([[[0.0, 1.0]]]), np.array([[[0.5, 0.5]]]), np.array([[1]]),
        ...           np.ones((1, 1), dtype=bool)).tolist()
        [[2.0]]
    """
    taken = actions.astype(np.int64)[..., None]
    pe = np.take_along_axis(target_probabilities, taken, axis=2)[..., 0]
    pb = np.take_along_axis(behaviour_probabilities, taken, axis=2)[..., 0]
    if np.any(mask & (pb <= 0)):
        raise ValueError("behaviour_probabilities: a logged action has behaviour probability "
                         "0; importance sampling needs pi_b > 0 for every action taken")
    return np.where(mask, pe / np.where(mask, pb, 1.0), 1.0)
