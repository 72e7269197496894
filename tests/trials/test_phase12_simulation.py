"""Phase I/II simulator, scenario truth and the BOIN12 spec factory."""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.trials.phase12_simulation import (
    Phase12Scenario,
    boin12_from_spec,
    phase12_operating_characteristics,
    simulate_phase12_trials,
)

SCENARIO = Phase12Scenario(true_dlt_probabilities=(0.05, 0.1, 0.15, 0.3, 0.45),
                           true_efficacy_probabilities=(0.2, 0.35, 0.55, 0.55, 0.55),
                           true_joint_probabilities=(0.02, 0.05, 0.12, 0.2, 0.3),
                           max_sample_size=30)


def test_outcome_frequencies_follow_the_joint_truth() -> None:
    """With one dose level pinned (both levels equal), counts estimate p_T, p_E and p_TE."""
    flat = Phase12Scenario(true_dlt_probabilities=(0.2, 0.2),
                           true_efficacy_probabilities=(0.4, 0.4),
                           true_joint_probabilities=(0.15, 0.15), target_dlt_rate=0.5,
                           min_efficacy_rate=0.05, max_sample_size=30)
    design = flat.design(n_star=100, n_explore=100)
    results = simulate_phase12_trials(design, flat, 2000, seed=5)
    n = results.patients.sum()
    assert results.dlts.sum() / n == pytest.approx(0.2, abs=0.01)
    assert results.responses.sum() / n == pytest.approx(0.4, abs=0.012)


def test_trial_k_is_the_same_in_any_chunk() -> None:
    """Trials 5..9 of one batch equal a batch that starts at trial 5."""
    design = SCENARIO.design()
    whole = simulate_phase12_trials(design, SCENARIO, 10, seed=11)
    part = simulate_phase12_trials(design, SCENARIO, 5, seed=11, first_trial=5)
    np.testing.assert_array_equal(whole.patients[5:], part.patients)
    np.testing.assert_array_equal(whole.selected[5:], part.selected)


def test_boin12_finds_a_clear_obd_most_often() -> None:
    """OBD at level 2 (utility 67 vs <= 61): selected most often, few early stops."""
    results = simulate_phase12_trials(SCENARIO.design(), SCENARIO, 400, seed=2)
    oc = phase12_operating_characteristics(results, SCENARIO)
    assert SCENARIO.true_obd == 2
    selection = np.asarray(oc["selection_percent"])
    assert selection.argmax() == 2 and oc["no_selection_percent"] < 5
    assert np.all(results.patients.sum(axis=1) <= 30)


def test_overly_toxic_scenario_stops_early() -> None:
    """Every dose far above phi_T: most trials stop with no selection."""
    toxic = Phase12Scenario(true_dlt_probabilities=(0.7, 0.8),
                            true_efficacy_probabilities=(0.5, 0.5))
    oc = phase12_operating_characteristics(
        simulate_phase12_trials(toxic.design(), toxic, 300, seed=4), toxic)
    assert oc["no_selection_percent"] > 80


def test_spec_and_scenario_errors_name_the_field() -> None:
    """Bad spec keys and bad scenario fields fail with one line naming them."""
    with pytest.raises(ValueError, match="keys"):
        boin12_from_spec("boin12:bogus=1", SCENARIO)
    with pytest.raises(ValueError, match="n_star must be a whole number"):
        boin12_from_spec("boin12:n_star=2.5", SCENARIO)
    with pytest.raises(ValueError, match="design must be 'boin12'"):
        boin12_from_spec("boin", SCENARIO)
    assert boin12_from_spec("boin12", SCENARIO) == SCENARIO.design()
    with pytest.raises(ValueError, match="true_joint_probabilities"):
        Phase12Scenario(true_dlt_probabilities=(0.1, 0.2), true_efficacy_probabilities=(0.3, 0.3),
                        true_joint_probabilities=(0.2, 0.1))
    with pytest.raises(ValueError, match="min_efficacy"):
        Phase12Scenario(true_dlt_probabilities=(0.1, 0.2), true_efficacy_probabilities=(0.3, 0.3),
                        min_efficacy_rate=1.5)
