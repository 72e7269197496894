"""Constrained Thompson sampling for dose finding, batched over trials.

Each dose has an independent Beta(1, 1) prior on its DLT probability. For the next cohort a
DLT probability is drawn from each dose's Beta posterior and the admissible dose whose draw is
closest to the target is chosen. Admissible: no skipping of untried doses (at most one level
above the highest level tried) and below the BOIN elimination level (Liu & Yuan 2015). The trial
stops when the lowest dose is eliminated; the MTD is selected as in BOIN (isotonic regression).
Draws use the per-trial uniforms in the state (inverse Beta CDF), so they are reproducible.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import special

from pkgym.trials.boin import elimination_levels, select_isotonic_mtd
from pkgym.trials.state import TrialState


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ThompsonSamplingDesign:
    """Thompson sampling with no-skipping and BOIN-style safety elimination.

    Attributes:
        target: Target DLT probability.
        elimination_cutoff: Posterior probability for the elimination rule.
        prior_alpha: Beta prior alpha per dose.
        prior_beta: Beta prior beta per dose.

    Examples:
        >>> design = ThompsonSamplingDesign(target=0.3)
        >>> state = TrialState.from_counts([[3, 0, 0]], [[0, 0, 0]], [0])
        >>> design.next_dose(state).tolist()  # uniforms 0.5: median draws 0.16, 0.5, 0.5
        [0]
    """

    target: float
    elimination_cutoff: float = 0.95
    prior_alpha: float = 1.0
    prior_beta: float = 1.0

    def __post_init__(self) -> None:
        """Validate the target, cutoff and prior."""
        if not 0 < self.target < 1:
            raise ValueError(f"target must lie in (0, 1), got {self.target}")
        if not 0.5 <= self.elimination_cutoff < 1:
            raise ValueError(
                f"elimination_cutoff must be in [0.5, 1), got {self.elimination_cutoff}"
            )
        if self.prior_alpha <= 0 or self.prior_beta <= 0:
            raise ValueError(
                f"prior_alpha and prior_beta must be > 0, got {self.prior_alpha}, {self.prior_beta}"
            )

    def _ceiling(self, state: TrialState) -> np.ndarray:
        return elimination_levels(state.patients, state.dlts, self.target, self.elimination_cutoff)

    def next_dose(self, state: TrialState) -> np.ndarray:
        """Admissible level whose posterior draw is closest to the target."""
        draws = special.betaincinv(
            self.prior_alpha + state.dlts,
            self.prior_beta + state.patients - state.dlts,
            state.uniforms,
        )
        n_doses = state.patients.shape[1]
        limit = np.minimum(state.highest_tried + 1, self._ceiling(state) - 1)  # (n_trials,)
        admissible = np.arange(n_doses)[None, :] <= limit[:, None]
        distances = np.where(admissible, np.abs(draws - self.target), np.inf)
        return np.where(limit >= 0, distances.argmin(axis=1), 0)

    def stop(self, state: TrialState) -> np.ndarray:
        """Stop when the lowest dose is eliminated."""
        return self._ceiling(state) == 0

    def select_mtd(self, state: TrialState) -> np.ndarray:
        """BOIN's isotonic selection among tried, non-eliminated doses."""
        return select_isotonic_mtd(state.patients, state.dlts, self.target, self._ceiling(state))
