"""The warfarin population: IWPC covariates, Hardy-Weinberg genotypes by ancestry, user cohorts."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from pkgym.populations import CohortValidationError, load_cohort, validate_cohort
from pkgym.populations.warfarin import (
    ALLELE_FREQUENCIES_1000G,
    CYP2C9_DIPLOTYPES,
    IWPC_COHORT,
    RACES,
    US_ANTICOAGULATION_CLINIC,
    VKORC1_GENOTYPES,
    WARFARIN_COHORT_SCHEMA,
    WARFARIN_POPULATIONS,
    cyp2c9_allele_counts,
    genotype_codes,
    vkorc1_a_alleles,
    warfarin_population,
)

COLUMNS = ["id", "race", "is_female", "age_years", "height_cm", "weight_kg", "cyp2c9", "vkorc1",
           "amiodarone", "enzyme_inducer"]


def assert_frequencies(observed: pd.Series, expected: dict[str, float], n: int) -> None:
    """Each label's observed share is within 5 binomial standard errors of its expectation."""
    shares = observed.value_counts(normalize=True)
    assert set(shares.index) <= set(expected)
    for label, p in expected.items():
        tolerance = 5.0 * np.sqrt(p * (1.0 - p) / n) + 1e-9
        assert abs(shares.get(label, 0.0) - p) <= tolerance, (label, shares.get(label), p)


@pytest.mark.parametrize("race", RACES)
def test_warfarin_population__genotypes_follow_hardy_weinberg_for_each_ancestry(race: str) -> None:
    """Diplotype shares match p**2 / 2pq from the 1000 Genomes frequencies of that ancestry."""
    n = 100_000
    cohort = warfarin_population(ancestry={race: 1.0}).sample(n, seed=11)
    frequencies = ALLELE_FREQUENCIES_1000G[race]
    assert_frequencies(cohort["cyp2c9"], frequencies.cyp2c9_spec().hardy_weinberg_frequencies(), n)
    assert_frequencies(cohort["vkorc1"], frequencies.vkorc1_spec().hardy_weinberg_frequencies(), n)
    n_star2, n_star3 = cyp2c9_allele_counts(genotype_codes(cohort["cyp2c9"], CYP2C9_DIPLOTYPES))
    n_a = vkorc1_a_alleles(genotype_codes(cohort["vkorc1"], VKORC1_GENOTYPES))
    for counts, p in ((n_star2, frequencies.cyp2c9_star2), (n_star3, frequencies.cyp2c9_star3),
                      (n_a, frequencies.vkorc1_a)):
        allele_se = np.sqrt(p * (1.0 - p) / (2 * n))
        assert abs(counts.mean() / 2.0 - p) <= 5.0 * allele_se + 1e-9


def test_warfarin_population__genotype_labels_are_the_shared_vocabulary() -> None:
    """The Genotype specs spell and order their labels exactly as the shared constants."""
    frequencies = ALLELE_FREQUENCIES_1000G["white"]
    assert tuple(frequencies.cyp2c9_spec().hardy_weinberg_frequencies()) == CYP2C9_DIPLOTYPES
    assert tuple(frequencies.vkorc1_spec().hardy_weinberg_frequencies()) == VKORC1_GENOTYPES
    assert set(ALLELE_FREQUENCIES_1000G) == set(RACES)


@pytest.mark.parametrize("name", ["us_clinic", "iwpc"])
def test_warfarin_population__ancestry_mix_is_honoured(name: str) -> None:
    """Race shares match the population's ancestry mix within 5 binomial standard errors."""
    n = 100_000
    expected = {"us_clinic": {"white": 0.952, "asian": 0.004, "black": 0.042, "other": 0.002},
                "iwpc": {"white": 0.55, "asian": 0.30, "black": 0.09, "other": 0.06}}[name]
    assert_frequencies(WARFARIN_POPULATIONS[name].sample(n, seed=5)["race"], expected, n)


def test_warfarin_population__default_is_the_ravvaz_us_clinic() -> None:
    """The default cohort has the Ravvaz 2017 demographics and the documented columns."""
    cohort = US_ANTICOAGULATION_CLINIC.sample(50_000, seed=7)
    assert cohort.columns.tolist() == COLUMNS
    assert cohort["is_female"].mean() == pytest.approx(0.531, abs=0.01)
    assert cohort["amiodarone"].mean() == pytest.approx(0.115, abs=0.01)
    assert cohort["enzyme_inducer"].mean() == pytest.approx(0.01, abs=0.003)
    assert cohort["weight_kg"].mean() == pytest.approx(90.4, abs=0.6)
    assert cohort["weight_kg"].std() == pytest.approx(24.8, rel=0.05)
    assert cohort["height_cm"].mean() == pytest.approx(169.6, abs=0.3)
    assert cohort["height_cm"].std() == pytest.approx(10.9, rel=0.05)
    assert cohort["age_years"].between(18.0, 100.0).all()
    assert cohort["age_years"].mean() == pytest.approx(67.3, abs=0.6)  # truncation: ~67.0
    assert set(cohort["cyp2c9"]) <= set(CYP2C9_DIPLOTYPES)


def test_warfarin_population__patient_k_is_the_same_in_any_cohort_size() -> None:
    """The first 10 patients of a 1000-patient cohort equal a 10-patient cohort."""
    small = IWPC_COHORT.sample(10, seed=3)
    large = IWPC_COHORT.sample(1000, seed=3)
    pd.testing.assert_frame_equal(small, large.iloc[:10])
    pd.testing.assert_frame_equal(IWPC_COHORT.sample(5, seed=3, start=5),
                                  large.iloc[5:10].reset_index(drop=True))


def test_warfarin_population__same_seed_same_cohort_other_seed_other_cohort() -> None:
    """Sampling is reproducible from a seed and changes with it."""
    first, again = (US_ANTICOAGULATION_CLINIC.sample(200, seed=2024) for _ in range(2))
    pd.testing.assert_frame_equal(first, again)
    other = US_ANTICOAGULATION_CLINIC.sample(200, seed=2025)
    assert not np.array_equal(first["weight_kg"], other["weight_kg"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ancestry": {"hispanic": 1.0}}, r"ancestry has unknown race\(s\) \['hispanic'\]; "
                                          r"allowed: \['white', 'asian', 'black', 'other'\]"),
        ({"ancestry": {"white": 0.5, "black": 0.4}}, "ancestry fractions must be >= 0 and sum"),
        ({"amiodarone_fraction": 1.5}, r"amiodarone_fraction must be in \[0, 1\]"),
        ({"age_sd_years": 0.0}, "age_sd_years must be > 0"),
        ({"allele_frequencies": {"white": ALLELE_FREQUENCIES_1000G["white"]}},
         r"missing \['asian', 'black', 'other'\]"),
    ],
)
def test_warfarin_population__bad_arguments_name_the_field(kwargs: dict, message: str) -> None:
    """A bad ancestry key, mix, fraction or frequency table fails naming what is wrong."""
    with pytest.raises(ValueError, match=message):
        warfarin_population(**kwargs)


def test_genotype_codes__accepts_lists_arrays_and_series_and_names_bad_labels() -> None:
    """Codes index the vocabulary; an unknown label is named with the allowed ones."""
    labels = ["A/A", "G/G", "G/A"]
    for given in (labels, np.array(labels, dtype=object), np.array(labels),
                  pd.Series(labels, dtype="string")):
        assert genotype_codes(given, VKORC1_GENOTYPES).tolist() == [2, 0, 1]
    with pytest.raises(ValueError, match=r"cyp2c9: unknown label\(s\) \['\*1/\*4'\]; allowed: "
                                         r"\['\*1/\*1', '\*1/\*2'"):
        genotype_codes(["*1/*1", "*1/*4"], CYP2C9_DIPLOTYPES, name="cyp2c9")


def test_allele_counts__count_star2_star3_and_vkorc1_a_alleles() -> None:
    """Each diplotype code maps to its allele counts; codes out of range are refused."""
    n_star2, n_star3 = cyp2c9_allele_counts(np.arange(len(CYP2C9_DIPLOTYPES)))
    assert n_star2.tolist() == [0, 1, 0, 2, 1, 0] and n_star3.tolist() == [0, 0, 1, 0, 1, 2]
    assert vkorc1_a_alleles(pd.Series([0, 1, 2])).tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match=r"vkorc1 codes must be integers in \[0, 2\]"):
        vkorc1_a_alleles([3])
    with pytest.raises(ValueError, match="cyp2c9 codes must be integers"):
        cyp2c9_allele_counts(np.array([0.5]))


def test_warfarin_cohort_schema__accepts_a_sampled_cohort_written_to_csv() -> None:
    """A sampled cohort round-trips through CSV and validation unchanged in its labels."""
    cohort = IWPC_COHORT.sample(50, seed=9)
    loaded = load_cohort(io.StringIO(cohort.to_csv(index=False)), WARFARIN_COHORT_SCHEMA)
    assert loaded["cyp2c9"].tolist() == cohort["cyp2c9"].tolist()
    assert loaded["amiodarone"].dtype == np.int64
    validate_cohort(cohort, WARFARIN_COHORT_SCHEMA)


def test_warfarin_cohort_schema__rejects_a_bad_genotype_label_in_a_csv() -> None:
    """A CYP2C9 label outside the vocabulary is reported with its row, line and column."""
    cohort = US_ANTICOAGULATION_CLINIC.sample(5, seed=1)
    cohort["cyp2c9"] = cohort["cyp2c9"].astype(object)
    cohort.loc[2, "cyp2c9"] = "*1/*4"
    with pytest.raises(CohortValidationError) as info:
        load_cohort(io.StringIO(cohort.to_csv(index=False)), WARFARIN_COHORT_SCHEMA)
    (problem,) = info.value.problems
    assert (problem.row, problem.line, problem.column, problem.value) == (3, 4, "cyp2c9",
                                                                         "'*1/*4'")
    assert "one of ['*1/*1', '*1/*2', '*1/*3', '*2/*2', '*2/*3', '*3/*3']" in str(info.value)
