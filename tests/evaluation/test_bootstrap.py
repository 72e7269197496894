"""Bootstrap intervals: coverage, pairing, stratification, validation and reproducibility."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pkgym.evaluation.bootstrap import (
    bootstrap_ci,
    normalised_scores,
    paired_difference_ci,
    performance_profile,
    performance_profiles,
    probability_of_improvement,
    probability_of_improvement_ci,
    stratified_bootstrap_ci,
)
from pkgym.evaluation.metrics import interquartile_mean, mean


def _mean(x: np.ndarray) -> float:
    """Unvalidated mean, to keep the coverage test fast."""
    return float(np.mean(x))


def test_bootstrap_ci__covers_true_mean_about_95_percent() -> None:
    """Over 300 repeats of n=50 normal samples, the 95 % CI covers the true mean 90-98 %."""
    rng = np.random.default_rng(2024)
    true_mean, covered, repeats = 3.0, 0, 300
    for _ in range(repeats):
        sample = rng.normal(true_mean, 2.0, size=50)
        _, low, high = bootstrap_ci(sample, _mean, reps=500, rng=rng)
        covered += low <= true_mean <= high
    assert 0.90 <= covered / repeats <= 0.98


def test_bootstrap_ci__point_is_metric_on_data_and_inside_interval() -> None:
    """The point estimate is the metric of the unresampled scores, within (low, high)."""
    scores = np.random.default_rng(0).normal(size=40)
    point, low, high = bootstrap_ci(scores, interquartile_mean, reps=300,
                                    rng=np.random.default_rng(1))
    assert point == interquartile_mean(scores)
    assert low < point < high


def test_bootstrap_ci__constant_scores_give_degenerate_interval() -> None:
    """All-equal scores have no sampling variability."""
    assert bootstrap_ci(np.full(7, 2.5), mean, reps=50, rng=np.random.default_rng(0)) == (
        2.5, 2.5, 2.5)


def test_bootstrap_ci__resamples_patients_of_two_dimensional_scores() -> None:
    """Rows are resampled whole: rows with equal means give a degenerate interval."""
    scores = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert bootstrap_ci(scores, mean, reps=100, rng=np.random.default_rng(0)) == (0.5, 0.5, 0.5)


def test_bootstrap_ci__same_seed_same_interval() -> None:
    """Reproducible with the same Generator seed, different with another seed."""
    scores = np.random.default_rng(0).normal(size=30)
    first = bootstrap_ci(scores, mean, reps=200, rng=np.random.default_rng(5))
    again = bootstrap_ci(scores, mean, reps=200, rng=np.random.default_rng(5))
    other = bootstrap_ci(scores, mean, reps=200, rng=np.random.default_rng(6))
    assert first == again
    assert first != other


def test_bootstrap_ci__higher_confidence_is_wider() -> None:
    """A 99 % interval contains the 80 % interval from the same replicates."""
    scores = np.random.default_rng(0).normal(size=30)
    _, lo80, hi80 = bootstrap_ci(scores, mean, reps=400, rng=np.random.default_rng(3),
                                 confidence=0.8)
    _, lo99, hi99 = bootstrap_ci(scores, mean, reps=400, rng=np.random.default_rng(3),
                                 confidence=0.99)
    assert lo99 < lo80 < hi80 < hi99


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"reps": 0}, "reps must be >= 1"), ({"confidence": 1.0}, "confidence must be in"),
     ({"rng": np.random.RandomState(0)}, "rng must be a numpy.random.Generator")],
)
def test_bootstrap_ci__rejects_bad_arguments(kwargs: dict, message: str) -> None:
    """Bad reps, confidence or a legacy RandomState raise, naming the argument."""
    args: dict = {"reps": 10, "rng": np.random.default_rng(0)} | kwargs
    with pytest.raises(ValueError, match=message):
        bootstrap_ci(np.ones(3), mean, **args)


def test_bootstrap_ci__rejects_three_dimensional_scores() -> None:
    """Scores must be (n_scores,) or (n_seeds, n_scenarios)."""
    with pytest.raises(ValueError, match=r"scores must have axes \(n_scores,\)"):
        bootstrap_ci(np.ones((2, 2, 2)), mean, reps=10, rng=np.random.default_rng(0))


def test_paired_difference_ci__identical_policies_exactly_zero() -> None:
    """Two identical per-patient score arrays give exactly (0, 0, 0)."""
    scores = np.random.default_rng(0).normal(size=25)
    out = paired_difference_ci({"ref": scores, "copy": scores.copy()}, "ref",
                               interquartile_mean, reps=300, rng=np.random.default_rng(1))
    assert out == {"copy": (0.0, 0.0, 0.0)}


def test_paired_difference_ci__pairing_detects_small_consistent_gain() -> None:
    """A small per-patient gain hidden in large between-patient spread excludes zero."""
    rng = np.random.default_rng(0)
    ref = rng.normal(0.0, 10.0, size=60)
    better = ref + 0.2 + rng.normal(0.0, 0.05, size=60)
    out = paired_difference_ci({"ref": ref, "better": better}, "ref", mean, reps=500,
                               rng=np.random.default_rng(1))
    point, low, high = out["better"]
    assert 0.0 < low < point < high < 0.4
    assert point == pytest.approx(mean(better) - mean(ref))


def test_paired_difference_ci__same_seed_same_result() -> None:
    """Reproducible with the same Generator seed."""
    rng = np.random.default_rng(0)
    scores = {"a": rng.normal(size=20), "b": rng.normal(size=20), "c": rng.normal(size=20)}
    first = paired_difference_ci(scores, "a", mean, reps=100, rng=np.random.default_rng(9))
    again = paired_difference_ci(scores, "a", mean, reps=100, rng=np.random.default_rng(9))
    assert first == again and set(first) == {"b", "c"}


def test_paired_difference_ci__rejects_unequal_patient_counts() -> None:
    """Methods scored on different numbers of patients cannot be paired."""
    with pytest.raises(ValueError, match="scores must hold arrays of equal shape"):
        paired_difference_ci({"a": np.ones(3), "b": np.ones(4)}, "a", mean, reps=10,
                             rng=np.random.default_rng(0))


def test_paired_difference_ci__rejects_unknown_reference() -> None:
    """The reference must be a key of scores."""
    with pytest.raises(ValueError, match="reference must be a key of scores"):
        paired_difference_ci({"a": np.ones(3)}, "b", mean, reps=10, rng=np.random.default_rng(0))


def test_probability_of_improvement__hand_computed_with_ties() -> None:
    """[1, 3] vs [2, 3]: pairs give 0 + 0 + 1 + 0.5 over 4 = 0.375."""
    assert probability_of_improvement(np.array([1.0, 3.0]), np.array([2.0, 3.0])) == 0.375


def test_probability_of_improvement__matches_pairwise_count() -> None:
    """Equals the brute-force pair count on integer scores with many ties."""
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 5, size=13).astype(float), rng.integers(0, 5, size=9).astype(float)
    brute = np.mean([(a > b) + 0.5 * (a == b) for a, b in itertools.product(x, y)])
    assert probability_of_improvement(x, y) == pytest.approx(brute)
    assert probability_of_improvement(x, y) + probability_of_improvement(y, x) == pytest.approx(1)


def test_probability_of_improvement__rejects_two_dimensional_input() -> None:
    """A matrix passed as x raises: x must be a vector of scores."""
    with pytest.raises(ValueError, match=r"x must have axes \(n_scores,\)"):
        probability_of_improvement(np.ones((2, 2)), np.ones(2))


def test_probability_of_improvement_ci__interval_around_point_and_reproducible() -> None:
    """The interval contains the point estimate and repeats with the same seed."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(0.5, 1.0, size=40), rng.normal(0.0, 1.0, size=30)
    first = probability_of_improvement_ci(x, y, reps=300, rng=np.random.default_rng(2))
    again = probability_of_improvement_ci(x, y, reps=300, rng=np.random.default_rng(2))
    assert first == again
    assert first[1] < first[0] < first[2]
    assert first[0] == probability_of_improvement(x, y)


def test_normalised_scores__baseline_zero_oracle_one_per_task() -> None:
    """Baseline maps to 0 and oracle to 1, each task with its own bounds."""
    scores = np.array([[0.0, 10.0], [1.0, 50.0], [0.5, 30.0]])
    out = normalised_scores(scores, np.array([0.0, 10.0]), np.array([1.0, 50.0]))
    np.testing.assert_allclose(out, [[0.0, 0.0], [1.0, 1.0], [0.5, 0.5]])


def test_normalised_scores__rejects_equal_bounds() -> None:
    """Equal high and low for any task raises."""
    with pytest.raises(ValueError, match="high must differ from low"):
        normalised_scores(np.ones((2, 2)), np.array([0.0, 1.0]), np.array([1.0, 1.0]))


def test_normalised_scores__rejects_bounds_not_per_task() -> None:
    """Bounds must be scalars or (n_tasks,)."""
    with pytest.raises(ValueError, match=r"low must be a scalar or have axes \(n_tasks,\)"):
        normalised_scores(np.ones((2, 3)), np.zeros(2), 1.0)


def test_stratified_bootstrap_ci__resamples_within_each_task() -> None:
    """Rows with equal means vary once tasks are resampled independently."""
    scores = np.array([[0.0, 1.0], [1.0, 0.0]])
    point, low, high = stratified_bootstrap_ci(scores, mean, reps=200,
                                               rng=np.random.default_rng(0))
    assert point == 0.5 and low < 0.5 < high
    assert {low, high} <= {0.0, 0.25, 0.75, 1.0}


def test_stratified_bootstrap_ci__covers_true_mean() -> None:
    """Over 200 repeats of 20 runs x 3 tasks, the 95 % CI covers the true mean 88-99 %."""
    rng = np.random.default_rng(7)
    task_means = np.array([0.0, 1.0, 5.0])
    covered, repeats = 0, 200
    for _ in range(repeats):
        scores = rng.normal(task_means, 1.0, size=(20, 3))
        _, low, high = stratified_bootstrap_ci(scores, _mean, reps=300, rng=rng)
        covered += low <= task_means.mean() <= high
    assert 0.88 <= covered / repeats <= 0.99


def test_stratified_bootstrap_ci__rejects_vector_scores() -> None:
    """Scores must be (n_runs, n_tasks)."""
    with pytest.raises(ValueError, match=r"scores must have axes \(n_runs, n_tasks\)"):
        stratified_bootstrap_ci(np.ones(5), mean, reps=10, rng=np.random.default_rng(0))


def test_performance_profile__fraction_strictly_above_threshold() -> None:
    """Scores 0.1, 0.5, 0.5, 0.9 give 1, 0.25 and 0 above 0, 0.5 and 1."""
    out = performance_profile(np.array([[0.1, 0.5], [0.5, 0.9]]), np.array([0.0, 0.5, 1.0]))
    np.testing.assert_allclose(out, [1.0, 0.25, 0.0])


def test_performance_profiles__one_profile_per_method() -> None:
    """A dict of methods gives a dict of profiles with the thresholds' length."""
    out = performance_profiles({"a": np.array([1.0, 2.0]), "b": np.array([3.0, 4.0])},
                               np.array([1.5, 3.5]))
    assert set(out) == {"a", "b"}
    np.testing.assert_allclose(out["a"], [0.5, 0.0])
    np.testing.assert_allclose(out["b"], [1.0, 0.5])


def test_performance_profile__rejects_matrix_thresholds() -> None:
    """Thresholds must be (n_thresholds,)."""
    with pytest.raises(ValueError, match=r"thresholds must have axes \(n_thresholds,\)"):
        performance_profile(np.ones(3), np.ones((2, 2)))
