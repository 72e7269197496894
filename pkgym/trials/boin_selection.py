"""BOIN's final MTD selection and lowest-dose safety stop as the R package ``BOIN`` decides them.

Rules read from ``BOIN`` 2.7.2 (Yuan Y, Liu S; CRAN 2021-01-19; Yan F et al. 2020, J Stat Softw
94(13)), functions ``select.mtd`` and ``get.oc``; written here from those rules, batched over
trials:

* **Admissible doses**: treated (n_j > 0) and below the first eliminated dose (dose j and all
  higher doses are eliminated when n_j >= 3 and Pr(p_j > target | data) > cutoff_eli under a
  Beta(1, 1) prior). No MTD if the lowest dose is eliminated or no admissible dose is left.
* **Estimates**: shrunk rates phat_j = (y_j + 0.05) / (n_j + 0.1), fitted by the pool-adjacent
  violators algorithm over the admissible doses with weights 1 / var_j, where
  var_j = (y_j + 0.05)(n_j - y_j + 0.05) / ((n_j + 0.1)^2 (n_j + 1.1)) (the package's variance
  of a Beta(y + 0.05, n - y + 0.05) posterior).
* **Ties**: the package adds 1e-10 x (position among the admissible doses, 1-based) to the fit
  and takes the first dose of the stable sort of |fit - target|: among pooled doses the highest
  when their estimate is below the target, the lowest when it is above.
* **extrasafe** (off by default): no MTD, and in ``get.oc`` an immediate stop, when the lowest
  dose has n_1 >= 3 and Pr(p_1 > target | data) > cutoff_eli - offset (Beta(1, 1) prior).
* **boundMTD** (off by default): only doses whose fit is <= lambda_d can be selected.
"""

from __future__ import annotations

import numpy as np
from scipy import special

TIE_STEP = 1e-10
"""The package's tie-breaking increment per admissible position (``select.mtd``)."""


def overdose_probabilities(patients: np.ndarray, dlts: np.ndarray, target: float) -> np.ndarray:
    """Pr(p_j > target | y_j, n_j) under a Beta(1, 1) prior, per dose (n_trials, n_doses).

    Examples:
        >>> float(overdose_probabilities(np.array([[3]]), np.array([[2]]), 0.25)[0, 0].round(4))
        0.9492
    """
    return special.betaincc(1.0 + dlts, 1.0 + patients - dlts, target)


def extrasafe_triggered(
    patients: np.ndarray, dlts: np.ndarray, target: float, cutoff: float, offset: float
) -> np.ndarray:
    """The package's extra safety rule at the lowest dose (n_trials,) bool.

    True when n_1 >= 3 and Pr(p_1 > target | y_1, n_1) > cutoff - offset.

    Args:
        patients: Patients per dose (n_trials, n_doses).
        dlts: DLTs per dose (n_trials, n_doses).
        target: Target DLT probability.
        cutoff: The elimination cutoff (``cutoff.eli``).
        offset: How much stricter than elimination the rule is (``offset``).

    Examples:
        >>> n, y = np.array([[3, 0], [3, 0]]), np.array([[2, 0], [1, 0]])
        >>> extrasafe_triggered(n, y, 0.25, 0.95, 0.1).tolist()  # 0.9492 > 0.85; 0.7383 is not
        [True, False]
    """
    over = overdose_probabilities(patients[:, :1], dlts[:, :1], target)[:, 0]
    return (patients[:, 0] >= 3) & (over > cutoff - offset)


def elimination_defined(patients_at_dose: np.ndarray, target: float, cutoff: float) -> np.ndarray:
    """Whether ``get.boundary`` has an elimination count for n patients (n >= 3 and n/n eliminates).

    ``get.oc`` checks its elimination and ``extrasafe`` rules only where this count exists.

    Examples:
        >>> elimination_defined(np.array([2, 3, 4]), 0.5, 0.95).tolist()  # 1 - 0.5^4 < 0.95
        [False, False, True]
    """
    n = np.asarray(patients_at_dose)
    return (n >= 3) & (1.0 - target ** (n + 1.0) > cutoff)


def shrunk_isotonic_rates(
    patients: np.ndarray, dlts: np.ndarray, admissible: np.ndarray
) -> np.ndarray:
    """Inverse-variance weighted isotonic fit of the shrunk rates, as ``BOIN::select.mtd``.

    The max-min form of the pool-adjacent-violators solution over the admissible doses only:
    fit_j = max_{i <= j} min_{k >= j} sum_{i..k} w phat / sum_{i..k} w, with i, k admissible and
    the other doses given weight 0. Doses that are not admissible get NaN.

    Args:
        patients: Patients per dose (n_trials, n_doses).
        dlts: DLTs per dose (n_trials, n_doses).
        admissible: Doses entering the fit (n_trials, n_doses) bool.

    Examples:
        >>> n, y = np.array([[3, 6, 3]]), np.array([[1, 1, 2]])
        >>> shrunk_isotonic_rates(n, y, np.ones((1, 3), bool)).round(4).tolist()
        [[0.2169, 0.2169, 0.6613]]
    """
    rates = (dlts + 0.05) / (patients + 0.1)
    variances = (dlts + 0.05) * (patients - dlts + 0.05) / (
        (patients + 0.1) ** 2 * (patients + 1.1))
    weights = np.where(admissible, 1.0 / variances, 0.0)
    cum_w = np.concatenate([np.zeros_like(weights[:, :1]), np.cumsum(weights, axis=1)], axis=1)
    cum_wx = np.concatenate(
        [np.zeros_like(weights[:, :1]), np.cumsum(weights * rates, axis=1)], axis=1)
    n_doses = patients.shape[1]
    i, k = np.meshgrid(np.arange(n_doses), np.arange(n_doses), indexing="ij")
    valid = (k >= i)[None] & admissible[:, :, None] & admissible[:, None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(valid, (cum_wx[:, k + 1] - cum_wx[:, i]) / (cum_w[:, k + 1] - cum_w[:, i]),
                         np.nan)  # (n_trials, i, k)
    fits = np.full(patients.shape, np.nan)
    for j in range(n_doses):
        inner = means[:, : j + 1, j:]  # i <= j <= k
        lows = np.where(np.isnan(inner), np.inf, inner).min(axis=2)
        fits[:, j] = np.where(np.isinf(lows), -np.inf, lows).max(axis=1)
    return np.where(admissible, fits, np.nan)


def select_r_package_mtd(
    patients: np.ndarray,
    dlts: np.ndarray,
    target: float,
    eliminated_from: np.ndarray,
    *,
    bound_rate: float | None = None,
) -> np.ndarray:
    """MTD per trial as ``BOIN::select.mtd`` picks it (-1: none); see the module docstring.

    Args:
        patients: Patients per dose (n_trials, n_doses).
        dlts: DLTs per dose (n_trials, n_doses).
        target: Target DLT probability.
        eliminated_from: First eliminated level per trial, n_doses if none (n_trials,).
        bound_rate: ``boundMTD``: only fits <= this rate (the package: lambda_d) are eligible.

    Examples:
        >>> n, y = np.array([[3, 3, 15, 9, 0]]), np.array([[0, 0, 4, 4, 0]])
        >>> select_r_package_mtd(n, y, 0.3, np.array([5])).tolist()  # the package's example data
        [2]
    """
    n_doses = patients.shape[1]
    admissible = (patients > 0) & (np.arange(n_doses)[None, :] < eliminated_from[:, None])
    positions = np.cumsum(admissible, axis=1)  # 1-based among the admissible doses
    fits = shrunk_isotonic_rates(patients, dlts, admissible) + TIE_STEP * positions
    eligible = admissible if bound_rate is None else admissible & (fits <= bound_rate)
    distances = np.where(eligible, np.abs(fits - target), np.inf)
    chosen = distances.argmin(axis=1)  # the first of exact ties, as R's stable sort
    return np.where(eligible.any(axis=1) & (eliminated_from > 0), chosen, -1)
