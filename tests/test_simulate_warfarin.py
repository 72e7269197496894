"""``pkgym simulate warfarin``: the library functions and the real entry point in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pkgym.commands.simulate_warfarin import (
    TABLE_COLUMNS,
    DailyRegimen,
    parse_warfarin_covariates,
    simulate_warfarin,
    warfarin_cohort,
    warfarin_setting,
)
from pkgym.models.warfarin import Hamberg2007, Hamberg2010
from pkgym.models.warfarin_kernel import simulate_inr
from tests.cli_helpers import run_in_process


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """Run ``python -m pkgym.cli simulate warfarin`` with the given arguments."""
    return subprocess.run([sys.executable, "-m", "pkgym.cli", "simulate", "warfarin", *args],
                          capture_output=True, text=True, check=False)


def reference_inr(cyp2c9: int, vkorc1: int, age: float, dose: float, days: int) -> np.ndarray:
    """INR of one patient straight from the model kernel, shape (days + 1,)."""
    model = Hamberg2010()
    params = model.parameters(np.array([cyp2c9]), np.array([vkorc1]), np.array([age]))
    inr, _ = simulate_inr(params, model.structure, np.full((1, days), dose))
    return inr[0]


def test_simulate_warfarin__typical_patient_matches_the_kernel() -> None:
    """The typical patient (60 y, *1/*1, G/G) gets exactly the kernel's INR, each morning."""
    table = simulate_warfarin(warfarin_cohort(Hamberg2010()), Hamberg2010(),
                              DailyRegimen(dose_mg=5.0, n_days=21))
    assert tuple(table.columns) == TABLE_COLUMNS
    np.testing.assert_array_equal(table["inr"], reference_inr(0, 0, 60.0, 5.0, 21))
    np.testing.assert_array_equal(table["day"], np.arange(22))
    np.testing.assert_array_equal(table["time_h"], 24.0 * np.arange(22))
    assert table["dose_mg"].tolist() == [5.0] * 21 + [0.0]
    assert table["s_warfarin_mg_per_l"].iloc[0] == 0.0 and table["inr"].iloc[0] == 1.0


def test_simulate_warfarin__fixed_covariates_change_the_patient() -> None:
    """--covariate values reach the model: *3/*3 A/A at 80 y is the kernel's patient (5, 2)."""
    cohort = warfarin_cohort(Hamberg2010(), covariates=parse_warfarin_covariates(
        ["cyp2c9=*3/*3", "vkorc1=A/A", "age_years=80"]))
    table = simulate_warfarin(cohort, Hamberg2010(), DailyRegimen(dose_mg=2.0, n_days=14))
    np.testing.assert_array_equal(table["inr"], reference_inr(5, 2, 80.0, 2.0, 14))


def test_warfarin_cohort__reproducible_and_batch_size_invariant() -> None:
    """The same seed gives the same patients; patient k does not depend on the cohort size."""
    model = Hamberg2010()
    small = simulate_warfarin(warfarin_cohort(model, n=5, seed=4), model, DailyRegimen(n_days=7))
    large = simulate_warfarin(warfarin_cohort(model, n=12, seed=4), model, DailyRegimen(n_days=7))
    pd.testing.assert_frame_equal(small, large.iloc[: len(small)])
    other = simulate_warfarin(warfarin_cohort(model, n=5, seed=5), model, DailyRegimen(n_days=7))
    assert not np.allclose(small["inr"], other["inr"])
    assert small.groupby("id")["inr"].last().std() > 0


def test_simulate_warfarin__hamberg2007_runs_with_six_etas() -> None:
    """The 2007 model takes its own six etas and gives a rising INR."""
    model = Hamberg2007()
    cohort = warfarin_cohort(model, n=4, seed=0)
    assert [c for c in cohort.columns if c.startswith("eta_")] == list(
        model.variability.eta_columns)
    inr = simulate_warfarin(cohort, model, DailyRegimen(n_days=10))["inr"].to_numpy()
    assert np.all(inr.reshape(4, -1)[:, -1] > 1.2)


@pytest.mark.parametrize(("build", "field"), [
    (lambda: parse_warfarin_covariates(["cyp2c9=*1/*4"]), "cyp2c9"),
    (lambda: parse_warfarin_covariates(["vkorc1=A/G"]), "'G/A'"),
    (lambda: parse_warfarin_covariates(["weight_kg=80"]), "age_years"),
    (lambda: parse_warfarin_covariates(["age_years=old"]), "age_years"),
    (lambda: parse_warfarin_covariates(["age_years=5"]), "[18, 110]"),
    (lambda: DailyRegimen(dose_mg=-1.0), "dose_mg"),
    (lambda: DailyRegimen(n_days=0), "n_days"),
    (lambda: warfarin_cohort(Hamberg2010(), n=0), "--n-patients"),
])
def test_simulate_warfarin__bad_input_raises_naming_the_field(build: Callable[[], object],
                                                             field: str) -> None:
    """Unknown labels or covariates, bad ages, doses and sizes raise ``ValueError``."""
    with pytest.raises(ValueError) as error:
        build()
    assert field in str(error.value)


def test_warfarin_setting__scenario_gives_model_population_and_target(tmp_path: Path) -> None:
    """A warfarin scenario file chooses the Hamberg model, the population and the target."""
    path = tmp_path / "w.yaml"
    path.write_text("env: pkgym/Warfarin-v0\npopulation: iwpc\nmodel: hamberg2007\n"
                    "target_inr: [2.5, 3.5]\n")
    setting = warfarin_setting(path)
    assert isinstance(setting.model, Hamberg2007) and setting.target_inr == (2.5, 3.5)
    assert set(setting.population.sample(200, 0)["race"]) > {"white"}


def test_cli_simulate_warfarin__typical_csv_equals_simulate_inr(tmp_path: Path) -> None:
    """The real entry point writes the documented columns; the INR is the kernel's."""
    out = tmp_path / "typical.csv"
    result = run_cli("--typical", "--covariate", "cyp2c9=*1/*1", "--covariate", "vkorc1=G/G",
                     "--dose", "7.5", "--n-doses", "14", "--out", str(out))
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out)
    assert tuple(table.columns) == TABLE_COLUMNS
    np.testing.assert_allclose(table["inr"], reference_inr(0, 0, 60.0, 7.5, 14), rtol=1e-12)
    assert table["dose_mg"].tolist() == [7.5] * 14 + [0.0]
    np.testing.assert_array_equal(table["time_h"], 24.0 * table["day"])


def test_cli_simulate_warfarin__cohort_reproducible_scenario_and_png(tmp_path: Path) -> None:
    """Same seed, same bytes; a scenario cohort and a PNG of the INR bands are written."""
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    for out in (first, second):
        result = run_cli("--n-patients", "15", "--seed", "3", "--n-doses", "10", "--out", str(out))
        assert result.returncode == 0, result.stderr
    assert first.read_bytes() == second.read_bytes()
    assert pd.read_csv(first)["id"].nunique() == 15
    scenario = tmp_path / "s.yaml"
    scenario.write_text("env: pkgym/Warfarin-v0\npopulation: iwpc\nmodel: hamberg2007\n")
    png = tmp_path / "inr.png"
    result = run_cli("--n-patients", "30", "--scenario", str(scenario), "--out", str(png))
    assert result.returncode == 0, result.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_simulate_warfarin__bad_input_exits_2_naming_the_field(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Unknown genotypes or covariates, negative doses and PK-only options fail with exit 2.

    The first case runs as a real process (its exit status); the others through
    :func:`pkgym.cli.main` in this process (the same code, without a start-up each).
    """
    out = tmp_path / "x.csv"
    result = run_cli("--covariate", "cyp2c9=*1/*9", "--out", str(out))
    assert result.returncode == 2 and "*3/*3" in result.stderr, result.stderr
    cases = [
        (["--covariate", "cyp2c9=*1/*9"], "*3/*3"),
        (["--covariate", "vkorc1=GG"], "G/A"),
        (["--covariate", "weight_kg=80"], "age_years"),
        (["--dose", "-3"], "dose_mg"),
        (["--every", "12"], "--every"),
        (["--param", "CL=1"], "--param"),
        (["--until", "48"], "--n-doses"),
    ]
    for args, field in cases:
        code, stderr = run_in_process(capsys, "simulate", "warfarin", *args, "--out", str(out))
        assert code == 2 and field in stderr, (args, stderr)
        assert len(stderr.strip().splitlines()) == 1, stderr
    assert not out.exists()
