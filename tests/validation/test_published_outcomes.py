"""Population-level checks against published outcomes: docetaxel (label) and vancomycin (Goti)."""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.validation.docetaxel import simulate_cycles, validate_docetaxel
from pkgym.validation.targets import ValidationResult
from pkgym.validation.vancomycin import camera2_regimen, simulate_levels, validate_vancomycin

N = 300


@pytest.fixture(scope="module")
def docetaxel() -> ValidationResult:
    """The docetaxel check on 300 patients, seed 0."""
    return validate_docetaxel(N, seed=0)


@pytest.fixture(scope="module")
def vancomycin() -> ValidationResult:
    """The vancomycin check on 300 patients, seed 0."""
    return validate_vancomycin(N, seed=0)


def test_validate_docetaxel__targets_are_the_label_rates(docetaxel: ValidationResult) -> None:
    """Two absolute targets: the label's 75.4% grade 4 and 11% febrile neutropenia."""
    assert [t.rule for t in docetaxel.targets] == ["absolute", "absolute"]
    assert [t.observed for t in docetaxel.targets] == [0.754, 0.11]
    assert all(t.n_observed == 2045 and "Taxotere" in t.source for t in docetaxel.targets)
    assert "cycle1_anc_nadir_quantiles" in docetaxel.tables and len(docetaxel.notes) >= 2


def test_validate_docetaxel__simulated_rates_near_the_label(docetaxel: ValidationResult) -> None:
    """Grade 4 within 0.15 of 75.4% and febrile neutropenia within 0.08 of 11% (n = 300)."""
    grade4, febrile = (t.simulated for t in docetaxel.targets)
    assert abs(grade4 - 0.754) <= 0.15
    assert abs(febrile - 0.11) <= 0.08
    nadir = docetaxel.tables["cycle1_anc_nadir_quantiles"]["anc_nadir_1e9_per_l"].to_numpy()
    assert np.all(np.diff(nadir) > 0) and 0.05 < nadir[2] < 0.5  # median nadir below grade 4


def test_validate_docetaxel__same_seed_same_result(docetaxel: ValidationResult) -> None:
    """A second run with seed 0 gives the same numbers; the seed changes them."""
    again = validate_docetaxel(N, seed=0)
    assert again.target_table().equals(docetaxel.target_table())
    other = validate_docetaxel(N, seed=1)
    assert not np.allclose([t.simulated for t in other.targets],
                           [t.simulated for t in docetaxel.targets])


def test_simulate_cycles__patient_k_independent_of_cohort_size() -> None:
    """The first 5 patients of a 5- and a 12-patient cohort have the same cycle 1."""
    small, large = simulate_cycles(5, seed=3), simulate_cycles(12, seed=3)
    first = small[small["cycle"] == 1].reset_index(drop=True)
    assert first.equals(large[(large["cycle"] == 1) & (large["patient"] < 5)]
                        .reset_index(drop=True))


def test_simulate_cycles__doses_are_100_mg_per_m2() -> None:
    """Every cycle gives 100 mg/m2: doses between 50 and 350 mg for the population's BSAs."""
    cycles = simulate_cycles(10, seed=0)
    assert cycles["dose_mg"].between(50.0, 350.0).all()


def test_validate_vancomycin__targets_are_goti_table1(vancomycin: ValidationResult) -> None:
    """Two relative targets: Goti's median CrCL 62 mL/min and median level 18 mg/L."""
    assert [t.rule for t in vancomycin.targets] == ["relative", "relative"]
    assert [t.observed for t in vancomycin.targets] == [62.0, 18.0]
    assert all("Goti" in t.source for t in vancomycin.targets)
    assert {"quantiles", "regimens"} <= set(vancomycin.tables)


def test_validate_vancomycin__simulated_near_goti(vancomycin: ValidationResult) -> None:
    """Median CrCL within 30% of 62 mL/min; median level within 0.5-1.5 x 18 mg/L."""
    crcl, level = (t.simulated for t in vancomycin.targets)
    assert abs(crcl / 62.0 - 1.0) <= 0.30
    assert 9.0 <= level <= 27.0


def test_validate_vancomycin__same_seed_same_result(vancomycin: ValidationResult) -> None:
    """A second run with seed 0 gives the same numbers; the seed changes them."""
    assert validate_vancomycin(N, seed=0).target_table().equals(vancomycin.target_table())
    other = validate_vancomycin(N, seed=1)
    assert other.targets[0].simulated != vancomycin.targets[0].simulated


def test_simulate_levels__patient_k_independent_of_cohort_size() -> None:
    """The first 7 patients' levels are the same in a 7- and a 40-patient cohort."""
    small, large = simulate_levels(7, seed=2), simulate_levels(40, seed=2)
    assert small.equals(large.iloc[:7].reset_index(drop=True))


def test_camera2_regimen__band_edges() -> None:
    """CrCL 90 is 1 g q12h, 60 is q12h, 59.9 is q24h, 19.9 is q48h; dialysis 25 mg/kg <= 3 g."""
    dose, every, _ = camera2_regimen(np.array([90.0, 60.0, 59.9, 19.9, 50.0]),
                                     np.array([0, 0, 0, 0, 1]), np.array([70, 70, 70, 70, 200]))
    assert dose.tolist() == [1000.0, 1000.0, 1000.0, 1000.0, 3000.0]
    assert every.tolist() == [12.0, 12.0, 24.0, 48.0, 48.0]
