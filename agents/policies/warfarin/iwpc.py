"""Warfarin initiation: the IWPC 2009 dose formulas, the EU-PACT loading doses and start rules.

Pure, batched formulas (leading axis = patient) plus the *initiation rules* that the dosing
protocols of :mod:`agents.policies.warfarin.protocols` take as an argument. An initiation rule gives
each patient's daily dose from day 0 (the first dose, after the baseline INR) until its
maintenance protocol makes its first INR-driven decision.

Sources: International Warfarin Pharmacogenetics Consortium, N Engl J Med 2009;360:753-764,
Supplementary Appendix (coefficients as quoted by ReiL ``iwpc.py`` and M. Yao's
``WarfarinDosingOracle``, which agree); EU-PACT (Pirmohamed et al., N Engl J Med
2013;369:2294) modified formula and 3-day loading dose, as coded in ReiL; Ravvaz et al., Circ
Cardiovasc Genet 2017;10:e001804. See ``docs/research/warfarin.md`` sections 2a and 4d.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike

from pkgym.models.warfarin_iwpc import (
    UNKNOWN,
    iwpc_clinical_weekly_dose_mg,
    iwpc_modified_weekly_dose_mg,
    iwpc_pharmacogenetic_weekly_dose_mg,
    lookup_coefficients,
)
from pkgym.populations.warfarin import CYP2C9_DIPLOTYPES, RACES, VKORC1_GENOTYPES

__all__ = ["UNKNOWN", "EuPactInitiation", "FixedInitiation", "InitiationRule", "IwpcInitiation",
           "eupact_loading_doses_mg", "iwpc_clinical_weekly_dose_mg",
           "iwpc_modified_weekly_dose_mg", "iwpc_pharmacogenetic_weekly_dose_mg",
           "read_covariates", "read_genotypes", "round_dose_mg"]

DOSE_STEP_MG, MAX_DOSE_MG = 0.5, 15.0
DAYS_PER_WEEK = 7.0
EUPACT_ELIMINATION_PER_H = {"*1/*1": 0.0189, "*1/*2": 0.0158, "*1/*3": 0.0132,
                            "*2/*2": 0.0130, "*2/*3": 0.0090, "*3/*3": 0.0075}
"""S-warfarin elimination rate constant by CYP2C9 diplotype, 1/h (EU-PACT protocol)."""
RAVVAZ_FIRST_INR_DAY = 2
"""Ravvaz 2017 tests the INR on its day 3 after two initiation doses: env day 2 (day 0 = 1st)."""


def round_dose_mg(doses_mg: ArrayLike) -> np.ndarray:
    """Doses rounded half up to the 0.5 mg tablet grid and clipped to [0, 15] mg.

    Examples:
        >>> round_dose_mg([4.6656, 5.75, -1.0, 20.0]).tolist()
        [4.5, 6.0, 0.0, 15.0]
    """
    doses = np.asarray(doses_mg, dtype=np.float64)
    return np.clip(DOSE_STEP_MG * np.floor(doses / DOSE_STEP_MG + 0.5), 0.0, MAX_DOSE_MG)



def eupact_loading_doses_mg(daily_dose_mg: ArrayLike, cyp2c9: ArrayLike) -> np.ndarray:
    """EU-PACT doses of days 1-3, mg, shape (n, 3), from the maintenance dose D (mg/day).

    LD3 = D / ((1 - e^(-24k)) (1 + e^(-24k) + e^(-48k))) with k the CYP2C9 elimination rate
    (1/h); the days get D + 1.5 (LD3 - D), LD3 and D + 0.5 (LD3 - D) (EU-PACT protocol as
    coded in ReiL; Ravvaz 2017 uses it with the modified IWPC dose).

    Args:
        daily_dose_mg: predicted maintenance dose, mg/day, shape (n,).
        cyp2c9: labels of ``CYP2C9_DIPLOTYPES``, shape (n,).

    Examples:
        >>> eupact_loading_doses_mg([5.0], ["*1/*1"]).round(3).tolist()
        [[7.587, 6.725, 5.862]]
    """
    decay = np.exp(-24.0 * lookup_coefficients("cyp2c9", EUPACT_ELIMINATION_PER_H, cyp2c9))
    daily = np.asarray(daily_dose_mg, dtype=np.float64)
    loading = daily / ((1.0 - decay) * (1.0 + decay + decay**2))
    return daily[..., None] + (loading - daily)[..., None] * np.array([1.5, 1.0, 0.5])


def read_covariates(observation: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The IWPC covariates of each env from ``observation["covariates"]`` (n_envs, 10).

    Returns age_years, is_female, weight_kg, height_cm, race (labels of ``RACES``; an
    all-zero one-hot reads as "other"), amiodarone and enzyme_inducer, each (n_envs,).

    Examples:
        >>> row = [70.0, 1, 60, 160, 0, 1, 0, 0, 1, 0]
        >>> read_covariates({"covariates": np.array([row])})["race"].tolist()
        ['asian']
    """
    if "covariates" not in observation:
        raise ValueError("observation lacks 'covariates'")
    covariates = np.asarray(observation["covariates"], dtype=np.float64)
    if covariates.ndim != 2 or covariates.shape[1] != 10:
        raise ValueError(f"covariates must have shape (n_envs, 10), got {covariates.shape}")
    one_hot = covariates[:, 4:8]
    race = np.where(one_hot.max(axis=1) > 0.5, np.array(RACES)[one_hot.argmax(axis=1)], "other")
    return {"age_years": covariates[:, 0], "is_female": covariates[:, 1],
            "weight_kg": covariates[:, 2], "height_cm": covariates[:, 3], "race": race,
            "amiodarone": covariates[:, 8], "enzyme_inducer": covariates[:, 9]}


def read_genotypes(observation: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """CYP2C9 and VKORC1 labels of each env from ``observation["genotype"]`` (n_envs, 9).

    An all-zero one-hot block reads as "unknown". Raises ValueError without the key.

    Examples:
        >>> read_genotypes({"genotype": np.array([[0, 0, 1, 0, 0, 0, 0, 0, 1.0]])})
        (array(['*1/*3'], dtype='<U7'), array(['A/A'], dtype='<U7'))
    """
    if "genotype" not in observation:
        raise ValueError("a pharmacogenetic policy needs observation['genotype']: it needs "
                         "the genotype-guided env pkgym/WarfarinPGx-v0")
    genotype = np.asarray(observation["genotype"], dtype=np.float64)
    if genotype.ndim != 2 or genotype.shape[1] != 9:
        raise ValueError(f"genotype must have shape (n_envs, 9), got {genotype.shape}")
    labels = []
    for block, names in ((genotype[:, :6], CYP2C9_DIPLOTYPES), (genotype[:, 6:], VKORC1_GENOTYPES)):
        found = np.array(names + (UNKNOWN,))[block.argmax(axis=1)]
        labels.append(np.where(block.max(axis=1) > 0.5, found, UNKNOWN))
    return labels[0], labels[1]


class InitiationRule(Protocol):
    """Daily doses before the maintenance protocol's first INR-driven decision.

    Attributes:
        name: short name, used in policy names ("iwpc_pgx", "aurora", ...).
        first_test_day: env day of the first INR after the baseline one that the rule expects
            (what a test-scheduling policy asks for on day 0).
    """

    name: str
    first_test_day: int

    def doses_mg(self, observation: Mapping[str, np.ndarray], days: np.ndarray) -> np.ndarray:
        """Each env's dose on env day ``days`` (n_envs,), mg on the 0.5 mg grid."""

    def first_inr_decision(self, inrs: np.ndarray,
                           doses_mg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(new daily doses, retest days) at the first INR; NaN where the protocol decides."""


class _NoFirstInrRule:
    """Mixin: the maintenance protocol makes the first INR-driven decision itself."""

    first_test_day = RAVVAZ_FIRST_INR_DAY

    def first_inr_decision(self, inrs: np.ndarray,
                           doses_mg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All NaN: no rule of its own at the first INR."""
        nan = np.full(np.shape(inrs), np.nan)
        return nan, nan


class FixedInitiation(_NoFirstInrRule):
    """The same dose every day until the first maintenance decision (e.g. a 5 mg start).

    Examples:
        >>> FixedInitiation(5.0).doses_mg({"day": np.zeros((2, 1))}, np.zeros(2)).tolist()
        [5.0, 5.0]
    """

    def __init__(self, dose_mg: float = 5.0) -> None:
        """Store the dose (mg), which must lie on the 0.5 mg grid within [0, 15]."""
        if float(round_dose_mg(dose_mg)) != dose_mg:
            raise ValueError(f"dose_mg must be a multiple of 0.5 in [0, 15], got {dose_mg}")
        self.dose_mg, self.name = float(dose_mg), f"fixed_{dose_mg:g}mg"

    def doses_mg(self, observation: Mapping[str, np.ndarray], days: np.ndarray) -> np.ndarray:
        """``dose_mg`` for every env."""
        return np.full(np.shape(days), self.dose_mg)


class IwpcInitiation(_NoFirstInrRule):
    """The IWPC daily dose (weekly / 7, rounded to 0.5 mg) every day from day 0.

    Args:
        pharmacogenetic: True for the pharmacogenetic formula (reads ``observation
            ["genotype"]``: env ``pkgym/WarfarinPGx-v0``), False for the clinical one.

    Examples:
        >>> row = [65.0, 0, 80, 175, 1, 0, 0, 0, 0, 0]  # white man, 175 cm, 80 kg
        >>> obs = {"covariates": np.array([row]), "genotype": np.eye(9)[[0]] + np.eye(9)[[7]]}
        >>> IwpcInitiation(True).doses_mg(obs, np.zeros(1)).tolist()  # 32.66 mg/week / 7
        [4.5]
    """

    def __init__(self, pharmacogenetic: bool) -> None:
        """Choose the formula."""
        self.pharmacogenetic = bool(pharmacogenetic)
        self.name = "iwpc_pgx" if self.pharmacogenetic else "iwpc_clinical"

    def doses_mg(self, observation: Mapping[str, np.ndarray], days: np.ndarray) -> np.ndarray:
        """The IWPC daily dose of each env (the same on every day)."""
        c = read_covariates(observation)
        clinical = (c["age_years"], c["height_cm"], c["weight_kg"], c["race"])
        drugs = (c["amiodarone"], c["enzyme_inducer"])
        if self.pharmacogenetic:
            weekly = iwpc_pharmacogenetic_weekly_dose_mg(*clinical, *read_genotypes(observation),
                                                         *drugs)
        else:
            weekly = iwpc_clinical_weekly_dose_mg(*clinical, *drugs)
        return round_dose_mg(weekly / DAYS_PER_WEEK)


class EuPactInitiation(_NoFirstInrRule):
    """Modified IWPC dose with the EU-PACT 3-day loading doses (days 0-2), then that dose.

    The initiation of Ravvaz 2017's PGPGA and PGPGI arms (whose days 4-5 then follow
    Lenzini 2010, which pkgym does not implement: the maintenance protocol takes over at the
    first INR, on env day 3 = Ravvaz day 4). Needs ``pkgym/WarfarinPGx-v0``.

    Examples:
        >>> row = [65.0, 0, 80, 175, 1, 0, 0, 0, 0, 0]
        >>> obs = {"covariates": np.array([row]), "genotype": np.eye(9)[[0]] + np.eye(9)[[7]]}
        >>> [float(EuPactInitiation().doses_mg(obs, np.array([d]))[0]) for d in range(4)]
        [7.0, 6.0, 5.0, 4.5]
    """

    name = "eupact_pgx"
    first_test_day = 3

    def doses_mg(self, observation: Mapping[str, np.ndarray], days: np.ndarray) -> np.ndarray:
        """Loading doses on days 0-2, the modified IWPC daily dose afterwards."""
        c = read_covariates(observation)
        cyp2c9, vkorc1 = read_genotypes(observation)
        daily = iwpc_modified_weekly_dose_mg(c["age_years"], c["height_cm"], c["weight_kg"],
                                             cyp2c9, vkorc1, c["amiodarone"]) / DAYS_PER_WEEK
        days = np.asarray(days, dtype=np.int64).reshape(daily.shape)
        loading = eupact_loading_doses_mg(daily, cyp2c9)
        on_day = loading[np.arange(daily.size), np.clip(days, 0, 2)]
        return round_dose_mg(np.where(days <= 2, on_day, daily))
