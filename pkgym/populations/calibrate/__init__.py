"""Calibrate virtual populations to real data.

* :mod:`~pkgym.populations.calibrate.margins`: the targets, margins of a real covariate table;
* :mod:`~pkgym.populations.calibrate.covariates`: reweight or resample a virtual population so
  that its covariate margins (category shares, joint shares, means, SDs) match those of a real
  covariate table, by entropy balancing or raking, with the effective sample size reported.
* :mod:`~pkgym.populations.calibrate.parameters`: fit population parameters so that statistics
  of simulated patients match the same statistics of real ones (indirect inference / simulated
  method of moments, common random numbers, bounded least squares).

Both answer one question, "what must change so that virtual patients look like these real
ones?", one for who the patients are (covariates), one for how they respond (parameters).
"""

from __future__ import annotations

from pkgym.populations.calibrate.covariates import CalibrationWeights, entropy_balance, rake
from pkgym.populations.calibrate.margins import Marginals, MarginKey, marginals_from_table
from pkgym.populations.calibrate.parameters import ParameterFit, fit_simulated_moments

__all__ = [
    "CalibrationWeights",
    "MarginKey",
    "Marginals",
    "ParameterFit",
    "entropy_balance",
    "fit_simulated_moments",
    "marginals_from_table",
    "rake",
]
