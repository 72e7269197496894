"""Tumour size under chemotherapy: the Claret et al. 2009 tumour growth inhibition model.

Claret L, Girard P, Hoff PM, et al. Model-based prediction of phase III overall survival in
colorectal cancer on the basis of phase II tumor dynamic data. J Clin Oncol 2009;27:4103::

    dy/dt = KL y - KD exp(-lambda t) E(t) y,    y(0) = baseline sum of longest diameters (mm)

KL (growth) 0.015/week and lambda (resistance) 0.042/week are Claret's 5-FU estimates (as
reproduced in a Pumas teaching script; ``docs/research/chemotherapy.md`` section 3), with IIV
variances 0.556 (KL), 0.540 (KD), 0.450 (lambda). No docetaxel-specific TGI parameters were
found, so the exposure E(t) is the docetaxel plasma concentration (mg/L) and KD is *calibrated*:
a cycle at 100 mg/m2 (AUC 4.6 mg h/L) kills as much as Claret's 5-FU arm in three weeks
(0.058/g/week x 0.96 g/week x 3 weeks = 0.167), giving KD = 0.036 L/(mg h). Baseline SLD
(log-normal, median 70 mm, CV 50%) and the SLD measurement error (10% CV) are *assumptions*.
RECIST 1.1 progression: the SLD grows by >= 20% and >= 5 mm over its smallest value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pkgym.populations.variability import BetweenSubjectVariability
from pkgym.units import HOURS_PER_WEEK

CLARET = "Claret et al. 2009, J Clin Oncol 27:4103"


def _p(value: float, unit: str, source: str = CLARET) -> float:
    return field(default=value, metadata={"unit": unit, "source": source})


@dataclass(frozen=True, slots=True)
class TumourParams:
    """Individual tumour parameters of n patients (all (n,), rates per hour)."""

    growth_per_h: np.ndarray
    kill_l_per_mg_per_h: np.ndarray
    resistance_per_h: np.ndarray


@dataclass(frozen=True, slots=True, kw_only=True)
class Claret2009:
    """Tumour growth inhibition parameters (see the module docstring)."""

    growth_per_week: float = _p(0.015, "1/week")
    kill_l_per_mg_per_h: float = _p(0.036, "L/(mg h)", "calibrated to Claret 2009 (see module)")
    resistance_per_week: float = _p(0.042, "1/week")
    omega_growth: float = _p(0.556, "variance of log")
    omega_kill: float = _p(0.540, "variance of log")
    omega_resistance: float = _p(0.450, "variance of log")
    measurement_cv: float = _p(0.10, "fraction", "assumed (RECIST reader variability)")
    progression_increase: float = _p(0.20, "fraction over nadir", "RECIST 1.1")
    progression_minimum_mm: float = _p(5.0, "mm", "RECIST 1.1")

    def __post_init__(self) -> None:
        """Rates positive; omegas and CVs non-negative."""
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            positive = not name.startswith(("omega", "measurement"))
            if not np.isfinite(value) or value < 0 or (positive and value == 0):
                raise ValueError(f"Claret2009.{name} must be finite and "
                                 f"{'> 0' if positive else '>= 0'}, got {value}")

    @property
    def variability(self) -> BetweenSubjectVariability:
        """Diagonal log-normal IIV on KL, KD and lambda."""
        return BetweenSubjectVariability(names=("KL", "KD", "LAMBDA"), omega=np.diag(
            [self.omega_growth, self.omega_kill, self.omega_resistance]))

    def parameters(self, etas: np.ndarray) -> TumourParams:
        """Individual parameters from etas (n, 3) on KL, KD, lambda.

        Examples:
            >>> Claret2009().parameters(np.zeros((1, 3))).growth_per_h.round(7).tolist()
            [8.93e-05]
        """
        eta = np.asarray(etas, dtype=np.float64)
        if eta.ndim != 2 or eta.shape[1] != 3 or not np.all(np.isfinite(eta)):
            raise ValueError(f"etas must be finite with shape (n, 3), got {eta.shape}")
        return TumourParams(self.growth_per_week / HOURS_PER_WEEK * np.exp(eta[:, 0]),
                            self.kill_l_per_mg_per_h * np.exp(eta[:, 1]),
                            self.resistance_per_week / HOURS_PER_WEEK * np.exp(eta[:, 2]))

    def progressed(self, size_mm: np.ndarray, nadir_mm: np.ndarray) -> np.ndarray:
        """RECIST 1.1 progression of a measured SLD over the smallest SLD so far.

        Examples:
            >>> Claret2009().progressed(np.array([59.0, 24.0, 30.0]), np.array([50.0, 20, 20]))
            array([False, False,  True])
        """
        size, nadir = np.asarray(size_mm, np.float64), np.asarray(nadir_mm, np.float64)
        return ((size >= nadir * (1 + self.progression_increase))
                & (size - nadir >= self.progression_minimum_mm))
