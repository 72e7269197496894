"""What an environment's episodes are scored by: the :class:`OutcomeSpec` type and its helpers.

Each env package states its own outcome spec (in its ``views`` module) and names it in its
:class:`~pkgym.envs.registry.EnvSpec`; the evaluation harness (:mod:`pkgym.evaluation`, which
sits above the envs) records, scores and plots episodes by it. The per-patient helpers the
specs' score functions share live here too, below the evaluation layer: the last valid value
of an episode, and the Rosendaal time in range (re-exported by
:mod:`pkgym.evaluation.metrics`, where the other clinical metrics are).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

StepTable = Mapping[str, np.ndarray]
"""Per-step values of each recorded key, shape (n_patients, n_steps)."""
EpisodeScores = Callable[[StepTable, Mapping[str, Any]], dict[str, np.ndarray]]
"""(step table, info at reset) -> per-patient scores, each shape (n_patients,)."""
PATIENT_AXES = "(n_patients, n_times)"
"""The axes of clinical measurements, written out in every error."""


@dataclass(frozen=True, slots=True)
class OutcomeSpec:
    """How one environment's episodes are recorded, scored and plotted.

    Attributes:
        step_metrics: ``info`` keys recorded after every step (``<key>_<step>`` columns).
        scores: per-patient score column -> label; summarised with bootstrap intervals.
        episode_scores: computes the score columns (except ``return``) from the steps.
        level_key, level_label: the step metric plotted as the patient's level.
        target_range: the level's target band in plots.
        in_range_key: the step metric that says whether the level was in range.
        dose_key: the step metric holding the dose given.
    """

    step_metrics: tuple[str, ...]
    scores: Mapping[str, str]
    episode_scores: EpisodeScores
    level_key: str
    level_label: str
    target_range: tuple[float, float]
    in_range_key: str
    dose_key: str = "dose_mg"


def last_valid(values: np.ndarray) -> np.ndarray:
    """Each row's last non-NaN value (its episode's final value), shape (n,).

    Examples:
        >>> last_valid(np.array([[1.0, 2.0, np.nan], [3.0, 4.0, 5.0]])).tolist()
        [2.0, 5.0]
    """
    valid = ~np.isnan(values)
    last = valid.shape[1] - 1 - np.argmax(valid[:, ::-1], axis=1)
    return values[np.arange(values.shape[0]), last]


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


def check_range(low: float, high: float) -> None:
    """Refuse a target range whose ``low`` exceeds its ``high``.

    Examples:
        >>> check_range(2.0, 1.0)
        Traceback (most recent call last):
        ...
        ValueError: low must be <= high, got low=2.0, high=1.0
    """
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
    check_range(low, high)
    t = np.asarray(times_h, dtype=float)
    if t.ndim == 1 and t.shape[0] == vals.shape[1]:
        t = np.broadcast_to(t, vals.shape)
    if t.shape != vals.shape:
        raise ValueError(f"times_h must have axes (n_times,) or {PATIENT_AXES} matching values "
                         f"{vals.shape}, got shape {t.shape}")
    if np.any(np.isnan(t)) or np.any(np.diff(t, axis=1) <= 0):
        raise ValueError("times_h must be finite and strictly increasing along n_times")
    return np.array([_ttr_one(t[i], vals[i], low, high) for i in range(vals.shape[0])])
