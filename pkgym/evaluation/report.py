"""Tables and an HTML report of a paired evaluation (``pkgym evaluate``).

The summary gives, for each policy and per-patient score, the mean with a percentile-bootstrap
95% interval and the paired difference against a reference policy (patients resampled
jointly). Policies that read the hidden state are marked as upper bounds. When the results
carry a ``replicate`` column (patients nested in parameter-uncertainty replicates,
:mod:`pkgym.evaluation.uncertainty`), every interval resamples replicates and then patients
within them, so it includes the uncertainty of the published estimates.
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pkgym.evaluation.bootstrap import bootstrap_ci, paired_difference_ci
from pkgym.evaluation.outcomes import OutcomeSpec
from pkgym.io import write_atomic, write_table
from pkgym.utils import plain_label


def _steps(results: pd.DataFrame, key: str) -> list[str]:
    return sorted((c for c in results.columns if c.startswith(f"{key}_") and c[len(key) + 1:]
                   .isdigit()), key=lambda c: int(c.rsplit("_", 1)[1]))


def summarise(results: pd.DataFrame, reference: str, scores: Mapping[str, str], *,
              reps: int = 2000, seed: int = 0) -> pd.DataFrame:
    """One row per (policy, score): mean, 95% CI, paired difference to ``reference`` and CI.

    Args:
        results: one row per (policy, patient), from :func:`pkgym.evaluation.evaluate`.
        reference: the policy differences refer to.
        scores: score column -> label (an :class:`~pkgym.evaluation.outcomes.OutcomeSpec`'s).
        reps: bootstrap resamples.
        seed: seed of the bootstrap.

    Examples:
        >>> results = pd.DataFrame({"policy": ["a"] * 3 + ["b"] * 3, "id": [0, 1, 2] * 2,
        ...                         "reads_hidden_state": False, "return": [1.0, 2, 3, 2, 3, 4]})
        >>> summary = summarise(results, "a", {"return": "return"}, reps=200)
        >>> float(summary.loc[("b", "return"), "difference"])
        1.0
    """
    scores_by = {name: group.sort_values("id") for name, group in
                 results.groupby("policy", sort=False)}
    if reference not in scores_by:
        raise ValueError(f"reference {reference!r} is not among the policies {list(scores_by)}")
    rows = []
    missing = sorted(set(scores) - set(results.columns))
    if missing:
        raise ValueError(f"results lack the score column(s) {missing}")
    clusters = replicate_labels(scores_by[reference])
    for column, label in scores.items():
        per_policy = {name: g[column].to_numpy(np.float64) for name, g in scores_by.items()}
        rng = np.random.default_rng(seed)
        diffs = paired_difference_ci(per_policy, reference, np.mean, reps=reps, rng=rng,
                                     clusters=clusters)
        for name, values in per_policy.items():
            point, low, high = bootstrap_ci(values, np.mean, reps=reps, rng=rng,
                                            clusters=clusters)
            d_point, d_low, d_high = diffs.get(name, (0.0, 0.0, 0.0))
            rows.append({"policy": name, "score": column, "label": label, "mean": point,
                         "low": low, "high": high, "difference": d_point, "diff_low": d_low,
                         "diff_high": d_high, "upper_bound": bool(
                             scores_by[name]["reads_hidden_state"].iloc[0])})
    return pd.DataFrame(rows).set_index(["policy", "score"])


def replicate_labels(results: pd.DataFrame) -> np.ndarray | None:
    """One policy's ``replicate`` column (patients nested in replicates), or ``None``.

    ``None`` when the column is absent or holds one replicate: patients are then resampled
    on their own.

    Examples:
        >>> replicate_labels(pd.DataFrame({"replicate": [0, 0, 1]})).tolist()
        [0, 0, 1]
        >>> replicate_labels(pd.DataFrame({"id": [0, 1]})) is None
        True
    """
    if "replicate" not in results.columns or results["replicate"].nunique() < 2:
        return None
    return results["replicate"].to_numpy()


def summary_markdown(summary: pd.DataFrame, reference: str, n_patients: int,
                     context: str = "") -> str:
    """The summary as a Markdown table: mean [95% CI] and difference vs the reference.

    ``context`` (e.g. the truth and each policy's belief, :mod:`pkgym.evaluation.uncertainty`)
    is printed above the table.

    Policy names and score labels are the user's text: a ``|`` in one is escaped and a line
    break becomes a space, so the table keeps its columns (the HTML report escapes the rest).
    """
    labels = [_cell(label) for label in summary["label"].drop_duplicates()]
    head = "| policy | " + " | ".join(labels) + " |\n|---|" + "---|" * len(labels) + "\n"
    lines = []
    for policy, group in summary.groupby(level="policy", sort=False):
        cells = [f"{r['mean']:.3f} [{r['low']:.3f}, {r['high']:.3f}]"
                 + ("" if policy == reference else
                    f"; Δ {r['difference']:+.3f} [{r['diff_low']:+.3f}, {r['diff_high']:+.3f}]")
                 for _, r in group.iterrows()]
        mark = " (reads hidden state: upper bound)" if group["upper_bound"].iloc[0] else ""
        lines.append(f"| {_cell(policy)}{mark} | " + " | ".join(cells) + " |")
    return (f"Paired evaluation on {n_patients} patients: mean [95% bootstrap CI]; Δ = paired "
            f"difference to {reference} [95% CI].\n\n" + (context + "\n\n" if context else "")
            + head + "\n".join(lines) + "\n")


def _cell(text: object) -> str:
    r"""``text`` as one Markdown table cell: ``|`` escaped, line breaks as spaces.

    Examples:
        >>> _cell("a|b\nc")
        'a\\|b c'
    """
    return " ".join(str(text).replace("|", "\\|").splitlines())


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def report_figures(results: pd.DataFrame, spec: OutcomeSpec,
                   n_examples: int = 3) -> list[tuple[str, Figure]]:
    """Attainment over time, score distributions and example trajectories, per policy."""
    in_range, level, dose = (_steps(results, k) for k in (
        spec.in_range_key, spec.level_key, spec.dose_key))
    groups = list(results.groupby("policy", sort=False))
    over_time = Figure(figsize=(7, 4))
    ax = over_time.subplots()
    for name, group in groups:
        ax.plot(np.arange(1, len(in_range) + 1), group[in_range].mean().to_numpy(), marker="o",
                label=plain_label(name))
    ax.set(xlabel="decision step", ylabel="share in target", title="Target attainment over time")
    ax.legend()
    spread = Figure(figsize=(7, 4))
    ax = spread.subplots()
    ax.boxplot([g["return"].to_numpy() for _, g in groups],
               tick_labels=[plain_label(n) for n, _ in groups])
    ax.set(ylabel="return", title="Return per patient")
    examples = Figure(figsize=(7, 2.6 * len(groups)))
    steps = np.arange(len(dose))
    for ax, (name, group) in zip(np.atleast_1d(examples.subplots(len(groups), 1)), groups,
                                 strict=True):
        doses = ax.twinx()
        for k, (_, row) in enumerate(group.head(n_examples).iterrows()):
            line = ax.plot(steps + 1, row[level].to_numpy(), marker=".")[0]
            doses.bar(steps + 0.1 * k, row[dose].to_numpy(), width=0.1, alpha=0.4,
                      color=line.get_color())
        ax.axhspan(*spec.target_range, color="green", alpha=0.1)
        ax.set(title=f"{plain_label(name)}: {n_examples} example patients",
               ylabel=plain_label(spec.level_label))
        doses.set_ylabel("dose (mg)")
    examples.tight_layout()
    return [("attainment", over_time), ("returns", spread), ("examples", examples)]


def write_report(results: pd.DataFrame, summary: pd.DataFrame, markdown: str,
                 out_dir: str | os.PathLike, spec: OutcomeSpec,
                 extra_figures: Sequence[tuple[str, Figure]] = ()) -> list[Path]:
    """Write results.csv, summary.csv, summary.md and report.html atomically into ``out_dir``.

    ``extra_figures`` (title, figure) are added to report.html after the env's own figures.

    Every text of the user's in report.html (policy names, score labels, the Markdown summary
    and the table's cells and column labels) is HTML-escaped: a name is shown, never run.
    """
    out = Path(out_dir)
    images = "".join(f'<h2>{html.escape(title)}</h2><img src="data:image/png;base64,'
                     f'{_png(fig)}"/>' for title, fig in
                     [*report_figures(results, spec), *extra_figures])
    table = summary.reset_index().to_html(index=False, escape=True,
                                          float_format=lambda v: f"{v:.3f}")
    page = (f"<html><head><meta charset='utf-8'><title>pkgym evaluation</title></head><body>"
            f"<h1>pkgym evaluation</h1><pre>{html.escape(markdown)}</pre>{table}{images}"
            "</body></html>")
    return [write_table(results, out / "results.csv"),
            write_table(summary.reset_index(), out / "summary.csv"),
            write_atomic(out / "summary.md", _text_writer(markdown)),
            write_atomic(out / "report.html", _text_writer(page))]


def _text_writer(text: str):  # noqa: ANN202
    def write(path: Path) -> None:
        path.write_text(text, encoding="utf-8")
    return write
