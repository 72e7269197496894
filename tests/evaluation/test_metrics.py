"""Clinical metrics and aggregates against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.evaluation.metrics import (
    in_range,
    interquartile_mean,
    mean,
    mean_absolute_deviation,
    median,
    target_attainment,
    time_in_range_rosendaal,
)

TEN_DAYS_H = np.array([0.0, 240.0])


def test_time_in_range_rosendaal__rising_inr_half_in_range() -> None:
    """INR 1.5 -> 3.5 over ten days spends exactly half the time in 2-3."""
    ttr = time_in_range_rosendaal(TEN_DAYS_H, np.array([[1.5, 3.5]]), 2.0, 3.0)
    np.testing.assert_allclose(ttr, [0.5])


def test_time_in_range_rosendaal__falling_inr_half_in_range() -> None:
    """A falling INR 3.5 -> 1.5 is symmetric to a rising one."""
    ttr = time_in_range_rosendaal(TEN_DAYS_H, np.array([[3.5, 1.5]]), 2.0, 3.0)
    np.testing.assert_allclose(ttr, [0.5])


def test_time_in_range_rosendaal__segment_crossing_whole_range() -> None:
    """A line from 1 to 5 crosses [2, 3] in a quarter of the interval."""
    ttr = time_in_range_rosendaal(TEN_DAYS_H, np.array([[1.0, 5.0]]), 2.0, 3.0)
    np.testing.assert_allclose(ttr, [0.25])


def test_time_in_range_rosendaal__flat_segments_in_and_out() -> None:
    """Constant values are fully in or fully out of range, bounds inclusive."""
    values = np.array([[2.5, 2.5], [3.0, 3.0], [4.0, 4.0]])
    ttr = time_in_range_rosendaal(TEN_DAYS_H, values, 2.0, 3.0)
    np.testing.assert_allclose(ttr, [1.0, 1.0, 0.0])


def test_time_in_range_rosendaal__weights_segments_by_duration() -> None:
    """10 h fully in range plus 10/3 h of 2.5 -> 4.0 gives (40/3) / 20 = 2/3."""
    ttr = time_in_range_rosendaal(np.array([0.0, 10.0, 20.0]), np.array([[2.5, 2.5, 4.0]]),
                                  2.0, 3.0)
    np.testing.assert_allclose(ttr, [2.0 / 3.0])


def test_time_in_range_rosendaal__unequal_spacing() -> None:
    """30 h in range, then a quarter of a 10 h 2.5 -> 4.5 segment: 32.5 / 40."""
    ttr = time_in_range_rosendaal(np.array([0.0, 30.0, 40.0]), np.array([[2.5, 2.5, 4.5]]),
                                  2.0, 3.0)
    np.testing.assert_allclose(ttr, [32.5 / 40.0])


def test_time_in_range_rosendaal__skips_missing_measurement() -> None:
    """A NaN in the middle is skipped: the line runs from the neighbouring measurements."""
    ttr = time_in_range_rosendaal(np.array([0.0, 100.0, 240.0]),
                                  np.array([[1.5, np.nan, 3.5], [1.5, 2.5, 3.5]]), 2.0, 3.0)
    np.testing.assert_allclose(ttr, [0.5, 0.5])


def test_time_in_range_rosendaal__fewer_than_two_measurements_is_nan() -> None:
    """A patient with one measurement has no interval and gets NaN."""
    ttr = time_in_range_rosendaal(TEN_DAYS_H, np.array([[np.nan, 2.5], [2.5, 2.5]]), 2.0, 3.0)
    assert np.isnan(ttr[0]) and ttr[1] == 1.0


def test_time_in_range_rosendaal__per_patient_times() -> None:
    """Times of shape (n_patients, n_times) give each patient their own grid."""
    times = np.array([[0.0, 10.0, 20.0], [0.0, 10.0, 40.0]])
    values = np.array([[2.5, 2.5, 4.0], [2.5, 2.5, 4.0]])
    ttr = time_in_range_rosendaal(times, values, 2.0, 3.0)
    np.testing.assert_allclose(ttr, [(10 + 10 / 3) / 20, (10 + 30 / 3) / 40])


@pytest.mark.parametrize("values", [np.array([1.5, 3.5]), np.zeros((1, 2, 1)), np.zeros((0, 2))])
def test_time_in_range_rosendaal__rejects_bad_value_axes(values: np.ndarray) -> None:
    """Values that are not (n_patients, n_times) raise, naming the argument and axes."""
    with pytest.raises(ValueError, match=r"values must have axes \(n_patients, n_times\)"):
        time_in_range_rosendaal(TEN_DAYS_H, values, 2.0, 3.0)


def test_time_in_range_rosendaal__rejects_mismatched_times() -> None:
    """Times that do not match n_times raise, naming times_h and its axes."""
    with pytest.raises(ValueError, match=r"times_h must have axes \(n_times,\)"):
        time_in_range_rosendaal(np.array([0.0, 1.0, 2.0]), np.array([[1.5, 3.5]]), 2.0, 3.0)


def test_time_in_range_rosendaal__rejects_non_increasing_times() -> None:
    """Repeated or decreasing times raise."""
    with pytest.raises(ValueError, match="times_h must be finite and strictly increasing"):
        time_in_range_rosendaal(np.array([0.0, 0.0]), np.array([[1.5, 3.5]]), 2.0, 3.0)


def test_time_in_range_rosendaal__rejects_inverted_range() -> None:
    """Low above high raises."""
    with pytest.raises(ValueError, match="low must be <= high"):
        time_in_range_rosendaal(TEN_DAYS_H, np.array([[1.5, 3.5]]), 3.0, 2.0)


def test_in_range__inclusive_bounds_and_missing_false() -> None:
    """Bounds count as in range; NaN is never in range."""
    out = in_range(np.array([[1.0, 2.0, 3.0, 4.0, np.nan]]), 2.0, 3.0)
    np.testing.assert_array_equal(out, [[False, True, True, False, False]])


def test_target_attainment__fraction_of_measured_points() -> None:
    """Two of three measured points in range gives 2/3; all missing gives NaN."""
    values = np.array([[1.0, 2.0, 3.0, np.nan], [np.nan, np.nan, np.nan, np.nan]])
    out = target_attainment(values, 2.0, 3.0)
    np.testing.assert_allclose(out[0], 2.0 / 3.0)
    assert np.isnan(out[1])


def test_target_attainment__rejects_one_dimensional_values() -> None:
    """A flat vector is not (n_patients, n_times)."""
    with pytest.raises(ValueError, match=r"values must have axes \(n_patients, n_times\)"):
        target_attainment(np.array([1.0, 2.0]), 2.0, 3.0)


def test_mean_absolute_deviation__scalar_and_per_patient_target() -> None:
    """|1-2|, |3-2|, |4-2| averages to 4/3; a per-patient target broadcasts over times."""
    values = np.array([[1.0, 3.0, 4.0], [10.0, 12.0, np.nan]])
    np.testing.assert_allclose(mean_absolute_deviation(values, 2.0), [4 / 3, 9.0])
    np.testing.assert_allclose(mean_absolute_deviation(values, np.array([[2.0], [11.0]])),
                               [4 / 3, 1.0])


def test_mean_absolute_deviation__rejects_unbroadcastable_target() -> None:
    """A target that does not broadcast to values raises, naming target."""
    with pytest.raises(ValueError, match=r"target must broadcast to values axes"):
        mean_absolute_deviation(np.ones((2, 3)), np.ones(2))


def test_aggregates__hand_computed_values() -> None:
    """Mean, median and IQM of small arrays match hand computation."""
    scores = np.array([-50.0, 2.0, 3.0, 100.0])
    assert mean(scores) == pytest.approx(13.75)
    assert median(scores) == pytest.approx(2.5)
    assert interquartile_mean(scores) == pytest.approx(2.5)


def test_interquartile_mean__pools_two_dimensional_scores() -> None:
    """IQM of a (n_seeds, n_scenarios) array trims the pooled scores: 0..7 gives mean(2..5)."""
    assert interquartile_mean(np.arange(8.0).reshape(2, 4)) == pytest.approx(3.5)


def test_interquartile_mean__robust_to_outliers() -> None:
    """Changing the extreme quarter leaves the IQM unchanged."""
    base = np.arange(1.0, 9.0)
    spoiled = base.copy()
    spoiled[-1] = 1e9
    assert interquartile_mean(spoiled) == interquartile_mean(base)


@pytest.mark.parametrize("scores", [np.zeros((2, 2, 2)), np.array([]), np.array([1.0, np.nan])])
def test_aggregates__reject_bad_scores(scores: np.ndarray) -> None:
    """Empty, 3-D or non-finite scores raise, naming scores and its axes."""
    for aggregate in (mean, median, interquartile_mean):
        with pytest.raises(ValueError, match="scores must"):
            aggregate(scores)
