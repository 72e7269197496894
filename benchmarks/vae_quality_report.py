"""Markdown tables and example figure of :mod:`benchmarks.vae_quality`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks.vae_quality_data import plan_of  # noqa: E402
from pkgym.io import write_atomic  # noqa: E402

if TYPE_CHECKING:
    from benchmarks.vae_quality import EnvResult

FORECAST_METHODS = ("vae", "map", "population", "vae-map")
PROBE_METHODS = {"vae_latent": "VAE latent mean",
                 "vae_latent+covariates": "VAE latent + covariates",
                 "map_log_cl": "MAP log CL", "covariates": "covariates + labs"}
EXAMPLE_LEVELS, N_EXAMPLES = 1, 3


def format_interval(row: pd.Series, percent: bool = False, signed: bool = False) -> str:
    """``point [low, high]`` of one row, 3 decimals or as a percentage.

    Examples:
        >>> format_interval(pd.Series({"point": 0.1234, "low": 0.1, "high": 0.15}))
        '0.123 [0.100, 0.150]'
        >>> format_interval(pd.Series({"point": -0.05, "low": -0.1, "high": 0.0}), True, True)
        '-5.0% [-10.0, +0.0]'
    """
    sign = "+" if signed else ""
    if percent:
        values = [100.0 * row[k] for k in ("point", "low", "high")]
        return f"{values[0]:{sign}.1f}% [{values[1]:{sign}.1f}, {values[2]:{sign}.1f}]"
    return f"{row['point']:{sign}.3f} [{row['low']:{sign}.3f}, {row['high']:{sign}.3f}]"


def _cell(table: pd.DataFrame, n_levels: int, metric: str, method: str) -> pd.Series:
    match = table[(table.n_levels == n_levels) & (table.metric == metric)
                  & (table.method == method)]
    return match.iloc[0]


def forecast_markdown(table: pd.DataFrame, window_label: str) -> str:
    """Table 1 of one env: log-RMSE and window error of each forecast by level count."""
    head = ["levels", "decision (h)", "n"]
    head += [f"log-RMSE {m}" for m in FORECAST_METHODS]
    head += [f"abs rel err {m}" for m in FORECAST_METHODS] + ["bias vae / map"]
    lines = [f"Future exposure: log-RMSE over the rest of the episode; |relative error| of "
             f"the {window_label}.", "", "| " + " | ".join(head) + " |",
             "|" + "---|" * len(head)]
    for n_levels in sorted(table.n_levels.unique()):
        first = _cell(table, n_levels, "rmse_log", "vae")
        cells = [str(n_levels), f"{first.decision_h:.0f}", str(first.n_patients)]
        cells += [format_interval(_cell(table, n_levels, "rmse_log", m), signed=m == "vae-map")
                  for m in FORECAST_METHODS]
        cells += [format_interval(_cell(table, n_levels, "abs_rel_error", m), percent=True,
                                  signed=m == "vae-map") for m in FORECAST_METHODS]
        bias = [100.0 * _cell(table, n_levels, "rel_error", m).point for m in ("vae", "map")]
        cells.append(f"{bias[0]:+.1f}% / {bias[1]:+.1f}%")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def probe_markdown(table: pd.DataFrame) -> str:
    """Table 2 of one env: held-out R^2 of the linear probes of the true log clearance."""
    head = ["levels", "decision (h)", "n", *PROBE_METHODS.values()]
    lines = ["Linear probe of the true log clearance: out-of-sample R^2 (fitted on a separate "
             "probe-training cohort).", "", "| " + " | ".join(head) + " |",
             "|" + "---|" * len(head)]
    for n_levels in sorted(table.n_levels.unique()):
        first = _cell(table, n_levels, "probe_r2", "vae_latent")
        cells = [str(n_levels), f"{first.decision_h:.0f}", str(first.n_patients)]
        cells += [format_interval(_cell(table, n_levels, "probe_r2", m)) for m in PROBE_METHODS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(results: Sequence[EnvResult], seconds: float) -> str:
    """The whole report: two tables per env, then how it was made."""
    parts = ["# Patient VAE quality on held-out patients", ""]
    for result in results:
        plan = plan_of(result.env_id)
        n = result.episode.regimens_mg.shape[0]
        after = "; INRs counted after the day-0 baseline" if plan.baseline_levels else ""
        parts += [f"## {result.env_id} ({n} held-out patients dosed by `{plan.baseline}`{after})",
                  "",
                  forecast_markdown(result.table, plan.window_label), "",
                  probe_markdown(result.table[result.table.metric == "probe_r2"]), ""]
    parts += ["Means over patients with 95% percentile bootstrap CIs (2000 resamples of "
              "patients); `vae-map` is the paired difference. Log scale: log(conc + 0.1 mg/L) "
              "for vancomycin, log INR for warfarin. `population` is the MAP forecast with the "
              "levels removed (the floor). `bias`: mean signed relative error of the window "
              "exposure. The decision with 0 levels is the last step before the first level.",
              "", f"Run time: {seconds:.0f} s.", ""]
    return "\n".join(parts)


def _plot_patient(axis: plt.Axes, result: EnvResult, index: int) -> None:
    """True, VAE, MAP and population course of one patient at the example level count."""
    point = next(p for p in result.points if p.n_levels == EXAMPLE_LEVELS)
    if index >= point.rows.size:
        axis.set_axis_off()
        return
    episode, row = result.episode, point.rows[index]
    scale = 24.0 if episode.unit == "INR" else 1.0
    x = episode.grid_h / scale
    axis.plot(x, episode.exposures[row], color="black", lw=1.5, label="true")
    styles = {"vae": ("C0", "-"), "map": ("C1", "--"), "population": ("grey", ":")}
    for method, (color, style) in styles.items():
        axis.plot(x, point.forecasts[method][index], color=color, ls=style, lw=1.2,
                  label=method)
    mask = point.history["level_mask"][index] > 0
    axis.plot(point.history["level_times_h"][index][mask] / scale,
              point.history["level_values"][index][mask], "o", color="C3", label="measured")
    axis.axvline(point.times_h[index] / scale, color="C3", lw=0.8, ls="-.")
    axis.set_title(f"{result.env_id.split('/')[1]}, patient {row}", fontsize=9)
    axis.set_xlabel("day" if episode.unit == "INR" else "hour")
    axis.set_ylabel(episode.unit)


def plot_examples(results: Sequence[EnvResult], path: Path) -> Path:
    """True vs VAE vs MAP course of three patients per env at one level, written atomically."""
    figure, axes = plt.subplots(len(results), N_EXAMPLES, figsize=(4 * N_EXAMPLES,
                                                                 3 * len(results)),
                                squeeze=False)
    for axes_row, result in zip(axes, results, strict=True):
        for index, axis in enumerate(axes_row):
            _plot_patient(axis, result, index)
    axes[0, 0].legend(fontsize=7)
    figure.suptitle(f"Forecasts at {EXAMPLE_LEVELS} measured level (vertical line: decision)")
    figure.tight_layout()
    try:
        return write_atomic(path, lambda tmp: figure.savefig(tmp, format="png", dpi=110))
    finally:
        plt.close(figure)

