"""Warfarin patients: the IWPC covariates (demographics, genotypes, co-medication) by ancestry.

Each patient has the covariates of the IWPC dosing formulas (NEJM 2009;360:753): race, sex,
age, height, weight, CYP2C9 diplotype, VKORC1 -1639G>A genotype, amiodarone and enzyme
inducer (carbamazepine, phenytoin, rifampicin) use. Draw order: race, sex, age, body size,
genotypes, co-medication (see :class:`~pkgym.populations.population.Population`).

Sources and assumptions (details in ``docs/research/warfarin.md`` sections 2b and 2c):

* **Genotypes.** Hardy-Weinberg within each race, from 1000 Genomes minor-allele
  frequencies quoted in Shendre A, Dillon C, Limdi NA. *Pharmacogenomics* 2018;19:1357,
  Table 1 (:data:`ALLELE_FREQUENCIES_1000G`). White = European, black = African, asian =
  East Asian; ``other`` (IWPC: missing or mixed race) = Admixed American, an *assumed*
  stand-in. CYP2C9 and VKORC1 are drawn independently (different chromosomes). The
  African-specific reduced-function alleles CYP2C9 *5, *6, *8 and *11 (frequencies about
  0.017, 0.008, 0.053, 0.024) are **ignored**: they count as *1, as in the IWPC formula,
  which only knows *2 and *3. The by-race frequencies of the IWPC cohort itself (its
  Table 1) were not retrieved.
* **US anticoagulation clinic** (:data:`US_ANTICOAGULATION_CLINIC`, the default): Ravvaz K
  et al. 2017 (the "Aurora" population as coded in the ReiL package; the paper itself was
  not opened): age 67.3 +/- 13.4 y (normal truncated to 18-100 y), 53.1% female, weight 90.4
  +/- 24.8 kg, height 169.6 +/- 10.9 cm, race 95.2% white, 4.2% black, 0.4% asian (0.2%
  other is *added* so the mix sums to 1), amiodarone 11.5%. The split of height and weight
  by sex is *assumed*: men 177.0 cm / 97.3 kg, women 163.0 cm / 84.3 kg (the NHANES sex
  gaps of about 14 cm and 13 kg, placed so the overall means match Ravvaz); within-sex SDs
  (8.4 cm, log-weight 0.24 / 0.28) are chosen so the overall SDs match Ravvaz. Enzyme
  inducers 1% is an *assumption* (the IWPC rate was not retrieved).
* **IWPC-like cohort** (:data:`IWPC_COHORT`): the same demographics with a multi-ethnic mix
  of about 55% white, 30% asian, 9% black and 6% other, an *approximation* of the IWPC
  derivation cohort recalled from memory, not read from the paper.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from pkgym.populations.body_size import BodySize, SexAnthropometry
from pkgym.populations.cohort import CohortSchema, ColumnRule
from pkgym.populations.conditional import ByGroup
from pkgym.populations.discrete import Bernoulli, Categorical, Genotype
from pkgym.populations.distributions import BoundedNormal
from pkgym.populations.frozen import FrozenMap
from pkgym.populations.population import Population
from pkgym.utils import check_finite, check_positive

CYP2C9_DIPLOTYPES = ("*1/*1", "*1/*2", "*1/*3", "*2/*2", "*2/*3", "*3/*3")
"""CYP2C9 diplotypes of the *2 (rs1799853) and *3 (rs1057910) alleles, in this order."""
VKORC1_GENOTYPES = ("G/G", "G/A", "A/A")
"""VKORC1 -1639G>A (rs9923231) genotypes, in this order (A = low-dose allele)."""
RACES = ("white", "asian", "black", "other")
"""IWPC race categories (``other``: missing or mixed race), in this order."""


def _check_fraction(name: str, value: float) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is a finite number in [0, 1]."""
    if not 0.0 <= float(check_finite(name, value)) <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")


def _check_ancestry(ancestry: Mapping[str, float]) -> dict[str, float]:
    """Return the race mix over all of :data:`RACES` (absent races 0), validated."""
    if not isinstance(ancestry, Mapping) or not ancestry:
        raise ValueError(f"ancestry must be a non-empty mapping race -> fraction with races "
                         f"from {list(RACES)}, got {ancestry!r}")
    unknown = [race for race in ancestry if race not in RACES]
    if unknown:
        raise ValueError(f"ancestry has unknown race(s) {unknown}; allowed: {list(RACES)}")
    fractions = check_finite("ancestry", [float(ancestry.get(race, 0.0)) for race in RACES])
    if np.any(fractions < 0) or abs(fractions.sum() - 1.0) > 1e-6:
        raise ValueError(f"ancestry fractions must be >= 0 and sum to 1, got {dict(ancestry)}")
    return dict(zip(RACES, fractions.tolist(), strict=True))


def _check_allele_frequencies(frequencies: Mapping[str, AlleleFrequencies]
                              ) -> Mapping[str, AlleleFrequencies]:
    """Check there are allele frequencies for every race in :data:`RACES`."""
    if not isinstance(frequencies, Mapping):
        raise ValueError(f"allele_frequencies must be a mapping race -> AlleleFrequencies, got "
                         f"{frequencies!r}")
    missing = [race for race in RACES if race not in frequencies]
    extra = [race for race in frequencies if race not in RACES]
    wrong = [race for race in RACES if race in frequencies
             and not isinstance(frequencies[race], AlleleFrequencies)]
    if missing or extra or wrong:
        raise ValueError(f"allele_frequencies must map each of {list(RACES)} to "
                         f"AlleleFrequencies; missing {missing}, unknown {extra}, not "
                         f"AlleleFrequencies {wrong}")
    return frequencies


@dataclass(frozen=True, slots=True, kw_only=True)
class AlleleFrequencies:
    """Frequencies of the warfarin-relevant alleles in one ancestry group.

    Attributes:
        cyp2c9_star2: frequency of CYP2C9*2 (rs1799853), in [0, 1].
        cyp2c9_star3: frequency of CYP2C9*3 (rs1057910), in [0, 1]; *1 is the rest.
        vkorc1_a: frequency of the VKORC1 -1639A allele (rs9923231), in [0, 1].
    """

    cyp2c9_star2: float
    cyp2c9_star3: float
    vkorc1_a: float

    def __post_init__(self) -> None:
        """Validate the frequencies, naming the offending field."""
        for name in ("cyp2c9_star2", "cyp2c9_star3", "vkorc1_a"):
            _check_fraction(name, getattr(self, name))
        if self.cyp2c9_star2 + self.cyp2c9_star3 > 1.0:
            raise ValueError(f"cyp2c9_star2 + cyp2c9_star3 must be <= 1, got "
                             f"{self.cyp2c9_star2} + {self.cyp2c9_star3}")

    def cyp2c9_spec(self) -> Genotype:
        """Return the CYP2C9 Hardy-Weinberg spec (labels as in :data:`CYP2C9_DIPLOTYPES`).

        Examples:
            >>> spec = AlleleFrequencies(cyp2c9_star2=0.1, cyp2c9_star3=0.1, vkorc1_a=0.4)
            >>> spec.cyp2c9_spec().hardy_weinberg_frequencies()["*1/*1"]
            0.64
        """
        star1 = 1.0 - self.cyp2c9_star2 - self.cyp2c9_star3
        return Genotype(allele_frequencies={"*1": star1, "*2": self.cyp2c9_star2,
                                            "*3": self.cyp2c9_star3})

    def vkorc1_spec(self) -> Genotype:
        """Return the VKORC1 Hardy-Weinberg spec (labels as in :data:`VKORC1_GENOTYPES`).

        Examples:
            >>> spec = AlleleFrequencies(cyp2c9_star2=0.1, cyp2c9_star3=0.1, vkorc1_a=0.4)
            >>> spec.vkorc1_spec().hardy_weinberg_frequencies()
            {'G/G': 0.36, 'G/A': 0.48, 'A/A': 0.16}
        """
        return Genotype(allele_frequencies={"G": 1.0 - self.vkorc1_a, "A": self.vkorc1_a})


ALLELE_FREQUENCIES_1000G: Mapping[str, AlleleFrequencies] = FrozenMap({
    "white": AlleleFrequencies(cyp2c9_star2=0.124, cyp2c9_star3=0.073, vkorc1_a=0.388),
    "asian": AlleleFrequencies(cyp2c9_star2=0.001, cyp2c9_star3=0.034, vkorc1_a=0.885),
    "black": AlleleFrequencies(cyp2c9_star2=0.008, cyp2c9_star3=0.002, vkorc1_a=0.054),
    "other": AlleleFrequencies(cyp2c9_star2=0.099, cyp2c9_star3=0.037, vkorc1_a=0.411),
})
"""1000 Genomes frequencies by IWPC race (Shendre et al. 2018 Table 1): European, East Asian,
African and (for ``other``, assumed) Admixed American."""

US_CLINIC_ANCESTRY: Mapping[str, float] = FrozenMap(
    {"white": 0.952, "asian": 0.004, "black": 0.042, "other": 0.002})
"""Race mix of the Ravvaz 2017 US population (0.2% ``other`` added so it sums to 1)."""

IWPC_ANCESTRY: Mapping[str, float] = FrozenMap(
    {"white": 0.55, "asian": 0.30, "black": 0.09, "other": 0.06})
"""Approximate race mix of the IWPC derivation cohort (recalled, not read from the paper)."""

WARFARIN_CLINIC_BODY_SIZE = BodySize(
    male=SexAnthropometry(height_mean_cm=177.0, height_sd_cm=8.4, weight_mean_kg=97.3,
                          log_weight_sd=0.24, correlation=0.45),
    female=SexAnthropometry(height_mean_cm=163.0, height_sd_cm=8.4, weight_mean_kg=84.3,
                            log_weight_sd=0.28, correlation=0.30),
)
"""Height and weight by sex matching Ravvaz 2017's overall means and SDs (split assumed)."""


def warfarin_population(
    *,
    ancestry: Mapping[str, float] = US_CLINIC_ANCESTRY,
    age_mean_years: float = 67.3,
    age_sd_years: float = 13.4,
    female_fraction: float = 0.531,
    amiodarone_fraction: float = 0.115,
    enzyme_inducer_fraction: float = 0.01,
    body_size: BodySize = WARFARIN_CLINIC_BODY_SIZE,
    allele_frequencies: Mapping[str, AlleleFrequencies] = ALLELE_FREQUENCIES_1000G,
) -> Population:
    """Warfarin patients with the IWPC covariates (defaults: Ravvaz 2017 US clinic).

    Args:
        ancestry: race -> fraction of patients; keys from :data:`RACES` (a missing race has
            fraction 0), values >= 0 summing to 1.
        age_mean_years: mean age of the untruncated normal, years (truncated to 18-100 y).
        age_sd_years: SD of age, years, > 0.
        female_fraction: fraction of women, in [0, 1].
        amiodarone_fraction: fraction taking amiodarone, in [0, 1].
        enzyme_inducer_fraction: fraction taking carbamazepine, phenytoin or rifampicin.
        body_size: joint height (cm) / weight (kg) distribution by sex.
        allele_frequencies: race -> allele frequencies, one entry for every race in
            :data:`RACES`.

    Returns:
        A population writing ``id, race, is_female, age_years, height_cm, weight_kg, cyp2c9,
        vkorc1, amiodarone, enzyme_inducer``.

    Examples:
        >>> population = warfarin_population(ancestry={"asian": 1.0})
        >>> cohort = population.sample(3, seed=0)
        >>> cohort["race"].tolist()
        ['asian', 'asian', 'asian']
        >>> set(cohort["vkorc1"]) <= set(VKORC1_GENOTYPES)
        True
    """
    races = _check_ancestry(ancestry)
    frequencies = _check_allele_frequencies(allele_frequencies)
    check_positive("age_sd_years", age_sd_years)
    check_finite("age_mean_years", age_mean_years)
    fractions = {"female_fraction": female_fraction, "amiodarone_fraction": amiodarone_fraction,
                 "enzyme_inducer_fraction": enzyme_inducer_fraction}
    for name, value in fractions.items():
        _check_fraction(name, value)
    return Population(covariates={
        "race": Categorical(probabilities=races),
        "is_female": Bernoulli(p=female_fraction),
        "age_years": BoundedNormal(mean=age_mean_years, sd=age_sd_years, low=18.0, high=100.0),
        "body_size": body_size,
        "cyp2c9": ByGroup(column="race", specs={
            race: frequencies[race].cyp2c9_spec() for race in RACES}),
        "vkorc1": ByGroup(column="race", specs={
            race: frequencies[race].vkorc1_spec() for race in RACES}),
        "amiodarone": Bernoulli(p=amiodarone_fraction),
        "enzyme_inducer": Bernoulli(p=enzyme_inducer_fraction),
    })


US_ANTICOAGULATION_CLINIC = warfarin_population()
"""US anticoagulation-clinic patients (Ravvaz 2017): the default warfarin population."""

IWPC_COHORT = warfarin_population(ancestry=IWPC_ANCESTRY)
"""Multi-ethnic cohort resembling the IWPC derivation cohort (approximate race mix)."""

WARFARIN_POPULATIONS: Mapping[str, Population] = FrozenMap(
    {"us_clinic": US_ANTICOAGULATION_CLINIC, "iwpc": IWPC_COHORT})
"""The warfarin populations by name."""

WARFARIN_COHORT_SCHEMA = CohortSchema(columns={
    "age_years": ColumnRule(low=18.0, high=110.0, unit="years"),
    "is_female": ColumnRule(low=0, high=1, unit="0/1", integer=True),
    "weight_kg": ColumnRule(low=30.0, high=300.0, unit="kg"),
    "height_cm": ColumnRule(low=120.0, high=230.0, unit="cm"),
    "race": ColumnRule(allowed=RACES),
    "cyp2c9": ColumnRule(allowed=CYP2C9_DIPLOTYPES),
    "vkorc1": ColumnRule(allowed=VKORC1_GENOTYPES),
    "amiodarone": ColumnRule(low=0, high=1, unit="0/1", integer=True),
    "enzyme_inducer": ColumnRule(low=0, high=1, unit="0/1", integer=True),
})
"""Columns a user's warfarin cohort CSV must have, with physiological ranges and labels."""


def genotype_codes(labels: ArrayLike | pd.Series, allowed: tuple[str, ...], *,
                   name: str = "labels") -> np.ndarray:
    """Return the index of each label in ``allowed`` (int64, same shape as ``labels``).

    Args:
        labels: genotype or race labels: a list, numpy (object or str) array or pandas Series.
        allowed: the label vocabulary, e.g. :data:`CYP2C9_DIPLOTYPES`; its order gives the codes.
        name: what the labels are, for the error message (e.g. ``"cyp2c9"``).

    Raises:
        ValueError: naming the unknown label(s) and listing the allowed ones.

    Examples:
        >>> genotype_codes(["*1/*1", "*2/*3"], CYP2C9_DIPLOTYPES).tolist()
        [0, 4]
        >>> genotype_codes(["G/G", "A/G"], VKORC1_GENOTYPES, name="vkorc1")
        Traceback (most recent call last):
        ...
        ValueError: vkorc1: unknown label(s) ['A/G']; allowed: ['G/G', 'G/A', 'A/A']
    """
    vocabulary = tuple(allowed)
    if not vocabulary or len(set(vocabulary)) != len(vocabulary):
        raise ValueError(f"allowed must be non-empty and without repeats, got {allowed!r}")
    values = np.asarray(labels.to_numpy() if isinstance(labels, pd.Series) else labels,
                        dtype=object)
    flat = values.reshape(-1)
    if flat.size <= 64:  # small batches (an env's reset): a dict is far cheaper than pandas
        lookup = _label_codes(vocabulary)
        codes = np.array([lookup.get(v, -1) if isinstance(v, str) else -1 for v in flat],
                         dtype=np.int64)
    else:
        codes = pd.Index(vocabulary, dtype=object).get_indexer(flat)
    if np.any(codes < 0):
        unknown = sorted({repr(v) for v in values.reshape(-1)[codes < 0]})
        shown = ", ".join(unknown[:10]) + (", ..." if len(unknown) > 10 else "")
        raise ValueError(f"{name}: unknown label(s) [{shown}]; allowed: {list(vocabulary)}")
    return codes.astype(np.int64).reshape(values.shape)


@functools.lru_cache(maxsize=32)
def _label_codes(vocabulary: tuple[str, ...]) -> dict[str, int]:
    """Label -> code of a vocabulary (cached; callers only read it)."""
    return {label: code for code, label in enumerate(vocabulary)}


def _allele_counts(genotypes: tuple[str, ...], allele: str) -> np.ndarray:
    """Read-only int64 table: copies of ``allele`` in each ``"a/b"`` genotype label."""
    table = np.array([g.split("/").count(allele) for g in genotypes], dtype=np.int64)
    table.setflags(write=False)
    return table


_STAR2_COUNTS = _allele_counts(CYP2C9_DIPLOTYPES, "*2")
_STAR3_COUNTS = _allele_counts(CYP2C9_DIPLOTYPES, "*3")
_A_COUNTS = _allele_counts(VKORC1_GENOTYPES, "A")


def cyp2c9_allele_counts(codes: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Return the numbers of CYP2C9*2 and *3 alleles (0, 1 or 2) of each diplotype code.

    Args:
        codes: indices into :data:`CYP2C9_DIPLOTYPES` (see :func:`genotype_codes`).

    Returns:
        ``(n_star2, n_star3)``, int64 arrays of the shape of ``codes``.

    Examples:
        >>> n_star2, n_star3 = cyp2c9_allele_counts(
        ...     genotype_codes(["*1/*1", "*2/*3", "*3/*3"], CYP2C9_DIPLOTYPES))
        >>> n_star2.tolist(), n_star3.tolist()
        ([0, 1, 0], [0, 1, 2])
    """
    indices = _check_codes(codes, len(CYP2C9_DIPLOTYPES), "cyp2c9")
    return _STAR2_COUNTS[indices], _STAR3_COUNTS[indices]


def vkorc1_a_alleles(codes: ArrayLike) -> np.ndarray:
    """Return the number of VKORC1 -1639A alleles (0, 1 or 2) of each genotype code.

    Args:
        codes: indices into :data:`VKORC1_GENOTYPES` (see :func:`genotype_codes`).

    Examples:
        >>> vkorc1_a_alleles(genotype_codes(["A/A", "G/G", "G/A"], VKORC1_GENOTYPES)).tolist()
        [2, 0, 1]
    """
    return _A_COUNTS[_check_codes(codes, len(VKORC1_GENOTYPES), "vkorc1")]


def _check_codes(codes: ArrayLike, n_labels: int, name: str) -> np.ndarray:
    """Return ``codes`` as int64 after checking they are integers in ``[0, n_labels)``."""
    array = np.asarray(codes)
    if array.size == 0:
        return array.astype(np.int64)
    if array.dtype.kind not in "iu" or array.min() < 0 or array.max() >= n_labels:
        raise ValueError(f"{name} codes must be integers in [0, {n_labels - 1}] (from "
                         f"genotype_codes), got {array.ravel()[:5]} (dtype {array.dtype})")
    return array.astype(np.int64)
