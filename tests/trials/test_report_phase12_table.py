"""`pkgym trial --design boin12`: phase I/II designs on efficacy-toxicity scenarios, one table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from pkgym.cli import main
from pkgym.trials.phase12_simulation import (
    Phase12Scenario,
    phase12_operating_characteristics,
    simulate_phase12_trials,
)
from pkgym.trials.report import PHASE12_FAMILIES

TRUTH = {"true_dlt_probabilities": [0.05, 0.10, 0.30, 0.50],
         "true_efficacy_probabilities": [0.10, 0.40, 0.50, 0.55],
         "target_dlt_rate": 0.35, "min_efficacy_rate": 0.25, "max_sample_size": 24}
"""Our choice of truth (OBD level 2, MTD level 3), for the command's plumbing."""


def _trial(*args: str) -> int:
    try:
        return main(["trial", "--quiet", *args])
    except SystemExit as done:
        return int(done.code or 0)


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    """The truth as a phase I/II scenario YAML."""
    path = tmp_path / "p12.yaml"
    path.write_text(yaml.safe_dump(TRUTH))
    return path


def test_cli__boin12_rows_are_the_library_numbers_in_any_chunking(
        scenario_file: Path, tmp_path: Path) -> None:
    """Two BOIN12 specs give one row each, the same in any chunking and as the library's.

    Shards of 7 and of 1000 trials give the numbers of phase12_operating_characteristics on
    one call.
    """
    tables = []
    for shard in ("7", "1000"):
        out = tmp_path / f"s{shard}"
        assert _trial("--design", "boin12", "--design", "boin12:n_earlystop=12", "--scenario",
                      str(scenario_file), "--n-trials", "40", "--seed", "2", "--shard-size",
                      shard, "--out", str(out)) == 0
        tables.append(pd.read_csv(out / "phase12_oc_table.csv"))
    pd.testing.assert_frame_equal(tables[0], tables[1])
    truth = Phase12Scenario(**TRUTH)  # type: ignore[arg-type]
    oc = phase12_operating_characteristics(
        simulate_phase12_trials(truth.design(), truth, 40, seed=2), truth)
    row = tables[0].set_index("design").loc["boin12"]
    assert row["correct_obd_percent"] == pytest.approx(oc["percent_correct_selection"])
    assert row["true_obd"] == 2 and row["true_mtd"] == 3
    assert [row[f"patients_L{j}"] for j in range(1, 5)] == pytest.approx(
        oc["mean_patients_per_dose"])
    text = (tmp_path / "s7" / "phase12_oc_table.md").read_text()
    assert "| p12 | boin12:n_earlystop=12 |" in text and "L2 (OBD)" in text
    assert set(PHASE12_FAMILIES) == {"boin12"}


@pytest.mark.parametrize(("args", "words"), [
    (["--design", "boin12", "--design", "boin"], ["without phase I designs"]),
    (["--design", "boin12", "--pathways", "2"], ["--pathways apply only to phase I"]),
    (["--design", "boin12:c_t=2"], ["toxicity_cutoff must be in [0.5, 1)"]),
])
def test_cli__boin12_refusals_exit_2_before_any_run(
        scenario_file: Path, tmp_path: Path, args: list[str], words: list[str],
        capsys: pytest.CaptureFixture) -> None:
    """Mixed with phase I designs, with phase I tables, or a bad option: exit 2, nothing."""
    out = tmp_path / "x"
    code = _trial(*args, "--scenario", str(scenario_file), "--n-trials", "5", "--out", str(out))
    err = capsys.readouterr().err
    assert code == 2 and all(word in err for word in words), err
    assert not out.exists()
