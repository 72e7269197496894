"""The ``pkgym validate`` report: files, verdict, escaping and the VPC figure."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pkgym.validation.report import verdict, vpc_figure, vpc_summary, write_report
from pkgym.validation.targets import Panel, Target, ValidationResult

EVIL = "<script>alert('x')</script>"
GROUPS = ("G/G", "G/A", "A/A")


def _panel(log_scale: bool = False) -> Panel:
    """Three groups (first seen G/G, G/A, A/A), 30 observed each, 4 replicates of 50 each."""
    rng = np.random.default_rng(0)
    means = {"G/G": 6.0, "G/A": 4.5, "A/A": 3.0}
    observed = pd.DataFrame([{"group": g, "value": rng.lognormal(np.log(means[g]), 0.3)}
                             for g in GROUPS for _ in range(30)])
    simulated = pd.DataFrame([{"group": g, "value": rng.lognormal(np.log(means[g]), 0.3),
                               "replicate": r} for r in range(4) for g in GROUPS
                              for _ in range(50)])
    return Panel(title="Stable dose by VKORC1", unit="mg/day", observed=observed,
                 simulated=simulated, log_scale=log_scale)


def _result() -> ValidationResult:
    """One passing, one failing and one reported target, a panel, a table and an evil note."""
    targets = (
        Target(model="warfarin", name="median dose (mg/day)", observed=5.0, simulated=5.2,
               rule="relative", tolerance=0.10, source="IWPC, training", split="training",
               n_observed=3000),
        Target(model="warfarin", name="share with INR in range", observed=0.6, simulated=0.9,
               rule="absolute", tolerance=0.05, source="Paper 2009, Table 2"),
        Target(model="warfarin", name="mean age (years)", observed=60.0, simulated=61.0,
               rule="report", tolerance=math.nan, source="IWPC"),
    )
    table = pd.DataFrame({"group": list(GROUPS), "median_mg_per_day": [6.0, 4.5, 3.0]})
    return ValidationResult(model="warfarin", title="Warfarin against IWPC", targets=targets,
                            panels=(_panel(),), tables={"dose by genotype": table},
                            notes=(f"A note with {EVIL} in it.",))


def test_write_report__writes_markdown_html_csv_figures_and_tables(tmp_path: Path) -> None:
    """validation.md/.html, targets.csv, one PNG per panel and one CSV per table are written."""
    path = write_report([_result()], tmp_path / "out")
    out = tmp_path / "out"
    assert path == out / "validation.md"
    assert (out / "validation.html").is_file()
    targets = pd.read_csv(out / "targets.csv")
    assert targets["passed"].tolist() == ["pass", "FAIL", "report"]
    figures = sorted((out / "figures").glob("*.png"))
    assert len(figures) == 1 and figures[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = pd.read_csv(out / "tables" / "warfarin_dose_by_genotype.csv")
    assert table["median_mg_per_day"].tolist() == [6.0, 4.5, 3.0]
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_write_report__markdown_has_the_verdict_and_the_failed_target(tmp_path: Path) -> None:
    """The first line after the heading is the verdict; the table marks FAIL and % differences."""
    markdown = write_report([_result()], tmp_path).read_text()
    assert "**1 of 2 targets met; 1 failed: warfarin: share with INR in range**" in markdown
    row = next(line for line in markdown.splitlines() if line.startswith("| share with INR"))
    assert "| FAIL |" in row and "+0.3" in row and "±0.05" in row
    relative = next(line for line in markdown.splitlines() if line.startswith("| median dose"))
    assert "+4%" in relative and "±10%" in relative and "| 3000 |" in relative
    assert "## Warfarin against IWPC" in markdown and "](figures/" in markdown


def test_write_report__html_escapes_text_from_data(tmp_path: Path) -> None:
    """A ``<script>`` in a note is shown escaped; the page has a real table, rows coloured."""
    write_report([_result()], tmp_path)
    page = (tmp_path / "validation.html").read_text()
    assert "<script" not in page and "&lt;script&gt;alert(" in page
    assert page.count("<table>") == 1 and "<tr class='fail'>" in page
    assert "<img src='figures/" in page and "<h2>Warfarin against IWPC</h2>" in page


def test_write_report__no_file_is_written_when_rendering_fails(tmp_path: Path) -> None:
    """A panel without observed values fails before any file exists."""
    empty = Panel(title="t", unit="mg", observed=pd.DataFrame({"group": [], "value": []}),
                  simulated=_panel().simulated)
    bad = ValidationResult(model="m", title="M", targets=_result().targets, panels=(empty,))
    with pytest.raises(ValueError, match="no observed values"):
        write_report([_result(), bad], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_verdict__all_met_says_none_failed() -> None:
    """Reported-only targets are not counted; no failure reads 'none failed'."""
    passing = ValidationResult(model="m", title="M", targets=_result().targets[::2])
    assert verdict([passing]) == "1 of 1 targets met; none failed"


def test_vpc_summary__percentiles_per_group_in_observed_order() -> None:
    """Observed percentiles equal numpy's; simulated medians lie inside their 95% range."""
    panel = _panel()
    summary = vpc_summary(panel)
    assert list(pd.unique(summary["group"])) == list(GROUPS)
    assert summary["n_observed"].tolist() == [30] * 9
    values = panel.observed.loc[panel.observed["group"] == "G/A", "value"]
    np.testing.assert_allclose(summary.loc[summary["group"] == "G/A", "observed"],
                               np.percentile(values, [5, 50, 95]))
    assert (summary["simulated_low"] <= summary["simulated_median"]).all()
    assert (summary["simulated_median"] <= summary["simulated_high"]).all()


def test_vpc_figure__one_tick_per_group_a_legend_and_log_axis() -> None:
    """Three groups labelled with their n, a legend for observed and simulated, log when asked."""
    ax = vpc_figure(_panel(log_scale=True)).axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == [f"{g}\n(n=30)" for g in GROUPS]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "observed P50" in legend and any("4 replicates" in t for t in legend)
    assert ax.get_yscale() == "log" and "mg/day" in ax.get_ylabel()
