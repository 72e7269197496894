"""3+3 rules and exact selection probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.trials import (
    DoseFindingScenario,
    ThreePlusThreeDesign,
    TrialState,
    operating_characteristics,
    simulate_trials,
    three_plus_three_exact,
)


def test_three_plus_three__rules_on_hand_made_states() -> None:
    """0/3 escalates, 1/3 stays, 1/6 escalates, 2/6 stops, top dose 0/3 stops and selects top."""
    design = ThreePlusThreeDesign()
    state = TrialState.from_counts(
        [[3, 0], [3, 0], [6, 0], [6, 0], [3, 3]],
        [[0, 0], [1, 0], [1, 0], [2, 0], [0, 0]],
        [0, 0, 0, 0, 1],
    )
    assert design.next_dose(state).tolist() == [1, 0, 1, 0, 1]
    assert design.stop(state).tolist() == [False, False, False, True, True]
    assert design.select_mtd(state).tolist() == [0, 0, 0, -1, 1]


def test_three_plus_three_exact__matches_simulation(scenario: DoseFindingScenario) -> None:
    """20 000 simulated trials match the exact selection and allocation within 4 MC SEs."""
    exact = three_plus_three_exact(scenario)
    oc = operating_characteristics(
        simulate_trials(ThreePlusThreeDesign(), scenario, 20_000, 3), scenario
    )
    z = (oc.selection_percent - 100 * exact.selection_probabilities) / np.maximum(
        oc.selection_percent_se, 0.05
    )
    assert np.all(np.abs(z) < 4)
    assert abs(oc.no_selection_percent - 100 * exact.no_selection_probability) < 4 * max(
        oc.no_selection_percent_se, 0.05
    )
    z_patients = (oc.mean_patients_per_dose - exact.expected_patients) / np.maximum(
        oc.mean_patients_per_dose_se, 1e-3
    )
    assert np.all(np.abs(z_patients) < 4)


def test_three_plus_three_exact__probabilities_sum_to_one(scenario: DoseFindingScenario) -> None:
    """Selection plus no-selection probabilities sum to one."""
    exact = three_plus_three_exact(scenario)
    assert exact.selection_probabilities.sum() + exact.no_selection_probability == pytest.approx(1)


def test_three_plus_three_exact__small_sample_cap_raises() -> None:
    """A sample-size cap that could bind is rejected naming the field."""
    capped = DoseFindingScenario(
        true_dlt_probabilities=(0.1, 0.2, 0.3), target_dlt_rate=0.3, max_sample_size=9
    )
    with pytest.raises(ValueError, match="max_sample_size"):
        three_plus_three_exact(capped)
