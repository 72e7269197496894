"""benchmarks.offline: every stage on tiny sizes, and its summary against hand-made rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks import offline


def test_summary_counts_undefined_estimates_and_scores_the_rest() -> None:
    """Mean |error| over defined targets, coverage, undefined, the behaviour's own error."""
    rows = []
    for policy, truth, estimate, covered in (("behaviour", -10.0, -11.0, True),
                                              ("label", -20.0, np.nan, False),
                                              ("trough", -5.0, -2.0, False)):
        rows.append({"env_id": "e", "n_patients": 10, "estimator": "wis", "policy": policy,
                     "estimate": estimate, "true_value": truth, "error": estimate - truth,
                     "covered": covered, "ope_s": 1.0})
    summary = offline.ope_summary(pd.DataFrame(rows)).iloc[0]
    assert summary["undefined"] == 1 and summary["targets"] == 3
    assert summary["abs_error"] == pytest.approx(2.0)  # (1 + 3) / 2
    assert summary["relative_abs_error"] == pytest.approx((0.1 + 0.6) / 2)
    assert summary["coverage"] == pytest.approx(0.5)
    assert summary["behaviour_abs_error"] == pytest.approx(1.0)
    assert np.isnan(summary["spearman"])  # an undefined estimate: no ranking


@pytest.mark.slow  # trimmed from the default suite (10-minute budget); -m slow runs it
def test_quick_run_writes_every_table(tmp_path) -> None:
    """--quick on vancomycin: OPE rows for every target and estimator, learned policies paired."""
    offline.main(["--quick", "--envs", "pkgym/Vancomycin-v0", "--algos", "bc",
                  "--skip", "throughput", "--out", str(tmp_path)])
    ope = pd.read_csv(tmp_path / "ope.csv")
    assert set(ope["policy"]) == set(offline.TARGETS["pkgym/Vancomycin-v0"])
    assert (ope.loc[ope["policy"] == "behaviour", "true_value"].notna()).all()
    means = pd.read_csv(tmp_path / "offline_rl.csv")
    assert "offline:bc:bc-s0" in set(means["policy"])
    paired = pd.read_csv(tmp_path / "offline_rl_paired.csv")
    assert set(paired["reference"]) == {"label", "map_bayesian"}
    assert not (tmp_path / "throughput.csv").exists()  # skipped (tests/agents: its own test)
    report = (tmp_path / "report.md").read_text()
    assert "| map |" in report and "offline:bc:bc-s0" in report
