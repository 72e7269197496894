"""Clinical metrics and score aggregates: small pure functions over arrays with validated axes.

Axes follow the rliable convention, written out and checked on every call:

- clinical metrics take ``values`` of shape ``(n_patients, n_times)`` and return one number per
  patient, shape ``(n_patients,)``; ``NaN`` marks a missing measurement;
- aggregates take a score array of shape ``(n_scores,)`` or ``(n_seeds, n_scenarios)`` and
  reduce all of it to one float (as rliable's ``aggregate_*`` functions do; a ``(n_scores,)``
  array counts as one run per task, ``(1, n_scores)``).

Names follow rliable (Agarwal et al. 2021, ``rliable/metrics.py``): :func:`mean`,
:func:`median`, :func:`interquartile_mean` and :func:`optimality_gap` compute what rliable's
``aggregate_mean``, ``aggregate_median``, ``aggregate_iqm`` and ``aggregate_optimality_gap``
compute. :func:`pooled_median` (the median of all entries) is not rliable's median.

The Rosendaal time in range and the axis check it shares live in :mod:`pkgym.envs.outcomes`,
below the envs whose outcome specs score with them, and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats

from pkgym.envs.outcomes import (  # noqa: F401  (re-exported)
    PATIENT_AXES,
    as_values,
    time_in_range_rosendaal,
)
from pkgym.envs.outcomes import check_range as _check_range

Metric = Callable[[np.ndarray], float]
"""An aggregate: score array ``(n_scores,)`` or ``(n_seeds, n_scenarios)`` to one float."""

SCORE_AXES = "(n_scores,) or (n_seeds, n_scenarios)"


def as_scores(scores: np.ndarray, name: str = "scores") -> np.ndarray:
    """Validate a non-empty finite score array, ``(n_scores,)`` or ``(n_seeds, n_scenarios)``.

    Examples:
        >>> as_scores([1.0, 2.0]).shape
        (2,)
    """
    arr = np.asarray(scores, dtype=float)
    if arr.ndim not in (1, 2) or arr.size == 0:
        raise ValueError(f"{name} must have axes {SCORE_AXES} and be non-empty, "
                         f"got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def in_range(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Whether each measurement lies in ``[low, high]``; missing (``NaN``) is ``False``.

    Args:
        values: Measurements, ``(n_patients, n_times)``.
        low: Lower bound (inclusive).
        high: Upper bound (inclusive).

    Returns:
        Boolean array ``(n_patients, n_times)``.

    Examples:
        >>> in_range(np.array([[1.0, 2.0, np.nan]]), 1.5, 2.5)
        array([[False,  True, False]])
    """
    vals = as_values(values)
    _check_range(low, high)
    return (vals >= low) & (vals <= high)


def target_attainment(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Fraction of a patient's measurements in ``[low, high]``, missing ones skipped.

    Args:
        values: Measurements, ``(n_patients, n_times)``.
        low: Lower bound (inclusive).
        high: Upper bound (inclusive).

    Returns:
        Fraction per patient, ``(n_patients,)``; ``NaN`` for a patient with no measurement.

    Examples:
        >>> target_attainment(np.array([[1.0, 2.0, 2.2, np.nan], [3.0, 3.0, 3.0, 3.0]]), 1.5, 2.5)
        array([0.66666667, 0.        ])
    """
    vals = as_values(values)
    hits = in_range(vals, low, high).sum(axis=1)
    counts = (~np.isnan(vals)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, hits / np.maximum(counts, 1), np.nan)


def mean_absolute_deviation(values: np.ndarray, target: float | np.ndarray) -> np.ndarray:
    """Mean absolute deviation of each patient's measurements from a target.

    Args:
        values: Measurements, ``(n_patients, n_times)``; ``NaN`` entries are skipped.
        target: Scalar, or an array broadcastable to ``(n_patients, n_times)`` (e.g. a
            per-patient target of shape ``(n_patients, 1)``).

    Returns:
        Mean absolute deviation per patient, ``(n_patients,)``; ``NaN`` if all missing.

    Examples:
        >>> mean_absolute_deviation(np.array([[1.0, 3.0], [2.0, np.nan]]), 2.0)
        array([1., 0.])
    """
    vals = as_values(values)
    tgt = np.asarray(target, dtype=float)
    try:
        dev = np.abs(vals - np.broadcast_to(tgt, vals.shape))
    except ValueError as err:
        raise ValueError(f"target must broadcast to values axes {PATIENT_AXES} = {vals.shape}, "
                         f"got shape {tgt.shape}") from err
    counts = (~np.isnan(dev)).sum(axis=1)
    return np.where(counts > 0, np.nansum(dev, axis=1) / np.maximum(counts, 1), np.nan)


def mean(scores: np.ndarray) -> float:
    """Mean of all scores, axes ``(n_scores,)`` or ``(n_seeds, n_scenarios)``.

    rliable's ``aggregate_mean`` (the mean over tasks of the per-task means) is the same
    number, since every task has the same number of seeds.

    Examples:
        >>> mean(np.array([[1.0, 2.0], [3.0, 6.0]]))
        3.0
    """
    return float(np.mean(as_scores(scores)))


def median(scores: np.ndarray) -> float:
    """Median over tasks of the per-task mean score (rliable's ``aggregate_median``).

    For ``(n_seeds, n_scenarios)`` the scores are first averaged over seeds (axis 0), then
    the median is taken over scenarios; a ``(n_scores,)`` array is one run per task, so it is
    the plain median. Until pkgym 0.2 this function returned the median of all entries of a
    2-D array (now :func:`pooled_median`), which is not what rliable calls the median: with
    several seeds the two differ (``[[0, 0], [10, 1]]``: 0.5 pooled, 2.75 here).

    Examples:
        >>> median(np.array([1.0, 2.0, 10.0]))
        2.0
        >>> median(np.array([[0.0, 0.0, 4.0], [10.0, 1.0, 4.0]]))
        4.0
    """
    arr = as_scores(scores)
    return float(np.median(arr if arr.ndim == 1 else arr.mean(axis=0)))


def pooled_median(scores: np.ndarray) -> float:
    """Median of all entries pooled over seeds and scenarios (not rliable's median).

    Examples:
        >>> pooled_median(np.array([[0.0, 0.0], [10.0, 1.0]]))
        0.5
    """
    return float(np.median(as_scores(scores)))


def optimality_gap(scores: np.ndarray, gamma: float = 1.0) -> float:
    """Optimality gap (as rliable defines it): ``mean(max(gamma - score, 0))`` over all scores.

    How far the scores fall short of ``gamma`` (1: the oracle of normalised scores); scores
    above ``gamma`` count as ``gamma``. Lower is better. Equals rliable's
    ``gamma - mean(minimum(scores, gamma))``.

    Examples:
        >>> optimality_gap(np.array([[0.5, 1.5], [1.0, 0.0]]))
        0.375
    """
    if not np.isfinite(gamma):
        raise ValueError(f"gamma must be finite, got {gamma}")
    return float(np.mean(np.maximum(gamma - as_scores(scores), 0.0)))


def interquartile_mean(scores: np.ndarray) -> float:
    """Interquartile mean (rliable IQM): mean of the middle 50 % of all scores.

    Trims 25 % of the scores from each end (``scipy.stats.trim_mean(..., 0.25)``) over all
    entries of a ``(n_scores,)`` or ``(n_seeds, n_scenarios)`` array, pooled over seeds and
    scenarios: the same computation as rliable's ``aggregate_iqm``.

    Examples:
        >>> interquartile_mean(np.array([100.0, 2.0, 3.0, -50.0]))
        2.5
        >>> interquartile_mean(np.arange(8.0))
        3.5
    """
    return float(stats.trim_mean(as_scores(scores), 0.25, axis=None))
