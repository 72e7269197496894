"""report.html a clinician-scientist can forward (issue 20, item 1).

A header naming what produced it, the summary as a table with units (not Markdown in a
``<pre>``), plots with units and legends, and each env's own target band: vancomycin
AUC24/MIC 400-600 (not a 10-20 mg/L trough), warfarin INR 2-3, none where the env has none;
ChemoImmune's action is a 0-1 infusion rate, not mg.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

import pkgym  # noqa: F401
from pkgym.evaluation.outcomes import OutcomeSpec, outcome_spec, report_view
from pkgym.evaluation.report import (
    ReportHeader,
    report_figures,
    summarise,
    summary_markdown,
    write_report,
)

VANCOMYCIN, WARFARIN = "pkgym/Vancomycin-v0", "pkgym/Warfarin-v0"
ENVS = (VANCOMYCIN, WARFARIN, "pkgym/ChemoImmune-v0", "pkgym/Chemotherapy-v0",
        "pkgym/Addiction-v0", "pkgym/Depression-v0", "pkgym/DoseFinding-v0")
LONG_NAME = "sb3:ppo_vancomycin_0383c29[shifted: default scenario -> renal.yaml]"


@functools.cache
def _spec(env_id: str) -> OutcomeSpec:
    return outcome_spec(gym.make(env_id).unwrapped.core)


def _results(spec: OutcomeSpec, policies: tuple[str, ...] = ("label", LONG_NAME),
             n: int = 6, steps: int = 5) -> pd.DataFrame:
    """Made-up per-patient rows with every step metric and score of ``spec``."""
    rng = np.random.default_rng(0)
    rows = [{"policy": policy, "id": i, "reads_hidden_state": policy == "oracle",
             **{f"{key}_{k}": float(rng.random()) for key in spec.step_metrics
                for k in range(steps)},
             **{score: float(rng.random()) for score in spec.scores}}
            for policy in policies for i in range(n)]
    return pd.DataFrame(rows)


def _page(tmp_path: Path, env_id: str, header: ReportHeader | None = None,
          **kwargs: object) -> str:
    spec = _spec(env_id)
    results = _results(spec)
    summary = summarise(results, "label", spec.scores, reps=50)
    markdown = summary_markdown(summary, "label", 6, "Truth: t (T), at its published "
                                "estimates.\nBeliefs:\n- label: model-free")
    header = ReportHeader(env_id=env_id, seed=7, n_patients=6) if header is None else header
    write_report(results, summary, markdown, tmp_path, spec, header=header, **kwargs)
    return (tmp_path / "report.html").read_text(encoding="utf-8")


def _text(page: str) -> str:
    """The page's visible text (tags dropped; figures are PNG, not text)."""
    return re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", page, flags=re.S))


def test_report__header_names_env_scenario_truth_cohort_seed_version_and_date(
        tmp_path: Path) -> None:
    """Everything needed to reproduce the run is at the top, before the summary."""
    page = _page(tmp_path, VANCOMYCIN)
    header = page[:page.index("<h2>Summary</h2>")]
    for field in ("Environment", "Scenario", "Truth", "Policies", "Cohort", "Seed",
                  "pkgym version", "Date"):
        assert f"<dt>{field}" in header, field
    assert VANCOMYCIN in header and "default scenario" in header
    assert "<dd>7</dd>" in header and "6 patients" in header
    assert metadata.version("pkgym") in header and "model-free" in header
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", header)


def test_report__summary_is_a_table_with_units_not_a_pre_block(tmp_path: Path) -> None:
    """Policy rows, one column per outcome with its unit, mean, CI and paired difference."""
    page = _page(tmp_path, VANCOMYCIN)
    summary = page[page.index("<h2>Summary</h2>"):page.index("</section>",
                                                              page.index("<h2>Summary"))]
    assert '<table class="summary">' in summary and "<pre" not in summary
    assert "fraction of dosing intervals, 0-1" in summary and "fraction of patients" in summary
    assert "share of steps in target" in summary
    assert summary.count('<th scope="row">') == 2 and "Δ" in summary and "reference" in summary
    # the Markdown is only in the folded summary.md copy at the end, wrapped
    assert page.index("<table") < page.index("<pre>") and "<details><summary>summary.md" in page
    assert "white-space: pre-wrap" in page and "max-width: 1200px" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page


@pytest.mark.parametrize(("env_id", "band", "absent"), [
    (VANCOMYCIN, "target AUC24/MIC 400–600 mg·h/L", "10–20"),
    (WARFARIN, "target INR 2–3", "AUC24"),
    ("pkgym/Addiction-v0", "has no target band", "Target band:"),
    ("pkgym/DoseFinding-v0", "has no target band", "Target band:"),
])
def test_report__each_env_shows_its_own_target_band(tmp_path: Path, env_id: str, band: str,
                                                    absent: str) -> None:
    """Vancomycin: AUC24/MIC 400-600 (not a 10-20 mg/L trough); warfarin: INR 2-3; none."""
    text = _text(_page(tmp_path, env_id))
    assert band in text and absent not in text


def test_report_view__vancomycin_band_follows_the_scenario_target_and_mic() -> None:
    """A scenario with MIC 2 and target 400-700 puts the AUC24 band at 800-1400 mg·h/L."""
    from pkgym.envs.vancomycin.clinic import VancomycinScenario

    view = report_view(_spec(VANCOMYCIN), VANCOMYCIN, VancomycinScenario(
        mic_mg_per_l=2.0, target_auc24_over_mic=(400.0, 700.0), interval_h=8.0))
    assert view.band == (800.0, 1400.0) and "MIC 2 mg/L" in str(view.band_label)
    assert view.step_size == 8.0 and "(h" in view.time_label


def test_report__chemo_immune_action_is_an_infusion_rate_not_mg(tmp_path: Path) -> None:
    """ChemoImmune's 0-1 action is labelled as an infusion rate everywhere, never mg."""
    spec = _spec("pkgym/ChemoImmune-v0")
    view = report_view(spec)
    assert "infusion rate" in view.dose_label and "0–1" in view.dose_label
    figures = dict(report_figures(_results(spec), spec, view=view))
    labels = [ax.get_ylabel() for fig in figures.values() for ax in fig.axes]
    assert any("infusion rate" in label for label in labels)
    assert not any("(mg)" in label for label in labels)
    assert "dose (mg)" not in _page(tmp_path, "pkgym/ChemoImmune-v0")


@pytest.mark.parametrize("env_id", ENVS)
def test_report_figures__axes_have_units_legends_and_horizontal_boxes(env_id: str) -> None:
    """Every drawn axis has an x label; the per-step and example figures have legends.

    The box plots run horizontally, long policy names wrapped, so that they do not overlap.
    """
    spec = _spec(env_id)
    figures = report_figures(_results(spec), spec)
    assert len(figures) == 3
    (_, per_step), (_, outcomes), (_, examples) = figures
    for fig in (per_step, outcomes):
        for ax in fig.axes:
            if ax.axison:
                assert ax.get_xlabel(), (env_id, ax.get_title())
    assert report_view(spec).time_label in [ax.get_xlabel() for ax in examples.axes]
    assert per_step.legends and examples.legends
    legend = [t.get_text() for t in examples.legends[0].get_texts()]
    assert "patient 0" in legend and any(("bars" in t or "dashed" in t) for t in legend)
    tick_labels = [t.get_text() for t in outcomes.axes[0].get_yticklabels()]
    assert "label" in tick_labels and all(len(line) <= 28 for t in tick_labels
                                          for line in t.splitlines())


def test_report__header_from_the_shard_manifest_when_none_is_given(tmp_path: Path) -> None:
    """``pkgym evaluate``'s OUT/shards/manifest.json gives env, scenario, seed and cohort."""
    (tmp_path / "shards").mkdir()
    (tmp_path / "shards" / "manifest.json").write_text(json.dumps({
        "kind": "evaluation", "env_id": WARFARIN, "seed": 11, "scenario": None,
        "n_patients": 6, "inputs": {"cohort my_cohort.csv": "ab" * 32}}))
    spec = _spec(WARFARIN)
    results = _results(spec)
    summary = summarise(results, "label", spec.scores, reps=50)
    write_report(results, summary, summary_markdown(summary, "label", 6), tmp_path, spec)
    text = _text((tmp_path / "report.html").read_text(encoding="utf-8"))
    assert WARFARIN in text and "11" in text and "file my_cohort.csv" in text
    assert "hamberg2010" in text  # the truth, from the env's default scenario
    assert "target INR 2–3" in text


def test_report__subgroups_are_a_table(tmp_path: Path) -> None:
    """With a subgroup table the report shows it, small levels flagged."""
    from pkgym.evaluation.subgroups import subgroup_table

    spec = _spec(VANCOMYCIN)
    results = _results(spec).assign(is_female=[0, 1] * 6)
    table = subgroup_table(results, ["sex"], ["is_female"], "label", list(spec.scores),
                           reps=50)
    text = _text(_page(tmp_path, VANCOMYCIN, subgroups=table))
    assert "Subgroups" in text and "female" in text and "small" in text


def test_report__the_same_content_as_summary_md(tmp_path: Path) -> None:
    """summary.md stays Markdown; report.html carries its text (escaped) in summary.md's fold."""
    page = _page(tmp_path, WARFARIN)
    markdown = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert markdown.startswith("Paired evaluation on 6 patients") and "| label |" in markdown
    import html

    assert html.escape(markdown) in page


@pytest.mark.slow
def test_report_screenshots__a_full_page_png_wider_than_1000_px(tmp_path: Path) -> None:
    """The vancomycin report as a full-page PNG from a real headless browser.

    ``python -m benchmarks.report_screenshots``; skipped where no browser is installed.
    """
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.report_screenshots", "--out", str(tmp_path),
         "--env", "vancomycin", "--n-patients", "8"], cwd=root, capture_output=True,
        text=True, check=False)
    if "no headless browser" in result.stderr:
        pytest.skip("no headless browser (apt-get install chromium, or playwright)")
    assert result.returncode == 0, result.stderr[-2000:]
    png = tmp_path / "vancomycin.png"
    header = png.read_bytes()[:24]
    width, height = (int.from_bytes(header[k:k + 4], "big") for k in (16, 20))
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and width > 1000 and height > 1500
