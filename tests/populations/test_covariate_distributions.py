"""Covariate specs: inverse-CDF mappings, truncation, frequencies, Hardy-Weinberg, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from pkgym.populations import (
    Bernoulli,
    BoundedLogNormal,
    BoundedNormal,
    Categorical,
    Genotype,
    Uniform,
    patient_uniforms,
    truncated_normal_ppf,
)

N = 40_000


def draws(spec: object, seed: int = 0, n: int = N) -> np.ndarray:
    """Sample a scalar spec from the covariates stream."""
    return spec.from_uniforms(patient_uniforms(seed, n, spec.n_draws))


def test_truncated_normal_ppf__matches_scipy_truncnorm() -> None:
    """The inverse CDF equals scipy.stats.truncnorm.ppf, including an upper-tail interval."""
    u = np.linspace(0.001, 0.999, 101)
    for low, high in [(-np.inf, np.inf), (-1.0, 2.0), (3.0, 6.0), (-7.0, -4.0), (2.0, np.inf)]:
        np.testing.assert_allclose(truncated_normal_ppf(u, low, high),
                                   stats.truncnorm.ppf(u, low, high), rtol=1e-7, atol=1e-9)


def test_bounded_normal__stays_in_bounds_with_truncated_moments() -> None:
    """Values lie in [low, high] with the mean of the truncated normal."""
    spec = BoundedNormal(mean=50.0, sd=20.0, low=18.0, high=90.0)
    values = draws(spec)
    assert values.min() >= 18.0 and values.max() <= 90.0
    a, b = (18.0 - 50.0) / 20.0, (90.0 - 50.0) / 20.0
    expected = stats.truncnorm.mean(a, b, loc=50.0, scale=20.0)
    assert abs(values.mean() - expected) < 0.3


def test_bounded_log_normal__median_and_cv() -> None:
    """Untruncated: median as given, log-sd from the CV; truncated: inside the bounds."""
    spec = BoundedLogNormal(median=0.9, cv=0.3)
    values = draws(spec)
    assert abs(np.median(values) / 0.9 - 1.0) < 0.01
    assert abs(np.log(values).std() / math.sqrt(math.log1p(0.09)) - 1.0) < 0.02
    bounded = draws(BoundedLogNormal(median=0.9, sd_log=0.5, low=0.5, high=1.2))
    assert bounded.min() >= 0.5 and bounded.max() <= 1.2


def test_uniform__covers_interval_evenly() -> None:
    """Values lie in [low, high) with mean at the midpoint."""
    values = draws(Uniform(low=18.0, high=80.0))
    assert values.min() >= 18.0 and values.max() < 80.0
    assert abs(values.mean() - 49.0) < 0.3


def test_categorical__frequencies_match_probabilities() -> None:
    """Observed label frequencies match the given probabilities (chi-square, p > 0.001)."""
    probabilities = {"white": 0.6, "black": 0.25, "asian": 0.1, "other": 0.05}
    values = draws(Categorical(probabilities=probabilities))
    observed = [np.sum(values == label) for label in probabilities]
    expected = [p * N for p in probabilities.values()]
    assert stats.chisquare(observed, expected).pvalue > 0.001


def test_bernoulli__ints_with_frequency_p() -> None:
    """Values are 0/1 int64 with mean p."""
    values = draws(Bernoulli(p=0.3))
    assert values.dtype == np.int64 and set(np.unique(values)) == {0, 1}
    assert abs(values.mean() - 0.3) < 0.01


def test_genotype__frequencies_match_hardy_weinberg() -> None:
    """Diplotype counts match p^2 and 2pq (chi-square, p > 0.001); labels are canonical."""
    spec = Genotype(allele_frequencies={"*1": 0.7, "*2": 0.2, "*3": 0.1})
    values = draws(spec, seed=11)
    expected = spec.hardy_weinberg_frequencies()
    assert set(np.unique(values)) == set(expected)
    observed = [np.sum(values == label) for label in expected]
    assert stats.chisquare(observed, [f * N for f in expected.values()]).pvalue > 0.001
    assert math.isclose(sum(expected.values()), 1.0)
    assert expected["*1/*3"] == pytest.approx(2 * 0.7 * 0.1)


def test_genotype__allele_order_is_canonical() -> None:
    """A draw of (*3, *1) is labelled '*1/*3'."""
    spec = Genotype(allele_frequencies={"*1": 0.5, "*3": 0.5})
    assert spec.from_uniforms(np.array([[0.9, 0.1]])).tolist() == ["*1/*3"]


@pytest.mark.parametrize(
    ("factory", "name"),
    [
        (lambda: BoundedNormal(mean=0.0, sd=-1.0), "sd"),
        (lambda: BoundedNormal(mean=float("nan"), sd=1.0), "mean"),
        (lambda: BoundedNormal(mean=0.0, sd=1.0, low=2.0, high=1.0), "low"),
        (lambda: BoundedNormal(mean=0.0, sd=1.0, low=50.0, high=60.0), "low, high"),
        (lambda: BoundedLogNormal(median=-1.0, cv=0.3), "median"),
        (lambda: BoundedLogNormal(median=1.0), "cv or sd_log"),
        (lambda: BoundedLogNormal(median=1.0, cv=0.3, sd_log=0.3), "cv or sd_log"),
        (lambda: BoundedLogNormal(median=1.0, cv=-0.3), "cv"),
        (lambda: BoundedLogNormal(median=1.0, cv=0.3, low=-1.0), "low"),
        (lambda: Uniform(low=1.0, high=float("inf")), "high"),
        (lambda: Uniform(low=3.0, high=1.0), "low"),
        (lambda: Categorical(probabilities={"a": 0.5, "b": 0.6}), "probabilities"),
        (lambda: Categorical(probabilities={"a": -0.5, "b": 1.5}), "probabilities"),
        (lambda: Categorical(probabilities={}), "probabilities"),
        (lambda: Categorical(probabilities={"a": float("nan")}), "probabilities"),
        (lambda: Bernoulli(p=1.5), "p"),
        (lambda: Bernoulli(p=float("nan")), "p"),
        (lambda: Genotype(allele_frequencies={"*1": 0.9}), "allele_frequencies"),
        (lambda: Genotype(allele_frequencies={"*1/x": 1.0}), "allele_frequencies"),
    ],
)
def test_specs__bad_parameters_raise_naming_them(factory: object, name: str) -> None:
    """Negative sds, empty intervals, NaN and bad frequencies raise ValueError naming the field."""
    with pytest.raises(ValueError, match=name):
        factory()


@pytest.mark.parametrize(
    "uniforms", [np.array([0.5]), np.array([[0.5, 0.5]]), np.array([[0.0]]), np.array([[np.nan]])]
)
def test_specs__bad_uniforms_raise_naming_them(uniforms: np.ndarray) -> None:
    """Wrong shapes and values outside (0, 1) raise ValueError naming ``uniforms``."""
    with pytest.raises(ValueError, match="uniforms"):
        Uniform(low=0.0, high=1.0).from_uniforms(uniforms)


def test_specs__frozen_mappings_are_read_only() -> None:
    """Categorical probabilities cannot be mutated after construction."""
    source = {"a": 0.5, "b": 0.5}
    spec = Categorical(probabilities=source)
    source["a"] = 0.9
    assert spec.probabilities["a"] == 0.5
    with pytest.raises(TypeError):
        spec.probabilities["a"] = 0.1  # type: ignore[index]
