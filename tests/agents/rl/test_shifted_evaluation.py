"""A trained agent under another scenario: a "shifted" evaluation, or refused (other spaces)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pkgym import cli

MODEL = Path(__file__).parents[2] / "data" / "ppo_vancomycin_0383c29" / "model.zip"
SCENARIOS = Path(__file__).parents[3] / "scenarios"


def _evaluate(out: Path, scenario: Path) -> int:
    return cli.main(["evaluate", "--env", "pkgym/Vancomycin-v0", "--policy", "label",
                     "--policy", f"sb3:{MODEL}", "--scenario", str(scenario),
                     "--n-patients", "12", "--seed", "3", "--out", str(out)])


def test_shifted_evaluation__same_spaces_runs_and_says_shifted(tmp_path: Path) -> None:
    """Trained under the defaults, evaluated on renally impaired patients: named shifted."""
    scenario = tmp_path / "renal.yaml"
    scenario.write_text("env: pkgym/Vancomycin-v0\npopulation: renal_impairment\n")
    assert _evaluate(tmp_path / "out", scenario) == 0
    results = pd.read_csv(tmp_path / "out" / "results.csv")
    assert set(results["policy"]) == {
        "label", "sb3:ppo_vancomycin_0383c29[shifted: default scenario -> renal.yaml]"}
    assert "shifted: default scenario -&gt; renal.yaml" in (
        tmp_path / "out" / "report.html").read_text()


def test_shifted_evaluation__other_spaces_are_refused_naming_the_keys(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Six levels per course instead of two: the observation differs; one line, exit 2."""
    assert _evaluate(tmp_path / "out", SCENARIOS / "vancomycin_renal_impairment.yaml") == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "a shifted evaluation needs the model's spaces" in error
    assert "level_mask: (6,) vs the model's (2,)" in error
    assert not (tmp_path / "out").exists()
