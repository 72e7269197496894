"""The simglucose 0.2.11 reference harness (``benchmarks/simglucose``) and its committed outputs.

The committed files are checked everywhere (pandas only). The tests that run simglucose
itself need ``.venv-simglucose`` (``bash benchmarks/simglucose/setup_venv.sh``) and are
skipped, with the reason, where it is absent: they re-run ``reference.py`` in a subprocess
and require the committed traces and basal-bolus table to come back digit for digit.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "benchmarks" / "simglucose"
REFERENCE = HERE / "reference"
VENV_PYTHON = ROOT / ".venv-simglucose" / "bin" / "python"
needs_venv = pytest.mark.skipif(
    not VENV_PYTHON.exists(), reason="no .venv-simglucose (benchmarks/simglucose/setup_venv.sh)"
)
PATIENTS = ("adult#001", "adolescent#001", "child#001")
MEALS_G = 50.0 + 70.0 + 80.0


def run_reference(*args: str) -> str:
    """Run ``reference.py`` in the simglucose venv; its stdout."""
    command = [str(VENV_PYTHON), str(HERE / "reference.py"), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def traces() -> pd.DataFrame:
    """The committed per-minute traces."""
    return pd.read_csv(REFERENCE / "traces_24h.csv")


@pytest.fixture(scope="module")
def bb_table() -> pd.DataFrame:
    """The committed 30-patient basal-bolus table."""
    return pd.read_csv(REFERENCE / "bb_tir_24h.csv")


def test_reference_files_are_small_and_complete() -> None:
    """The reference folder stays under 1 MB and holds the standard 3-meal scenario."""
    sizes = [p.stat().st_size for p in REFERENCE.iterdir()]
    assert sum(sizes) < 1_000_000
    assert json.loads((REFERENCE / "scenario.json").read_text()) == [
        [420, 50.0], [720, 70.0], [1080, 80.0]
    ]  # fmt: skip


def test_harness_imports_no_pkgym() -> None:
    """The harness runs in the simglucose venv, where pkgym is not installed."""
    source = (HERE / "reference.py").read_text()
    assert "import pkgym" not in source and "from pkgym" not in source


def test_traces_shape_meals_and_start(traces: pd.DataFrame) -> None:
    """Three patients, minutes 0-1440, 200 g eaten at 5 g/min, steady start."""
    assert tuple(traces.patient.unique()) == PATIENTS
    for _, one in traces.groupby("patient"):
        assert list(one.minute) == list(range(1441))
        first = one.iloc[0]
        assert first.bg_mg_dl == pytest.approx(first.gsub_mg_dl)  # steady state at t = 0
        assert one.cho_eaten_g.sum() == pytest.approx(MEALS_G)
        assert one.cho_eaten_g.max() == pytest.approx(5.0)  # simglucose eats 5 g/min
        eaten = one.cho_eaten_g.to_numpy()[419:431]
        np.testing.assert_allclose(eaten, [0.0] + [5.0] * 10 + [0.0])  # 50 g from 7:00
        assert one.bg_mg_dl.iloc[480] > one.bg_mg_dl.iloc[420] + 5  # breakfast raises glucose


def test_traces_insulin_is_basal_plus_meal_boluses(traces: pd.DataFrame) -> None:
    """Open-loop insulin: a flat basal plus one carbs/CR bolus minute per meal."""
    for _, one in traces.groupby("patient"):
        rate = one.insulin_u_per_min.to_numpy()[:1440]
        basal = np.median(rate)
        boluses = rate[[420, 720, 1080]] - basal
        np.testing.assert_allclose(boluses / boluses.sum(), np.array([50, 70, 80]) / MEALS_G)
        assert np.count_nonzero(rate != basal) == 3


def test_bb_table_has_30_patients_and_consistent_percentages(bb_table: pd.DataFrame) -> None:
    """Thirty patients, 480 Dexcom samples each, TBR + TIR + TAR = 100 %."""
    assert len(bb_table) == 30 and bb_table.patient.is_unique
    total = bb_table.tir_70_180_pct + bb_table.tbr_lt70_pct + bb_table.tar_gt180_pct
    np.testing.assert_allclose(total, 100.0, atol=1e-3)
    assert (bb_table.n_samples == 480).all() and (bb_table.sample_min == 3).all()
    np.testing.assert_allclose(bb_table.cho_g, MEALS_G, rtol=1e-6)


@needs_venv
def test_traces_reproduce_committed_reference(tmp_path: Path, traces: pd.DataFrame) -> None:
    """Re-running adult#001 to 7:30 gives the committed rows (breakfast included)."""
    out = tmp_path / "t.csv"
    run_reference("traces", "--patients", "adult#001", "--hours", "7.5", "--out", str(out))
    fresh = pd.read_csv(out)
    committed = traces[traces.patient == "adult#001"].iloc[:451].reset_index(drop=True)
    pd.testing.assert_frame_equal(fresh.iloc[:450], committed.iloc[:450], rtol=1e-6)
    np.testing.assert_allclose(fresh.iloc[450, 4:], committed.iloc[450, 4:], rtol=1e-6)


@needs_venv
def test_bb_tir_reproduces_committed_row(tmp_path: Path, bb_table: pd.DataFrame) -> None:
    """Re-running adult#001's 24 h basal-bolus loop gives the committed row."""
    out = tmp_path / "bb.csv"
    run_reference("bb-tir", "--patients", "adult#001", "--out", str(out))
    fresh = pd.read_csv(out).iloc[0]
    committed = bb_table.set_index("patient").loc["adult#001"]
    for column in ("tir_70_180_pct", "mean_bg_mg_dl", "insulin_u", "risk"):
        assert fresh[column] == pytest.approx(committed[column], rel=1e-5), column


@needs_venv
def test_throughput_reports_env_and_patient_rates() -> None:
    """The throughput command prints the load and a JSON report of both rates."""
    stdout = run_reference("throughput", "--patients", "1", "--minutes", "30")
    report = json.loads(stdout[stdout.index("{") : stdout.rindex("}") + 1])
    assert report["simglucose"] == "0.2.11" and report["env_sample_min"] == 3.0
    assert report["env_steps_per_s"] > 0 and report["patient_1min_steps_per_s"] > 0
    assert stdout.startswith("loadavg")
