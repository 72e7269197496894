"""Clinical metrics and score aggregates: small pure functions over arrays with validated axes.

Axes follow the rliable convention, written out and checked on every call:

- clinical metrics take ``values`` of shape ``(n_patients, n_times)`` and return one number per
  patient, shape ``(n_patients,)``; ``NaN`` marks a missing measurement;
- aggregates take a score array of shape ``(n_scores,)`` or ``(n_seeds, n_scenarios)`` and
  reduce all of it to one float (as rliable's ``aggregate_*`` functions do).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats

Metric = Callable[[np.ndarray], float]
"""An aggregate: score array ``(n_scores,)`` or ``(n_seeds, n_scenarios)`` to one float."""

PATIENT_AXES = "(n_patients, n_times)"
SCORE_AXES = "(n_scores,) or (n_seeds, n_scenarios)"


def as_values(values: np.ndarray, name: str = "values") -> np.ndarray:
    """Validate clinical measurements of shape ``(n_patients, n_times)`` as a float array.

    Examples:
        >>> as_values([[1.0, 2.0]]).shape
        (1, 2)
    """
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must have axes {PATIENT_AXES} with both non-empty, "
                         f"got shape {arr.shape}")
    return arr


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


def _check_range(low: float, high: float) -> None:
    if not low <= high:
        raise ValueError(f"low must be <= high, got low={low}, high={high}")


def _segment_fraction(v0: np.ndarray, v1: np.ndarray, low: float, high: float) -> np.ndarray:
    """Fraction of each linear segment ``v0 -> v1`` that lies in ``[low, high]``."""
    flat = v0 == v1
    slope = np.where(flat, 1.0, v1 - v0)
    t_low, t_high = (low - v0) / slope, (high - v0) / slope
    enter = np.clip(np.minimum(t_low, t_high), 0.0, 1.0)
    leave = np.clip(np.maximum(t_low, t_high), 0.0, 1.0)
    inside_flat = ((v0 >= low) & (v0 <= high)).astype(float)
    return np.where(flat, inside_flat, leave - enter)


def _ttr_one(t: np.ndarray, v: np.ndarray, low: float, high: float) -> float:
    """Rosendaal time in range of one patient; NaN measurements are skipped."""
    keep = ~np.isnan(v)
    t, v = t[keep], v[keep]
    if t.size < 2:
        return float("nan")
    dt = np.diff(t)
    return float(np.sum(dt * _segment_fraction(v[:-1], v[1:], low, high)) / np.sum(dt))


def time_in_range_rosendaal(
    times_h: np.ndarray, values: np.ndarray, low: float, high: float
) -> np.ndarray:
    """Fraction of time in ``[low, high]``, interpolating linearly between measurements.

    The Rosendaal method (Rosendaal et al., Thromb Haemost 1993;69:236) assumes the measured
    quantity (classically the INR) moves linearly between consecutive measurements and
    counts the time that straight line spends in range. Missing measurements (``NaN``) are
    skipped per patient; a patient with fewer than two measurements gets ``NaN``.

    Args:
        times_h: Measurement times in hours, ``(n_times,)`` shared by all patients or
            ``(n_patients, n_times)``; strictly increasing along the time axis.
        values: Measurements, ``(n_patients, n_times)``.
        low: Lower bound of the target range (inclusive).
        high: Upper bound of the target range (inclusive).

    Returns:
        Time in range per patient, ``(n_patients,)``, in ``[0, 1]``.

    Examples:
        >>> days = np.array([0.0, 240.0])
        >>> time_in_range_rosendaal(days, np.array([[1.5, 3.5], [2.5, 2.5]]), 2.0, 3.0)
        array([0.5, 1. ])
    """
    vals = as_values(values)
    _check_range(low, high)
    t = np.asarray(times_h, dtype=float)
    if t.ndim == 1 and t.shape[0] == vals.shape[1]:
        t = np.broadcast_to(t, vals.shape)
    if t.shape != vals.shape:
        raise ValueError(f"times_h must have axes (n_times,) or {PATIENT_AXES} matching values "
                         f"{vals.shape}, got shape {t.shape}")
    if np.any(np.isnan(t)) or np.any(np.diff(t, axis=1) <= 0):
        raise ValueError("times_h must be finite and strictly increasing along n_times")
    return np.array([_ttr_one(t[i], vals[i], low, high) for i in range(vals.shape[0])])


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

    Examples:
        >>> mean(np.array([[1.0, 2.0], [3.0, 6.0]]))
        3.0
    """
    return float(np.mean(as_scores(scores)))


def median(scores: np.ndarray) -> float:
    """Median of all scores, axes ``(n_scores,)`` or ``(n_seeds, n_scenarios)``.

    Examples:
        >>> median(np.array([1.0, 2.0, 10.0]))
        2.0
    """
    return float(np.median(as_scores(scores)))


def interquartile_mean(scores: np.ndarray) -> float:
    """Interquartile mean (rliable IQM): mean of the middle 50 % of all scores.

    Trims 25 % of the scores from each end (``scipy.stats.trim_mean(..., 0.25)``) over all
    entries of a ``(n_scores,)`` or ``(n_seeds, n_scenarios)`` array.

    Examples:
        >>> interquartile_mean(np.array([100.0, 2.0, 3.0, -50.0]))
        2.5
        >>> interquartile_mean(np.arange(8.0))
        3.5
    """
    return float(stats.trim_mean(as_scores(scores), 0.25, axis=None))
