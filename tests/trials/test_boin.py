"""BOIN boundaries, isotonic regression, elimination and decision rules."""

from __future__ import annotations

import numpy as np
import pytest
from published_tables import BOIN_BOUNDARIES_TARGET_0_3

from pkgym.trials import BoinDesign, TrialState, boin_boundaries, isotonic_rates
from pkgym.trials.boin import elimination_levels, select_isotonic_mtd


def _reference_pava(rates: list[float], weights: list[float]) -> list[float]:
    """Textbook pool-adjacent-violators on one sequence."""
    blocks = [[r, w, 1] for r, w in zip(rates, weights, strict=True)]
    merged: list[list[float]] = []
    for block in blocks:
        merged.append(block)
        while len(merged) > 1 and merged[-2][0] > merged[-1][0]:
            (r1, w1, c1), (r2, w2, c2) = merged[-2], merged[-1]
            merged[-2:] = [[(r1 * w1 + r2 * w2) / (w1 + w2), w1 + w2, c1 + c2]]
    return [r for r, _, c in merged for _ in range(int(c))]


def test_boin_boundaries__match_published_values() -> None:
    """Target 0.3 gives lambda_e 0.236 and lambda_d 0.358 (published, truncated)."""
    ours = boin_boundaries(0.3)
    assert ours == pytest.approx(BOIN_BOUNDARIES_TARGET_0_3["package"], abs=1e-7)
    assert ours == pytest.approx(BOIN_BOUNDARIES_TARGET_0_3["published"], abs=1e-3)


def test_boin_boundaries__bad_phi_raises() -> None:
    """phi1 >= target is rejected with the allowed ordering."""
    with pytest.raises(ValueError, match="phi1 < target < phi2"):
        boin_boundaries(0.3, phi1=0.4)


def test_isotonic_rates__matches_reference_pava() -> None:
    """Batched max-min isotonic fit equals textbook PAVA on random tried doses."""
    rng = np.random.default_rng(0)
    patients = rng.integers(1, 10, size=(200, 6))
    dlts = rng.binomial(patients, 0.4)
    fits = isotonic_rates(patients, dlts)
    for row in range(200):
        expected = _reference_pava(list(dlts[row] / patients[row]), list(patients[row]))
        assert fits[row] == pytest.approx(expected)


def test_isotonic_rates__untried_doses_are_nan() -> None:
    """Doses with no patients get NaN and do not affect the fit."""
    fits = isotonic_rates(np.array([[3, 3, 0]]), np.array([[2, 0, 0]]))
    assert fits[0, :2] == pytest.approx([1 / 3, 1 / 3]) and np.isnan(fits[0, 2])


def test_elimination_levels__three_of_three_eliminates() -> None:
    """3/3 DLTs at target 0.3 eliminates (Pr > 0.95); 2/3 does not (Pr = 0.916)."""
    levels = elimination_levels(np.array([[3, 3], [3, 3]]), np.array([[0, 3], [0, 2]]), 0.3)
    assert levels.tolist() == [1, 2]


def test_select_isotonic_mtd__tie_rule() -> None:
    """Tied estimates below target pick the higher dose; above target the lower dose."""
    below = select_isotonic_mtd(np.array([[6, 6, 3]]), np.array([[1, 1, 3]]), 0.3, np.array([2]))
    above = select_isotonic_mtd(np.array([[6, 6, 0]]), np.array([[3, 3, 0]]), 0.3, np.array([3]))
    assert below.tolist() == [1] and above.tolist() == [0]


def test_boin_design__follows_published_decision_path() -> None:
    """Replays the worked example of Han, Pan, Zhang, Liu & Yuan (2019, p. 25), target 0.3."""
    cohorts = [
        (1, "NNN", 2),
        (2, "NNN", 3),
        (3, "NTT", 2),
        (2, "NTN", 3),
        (3, "NNN", 3),
        (3, "NNN", 4),
        (4, "TTT", 3),
        (3, "NTN", 3),
        (3, "NNT", 3),
        (3, "TNN", 3),
    ]
    design = BoinDesign(target=0.3)
    state = TrialState.empty(n_trials=1, n_doses=5, start_level=0)
    for dose, outcome, recommended in cohorts:
        state.patients[0, dose - 1] += 3
        state.dlts[0, dose - 1] += outcome.count("T")
        state.levels[0] = dose - 1
        assert design.next_dose(state)[0] == recommended - 1
        assert not design.stop(state)[0]
    assert state.patients[0].tolist() == [3, 6, 18, 3, 0]


def test_boin_design__stops_when_lowest_dose_eliminated() -> None:
    """3/3 DLTs at the lowest dose stops the trial and selects no MTD."""
    state = TrialState.from_counts([[3, 0, 0]], [[3, 0, 0]], [0])
    design = BoinDesign(target=0.3)
    assert design.stop(state).tolist() == [True]
    assert design.select_mtd(state).tolist() == [-1]


def test_boin_design__does_not_escalate_into_eliminated_dose() -> None:
    """0/3 at dose 1 with dose 2 eliminated keeps the trial at dose 1."""
    state = TrialState.from_counts([[3, 6, 3]], [[0, 0, 3]], [1])
    assert BoinDesign(target=0.3).next_dose(state).tolist() == [1]


def test_boin_design__bad_input_raises() -> None:
    """An out-of-range target is rejected naming the field."""
    with pytest.raises(ValueError, match="target"):
        BoinDesign(target=1.2)
