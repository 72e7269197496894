"""Calibrate virtual populations to real data.

* :mod:`~pkgym.populations.calibrate.covariates`: reweight or resample a virtual population so
  that its covariate margins (category shares, joint shares, means, SDs) match those of a real
  covariate table, by entropy balancing or raking, with the effective sample size reported.
"""

from __future__ import annotations

from pkgym.populations.calibrate.covariates import (
    CalibrationWeights,
    Marginals,
    MarginKey,
    entropy_balance,
    marginals_from_table,
    rake,
)

__all__ = [
    "CalibrationWeights",
    "MarginKey",
    "Marginals",
    "entropy_balance",
    "marginals_from_table",
    "rake",
]
