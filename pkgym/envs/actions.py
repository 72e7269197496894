"""Actions of dosing environments: discrete dose levels or a normalised Box, and back.

Shared by every environment (through :class:`pkgym.envs.base.DosingCore`'s action hooks) and
by the evaluation harness, which turns a policy's doses into the env's actions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces


def make_action_space(levels_mg: np.ndarray, continuous: bool) -> spaces.Space:
    """``Discrete`` over the dose levels, or ``Box(-1, 1, (1,))`` when ``continuous``.

    The continuous action ``a`` gives the dose ``(a + 1) / 2 * max(levels_mg)`` mg (SB3
    recommends a symmetric, normalised Box).

    Examples:
        >>> make_action_space(np.array([0.0, 250.0, 500.0]), False)
        Discrete(3)
    """
    if continuous:
        return spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
    return spaces.Discrete(len(levels_mg))


def actions_to_doses(actions: Any, levels_mg: np.ndarray, continuous: bool, n: int) -> np.ndarray:
    """Doses (mg, shape (n,)) of a batch of actions, with a clear error for a bad action.

    Examples:
        >>> actions_to_doses(np.array([0, 2]), np.array([0.0, 250.0, 500.0]), False, 2).tolist()
        [0.0, 500.0]
    """
    if type(actions) is int and not continuous and n == 1 and 0 <= actions < len(levels_mg):
        return levels_mg[[actions]]  # the common single-env call, without array checks
    if continuous:
        scaled = continuous_actions(actions, n, f"dose = (a + 1) / 2 * {levels_mg.max():g} mg")
        return (scaled + 1.0) / 2.0 * levels_mg.max()
    return levels_mg[discrete_actions(actions, n, len(levels_mg),
                                      f"levels of {levels_mg.tolist()} mg")]


def continuous_actions(actions: Any, n: int, meaning: str) -> np.ndarray:
    """A batch of ``n`` continuous actions as float64 in [-1, 1] (a hair over is clipped).

    Raises a ``ValueError`` that shows ``meaning`` (what an action stands for) when the batch
    has the wrong size, is not numeric, is not finite or leaves [-1, 1].

    Examples:
        >>> continuous_actions([[0.5], [1.0000001]], 2, "dose").tolist()
        [0.5, 1.0]
    """
    array = np.asarray(actions)
    if array.size != n or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"action must be {n} number(s) in [-1, 1], got {actions!r}")
    scaled = np.asarray(array, dtype=np.float64).reshape(n)
    if not np.all(np.isfinite(scaled)) or np.any(np.abs(scaled) > 1.0 + 1e-6):
        raise ValueError(f"action must be finite and in [-1, 1] ({meaning}), got "
                         f"{scaled.tolist()[:5]}")
    return np.clip(scaled, -1.0, 1.0)


def discrete_actions(actions: Any, n: int, n_actions: int, meaning: str) -> np.ndarray:
    """A batch of ``n`` integer actions in ``0..n_actions - 1`` as int64, or a clear error.

    Examples:
        >>> discrete_actions(np.array([0, 2]), 2, 3, "levels").tolist()
        [0, 2]
    """
    flat = np.asarray(actions).reshape(-1)
    if flat.size != n or not np.issubdtype(flat.dtype, np.integer):
        raise ValueError(f"action must be {n} integer level(s) in 0..{n_actions - 1}, "
                         f"got {actions!r}")
    if np.any((flat < 0) | (flat >= n_actions)):
        raise ValueError(f"action must be in 0..{n_actions - 1} ({meaning}), got "
                         f"{flat.tolist()[:5]}")
    return flat.astype(np.int64)


def doses_to_actions(doses_mg: np.ndarray, levels_mg: np.ndarray, continuous: bool) -> np.ndarray:
    """Actions giving the doses (mg): the nearest level, or the scaled continuous value.

    Examples:
        >>> doses_to_actions(np.array([0.0, 600.0]), np.array([0.0, 250.0, 500.0]), False).tolist()
        [0, 2]
    """
    doses = np.asarray(doses_mg, dtype=np.float64)
    if not np.all(np.isfinite(doses)) or np.any(doses < 0):
        raise ValueError(f"doses_mg must be finite and >= 0, got {doses.tolist()[:5]}")
    if continuous:
        fraction = np.clip(doses / levels_mg.max(), 0.0, 1.0)
        return (2.0 * fraction - 1.0).astype(np.float32)[:, None]
    return np.abs(doses[:, None] - levels_mg[None, :]).argmin(axis=1)
