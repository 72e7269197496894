"""Two-parameter Bayesian logistic regression model (BLRM) with overdose control, batched.

Neuenschwander B, Branson M, Gsponer T (2008). Critical aspects of the Bayesian approach to
phase I cancer trials. Stat Med 27:2420-2439:

    logit p_d = alpha + exp(log_beta) * x_d,   x_d = log(dose_d / reference dose),
    (alpha, log_beta) ~ bivariate normal(prior_mean, prior_sd, prior_correlation).

Next dose (NBG 2008, section 3; the escalation with overdose control of Babb J, Rogatko A,
Zacks S 1998. Stat Med 17:1103-1120, in its interval form): among the doses whose posterior
probability of overdosing, Pr(p_d >= target_interval[1]), is below ``ewoc`` (0.25 in both
papers), the dose with the largest Pr(p_d in [target_interval)), with no skipping of untried
levels by default. The trial stops, selecting no dose, when even the lowest dose overdoses
with probability >= ``ewoc``.

The posterior is computed on a grid over (log_beta, alpha) spanning +-``grid_width`` prior SDs
in each: along alpha the posterior mass of each node is spread over its cell, so that the
interval probabilities (alpha thresholds at each log_beta) are interpolated rather than
counted node by node. Trials with the same counts share one posterior, computed once and
remembered for the next call.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pkgym.trials.crm_family import escalation_ceiling
from pkgym.trials.state import TrialState

_CHUNK = 128
"""Distinct trial states whose posteriors are computed together (bounds the memory)."""
_MEMO_SIZE = 200_000
_MEMO: dict[tuple[BlrmDesign, bytes], tuple[np.ndarray, np.ndarray]] = {}
"""Interval probabilities of (design, counts) already computed: the simulator asks for the
same trial states in ``stop`` and ``next_dose``, and again for trials that have stopped. A
pure memo (the values depend on the key only), cleared beyond ``_MEMO_SIZE`` entries."""


def _logit(p: float) -> float:
    """log(p / (1 - p))."""
    return float(np.log(p / (1 - p)))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BlrmDesign:
    """BLRM (NBG 2008) with escalation with overdose control (EWOC), batched over trials.

    Attributes:
        log_dose_ratios: x_d = log(dose_d / reference dose), increasing (n_doses,).
        prior_mean: Prior means of (alpha, log_beta).
        prior_sd: Prior standard deviations of (alpha, log_beta), > 0.
        prior_correlation: Prior correlation of alpha and log_beta, in (-1, 1).
        target_interval: Target toxicity interval [low, high); Pr(p_d >= high) is overdosing.
            NBG 2008 use [0.16, 0.33), the default.
        ewoc: Largest allowed posterior probability of overdosing (0.25 in NBG 2008 and Babb
            et al. 1998).
        skip: Untried levels that may be skipped (0: never skip).
        max_step: Most levels above the current level (``None``: no limit).
        coherence: No escalation right after a cohort with a DLT (needs ``state.last_dlts``).
        stop_patients_at_level: Stop once any level has this many patients (``None``: never).
        n_grid: Grid points per parameter.
        grid_width: Half-width of the grid in prior standard deviations.

    Examples:
        >>> design = BlrmDesign(log_dose_ratios=(-1.5, -1.0, -0.5, 0.0, 0.4),
        ...                     prior_mean=(-1.1, 0.0), prior_sd=(2.0, 1.0))
        >>> state = TrialState.from_counts([[3, 3, 0, 0, 0]], [[0, 0, 0, 0, 0]], [1])
        >>> design.next_dose(state).tolist(), design.stop(state).tolist()
        ([2], [False])
    """

    log_dose_ratios: tuple[float, ...]
    prior_mean: tuple[float, float]
    prior_sd: tuple[float, float]
    prior_correlation: float = 0.0
    target_interval: tuple[float, float] = (0.16, 0.33)
    ewoc: float = 0.25
    skip: int = 0
    max_step: int | None = None
    coherence: bool = False
    stop_patients_at_level: int | None = None
    n_grid: int = 161
    grid_width: float = 7.0

    def __post_init__(self) -> None:
        """Validate doses, prior, intervals and rules, naming the field."""
        x = np.asarray(self.log_dose_ratios, dtype=np.float64)
        if x.ndim != 1 or x.size < 2 or np.any(np.diff(x) <= 0) or not np.all(np.isfinite(x)):
            raise ValueError(f"log_dose_ratios must be >= 2 increasing finite values, got {x}")
        if len(self.prior_mean) != 2 or len(self.prior_sd) != 2 or min(self.prior_sd) <= 0:
            raise ValueError(f"prior_mean and prior_sd must be pairs, sd > 0, got "
                             f"{self.prior_mean}, {self.prior_sd}")
        if not -1 < self.prior_correlation < 1:
            raise ValueError(f"prior_correlation must lie in (-1, 1), got {self.prior_correlation}")
        low, high = self.target_interval
        if not 0 <= low < high < 1:
            raise ValueError(f"target_interval must be [low, high) with 0 <= low < high < 1, "
                             f"got {self.target_interval}")
        if not 0 < self.ewoc <= 1:
            raise ValueError(f"ewoc must lie in (0, 1], got {self.ewoc}")
        if self.skip < 0 or (self.max_step is not None and self.max_step < 1):
            raise ValueError(f"skip must be >= 0 and max_step None or >= 1, got {self.skip}, "
                             f"{self.max_step}")
        if self.stop_patients_at_level is not None and self.stop_patients_at_level < 1:
            raise ValueError(f"stop_patients_at_level must be None or >= 1, "
                             f"got {self.stop_patients_at_level}")
        if self.n_grid < 21 or self.grid_width <= 0:
            raise ValueError(f"n_grid must be >= 21 and grid_width > 0, got {self.n_grid}, "
                             f"{self.grid_width}")

    def _grid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Alpha nodes (n_a,), log-beta nodes (n_b,) and the log prior on the grid (n_b, n_a)."""
        (mean_a, mean_b), (sd_a, sd_b) = self.prior_mean, self.prior_sd
        z = np.linspace(-self.grid_width, self.grid_width, self.n_grid)
        alpha, log_beta = mean_a + sd_a * z, mean_b + sd_b * z
        rho = self.prior_correlation
        za, zb = z[None, :], z[:, None]
        log_prior = -0.5 * (za**2 - 2 * rho * za * zb + zb**2) / (1 - rho**2)
        return alpha, log_beta, log_prior

    def interval_probabilities(self, state: TrialState) -> tuple[np.ndarray, np.ndarray]:
        """Posterior Pr(p_d in target interval) and Pr(p_d >= its upper end), (n_trials, D) each.

        Examples:
            >>> design = BlrmDesign(log_dose_ratios=(-1.0, 0.0), prior_mean=(-1.0, 0.0),
            ...                     prior_sd=(1.0, 0.5))
            >>> target, over = design.interval_probabilities(
            ...     TrialState.from_counts([[0, 0]], [[0, 0]], [0]))
            >>> bool(np.all(target + over <= 1)), bool(over[0, 1] > over[0, 0])
            (True, True)
        """
        x = np.asarray(self.log_dose_ratios, dtype=np.float64)
        if state.patients.shape[1] != x.size:
            raise ValueError(f"state has {state.patients.shape[1]} doses, design {x.size}")
        counts = np.hstack([state.patients, state.dlts])
        unique, inverse = np.unique(counts, axis=0, return_inverse=True)
        if len(_MEMO) > _MEMO_SIZE:
            _MEMO.clear()
        keys = [(self, row.tobytes()) for row in unique]
        missing = np.array([i for i, key in enumerate(keys) if key not in _MEMO], dtype=np.int64)
        for start in range(0, missing.size, _CHUNK):
            rows = missing[start : start + _CHUNK]
            target, over = self._intervals(unique[rows], x)
            for i, row_target, row_over in zip(rows, target, over, strict=True):
                _MEMO[keys[i]] = (row_target, row_over)
        target = np.stack([_MEMO[key][0] for key in keys])
        over = np.stack([_MEMO[key][1] for key in keys])
        return target[inverse.reshape(-1)], over[inverse.reshape(-1)]

    def _posterior(self, counts: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Grid posterior (n_rows, n_b, n_a) of [patients, dlts] rows; eta (n_b, n_a, D)."""
        patients, dlts = counts[:, : x.size], counts[:, x.size :]
        alpha, log_beta, log_prior = self._grid()
        eta = alpha[None, :, None] + np.exp(log_beta)[:, None, None] * x  # (n_b, n_a, D)
        log_p, log_q = -np.logaddexp(0.0, -eta), -np.logaddexp(0.0, eta)
        log_post = (np.tensordot(dlts, log_p, axes=([1], [2]))
                    + np.tensordot(patients - dlts, log_q, axes=([1], [2])) + log_prior)
        post = np.exp(log_post - log_post.max(axis=(1, 2), keepdims=True))
        return post / post.sum(axis=(1, 2), keepdims=True), eta

    def _intervals(self, counts: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Interval probabilities (n_rows, D) for rows of [patients, dlts] counts (n_rows, 2D)."""
        post, _ = self._posterior(counts, x)
        alpha, log_beta, _ = self._grid()
        low, high = self.target_interval
        below_high = self._mass_below(post, alpha, log_beta, x, _logit(high))
        below_low = self._mass_below(post, alpha, log_beta, x, _logit(low)) if low > 0 else 0.0
        return below_high - below_low, 1.0 - below_high

    def mean_probabilities(self, state: TrialState) -> np.ndarray:
        """Posterior mean DLT probability per dose (n_trials, n_doses).

        Examples:
            >>> design = BlrmDesign(log_dose_ratios=(-1.0, 0.0), prior_mean=(-1.0, 0.0),
            ...                     prior_sd=(1.0, 0.5))
            >>> means = design.mean_probabilities(TrialState.from_counts([[3, 0]], [[0, 0]], [0]))
            >>> bool(0 < means[0, 0] < means[0, 1] < 1)
            True
        """
        x = np.asarray(self.log_dose_ratios, dtype=np.float64)
        post, eta = self._posterior(np.hstack([state.patients, state.dlts]), x)
        return np.tensordot(post, np.exp(-np.logaddexp(0.0, -eta)), axes=([1, 2], [0, 1]))

    @staticmethod
    def _mass_below(
        post: np.ndarray, alpha: np.ndarray, log_beta: np.ndarray, x: np.ndarray, logit_c: float
    ) -> np.ndarray:
        """Posterior Pr(logit p_d < logit_c) per dose (n_unique, D), alpha cells interpolated."""
        step = alpha[1] - alpha[0]
        threshold = logit_c - np.exp(log_beta)[:, None] * x[None, :]  # (n_b, D) in alpha
        cells = np.clip((threshold - alpha[0]) / step + 0.5, 0.0, alpha.size)
        index = np.minimum(np.floor(cells).astype(np.int64), alpha.size - 1)
        fraction = cells - index  # share of the cell containing the threshold
        before = np.cumsum(post, axis=2) - post  # mass of the cells below each node
        take = index[None, :, :]
        mass = np.take_along_axis(before, take, axis=2) + fraction * np.take_along_axis(
            post, take, axis=2)
        return mass.sum(axis=1)

    def _decide(self, state: TrialState) -> tuple[np.ndarray, np.ndarray]:
        """EWOC next level and whether the lowest level is inadmissible, per trial."""
        target, over = self.interval_probabilities(state)
        ceiling = escalation_ceiling(
            state, skip=self.skip, max_step=self.max_step, coherence=self.coherence
        )
        levels = np.arange(target.shape[1])[None, :]
        allowed = (over < self.ewoc) & (levels <= ceiling[:, None])
        score = np.where(allowed, target, -1.0)
        return score.argmax(axis=1), ~allowed[:, 0]

    def next_dose(self, state: TrialState) -> np.ndarray:
        """The admissible level (Pr(overdose) < ewoc) with the largest Pr(target interval)."""
        return self._decide(state)[0]

    def stop(self, state: TrialState) -> np.ndarray:
        """Stop when the lowest level overdoses with probability >= ewoc, or a level is full."""
        stop = self._decide(state)[1]
        if self.stop_patients_at_level is not None:
            stop |= state.patients.max(axis=1) >= self.stop_patients_at_level
        return stop

    def select_mtd(self, state: TrialState) -> np.ndarray:
        """The next-dose recommendation at the end; -1 when no level is admissible."""
        best, unsafe = self._decide(state)
        return np.where(unsafe, -1, best)
