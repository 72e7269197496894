"""Mechanistic efficacy-toxicity truth from the docetaxel virtual patients."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from pkgym.trials.efficacy_toxicity import (
    EfficacyToxicityRates,
    EfficacyToxicityTruth,
    load_phase12_scenario,
    patient_outcome_probabilities,
    phase12_scenario,
    population_rates,
)
from pkgym.trials.mechanistic import population_dlt_rates

TRUTH = EfficacyToxicityTruth(dose_levels_mg_per_m2=(50, 100, 150), n_patients=24, seed=3)


@pytest.fixture(scope="module")
def outcomes() -> tuple[np.ndarray, np.ndarray]:
    """Per-patient DLT and response probabilities (24 patients, 3 doses)."""
    return patient_outcome_probabilities(TRUTH)


def test_dlt_rates_are_the_phase1_mechanistic_truth(outcomes: tuple[np.ndarray, np.ndarray]
                                                    ) -> None:
    """Same patients, same cycle-1 DLT rule: the DLT rates equal mechanistic.py's."""
    np.testing.assert_allclose(outcomes[0].mean(axis=0),
                               population_dlt_rates(TRUTH.toxicity_truth), atol=1e-12)


def test_response_and_toxicity_rise_with_dose_and_are_correlated(
        outcomes: tuple[np.ndarray, np.ndarray]) -> None:
    """Per patient both probabilities rise with dose; through the patient they co-vary.

    At 100 and 150 mg/m2 (DLT rates away from 0 and 1) the correlation of the DLT and response
    indicators is positive for this seed (where most DLTs are certain, it need not be).
    """
    tox, eff = outcomes
    assert np.all(np.diff(eff, axis=1) >= -1e-12) and np.all(np.diff(tox, axis=1) >= -1e-12)
    rates = EfficacyToxicityRates.from_patients(tox, eff)
    assert rates.response[0] < rates.response[-1] and rates.dlt[0] < rates.dlt[-1]
    assert np.all(rates.correlation[1:] > 0.05)
    np.testing.assert_allclose(rates.joint_table.sum(axis=(1, 2)), 1.0)
    np.testing.assert_allclose(rates.joint_table[:, 1, :].sum(axis=1), rates.dlt)


def test_deterministic_given_the_seed_and_a_valid_scenario() -> None:
    """Same seed, same rates; the phase I/II scenario carries them."""
    small = EfficacyToxicityTruth(dose_levels_mg_per_m2=(75, 150), n_patients=6, seed=9)
    first, second = population_rates(small), population_rates(small)
    np.testing.assert_array_equal(first.both, second.both)
    scenario = phase12_scenario(small, max_sample_size=12)
    assert scenario.true_joint_probabilities is not None
    assert scenario.n_doses == 2 and scenario.max_cohorts == 4
    with pytest.raises(ValueError, match="dose_levels_mg_per_m2"):
        EfficacyToxicityTruth(dose_levels_mg_per_m2=(100, 75))


def test_yaml_scenarios_fixed_and_mechanistic(tmp_path: Path) -> None:
    """Both YAML forms load; the mechanistic one carries its doses; unknown keys fail."""
    mechanistic = tmp_path / "m.yaml"
    mechanistic.write_text(yaml.safe_dump({
        "efficacy_toxicity_truth": {"dose_levels_mg_per_m2": [75, 150], "n_patients": 6,
                                    "seed": 9},
        "target_dlt_rate": 0.3, "max_sample_size": 12}))
    scenario, doses = load_phase12_scenario(mechanistic)
    assert doses == (75.0, 150.0) and scenario.target_dlt_rate == 0.3
    rates = population_rates(EfficacyToxicityTruth(dose_levels_mg_per_m2=(75, 150),
                                                   n_patients=6, seed=9))
    np.testing.assert_allclose(scenario.true_efficacy_probabilities,
                               np.clip(rates.response, 1e-4, 1 - 1e-4))
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"true_dlt_probabilities": [0.1, 0.2],
                                   "true_efficacy_probabilities": [0.2, 0.3], "bogus": 1}))
    with pytest.raises(ValueError, match="bogus"):
        load_phase12_scenario(bad)
