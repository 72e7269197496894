"""BOIN12's final choice of the optimal biological dose (OBD), batched over trials.

Lin et al. (2020, JCO Precis Oncol 4:PO.20.00257) select, at the end of the trial, the dose of
highest estimated utility among the admissible doses at or below the estimated MTD, with the
toxicity estimated by isotonic regression and the efficacy by unimodal isotonic regression (a
plateau or umbrella shape is allowed). The details follow the reference simulation code
(``phase12designs``, ``oc_boin12.R`` / ``peestimate``; rules only):

* toxicity: shrunk rates (y_T + 0.05) / (n + 0.1) over all doses, pool-adjacent-violators with
  weights n + 0.1, plus 0.001 x (1-based level) to break ties upwards;
* efficacy: shrunk rates (y_E + 0.05) / (n + 0.1); for each possible mode m a unimodal fit
  with weights n + 0.5, averaged with weights proportional to the binomial likelihood of the
  responses under each fit, plus 0.01 x (1-based level). The reference code calls
  ``Iso::ufit``; here the fit with mode m is the increasing isotonic fit on levels <= m joined
  to the decreasing one on levels > m (our choice: equal to ``ufit`` whenever that join is
  unimodal at m, and otherwise a unimodal fit peaking just above m);
* estimated MTD: the level whose fitted DLT rate is closest to phi_T (first on ties);
* utility u = 100 p_E (1 - p_T) + u2 (1 - p_E)(1 - p_T) + u3 p_E p_T (estimates taken as
  independent; equal to the reference code's u3 p_E + u2 (1 - p_T) when u2 + u3 = 100);
  inadmissible and untreated doses are excluded; OBD = first maximum at or below the MTD.
  Where no dose at or below the MTD is admissible and treated, no dose is selected (our
  choice; the reference code would name the lowest dose).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

U_EFFICACY_ONLY = 100.0
"""Utility of a response without a DLT (Lin et al. 2020 fix it at 100)."""
U_TOXICITY_ONLY = 0.0
"""Utility of a DLT without a response (Lin et al. 2020 fix it at 0)."""
SHRINK_EVENTS = 0.05
"""Added to the events of each dose before the rates are fitted (reference code)."""
SHRINK_PATIENTS = 0.1
"""Added to the patients of each dose: rate = (y + 0.05) / (n + 0.1) (reference code)."""
EFFICACY_WEIGHT_OFFSET = 0.5
"""Unimodal efficacy fit weights n + 0.5 (reference code, ``peestimate``)."""
TOXICITY_TIE_STEP = 0.001
"""Added per 1-based level to the fitted DLT rates (reference code)."""
EFFICACY_TIE_STEP = 0.01
"""Added per 1-based level to the fitted response rates (reference code)."""


def increasing_fit(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted non-decreasing isotonic regression of each row (n_trials, n) (max-min formula).

    fit_j = max_{i <= j} min_{k >= j} sum_{i..k}(w y) / sum_{i..k} w; weights must be > 0.

    Examples:
        >>> increasing_fit(np.array([[0.5, 0.1, 0.3]]), np.array([[1.0, 1.0, 2.0]])).tolist()
        [[0.3, 0.3, 0.3]]
    """
    zero = np.zeros_like(values[:, :1])
    cum_w = np.concatenate([zero, np.cumsum(weights, axis=1)], axis=1)
    cum_wy = np.concatenate([zero, np.cumsum(weights * values, axis=1)], axis=1)
    n = values.shape[1]
    i, k = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    valid = k >= i
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (cum_wy[:, k + 1] - cum_wy[:, i]) / (cum_w[:, k + 1] - cum_w[:, i])
    means = np.where(valid, means, np.inf)
    fit = np.empty_like(values)
    for j in range(n):
        fit[:, j] = means[:, : j + 1, j:].min(axis=2).max(axis=1)
    return fit


def unimodal_fit(values: np.ndarray, weights: np.ndarray, mode: int) -> np.ndarray:
    """Increasing fit on levels <= ``mode`` joined to the decreasing fit on levels > ``mode``.

    Examples:
        >>> unimodal_fit(np.array([[0.2, 0.6, 0.4, 0.5]]), np.ones((1, 4)), 1).round(6).tolist()
        [[0.2, 0.6, 0.45, 0.45]]
    """
    left = increasing_fit(values[:, : mode + 1], weights[:, : mode + 1])
    if mode + 1 == values.shape[1]:
        return left
    right = increasing_fit(values[:, :mode:-1], weights[:, :mode:-1])[:, ::-1]
    return np.concatenate([left, right], axis=1)


def toxicity_estimates(patients: np.ndarray, dlts: np.ndarray) -> np.ndarray:
    """Isotonic DLT rates with the reference code's shrinkage and tie step (n_trials, n_doses).

    Examples:
        >>> toxicity_estimates(np.array([[3, 3, 0]]), np.array([[1, 0, 0]])).round(3).tolist()
        [[0.178, 0.179, 0.503]]
    """
    rates = (dlts + SHRINK_EVENTS) / (patients + SHRINK_PATIENTS)
    fit = increasing_fit(rates, patients + SHRINK_PATIENTS)
    return fit + TOXICITY_TIE_STEP * np.arange(1, patients.shape[1] + 1)


def efficacy_estimates(patients: np.ndarray, responses: np.ndarray) -> np.ndarray:
    """Response rates: unimodal fits averaged over the mode by binomial likelihood (n_trials, D).

    Examples:
        >>> p = efficacy_estimates(np.array([[6, 6, 6]]), np.array([[1, 5, 2]]))
        >>> bool(p[0, 1] > p[0, 2] > p[0, 0])  # a peak at the middle dose survives
        True
    """
    rates = (responses + SHRINK_EVENTS) / (patients + SHRINK_PATIENTS)
    weights = patients + EFFICACY_WEIGHT_OFFSET
    n_doses = patients.shape[1]
    fits = np.stack([unimodal_fit(rates, weights, m) for m in range(n_doses)], axis=1)
    log_lik = stats.binom.logpmf(responses[:, None, :], patients[:, None, :], fits).sum(axis=2)
    lik = np.exp(log_lik - log_lik.max(axis=1, keepdims=True))
    averaged = (lik[:, :, None] * fits).sum(axis=1) / lik.sum(axis=1, keepdims=True)
    return averaged + EFFICACY_TIE_STEP * np.arange(1, n_doses + 1)


def estimated_utility(p_tox: np.ndarray, p_eff: np.ndarray, u2: float, u3: float) -> np.ndarray:
    """Utility of each dose from toxicity and efficacy estimates taken as independent.

    Examples:
        >>> float(estimated_utility(np.array(0.2), np.array(0.5), 40.0, 60.0))  # 30 + 32
        62.0
    """
    return (U_EFFICACY_ONLY * p_eff * (1 - p_tox) + u2 * (1 - p_eff) * (1 - p_tox)
            + u3 * p_eff * p_tox + U_TOXICITY_ONLY * (1 - p_eff) * p_tox)


def select_obd(patients: np.ndarray, dlts: np.ndarray, responses: np.ndarray,
               admissible: np.ndarray, target: float, u2: float, u3: float) -> np.ndarray:
    """BOIN12's OBD per trial (-1: none), from the counts and the admissible doses.

    Args:
        patients: Patients per dose (n_trials, n_doses).
        dlts: DLTs per dose (n_trials, n_doses).
        responses: Responses per dose (n_trials, n_doses).
        admissible: Admissible doses (n_trials, n_doses) bool.
        target: phi_T.
        u2: Utility of neither event (0-100).
        u3: Utility of both events (0-100).

    Examples:
        >>> n, y = np.array([[6, 6, 6, 0]]), np.array([[0, 1, 3, 0]])
        >>> select_obd(n, y, np.array([[1, 4, 4, 0]]), np.ones((1, 4), bool), 0.35, 40, 60)
        array([1])
    """
    p_tox = toxicity_estimates(patients, dlts)
    p_eff = efficacy_estimates(patients, responses)
    utility = estimated_utility(p_tox, p_eff, u2, u3)
    usable = admissible & (patients > 0)
    mtd = np.abs(p_tox - target).argmin(axis=1)
    at_or_below = np.arange(patients.shape[1])[None, :] <= mtd[:, None]
    candidates = np.where(usable & at_or_below, utility, -np.inf)
    best = candidates.argmax(axis=1)
    return np.where(np.isfinite(candidates.max(axis=1)), best, -1)
