"""Bayesian optimal interval (BOIN) design, batched over trials.

Liu S, Yuan Y (2015). Bayesian optimal interval designs for phase I clinical trials.
J R Stat Soc C 64:507-523. Local BOIN with phi1 = 0.6 phi and phi2 = 1.4 phi (the paper's
default), the paper's elimination rule and MTD selection by isotonic regression.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import special

from pkgym.trials.state import TrialState


def boin_boundaries(
    target: float, phi1: float | None = None, phi2: float | None = None
) -> tuple[float, float]:
    """Escalation and de-escalation boundaries (lambda_e, lambda_d), Liu & Yuan (2015) eq. (2).

    Args:
        target: Target DLT probability phi, in (0, 1).
        phi1: Highest DLT probability deemed sub-therapeutic (default 0.6 phi).
        phi2: Lowest DLT probability deemed overly toxic (default 1.4 phi).

    Examples:
        >>> [f"{x:.4f}" for x in boin_boundaries(0.3)]  # published (truncated): 0.236, 0.358
        ['0.2365', '0.3585']
    """
    phi1 = 0.6 * target if phi1 is None else phi1
    phi2 = 1.4 * target if phi2 is None else phi2
    if not 0 < phi1 < target < phi2 < 1:
        raise ValueError(f"need 0 < phi1 < target < phi2 < 1, got {phi1}, {target}, {phi2}")
    lambda_e = np.log((1 - phi1) / (1 - target)) / np.log(
        target * (1 - phi1) / (phi1 * (1 - target))
    )
    lambda_d = np.log((1 - target) / (1 - phi2)) / np.log(
        phi2 * (1 - target) / (target * (1 - phi2))
    )
    return float(lambda_e), float(lambda_d)


def elimination_levels(
    patients: np.ndarray, dlts: np.ndarray, target: float, cutoff: float = 0.95
) -> np.ndarray:
    """First eliminated level per trial (n_doses if none), Liu & Yuan (2015) section 2.3.

    Dose j and all higher doses are eliminated when n_j >= 3 and
    Pr(p_j > target | x_j, n_j) > cutoff under a Beta(1, 1) prior.

    Args:
        patients: Patients per dose (n_trials, n_doses).
        dlts: DLTs per dose (n_trials, n_doses).
        target: Target DLT probability.
        cutoff: Posterior probability above which a dose is eliminated.

    Examples:
        >>> elimination_levels(np.array([[3, 3, 0]]), np.array([[0, 3, 0]]), 0.3).tolist()
        [1]
    """
    over = special.betaincc(1.0 + dlts, 1.0 + patients - dlts, target)
    eliminated = (patients >= 3) & (over > cutoff)
    n_doses = patients.shape[1]
    return np.where(eliminated.any(axis=1), eliminated.argmax(axis=1), n_doses)


def isotonic_rates(patients: np.ndarray, dlts: np.ndarray) -> np.ndarray:
    """Weighted isotonic (non-decreasing) fit of DLT rates, batched pool-adjacent-violators.

    Uses the max-min formula, equivalent to PAVA with weights n_j:
    fit_j = max_{i<=j} min_{k>=j} sum(x_i..x_k) / sum(n_i..n_k), over tried doses only.
    Untried doses get NaN.

    Args:
        patients: Patients per dose (n_trials, n_doses).
        dlts: DLTs per dose (n_trials, n_doses).

    Examples:
        >>> isotonic_rates(np.array([[3, 6, 3]]), np.array([[1, 1, 2]])).round(3).tolist()
        [[0.222, 0.222, 0.667]]
    """
    cum_n = np.concatenate([np.zeros_like(patients[:, :1]), np.cumsum(patients, axis=1)], axis=1)
    cum_x = np.concatenate([np.zeros_like(dlts[:, :1]), np.cumsum(dlts, axis=1)], axis=1)
    n_doses = patients.shape[1]
    i, k = np.meshgrid(np.arange(n_doses), np.arange(n_doses), indexing="ij")
    valid = k >= i
    pooled_n = np.where(valid, cum_n[:, k + 1] - cum_n[:, i], 0)
    pooled_x = np.where(valid, cum_x[:, k + 1] - cum_x[:, i], 0)
    tried = patients > 0
    ends_tried = tried[:, :, None] & tried[:, None, :] & valid
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(ends_tried, pooled_x / pooled_n, np.nan)  # (n_trials, i, k)
    fits = np.full(patients.shape, np.nan)
    for j in range(n_doses):
        inner = means[:, : j + 1, j:]  # i <= j <= k
        lows = np.where(np.isnan(inner), np.inf, inner).min(axis=2)
        lows = np.where(np.isinf(lows), -np.inf, lows).max(axis=1)
        fits[:, j] = np.where(tried[:, j], lows, np.nan)
    return fits


def select_isotonic_mtd(
    patients: np.ndarray, dlts: np.ndarray, target: float, eliminated_from: np.ndarray
) -> np.ndarray:
    """MTD by isotonic estimate closest to target among tried, non-eliminated doses (-1: none).

    Tie rule of Liu & Yuan (2015): among tied doses take the highest when the tied estimate is
    below the target and the lowest otherwise.

    Examples:
        >>> select_isotonic_mtd(np.array([[3, 6, 3]]), np.array([[0, 1, 2]]), 0.3,
        ...                     np.array([3])).tolist()
        [1]
    """
    n_doses = patients.shape[1]
    fits = isotonic_rates(patients, dlts)
    usable = (patients > 0) & (np.arange(n_doses)[None, :] < eliminated_from[:, None])
    distances = np.where(usable, np.abs(fits - target), np.inf)
    best = distances.min(axis=1, keepdims=True)
    ties = usable & np.isclose(distances, best, rtol=0.0, atol=1e-12)
    lowest = ties.argmax(axis=1)
    highest = n_doses - 1 - ties[:, ::-1].argmax(axis=1)
    below = np.all(np.where(ties, fits < target, True), axis=1)
    chosen = np.where(below, highest, lowest)
    return np.where(usable.any(axis=1) & (eliminated_from > 0), chosen, -1)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BoinDesign:
    """BOIN: escalate if the current rate <= lambda_e, de-escalate if >= lambda_d, else stay.

    Attributes:
        target: Target DLT probability phi.
        elimination_cutoff: Posterior probability for the elimination rule (paper: 0.95).
        n_earlystop: Optional BOIN-package rule: stop once the current dose has this many
            patients and the decision is to stay (None: off, as in the paper).

    Examples:
        >>> design = BoinDesign(target=0.3)
        >>> state = TrialState.from_counts([[3, 3, 0], [3, 3, 0]], [[0, 0, 0], [0, 2, 0]], [1, 1])
        >>> design.next_dose(state).tolist(), design.select_mtd(state).tolist()
        ([2, 0], [1, 0])
    """

    target: float
    elimination_cutoff: float = 0.95
    n_earlystop: int | None = None

    def __post_init__(self) -> None:
        """Validate the target, cutoff and early-stopping size."""
        if self.n_earlystop is not None and self.n_earlystop < 1:
            raise ValueError(f"n_earlystop must be None or >= 1, got {self.n_earlystop}")
        if not 0 < self.target < 1:
            raise ValueError(f"target must lie in (0, 1), got {self.target}")
        if not 0.5 <= self.elimination_cutoff < 1:
            raise ValueError(
                f"elimination_cutoff must be in [0.5, 1), got {self.elimination_cutoff}"
            )

    def next_dose(self, state: TrialState) -> np.ndarray:
        """Next level per trial from the observed rate at the current level."""
        lambda_e, lambda_d = boin_boundaries(self.target)
        rows = np.arange(state.levels.size)
        n = state.patients[rows, state.levels]
        rates = state.dlts[rows, state.levels] / np.maximum(n, 1)
        ceiling = elimination_levels(
            state.patients, state.dlts, self.target, self.elimination_cutoff
        )
        up = np.minimum(state.levels + 1, np.minimum(ceiling, state.patients.shape[1]) - 1)
        down = np.maximum(state.levels - 1, 0)
        levels = np.where(rates <= lambda_e, np.maximum(up, state.levels), state.levels)
        levels = np.where(rates >= lambda_d, down, levels)
        return np.clip(np.minimum(levels, ceiling - 1), 0, None)

    def stop(self, state: TrialState) -> np.ndarray:
        """Stop when the lowest dose is eliminated."""
        ceiling = elimination_levels(
            state.patients, state.dlts, self.target, self.elimination_cutoff
        )
        if self.n_earlystop is None:
            return ceiling == 0
        rows = np.arange(state.levels.size)
        full = state.patients[rows, state.levels] >= self.n_earlystop
        return (ceiling == 0) | (full & (self.next_dose(state) == state.levels))

    def select_mtd(self, state: TrialState) -> np.ndarray:
        """Isotonic selection among tried, non-eliminated doses (-1 if the lowest is eliminated)."""
        ceiling = elimination_levels(
            state.patients, state.dlts, self.target, self.elimination_cutoff
        )
        return select_isotonic_mtd(state.patients, state.dlts, self.target, ceiling)
