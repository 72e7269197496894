"""Leaderboard aggregation for ``pkgym benchmark``: pure functions over normalised scores.

rliable-style (Agarwal et al., NeurIPS 2021): each method's scores form an array with axes
``(n_runs, n_tasks)`` (training seeds x environments), already normalised per task so that
0 is the task's label-dosing reference and 1 its oracle. Aggregates are the interquartile
mean (IQM) and mean over all entries and the median over tasks of the per-task means (as
rliable defines them), with stratified-bootstrap intervals (runs
resampled within each task); score distributions are performance profiles, the fraction of
runs whose normalised score exceeds ``tau``, with stratified-bootstrap bands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pkgym.evaluation.bootstrap import performance_profile, stratified_bootstrap_ci
from pkgym.evaluation.metrics import as_scores, interquartile_mean, median

RUN_AXES = "(n_runs, n_tasks)"
LEADERBOARD_COLUMNS = ("policy", "kind", "n_runs", "n_tasks", "iqm", "iqm_low", "iqm_high",
                       "mean", "median")


def as_run_scores(scores: np.ndarray, name: str = "scores") -> np.ndarray:
    """Validate a finite, non-empty score array with axes ``(n_runs, n_tasks)``.

    Examples:
        >>> as_run_scores([[0.5, 1.0]]).shape
        (1, 2)
        >>> as_run_scores([0.5, 1.0])
        Traceback (most recent call last):
        ...
        ValueError: scores must have axes (n_runs, n_tasks), got shape (2,)
    """
    arr = as_scores(scores, name)
    if arr.ndim != 2:
        raise ValueError(f"{name} must have axes {RUN_AXES}, got shape {arr.shape}")
    return arr


def _as_score_map(scores: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Validate every method's ``(n_runs, n_tasks)`` array; at least one method."""
    if not scores:
        raise ValueError("scores must hold at least one method")
    return {name: as_run_scores(s, f"scores[{name!r}]") for name, s in scores.items()}


def aggregate_scores(scores: Mapping[str, np.ndarray], *, reps: int = 2000,
                     rng: np.random.Generator, confidence: float = 0.95,
                     kind: str = "algorithm") -> pd.DataFrame:
    """IQM with its stratified-bootstrap interval, mean and median of each method's scores.

    Args:
        scores: normalised scores by method, each with axes ``(n_runs, n_tasks)``; methods
            may differ in both sizes (a baseline has one run per task).
        reps: bootstrap replicates.
        rng: source of randomness (shared, in the order of ``scores``).
        confidence: coverage of the interval, in ``(0, 1)``.
        kind: the ``kind`` column (``"algorithm"`` or ``"baseline"``).

    Returns:
        One row per method with the :data:`LEADERBOARD_COLUMNS`, sorted by IQM, best first.

    Examples:
        >>> table = aggregate_scores({"ppo": np.array([[0.0, 1.0], [0.5, 3.0]])}, reps=100,
        ...                          rng=np.random.default_rng(0))
        >>> table[["policy", "n_runs", "n_tasks", "iqm", "mean", "median"]].to_dict("records")
        [{'policy': 'ppo', 'n_runs': 2, 'n_tasks': 2, 'iqm': 0.75, 'mean': 1.125, 'median': 1.125}]
    """
    rows = []
    for name, arr in _as_score_map(scores).items():
        point, low, high = stratified_bootstrap_ci(arr, interquartile_mean, reps=reps, rng=rng,
                                                   confidence=confidence)
        rows.append({"policy": name, "kind": kind, "n_runs": arr.shape[0],
                     "n_tasks": arr.shape[1], "iqm": point, "iqm_low": low, "iqm_high": high,
                     "mean": float(arr.mean()), "median": median(arr)})
    table = pd.DataFrame(rows, columns=list(LEADERBOARD_COLUMNS))
    return table.sort_values("iqm", ascending=False, kind="stable", ignore_index=True)


@dataclass(frozen=True, slots=True)
class ProfileBand:
    """A performance profile and its bootstrap band, each ``(n_thresholds,)``."""

    fraction: np.ndarray  # (n_thresholds,)
    low: np.ndarray  # (n_thresholds,)
    high: np.ndarray  # (n_thresholds,)


def profile_band(scores: np.ndarray, thresholds: np.ndarray, *, reps: int = 1000,
                 rng: np.random.Generator, confidence: float = 0.95) -> ProfileBand:
    """Fraction of runs with score ``> tau`` and its stratified-bootstrap percentile band.

    Args:
        scores: normalised scores, ``(n_runs, n_tasks)``.
        thresholds: ``tau`` values, ``(n_thresholds,)``.
        reps: bootstrap replicates (runs resampled within each task).
        rng: source of randomness.
        confidence: coverage of the band, in ``(0, 1)``.

    Examples:
        >>> band = profile_band(np.array([[0.2, 0.8]]), np.array([0.0, 0.5, 1.0]), reps=20,
        ...                     rng=np.random.default_rng(0))
        >>> band.fraction.tolist(), band.low.tolist(), band.high.tolist()
        ([1.0, 0.5, 0.0], [1.0, 0.5, 0.0], [1.0, 0.5, 0.0])
    """
    arr = as_run_scores(scores)
    if int(reps) < 1 or not 0.0 < confidence < 1.0:
        raise ValueError(f"reps must be >= 1 and confidence in (0, 1), got {reps}, {confidence}")
    tau = np.asarray(thresholds, dtype=float)
    fraction = performance_profile(arr, tau)
    n_runs, n_tasks = arr.shape
    idx = rng.integers(0, n_runs, size=(int(reps), n_runs, n_tasks))
    resampled = arr[idx, np.arange(n_tasks)].reshape(int(reps), -1)  # (reps, n_runs * n_tasks)
    replicates = np.mean(resampled[:, :, None] > tau[None, None, :], axis=1)  # (reps, n_tau)
    alpha = 1.0 - confidence
    low, high = np.percentile(replicates, [50.0 * alpha, 100.0 - 50.0 * alpha], axis=0)
    return ProfileBand(fraction, low, high)


def profile_thresholds(scores: Mapping[str, np.ndarray], n_thresholds: int = 101) -> np.ndarray:
    """An even ``tau`` grid covering ``[0, 1]`` and every score given, 5% margin each side.

    Examples:
        >>> profile_thresholds({"a": np.array([[-0.4, 0.5]])}, 4).round(2).tolist()
        [-0.47, 0.04, 0.56, 1.07]
    """
    arrays = _as_score_map(scores).values()
    low = min(0.0, *(float(a.min()) for a in arrays))
    high = max(1.0, *(float(a.max()) for a in arrays))
    margin = 0.05 * (high - low)
    return np.linspace(low - margin, high + margin, int(n_thresholds))


def plot_performance_profiles(bands: Mapping[str, ProfileBand], thresholds: np.ndarray,
                              references: Mapping[str, np.ndarray] | None = None) -> Figure:
    """Performance profiles with bands (algorithms) and dashed profiles (baselines).

    Args:
        bands: each algorithm's :class:`ProfileBand` over ``thresholds``.
        thresholds: ``tau`` values, ``(n_thresholds,)``.
        references: baselines' fractions over ``thresholds`` (drawn dashed, no band).

    Examples:
        >>> tau = np.linspace(0.0, 1.0, 3)
        >>> band = ProfileBand(np.array([1.0, 0.5, 0.0]), np.zeros(3), np.ones(3))
        >>> fig = plot_performance_profiles({"ppo": band}, tau, {"map": np.array([1, 1, 0])})
        >>> len(fig.axes[0].lines)  # ppo, map, and the tau = 0 and tau = 1 guides
        4
    """
    fig = Figure(figsize=(7, 4.5), dpi=100)  # no pyplot: no global state, no GUI backend
    ax = fig.subplots()
    for name, band in bands.items():
        line = ax.plot(thresholds, band.fraction, lw=2, label=name)[0]
        ax.fill_between(thresholds, band.low, band.high, color=line.get_color(), alpha=0.2)
    for name, fraction in (references or {}).items():
        ax.plot(thresholds, fraction, ls="--", lw=1.2, label=f"{name} (baseline)")
    ax.axvline(0.0, color="grey", lw=0.8)
    ax.axvline(1.0, color="grey", lw=0.8)
    ax.set(xlabel=r"normalised score $\tau$ (0 = label dosing, 1 = oracle)",
           ylabel=r"fraction of runs with score > $\tau$", ylim=(-0.02, 1.02),
           title="Performance profiles (95% stratified-bootstrap bands)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize="small")
    fig.tight_layout()
    return fig


def leaderboard_markdown(table: pd.DataFrame, extra_columns: tuple[str, ...] = ()) -> str:
    """The leaderboard as a Markdown table: IQM [95% CI], mean, median, extra columns.

    A method with a single run per task has no interval over runs; it shows the point only.

    Examples:
        >>> table = pd.DataFrame([{"policy": "ppo", "kind": "algorithm", "n_runs": 2,
        ...     "n_tasks": 1, "iqm": 0.5, "iqm_low": 0.2, "iqm_high": 0.8, "mean": 0.5,
        ...     "median": 0.5}])
        >>> print(leaderboard_markdown(table).splitlines()[2])
        | ppo | algorithm | 2 x 1 | 0.500 [0.200, 0.800] | 0.500 | 0.500 |
    """
    head = ["policy", "kind", "runs x envs", "IQM [95% CI]", "mean", "median",
            *extra_columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, row in table.iterrows():
        iqm = f"{row['iqm']:.3f}" + (f" [{row['iqm_low']:.3f}, {row['iqm_high']:.3f}]"
                                     if row["n_runs"] > 1 else "")
        cells = [str(row["policy"]), str(row["kind"]), f"{row['n_runs']} x {row['n_tasks']}",
                 iqm, f"{row['mean']:.3f}", f"{row['median']:.3f}",
                 *(_cell(row[c]) for c in extra_columns)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    """A number to 3 decimals; NaN (not evaluated on that env) as a dash."""
    if isinstance(value, float | np.floating):
        return "—" if np.isnan(value) else f"{value:.3f}"
    return str(value)
