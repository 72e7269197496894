"""Batched nonlinear least squares: one Levenberg-Marquardt fit per patient, all in one loop.

Every MAP dosing policy fits each patient's random effects by minimising the sum of squares
of whitened residuals (data and prior). :func:`levenberg_marquardt` runs those fits side by
side: one residual call per iteration evaluates every patient's residuals at its current
point and at its ``k`` forward-difference shifts, and each patient keeps its own damping.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["Residuals", "levenberg_marquardt"]

Residuals = Callable[[np.ndarray], np.ndarray]
"""``residuals(x) -> r``: x (n * r, k) with patient i in rows ``i * r .. i * r + r - 1``
(``numpy.repeat`` order), r (n * r, n_residuals)."""


def levenberg_marquardt(residuals: Residuals, x0: ArrayLike, *, iterations: int, step: float,
                        damping: float = 1e-2) -> np.ndarray:
    """Minimise ``sum(residuals(x) ** 2)`` for every patient (batched Levenberg-Marquardt).

    Each iteration builds the forward-difference Jacobian from one residual call on
    ``(k + 1)`` points per patient, solves the damped normal equations
    ``(J'J + lambda (diag(J'J) + 1e-9 I)) delta = J'r``, and accepts the step for the patients
    whose cost falls (their ``lambda`` divided by 3, the others' multiplied by 5).

    Args:
        residuals: the residual function (see :data:`Residuals`); called with ``r = 1``
            (n rows) and ``r = k + 1`` (the point, then its shift along each coordinate).
        x0: starting points, shape (n, k).
        iterations: number of iterations, >= 0.
        step: forward-difference step on x, in x's units, > 0.
        damping: starting lambda of every patient, > 0.

    Returns:
        The fitted points, shape (n, k) (a new array; ``x0`` is untouched).

    Examples:
        >>> targets = np.array([[1.0, -2.0], [0.5, 3.0]])
        >>> def residuals(x):
        ...     t = np.repeat(targets, x.shape[0] // 2, axis=0)
        ...     return np.column_stack([x - t, 0.1 * (x[:, :1] - t[:, :1]) ** 2])
        >>> levenberg_marquardt(residuals, np.zeros((2, 2)), iterations=20,
        ...                     step=1e-6).round(6).tolist()
        [[1.0, -2.0], [0.5, 3.0]]
    """
    x = np.array(x0, dtype=np.float64)
    n, k = x.shape
    lam = np.full(n, damping)
    cost = (residuals(x) ** 2).sum(axis=1)
    shifts = np.vstack([np.zeros(k), step * np.eye(k)])
    for _ in range(iterations):
        points = (x[:, None, :] + shifts[None]).reshape(n * (k + 1), k)
        shifted = residuals(points).reshape(n, k + 1, -1)
        base = shifted[:, 0]
        jacobian = np.transpose((shifted[:, 1:] - base[:, None]) / step, (0, 2, 1))
        normal = np.einsum("mri,mrj->mij", jacobian, jacobian)
        gradient = np.einsum("mri,mr->mi", jacobian, base)
        lhs = normal + lam[:, None, None] * (normal * np.eye(k) + 1e-9 * np.eye(k))
        trial = x - np.linalg.solve(lhs, gradient[..., None])[..., 0]
        trial_cost = (residuals(trial) ** 2).sum(axis=1)
        better = trial_cost < cost
        x[better], cost[better] = trial[better], trial_cost[better]
        lam = np.where(better, lam / 3.0, lam * 5.0)
    return x
