"""Dose-toxicity truth: the moved DoseFindingScenario and the random curve generator."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pkgym.models.dose_toxicity import (
    PROBABILITY_BOUNDS,
    DoseFindingScenario,
    RandomDoseToxicity,
    closest_levels,
)
from pkgym.trials import DoseFindingScenario as TrialsScenario

N = 20_000


@pytest.fixture(scope="module")
def curves() -> np.ndarray:
    """20 000 curves of the default generator (5 doses, target 0.3), seed 2024."""
    return RandomDoseToxicity().sample(np.random.default_rng(2024), N)


def test_dose_finding_scenario__is_the_same_class_from_trials() -> None:
    """pkgym.trials re-exports the moved class, so old imports keep working."""
    assert TrialsScenario is DoseFindingScenario


def test_closest_levels__matches_true_mtd_row_by_row(curves: np.ndarray) -> None:
    """The batched MTD rule equals DoseFindingScenario.true_mtd, ties included."""
    rows = np.vstack([curves[:200], [[0.1, 0.25, 0.35, 0.5, 0.6]]])
    expected = [DoseFindingScenario(true_dlt_probabilities=tuple(row), target_dlt_rate=0.3)
                .true_mtd for row in rows]
    assert closest_levels(rows, 0.3).tolist() == expected
    assert expected[-1] == 1


def test_random_dose_toxicity__curves_rise_strictly_within_bounds(curves: np.ndarray) -> None:
    """Every curve is strictly increasing and inside [1e-4, 1 - 1e-4]."""
    assert curves.shape == (N, 5)
    assert np.all(np.diff(curves, axis=1) > 0)
    assert curves.min() >= PROBABILITY_BOUNDS[0] and curves.max() <= PROBABILITY_BOUNDS[1]


def test_random_dose_toxicity__mtd_is_uniform_over_levels(curves: np.ndarray) -> None:
    """The true MTD's level counts pass a chi-square test of uniformity (p > 0.001)."""
    counts = np.bincount(closest_levels(curves, 0.3), minlength=5)
    assert stats.chisquare(counts).pvalue > 1e-3
    assert np.all(np.abs(counts / N - 0.2) < 4 * np.sqrt(0.2 * 0.8 / N))


def _pseudo_uniform_by_the_steps(rng: np.random.Generator, n_doses: int,
                                 target: float) -> np.ndarray:
    """One curve drawn as Clertant & O'Quigley (2017) describe it, one draw at a time.

    As in pkgym, M is drawn again after 1000 failed draws.
    """
    j = int(rng.integers(1, n_doses + 1))
    while True:
        bound = target + (1 - target) * rng.beta(max(n_doses - j, 0.5), 1.0)
        for _ in range(1000):
            curve = np.sort(rng.uniform(0.0, bound, n_doses))
            if int(np.argmin(np.abs(curve - target))) == j - 1:
                return curve


def test_random_dose_toxicity__matches_the_published_steps_in_distribution(
        curves: np.ndarray) -> None:
    """Mean p per level agrees with a one-curve-at-a-time reading of the paper (4 MC SEs)."""
    rng = np.random.default_rng(99)
    reference = np.array([_pseudo_uniform_by_the_steps(rng, 5, 0.3) for _ in range(4000)])
    se = np.sqrt(curves.var(axis=0) / N + reference.var(axis=0) / reference.shape[0])
    np.testing.assert_array_less(np.abs(curves.mean(axis=0) - reference.mean(axis=0)), 4 * se)


def test_random_dose_toxicity__same_seed_same_curves_and_other_seed_differs() -> None:
    """The generator's state alone decides the curves."""
    truth = RandomDoseToxicity(n_doses=4, target_dlt_rate=0.25)
    first = truth.sample(np.random.default_rng(7), 50)
    np.testing.assert_array_equal(first, truth.sample(np.random.default_rng(7), 50))
    assert not np.array_equal(first, truth.sample(np.random.default_rng(8), 50))
    assert first.shape == (50, 4) and truth.sample(np.random.default_rng(7), 0).shape == (0, 4)


@pytest.mark.parametrize(("fields", "message"), [
    ({"n_doses": 1}, "n_doses"), ({"target_dlt_rate": 1.0}, "target_dlt_rate"),
    ({"max_rounds": 0}, "max_rounds")])
def test_random_dose_toxicity__bad_fields_are_named(fields: dict, message: str) -> None:
    """Each invalid field raises a ValueError naming it."""
    with pytest.raises(ValueError, match=message):
        RandomDoseToxicity(**fields)


def test_random_dose_toxicity__impossible_settings_fail_after_max_rounds() -> None:
    """Too few rejection rounds for 2000 curves end in a clear error, not a partial array."""
    truth = RandomDoseToxicity(max_rounds=1)
    with pytest.raises(RuntimeError, match="rejected after 1 rounds"):
        truth.sample(np.random.default_rng(0), 2000)
