"""The INR output of the Hamberg models: two transit-chain ends to an INR, batched and compiled.

``2010: INR = BASE + INRmax (1 - (A1 + A2) / 2)``; ``2007: INR = BASE + INRmax (1 - A1 A2)^lambda``
(see :mod:`pkgym.models.warfarin` for the models and their sources).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np


class InrForm(NamedTuple):
    """The INR output equation's settings, as :func:`inr_of` and the compiled day read them."""

    product_form: bool
    exponent: float
    inr_max: float
    baseline_inr: float


@dataclass(frozen=True, slots=True)
class InrStructure:
    """The structural (non-covariate) part of a Hamberg model, shared by all patients.

    Attributes:
        chain_lengths: compartments in transit chains 1 and 2.
        inr_form: ``"mean"`` (2010: mean of the chain ends) or ``"product"`` (2007).
        inr_exponent: lambda of the 2007 form (1 for 2010).
        inr_max: INRmax.
        baseline_inr: BASE, the INR without warfarin.
        absorption_rate_per_h: ka.
        two_compartment: whether S-warfarin has a peripheral compartment.
    """

    chain_lengths: tuple[int, int]
    inr_form: str
    inr_exponent: float
    inr_max: float
    baseline_inr: float
    absorption_rate_per_h: float
    two_compartment: bool

    def inr(self, chain_ends: np.ndarray) -> np.ndarray:
        """INR from the amounts at the ends of the two chains, shape (n, 2).

        Examples:
            >>> from pkgym.models.warfarin import Hamberg2010
            >>> Hamberg2010().structure.inr(np.array([[1.0, 1.0], [0.8, 0.9]])).round(3).tolist()
            [1.0, 4.0]
        """
        ends = np.ascontiguousarray(chain_ends, dtype=np.float64)
        if ends.ndim != 2 or ends.shape[1] != 2:
            raise ValueError(f"chain_ends must have shape (n, 2), got {ends.shape}")
        return _inr_batch(ends, *self.packed())

    def packed(self) -> InrForm:
        """(product form, exponent, INRmax, BASE): the arguments of :func:`inr_of`."""
        if self.inr_form not in ("mean", "product"):
            raise ValueError(f"inr_form must be 'mean' or 'product', got {self.inr_form!r}")
        return InrForm(self.inr_form == "product", float(self.inr_exponent),
                       float(self.inr_max), float(self.baseline_inr))


@numba.njit(cache=True, nogil=True)
def inr_of(end1: float, end2: float, product_form: bool, exponent: float, inr_max: float,
           baseline: float) -> float:  # pragma: no cover - compiled
    """INR from the two chain ends: the one implementation of both Hamberg output equations."""
    if product_form:
        deficit = max(1.0 - end1 * end2, 0.0) ** exponent
    else:
        deficit = 1.0 - 0.5 * (end1 + end2)
    return baseline + inr_max * deficit


@numba.njit(cache=True, nogil=True)
def _inr_batch(ends: np.ndarray, product_form: bool, exponent: float, inr_max: float,
               baseline: float) -> np.ndarray:  # pragma: no cover - compiled
    out = np.empty(ends.shape[0])
    for i in range(ends.shape[0]):
        out[i] = inr_of(ends[i, 0], ends[i, 1], product_form, exponent, inr_max, baseline)
    return out
