"""Shared test policies for the evaluation tests."""

from __future__ import annotations

import numpy as np
import pytest


class FixedDose:
    """Gives the same dose to every patient; may record cohorts it was 'trained' on."""

    reads_hidden_state = False

    def __init__(self, dose_mg: float, name: str | None = None,
                 training_cohorts: tuple = ()) -> None:
        """Remember the dose (mg), a name and the training cohorts."""
        self.dose_mg, self.training_cohorts = dose_mg, training_cohorts
        self.name = name or f"fixed_{dose_mg:g}"

    def reset(self, n_envs: int) -> None:
        """Remember the batch size."""
        self.n = n_envs

    def act(self, observation: dict, info: dict | None = None) -> np.ndarray:
        """The fixed dose for every patient."""
        return np.full(self.n, self.dose_mg)


@pytest.fixture
def fixed_dose() -> type[FixedDose]:
    """The fixed-dose policy class."""
    return FixedDose
