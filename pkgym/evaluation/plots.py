"""Plots of simulated cohorts: percentile bands over time (a visual predictive check)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from pkgym.utils import check_finite


def percentile_bands(
    values: np.ndarray, percentiles: tuple[float, ...] = (5, 50, 95)
) -> np.ndarray:
    """Percentiles across patients at each time.

    Args:
        values: shape (n_patients, n_times).
        percentiles: in [0, 100].

    Returns:
        Shape (len(percentiles), n_times).

    Examples:
        >>> percentile_bands(np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]), (50,)).tolist()
        [[2.0, 3.0]]
    """
    values = check_finite("values", values)
    if values.ndim != 2 or values.shape[0] == 0:
        raise ValueError(
            f"values must be (n_patients, n_times) with n_patients >= 1, got {values.shape}"
        )
    return np.percentile(values, percentiles, axis=0)


def plot_profiles(
    times_h: np.ndarray,
    values: np.ndarray,
    *,
    ylabel: str,
    title: str,
    target_range: tuple[float, float] | None = None,
) -> Figure:
    """Median and 5th-95th percentile band of a cohort's profiles (a single line for one patient).

    Examples:
        >>> fig = plot_profiles(np.arange(3.0), np.ones((4, 3)), ylabel="C (mg/L)", title="t")
        >>> len(fig.axes[0].lines)
        1
    """
    low, median, high = percentile_bands(values)
    fig = Figure(figsize=(8, 4.5), dpi=100)  # no pyplot: no global state, no GUI backend
    ax = fig.subplots()
    if values.shape[0] > 1:
        ax.fill_between(times_h, low, high, alpha=0.3, label="5th-95th percentile")
    ax.plot(times_h, median, lw=2, label="median" if values.shape[0] > 1 else "typical patient")
    if target_range is not None:
        ax.axhspan(*target_range, color="green", alpha=0.08, label="target")
    ax.set_xlabel("time (h)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig
