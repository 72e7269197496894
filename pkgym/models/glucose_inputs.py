"""Inputs of the glucose-insulin models' ``advance`` (UVA/Padova and Hovorka), checked once."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from pkgym.utils import check_non_negative


def per_minute(name: str, values: ArrayLike, n: int, minutes: int) -> np.ndarray:
    """A non-negative input as ``(n, minutes)``: a scalar, one value per patient, or a course.

    Examples:
        >>> per_minute("carbs_g_per_min", [0.0, 5.0], 2, 3).tolist()
        [[0.0, 0.0, 0.0], [5.0, 5.0, 5.0]]
        >>> per_minute("carbs_g_per_min", -1.0, 2, 3)
        Traceback (most recent call last):
        ...
        ValueError: carbs_g_per_min must be >= 0, got min -1.0
    """
    array = check_non_negative(name, values)
    if array.ndim == 0 or array.shape == (n,):
        return np.ascontiguousarray(np.broadcast_to(array.reshape(-1, 1) if array.ndim else array,
                                                    (n, minutes)))
    if array.shape != (n, minutes):
        raise ValueError(f"{name} must have shape ({n},) or ({n}, {minutes}), got {array.shape}")
    return np.ascontiguousarray(array)


def checked_states(states: ArrayLike, n: int, n_states: int, minutes: int,
                   substeps: int) -> np.ndarray:
    """A C-contiguous float64 copy of ``states`` (n, n_states), after checking the step counts.

    Examples:
        >>> checked_states(np.zeros((2, 3)), 2, 3, 0, 1)
        Traceback (most recent call last):
        ...
        ValueError: minutes must be an int >= 1, got 0
    """
    x = np.array(states, dtype=np.float64, order="C")
    if x.shape != (n, n_states):
        raise ValueError(f"states must have shape ({n}, {n_states}), got {x.shape}")
    if int(minutes) != minutes or minutes < 1:
        raise ValueError(f"minutes must be an int >= 1, got {minutes}")
    if int(substeps) != substeps or substeps < 1:
        raise ValueError(f"substeps must be an int >= 1, got {substeps}")
    return x
