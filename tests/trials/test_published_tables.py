"""Reproduce published / package-vignette operating-characteristic tables within MC error."""

from __future__ import annotations

import numpy as np
import pytest
from published_tables import BRAUN_CRM_EXACT as CRM
from published_tables import SIMFASTBOIN_VIGNETTE_BOIN as TABLE

from pkgym.trials import (
    BoinDesign,
    CrmDesign,
    DoseFindingScenario,
    operating_characteristics,
    simulate_trials,
)


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


def _braun_crm(skeleton: tuple[float, ...]) -> CrmDesign:
    """Braun's (2020) calibrated CRM as precautionary enumerates it (dfcrm's plug-in estimate)."""
    return CrmDesign(skeleton=skeleton, target=CRM["target"], prior_variance=CRM["prior_sd"] ** 2,
                     safety_cutoff=1.0, estimate="plug_in", select="next_dose",
                     stop_patients_at_level=CRM["stop_patients_at_level"],
                     stop_patients_at_lowest=CRM["stop_patients_at_lowest"])


def _braun_scenario() -> DoseFindingScenario:
    return DoseFindingScenario(true_dlt_probabilities=CRM["skeleton"],
                               target_dlt_rate=CRM["target"], cohort_size=CRM["cohort_size"],
                               max_sample_size=CRM["max_sample_size"])


def _check_braun_crm(n_trials: int) -> None:
    """Simulated CRM trials match the exactly enumerated table within 4 Monte-Carlo SEs."""
    results = simulate_trials(_braun_crm(CRM["skeleton"]), _braun_scenario(), n_trials, seed=7)
    chosen = results.selected[:, None] == np.arange(6)[None, :]
    share, exact = chosen.mean(axis=0), np.asarray(CRM["selection_probability"])
    se = np.sqrt(np.maximum(exact * (1 - exact), 1e-4) / n_trials)
    np.testing.assert_array_less(np.abs(share - exact), 4 * se)
    total = results.patients.sum(axis=1)
    for fraction, key in ((results.patients[:, 2] / total, "fraction_at_mtd"),
                          (results.patients[:, 3:].sum(axis=1) / total, "fraction_above_mtd")):
        assert abs(fraction.mean() - CRM[key]) < 4 * fraction.std() / np.sqrt(n_trials) + 5e-5
    above, dlts = results.patients[:, 3:].sum(axis=1), results.dlts[:, 3:].sum(axis=1)
    ratio = dlts.sum() / above.sum()
    ratio_se = np.sqrt(np.var(dlts - ratio * above) / n_trials) / above.mean()
    assert abs(ratio - CRM["dlt_rate_above_mtd"]) < 4 * ratio_se + 5e-4


@pytest.mark.slow  # trimmed from the default suite (10-minute budget); -m slow runs it
def test_braun_crm_table__reduced_n() -> None:
    """10 000 trials reproduce the exact selection probabilities of Braun's calibrated CRM."""
    _check_braun_crm(10_000)


@pytest.mark.slow
def test_braun_crm_table__full_n() -> None:
    """100 000 trials reproduce them (SE of a probability near 0.5: 0.0016)."""
    _check_braun_crm(100_000)
