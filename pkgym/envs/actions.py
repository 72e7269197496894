"""Actions of dosing environments: discrete dose levels or a normalised Box, and back.

Shared by every environment (through :class:`pkgym.envs.base.DosingCore`'s action hooks) and
by the evaluation harness, which turns a policy's doses into the env's actions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

REAL_KINDS = "iuf"
"""NumPy dtype kinds of real numbers (signed, unsigned, floating): no bool, complex, object,
str, bytes or dates."""
DOSE_TOLERANCE = 1e-6
"""How far above the top dose level (as a fraction of it) a dose is still taken as the top."""


class DecisionError(ValueError):
    """A decision (e.g. a dose) that the env cannot give; ``row``: the first patient row at fault.

    The evaluation harness turns it into an error naming the policy and the patient's id.

    Examples:
        >>> DecisionError("dose -1 is outside 0..500", 2).row
        2
    """

    def __init__(self, message: str, row: int) -> None:
        """Keep ``message`` and ``row``."""
        super().__init__(message)
        self.row = int(row)

    def __reduce__(self) -> tuple[Any, tuple[str, int]]:
        """Pickle with the row (Ray sends errors between processes)."""
        return type(self), (str(self), self.row)


def shown(value: Any, limit: int = 80) -> str:
    """``repr(value)`` on one line, cut to about ``limit`` characters (for error messages).

    Examples:
        >>> shown(np.arange(3))
        'array([0, 1, 2])'
        >>> len(shown(np.arange(1000))) <= 83
        True
    """
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[:limit] + "..."


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
    if not continuous:
        fast = _valid_levels(actions, n, len(levels_mg))
        if fast is not None:  # the common calls (one int, or a checked int array), no copies
            return levels_mg[fast]
    if continuous:
        scaled = continuous_actions(actions, n, f"dose = (a + 1) / 2 * {levels_mg.max():g} mg")
        return (scaled + 1.0) / 2.0 * levels_mg.max()
    return levels_mg[discrete_actions(actions, n, len(levels_mg),
                                      f"levels of {levels_mg.tolist()} mg")]


def _valid_levels(actions: Any, n: int, n_levels: int) -> Any:
    """``actions`` as an index into the levels when plainly valid, else None (the slow path).

    One Python or numpy integer for ``n == 1``, or an integer array of ``n`` entries already
    in range; anything else goes through :func:`discrete_actions` and its error messages.
    """
    scalar = isinstance(actions, int | np.integer) and not isinstance(actions, bool)
    if n == 1 and scalar:
        return [int(actions)] if 0 <= actions < n_levels else None
    if (type(actions) is np.ndarray and actions.dtype.kind in "iu" and actions.size == n
            and n > 0):
        flat = actions.reshape(n)
        if flat.min() >= 0 and flat.max() < n_levels:
            return flat
    return None


def continuous_actions(actions: Any, n: int, meaning: str) -> np.ndarray:
    """A batch of ``n`` continuous actions as float64 in [-1, 1] (a hair over is clipped).

    Raises a one-line ``ValueError`` that shows ``meaning`` (what an action stands for) when
    the batch has the wrong size, is not real numbers (complex, bool, object and str are
    refused), is not finite or leaves [-1, 1].

    Examples:
        >>> continuous_actions([[0.5], [1.0000001]], 2, "dose").tolist()
        [0.5, 1.0]
        >>> continuous_actions([0.5 + 0j], 1, "dose")
        Traceback (most recent call last):
        ...
        ValueError: action must be 1 real number(s) in [-1, 1] (dose), got [(0.5+0j)] (complex128)
    """
    array = _as_array(actions)
    if array is None or array.size != n or array.dtype.kind not in REAL_KINDS:
        raise ValueError(f"action must be {n} real number(s) in [-1, 1] ({meaning}), got "
                         f"{shown(actions)}"
                         + ("" if array is None else f" ({array.dtype})"))
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
    array = _as_array(actions)
    if array is None or array.size != n or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"action must be {n} integer level(s) in 0..{n_actions - 1} "
                         f"({meaning}), got {shown(actions)}"
                         + ("" if array is None else f" ({array.dtype})"))
    flat = array.reshape(-1)
    if np.any((flat < 0) | (flat >= n_actions)):
        raise ValueError(f"action must be in 0..{n_actions - 1} ({meaning}), got "
                         f"{flat.tolist()[:5]}")
    return flat.astype(np.int64)


def _as_array(actions: Any) -> np.ndarray | None:
    """``np.asarray(actions)``, or ``None`` for what is no array (a ragged list)."""
    try:
        return np.asarray(actions)
    except (ValueError, TypeError):
        return None


def doses_to_actions(doses_mg: np.ndarray, levels_mg: np.ndarray, continuous: bool) -> np.ndarray:
    """Actions giving the doses (mg): the nearest level, or the scaled continuous value.

    Doses must be finite and in ``[0, max(levels_mg)]``: a dose above the top level (by more
    than :data:`DOSE_TOLERANCE` of it) is refused, not clipped, with a :class:`DecisionError`
    naming the first patient row at fault.

    Examples:
        >>> doses_to_actions(np.array([0.0, 480.0]), np.array([0.0, 250.0, 500.0]), False).tolist()
        [0, 2]
        >>> doses_to_actions(np.array([0.0, 600.0]), np.array([0.0, 250.0, 500.0]), False)
        Traceback (most recent call last):
        ...
        pkgym.envs.actions.DecisionError: dose 600 is outside the dose range 0..500 ...
    """
    doses = np.asarray(doses_mg, dtype=np.float64)
    check_doses(doses, levels_mg)
    if continuous:
        fraction = np.clip(doses / levels_mg.max(), 0.0, 1.0)
        return (2.0 * fraction - 1.0).astype(np.float32)[:, None]
    return np.abs(doses[:, None] - levels_mg[None, :]).argmin(axis=1)


def check_doses(doses: np.ndarray, levels: np.ndarray) -> None:
    """Refuse doses (shape (n,)) that are not finite or leave ``[0, max(levels)]``.

    A hair (:data:`DOSE_TOLERANCE` of the top level) above the top is allowed; beyond it a
    :class:`DecisionError` names the first row at fault and the range.

    Examples:
        >>> check_doses(np.array([0.0, 500.0000001]), np.array([0.0, 500.0]))
        >>> check_doses(np.array([0.0, -1.0]), np.array([0.0, 500.0]))
        Traceback (most recent call last):
        ...
        pkgym.envs.actions.DecisionError: dose -1 is outside the dose range 0..500 (levels 0, 500)
    """
    top = float(levels.max())
    if doses.ndim != 1:
        raise ValueError(f"doses must have shape (n,), one per patient, got shape {doses.shape}")
    outside = ~(np.isfinite(doses) & (doses >= 0) & (doses <= top * (1.0 + DOSE_TOLERANCE)))
    if np.any(outside):
        row = int(np.argmax(outside))
        listed = ", ".join(f"{v:g}" for v in levels[:8]) + (", ..." if len(levels) > 8 else "")
        above = ": doses above the top level are refused, not clipped" if doses[row] > top else ""
        raise DecisionError(f"dose {doses[row]:g} is outside the dose range 0..{top:g} (levels "
                            f"{listed}){above}", row)


def decided_levels(decisions: np.ndarray, n_levels: int, meaning: str) -> np.ndarray:
    """Decisions that are level indices (whole numbers in ``0..n_levels - 1``) as int64.

    Anything else (a fraction, a negative or too high index) is a :class:`DecisionError`
    naming the first row at fault and ``meaning`` (what the indices stand for).

    Examples:
        >>> decided_levels(np.array([0.0, 2.0]), 3, "levels").tolist()
        [0, 2]
        >>> decided_levels(np.array([0.0, 2.5]), 3, "levels")
        Traceback (most recent call last):
        ...
        pkgym.envs.actions.DecisionError: decision 2.5 is not one of 0..2 (levels)
    """
    values = np.asarray(decisions, dtype=np.float64).reshape(-1)
    bad = ~((values >= 0) & (values <= n_levels - 1) & (values == np.rint(values)))
    if np.any(bad):
        row = int(np.argmax(bad))
        raise DecisionError(f"decision {values[row]:g} is not one of 0..{n_levels - 1} "
                            f"({meaning})", row)
    return values.astype(np.int64)
