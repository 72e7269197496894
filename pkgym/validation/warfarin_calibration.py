"""Calibrate Hamberg 2010 to the IWPC training split by indirect inference on titrated twins.

The statistic is the auxiliary regression of log stable dose on CYP2C9, VKORC1, race, age,
amiodarone and enzyme inducers, with its residual SD (15 numbers;
:func:`~pkgym.validation.warfarin_twins.auxiliary_statistics`), computed on the real
training patients and on ``replicates`` virtual twins of each
(:func:`~pkgym.validation.warfarin_twins.simulate_twins`). Eleven parameters move
(:data:`PARAMETERS`): EC50 per VKORC1 allele (the level: the dose is proportional to EC50
and the PK stays as Hamberg measured it from concentrations), the *2 and *3 allele
clearances, the age effect on CL, EC50 factors for asian, black and other ancestry (a
stand-in for what the model lacks: African CYP2C9 alleles, further VKORC1 and CYP4F2
variants, diet), CL factors for amiodarone and enzyme inducers (absent from Hamberg), and
one scale on the CL and EC50 variances (only their sum is identified by doses; their
published ratio is kept).

The titrated dose is a step function of the parameters (tablet rounding, visits), so the
fit alternates two steps until the parameters settle: (1) simulate the titration exactly at
the current parameters and keep each twin's titration offset ``log(stable / required)``;
(2) with the offsets fixed, fit the parameters by weighted least squares
(:func:`~pkgym.populations.calibrate.fit_simulated_moments`), where the required dose moves
exactly with EC50 and, to first order, with CL. At the fixed point the statistics are those
of the exact titration. Weights are the observed statistics' standard errors.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pkgym.models.warfarin import Hamberg2010
from pkgym.populations.calibrate import ParameterFit, fit_simulated_moments
from pkgym.validation.warfarin_twins import (
    CALIBRATION_STATISTICS,
    StableDoseRule,
    StatisticsLayout,
    TwinNoise,
    auxiliary_design,
    calibration_scale,
    calibration_statistics,
    replicate,
    simulate_twins,
    twin_parameters,
)

PARAMETERS = ("log_ec50_g", "log_ec50_a", "log_clearance_star2", "log_clearance_star3",
              "age_effect_change", "log_ec50_asian", "log_ec50_black", "log_ec50_other",
              "log_amiodarone_cl", "log_enzyme_inducer_cl", "log_variance_scale")
"""The calibrated parameters (logs of multipliers of the published values, except the age
effect, which is added to the published 0.00571/y)."""
STATISTICS = CALIBRATION_STATISTICS
"""The matched statistics, in order."""
BOUNDS = ((-1.5, -1.5, -2.0, -2.0, -0.02, -1.0, -1.0, -1.0, -1.5, -1.5, -4.0),
          (1.5, 1.5, 2.0, 2.0, 0.03, 1.0, 1.0, 1.0, 1.5, 1.5, 1.5))
"""Bounds of the parameters (wide: none is active at the fit)."""
INNER_TOLERANCE = 1e-6
"""ftol/xtol/gtol of each inner fit: the Harrell-Davis medians are piecewise linear in the
parameters (their sort order changes), so tighter tolerances only chase kinks."""


def apply(theta: np.ndarray, base: Hamberg2010 | None = None) -> Hamberg2010:
    """The published parameter set changed by ``theta`` (see :data:`PARAMETERS`).

    Examples:
        >>> apply(np.zeros(len(PARAMETERS))) == Hamberg2010()
        True
    """
    base = base or Hamberg2010()
    t = np.asarray(theta, dtype=np.float64)
    e = np.exp(t)
    return dataclasses.replace(
        base, ec50_g_mg_per_l=base.ec50_g_mg_per_l * e[0],
        ec50_a_mg_per_l=base.ec50_a_mg_per_l * e[1],
        clearance_star2_l_per_h=base.clearance_star2_l_per_h * e[2],
        clearance_star3_l_per_h=base.clearance_star3_l_per_h * e[3],
        age_effect_per_year=base.age_effect_per_year + t[4],
        ec50_race_factor=(1.0, float(e[5]), float(e[6]), float(e[7])),
        amiodarone_clearance_factor=base.amiodarone_clearance_factor * e[8],
        enzyme_inducer_clearance_factor=base.enzyme_inducer_clearance_factor * e[9],
        omega_clearance=base.omega_clearance * e[10], omega_ec50=base.omega_ec50 * e[10])


@dataclass(frozen=True, slots=True)
class Calibration:
    """A finished calibration: the parameters, the fit, and how the outer steps went.

    Attributes:
        model: the calibrated parameter set.
        theta: the fitted parameters (:data:`PARAMETERS`).
        fit: the last inner least-squares fit (statistics and standard errors).
        exact_statistics: the auxiliary statistics of exactly titrated twins at ``theta``.
        history: largest parameter change of each outer step.
        n_patients, replicates: training patients and twins per patient.
        tolerance: the outer steps' stopping tolerance (see :attr:`converged`).
    """

    model: Hamberg2010
    theta: np.ndarray
    fit: ParameterFit
    exact_statistics: np.ndarray
    history: tuple[float, ...]
    n_patients: int
    replicates: int
    tolerance: float

    @property
    def converged(self) -> bool:
        """Whether the last outer step moved no parameter more than ``tolerance``."""
        return bool(self.history) and self.history[-1] < self.tolerance and self.fit.converged

    def statistics(self) -> pd.DataFrame:
        """Observed vs exactly simulated auxiliary statistics with the standardised gap."""
        return pd.DataFrame({"statistic": STATISTICS, "observed": self.fit.observed,
                             "simulated": self.exact_statistics,
                             "z": (self.exact_statistics - self.fit.observed) / self.fit.scale})


def _offsets(model: Hamberg2010, twins: pd.DataFrame, noise: TwinNoise,
             rule: StableDoseRule | None) -> tuple[pd.DataFrame, np.ndarray]:
    """Exactly titrated twins at ``model`` and their log(CL x EC50) under it."""
    simulated = simulate_twins(model, twins, noise, rule)
    params = twin_parameters(model, twins, noise.etas)
    scale = np.log(params.clearance_l_per_h * params.ec50_mg_per_l)
    return simulated, scale


def calibrate_hamberg2010(training: pd.DataFrame, *, replicates: int = 10, seed: int = 0,
                          rule: StableDoseRule | None = None, outer_steps: int = 8,
                          tolerance: float = 1e-3) -> Calibration:
    """Fit :data:`PARAMETERS` to real patients (columns of ``read_iwpc``, ``dose`` in mg/day).

    Args:
        training: real patients with complete genotype, ``dose`` their stable dose, mg/day.
        replicates: virtual twins per patient.
        seed: seed of the twins' etas and INR errors (common to every step).
        rule: how a twin's stable dose is found (default ``InrWindow()``).
        outer_steps: most titrate-then-fit steps.
        tolerance: stop when no parameter moves more than this in a step.
    """
    layout = StatisticsLayout.of(training)
    log_dose = np.log(training["dose"].to_numpy(dtype=np.float64))
    observed = calibration_statistics(layout, log_dose)
    scale = calibration_scale(layout, auxiliary_design(training), log_dose)
    twins = replicate(training, replicates)
    twin_layout = StatisticsLayout.of(twins)
    noise = TwinNoise.draw(len(twins), seed)
    theta, history = np.zeros(len(PARAMETERS)), []
    for _ in range(outer_steps):
        simulated, base_scale = _offsets(apply(theta), twins, noise, rule)
        base_log_dose = np.log(simulated["dose"].to_numpy())

        def statistics(candidate: np.ndarray, base_log_dose: np.ndarray = base_log_dose,
                       base_scale: np.ndarray = base_scale) -> np.ndarray:
            params = twin_parameters(apply(candidate), twins, noise.etas)
            moved = np.log(params.clearance_l_per_h * params.ec50_mg_per_l)
            return calibration_statistics(twin_layout,
                                          base_log_dose + moved - base_scale)

        fit = fit_simulated_moments(statistics, observed, scale, theta, names=PARAMETERS,
                                    statistic_names=STATISTICS, bounds=BOUNDS,
                                    tolerance=INNER_TOLERANCE, max_evaluations=400)
        history.append(float(np.max(np.abs(fit.theta - theta))))
        theta = fit.theta
        if history[-1] < tolerance:
            break
    final, _ = _offsets(apply(theta), twins, noise, rule)
    exact = calibration_statistics(twin_layout, np.log(final["dose"].to_numpy()))
    return Calibration(apply(theta), theta, fit, exact, tuple(history), len(training),
                       replicates, tolerance)
