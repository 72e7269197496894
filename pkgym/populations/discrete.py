"""Discrete covariate distributions: categories, 0/1 flags and Hardy-Weinberg genotypes.

Each spec maps one patient's uniforms to a label or a flag by the inverse CDF of its
categorical distribution, as the continuous specs of :mod:`pkgym.populations.distributions`
do, so a patient's covariates depend only on that patient's uniforms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from pkgym.populations.distributions import ScalarCovariateSpec, check_uniforms
from pkgym.populations.frozen import FrozenMap
from pkgym.utils import check_finite


def _check_probabilities(name: str, probabilities: Mapping[str, float]) -> FrozenMap[str, float]:
    """Validate a label -> probability mapping summing to 1; return a read-only copy."""
    if not isinstance(probabilities, Mapping) or len(probabilities) == 0:
        raise ValueError(f"{name} must be a non-empty mapping of label -> probability")
    for label in probabilities:
        if not isinstance(label, str) or not label:
            raise ValueError(f"{name} labels must be non-empty strings, got {label!r}")
    values = check_finite(name, list(probabilities.values()))
    if np.any(values < 0) or abs(values.sum() - 1.0) > 1e-6:
        raise ValueError(f"{name} must be >= 0 and sum to 1, got {dict(probabilities)}")
    return FrozenMap(dict(probabilities))


def _categorical_indices(uniforms: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Inverse CDF of a categorical distribution: index i where cum[i-1] <= u < cum[i]."""
    cumulative = np.cumsum(probabilities)
    cumulative[-1] = 1.0
    return np.minimum(np.searchsorted(cumulative, uniforms, side="right"), len(cumulative) - 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class Categorical(ScalarCovariateSpec):
    """Categorical covariate with given frequencies (e.g. ethnicity, formulation).

    Attributes:
        probabilities: label -> probability (>= 0, summing to 1); stored read-only.
    """

    probabilities: Mapping[str, float]

    def __post_init__(self) -> None:
        """Validate the frequencies and freeze a copy of them."""
        frozen = _check_probabilities("probabilities", self.probabilities)
        object.__setattr__(self, "probabilities", frozen)

    @property
    def n_draws(self) -> int:
        """One uniform per patient."""
        return 1

    @property
    def categories(self) -> tuple[str, ...]:
        """The labels, in the order given."""
        return tuple(self.probabilities)

    def from_uniforms(self, uniforms: np.ndarray) -> np.ndarray:
        """Map uniforms (n, 1) to labels (n,) (object array of str) by inverse CDF.

        Examples:
            >>> spec = Categorical(probabilities={"white": 0.6, "black": 0.3, "asian": 0.1})
            >>> spec.from_uniforms(np.array([[0.1], [0.7], [0.95]])).tolist()
            ['white', 'black', 'asian']
        """
        u = check_uniforms(uniforms, 1)[:, 0]
        labels = np.array(self.categories, dtype=object)
        return labels[_categorical_indices(u, np.array(list(self.probabilities.values())))]


@dataclass(frozen=True, slots=True, kw_only=True)
class Bernoulli(ScalarCovariateSpec):
    """Binary covariate coded 0/1 (int64), e.g. ``is_female``.

    Attributes:
        p: probability of 1, in [0, 1].
    """

    p: float

    def __post_init__(self) -> None:
        """Validate ``p``."""
        check_finite("p", self.p)
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {self.p}")

    @property
    def n_draws(self) -> int:
        """One uniform per patient."""
        return 1

    def from_uniforms(self, uniforms: np.ndarray) -> np.ndarray:
        """Map uniforms (n, 1) to 0/1 ints (n,): 1 where ``u < p``.

        Examples:
            >>> Bernoulli(p=0.5).from_uniforms(np.array([[0.2], [0.8]])).tolist()
            [1, 0]
        """
        u = check_uniforms(uniforms, 1)[:, 0]
        return (u < self.p).astype(np.int64)


@dataclass(frozen=True, slots=True, kw_only=True)
class Genotype(ScalarCovariateSpec):
    """Diplotype from allele frequencies under Hardy-Weinberg equilibrium.

    The two alleles are independent draws from ``allele_frequencies``. The diplotype label is
    ``"a/b"`` with the alleles in the order of ``allele_frequencies`` (``"*1/*3"``, never
    ``"*3/*1"``), so the expected frequency of ``"a/a"`` is ``p_a**2`` and of ``"a/b"`` is
    ``2 * p_a * p_b``.

    Attributes:
        allele_frequencies: allele -> frequency (>= 0, summing to 1); stored read-only.
    """

    allele_frequencies: Mapping[str, float]

    def __post_init__(self) -> None:
        """Validate the frequencies and freeze a copy of them."""
        frozen = _check_probabilities("allele_frequencies", self.allele_frequencies)
        if any("/" in allele for allele in frozen):
            raise ValueError("allele_frequencies labels must not contain '/'")
        object.__setattr__(self, "allele_frequencies", frozen)

    @property
    def n_draws(self) -> int:
        """Two uniforms per patient, one per allele."""
        return 2

    @property
    def alleles(self) -> tuple[str, ...]:
        """The allele labels, in canonical order."""
        return tuple(self.allele_frequencies)

    def hardy_weinberg_frequencies(self) -> dict[str, float]:
        """Return the expected diplotype frequencies, ``p**2`` and ``2pq``.

        Examples:
            >>> Genotype(allele_frequencies={"*1": 0.9, "*3": 0.1}).hardy_weinberg_frequencies()
            {'*1/*1': 0.81, '*1/*3': 0.18, '*3/*3': 0.01}
        """
        freqs = list(self.allele_frequencies.values())
        result = {}
        for i, first in enumerate(self.alleles):
            for j in range(i, len(freqs)):
                factor = 1.0 if i == j else 2.0
                result[f"{first}/{self.alleles[j]}"] = round(factor * freqs[i] * freqs[j], 15)
        return result

    def from_uniforms(self, uniforms: np.ndarray) -> np.ndarray:
        """Map uniforms (n, 2) to diplotype labels (n,) (object array of str).

        Examples:
            >>> spec = Genotype(allele_frequencies={"*1": 0.7, "*2": 0.2, "*3": 0.1})
            >>> spec.from_uniforms(np.array([[0.95, 0.1], [0.8, 0.75]])).tolist()
            ['*1/*3', '*2/*2']
        """
        u = check_uniforms(uniforms, 2)
        freqs = np.array(list(self.allele_frequencies.values()))
        first, second = (_categorical_indices(u[:, i], freqs) for i in range(2))
        table = np.array([[f"{self.alleles[min(i, j)]}/{self.alleles[max(i, j)]}"
                           for j in range(len(freqs))] for i in range(len(freqs))], dtype=object)
        return table[first, second]
