"""User text in report.html is HTML-escaped (issue 17, defect 12).

Policy names come from the user (a ``module:callable`` spec, a class's ``name``): the report
shows them, never runs them. The Markdown summary keeps its table columns whatever the name.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import pkgym  # noqa: F401
from pkgym.evaluation.evaluate import evaluate
from pkgym.evaluation.outcomes import VANCOMYCIN_OUTCOMES
from pkgym.evaluation.report import summarise, summary_markdown, write_report
from pkgym.populations.vancomycin import ADULT_INPATIENTS

ENV_ID = "pkgym/Vancomycin-v0"
EVIL = "<script>alert('x')</script>|$\\frac$ & <b>"


def _report(tmp_path: Path, fixed_dose, reference: str) -> tuple[str, str]:  # noqa: ANN001
    """report.html and summary.md of two policies, one of them named :data:`EVIL`."""
    cohort = ADULT_INPATIENTS.sample(3, seed=1)
    results = evaluate([fixed_dose(1000.0, "plain"), fixed_dose(750.0, EVIL)], ENV_ID, cohort, 1)
    scores = {**VANCOMYCIN_OUTCOMES.scores, "return": "<i>return</i>"}
    summary = summarise(results, reference, scores, reps=50)
    markdown = summary_markdown(summary, reference, 3)
    write_report(results, summary, markdown, tmp_path, VANCOMYCIN_OUTCOMES)
    return (tmp_path / "report.html").read_text(), (tmp_path / "summary.md").read_text()


def test_report__html_in_a_policy_name_is_escaped(tmp_path: Path, fixed_dose) -> None:  # noqa: ANN001
    """The name is shown escaped in the summary and the table; no tag of it reaches the page."""
    page, _ = _report(tmp_path, fixed_dose, EVIL)
    assert "<script" not in page and "<b>" not in page and "<i>" not in page
    assert page.count("&lt;script&gt;alert(") >= 2  # the Markdown summary and the table
    assert "&lt;i&gt;return&lt;/i&gt;" in page
    assert page.count("<pre>") == 1 and page.count("<table") == 1


def test_report__a_bar_in_a_policy_name_keeps_the_markdown_table(tmp_path: Path,
                                                                 fixed_dose) -> None:  # noqa: ANN001
    """``|`` in a name is escaped in summary.md: every row has the header's number of cells."""
    _, markdown = _report(tmp_path, fixed_dose, "plain")
    rows = [line for line in markdown.splitlines() if line.startswith("|")]
    cells = {len(line.replace("\\|", "").split("|")) for line in rows}
    assert len(cells) == 1 and any("\\|" in line for line in rows)
    assert pd.read_csv(tmp_path / "results.csv")["policy"].tolist()[-1] == EVIL
