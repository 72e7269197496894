"""Population.sample: reproducibility, batch-size invariance, derived columns, validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pkgym.populations import (
    Bernoulli,
    BodySize,
    Population,
    Uniform,
    cockcroft_gault_ml_per_min,
)


def test_sample__reproducible_by_seed(adult_population: Population) -> None:
    """The same seed gives the same cohort; another seed a different one."""
    first = adult_population.sample(50, seed=7)
    pd.testing.assert_frame_equal(first, adult_population.sample(50, seed=7))
    assert not first["age_years"].equals(adult_population.sample(50, seed=8)["age_years"])


def test_sample__patient_k_same_for_10_and_1000(adult_population: Population) -> None:
    """Rows 0..9 of a 1000-patient cohort equal a 10-patient cohort."""
    small = adult_population.sample(10, seed=3)
    large = adult_population.sample(1000, seed=3)
    pd.testing.assert_frame_equal(small, large.iloc[:10])


def test_sample__start_offset_equals_rows_of_larger_draw(adult_population: Population) -> None:
    """Drawing patients 5..9 equals rows 5..9 of a draw of 10, ids included."""
    full = adult_population.sample(10, seed=3)
    part = adult_population.sample(5, seed=3, start=5)
    pd.testing.assert_frame_equal(part, full.iloc[5:].reset_index(drop=True))
    assert part["id"].tolist() == [5, 6, 7, 8, 9]


def test_sample__columns_derived_values_and_attrs(adult_population: Population) -> None:
    """Columns follow the declared order; derived columns recompute; attrs hold the entropy."""
    cohort = adult_population.sample(200, seed=np.random.SeedSequence(99))
    assert tuple(cohort.columns) == adult_population.columns
    assert cohort.columns.tolist()[:5] == ["id", "is_female", "age_years", "height_cm",
                                           "weight_kg"]
    expected = cockcroft_gault_ml_per_min(cohort["age_years"], cohort["weight_kg"],
                                          cohort["serum_creatinine_mg_per_dl"], cohort["is_female"])
    np.testing.assert_allclose(cohort["crcl_ml_per_min"], expected)
    assert cohort.attrs["seed_entropy"] == 99 and cohort.attrs["start"] == 0
    assert adult_population.n_draws == 1 + 1 + 2 + 1 + 2 + 1


def test_sample__fresh_entropy_is_recorded_and_replays(adult_population: Population) -> None:
    """With seed=None the recorded entropy reproduces the cohort."""
    cohort = adult_population.sample(20, seed=None)
    replay = adult_population.sample(20, seed=cohort.attrs["seed_entropy"])
    pd.testing.assert_frame_equal(cohort, replay)


def test_sample__appending_a_covariate_keeps_earlier_ones() -> None:
    """Adding a covariate at the end of the mapping does not change existing columns."""
    base = {"is_female": Bernoulli(p=0.5), "age_years": Uniform(low=18.0, high=80.0)}
    before = Population(covariates=base).sample(30, seed=1)
    after = Population(covariates={**base, "smoker": Bernoulli(p=0.2)}).sample(30, seed=1)
    pd.testing.assert_frame_equal(before, after[before.columns])


def test_sample__covariate_stream_independent_of_bsv_stream(adult_population: Population) -> None:
    """Covariates use only the covariates stream: equal with or without drawing etas."""
    from pkgym.populations import BetweenSubjectVariability

    bsv = BetweenSubjectVariability(names=("cl",), omega=np.array([[0.1]]))
    cohort = adult_population.sample(10, seed=4)
    bsv.sample_etas(4, 10)
    pd.testing.assert_frame_equal(cohort, adult_population.sample(10, seed=4))


def test_sample__empty_cohort(adult_population: Population) -> None:
    """Zero patients give an empty frame with every column."""
    cohort = adult_population.sample(0, seed=1)
    assert len(cohort) == 0 and tuple(cohort.columns) == adult_population.columns


@pytest.mark.parametrize(
    ("arguments", "name"),
    [({"n": -1}, "n"), ({"start": -1}, "start"), ({"seed": -5}, "seed"), ({"n": 1.5}, "n")],
)
def test_sample__bad_arguments_raise_naming_them(
    adult_population: Population, arguments: dict, name: str
) -> None:
    """Negative n, negative start and bad seeds raise ValueError naming the argument."""
    kwargs = {"n": 3, "seed": 1, **arguments}
    with pytest.raises(ValueError, match=rf"\b{name} must"):
        adult_population.sample(kwargs.pop("n"), kwargs.pop("seed"), **kwargs)


@pytest.mark.parametrize(
    ("factory", "name"),
    [
        (lambda: Population(covariates={"body": BodySize(), "is_female": Bernoulli(p=0.5)}),
         "covariates\\['body'\\]"),
        (lambda: Population(covariates={"age": 3.0}), "covariates\\['age'\\]"),
        (lambda: Population(covariates={"id": Bernoulli(p=0.5)}), "covariates\\['id'\\]"),
        (lambda: Population(covariates={"is_female": Bernoulli(p=0.5), "b": BodySize(),
                                        "height_cm": Uniform(low=1, high=2)}),
         "covariates\\['height_cm'\\]"),
        (lambda: Population(covariates={"a": Bernoulli(p=0.5)}, derived={"a": len}),
         "derived\\['a'\\]"),
        (lambda: Population(covariates={"a": Bernoulli(p=0.5)}, derived={"b": 1.0}),
         "derived\\['b'\\]"),
    ],
)
def test_population__bad_specs_raise_naming_them(factory: object, name: str) -> None:
    """Wrong order, non-specs, clashing names and non-callable hooks raise ValueError."""
    with pytest.raises(ValueError, match=name):
        factory()


def test_sample__derived_hook_with_wrong_shape_raises() -> None:
    """A derived hook returning the wrong shape raises ValueError naming it."""
    population = Population(covariates={"a": Bernoulli(p=0.5)},
                            derived={"bad": lambda df: np.zeros(3)})
    with pytest.raises(ValueError, match="derived\\['bad'\\]"):
        population.sample(5, seed=1)
