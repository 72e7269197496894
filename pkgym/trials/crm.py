"""Continual reassessment method (CRM), one-parameter power ("empiric") model, batched.

O'Quigley J, Pepe M, Fisher L (1990). Biometrics 46:33-48; Cheung YK (2011). Dose Finding by
the Continual Reassessment Method. Chapman & Hall/CRC (the ``dfcrm`` R package).
Model p_d(a) = skeleton_d ** exp(a), prior a ~ Normal(0, sigma^2) with sigma^2 = 1.34.
The posterior is integrated on a fixed uniform grid over a (trapezoid rule), vectorised over
trials. Skeletons are calibrated with the indifference-interval method of Lee SM, Cheung YK
(2009). Model calibration for the continual reassessment method. Clin Trials 6:227-238.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pkgym.trials.state import TrialState


def indifference_skeleton(
    target: float, half_width: float, prior_mtd: int, n_doses: int
) -> np.ndarray:
    """Skeleton of Lee & Cheung (2009) for the power model (dfcrm ``getprior``, empiric model).

    The prior MTD (``prior_mtd``, 1-based as in dfcrm) gets the skeleton value ``target``; the
    neighbours are placed so that at each boundary b_k of the power parameter the two adjacent
    doses have p = target + half_width and target - half_width (indifference interval).

    Args:
        target: Target DLT probability.
        half_width: Half-width delta of the indifference interval, in (0, target).
        prior_mtd: Prior guess nu of the MTD, 1-based level.
        n_doses: Number of dose levels.

    Examples:
        >>> indifference_skeleton(0.25, 0.05, 3, 5).round(4).tolist()
        [0.084, 0.1567, 0.25, 0.3545, 0.4603]
    """
    if not 0 < half_width < min(target, 1 - target):
        raise ValueError(f"half_width must be in (0, min(target, 1 - target)), got {half_width}")
    if not 1 <= prior_mtd <= n_doses:
        raise ValueError(f"prior_mtd must be a 1-based level in [1, {n_doses}], got {prior_mtd}")
    skeleton = np.full(n_doses, np.nan)
    nu = prior_mtd - 1
    skeleton[nu] = target
    for k in range(nu, 0, -1):  # boundary between k-1 and k: p_k = target + delta
        b = np.log(np.log(target + half_width) / np.log(skeleton[k]))
        skeleton[k - 1] = np.exp(np.log(target - half_width) / np.exp(b))
    for k in range(nu, n_doses - 1):  # boundary between k and k+1: p_k = target - delta
        b = np.log(np.log(target - half_width) / np.log(skeleton[k]))
        skeleton[k + 1] = np.exp(np.log(target + half_width) / np.exp(b))
    return skeleton


ESTIMATES = ("posterior_mean", "plug_in")
"""How the CRM estimates the DLT probabilities: the posterior mean of each p_d, or dfcrm's
plug-in skeleton_d ** exp(E[a | data])."""
SELECTIONS = ("estimate", "next_dose")
"""How the final MTD is chosen: the level whose estimate is closest to the target (any level,
as dfcrm's ``crm``), or the recommendation for a next cohort, with the escalation limit (the
dose-transition-pathway convention of dtpcrm and precautionary)."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CrmDesign:
    """Bayesian CRM with no skipping of untried doses, and optional stopping rules.

    Next dose: the level whose estimated DLT probability is closest to the target, at most
    one level above the highest level tried so far. The defaults stop when Pr(p_1 > target |
    data) > ``safety_cutoff`` (0.9, the overdose rule commonly added to the CRM in comparisons
    with BOIN; the exact source was not verified here) and then select no MTD; 1.0 turns the
    rule off. Braun's (2020) calibrated design, reproduced in ``tests/trials``, uses the
    plug-in estimate, stops once any level has 10 patients or the lowest level 5, and selects
    the next-dose recommendation.

    Attributes:
        skeleton: Prior guesses of the DLT probabilities, increasing in (0, 1) (n_doses,).
        target: Target DLT probability.
        prior_variance: Variance sigma^2 of the normal prior on a (dfcrm default 1.34).
        safety_cutoff: Posterior probability for the overdose stopping rule (1.0: none).
        n_grid: Quadrature grid points over a (uniform on +-8 prior SDs).
        estimate: One of :data:`ESTIMATES`.
        select: One of :data:`SELECTIONS`.
        stop_patients_at_level: Stop once any level has this many patients (``None``: never).
        stop_patients_at_lowest: Stop once the lowest level has this many (``None``: never).

    Examples:
        >>> design = CrmDesign(skeleton=(0.05, 0.12, 0.25, 0.4, 0.55), target=0.25)
        >>> state = TrialState.from_counts([[3, 3, 0, 0, 0]], [[0, 0, 0, 0, 0]], [1])
        >>> design.next_dose(state).tolist(), design.stop(state).tolist()
        ([2], [False])
    """

    skeleton: tuple[float, ...]
    target: float
    prior_variance: float = 1.34
    safety_cutoff: float = 0.9
    n_grid: int = 801
    estimate: str = "posterior_mean"
    select: str = "estimate"
    stop_patients_at_level: int | None = None
    stop_patients_at_lowest: int | None = None

    def __post_init__(self) -> None:
        """Validate the skeleton, target, prior and rules, naming the allowed values."""
        skeleton = np.asarray(self.skeleton, dtype=np.float64)
        if skeleton.ndim != 1 or np.any((skeleton <= 0) | (skeleton >= 1)):
            raise ValueError(f"skeleton must be probabilities in (0, 1), got {self.skeleton}")
        if np.any(np.diff(skeleton) <= 0):
            raise ValueError("skeleton must be strictly increasing")
        if not 0 < self.target < 1:
            raise ValueError(f"target must lie in (0, 1), got {self.target}")
        if self.prior_variance <= 0:
            raise ValueError(f"prior_variance must be > 0, got {self.prior_variance}")
        if not 0 < self.safety_cutoff <= 1:
            raise ValueError(f"safety_cutoff must be in (0, 1], got {self.safety_cutoff}")
        if self.n_grid < 51:
            raise ValueError(f"n_grid must be >= 51, got {self.n_grid}")
        for name, allowed in (("estimate", ESTIMATES), ("select", SELECTIONS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        for name in ("stop_patients_at_level", "stop_patients_at_lowest"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be None or >= 1, got {value}")

    def _grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Grid over a and its log prior-times-trapezoid weights."""
        sd = np.sqrt(self.prior_variance)
        a = np.linspace(-8 * sd, 8 * sd, self.n_grid)
        weights = np.full(self.n_grid, a[1] - a[0])
        weights[[0, -1]] /= 2
        return a, np.log(weights) - 0.5 * a**2 / self.prior_variance

    def posterior(self, state: TrialState) -> tuple[np.ndarray, np.ndarray]:
        """Estimated DLT probability per dose (n_trials, n_doses) and Pr(p_1 > target).

        The estimate is the posterior mean of each p_d, or the plug-in
        ``skeleton ** exp(E[a | data])`` (``estimate="plug_in"``, dfcrm).

        Examples:
            >>> design = CrmDesign(skeleton=(0.1, 0.2, 0.3), target=0.2)
            >>> means, _ = design.posterior(TrialState.from_counts([[0, 0, 0]], [[0, 0, 0]], [0]))
            >>> bool(np.all(np.diff(means[0]) > 0))
            True
        """
        skeleton = np.asarray(self.skeleton)
        if state.patients.shape[1] != skeleton.size:
            raise ValueError(f"state has {state.patients.shape[1]} doses, skeleton {skeleton.size}")
        a, log_weights = self._grid()
        log_p = np.exp(a)[:, None] * np.log(skeleton)[None, :]  # (n_grid, n_doses)
        log_q = np.log(-np.expm1(log_p))
        log_post = state.dlts @ log_p.T + (state.patients - state.dlts) @ log_q.T + log_weights
        post = np.exp(log_post - log_post.max(axis=1, keepdims=True))
        post /= post.sum(axis=1, keepdims=True)  # (n_trials, n_grid)
        if self.estimate == "plug_in":
            estimates = skeleton[None, :] ** np.exp(post @ a)[:, None]
        else:
            estimates = post @ np.exp(log_p)
        too_toxic = log_p[:, 0] > np.log(self.target)
        return estimates, post[:, too_toxic].sum(axis=1)

    def next_dose(self, state: TrialState) -> np.ndarray:
        """Estimate-closest level, capped at one above the highest level tried."""
        estimates, _ = self.posterior(state)
        return self._capped(state, np.abs(estimates - self.target).argmin(axis=1))

    @staticmethod
    def _capped(state: TrialState, levels: np.ndarray) -> np.ndarray:
        """``levels`` lowered to one above the highest level tried (no skipping)."""
        return np.minimum(levels, np.minimum(state.highest_tried + 1, state.patients.shape[1] - 1))

    def stop(self, state: TrialState) -> np.ndarray:
        """Stop for the safety rule or once a level reaches its patient limit."""
        _, overdose = self.posterior(state)
        stop = self._unsafe(overdose)
        if self.stop_patients_at_level is not None:
            stop |= state.patients.max(axis=1) >= self.stop_patients_at_level
        if self.stop_patients_at_lowest is not None:
            stop |= state.patients[:, 0] >= self.stop_patients_at_lowest
        return stop

    def select_mtd(self, state: TrialState) -> np.ndarray:
        """The estimate-closest level (or the next-dose recommendation); -1 on a safety stop."""
        estimates, overdose = self.posterior(state)
        best = np.abs(estimates - self.target).argmin(axis=1)
        if self.select == "next_dose":
            best = self._capped(state, best)
        return np.where(self._unsafe(overdose), -1, best)

    def _unsafe(self, overdose: np.ndarray) -> np.ndarray:
        """Where the safety rule holds (never with ``safety_cutoff`` 1.0)."""
        return (overdose > self.safety_cutoff) & (self.safety_cutoff < 1.0)
