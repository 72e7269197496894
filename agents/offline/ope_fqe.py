"""Fitted Q evaluation with ridge regression on fixed features (Le et al. 2019, Algorithm 3).

Episodes are finite (a vancomycin course of 14 doses, a warfarin course of 90 days), so Q is
indexed by the decision step and fitted backwards, which needs no iteration to convergence
(the finite-horizon form of FQE; Duan, Jia & Wang 2020, Algorithm 1):

    Q_{T} = 0,   Q_t(s, a) ~ r_t + sum_a' pi_e(a'|s_{t+1}) Q_{t+1}(s_{t+1}, a'),

each step's regression a ridge regression over the logged ``(s_t, a_t)`` of that step.

Features (fixed, chosen here for stability and speed on CPU):

- ``z(s)``: the observation flattened (every key of the Dict observation in sorted order,
  e.g. 40 numbers for ``pkgym/Vancomycin-v0``), each column standardised by its mean and SD
  over the logged states (SD floored at 1e-6), with a constant 1 in front;
- ``u(a) = a / (n_levels - 1)``: the dose level scaled to [0, 1];
- ``phi(s, a) = [z, u z, u^2 z]``: Q is a quadratic in the dose level whose coefficients are
  linear in the state, so that levels the behaviour policy rarely chose borrow from their
  neighbours (a one-hot action would leave them at the ridge prior 0).

Ridge penalty ``RIDGE = 1.0`` on the standardised features (our choice; targets centred so
the mean is not shrunk). Each fitted ``Q_t`` is clipped to the returns a course can have from
step t: ``[(T - t) r_min, (T - t) r_max]`` with ``r_min``, ``r_max`` the smallest and largest
logged rewards of the fitting episodes (a bound, our choice). Without it, a regression with
more features than episodes (warfarin: 1 122 columns, 1 000 episodes) extrapolates to the
target's actions, and 90 backward steps compound that into values of 1e13.

DR needs a Q fitted on other episodes than those it weighs (cross-fitting, Kallus & Uehara
2020): :func:`cross_fitted_q` fits on all but one fold and predicts on that fold.

Examples:
    >>> rng = np.random.default_rng(0)
    >>> states = rng.normal(size=(50, 2, 3))          # (n, horizon + 1, features)
    >>> actions = rng.integers(0, 2, size=(50, 1))
    >>> rewards = actions * 2.0                        # Q(s, a) = 2 a
    >>> target = np.zeros((50, 2, 2)); target[..., 1] = 1.0
    >>> q = fit_fqe(states, actions, rewards, np.ones((50, 1), bool), target, ridge=1e-6)
    >>> np.round(q[0, 0], 3).tolist()
    [0.0, 2.0]
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

RIDGE = 1.0
"""Ridge penalty on the standardised features (our choice)."""


def flatten_observations(observations: Mapping[str, np.ndarray]) -> np.ndarray:
    """The Dict observation as one float64 array ``(n_episodes, horizon + 1, n_features)``.

    Keys in sorted order; each key's trailing axes flattened.

    Examples:
        >>> flatten_observations({"b": np.ones((2, 3, 1)), "a": np.zeros((2, 3, 2))})[0, 0]
        array([0., 0., 1.])
    """
    parts = []
    for key in sorted(observations):
        value = np.asarray(observations[key], dtype=np.float64)
        parts.append(value.reshape(value.shape[0], value.shape[1], -1))
    return np.concatenate(parts, axis=2)


def _standardised(states: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``[1, z]``: columns standardised by their mean and SD over ``rows``' states."""
    flat = states[rows].reshape(-1, states.shape[2])
    mean, sd = flat.mean(axis=0), np.maximum(flat.std(axis=0), 1e-6)
    z = (states - mean) / sd
    return np.concatenate([np.ones(states.shape[:2] + (1,)), z], axis=2)


def _design(z: np.ndarray, levels: np.ndarray, n_levels: int) -> np.ndarray:
    """``phi(s, a) = [z, u z, u^2 z]`` for ``z`` (m, d) and levels (m,)."""
    u = (levels / max(n_levels - 1, 1))[:, None]
    return np.concatenate([z, u * z, u * u * z], axis=1)


def _all_actions(z: np.ndarray, coef: np.ndarray, n_levels: int) -> np.ndarray:
    """``Q(s, a)`` for every level, ``(m, n_levels)``, from the coefficients of ``phi``."""
    d = z.shape[1]
    parts = [z @ coef[k * d:(k + 1) * d] for k in range(3)]
    u = np.arange(n_levels) / max(n_levels - 1, 1)
    return parts[0][:, None] + u[None, :] * parts[1][:, None] + (u * u)[None, :] * (
        parts[2][:, None])


def _ridge(x: np.ndarray, y: np.ndarray, ridge: float) -> tuple[np.ndarray, float]:
    """Coefficients and intercept of ridge regression of ``y`` on ``x`` (targets centred).

    With fewer rows than features the dual form ``x.T (x x.T + ridge I)^-1 y`` (the same
    coefficients) solves the smaller system.
    """
    mean = float(y.mean())
    m, p = x.shape
    if m < p:
        return x.T @ np.linalg.solve(x @ x.T + ridge * np.eye(m), y - mean), mean
    return np.linalg.solve(x.T @ x + ridge * np.eye(p), x.T @ (y - mean)), mean


def fit_fqe(states: np.ndarray, actions: np.ndarray, rewards: np.ndarray, mask: np.ndarray,
            target_probabilities: np.ndarray, *, train: np.ndarray | None = None,
            ridge: float = RIDGE) -> np.ndarray:
    """Backward FQE; ``Q_t(s_t, a)`` for every episode, step and level.

    Args:
        states: ``(n_episodes, horizon + 1, n_features)`` flattened observations
            (:func:`flatten_observations`).
        actions: ``(n_episodes, horizon)`` logged level indices.
        rewards: ``(n_episodes, horizon)`` rewards.
        mask: ``(n_episodes, horizon)`` True where the step happened.
        target_probabilities: ``(n_episodes, horizon + 1, n_levels)`` pi_e at each state (the
            last one is never read).
        train: episode indices to fit on (default all); Q is predicted for every episode.
        ridge: ridge penalty on the standardised features.

    Returns:
        ``(n_episodes, horizon, n_levels)`` fitted Q values.
    """
    n, horizon = rewards.shape
    n_levels = target_probabilities.shape[2]
    rows = np.arange(n) if train is None else np.asarray(train)
    if ridge <= 0:
        raise ValueError(f"ridge must be > 0, got {ridge}")
    z = _standardised(states[:, :horizon], rows)
    logged = rewards[rows][mask[rows]]
    low, high = (logged.min(), logged.max()) if logged.size else (0.0, 0.0)
    q = np.zeros((n, horizon, n_levels))
    next_values = np.zeros(n)
    for t in range(horizon - 1, -1, -1):
        fit = rows[mask[rows, t]]
        y = rewards[fit, t] + next_values[fit]
        if fit.size:
            coef, intercept = _ridge(_design(z[fit, t], actions[fit, t], n_levels), y, ridge)
            q[:, t] = np.clip(_all_actions(z[:, t], coef, n_levels) + intercept,
                              (horizon - t) * low, (horizon - t) * high)
        values = np.sum(target_probabilities[:, t] * q[:, t], axis=1)
        next_values = np.where(mask[:, t], values, 0.0)
    return q


def cross_fitted_q(states: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
                   mask: np.ndarray, target_probabilities: np.ndarray, *, folds: int = 2,
                   rng: np.random.Generator, ridge: float = RIDGE) -> np.ndarray:
    """FQE's Q for each episode fitted on the other folds, ``(n_episodes, horizon, n_levels)``.

    Episodes are split at random into ``folds`` parts (Kallus & Uehara 2020): so DR's control
    variate is independent of the episode it corrects, and DR stays unbiased.
    """
    n = rewards.shape[0]
    if not 2 <= folds <= n:
        raise ValueError(f"folds must be in [2, n_episodes={n}], got {folds}")
    parts = np.array_split(rng.permutation(n), folds)
    q = np.zeros(rewards.shape + (target_probabilities.shape[2],))
    for part in parts:
        train = np.setdiff1d(np.arange(n), part)
        q[part] = fit_fqe(states, actions, rewards, mask, target_probabilities, train=train,
                          ridge=ridge)[part]
    return q


def q_inputs(q: np.ndarray, actions: np.ndarray,
             target_probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(q_taken, v_states)``, each ``(n_episodes, horizon)``, from ``Q`` for every level.

    Examples:
        >>> q = np.array([[[1.0, 3.0]]])
        >>> q_inputs(q, np.array([[0]]), np.array([[[0.5, 0.5]]]))
        (array([[1.]]), array([[2.]]))
    """
    horizon = q.shape[1]
    taken = np.take_along_axis(q, actions.astype(np.int64)[..., None], axis=2)[..., 0]
    return taken, np.sum(target_probabilities[:, :horizon] * q, axis=2)
