"""The IWPC 2009 cohort as a virtual population: covariates estimated from the real patients.

``iwpc_2009`` is the multi-ethnic population of ``pkgym/Warfarin-v1`` scenarios that want
IWPC-like patients. Every number below is estimated from the **training split** of the IWPC
data set (4 206 patients with a therapeutic dose; :func:`pkgym.populations.iwpc.read_iwpc`),
never from the held-out patients the validation uses; the test ``tests/validation`` re-estimates
them from the file. By race (IWPC OMB race; ``other`` = unknown or mixed): the share of
patients, the observed CYP2C9 diplotype and VKORC1 -1639 genotype frequencies (not
Hardy-Weinberg: the IWPC counts themselves; genotypes drawn independently, as the genes lie on
different chromosomes), age (normal truncated to 18-100 y, the IWPC decade midpoints' mean and
SD), the share of women and of amiodarone use; enzyme inducers over all races. Height and
weight by sex from the 3 432 training patients with both (men 174.1 +/- 9.1 cm, 84.3 +/-
22.2 kg; women 160.3 +/- 8.0 cm, 73.0 +/- 22.6 kg; log-weight SD 0.26 / 0.31 from the CV; the
height-weight correlations are the US-clinic ones, *assumed*). It differs from v0's ``iwpc``
(a recalled race mix with 1000 Genomes frequencies) and leaves it unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping

from pkgym.populations.body_size import BodySize, SexAnthropometry
from pkgym.populations.conditional import ByGroup
from pkgym.populations.discrete import Bernoulli, Categorical
from pkgym.populations.distributions import BoundedNormal
from pkgym.populations.frozen import FrozenMap
from pkgym.populations.population import Population
from pkgym.populations.warfarin import CYP2C9_DIPLOTYPES, VKORC1_GENOTYPES, WARFARIN_POPULATIONS

IWPC_TRAINING = "IWPC 2009 data set, training split (n = 4 206), counted"
IWPC_2009_RACES: Mapping[str, float] = FrozenMap(
    {"white": 0.538, "asian": 0.2706, "black": 0.112, "other": 0.0794})
"""Share of each race ({IWPC_TRAINING})."""
IWPC_2009_CYP2C9: Mapping[str, tuple[float, ...]] = FrozenMap({
    "white": (0.6407, 0.2082, 0.1084, 0.0175, 0.0202, 0.0050),
    "asian": (0.9349, 0.0009, 0.0624, 0.0, 0.0, 0.0018),
    "black": (0.9103, 0.0628, 0.0269, 0.0, 0.0, 0.0),
    "other": (0.7039, 0.1994, 0.0695, 0.0121, 0.0091, 0.0060)})
"""CYP2C9 diplotype frequencies by race, in ``CYP2C9_DIPLOTYPES`` order."""
IWPC_2009_VKORC1: Mapping[str, tuple[float, ...]] = FrozenMap({
    "white": (0.3654, 0.4858, 0.1488), "asian": (0.0320, 0.1732, 0.7948),
    "black": (0.8144, 0.1638, 0.0218), "other": (0.4012, 0.4850, 0.1138)})
"""VKORC1 -1639 genotype frequencies by race, in ``VKORC1_GENOTYPES`` order."""
IWPC_2009_AGE: Mapping[str, tuple[float, float]] = FrozenMap({
    "white": (66.1, 14.7), "asian": (62.9, 12.9), "black": (58.5, 15.2), "other": (61.9, 16.2)})
"""Age mean and SD by race, years (decade midpoints)."""
IWPC_2009_FEMALE: Mapping[str, float] = FrozenMap(
    {"white": 0.389, "asian": 0.438, "black": 0.546, "other": 0.566})
"""Share of women by race."""
IWPC_2009_AMIODARONE: Mapping[str, float] = FrozenMap(
    {"white": 0.0698, "asian": 0.0123, "black": 0.0403, "other": 0.0689})
"""Share on amiodarone by race."""
IWPC_2009_ENZYME_INDUCER = 0.0102
"""Share on carbamazepine, phenytoin or rifampicin (all races)."""
IWPC_2009_BODY_SIZE = BodySize(
    male=SexAnthropometry(height_mean_cm=174.1, height_sd_cm=9.1, weight_mean_kg=84.3,
                          log_weight_sd=0.26, correlation=0.45),
    female=SexAnthropometry(height_mean_cm=160.3, height_sd_cm=8.0, weight_mean_kg=73.0,
                            log_weight_sd=0.31, correlation=0.30))
"""Height and weight by sex of the IWPC training patients with both recorded."""


def _normalised(values: tuple[float, ...], labels: tuple[str, ...]) -> dict[str, float]:
    """Label -> frequency, rescaled to sum to exactly 1 (the table is rounded to 4 decimals)."""
    total = sum(values)
    return {label: value / total for label, value in zip(labels, values, strict=True)}


def iwpc_2009_population() -> Population:
    """The IWPC-like population (module docstring); writes the warfarin cohort columns.

    Examples:
        >>> cohort = iwpc_2009_population().sample(2000, seed=0)
        >>> round(float((cohort["race"] == "asian").mean()), 1)
        0.3
    """
    races = tuple(IWPC_2009_RACES)
    return Population(covariates={
        "race": Categorical(probabilities=_normalised(tuple(IWPC_2009_RACES.values()), races)),
        "is_female": ByGroup(column="race", specs={
            r: Bernoulli(p=IWPC_2009_FEMALE[r]) for r in races}),
        "age_years": ByGroup(column="race", specs={
            r: BoundedNormal(mean=m, sd=s, low=18.0, high=100.0)
            for r, (m, s) in IWPC_2009_AGE.items()}),
        "body_size": IWPC_2009_BODY_SIZE,
        "cyp2c9": ByGroup(column="race", specs={
            r: Categorical(probabilities=_normalised(IWPC_2009_CYP2C9[r], CYP2C9_DIPLOTYPES))
            for r in races}),
        "vkorc1": ByGroup(column="race", specs={
            r: Categorical(probabilities=_normalised(IWPC_2009_VKORC1[r], VKORC1_GENOTYPES))
            for r in races}),
        "amiodarone": ByGroup(column="race", specs={
            r: Bernoulli(p=IWPC_2009_AMIODARONE[r]) for r in races}),
        "enzyme_inducer": Bernoulli(p=IWPC_2009_ENZYME_INDUCER),
    })


IWPC_2009 = iwpc_2009_population()
"""The IWPC 2009 training-split population (``iwpc_2009`` in scenarios)."""

ALL_WARFARIN_POPULATIONS: Mapping[str, Population] = FrozenMap(
    {**WARFARIN_POPULATIONS, "iwpc_2009": IWPC_2009})
"""Every named warfarin population a scenario may choose (v0's and ``iwpc_2009``)."""
