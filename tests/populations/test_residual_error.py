"""Residual error: never negative (property test), variance convention, LLOQ, validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats

from pkgym.populations import ResidualError

TRUE_VALUES = hnp.arrays(
    np.float64, st.integers(1, 50),
    elements=st.floats(0.0, 1e6, allow_nan=False, allow_infinity=False),
)
SDS = st.floats(0.0, 100.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(true_values=TRUE_VALUES, additive=SDS, proportional=st.floats(0.0, 3.0),
       seed=st.integers(0, 2**32 - 1))
def test_measure__never_negative(
    true_values: np.ndarray, additive: float, proportional: float, seed: int
) -> None:
    """Any true values >= 0 and sds >= 0 give finite measurements >= 0."""
    error = ResidualError(additive_sd=additive, proportional_sd=proportional)
    measured = error.measure(true_values, np.random.default_rng(seed))
    assert measured.values.shape == true_values.shape
    assert np.all(np.isfinite(measured.values)) and np.all(measured.values >= 0.0)
    assert not measured.censored.any()


@settings(max_examples=100, deadline=None)
@given(true_values=TRUE_VALUES, additive=SDS, lloq=st.floats(1e-3, 1e3),
       seed=st.integers(0, 2**32 - 1))
def test_measure__censored_exactly_below_lloq(
    true_values: np.ndarray, additive: float, lloq: float, seed: int
) -> None:
    """Censored values are NaN; every reported value is >= the LLOQ."""
    error = ResidualError(additive_sd=additive, proportional_sd=0.2, lloq=lloq)
    measured = error.measure(true_values, np.random.default_rng(seed))
    np.testing.assert_array_equal(np.isnan(measured.values), measured.censored)
    assert np.all(measured.values[~measured.censored] >= lloq)


def test_measure__combined_variance_is_add_squared_plus_prop_f_squared() -> None:
    """Far above 0, the sd is sqrt(add^2 + (prop*F)^2) and the mean is F (NONMEM convention)."""
    error = ResidualError(additive_sd=0.5, proportional_sd=0.1)
    truth = np.full(50_000, 20.0)
    values = error.measure(truth, np.random.default_rng(1)).values
    assert abs(values.mean() - 20.0) < 0.03
    assert abs(values.std() / np.sqrt(0.25 + 4.0) - 1.0) < 0.02
    assert error.kind == "combined"


def test_measure__truncated_normal_near_zero() -> None:
    """At F = 0 an additive error gives the half-normal (truncated at 0), not a spike at 0."""
    values = ResidualError(additive_sd=1.0).measure(np.zeros(40_000),
                                                    np.random.default_rng(2)).values
    assert np.mean(values == 0.0) < 0.001
    assert stats.kstest(values, stats.halfnorm.cdf).pvalue > 0.001


def test_measure__lloq_censoring_fraction() -> None:
    """The censored fraction equals P(Y < LLOQ) of the truncated normal."""
    error = ResidualError(additive_sd=1.0, lloq=1.0)
    measured = error.measure(np.full(40_000, 1.0), np.random.default_rng(3))
    truncated = stats.truncnorm(-1.0, np.inf, loc=1.0, scale=1.0)
    assert abs(measured.censored.mean() - truncated.cdf(1.0)) < 0.01


def test_measure__no_noise_returns_true_values() -> None:
    """With both sds 0 the measurements equal the true values; shapes are kept."""
    truth = np.array([[0.0, 1.5], [2.0, 3.0]])
    measured = ResidualError().measure(truth, np.random.default_rng(0))
    np.testing.assert_array_equal(measured.values, truth)
    assert ResidualError().kind == "none"
    assert ResidualError(proportional_sd=0.1).kind == "proportional"


def test_measure__reproducible_from_generator_state() -> None:
    """The same generator seed gives the same measurements."""
    error = ResidualError(additive_sd=0.2, proportional_sd=0.1)
    first = error.measure(np.arange(5.0), np.random.default_rng(9)).values
    np.testing.assert_array_equal(first, error.measure(np.arange(5.0),
                                                       np.random.default_rng(9)).values)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: ResidualError(additive_sd=-0.1), "additive_sd"),
        (lambda: ResidualError(proportional_sd=np.nan), "proportional_sd"),
        (lambda: ResidualError(lloq=0.0), "lloq"),
        (lambda: ResidualError(lloq=np.inf), "lloq"),
        (lambda: ResidualError(additive_sd=1.0).measure([-1.0], np.random.default_rng(0)),
         "true_values"),
        (lambda: ResidualError(additive_sd=1.0).measure([np.nan], np.random.default_rng(0)),
         "true_values"),
        (lambda: ResidualError(additive_sd=1.0).measure([1.0], 0), "rng"),
        (lambda: ResidualError(additive_sd=1.0).sd([-2.0]), "true_values"),
    ],
)
def test_residual__bad_input_raises_naming_argument(call: object, name: str) -> None:
    """Negative/NaN sds, a bad LLOQ, negative or NaN true values and a non-Generator raise."""
    with pytest.raises(ValueError, match=name):
        call()
