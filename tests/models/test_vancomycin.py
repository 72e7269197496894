"""Goti 2018 vancomycin model: typical values computed by hand, and exposure at steady state."""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.models.vancomycin import Goti2018
from pkgym.populations.vancomycin import ADULT_INPATIENTS, RENAL_IMPAIRMENT
from pkgym.sim import regular_schedule, simulate_linear


def test_goti2018__typical_values_match_table_2_by_hand() -> None:
    """CL = 4.5 (CrCL/120)^0.8 0.7^DIAL; V1 = 58.4 WT/70 0.5^DIAL; Q 6.5; V2 38.4."""
    model = Goti2018()
    params = model.linear_params(weight_kg=np.array([70.0, 91.0, 70.0]),
                                 on_dialysis=np.array([0, 0, 1]),
                                 creatinine_clearance_ml_per_min=np.array([120.0, 80.0, 10.0]))
    expected_cl = [4.5, 4.5 * (80 / 120) ** 0.8, 4.5 * (10 / 120) ** 0.8 * 0.7]
    np.testing.assert_allclose(params.clearance_l_per_h, expected_cl, rtol=1e-12)
    np.testing.assert_allclose(params.central_volume_l, [58.4, 58.4 * 1.3, 29.2], rtol=1e-12)
    np.testing.assert_allclose(params.intercompartmental_clearance_l_per_h[:, 0], 6.5)
    np.testing.assert_allclose(params.peripheral_volume_l[:, 0], 38.4)


def test_goti2018__creatinine_clearance_is_capped_and_floored_as_in_goti() -> None:
    """CrCL is capped at 150 mL/min; patients over 60 have SCr floored at 1 mg/dL."""
    model = Goti2018()
    young = model.creatinine_clearance_ml_per_min(25.0, 90.0, 0.5, 0)
    assert float(young) == 150.0
    old = model.creatinine_clearance_ml_per_min(70.0, 70.0, 0.6, 1)
    assert float(old) == pytest.approx((140 - 70) * 70 / 72 * 0.85)
    assert float(Goti2018().clearance(400.0, 0)) == pytest.approx(4.5 * (150 / 120) ** 0.8)


def test_goti2018__steady_state_auc24_equals_daily_dose_over_clearance() -> None:
    """1000 mg q12h to the typical patient (CrCL 80) gives AUC24 = 2000 / CL at steady state."""
    model = Goti2018()
    params = model.linear_params(weight_kg=np.array([70.0]), on_dialysis=np.array([0]),
                                 creatinine_clearance_ml_per_min=np.array([80.0]))
    doses = regular_schedule(1, amount_mg=1000.0, every_h=12.0, n_doses=60, duration_h=1.0)
    sol = simulate_linear(params, doses, np.array([672.0, 696.0]))
    auc24 = np.diff(sol.auc_mg_h_per_l[0])[0]
    assert auc24 == pytest.approx(2000.0 / (4.5 * (80 / 120) ** 0.8), rel=1e-6)


def test_goti2018__variability_and_residual_error_follow_the_paper() -> None:
    """Omega^2 = CV^2 for CL, V1, V2 (39.8, 81.6, 57.1 %); error 22.7 % + 3.4 mg/L."""
    model = Goti2018()
    np.testing.assert_allclose(np.diag(model.variability.omega), [0.398**2, 0.816**2, 0.571**2])
    assert model.residual_error.sd(np.array([20.0]))[0] == pytest.approx(
        np.hypot(3.4, 0.227 * 20.0))


def test_goti2018__bad_input_names_the_argument() -> None:
    """Zero weights, non-binary dialysis flags, bad eta shapes and bad parameters are errors."""
    model = Goti2018()
    kwargs = {"weight_kg": np.array([70.0]), "on_dialysis": np.array([0]),
              "creatinine_clearance_ml_per_min": np.array([80.0])}
    with pytest.raises(ValueError, match="weight_kg"):
        model.linear_params(**{**kwargs, "weight_kg": np.array([0.0])})
    with pytest.raises(ValueError, match="on_dialysis"):
        model.linear_params(**{**kwargs, "on_dialysis": np.array([2])})
    with pytest.raises(ValueError, match="etas"):
        model.linear_params(**kwargs, etas=np.zeros((1, 2)))
    with pytest.raises(ValueError, match="central_volume_l"):
        Goti2018(central_volume_l=-1.0)


def test_vancomycin_populations__match_goti_table_1_marginals() -> None:
    """Median age ~57, 46.5% female, median weight ~79 kg, 18.5% dialysis, CrCL median ~62."""
    cohort = ADULT_INPATIENTS.sample(20_000, seed=5)
    assert cohort["age_years"].median() == pytest.approx(57.0, abs=1.5)
    assert cohort["is_female"].mean() == pytest.approx(0.465, abs=0.01)
    assert cohort["weight_kg"].median() == pytest.approx(79.0, abs=3.0)
    assert cohort["on_dialysis"].mean() == pytest.approx(0.185, abs=0.01)
    crcl = Goti2018().creatinine_clearance_ml_per_min(
        cohort["age_years"], cohort["weight_kg"], cohort["serum_creatinine_mg_per_dl"],
        cohort["is_female"])
    assert np.median(crcl) == pytest.approx(62.0, abs=8.0)
    impaired = RENAL_IMPAIRMENT.sample(5_000, seed=5)
    assert impaired["serum_creatinine_mg_per_dl"].median() > 2 * cohort[
        "serum_creatinine_mg_per_dl"].median()
