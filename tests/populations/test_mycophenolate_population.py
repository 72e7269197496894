"""Mycophenolate population: shapes, reproducibility, row independence, recovery, omega."""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.models.mycophenolate import COVARIATE_NAMES, DeWinter2009
from pkgym.populations.mycophenolate import (
    DE_WINTER_OMEGA,
    N_UNIFORMS,
    covariates_on_day,
    draw_patient_uniforms,
    draw_patients,
    patients_from_uniforms,
)


def test_draw_patients__shapes_ranges_and_documented_marginals() -> None:
    """One row per patient in every field; medians and shares near the documented values."""
    p = draw_patients(np.random.default_rng(0), 20_000)
    assert p["etas"].shape == (20_000, 7)
    assert all(v.shape == (20_000,) for k, v in p.items() if k != "etas")
    assert np.median(p["albumin_g_per_l"]) == pytest.approx(34.0, abs=0.5)
    assert np.median(p["creatinine_clearance_ml_per_min"]) == pytest.approx(19.0, abs=1.0)
    assert p["ciclosporin"].mean() == pytest.approx(48 / 93, abs=0.015)
    assert p["female"].mean() == pytest.approx(0.36, abs=0.015)
    assert 42.0 <= p["weight_kg"].min() and p["weight_kg"].max() <= 113.0
    np.testing.assert_allclose(np.cov(p["etas"].T), DE_WINTER_OMEGA, atol=0.05)


def test_draw_patients__reproducible_and_patient_k_independent_of_the_batch() -> None:
    """Same generator state -> same patients; the first rows do not depend on n."""
    a = draw_patients(np.random.default_rng(7), 50)
    b = draw_patients(np.random.default_rng(7), 3)
    for key in a:
        np.testing.assert_array_equal(a[key][:3], b[key])
    rng = np.random.default_rng(7)
    rows = np.stack([draw_patient_uniforms(rng) for _ in range(3)])
    c = patients_from_uniforms(rows)
    np.testing.assert_array_equal(c["etas"], b["etas"])
    one = patients_from_uniforms(rows[1:2])
    assert one["weight_kg"][0] == c["weight_kg"][1]


def test_covariates_on_day__recover_from_day_0_towards_the_late_values() -> None:
    """Day 0 is the drawn value; CrCL and albumin move monotonically to their late values."""
    p = draw_patients(np.random.default_rng(1), 200)
    day0, day14, late = (covariates_on_day(p, d) for d in (0.0, 14.0, 1e6))
    assert set(COVARIATE_NAMES) <= set(day0)
    np.testing.assert_array_equal(day0["albumin_g_per_l"], p["albumin_g_per_l"])
    np.testing.assert_allclose(late["creatinine_clearance_ml_per_min"],
                               p["creatinine_clearance_ml_per_min_late"])
    gap0 = np.abs(day0["creatinine_clearance_ml_per_min"] - late["creatinine_clearance_ml_per_min"])
    gap14 = np.abs(day14["creatinine_clearance_ml_per_min"]
                   - late["creatinine_clearance_ml_per_min"])
    assert np.all(gap14 <= gap0) and np.all(day14["albumin_g_per_l"] >= day0["albumin_g_per_l"])
    per_patient = covariates_on_day(p, np.arange(200.0))
    assert per_patient["day"].tolist() == list(range(200))


def test_population_omega__is_de_winters_and_bad_input_is_refused() -> None:
    """The duplicated omega equals the model's; wrong shapes, days and generators refused."""
    np.testing.assert_allclose(DE_WINTER_OMEGA, DeWinter2009().omega, rtol=1e-12)
    with pytest.raises(ValueError, match="uniforms"):
        patients_from_uniforms(np.zeros((2, N_UNIFORMS - 1)))
    with pytest.raises(ValueError, match="day"):
        covariates_on_day(draw_patients(np.random.default_rng(0), 2), -1.0)
    with pytest.raises(ValueError, match="rng"):
        draw_patients(0, 2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ciclosporin_share"):
        patients_from_uniforms(np.zeros((1, N_UNIFORMS)), ciclosporin_share=2.0)
