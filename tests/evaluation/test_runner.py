"""Paired evaluation runs: same patients, same noise, for every policy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pkgym  # noqa: F401
from pkgym.evaluation.policy import Policy
from pkgym.evaluation.runner import run_policy
from pkgym.populations.vancomycin import ADULT_INPATIENTS


def test_run_policy__same_policy_twice_gives_identical_rows(fixed_dose) -> None:  # noqa: ANN001
    """A policy run twice on a cohort gives the same table: the noise is paired."""
    cohort = ADULT_INPATIENTS.sample(6, seed=1)
    assert isinstance(fixed_dose(1000.0), Policy)
    first = run_policy(fixed_dose(1000.0), "pkgym/Vancomycin-v0", cohort, seed=5)
    second = run_policy(fixed_dose(1000.0), "pkgym/Vancomycin-v0", cohort, seed=5)
    pd.testing.assert_frame_equal(first, second)
    assert first["id"].tolist() == list(range(6)) and len(first.columns) == 5 + 5 * 14


def test_run_policy__higher_doses_give_proportionally_higher_auc_on_the_same_patients(
        fixed_dose) -> None:  # noqa: ANN001
    """Linear PK on paired patients: doubling every dose doubles day-1 AUC24 patient by patient."""
    cohort = ADULT_INPATIENTS.sample(8, seed=2)
    low = run_policy(fixed_dose(500.0), "pkgym/Vancomycin-v0", cohort, seed=9)
    high = run_policy(fixed_dose(1000.0), "pkgym/Vancomycin-v0", cohort, seed=9)
    np.testing.assert_allclose(high["auc24_mg_h_per_l_1"], 2 * low["auc24_mg_h_per_l_1"],
                               rtol=1e-9)
    with pytest.raises(ValueError, match="id"):
        run_policy(fixed_dose(1.0), "pkgym/Vancomycin-v0", cohort.drop(columns="id"), seed=1)
