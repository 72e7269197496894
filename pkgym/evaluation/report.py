# lines: the summary tables and the one self-contained HTML page that renders them
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
import datetime
import html
import io
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pkgym.evaluation.bootstrap import bootstrap_ci, paired_difference_ci
from pkgym.evaluation.outcomes import OutcomeSpec, ReportView, report_view
from pkgym.evaluation.plots import examples_figure, outcome_figure, per_step_figure
from pkgym.evaluation.uncertainty import describe_truth
from pkgym.io import write_atomic, write_table


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
    summary = pd.DataFrame(rows).set_index(["policy", "score"])
    summary.attrs["reference"] = reference
    return summary


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


def report_figures(results: pd.DataFrame, spec: OutcomeSpec, n_examples: int = 3, *,
                   view: ReportView | None = None) -> list[tuple[str, Figure]]:
    """The per-step view, each score per policy and example patients, with units.

    ``view`` (default: :func:`~pkgym.evaluation.outcomes.report_view` of ``spec``) gives the
    labels, units and target band.
    """
    view = report_view(spec) if view is None else view
    return [("Per step: share in range, level and dose",
             per_step_figure(results, view, spec.in_range_key, spec.dose_key, spec.level_key)),
            ("Per patient: each outcome by policy",
             outcome_figure(results, spec.scores, view)),
            ("Example patients", examples_figure(results, view, spec.dose_key, spec.level_key,
                                                 n_examples))]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportHeader:
    """What produced an evaluation, shown at the top of report.html.

    Attributes:
        env_id: the env id (with its version, e.g. ``pkgym/Vancomycin-v0``).
        scenario: the scenario YAML (``None``: the env's default scenario).
        seed: the evaluation seed.
        n_patients: the cohort size.
        cohort_file: the user's cohort file (``None``: sampled from the env's population).
        replicates: parameter-uncertainty replicates (0: the published estimates).
        context: the truth and each policy's belief
            (:func:`~pkgym.evaluation.uncertainty.evaluation_context`).
        reference: the policy differences refer to.
    """

    env_id: str | None = None
    scenario: str | os.PathLike | None = None
    seed: int | None = None
    n_patients: int | None = None
    cohort_file: str | os.PathLike | None = None
    replicates: int = 0
    context: str = ""
    reference: str | None = None

    @classmethod
    def from_manifest(cls, path: str | os.PathLike, context: str = "") -> ReportHeader | None:
        """The header a sharded run's ``OUT/shards/manifest.json`` records (``None``: none).

        The manifest is checked against the run's settings before any shard runs
        (:func:`pkgym.scale.shards.claim_folder`), so it describes the results next to it.
        """
        try:
            found = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(found, dict) or found.get("kind") != "evaluation":
            return None
        cohort = next((label.split(" ", 1)[1] for label in found.get("inputs", {})
                       if label.startswith("cohort ")), None)
        return cls(env_id=found.get("env_id"), scenario=found.get("scenario"),
                   seed=found.get("seed"), n_patients=found.get("n_patients"),
                   cohort_file=cohort, replicates=int(found.get("parameter_replicates", 0)),
                   context=context)


def _context_of(markdown: str) -> str:
    """The truth and beliefs :func:`summary_markdown` printed between its intro and table."""
    blocks = markdown.split("\n\n")
    return "\n\n".join(b for b in blocks[1:] if b and not b.lstrip().startswith("|")).strip()


def _reference_of(summary: pd.DataFrame, header: ReportHeader) -> str | None:
    """The reference policy: the header's, :func:`summarise`'s record, or none."""
    if header.reference is not None:
        return header.reference
    found = summary.attrs.get("reference")
    return str(found) if found is not None else None


def _num(value: float, decimals: int = 3) -> str:
    """A number for the report's tables (an en dash where it is not finite).

    Examples:
        >>> _num(0.12345), _num(-123.456, 0), _num(float("nan"))
        ('0.123', '-123', '–')
    """
    return f"{value:.{decimals}f}" if np.isfinite(value) else "–"


def _signed(value: float, decimals: int = 3) -> str:
    return f"{value:+.{decimals}f}" if np.isfinite(value) else "–"


def decimals_for(values: np.ndarray) -> int:
    """Decimals that show a score's values to about 3 significant digits.

    Examples:
        >>> decimals_for(np.array([0.41, 0.9])), decimals_for(np.array([11.7, -2.0]))
        (3, 1)
        >>> decimals_for(np.array([-48.3, 122.8])), decimals_for(np.array([np.nan]))
        (0, 3)
    """
    finite = np.abs(values[np.isfinite(values)])
    top = float(finite.max()) if finite.size else 0.0
    return 3 if top < 1 else 2 if top < 10 else 1 if top < 100 else 0


def _cell_html(row: pd.Series, decimals: int, *, diff: bool) -> str:
    """A table cell: the mean and its 95% CI.

    With ``diff``, the paired difference and its CI below, bold where the CI excludes 0.
    """
    cell = (f'<span class="mean">{_num(row["mean"], decimals)}</span><span class="ci">'
            f'[{_num(row["low"], decimals)}, {_num(row["high"], decimals)}]</span>')
    if diff:
        text = (f'<span class="diff">Δ {_signed(row["difference"], decimals)}</span>'
                f'<span class="ci">[{_signed(row["diff_low"], decimals)}, '
                f'{_signed(row["diff_high"], decimals)}]</span>')
        cell += (f"<strong>{text}</strong>" if row["diff_low"] > 0 or row["diff_high"] < 0
                 else text)
    return f"<td>{cell}</td>"


def _head_html(scores: Sequence[tuple[str, str]], view: ReportView) -> str:
    """Outcome column headers: the label, its unit below."""
    return "".join(f'<th scope="col">{html.escape(str(label))}'
                   + (f'<span class="unit">{html.escape(view.unit(score))}</span>'
                      if view.unit(score) else "") + "</th>" for score, label in scores)


def _chunks(items: Sequence[tuple[str, str]], size: int) -> list[Sequence[tuple[str, str]]]:
    """``items`` in about equal runs of at most ``size`` (one table per run fits the page).

    Examples:
        >>> [len(c) for c in _chunks([("a", "a")] * 8, 6)]
        [4, 4]
    """
    n = max(1, -(-len(items) // size))
    step = -(-len(items) // n)
    return [items[k:k + step] for k in range(0, len(items), step)] or [items]


SUMMARY_COLUMNS = 6
"""Outcome columns per summary table (more outcomes: more tables, none scrolled)."""
SUBGROUP_COLUMNS = 4
"""Outcome columns per subgroup table."""


def summary_table(summary: pd.DataFrame, view: ReportView, reference: str | None) -> str:
    """The summary as HTML tables: a row per policy, a column per outcome (with its unit).

    Each cell: the mean and its 95% CI, then (except for the reference) the paired
    difference to the reference and its CI, in bold where the CI excludes 0. More than
    :data:`SUMMARY_COLUMNS` outcomes are split over tables. Every text of the user's is
    escaped.
    """
    flat = summary.reset_index()
    scores = list(flat[["score", "label"]].drop_duplicates("score").itertuples(index=False,
                                                                                name=None))
    decimals = {score: decimals_for(part[["mean", "low", "high"]].to_numpy(float))
                for score, part in flat.groupby("score", sort=False)}
    tables = []
    for chunk in _chunks(scores, SUMMARY_COLUMNS):
        rows = []
        for policy, group in flat.groupby("policy", sort=False):
            is_ref = policy == reference
            tags = (' <span class="tag">reference</span>' if is_ref else "") + (
                ' <span class="tag warn">reads hidden state: upper bound</span>'
                if group["upper_bound"].iloc[0] else "")
            by_score = group.set_index("score")
            cells = "".join(_cell_html(by_score.loc[score], decimals[score],
                                       diff=not is_ref and reference is not None)
                            for score, _ in chunk)
            rows.append(f'<tr><th scope="row">{html.escape(str(policy))}{tags}</th>{cells}</tr>')
        tables.append(f'<div class="scroll"><table class="summary"><thead><tr>'
                      f'<th scope="col">policy</th>{_head_html(chunk, view)}</tr></thead>'
                      f'<tbody>{"".join(rows)}</tbody></table></div>')
    return "".join(tables)


def subgroup_html(table: pd.DataFrame, scores: Mapping[str, str], view: ReportView,
                  reference: str | None) -> str:
    """A subgroup table as HTML: per (subgroup, level, policy), each score's mean and CI.

    ``table`` is :func:`pkgym.evaluation.subgroups.subgroup_table`'s; a non-reference row
    also shows the paired difference to the reference and its CI. More than
    :data:`SUBGROUP_COLUMNS` scores are split over tables.
    """
    names = [(s, str(scores[s])) for s in scores if s in set(table["score"])]
    decimals = {score: decimals_for(part[["mean", "low", "high"]].to_numpy(float))
                for score, part in table.groupby("score", sort=False)}
    tables = []
    for chunk in _chunks(names, SUBGROUP_COLUMNS):
        rows = []
        for (subgroup, level, policy), part in table.groupby(["subgroup", "level", "policy"],
                                                             sort=False):
            by_score = part.set_index("score")
            small = (' <span class="tag warn">small</span>' if bool(part["small"].iloc[0])
                     else "")
            cells = "".join(_cell_html(by_score.loc[s], decimals[s], diff=policy != reference)
                            if s in by_score.index else "<td>–</td>" for s, _ in chunk)
            rows.append(f"<tr><td>{html.escape(str(subgroup))}</td><td>"
                        f"{html.escape(str(level))}</td><td>{int(part['n'].iloc[0])}{small}"
                        f'</td><th scope="row">{html.escape(str(policy))}</th>{cells}</tr>')
        tables.append('<div class="scroll"><table class="summary subgroups"><thead><tr>'
                      '<th scope="col">subgroup</th><th scope="col">level</th>'
                      '<th scope="col">n</th><th scope="col">policy</th>'
                      f'{_head_html(chunk, view)}</tr></thead><tbody>{"".join(rows)}</tbody>'
                      "</table></div>")
    return "".join(tables)


def _header_html(header: ReportHeader, results: pd.DataFrame, reference: str | None,
                 context: str) -> str:
    """The header: env, scenario, truth and beliefs, cohort, seed, version, date."""
    def row(name: str, value: str) -> str:
        return f"<dt>{html.escape(name)}</dt><dd>{value}</dd>"

    esc = html.escape
    n = header.n_patients if header.n_patients is not None else int(results["id"].nunique())
    policies = list(pd.unique(results["policy"]))
    truth, beliefs = _truth_and_beliefs(context, header)
    cohort = (f"file {esc(str(header.cohort_file))}" if header.cohort_file is not None else
              "sampled from the env's population (held-out evaluation seed space)")
    items = [
        row("Environment", esc(header.env_id) if header.env_id else "not recorded"),
        row("Scenario", esc(str(header.scenario)) if header.scenario is not None else
            ("the env's default scenario" if header.env_id else "not recorded")),
        row("Truth (patients)", esc(truth) if truth else "not recorded"),
        row("Policies (belief)", "<ul>" + "".join(
            f"<li>{esc(str(p))}{' (reference)' if p == reference else ''}"
            + (f": {esc(beliefs[str(p)])}" if str(p) in beliefs else "") + "</li>"
            for p in policies) + "</ul>"),
        row("Cohort", f"{n} patients, {cohort}"),
        row("Seed", esc(str(header.seed)) if header.seed is not None else "not recorded"),
        row("Parameter uncertainty", f"{header.replicates} replicates" if header.replicates
            else "none (published estimates)"),
        row("pkgym version", esc(_version())),
        row("Date", esc(datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"))),
    ]
    return f'<dl class="meta">{"".join(items)}</dl>'


def _truth_and_beliefs(context: str, header: ReportHeader) -> tuple[str, dict[str, str]]:
    """The truth line and ``{policy: belief}`` of an evaluation's context.

    The context is :func:`~pkgym.evaluation.uncertainty.evaluation_context`'s; without a
    truth line there, :func:`describe_truth` gives the header's env's.
    """
    truth = ""
    beliefs: dict[str, str] = {}
    for line in context.splitlines():
        if line.startswith("Truth:"):
            truth = line.removeprefix("Truth:").strip()
        elif line.startswith("- ") and ": " in line:
            name, belief = line[2:].rsplit(": ", 1)
            beliefs[name] = belief
    if not truth and header.env_id:
        try:
            truth = describe_truth(header.env_id, header.scenario, header.replicates)
        except (OSError, ValueError, TypeError):
            truth = ""
        truth = truth.removeprefix("Truth:").strip()
    return truth, beliefs


def _version() -> str:
    try:
        return metadata.version("pkgym")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


STYLE = """
:root { color-scheme: light; }
body { margin: 0; background: #f4f5f7; color: #1d2330;
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 32px 48px; background: #fff;
       box-shadow: 0 0 0 1px #e2e5ea; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #e2e5ea; }
p.lead { margin: 0 0 16px; color: #4a5263; }
p.note { font-size: 13px; color: #4a5263; margin: 6px 0; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 4px 20px; margin: 12px 0;
          padding: 12px 16px; background: #f7f8fa; border: 1px solid #e2e5ea; border-radius: 6px; }
dl.meta dt { font-weight: 600; color: #4a5263; }
dl.meta dd { margin: 0; overflow-wrap: anywhere; }
dl.meta ul { margin: 0; padding-left: 18px; }
.scroll { overflow-x: auto; margin-bottom: 12px; }
table.summary { border-collapse: collapse; font-size: 14px; font-variant-numeric: tabular-nums;
                min-width: 60%; }
table.summary th, table.summary td { border: 1px solid #dde1e7; padding: 6px 10px;
                                     vertical-align: top; text-align: right; }
table.summary thead th { background: #eef1f5; text-align: center; font-weight: 600;
                         vertical-align: bottom; min-width: 84px; max-width: 170px; }
table.summary tbody th { text-align: left; font-weight: 600; min-width: 120px;
                         max-width: 240px; overflow-wrap: break-word; }
table.summary tbody tr:nth-child(even) { background: #fafbfc; }
table.summary td:first-child { text-align: left; }
table.subgroups td:nth-child(-n+3) { text-align: left; }
.unit { display: block; font-weight: 400; font-size: 12px; color: #5b6475; }
.mean { display: block; font-size: 15px; }
.ci, .diff { display: block; font-size: 12px; color: #5b6475; white-space: nowrap; }
.diff { color: #1d2330; margin-top: 2px; }
strong .diff, strong .ci { color: #1d2330; font-weight: 700; }
.tag { display: inline-block; font-size: 11px; font-weight: 500; padding: 0 6px;
       border-radius: 8px; background: #e6ecf5; color: #2b4a7a; margin-left: 4px; }
.tag.warn { background: #fbeedd; color: #8a4b00; }
figure { margin: 8px 0 24px; }
figure img { display: block; max-width: 100%; height: auto; }
figcaption { font-size: 13px; color: #4a5263; margin-top: 4px; }
details { margin-top: 32px; }
details pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f7f8fa;
              border: 1px solid #e2e5ea; padding: 12px; font-size: 12px; }
footer { margin-top: 24px; font-size: 12px; color: #6b7385; }
"""
"""The report's stylesheet (inline: the page needs no other file)."""


def write_report(results: pd.DataFrame, summary: pd.DataFrame, markdown: str,
                 out_dir: str | os.PathLike, spec: OutcomeSpec,
                 extra_figures: Sequence[tuple[str, Figure]] = (), *,
                 header: ReportHeader | None = None,
                 subgroups: pd.DataFrame | None = None) -> list[Path]:
    """Write results.csv, summary.csv, summary.md and report.html atomically into ``out_dir``.

    report.html is one self-contained page (inline CSS, figures as base64 PNG): a header
    (``header``: env, scenario, truth and beliefs, cohort, seed, pkgym version, date), the
    summary as a table (units, means and 95% CIs, paired differences), the per-step view,
    each outcome by policy and example patients (:func:`report_figures`), the subgroup table
    (``subgroups``, :func:`pkgym.evaluation.subgroups.subgroup_table`) and ``extra_figures``
    (title, figure), and summary.md's text (folded).

    Without ``header``, ``OUT/shards/manifest.json`` (written by a sharded run) gives it,
    and the truth and beliefs come from ``markdown``; without ``subgroups``, an
    ``OUT/subgroups.csv`` written after ``OUT/results.parquet`` (this run's) is shown.

    Every text of the user's in report.html (policy names, score labels, the Markdown summary
    and the table's cells and column labels) is HTML-escaped: a name is shown, never run.
    """
    out = Path(out_dir)
    context = _context_of(markdown)
    if header is None:
        header = ReportHeader.from_manifest(out / "shards" / "manifest.json", context) \
            or ReportHeader(context=context)
    context = header.context or context
    reference = _reference_of(summary, header)
    view = report_view(spec, header.env_id, header.scenario)
    if subgroups is None:
        subgroups = _subgroups_written(out, results)
    page = _page(results, summary, markdown, spec, view, header, reference, context,
                 subgroups, extra_figures)
    return [write_table(results, out / "results.csv"),
            write_table(summary.reset_index(), out / "summary.csv"),
            write_atomic(out / "summary.md", _text_writer(markdown)),
            write_atomic(out / "report.html", _text_writer(page))]


def _subgroups_written(out: Path, results: pd.DataFrame) -> pd.DataFrame | None:
    """``OUT/subgroups.csv`` if this run wrote it (newer than ``OUT/results.parquet``)."""
    table_path, results_path = out / "subgroups.csv", out / "results.parquet"
    try:
        if table_path.stat().st_mtime_ns < results_path.stat().st_mtime_ns:
            return None
        table = pd.read_csv(table_path, keep_default_na=False, na_values=[""])
    except (OSError, ValueError):
        return None
    needed = {"subgroup", "level", "n", "small", "policy", "score", "mean", "low", "high",
              "difference", "diff_low", "diff_high"}
    if not needed <= set(table.columns) or not set(table["policy"].astype(str)) <= set(
            results["policy"].astype(str)):
        return None
    table["small"] = table["small"].astype(str).str.lower().isin(("true", "1"))
    return table


def _figure_html(title: str, fig: Figure, caption: str = "") -> str:
    """A figure as an inline PNG; ``caption`` is HTML (escaped by the caller)."""
    return (f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,{_png(fig)}"/>'
            + (f"<figcaption>{caption}</figcaption>" if caption else "") + "</figure>")


def _page(results: pd.DataFrame, summary: pd.DataFrame, markdown: str, spec: OutcomeSpec,
          view: ReportView, header: ReportHeader, reference: str | None, context: str,
          subgroups: pd.DataFrame | None,
          extra_figures: Sequence[tuple[str, Figure]]) -> str:
    """The HTML page of :func:`write_report`."""
    esc = html.escape
    n = header.n_patients if header.n_patients is not None else int(results["id"].nunique())
    title = f"Paired evaluation: {header.env_id}" if header.env_id else "Paired evaluation"
    sections = [f"<header><h1>{esc(title)}</h1>"
                f'<p class="lead">{n} patients, each treated by every policy with the same '
                "noise; outcomes compared patient by patient.</p>"
                f"{_header_html(header, results, reference, context)}</header>"]
    ref_text = (f"Δ: paired difference to <em>{esc(reference)}</em> [95% CI], in bold where "
                "the interval excludes 0. " if reference is not None else "")
    clusters = ("Intervals resample parameter-uncertainty replicates, then patients within "
                "them. " if "replicate" in results.columns and results["replicate"].nunique() > 1
                else "Intervals: percentile bootstrap over patients. ")
    band = (f"Target band: {esc(view.band_label)}." if view.band_label else
            "This env has no target band for its level.")
    sections.append(f"<section><h2>Summary</h2>{summary_table(summary, view, reference)}"
                    f'<p class="note">Mean [95% CI] per patient. {ref_text}{clusters}'
                    "Units under each outcome.</p></section>")
    figures = report_figures(results, spec, view=view)
    captions = {
        0: f"Left: {esc(view.in_range_label)}. Middle: {esc(view.level_label)}, median and "
           f"interquartile range across patients. Right: mean dose. {band}",
        1: "Box: quartiles; whiskers: 1.5 IQR; diamond: mean; one box per policy.",
        2: "The same patients under each policy (paired). Lines: level after each step "
           "(left axis); bars (dashed lines where steps are many): dose given at the step's "
           "start (right axis).",
    }
    for k, (name, fig) in enumerate(figures):
        sections.append(f"<section><h2>{esc(name)}</h2>"
                        f"{_figure_html(name, fig, captions.get(k, ''))}</section>")
    if subgroups is not None and len(subgroups):
        small = ("Levels with few patients are marked small (shown, never hidden). "
                 if subgroups["small"].any() else "")
        sections.append(f"<section><h2>Subgroups</h2>"
                        f"{subgroup_html(subgroups, spec.scores, view, reference)}"
                        f'<p class="note">Mean [95% CI] within each level; Δ: paired difference '
                        f"to the reference. {small}</p></section>")
    for name, fig in extra_figures:
        sections.append(f"<section><h2>{esc(name)}</h2>{_figure_html(name, fig)}</section>")
    sections.append("<details><summary>summary.md (the same summary as Markdown)</summary>"
                    f"<pre>{esc(markdown)}</pre></details>")
    sections.append("<footer>Written by <code>pkgym evaluate</code>; per-patient rows in "
                    "results.csv, the summary in summary.csv and summary.md.</footer>")
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body><main>"
            + "".join(sections) + "</main></body></html>")


def _text_writer(text: str):  # noqa: ANN202
    def write(path: Path) -> None:
        path.write_text(text, encoding="utf-8")
    return write
