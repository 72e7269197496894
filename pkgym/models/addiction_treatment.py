"""Treatments on top of the TD-learning patient: opioid antagonist, agonist maintenance, CM.

* Naltrexone (antagonist), daily oral: one compartment of "blockade-equivalent" amount with
  first-order loss at the half-life of its active metabolite 6-beta-naltrexol (about 13 h;
  the parent's is about 4 h: Verebey et al. 1976, Clin Pharmacol Ther 20:315), and mu-receptor
  occupancy ``A / (A + A50)`` of the day's mean amount. ``A50`` is calibrated so that 50 mg
  daily at steady state blocks 90% (Lee et al. 1988, J Nucl Med 29:1207: about 90-95%
  mu blockade by [11C]carfentanil PET after 50 mg); the single-compartment, daily-mean
  form is pkgym's assumption.
* Buprenorphine (partial agonist maintenance), daily sublingual, the same form with a 32 h
  half-life (assumed, in the reported 24-42 h range) and 80% occupancy at 16 mg daily
  (Greenwald et al. 2003, Neuropsychopharmacology 28:2000: about 80% at 16 mg, 94% at
  32 mg). Occupancy by either drug blocks that fraction of the street drug's reward and D
  (see :func:`pkgym.models.addiction.td_day`).
* Contingency management (Higgins et al. 1994, Arch Gen Psychiatry 51:568; Petry et al.
  2000): urine tests three times a week (days 3, 5 and 7 of the step, ``CM_TEST_DAYS``, each
  covering the last three days; the day-7 one is the clinic's weekly test) and a voucher,
  added to the reward of the option chosen that day, for each negative test. Vouchers
  escalate with consecutive negatives and fall back after a positive one (Higgins: $2.50,
  +$1.25 per consecutive negative, reset by a positive): ``voucher_reward +
  voucher_increment * streak``, in the patient's reward units (the sizes are assumed).

Each drug is taken on a day with an adherence probability (assumed: oral naltrexone 0.7,
its poor adherence being the known limit of the oral form; supervised buprenorphine 0.9).
Amounts have shape (n_patients, 2): naltrexone, buprenorphine, mg.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from pkgym.units import HOURS_PER_DAY

DRUGS = ("naltrexone", "buprenorphine")
CM_TEST_DAYS = (2, 4, 6)
"""Days of the week (0-based) with a contingency-management urine test."""
MAX_HALF_LIFE_H = 10_000.0
"""Longest drug half-life a scenario may set, h (over a year: no depot formulation is near)."""


def _unit(unit: str) -> dict[str, str]:
    return {"unit": unit}


@dataclass(frozen=True, slots=True, kw_only=True)
class TreatmentPharmacology:
    """Occupancy, adherence and voucher parameters (sources in the module docstring).

    Attributes:
        naltrexone_half_life_h: loss half-life of the blockade-equivalent amount, h.
        naltrexone_reference_dose_mg, naltrexone_reference_occupancy: steady-state daily
            dose and its mean mu occupancy (50 mg, 0.9).
        buprenorphine_half_life_h, buprenorphine_reference_dose_mg,
            buprenorphine_reference_occupancy: the same for buprenorphine (32 h, 16 mg, 0.8).
        naltrexone_adherence, buprenorphine_adherence: probability a day's dose is taken.
        voucher_reward: contingency-management reward for a first negative test, reward
            units.
        voucher_increment: its increase per consecutive negative test, reward units.
    """

    naltrexone_half_life_h: float = field(default=13.0, metadata=_unit("h"))
    naltrexone_reference_dose_mg: float = field(default=50.0, metadata=_unit("mg"))
    naltrexone_reference_occupancy: float = field(default=0.9, metadata=_unit("1"))
    buprenorphine_half_life_h: float = field(default=32.0, metadata=_unit("h"))
    buprenorphine_reference_dose_mg: float = field(default=16.0, metadata=_unit("mg"))
    buprenorphine_reference_occupancy: float = field(default=0.8, metadata=_unit("1"))
    naltrexone_adherence: float = field(default=0.7, metadata=_unit("1"))
    buprenorphine_adherence: float = field(default=0.9, metadata=_unit("1"))
    voucher_reward: float = field(default=3.0, metadata=_unit("reward"))
    voucher_increment: float = field(default=1.5, metadata=_unit("reward"))

    def __post_init__(self) -> None:
        """Half-lives in (0, 10 000] h, doses > 0, occupancies in (0, 1), adherence in [0, 1].

        The half-life bound keeps a day's retention below 1 in float64 (a half-life of
        ~1e17 h retains exactly 1.0 and leaves the half-occupancy amounts undefined).
        """
        for name in ("naltrexone_half_life_h", "buprenorphine_half_life_h"):
            if not 0 < getattr(self, name) <= MAX_HALF_LIFE_H:
                raise ValueError(f"{name} must be in (0, {MAX_HALF_LIFE_H:g}] h, "
                                 f"got {getattr(self, name)}")
        for name in ("naltrexone_reference_dose_mg", "buprenorphine_reference_dose_mg"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise ValueError(f"{name} must be finite and > 0, got {getattr(self, name)}")
        for name in ("naltrexone_reference_occupancy", "buprenorphine_reference_occupancy"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must be in (0, 1), got {getattr(self, name)}")
        for name in ("naltrexone_adherence", "buprenorphine_adherence"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        for name in ("voucher_reward", "voucher_increment"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise ValueError(f"{name} must be finite and >= 0, got {getattr(self, name)}")

    @property
    def daily_retention(self) -> np.ndarray:
        """Fraction of each drug's amount left after a day, (2,).

        Examples:
            >>> TreatmentPharmacology().daily_retention.round(3).tolist()
            [0.278, 0.595]
        """
        half_lives = np.array([self.naltrexone_half_life_h, self.buprenorphine_half_life_h])
        return np.exp(-math.log(2) * HOURS_PER_DAY / half_lives)

    @property
    def half_occupancy_amounts_mg(self) -> np.ndarray:
        """A50 of each drug: the reference dose's steady-state mean amount x (1 - o) / o, (2,).

        Examples:
            >>> TreatmentPharmacology().half_occupancy_amounts_mg.round(2).tolist()
            [4.34, 7.69]
        """
        doses = np.array([self.naltrexone_reference_dose_mg, self.buprenorphine_reference_dose_mg])
        occupancies = np.array([self.naltrexone_reference_occupancy,
                                self.buprenorphine_reference_occupancy])
        mean_amounts = doses / -np.log(self.daily_retention)
        return mean_amounts * (1 - occupancies) / occupancies

    @property
    def adherence(self) -> np.ndarray:
        """Probability each drug's daily dose is taken, (2,).

        Examples:
            >>> TreatmentPharmacology().adherence.tolist()
            [0.7, 0.9]
        """
        return np.array([self.naltrexone_adherence, self.buprenorphine_adherence])


def advance_amounts(amounts_mg: np.ndarray, doses_mg: np.ndarray,
                    retention: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One day: dose at its start, first-order loss; returns (next amounts, day's means), mg.

    Args:
        amounts_mg: (n, 2) at the start of the day, before the dose.
        doses_mg: (n, 2) taken at the start of the day.
        retention: fraction left after a day, (2,).

    Examples:
        >>> after, mean = advance_amounts(np.zeros((1, 2)), np.array([[10.0, 0.0]]),
        ...                               np.array([0.5, 0.5]))
        >>> after.tolist(), mean.round(3).tolist()
        ([[5.0, 0.0]], [[7.213, 0.0]])
    """
    start = amounts_mg + doses_mg
    rate = -np.log(retention)
    return start * retention, start * (1 - retention) / rate


def occupancies(mean_amounts_mg: np.ndarray, half_occupancy_mg: np.ndarray) -> np.ndarray:
    """Receptor occupancy ``A / (A + A50)`` of each drug, (n, 2).

    Examples:
        >>> occupancies(np.array([[9.0, 0.0]]), np.array([1.0, 1.0])).tolist()
        [[0.9, 0.0]]
    """
    return mean_amounts_mg / (mean_amounts_mg + half_occupancy_mg)


def blocked_fraction(occupancy: np.ndarray) -> np.ndarray:
    """Fraction of the street drug's effect blocked by either drug: ``1 - prod(1 - o)``, (n,).

    Examples:
        >>> blocked_fraction(np.array([[0.5, 0.5]])).tolist()
        [0.75]
    """
    return 1.0 - np.prod(1.0 - occupancy, axis=1)


def vouchers(negative: np.ndarray, streak: np.ndarray,
             pharmacology: TreatmentPharmacology) -> tuple[np.ndarray, np.ndarray]:
    """Contingency-management vouchers (reward units) for one test day, and the new streaks.

    Examples:
        >>> pay, streak = vouchers(np.array([True, True, False]), np.array([0, 2, 5]),
        ...                        TreatmentPharmacology())
        >>> pay.tolist(), streak.tolist()
        ([3.0, 6.0, 0.0], [1, 3, 0])
    """
    pay = np.where(negative, pharmacology.voucher_reward
                   + pharmacology.voucher_increment * streak, 0.0)
    return pay, np.where(negative, streak + 1, 0)
