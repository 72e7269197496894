"""Creatinine course and the exposure-AKI hazard: the calibration claims of the module."""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.models.kidney import (
    KidneyInjuryParams,
    advance_kidney_day,
    initial_kidney_state,
    kdigo_stage,
)


def _course(auc: float, n: int, days: int, seed: int,
            params: KidneyInjuryParams | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Run n patients for ``days`` at a fixed AUC24; return AKI flags and final creatinine."""
    rng, params = np.random.default_rng(seed), params or KidneyInjuryParams()
    state, any_aki = initial_kidney_state(np.full(n, 1.0)), np.zeros(n, bool)
    for _ in range(days):
        state, aki = advance_kidney_day(state, np.full(n, auc), rng.random((n, 3)), params)
        any_aki |= aki
    return any_aki, state.creatinine_mg_per_dl


def test_aki_hazard__seven_day_risk_is_about_ten_percent_at_auc_500() -> None:
    """At AUC24 500 the 7-day AKI risk is 1 - exp(-7 h0) = 10.0% (baseline incidence 9-19%)."""
    aki, _ = _course(500.0, 40_000, 7, seed=1)
    assert aki.mean() == pytest.approx(1 - np.exp(-7 * 0.015), abs=0.006)


def test_aki_hazard__risk_triples_from_auc_500_to_800() -> None:
    """The hazard ratio between AUC24 800 and 500 is exp(3 * 0.37) = 3.03 (Zasowski 2018)."""
    params = KidneyInjuryParams()
    assert params.aki_hazard_per_day(800.0) / params.aki_hazard_per_day(500.0) == pytest.approx(
        np.exp(1.11))
    low, _ = _course(500.0, 40_000, 1, seed=2)
    high, _ = _course(800.0, 40_000, 1, seed=3)
    assert high.mean() / low.mean() == pytest.approx(3.0, rel=0.15)


def test_creatinine__stationary_variation_is_the_within_subject_cv() -> None:
    """Without AKI, creatinine fluctuates around baseline with CV ~6% and no drift."""
    _, scr = _course(0.0, 40_000, 30, seed=4,
                     params=KidneyInjuryParams(baseline_aki_hazard_per_day=0.0))
    assert np.median(scr) == pytest.approx(1.0, abs=0.01)
    assert np.std(np.log(scr)) == pytest.approx(np.sqrt(np.log1p(0.06**2)), rel=0.05)


def test_creatinine__aki_raises_creatinine_into_kdigo_stages() -> None:
    """After an AKI, creatinine climbs towards 1.5-3x baseline: KDIGO stage 1 to 2-3 in a week."""
    params = KidneyInjuryParams(creatinine_cv=0.0)
    state = initial_kidney_state(np.array([1.0, 1.0]))
    state, aki = advance_kidney_day(state, np.array([500.0, 500.0]),
                                    np.array([[0.0, 0.0, 0.5], [0.0, 1.0, 0.5]]), params)
    assert aki.tolist() == [True, True]
    for _ in range(6):
        state, aki = advance_kidney_day(state, np.zeros(2), np.full((2, 3), 0.5), params)
        assert not aki.any()  # one AKI per course
    np.testing.assert_allclose(state.creatinine_mg_per_dl, [1.5, 3.0], rtol=0.05)
    stages = kdigo_stage(state.creatinine_mg_per_dl, state.baseline_creatinine_mg_per_dl)
    assert stages.tolist() == [1, 2]  # 2.9x after 6 days: still just below stage 3


def test_kidney_params__bad_values_are_rejected() -> None:
    """Negative hazards or an inverted injury range raise ValueError naming the field."""
    with pytest.raises(ValueError, match="baseline_aki_hazard_per_day"):
        KidneyInjuryParams(baseline_aki_hazard_per_day=-1.0)
    with pytest.raises(ValueError, match="injury_factor_high"):
        KidneyInjuryParams(injury_factor_low=2.0, injury_factor_high=1.5)
