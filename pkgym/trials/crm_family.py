"""The CRM family: one-parameter logistic model, coherence and escalation limits, a spec parser.

One-parameter logistic CRM (O'Quigley J, Pepe M, Fisher L 1990. Biometrics 46:33-48; Cheung YK
2011. Dose Finding by the Continual Reassessment Method, Chapman & Hall/CRC, section 4.2, and
its R package ``dfcrm``, ``crm(model="logistic")``):

    p_d(a) = exp(a0 + exp(a) x_d) / (1 + exp(a0 + exp(a) x_d)),   a ~ Normal(0, sigma^2),

with the fixed intercept a0 (dfcrm ``intcpt``, default 3), dose labels x_d = logit(s_d) - a0
derived from the skeleton s (so that p_d(0) = s_d; dfcrm requires x_d < 0) and sigma^2 = 1.34
(dfcrm ``scale = sqrt(1.34)``). The posterior is integrated on the power model's grid; dfcrm's
estimate is the plug-in p_d(E[a | data]) (``estimate="plug_in"``); the default here, as for
:class:`~pkgym.trials.crm.CrmDesign`, is the posterior mean of each p_d.

Rules on any CRM (:class:`CrmRulesDesign`, wrapping the power or the logistic model):

* coherence (Cheung YK 2005. Coherence principles in dose-finding studies. Biometrika
  92:863-873): no escalation right after a cohort with a DLT. dfcrm's simulator
  (``crmsim(restrict=TRUE)``) uses the weaker "DLT rate of the last cohort >= target";
  with cohorts of 3 and targets <= 1/3 the two coincide.
* skipping: at most ``skip`` untried levels may be jumped (0, the default, never skips, the
  existing CRM's rule);
* a step limit: at most ``max_step`` levels above the current level (dfcrm's restriction is 1).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pkgym.trials.crm import CrmDesign
from pkgym.trials.state import TrialState


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LogisticCrmDesign(CrmDesign):
    """One-parameter logistic CRM (dfcrm ``model="logistic"``); rules as :class:`CrmDesign`.

    Attributes:
        intercept: Fixed intercept a0 of the logistic model (dfcrm ``intcpt``, default 3).

    Examples:
        >>> design = LogisticCrmDesign(skeleton=(0.05, 0.15, 0.25, 0.4, 0.6), target=0.25)
        >>> design.dose_labels().round(3).tolist()
        [-5.944, -4.735, -4.099, -3.405, -2.595]
        >>> state = TrialState.from_counts([[0, 2, 2, 2, 0]], [[0, 0, 0, 2, 0]], [3])
        >>> design.next_dose(state).tolist()
        [1]
    """

    intercept: float = 3.0

    def __post_init__(self) -> None:
        """Validate as :class:`CrmDesign`, and that every dose label is negative (dfcrm)."""
        CrmDesign.__post_init__(self)
        if np.any(self.dose_labels() >= 0):
            raise ValueError(
                f"intercept must exceed logit of every skeleton value (dose labels < 0, as "
                f"dfcrm requires), got intercept={self.intercept}"
            )

    def dose_labels(self) -> np.ndarray:
        """Dose labels x_d = logit(s_d) - a0 (n_doses,): p_d = s_d at a = 0."""
        skeleton = np.asarray(self.skeleton, dtype=np.float64)
        return np.log(skeleton / (1 - skeleton)) - self.intercept

    def posterior(self, state: TrialState) -> tuple[np.ndarray, np.ndarray]:
        """Estimated DLT probability per dose (n_trials, n_doses) and Pr(p_1 > target).

        Examples:
            >>> design = LogisticCrmDesign(skeleton=(0.1, 0.2, 0.3), target=0.2)
            >>> means, _ = design.posterior(TrialState.from_counts([[0, 0, 0]], [[0, 0, 0]], [0]))
            >>> bool(np.all(np.diff(means[0]) > 0))
            True
        """
        labels = self.dose_labels()
        if state.patients.shape[1] != labels.size:
            raise ValueError(f"state has {state.patients.shape[1]} doses, skeleton {labels.size}")
        a, log_weights = self._grid()
        eta = self.intercept + np.exp(a)[:, None] * labels[None, :]  # (n_grid, n_doses)
        log_p, log_q = -np.logaddexp(0.0, -eta), -np.logaddexp(0.0, eta)
        log_post = state.dlts @ log_p.T + (state.patients - state.dlts) @ log_q.T + log_weights
        post = np.exp(log_post - log_post.max(axis=1, keepdims=True))
        post /= post.sum(axis=1, keepdims=True)  # (n_trials, n_grid)
        if self.estimate == "plug_in":
            plug = self.intercept + np.exp(post @ a)[:, None] * labels[None, :]
            estimates = 1 / (1 + np.exp(-plug))
        else:
            estimates = post @ np.exp(log_p)
        too_toxic = log_p[:, 0] > np.log(self.target)
        return estimates, post[:, too_toxic].sum(axis=1)


def logistic_indifference_skeleton(
    target: float, half_width: float, prior_mtd: int, n_doses: int, intercept: float = 3.0
) -> np.ndarray:
    """Skeleton of Lee & Cheung (2009) for the logistic model (dfcrm ``getprior``, logistic).

    The prior MTD gets dose label logit(target) - a0; at each boundary b_k of the parameter the
    adjacent doses have p = target + half_width and target - half_width, as for the power
    model (:func:`~pkgym.trials.crm.indifference_skeleton`).

    Args:
        target: Target DLT probability.
        half_width: Half-width delta of the indifference interval, in (0, target).
        prior_mtd: Prior guess nu of the MTD, 1-based level.
        n_doses: Number of dose levels.
        intercept: Fixed intercept a0.

    Examples:
        >>> logistic_indifference_skeleton(0.25, 0.05, 3, 5).round(4).tolist()
        [0.0889, 0.158, 0.25, 0.3555, 0.4618]
    """
    if not 0 < half_width < min(target, 1 - target):
        raise ValueError(f"half_width must be in (0, min(target, 1 - target)), got {half_width}")
    if not 1 <= prior_mtd <= n_doses:
        raise ValueError(f"prior_mtd must be a 1-based level in [1, {n_doses}], got {prior_mtd}")
    high = np.log((target + half_width) / (1 - target - half_width)) - intercept
    low = np.log((target - half_width) / (1 - target + half_width)) - intercept
    labels = np.full(n_doses, np.nan)
    nu = prior_mtd - 1
    labels[nu] = np.log(target / (1 - target)) - intercept
    for k in range(nu, 0, -1):  # boundary between k-1 and k: p_k = target + delta
        labels[k - 1] = low / (high / labels[k])
    for k in range(nu, n_doses - 1):  # boundary between k and k+1: p_k = target - delta
        labels[k + 1] = high / (low / labels[k])
    return 1 / (1 + np.exp(-intercept - labels))


def escalation_ceiling(
    state: TrialState, *, skip: int = 0, max_step: int | None = None, coherence: bool = False
) -> np.ndarray:
    """Highest level each trial may take next (n_trials,) under the escalation limits.

    At most ``skip`` untried levels above the highest level tried, at most ``max_step`` above
    the current level, and with ``coherence`` no escalation after a cohort with a DLT.

    Args:
        state: Trials' data; ``coherence`` reads ``state.last_dlts``.
        skip: Untried levels that may be skipped (0: never skip).
        max_step: Most levels above the current level (``None``: no limit).
        coherence: No escalation right after a cohort with a DLT (Cheung 2005).

    Examples:
        >>> state = TrialState.from_counts([[3, 3, 0, 0]], [[0, 1, 0, 0]], [1], last_dlts=[1])
        >>> escalation_ceiling(state).tolist(), escalation_ceiling(state, skip=1).tolist()
        ([2], [3])
        >>> escalation_ceiling(state, coherence=True).tolist()
        [1]
    """
    upper = np.minimum(state.highest_tried + 1 + skip, state.patients.shape[1] - 1)
    if max_step is not None:
        upper = np.minimum(upper, state.levels + max_step)
    if coherence:
        treated = state.patients.sum(axis=1) > 0
        if np.any(treated & (state.last_dlts < 0)):
            raise ValueError(
                "coherence needs state.last_dlts (DLTs of each trial's last cohort); the "
                "simulator must record it, or pass last_dlts to TrialState.from_counts"
            )
        upper = np.where(state.last_dlts > 0, np.minimum(upper, state.levels), upper)
    return upper


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CrmRulesDesign:
    """A one-parameter CRM with coherence, skipping and step limits on its next dose.

    The next dose is the base model's estimate-closest level, lowered to at most ``skip``
    levels above the highest level tried, to at most ``max_step`` above the current level,
    and, with ``coherence``, to the current level after a cohort with a DLT (read from
    ``state.last_dlts``). Stopping and the final selection are the base design's.

    Attributes:
        base: A :class:`CrmDesign` or :class:`LogisticCrmDesign`.
        coherence: No escalation right after a cohort with a DLT (Cheung 2005).
        skip: Untried levels that may be skipped (0: never skip).
        max_step: Most levels above the current level (``None``: no limit).

    Examples:
        >>> base = CrmDesign(skeleton=(0.05, 0.12, 0.25, 0.4, 0.55), target=0.25)
        >>> state = TrialState.from_counts([[3, 6, 0, 0, 0]], [[0, 1, 0, 0, 0]], [1], [1])
        >>> base.next_dose(state).tolist(), CrmRulesDesign(base=base, coherence=True).next_dose(
        ...     state).tolist()
        ([2], [1])
    """

    base: CrmDesign
    coherence: bool = False
    skip: int = 0
    max_step: int | None = None

    def __post_init__(self) -> None:
        """Validate the limits, naming the field."""
        if self.skip < 0:
            raise ValueError(f"skip must be >= 0, got {self.skip}")
        if self.max_step is not None and self.max_step < 1:
            raise ValueError(f"max_step must be None or >= 1, got {self.max_step}")

    def next_dose(self, state: TrialState) -> np.ndarray:
        """Estimate-closest level under the skipping, step and coherence limits."""
        estimates, _ = self.base.posterior(state)
        best = np.abs(estimates - self.base.target).argmin(axis=1)
        ceiling = escalation_ceiling(
            state, skip=self.skip, max_step=self.max_step, coherence=self.coherence
        )
        return np.minimum(best, ceiling)

    def stop(self, state: TrialState) -> np.ndarray:
        """The base design's stopping rules."""
        return self.base.stop(state)

    def select_mtd(self, state: TrialState) -> np.ndarray:
        """The base design's final selection."""
        return self.base.select_mtd(state)
