"""Reproduce published / package-vignette operating-characteristic tables within MC error."""

from __future__ import annotations

import numpy as np
import pytest
from published_tables import SIMFASTBOIN_VIGNETTE_BOIN as TABLE

from pkgym.trials import BoinDesign, DoseFindingScenario, operating_characteristics, simulate_trials


def _check_boin_table(n_trials: int) -> None:
    """Compare our BOIN OC with the table: |diff| < 3 combined MC SEs + rounding."""
    scenario = DoseFindingScenario(
        true_dlt_probabilities=TABLE["true_dlt_probabilities"],
        target_dlt_rate=TABLE["target"],
        cohort_size=TABLE["cohort_size"],
        max_sample_size=TABLE["max_sample_size"],
    )
    design = BoinDesign(target=TABLE["target"], n_earlystop=TABLE["n_earlystop"])
    oc = operating_characteristics(simulate_trials(design, scenario, n_trials, seed=2024), scenario)
    theirs = np.asarray(TABLE["selection_percent"])
    share = np.clip(theirs / 100, 0.005, None)
    their_se = 100 * np.sqrt(share * (1 - share) / TABLE["n_trials"])
    se = np.hypot(oc.selection_percent_se, their_se)
    assert np.all(np.abs(oc.selection_percent - theirs) < 3 * se + TABLE["rounding"])
    # Patients per dose: the SD per trial is at most max_sample_size / 2.
    patient_se = np.hypot(
        oc.mean_patients_per_dose_se,
        oc.mean_patients_per_dose_se * np.sqrt(n_trials / TABLE["n_trials"]),
    )
    assert np.all(
        np.abs(oc.mean_patients_per_dose - np.asarray(TABLE["mean_patients_per_dose"]))
        < 3 * patient_se + TABLE["rounding"]
    )
    size_se = oc.mean_sample_size_se * np.sqrt(1 + n_trials / TABLE["n_trials"])
    assert abs(oc.mean_sample_size - TABLE["mean_sample_size"]) < 3 * size_se + TABLE["rounding"]


def test_boin_vignette_table__reduced_n() -> None:
    """4 000 trials reproduce the simFastBOIN vignette BOIN table."""
    _check_boin_table(4_000)


@pytest.mark.slow
def test_boin_vignette_table__full_n() -> None:
    """50 000 trials reproduce the simFastBOIN vignette BOIN table."""
    _check_boin_table(50_000)
