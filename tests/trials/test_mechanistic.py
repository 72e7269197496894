"""Mechanistic truth: population DLT rates from docetaxel virtual patients."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pkgym.trials.mechanistic import (
    MechanisticTruth,
    load_trial_scenario,
    patient_dlt_probabilities,
    population_dlt_rates,
)

DOSES = (60.0, 75.0, 100.0, 125.0, 150.0)
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_population_rates__increase_with_dose() -> None:
    """Each patient's DLT probability, and so the population rate, rises with dose."""
    truth = MechanisticTruth(dose_levels_mg_per_m2=DOSES, n_patients=300, seed=4)
    per_patient = patient_dlt_probabilities(truth)
    assert np.all(np.diff(per_patient, axis=1) >= 0)
    rates = per_patient.mean(axis=0)
    assert np.all(np.diff(rates) > 0)
    assert 0 < rates[0] < 0.1 and 0.2 < rates[-1] < 0.6


def test_population_rates__reproducible_with_seed_and_batch_invariant() -> None:
    """Same seed, same rates; another seed differs; patient k is the same in any cohort size."""
    truth = MechanisticTruth(dose_levels_mg_per_m2=(75.0, 150.0), n_patients=100, seed=7)
    np.testing.assert_array_equal(population_dlt_rates(truth), population_dlt_rates(truth))
    other = MechanisticTruth(dose_levels_mg_per_m2=(75.0, 150.0), n_patients=100, seed=8)
    assert not np.array_equal(population_dlt_rates(truth), population_dlt_rates(other))
    small = MechanisticTruth(dose_levels_mg_per_m2=(75.0, 150.0), n_patients=10, seed=7)
    np.testing.assert_array_equal(patient_dlt_probabilities(small),
                                  patient_dlt_probabilities(truth)[:10])


@pytest.mark.parametrize(("field", "value"), [
    ("dose_levels_mg_per_m2", (75.0,)),
    ("dose_levels_mg_per_m2", (100.0, 75.0)),
    ("dose_levels_mg_per_m2", (0.0, 75.0)),
    ("n_patients", 0),
    ("seed", -1),
    ("grade4_days_limit", 21),
])
def test_truth__bad_field_is_named(field: str, value: object) -> None:
    """Bad input raises ValueError naming the field."""
    kwargs: dict = {"dose_levels_mg_per_m2": (75.0, 100.0), field: value}
    with pytest.raises(ValueError, match=field):
        MechanisticTruth(**kwargs)


def test_load__docetaxel_scenario_is_mechanistic() -> None:
    """The shipped docetaxel YAML builds a scenario whose truth is the population rates."""
    scenario, doses = load_trial_scenario(SCENARIOS / "dose_finding_docetaxel.yaml")
    assert doses is not None and len(doses) == scenario.n_doses
    truth = MechanisticTruth(dose_levels_mg_per_m2=doses, n_patients=2000, seed=0)
    np.testing.assert_allclose(scenario.true_dlt_probabilities, population_dlt_rates(truth))
    assert np.all(np.diff(scenario.true_dlt_probabilities) > 0)


def test_load__classic_scenario_is_fixed_truth() -> None:
    """The classic YAML is a fixed table with no doses; its MTD is level 2 (0.25)."""
    scenario, doses = load_trial_scenario(SCENARIOS / "dose_finding_classic.yaml")
    assert doses is None
    assert scenario.true_dlt_probabilities == (0.1, 0.25, 0.4, 0.55, 0.7)
    assert scenario.true_mtd == 1 and scenario.max_sample_size == 30


@pytest.mark.parametrize("text", [
    "mechanistic_truth: {dose_levels_mg_per_m2: [75, 100], cohort: 5}\ntarget_dlt_rate: 0.3\n",
    "mechanistic_truth: {dose_levels_mg_per_m2: [75, 100]}\ntarget_dlt_rate: 0.3\nextra: 1\n",
    "true_dlt_probabilities: [0.1, 0.3]\ntarget_dlt_rate: 0.3\nmechanistic: 1\n",
])
def test_load__unknown_keys_are_errors(tmp_path: Path, text: str) -> None:
    """Unknown keys, at the top or inside mechanistic_truth, are errors naming the key."""
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match="unknown field"):
        load_trial_scenario(path)
