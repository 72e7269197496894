"""Cycle-1 dose-limiting toxicity of docetaxel: grade 4 days, the DLT rule and validation."""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.models.chemotherapy import (
    FEBRILE_NEUTROPENIA_PER_DAY,
    DocetaxelPatientModel,
    DoseLimitingToxicity,
)

MODEL = DocetaxelPatientModel()
DOSE_GRID_MG_PER_M2 = np.arange(0.0, 251.0, 10.0)


def _covariates(n: int, bsa_m2: float | np.ndarray = 1.8) -> dict[str, np.ndarray]:
    """``n`` 60-year-old men with typical AAG, no hepatic impairment, a 70 mm tumour."""
    return {"is_female": np.zeros(n), "age_years": np.full(n, 60.0),
            "bsa_m2": np.broadcast_to(np.asarray(bsa_m2, np.float64), (n,)).copy(),
            "aag_g_per_l": np.full(n, 1.34), "hepatic_impairment": np.zeros(n),
            "baseline_sld_mm": np.full(n, 70.0)}


def test_grade4_days__equal_the_days_below_0_5_of_run_cycles():
    """Per patient (BSA, etas and dose differ): the count of run_cycles days with ANC < 0.5."""
    covariates = _covariates(4, np.array([1.6, 1.8, 2.1, 1.9]))
    covariates["is_female"] = np.array([0.0, 1.0, 0.0, 1.0])
    etas = np.zeros((4, 7))
    etas[1, 3], etas[2, [0, 1]], etas[3, 2] = 0.5, (-0.3, 0.2), -0.2
    doses = np.array([100.0, 75.0, 150.0, 60.0])
    days = DoseLimitingToxicity().grade4_days(MODEL, covariates, etas, doses)
    anc, _ = MODEL.run_cycles(MODEL.parameters(covariates, etas), covariates["baseline_sld_mm"],
                              (doses * covariates["bsa_m2"])[:, None], 21)
    assert anc.shape == (4, 21)
    np.testing.assert_array_equal(days, (anc < 0.5).sum(axis=1))
    assert np.all(days > 0) and np.unique(days).size > 1  # a real count, not all 0 or 21


def test_probability__is_one_beyond_the_limit_else_febrile_chance_over_grade4_days():
    """Hazard 0.1/day, 4 grade-4 days: 1 - 0.9^4 = 0.3439 at limit 4, a certain DLT at limit 3."""
    covariates = _covariates(2)
    doses = np.array([100.0, 80.0])  # typical patient: 4 and 2 grade-4 days (see below)
    np.testing.assert_array_equal(DoseLimitingToxicity().grade4_days(MODEL, covariates, None,
                                                                     doses), [4, 2])
    at_limit = DoseLimitingToxicity(grade4_days_limit=4, febrile_neutropenia_per_day=0.1)
    np.testing.assert_allclose(at_limit.probability(MODEL, covariates, None, doses),
                               [0.3439, 0.19], rtol=0, atol=1e-12)
    beyond = DoseLimitingToxicity(grade4_days_limit=3, febrile_neutropenia_per_day=0.1)
    np.testing.assert_allclose(beyond.probability(MODEL, covariates, None, doses),
                               [1.0, 0.19], rtol=0, atol=1e-12)


def test_probability__default_hazard_matches_the_closed_form():
    """Default rule: 1 - (1 - 0.0064)^days up to 7 grade-4 days, 1 beyond, across doses."""
    rule = DoseLimitingToxicity()
    covariates = _covariates(DOSE_GRID_MG_PER_M2.size)
    days = rule.grade4_days(MODEL, covariates, None, DOSE_GRID_MG_PER_M2)
    expected = np.where(days > 7, 1.0, 1.0 - (1.0 - FEBRILE_NEUTROPENIA_PER_DAY) ** days)
    np.testing.assert_allclose(rule.probability(MODEL, covariates, None, DOSE_GRID_MG_PER_M2),
                               expected, rtol=1e-12, atol=1e-15)
    assert np.any(days > 7) and np.any((days > 0) & (days <= 7))  # both branches exercised


def test_probability__non_decreasing_in_dose_for_a_typical_patient():
    """0-250 mg/m2 in steps of 10: DLT probability and grade 4 days never fall as dose rises."""
    rule = DoseLimitingToxicity()
    covariates = _covariates(DOSE_GRID_MG_PER_M2.size)
    days = rule.grade4_days(MODEL, covariates, None, DOSE_GRID_MG_PER_M2)
    probability = rule.probability(MODEL, covariates, None, DOSE_GRID_MG_PER_M2)
    assert np.all(np.diff(days) >= 0) and np.all(np.diff(probability) >= 0)
    assert probability[0] == 0.0 and probability[-1] == 1.0


def test_probability__zero_dose_is_no_dlt():
    """No docetaxel: no grade 4 day and a DLT probability of exactly 0, even for a sensitive one."""
    etas = np.zeros((2, 7))
    etas[1, 1], etas[1, 3] = -0.6, 0.8  # low baseline ANC, steep drug effect
    rule = DoseLimitingToxicity()
    np.testing.assert_array_equal(rule.grade4_days(MODEL, _covariates(2), etas, np.zeros(2)), 0)
    np.testing.assert_array_equal(rule.probability(MODEL, _covariates(2), etas, np.zeros(2)), 0.0)


@pytest.mark.parametrize("doses", [np.array([100.0]), np.array([[100.0, 75.0]]),
                                   np.array([100.0, -1.0]), np.array([100.0, np.nan])])
def test_probability__bad_dose_is_a_value_error_naming_the_field(doses):
    """A dose per patient, finite and >= 0, or ValueError naming dose_mg_per_m2."""
    with pytest.raises(ValueError, match="dose_mg_per_m2"):
        DoseLimitingToxicity().probability(MODEL, _covariates(2), None, doses)


@pytest.mark.parametrize("limit", [-1, 21, 30])
def test_dose_limiting_toxicity__grade4_limit_outside_the_cycle_is_a_value_error(limit):
    """grade4_days_limit must lie in 0..cycle_days - 1 (the error names the field)."""
    with pytest.raises(ValueError, match="grade4_days_limit"):
        DoseLimitingToxicity(grade4_days_limit=limit)


def test_dose_limiting_toxicity__limits_at_the_cycle_edges_are_accepted():
    """0 (any grade 4 day is a DLT) and cycle_days - 1 are valid limits."""
    covariates = _covariates(1)
    strict = DoseLimitingToxicity(grade4_days_limit=0)
    assert strict.probability(MODEL, covariates, None, np.array([100.0]))[0] == 1.0
    lenient = DoseLimitingToxicity(grade4_days_limit=20)
    assert lenient.probability(MODEL, covariates, None, np.array([250.0]))[0] < 1.0


@pytest.mark.parametrize("hazard", [-0.01, 1.5])
def test_dose_limiting_toxicity__hazard_outside_0_1_is_a_value_error(hazard):
    """febrile_neutropenia_per_day must be a probability."""
    with pytest.raises(ValueError, match="febrile_neutropenia_per_day"):
        DoseLimitingToxicity(febrile_neutropenia_per_day=hazard)
