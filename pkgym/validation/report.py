"""The report of ``pkgym validate``: Markdown, HTML, CSV tables and VPC figures.

:func:`write_report` turns :class:`~pkgym.validation.targets.ValidationResult` objects into
``validation.md``, ``validation.html`` (figures as PNG files in ``figures/``), ``targets.csv``
and one CSV per extra table in ``tables/``. Everything is rendered in memory first and every
file is written atomically (:mod:`pkgym.io`): an error leaves no half-written file.
"""

from __future__ import annotations

import html
import io
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pkgym.io import write_atomic, write_table, write_text
from pkgym.utils import plain_label
from pkgym.validation.targets import Panel, Target, ValidationResult

PERCENTILES = (5.0, 50.0, 95.0)
"""The percentiles of a VPC panel, observed and per simulated replicate."""
PREDICTION_INTERVAL = (2.5, 97.5)
"""The spread of a simulated percentile across replicates that a VPC panel draws."""
COLUMNS = ("target", "split", "n", "observed", "simulated", "difference", "tolerance", "result",
           "source")
"""The columns of the target table in validation.md and validation.html."""
_STYLE = ("body{font-family:sans-serif;max-width:72em;margin:auto}table{border-collapse:collapse}"
          "td,th{border:1px solid #ccc;padding:.2em .5em}tr.pass td.result{background:#d4edda}"
          "tr.fail td{background:#f8d7da}tr.report td.result{color:#666}")


@dataclass(frozen=True, slots=True)
class _Rendered:
    """One result's files, rendered in memory: figures (relative path, title, PNG) and tables."""

    result: ValidationResult
    figures: tuple[tuple[str, str, bytes], ...]
    tables: tuple[tuple[str, str, pd.DataFrame], ...]


def vpc_summary(panel: Panel) -> pd.DataFrame:
    """Observed percentiles and the simulated percentiles' median and 95% range, per group.

    Groups are in the order they first appear in ``panel.observed``; a simulated percentile is
    computed per replicate, then summarised across replicates (median, 2.5th and 97.5th
    percentiles: the VPC's prediction interval of the percentile).

    Returns:
        One row per (group, percentile): ``group``, ``n_observed``, ``percentile``,
        ``observed``, ``simulated_median``, ``simulated_low``, ``simulated_high`` (``nan``
        where a group has no simulated values).

    Examples:
        >>> obs = pd.DataFrame({"group": ["a", "a", "b"], "value": [1.0, 3.0, 5.0]})
        >>> sim = pd.DataFrame({"group": ["a", "a", "b", "b"], "value": [1.0, 3.0, 4.0, 6.0],
        ...                     "replicate": [0, 1, 0, 1]})
        >>> table = vpc_summary(Panel(title="t", unit="mg", observed=obs, simulated=sim))
        >>> table.loc[table["percentile"] == 50, ["group", "n_observed", "observed",
        ...                                       "simulated_median"]].values.tolist()
        [['a', 2, 2.0, 2.0], ['b', 1, 5.0, 5.0]]
    """
    observed, simulated = panel.observed, panel.simulated
    if observed.empty:
        raise ValueError(f"panel {panel.title!r} has no observed values")
    groups = list(pd.unique(observed["group"].astype(str)))
    quantiles = [p / 100 for p in PERCENTILES]
    obs = observed.groupby(observed["group"].astype(str))["value"]
    per_replicate = (simulated.groupby([simulated["group"].astype(str), "replicate"])["value"]
                     .quantile(quantiles).unstack())  # (group, replicate) x quantile
    rows = []
    for group in groups:
        obs_values = obs.get_group(group).to_numpy(np.float64)
        sims = (per_replicate.xs(group, level=0).to_numpy(np.float64)
                if group in per_replicate.index.get_level_values(0)
                else np.full((1, len(quantiles)), np.nan))
        for k, percentile in enumerate(PERCENTILES):
            low, median, high = _spread(sims[:, k])
            rows.append({"group": group, "n_observed": len(obs_values), "percentile": percentile,
                         "observed": float(np.percentile(obs_values, percentile)),
                         "simulated_median": median, "simulated_low": low,
                         "simulated_high": high})
    return pd.DataFrame(rows)


def _spread(values: np.ndarray) -> tuple[float, float, float]:
    """Low, median and high (:data:`PREDICTION_INTERVAL`) of finite values, or ``nan``."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return math.nan, math.nan, math.nan
    low, median, high = np.percentile(values, (PREDICTION_INTERVAL[0], 50.0,
                                               PREDICTION_INTERVAL[1]))
    return float(low), float(median), float(high)


def vpc_figure(panel: Panel) -> Figure:
    r"""A VPC of one panel: observed percentiles and simulated percentiles' 95% range, by group.

    Observed 5th/50th/95th percentiles are open markers; the median across replicates of each
    simulated percentile is a filled marker with an error bar spanning 2.5%-97.5% across
    replicates. The figure uses no pyplot (no global state, no GUI backend): nothing to close.

    Examples:
        >>> obs = pd.DataFrame({"group": ["b", "a", "a"], "value": [1.0, 2.0, 3.0]})
        >>> sim = pd.DataFrame({"group": ["a", "b"] * 2, "value": [2.0, 1.0, 2.5, 1.5],
        ...                     "replicate": [0, 0, 1, 1]})
        >>> fig = vpc_figure(Panel(title="t", unit="mg", observed=obs, simulated=sim))
        >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
        ['b\n(n=1)', 'a\n(n=2)']
    """
    summary = vpc_summary(panel)
    groups = list(pd.unique(summary["group"]))
    counts = summary.drop_duplicates("group")["n_observed"].tolist()
    fig = Figure(figsize=(max(7.0, 1.4 * len(groups) + 2.0), 5.6), dpi=100)
    ax = fig.subplots()
    x = np.arange(len(groups), dtype=np.float64)
    n_replicates = panel.simulated["replicate"].nunique()
    styles = zip(PERCENTILES, ("v", "o", "^"), ("tab:blue", "tab:red", "tab:blue"), strict=True)
    for percentile, marker, colour in styles:
        rows = summary[summary["percentile"] == percentile]
        median = rows["simulated_median"].to_numpy()
        errors = np.vstack([median - rows["simulated_low"].to_numpy(),
                            rows["simulated_high"].to_numpy() - median])
        label = f"P{percentile:g}"
        ax.errorbar(x + 0.12, median, yerr=errors, fmt=marker, color=colour, capsize=4,
                    label=f"simulated {label} (median, 95% range of {n_replicates} replicates)")
        ax.plot(x - 0.12, rows["observed"].to_numpy(), marker=marker, linestyle="none",
                color="black", markerfacecolor="none", label=f"observed {label}")
    ax.set_xticks(x, [f"{plain_label(g)}\n(n={n})" for g, n in zip(groups, counts, strict=True)])
    ax.set_xlim(-0.6, len(groups) - 0.4)
    if panel.log_scale:
        ax.set_yscale("log")
    ax.set(ylabel=plain_label(f"value ({panel.unit})"), title=plain_label(panel.title))
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize="small", ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    fig.tight_layout()
    return fig


def verdict(results: Sequence[ValidationResult]) -> str:
    """One line: how many targets with a rule are met, and which failed.

    Examples:
        >>> ok = Target(model="m", name="a", observed=1.0, simulated=1.0, rule="absolute",
        ...             tolerance=0.1, source="s")
        >>> bad = Target(model="m", name="b", observed=1.0, simulated=2.0, rule="absolute",
        ...              tolerance=0.1, source="s")
        >>> verdict([ValidationResult(model="m", title="M", targets=(ok, bad))])
        '1 of 2 targets met; 1 failed: m: b'
    """
    checked = [t for r in results for t in r.targets if t.passed is not None]
    failed = [f"{t.model}: {t.name}" for r in results for t in r.failed]
    met = len(checked) - len(failed)
    tail = f"{len(failed)} failed: " + "; ".join(failed) if failed else "none failed"
    return f"{met} of {len(checked)} targets met; {tail}"


def target_cells(target: Target) -> dict[str, str]:
    """A target's row of the report's table, as text (:data:`COLUMNS`).

    Examples:
        >>> row = target_cells(Target(model="m", name="x", observed=4.0, simulated=4.2,
        ...                           rule="relative", tolerance=0.1, source="s"))
        >>> row["difference"], row["tolerance"], row["result"]
        ('+5%', '±10%', 'pass')
    """
    relative = target.rule == "relative"
    difference = (_number(100 * target.difference, sign=True) + "%" if relative
                  else _number(target.difference, sign=True))
    tolerance = {"relative": f"±{_number(100 * target.tolerance)}%",
                 "absolute": f"±{_number(target.tolerance)}",
                 "at_most": f"at most +{_number(target.tolerance)}",
                 "report": "—"}[target.rule]
    return {"target": target.name, "split": target.split,
            "n": "" if target.n_observed is None else str(target.n_observed),
            "observed": _number(target.observed), "simulated": _number(target.simulated),
            "difference": difference, "tolerance": tolerance,
            "result": {True: "pass", False: "FAIL", None: "report"}[target.passed],
            "source": target.source}


def _number(value: float, *, sign: bool = False) -> str:
    """``value`` to 3 significant digits (whole numbers from 1000 on); ``nan``/``inf`` as such.

    Examples:
        >>> _number(3.14159), _number(12345.6), _number(-0.000123), _number(0.5, sign=True)
        ('3.14', '12346', '-0.000123', '+0.5')
    """
    if not math.isfinite(value):
        return str(value)
    text = f"{value:.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    return f"+{text}" if sign and value >= 0 and not text.startswith("-") else text


def _slug(text: str) -> str:
    """``text`` as a safe file-name part.

    Examples:
        >>> _slug("median dose (mg/day)")
        'median_dose_mg_day'
    """
    return re.sub(r"[^A-Za-z0-9.-]+", "_", text).strip("_.") or "x"


def _cell(text: object) -> str:
    r"""``text`` as one Markdown table cell: ``|`` escaped, line breaks as spaces.

    Examples:
        >>> _cell("a|b\nc")
        'a\\|b c'
    """
    return " ".join(str(text).replace("|", "\\|").splitlines())


def _bytes_writer(data: bytes) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_bytes(data)
    return write


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def _render(results: Sequence[ValidationResult]) -> list[_Rendered]:
    """Every figure and table of ``results``, with the relative paths they will have."""
    rendered, paths = [], set()
    for index, result in enumerate(results):
        stem = _slug(result.model)
        figures = tuple((f"figures/{stem}_{index + 1}_vpc{k + 1}.png", panel.title,
                         _png(vpc_figure(panel))) for k, panel in enumerate(result.panels))
        tables = tuple((f"tables/{stem}_{_slug(name)}.csv", name, table)
                       for name, table in result.tables.items())
        for path, _, _ in tables:
            if path in paths:
                raise ValueError(f"two tables would both be written to {path}: give the "
                                 f"results' models or tables distinct names")
            paths.add(path)
        rendered.append(_Rendered(result, figures, tables))
    return rendered


def _markdown(rendered: Sequence[_Rendered], line: str) -> str:
    """validation.md: the verdict, then per result its notes, targets, figures and tables."""
    parts = ["# pkgym validation", "", f"**{_cell(line)}**", ""]
    for item in rendered:
        parts += [f"## {_cell(item.result.title)}", ""]
        for note in item.result.notes:
            parts += [" ".join(note.splitlines()), ""]
        parts += ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        parts += ["| " + " | ".join(_cell(v) for v in target_cells(t).values()) + " |"
                  for t in item.result.targets]
        parts.append("")
        parts += [f"![{_cell(title)}]({path})\n" for path, title, _ in item.figures]
        if item.tables:
            parts += ["Tables: " + ", ".join(f"[{_cell(name)}]({path})"
                                             for path, name, _ in item.tables), ""]
    return "\n".join(parts)


def _html(rendered: Sequence[_Rendered], line: str) -> str:
    """validation.html: the Markdown's content as HTML; every text from data escaped."""
    esc = html.escape
    body = [f"<h1>pkgym validation</h1><p class='verdict'><strong>{esc(line)}</strong></p>"]
    for item in rendered:
        body.append(f"<h2>{esc(item.result.title)}</h2>")
        body += [f"<p>{esc(note)}</p>" for note in item.result.notes]
        head = "".join(f"<th>{esc(c)}</th>" for c in COLUMNS)
        rows = []
        for target in item.result.targets:
            cells = target_cells(target)
            status = {"pass": "pass", "FAIL": "fail", "report": "report"}[cells["result"]]
            rows.append(f"<tr class='{status}'>" + "".join(
                f"<td class='{esc(k)}'>{esc(v)}</td>" for k, v in cells.items()) + "</tr>")
        body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
                    "</table>")
        body += [f"<h3>{esc(title)}</h3><img src='{esc(path)}' alt='{esc(title)}'/>"
                 for path, title, _ in item.figures]
        if item.tables:
            links = ", ".join(f"<a href='{esc(path)}'>{esc(name)}</a>"
                              for path, name, _ in item.tables)
            body.append(f"<p>Tables: {links}</p>")
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>pkgym validation</title>"
            f"<style>{_STYLE}</style></head><body>{''.join(body)}</body></html>\n")


def write_report(results: Sequence[ValidationResult], out_dir: str | os.PathLike) -> Path:
    """Write validation.md, validation.html, targets.csv, figures/ and tables/ into ``out_dir``.

    Everything is rendered before the first file is written, and each file is written
    atomically: an error leaves complete files or none.

    Returns:
        The path of validation.md.

    Examples:
        >>> import tempfile
        >>> t = Target(model="m", name="x", observed=1.0, simulated=1.0, rule="report",
        ...            tolerance=math.nan, source="s")
        >>> path = write_report([ValidationResult(model="m", title="M", targets=(t,))],
        ...                     tempfile.mkdtemp())
        >>> path.read_text().splitlines()[2]
        '**0 of 0 targets met; none failed**'
    """
    if not results:
        raise ValueError("write_report needs at least one validation result")
    out = Path(out_dir)
    rendered = _render(results)
    line = verdict(results)
    markdown, page = _markdown(rendered, line), _html(rendered, line)
    targets = pd.concat([r.target_table() for r in results], ignore_index=True)
    for item in rendered:
        for path, _, png in item.figures:
            write_atomic(out / path, _bytes_writer(png))
        for path, _, table in item.tables:
            write_table(table, out / path)
    write_table(targets, out / "targets.csv")
    write_text(page, out / "validation.html")
    return write_text(markdown, out / "validation.md")
