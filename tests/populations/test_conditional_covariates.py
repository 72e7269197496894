"""Covariates whose distribution depends on an earlier covariate (``ByGroup``)."""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.populations.conditional import ByGroup
from pkgym.populations.discrete import Bernoulli, Categorical, Genotype
from pkgym.populations.distributions import Uniform
from pkgym.populations.population import Population
from pkgym.populations.vancomycin import ADULT_INPATIENTS


def test_by_group__each_group_draws_from_its_own_distribution() -> None:
    """Dialysis patients' creatinine comes from the dialysis spec, others' from the other."""
    cohort = ADULT_INPATIENTS.sample(5000, seed=3)
    on, off = cohort["on_dialysis"] == 1, cohort["on_dialysis"] == 0
    assert cohort.loc[on, "serum_creatinine_mg_per_dl"].min() >= 3.0
    assert cohort.loc[off, "serum_creatinine_mg_per_dl"].max() <= 6.0
    assert cohort.loc[on, "serum_creatinine_mg_per_dl"].median() == pytest.approx(7.0, rel=0.08)
    assert cohort.loc[off, "serum_creatinine_mg_per_dl"].median() == pytest.approx(0.9, rel=0.08)


def test_by_group__is_batch_size_invariant_and_rejects_unknown_groups() -> None:
    """Patient k is the same in any cohort size; a group without a spec is an error."""
    population = Population(covariates={"g": Bernoulli(p=0.5), "x": ByGroup(
        column="g", specs={0: Uniform(low=0.0, high=1.0), 1: Uniform(low=10.0, high=11.0)})})
    small, large = population.sample(10, seed=1), population.sample(1000, seed=1)
    np.testing.assert_array_equal(small["x"], large["x"][:10])
    partial = ByGroup(column="g", specs={0: Uniform(low=0.0, high=1.0)})
    with pytest.raises(ValueError, match="no spec for g"):
        partial.columns_from_uniforms("x", np.full((2, 1), 0.5), {"g": np.array([0, 1])})


def test_by_group__label_specs_write_each_groups_labels() -> None:
    """Genotype specs by race give an object column of labels drawn with each race's alleles."""
    vkorc1 = ByGroup(column="race", specs={
        "white": Genotype(allele_frequencies={"G": 1.0, "A": 0.0}),
        "asian": Genotype(allele_frequencies={"G": 0.0, "A": 1.0})})
    population = Population(covariates={
        "race": Categorical(probabilities={"white": 0.5, "asian": 0.5}), "vkorc1": vkorc1})
    assert vkorc1.output_dtype is object
    assert population.from_uniforms(np.full((3, 3), 0.5))["vkorc1"].dtype == object
    cohort = population.sample(400, seed=4)
    expected = np.where(cohort["race"] == "white", "G/G", "A/A")
    np.testing.assert_array_equal(cohort["vkorc1"].to_numpy(dtype=object), expected)
    assert set(cohort["race"]) == {"white", "asian"}


def test_by_group__numeric_specs_still_write_floats() -> None:
    """Numeric specs keep the float64 column, whichever groups appear in the batch."""
    spec = ByGroup(column="g", specs={0: Bernoulli(p=0.5), 1: Uniform(low=0.0, high=1.0)})
    assert spec.output_dtype is np.float64
    out = spec.columns_from_uniforms("x", np.full((2, 1), 0.25), {"g": np.array([0, 0])})["x"]
    assert out.dtype == np.float64 and out.tolist() == [1.0, 1.0]
