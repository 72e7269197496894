"""Parameter calibration by simulation: indirect inference with common random numbers.

A population model is calibrated to real patients when the *same statistics* computed on
its simulated patients and on the real ones agree. :func:`fit_simulated_moments` chooses
the parameters ``theta`` that minimise the weighted distance

    sum_j ((s_j(theta) - s_j^obs) / scale_j)^2

between simulated statistics ``s(theta)`` (the caller's simulator, run with fixed random
numbers so that ``s`` is a smooth function of ``theta``) and observed ones, with ``scale``
their standard errors. When the statistics are the estimates of an auxiliary model (e.g. a
regression of log dose on covariates) this is *indirect inference* (Gourieroux, Monfort and
Renault 1993, J Appl Econometrics 8:S85); with plain moments it is the simulated method of
moments (McFadden 1989, Econometrica 57:995). The fit is :func:`scipy.optimize.least_squares`
(trust-region reflective, bounded).

The result keeps everything a reader needs to judge the fit: each statistic observed and
simulated with its standardised gap, the parameters with approximate standard errors from
the Jacobian (``(J'J)^-1``, valid when ``scale`` holds the observed statistics' standard
errors and the simulation noise is small), and whether the optimiser converged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import least_squares


@dataclass(frozen=True, slots=True)
class ParameterFit:
    """The outcome of :func:`fit_simulated_moments`.

    Attributes:
        names: parameter names, in ``theta`` order.
        theta: the fitted parameters.
        standard_errors: approximate SEs of ``theta`` (``nan`` when J'J is singular).
        statistic_names: names of the statistics.
        observed, simulated: the statistics, real and at ``theta``.
        scale: the scale (standard error) of each statistic.
        cost: half the sum of squared standardised gaps at ``theta``.
        converged: whether the optimiser met its tolerance.
        message: the optimiser's message.
    """

    names: tuple[str, ...]
    theta: np.ndarray
    standard_errors: np.ndarray
    statistic_names: tuple[str, ...]
    observed: np.ndarray
    simulated: np.ndarray
    scale: np.ndarray
    cost: float
    converged: bool
    message: str

    def statistics(self) -> pd.DataFrame:
        """Observed vs simulated statistics with the standardised gap ``(sim - obs) / scale``."""
        return pd.DataFrame({"statistic": self.statistic_names, "observed": self.observed,
                             "simulated": self.simulated,
                             "z": (self.simulated - self.observed) / self.scale})

    def parameters(self) -> pd.DataFrame:
        """The fitted parameters with their approximate standard errors."""
        return pd.DataFrame({"parameter": self.names, "estimate": self.theta,
                             "standard_error": self.standard_errors})


def _check(theta0: np.ndarray, names: Sequence[str], observed: np.ndarray, scale: np.ndarray,
           bounds: tuple[np.ndarray, np.ndarray]) -> None:
    """Shapes agree, values are finite, scales positive, theta0 inside its bounds."""
    if theta0.ndim != 1 or len(names) != theta0.size:
        raise ValueError(f"theta0 must be 1-D with one value per name {list(names)}, got "
                         f"shape {theta0.shape}")
    if observed.shape != scale.shape or observed.ndim != 1:
        raise ValueError(f"observed and scale must be 1-D of one length, got {observed.shape} "
                         f"and {scale.shape}")
    if not (np.all(np.isfinite(observed)) and np.all(np.isfinite(scale)) and np.all(scale > 0)):
        raise ValueError("observed must be finite and scale finite and > 0")
    low, high = bounds
    outside = [n for n, t, lo, hi in zip(names, theta0, low, high, strict=True)
               if not lo <= t <= hi]
    if outside:
        raise ValueError(f"theta0 outside its bounds for {outside}")


def fit_simulated_moments(simulate: Callable[[np.ndarray], np.ndarray], observed: np.ndarray,
                          scale: np.ndarray, theta0: np.ndarray, *, names: Sequence[str],
                          statistic_names: Sequence[str] | None = None,
                          bounds: tuple[Sequence[float], Sequence[float]] | None = None,
                          tolerance: float = 1e-10, max_evaluations: int = 2000) -> ParameterFit:
    """Fit ``theta`` so that ``simulate(theta)`` matches ``observed`` (module docstring).

    Args:
        simulate: theta -> the simulated statistics, shape like ``observed``; it must use
            fixed random numbers (the same patients and noise for every theta).
        observed: the real statistics, (m,).
        scale: their standard errors (or any positive scale), (m,).
        theta0: starting parameters, (p,), p <= m.
        names: parameter names.
        statistic_names: statistic names (default ``s0 .. s{m-1}``).
        bounds: lower and upper bounds of theta (default unbounded).
        tolerance: ``ftol``, ``xtol`` and ``gtol`` of the optimiser.
        max_evaluations: most calls of ``simulate``.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> z = rng.standard_normal(20_000)  # common random numbers
        >>> def simulate(theta):  # mean and SD of a normal(mu, sigma) sample
        ...     x = theta[0] + np.exp(theta[1]) * z
        ...     return np.array([x.mean(), x.std()])
        >>> fit = fit_simulated_moments(simulate, np.array([1.0, 2.0]), np.array([0.01, 0.01]),
        ...                             np.array([0.0, 0.0]), names=["mu", "log_sigma"])
        >>> fit.converged, np.round(fit.simulated, 6).tolist()
        (True, [1.0, 2.0])
    """
    start = np.asarray(theta0, dtype=np.float64)
    obs = np.asarray(observed, dtype=np.float64)
    sd = np.asarray(scale, dtype=np.float64)
    low, high = ((np.full(start.size, -np.inf), np.full(start.size, np.inf)) if bounds is None
                 else (np.asarray(bounds[0], float), np.asarray(bounds[1], float)))
    _check(start, names, obs, sd, (low, high))
    if start.size > obs.size:
        raise ValueError(f"{start.size} parameters cannot be identified by {obs.size} statistics")

    def residuals(theta: np.ndarray) -> np.ndarray:
        simulated = np.asarray(simulate(theta), dtype=np.float64)
        if simulated.shape != obs.shape or not np.all(np.isfinite(simulated)):
            raise ValueError(f"simulate returned {simulated.shape} values (non-finite?) for "
                             f"theta {np.round(theta, 4).tolist()}; expected {obs.shape}")
        return (simulated - obs) / sd

    result = least_squares(residuals, start, bounds=(low, high), ftol=tolerance,
                           xtol=tolerance, gtol=tolerance, max_nfev=max_evaluations,
                           x_scale="jac")
    return ParameterFit(
        tuple(names), result.x, _standard_errors(result.jac),
        tuple(statistic_names or [f"s{j}" for j in range(obs.size)]), obs,
        result.fun * sd + obs, sd, float(result.cost), bool(result.success), str(result.message))


def _standard_errors(jacobian: np.ndarray) -> np.ndarray:
    """sqrt(diag((J'J)^-1)), ``nan`` where J'J is singular."""
    information = jacobian.T @ jacobian
    try:
        return np.sqrt(np.clip(np.diag(np.linalg.inv(information)), 0.0, None))
    except np.linalg.LinAlgError:
        return np.full(jacobian.shape[1], np.nan)
