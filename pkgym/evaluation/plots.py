"""Plots of simulated cohorts and of paired evaluations.

:func:`plot_profiles` draws a cohort's percentile bands over time (a visual predictive
check). The figures of ``report.html`` (:mod:`pkgym.evaluation.report`) are here too: the
per-step view (:func:`per_step_figure`), each score's distribution per policy
(:func:`outcome_figure`) and example patients (:func:`examples_figure`), every axis with its
unit and every target band the env's own (:func:`pkgym.evaluation.outcomes.report_view`).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from pkgym.evaluation.outcomes import ReportView
from pkgym.utils import check_finite, plain_label

BAND_COLOR = "tab:green"
"""The colour of target bands."""
MANY_STEPS = 30
"""Example patients with more steps than this show their doses as lines, not bars."""


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


def step_columns(results: pd.DataFrame, key: str) -> list[str]:
    """The ``<key>_<step>`` columns of ``results``, in step order.

    Examples:
        >>> step_columns(pd.DataFrame(columns=["dose_mg_10", "dose_mg_2", "dose_mg_x"]),
        ...              "dose_mg")
        ['dose_mg_2', 'dose_mg_10']
    """
    return sorted((c for c in results.columns if c.startswith(f"{key}_")
                   and c[len(key) + 1:].isdigit()), key=lambda c: int(c.rsplit("_", 1)[1]))


def policy_label(name: object, width: int = 28) -> str:
    r"""A policy name as a plot label: ``$`` shown as typed, wrapped at ``width`` characters.

    Examples:
        >>> policy_label("sb3:ppo_vancomycin[shifted: default scenario -> renal.yaml]")
        'sb3:ppo_vancomycin[shifted:\ndefault scenario ->\nrenal.yaml]'
    """
    return "\n".join(textwrap.wrap(plain_label(name), width, break_on_hyphens=False)
                     or [""])


def _groups(results: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    return [(str(name), group) for name, group in results.groupby("policy", sort=False)]


def _band(ax: Axes, view: ReportView) -> list[Artist]:
    """Shade the view's target band; its legend handle (none without a band)."""
    if view.band is None:
        return []
    ax.axhspan(*view.band, color=BAND_COLOR, alpha=0.12, lw=0)
    return [Patch(color=BAND_COLOR, alpha=0.25, label=view.band_label)]


def _level_key(results: pd.DataFrame, view: ReportView, fallback: str) -> str:
    return view.level_key if step_columns(results, view.level_key) else fallback


def per_step_figure(results: pd.DataFrame, view: ReportView, in_range_key: str,
                    dose_key: str, level_key: str) -> Figure:
    """Per decision step, each policy: share in range, the level (median, IQR), mean dose.

    The level and the share are recorded after each step (at the step's end); the dose is
    given at its start. ``level_key`` is used where the results lack ``view.level_key``.
    """
    groups = _groups(results)
    level = step_columns(results, _level_key(results, view, level_key))
    in_range, dose = step_columns(results, in_range_key), step_columns(results, dose_key)
    fig = Figure(figsize=(12, 4.2), dpi=100, layout="constrained")
    share_ax, level_ax, dose_ax = fig.subplots(1, 3)
    ends = (np.arange(len(level)) + 1) * view.step_size
    handles = _band(level_ax, view)
    for k, (name, group) in enumerate(groups):
        color = f"C{k % 10}"
        share = group[in_range].astype(float).mean().to_numpy()
        share_ax.plot((np.arange(len(in_range)) + 1) * view.step_size, share, marker="o",
                      ms=3, color=color)
        values = group[level].astype(float).to_numpy()
        if values.size and not np.isnan(values).all():
            low, mid, high = np.nanpercentile(values, (25, 50, 75), axis=0)
            level_ax.fill_between(ends, low, high, color=color, alpha=0.15, lw=0)
            level_ax.plot(ends, mid, color=color, marker="o", ms=3)
        dose_ax.step(np.arange(len(dose)) * view.step_size,
                     group[dose].astype(float).mean().to_numpy(), where="post", color=color)
        handles.insert(k, _line(color, policy_label(name, 40)))
    share_ax.set(ylim=(-0.03, 1.03), ylabel=f"{view.in_range_label} (0-1)",
                 title="Share of patients, per step")
    level_ax.set(ylabel=view.level_label, title="Level: median and IQR")
    if view.log_level:
        level_ax.set_yscale("log")
    dose_ax.set(ylabel=f"mean {view.dose_label}", title="Dose given, mean")
    for ax in (share_ax, level_ax, dose_ax):
        ax.set_xlabel(view.time_label)
        ax.grid(alpha=0.3)
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4),
               frameon=False)
    return fig


def _line(color: str, label: str) -> Line2D:
    return Line2D([], [], color=color, marker="o", ms=4, label=label)


def outcome_figure(results: pd.DataFrame, scores: Mapping[str, str],
                   view: ReportView) -> Figure:
    """Each score's distribution per policy: horizontal box plots (mean as a diamond).

    Policies run down the y axis (long names wrap instead of overlapping); each panel's x
    axis carries the score's unit.
    """
    groups = _groups(results)
    names = [policy_label(name) for name, _ in groups][::-1]
    columns = [c for c in scores if c in results.columns]
    ncols = 2 if len(columns) > 1 else 1
    nrows = -(-len(columns) // ncols)
    height = max(1.6, 0.42 * len(groups) + 1.3)
    fig = Figure(figsize=(12, height * nrows), dpi=100, layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax, column in zip(axes, columns, strict=False):
        data = [g[column].astype(float).dropna().to_numpy() for _, g in groups][::-1]
        ax.boxplot(data, orientation="horizontal", tick_labels=names, widths=0.6,
                   showmeans=True, meanprops={"marker": "D", "markerfacecolor": "white",
                                              "markeredgecolor": "black", "markersize": 5},
                   flierprops={"markersize": 3, "alpha": 0.5})
        unit = view.unit(column)
        ax.set_title(plain_label(scores[column]), fontsize=10, loc="left")
        ax.set_xlabel(plain_label(unit) if unit else "value")
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(axis="y", labelsize=8)
    for ax in axes[len(columns):]:
        ax.set_axis_off()
    return fig


def examples_figure(results: pd.DataFrame, view: ReportView, dose_key: str, level_key: str,
                    n_examples: int = 3) -> Figure:
    """The first ``n_examples`` patients under each policy: level (lines) and doses (bars).

    The same patients in every panel (a paired evaluation), one colour per patient; the
    legend names them, the dose bars and the target band.
    """
    groups = _groups(results)
    level = step_columns(results, _level_key(results, view, level_key))
    dose = step_columns(results, dose_key)
    fig = Figure(figsize=(12, 2.9 * len(groups) + 0.6), dpi=100, layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(groups), 1, sharex=True, squeeze=False)).ravel()
    ends = (np.arange(len(level)) + 1) * view.step_size
    starts = np.arange(len(dose)) * view.step_size
    width = 0.8 * view.step_size / max(n_examples, 1)
    few = len(dose) <= MANY_STEPS
    handles: list[Artist] = []
    for ax, (name, group) in zip(axes, groups, strict=True):
        doses = ax.twinx()
        handles = _band(ax, view)
        for k, (_, row) in enumerate(group.head(n_examples).iterrows()):
            color = f"C{k % 10}"
            ax.plot(ends, row[level].to_numpy(float), marker="." if few else None,
                    color=color, zorder=3)
            if few:
                doses.bar(starts + (k + 0.5) * width, row[dose].to_numpy(float), width=width,
                          alpha=0.35, color=color, align="center")
            else:  # many steps: bars would hide each other
                doses.step(starts, row[dose].to_numpy(float), where="post", color=color,
                           lw=1, ls="--", alpha=0.8)
            handles.append(_line(color, f"patient {row['id']}"))
        handles.append(Patch(color="0.5", alpha=0.35, label=f"bars: {view.dose_label}")
                       if few else Line2D([], [], color="0.4", ls="--",
                                          label=f"dashed: {view.dose_label}"))
        ax.set_zorder(doses.get_zorder() + 1)
        ax.patch.set_visible(False)
        if view.log_level:
            ax.set_yscale("log")
        ax.set_title(policy_label(f"{name}: first {min(n_examples, len(group))} patients", 100),
                     fontsize=10, loc="left")
        ax.set_ylabel(view.level_label)
        doses.set_ylabel(view.dose_label)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel(view.time_label)
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 5),
               frameon=False)
    return fig

