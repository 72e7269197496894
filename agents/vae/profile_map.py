"""Bayesian MAP estimation of mycophenolic acid (MPA) exposure from limited sampling.

Two priors (:mod:`agents.vae.profile_priors`), one estimator:

* ``"true"``: the de Winter 2009 model with enterohepatic recirculation (EHC), the model the
  patients follow (:mod:`pkgym.models.mycophenolate`); its seven etas (``ETA_NAMES``) are
  estimated with its omega as the prior;
* ``"no_ehc"``: the published two-compartment model without EHC
  (:mod:`pkgym.models.mycophenolate_standard`), the misspecified standard: it cannot draw the
  secondary peak 6-12 h after a dose.

Objective (NONMEM's POSTHOC with an additive error on log concentrations), in whitened
coordinates ``eta = L u`` (``L L^T = Omega``)::

    OFV(u) = sum_i m_i ((log y_i - log f_i(eta)) / sd)^2 + |u|^2

``m_i`` masks the samples not taken; a sample below the limit of quantification (LOQ, reported
as 0 or NaN) adds ``(max(log f_i - log LOQ, 0) / sd)^2`` (the prediction is only penalised
above the LOQ). ``sd`` is each prior's own residual error on the log scale unless given.
Minimised for every patient at once by :func:`pkgym.sim.least_squares.levenberg_marquardt`.
The fitted patient's near-steady-state 0-12 h profile and AUC0-12 under any dose (at the
covariates of the visit) is what the MAP policies dose with
(:mod:`agents.policies.mycophenolate.map`) and what the hybrid VAE corrects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from agents.vae.profile_priors import LOQ_MG_PER_L, MapPrior, Visits, make_prior
from pkgym.sim.least_squares import levenberg_marquardt

__all__ = ["PROFILE_GRID_H", "MapFit", "fit_map", "nearest_target_dose", "predict_steady"]

PROFILE_GRID_H = np.round(np.arange(0.0, 12.0 + 1e-9, 0.1), 10)
"""Grid of predicted profiles and of their trapezoid AUC0-12, h (0.1 h steps)."""
PROFILE_GRID_H.setflags(write=False)
_STEP = 1e-4  # forward-difference step of the whitened etas (prior standard deviations)
_U_BOUND = 5.0  # whitened etas are clipped to +-5 prior SD (keeps the ODE in range)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class MapFit:
    """MAP estimates of a batch of patients.

    Attributes:
        prior: the prior's name (``"true"`` or ``"no_ehc"``).
        etas: posterior modes on the prior's eta scale.  # (n, n_eta)
        objective: OFV at the mode (module docstring).  # (n,)
    """

    prior: str
    etas: np.ndarray
    objective: np.ndarray


def _residuals(prior: MapPrior, visits: Visits, chol: np.ndarray,
               sd: float) -> tuple[Callable[[np.ndarray], np.ndarray], int]:
    """The LM residual function of ``visits`` (whitened data residuals, then ``u``)."""
    n = visits.n_patients
    conc = np.nan_to_num(np.asarray(visits.concentrations_mg_per_l, np.float64), nan=0.0)
    log_y = np.log(np.maximum(conc, 1e-9))
    below = conc < LOQ_MG_PER_L
    mask = visits.sample_mask

    def residuals(u: np.ndarray) -> np.ndarray:
        reps = u.shape[0] // n
        u = np.clip(u, -_U_BOUND, _U_BOUND)
        etas = u @ chol.T
        sub = visits.repeat(reps)
        f = prior.sample_concentrations(sub, etas)
        log_f = np.log(np.maximum(f, 1e-9))
        r = np.where(np.repeat(below, reps, 0),
                     np.maximum(log_f - np.log(LOQ_MG_PER_L), 0.0),
                     np.repeat(log_y, reps, 0) - log_f) / sd
        r = np.where(np.repeat(mask, reps, 0), r, 0.0)
        return np.column_stack([r, u])

    return residuals, chol.shape[0]


def fit_map(prior: MapPrior | str, visits: Visits, *, iterations: int = 12,
            residual_sd_log: float | None = None) -> MapFit:
    """MAP etas of every patient in ``visits`` under ``prior`` (module docstring).

    Args:
        prior: ``"true"``, ``"no_ehc"`` or a :class:`MapPrior`.
        visits: the patients' doses, covariates and samples (:class:`Visits`).
        iterations: Levenberg-Marquardt iterations (>= 0; 0 gives the prior mode).
        residual_sd_log: SD of the log-concentration residual (default: the prior's).

    Returns:
        The fit; patients without any sample get etas 0.

    Examples:
        >>> v = Visits.steady_state({"albumin_g_per_l": [38.0],
        ...     "creatinine_clearance_ml_per_min": [60.0], "ciclosporin": [0.0]},
        ...     doses_mg=[1000.0], sample_times_h=[[-0.1, 0.5, 2.0]],
        ...     concentrations_mg_per_l=[[2.0, 15.0, 8.0]])
        >>> fit = fit_map("true", v, iterations=4)
        >>> fit.etas.shape
        (1, 7)
    """
    model = make_prior(prior) if isinstance(prior, str) else prior
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    sd = model.residual_sd_log if residual_sd_log is None else float(residual_sd_log)
    if not sd > 0:
        raise ValueError(f"residual_sd_log must be > 0, got {residual_sd_log}")
    chol = np.linalg.cholesky(model.omega)
    if not visits.sample_mask.any():
        zeros = np.zeros((visits.n_patients, chol.shape[0]))
        return MapFit(prior=model.name, etas=zeros, objective=np.zeros(visits.n_patients))
    residuals, k = _residuals(model, visits, chol, sd)
    u = levenberg_marquardt(residuals, np.zeros((visits.n_patients, k)),
                            iterations=iterations, step=_STEP)
    u = np.clip(u, -_U_BOUND, _U_BOUND)
    u[~visits.sample_mask.any(axis=1)] = 0.0
    objective = (residuals(u) ** 2).sum(axis=1)
    return MapFit(prior=model.name, etas=u @ chol.T, objective=objective)


def predict_steady(prior: MapPrior | str, etas: np.ndarray,
                   covariates: Mapping[str, np.ndarray], doses_mg: np.ndarray,
                   grid_h: np.ndarray = PROFILE_GRID_H) -> tuple[np.ndarray, np.ndarray]:
    """Steady-state profiles and trapezoid AUC0-12 of each patient under each dose.

    Args:
        prior: ``"true"``, ``"no_ehc"`` or a :class:`MapPrior`.
        etas: the patients' etas.  # (n, n_eta)
        covariates: the prior's covariates, each (n,) (the visit's values).
        doses_mg: MMF doses per administration, mg, (n,) or (n, c) candidates per patient.
        grid_h: times after the dose, h, ascending in [0, 12].

    Returns:
        (total MPA mg/L (n, c, G), AUC0-12 mg*h/L (n, c)); ``c = 1`` for (n,) doses.

    Examples:
        >>> cov = {"albumin_g_per_l": [40.0], "creatinine_clearance_ml_per_min": [70.0],
        ...        "ciclosporin": [0.0]}
        >>> conc, auc = predict_steady("no_ehc", np.zeros((1, 3)), cov, [[500.0, 1000.0]])
        >>> conc.shape, bool(abs(auc[0, 1] / auc[0, 0] - 2.0) < 0.01)  # linear model
        ((1, 2, 121), True)
    """
    model = make_prior(prior) if isinstance(prior, str) else prior
    etas = np.atleast_2d(np.asarray(etas, dtype=np.float64))
    doses = np.asarray(doses_mg, dtype=np.float64)
    doses = doses[:, None] if doses.ndim == 1 else doses
    n, c = doses.shape
    covs = {key: np.repeat(np.asarray(value, dtype=np.float64), c) for key, value in
            covariates.items()}
    conc = model.steady_profiles(covs, np.repeat(etas, c, axis=0), doses.reshape(-1),
                                 np.asarray(grid_h, dtype=np.float64))
    auc = np.trapezoid(conc, np.asarray(grid_h, dtype=np.float64), axis=1)
    return conc.reshape(n, c, -1), auc.reshape(n, c)


def nearest_target_dose(aucs: np.ndarray, dose_levels_mg: np.ndarray,
                        target_auc: float = 45.0) -> np.ndarray:
    """The dose level whose AUC is nearest ``target_auc`` (ties: the smaller dose).

    Args:
        aucs: predicted AUC0-12 of each patient under each level, mg*h/L.  # (n, n_levels)
        dose_levels_mg: the levels, mg, ascending.  # (n_levels,)
        target_auc: mg*h/L.

    Examples:
        >>> nearest_target_dose(np.array([[20.0, 40.0, 60.0]]), np.array([250., 500., 750.]))
        array([500.])
    """
    levels = np.asarray(dose_levels_mg, dtype=np.float64)
    if np.any(np.diff(levels) <= 0):
        raise ValueError("dose_levels_mg must be strictly ascending")
    return levels[np.argmin(np.abs(np.asarray(aucs) - float(target_auc)), axis=1)]
