"""Paired evaluation runs: same patients, same noise, for every policy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pkgym  # noqa: F401
from pkgym.evaluation.policy import Policy
from pkgym.evaluation.runner import run_policy
from pkgym.populations.vancomycin import ADULT_INPATIENTS


class FixedDose:
    """Gives the same dose to every patient at every step."""

    reads_hidden_state = False

    def __init__(self, dose_mg: float) -> None:
        """Remember the dose (mg)."""
        self.name, self.dose_mg = f"fixed_{dose_mg:g}", dose_mg

    def reset(self, n_envs: int) -> None:
        """Remember the batch size."""
        self.n = n_envs

    def act(self, observation: dict, info: dict | None = None) -> np.ndarray:
        """The fixed dose for every patient."""
        return np.full(self.n, self.dose_mg)


def test_run_policy__same_policy_twice_gives_identical_rows() -> None:
    """A policy run twice on a cohort gives the same table: the noise is paired."""
    cohort = ADULT_INPATIENTS.sample(6, seed=1)
    assert isinstance(FixedDose(1000.0), Policy)
    first = run_policy(FixedDose(1000.0), "pkgym/Vancomycin-v0", cohort, seed=5)
    second = run_policy(FixedDose(1000.0), "pkgym/Vancomycin-v0", cohort, seed=5)
    pd.testing.assert_frame_equal(first, second)
    assert first["id"].tolist() == list(range(6)) and len(first.columns) == 5 + 5 * 14


def test_run_policy__higher_doses_give_proportionally_higher_auc_on_the_same_patients() -> None:
    """Linear PK on paired patients: doubling every dose doubles day-1 AUC24 patient by patient."""
    cohort = ADULT_INPATIENTS.sample(8, seed=2)
    low = run_policy(FixedDose(500.0), "pkgym/Vancomycin-v0", cohort, seed=9)
    high = run_policy(FixedDose(1000.0), "pkgym/Vancomycin-v0", cohort, seed=9)
    np.testing.assert_allclose(high["auc24_mg_h_per_l_1"], 2 * low["auc24_mg_h_per_l_1"],
                               rtol=1e-9)
    with pytest.raises(ValueError, match="id"):
        run_policy(FixedDose(1.0), "pkgym/Vancomycin-v0", cohort.drop(columns="id"), seed=1)
