"""The ``pkgym`` console script, run for real in a subprocess with tiny budgets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

TWO_CMT = ["two-compartment", "--param", "CL=4.5", "--param", "V1=58.4", "--param", "Q2=6.5",
           "--param", "V2=38.4"]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """Run ``python -m pkgym.cli`` with the given arguments."""
    return subprocess.run([sys.executable, "-m", "pkgym.cli", *args], capture_output=True,
                          text=True, check=False)


def test_simulate__typical_csv_matches_closed_form(tmp_path: Path) -> None:
    """A one-compartment bolus of 500 mg (CL 5, V 50) gives C = 10 exp(-0.1 t) in the CSV."""
    out = tmp_path / "typical.csv"
    result = run_cli("simulate", "one-compartment", "--param", "CL=5", "--param", "V1=50",
                     "--dose", "500", "--n-doses", "1", "--until", "24", "--step", "6",
                     "--out", str(out))
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out)
    assert list(table.columns) == ["id", "time_h", "conc_mg_per_l", "auc_mg_h_per_l"]
    np.testing.assert_allclose(table["conc_mg_per_l"], 10 * np.exp(-0.1 * table["time_h"]),
                               rtol=1e-9)


def test_simulate__cohort_is_reproducible_and_fixed_covariates_apply(tmp_path: Path) -> None:
    """The same seed writes the same cohort; --covariate fixes weight for every patient."""
    first, second, heavy = (tmp_path / f"{k}.csv" for k in ("a", "b", "c"))
    common = [*TWO_CMT, "--n", "20", "--seed", "3", "--until", "24"]
    assert run_cli("simulate", *common, "--out", str(first)).returncode == 0
    assert run_cli("simulate", *common, "--out", str(second)).returncode == 0
    assert first.read_bytes() == second.read_bytes()
    assert run_cli("simulate", *common, "--covariate", "weight_kg=140", "--out",
                   str(heavy)).returncode == 0
    table = pd.read_csv(first)
    assert table["id"].nunique() == 20 and table["conc_mg_per_l"].std() > 0
    assert not pd.read_csv(heavy).equals(table)


def test_simulate__png_is_written(tmp_path: Path) -> None:
    """A .png output is a real PNG file (percentile bands of the cohort)."""
    out = tmp_path / "vpc.png"
    result = run_cli("simulate", *TWO_CMT, "--n", "50", "--infusion-hours", "1", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_simulate__bad_input_exits_2_naming_the_field(tmp_path: Path) -> None:
    """Missing parameters, unknown covariates and negative doses fail with a named error."""
    out = str(tmp_path / "x.csv")
    cases = [
        (["one-compartment", "--param", "CL=5"], "V1"),
        (["one-compartment", "--param", "CL=5", "--param", "V1=50", "--covariate", "wt=3"], "wt"),
        (["one-compartment", "--param", "CL=5", "--param", "V1=50", "--dose", "-3"], "amount_mg"),
        (["one-compartment", "--param", "CL=abc", "--param", "V1=50"], "CL"),
        (["one-compartment", "--param", "CL=5", "--param", "V1=50", "--out", "x.txt"], ".csv"),
    ]
    for args, field in cases:
        result = run_cli("simulate", *args, *([] if "--out" in args else ["--out", out]))
        assert result.returncode == 2 and field in result.stderr, (args, result.stderr)
    assert not Path(out).exists()


def test_simulate__vancomycin_typical_patient_and_scenario_cohort(tmp_path: Path) -> None:
    """``simulate vancomycin`` uses Goti 2018 for the typical inpatient and a scenario cohort."""
    out = tmp_path / "v.csv"
    result = run_cli("simulate", "vancomycin", "--typical", "--n-doses", "28", "--until", "336",
                     "--step", "24", "--infusion-hours", "1", "--out", str(out))
    assert result.returncode == 0, result.stderr
    auc = pd.read_csv(out)["auc_mg_h_per_l"].to_numpy()
    crcl = min((140 - 57) * 79 / (72 * 0.9), 150.0)
    assert auc[-1] - auc[-2] == pytest.approx(2000 / (4.5 * (crcl / 120) ** 0.8), rel=1e-3)
    cohort = tmp_path / "renal.csv"
    result = run_cli("simulate", "vancomycin", "--n", "30", "--scenario",
                     "scenarios/vancomycin_renal_impairment.yaml", "--out", str(cohort))
    assert result.returncode == 0, result.stderr
    assert pd.read_csv(cohort)["id"].nunique() == 30
    bad = run_cli("simulate", "vancomycin", "--covariate", "age=3", "--out", str(out))
    assert bad.returncode == 2 and "age_years" in bad.stderr
