"""Constrained Thompson-sampling rules."""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.trials import ThompsonSamplingDesign, TrialState


def test_thompson__never_skips_or_enters_eliminated_doses() -> None:
    """With random draws, picks stay <= highest tried + 1 and below the eliminated dose."""
    rng = np.random.default_rng(1)
    state = TrialState.from_counts([[3, 3, 0, 0]] * 500, [[0, 0, 0, 0]] * 500, [1] * 500)
    state.uniforms[:] = rng.random(state.uniforms.shape)
    picks = ThompsonSamplingDesign(target=0.3).next_dose(state)
    assert picks.max() <= 2 and set(picks.tolist()) == {0, 1, 2}
    state.patients[:, 2], state.dlts[:, 2] = 3, 3
    picks = ThompsonSamplingDesign(target=0.3).next_dose(state)
    assert picks.max() <= 1


def test_thompson__stops_and_selects_none_when_lowest_eliminated() -> None:
    """3/3 DLTs at the lowest dose stops the trial with no MTD."""
    state = TrialState.from_counts([[3, 0]], [[3, 0]], [0])
    design = ThompsonSamplingDesign(target=0.3)
    assert design.stop(state).tolist() == [True] and design.select_mtd(state).tolist() == [-1]


def test_thompson__bad_prior_raises() -> None:
    """A non-positive Beta prior parameter is rejected naming the field."""
    with pytest.raises(ValueError, match="prior_alpha"):
        ThompsonSamplingDesign(target=0.3, prior_alpha=0.0)
