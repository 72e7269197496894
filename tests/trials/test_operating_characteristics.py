"""Batched simulation: reproducibility, chunk invariance, OC summaries and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.trials import (
    BoinDesign,
    CrmDesign,
    DoseFindingScenario,
    ThompsonSamplingDesign,
    TrialResults,
    indifference_skeleton,
    operating_characteristics,
    simulate_trials,
)

DESIGNS = {
    "boin": BoinDesign(target=0.3),
    "crm": CrmDesign(skeleton=tuple(indifference_skeleton(0.3, 0.05, 3, 5)), target=0.3),
    "thompson": ThompsonSamplingDesign(target=0.3),
}


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_simulate_trials__same_seed_same_results(name: str, scenario: DoseFindingScenario) -> None:
    """Two runs with one seed are identical; another seed differs."""
    first = simulate_trials(DESIGNS[name], scenario, 100, seed=5)
    second = simulate_trials(DESIGNS[name], scenario, 100, seed=5)
    other = simulate_trials(DESIGNS[name], scenario, 100, seed=6)
    assert np.array_equal(first.patients, second.patients)
    assert np.array_equal(first.selected, second.selected)
    assert not np.array_equal(first.patients, other.patients)


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_simulate_trials__chunk_invariant(name: str, scenario: DoseFindingScenario) -> None:
    """Trials simulated in two chunks equal the same trials simulated at once."""
    whole = simulate_trials(DESIGNS[name], scenario, 300, seed=9)
    head = simulate_trials(DESIGNS[name], scenario, 120, seed=9)
    tail = simulate_trials(DESIGNS[name], scenario, 180, seed=9, first_trial=120)
    assert np.array_equal(whole.patients, np.vstack([head.patients, tail.patients]))
    assert np.array_equal(whole.dlts, np.vstack([head.dlts, tail.dlts]))
    assert np.array_equal(whole.selected, np.concatenate([head.selected, tail.selected]))


def test_simulate_trials__respects_sample_size_and_rules(scenario: DoseFindingScenario) -> None:
    """No trial exceeds the cap, and DLTs never exceed patients."""
    results = simulate_trials(DESIGNS["boin"], scenario, 500, seed=2)
    assert results.patients.sum(axis=1).max() <= scenario.max_sample_size
    assert np.all(results.dlts <= results.patients)


def test_simulate_trials__bad_input_raises(scenario: DoseFindingScenario) -> None:
    """n_trials < 1 and a negative seed are rejected naming the field."""
    with pytest.raises(ValueError, match="n_trials"):
        simulate_trials(DESIGNS["boin"], scenario, 0, seed=1)
    with pytest.raises(ValueError, match="seed"):
        simulate_trials(DESIGNS["boin"], scenario, 5, seed=-1)


def test_operating_characteristics__hand_computed(scenario: DoseFindingScenario) -> None:
    """Four hand-made trials give the expected percentages, means and SEs."""
    patients = np.array([[3, 3, 6, 3, 0], [3, 6, 0, 0, 0], [3, 3, 9, 3, 3], [3, 0, 0, 0, 0]])
    results = TrialResults(
        patients=patients,
        dlts=np.zeros_like(patients),
        selected=np.array([2, 1, 2, -1]),
        seed_entropy=0,
    )
    oc = operating_characteristics(results, scenario)
    assert oc.percent_correct_selection == pytest.approx(50.0)
    assert oc.percent_correct_selection_se == pytest.approx(25.0)
    assert oc.no_selection_percent == pytest.approx(25.0)
    assert oc.mean_sample_size == pytest.approx(48 / 4)
    assert oc.percent_treated_above_mtd == pytest.approx(100 * 9 / 48)
    assert oc.mean_patients_per_dose.tolist() == pytest.approx([3, 3, 3.75, 1.5, 0.75])


def test_operating_characteristics__mismatched_doses_raise(scenario: DoseFindingScenario) -> None:
    """Results with another number of doses are rejected."""
    results = TrialResults(
        patients=np.zeros((3, 2), dtype=int),
        dlts=np.zeros((3, 2), dtype=int),
        selected=np.zeros(3, dtype=int),
        seed_entropy=0,
    )
    with pytest.raises(ValueError, match="n_doses"):
        operating_characteristics(results, scenario)
