"""Time-to-event CRM (TITE-CRM) for late-onset toxicities, power model, batched over trials.

Cheung YK, Chappell R (2000). Sequential designs for phase I clinical trials with late-onset
toxicities. Biometrics 56:1177-1182; the rules of the ``dfcrm`` R package (Cheung, version
0.2-2.1, functions ``titecrm`` and ``titesim``), read for their rules, not their code.

Patient i, followed for u_i of the observation window T without a DLT, enters the likelihood
with weight w_i; a patient with a DLT counts fully (w_i = 1). Weighted likelihood of the
power ("empiric") model p_d(b) = skeleton_d ** exp(b) (Cheung & Chappell 2000):

    L(b) = prod_i p_{d_i}(b) ** y_i * (1 - w_i p_{d_i}(b)) ** (1 - y_i),   b ~ Normal(0, 1.34)

Weights: ``linear`` w = min(u / T, 1); ``adaptive`` (Cheung & Chappell 2000, as
dfcrm's ``scheme="adaptive"``) places u among the z ordered DLT times s_1 < ... < s_z seen so
far: w = (m + (u - s_m) / (s_{m+1} - s_m)) / (z + 1) with m = #{s_j <= u}, s_0 = 0,
s_{z+1} = T (linear when z = 0), capped at 1. The estimate is dfcrm's plug-in
skeleton ** exp(E[b | data]); the posterior mean is integrated on a uniform grid over
[-10, 10] (dfcrm integrates the numerator over the same interval). The next dose is the level
whose estimate is closest to the target; dfcrm's ``restrict=TRUE`` caps it at one level above
the current dose. The time-to-event simulator is :mod:`pkgym.trials.tite_simulation`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import sparse
from scipy.stats import norm

from pkgym.trials.crm import indifference_skeleton
from pkgym.trials.scenarios import DoseFindingScenario
from pkgym.trials.state import TrialState

SCHEMES = ("linear", "adaptive")
"""Weighting schemes of dfcrm's ``titecrm`` (``scheme``)."""
ACCRUALS = ("fixed", "poisson")
"""Accrual processes of dfcrm's ``titesim``: fixed gaps T / rate, or exponential gaps of mean
T / rate (a Poisson process of ``rate`` arrivals per window)."""


def tite_weights(
    followup: object, dlts: object, window: float, scheme: str = "linear"
) -> np.ndarray:
    """Weights of the weighted likelihood (n_trials, n_patients), 1 for a patient with a DLT.

    Args:
        followup: Time each patient has been followed (n_trials, n_patients), in the unit of
            ``window`` (days, say); for a patient with a DLT, the time to the DLT.
        dlts: Whether each patient has had a DLT so far (same shape), bool or 0/1.
        window: Observation window T (same time unit, > 0).
        scheme: One of :data:`SCHEMES`.

    Examples:
        >>> tite_weights([[178, 168, 90]], [[0, 1, 0]], 180.0).round(4).tolist()
        [[0.9889, 1.0, 0.5]]
        >>> tite_weights([[178, 168, 90]], [[0, 1, 0]], 180.0, "adaptive").round(4).tolist()
        [[0.9167, 1.0, 0.2679]]
    """
    u = np.atleast_2d(np.asarray(followup, dtype=np.float64))
    y = np.atleast_2d(np.asarray(dlts)).astype(bool)
    if u.shape != y.shape:
        raise ValueError(f"followup {u.shape} and dlts {y.shape} must have one shape")
    if not window > 0:
        raise ValueError(f"window must be > 0, got {window}")
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    weights = u / window
    if scheme == "adaptive":
        weights = np.where(y.any(axis=1, keepdims=True), _adaptive(u, y, window), weights)
    return np.where(y, 1.0, np.minimum(weights, 1.0))


def _adaptive(u: np.ndarray, y: np.ndarray, window: float) -> np.ndarray:
    """Cheung & Chappell's (2000) adaptive weights where a trial has a DLT (else nonsense)."""
    support = np.sort(np.where(y, u, np.inf), axis=1)  # DLT times first, (n, N)
    z = y.sum(axis=1, keepdims=True)
    m = (support[:, None, :] <= u[:, :, None]).sum(axis=2)  # (n, N)
    padded = np.concatenate([np.zeros((u.shape[0], 1)), support], axis=1)
    lower = np.take_along_axis(padded, m, axis=1)
    upper = np.where(m >= z, window, np.take_along_axis(padded, np.minimum(m + 1, u.shape[1]), 1))
    gap = upper - lower
    fraction = np.divide(u - lower, gap, out=np.zeros_like(u), where=gap > 0)
    return (m + fraction) / (z + 1)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TiteCrmFit:
    """Posterior summary of the TITE-CRM, as dfcrm's ``titecrm`` object (batched).

    Attributes:
        beta_mean: Posterior mean of b (n_trials,) (dfcrm ``estimate``).
        beta_variance: Posterior variance of b (n_trials,) (dfcrm ``post.var``).
        dlt_probabilities: Plug-in estimates skeleton ** exp(beta_mean) (n_trials, n_doses).
        lower: Lower limits of the 90% probability interval (dfcrm ``ptoxL``) (n_trials, n_doses).
        upper: Upper limits (dfcrm ``ptoxU``) (n_trials, n_doses).
        recommended: Zero-based level closest to the target, unrestricted (n_trials,).
    """

    beta_mean: np.ndarray
    beta_variance: np.ndarray
    dlt_probabilities: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    recommended: np.ndarray


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TiteAccrual:
    """How patients arrive in simulated trials (the assumptions of dfcrm's ``titesim``).

    Attributes:
        process: One of :data:`ACCRUALS`.
        rate: Expected arrivals (cohorts) per observation window (> 0); dfcrm's default is 1,
            which with fixed gaps gives every patient full follow-up before the next arrives.
    """

    process: str = "fixed"
    rate: float = 1.0

    def __post_init__(self) -> None:
        """Validate the process and rate."""
        if self.process not in ACCRUALS:
            raise ValueError(f"accrual must be one of {ACCRUALS}, got {self.process!r}")
        if not self.rate > 0:
            raise ValueError(f"rate must be > 0 arrivals per window, got {self.rate}")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TiteCrmDesign:
    """TITE-CRM with dfcrm's defaults: power model, plug-in estimate, no skipping, no stopping.

    On a :class:`~pkgym.trials.state.TrialState` (complete follow-up, every weight 1) it acts as
    the CRM it reduces to, so it also satisfies the ``DoseFindingDesign`` protocol; the
    staggered-entry trial is :func:`pkgym.trials.tite_simulation.simulate_tite_trials`.

    Attributes:
        skeleton: Prior guesses of the DLT probabilities, increasing in (0, 1) (n_doses,).
        target: Target DLT probability.
        window: Observation window T (days, say; > 0) over which a DLT counts.
        prior_sd: Standard deviation of the normal prior on b (dfcrm ``scale``, sqrt(1.34)).
        scheme: One of :data:`SCHEMES`.
        restrict: dfcrm's ``restrict``: never more than one level above the current dose.
        accrual: Arrival process for simulation.
        n_grid: Grid points over b in [-10, 10] (>= 101).

    Examples:
        >>> design = TiteCrmDesign(skeleton=(0.05, 0.1, 0.2, 0.35), target=0.2, window=6.0)
        >>> state = TrialState.from_counts([[0, 3, 0, 0]], [[0, 0, 0, 0]], [1])
        >>> design.next_dose(state).tolist(), design.stop(state).tolist()
        ([2], [False])
    """

    skeleton: tuple[float, ...]
    target: float
    window: float = 1.0
    prior_sd: float = float(np.sqrt(1.34))
    scheme: str = "linear"
    restrict: bool = True
    accrual: TiteAccrual = dataclasses.field(default_factory=TiteAccrual)
    n_grid: int = 201

    def __post_init__(self) -> None:
        """Validate every field, naming it and the allowed values."""
        skeleton = np.asarray(self.skeleton, dtype=np.float64)
        if skeleton.ndim != 1 or skeleton.size < 2 or np.any((skeleton <= 0) | (skeleton >= 1)):
            raise ValueError(f"skeleton must be >= 2 probabilities in (0, 1), got {self.skeleton}")
        if np.any(np.diff(skeleton) <= 0):
            raise ValueError(f"skeleton must be strictly increasing, got {self.skeleton}")
        if not 0 < self.target < 1:
            raise ValueError(f"target must lie in (0, 1), got {self.target}")
        if not self.window > 0:
            raise ValueError(f"window must be > 0, got {self.window}")
        if not self.prior_sd > 0:
            raise ValueError(f"prior_sd must be > 0, got {self.prior_sd}")
        if self.scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, got {self.scheme!r}")
        if self.n_grid < 101:
            raise ValueError(f"n_grid must be >= 101, got {self.n_grid}")

    def fit(self, levels: object, dlts: object, weights: object) -> TiteCrmFit:
        """Weighted-likelihood posterior (dfcrm ``titecrm`` with ``method="bayes"``), batched.

        Args:
            levels: Zero-based level of each patient (n_trials, n_patients); padding any level.
            dlts: DLT of each patient so far (same shape), bool or 0/1; padding 0.
            weights: Weight of each patient in [0, 1] (same shape); padding 0 (no information).

        Examples:
            >>> design = TiteCrmDesign(skeleton=(0.05, 0.1, 0.2, 0.35, 0.5, 0.7), target=0.2)
            >>> fit = design.fit([[2, 2, 2]], [[0, 0, 1]], [[1.0, 0.5, 1.0]])  # 1 DLT in 2.5
            >>> fit.recommended.tolist(), fit.dlt_probabilities.round(3).tolist()
            ([0], [[0.175, 0.262, 0.393, 0.543, 0.669, 0.813]])
        """
        level_array = np.atleast_2d(np.asarray(levels, dtype=np.int64))
        y = np.atleast_2d(np.asarray(dlts)).astype(bool)
        w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        if not level_array.shape == y.shape == w.shape:
            raise ValueError("levels, dlts and weights must have one shape (n_trials, n_patients)")
        n_doses = len(self.skeleton)
        if np.any((w < 0) | (w > 1)) or np.any((level_array < 0) | (level_array >= n_doses)):
            raise ValueError("weights must lie in [0, 1] and levels in [0, n_doses)")
        b, log_p = self._grid_log_p()
        cells = (np.arange(y.shape[0])[:, None] * n_doses + level_array).ravel()
        size = y.shape[0] * n_doses
        tox = np.bincount(cells, y.ravel(), size).reshape(-1, n_doses)  # (n_trials, n_doses)
        full = np.bincount(cells, (~y & (w >= 1)).ravel(), size).reshape(-1, n_doses)
        log_post = tox @ log_p.T + full @ np.log(-np.expm1(log_p)).T
        log_post -= 0.5 * (b / self.prior_sd) ** 2
        partial = ~y & (w > 0) & (w < 1)
        if partial.any():
            log_post += self._partial_terms(level_array, w, partial, log_p)
        post = np.exp(log_post - log_post.max(axis=1, keepdims=True))
        post /= post.sum(axis=1, keepdims=True)
        mean = post @ b
        variance = post @ b**2 - mean**2
        return self._summary(mean, variance)

    def _grid_log_p(self) -> tuple[np.ndarray, np.ndarray]:
        """Grid over b and log p_d(b) on it (n_grid, n_doses)."""
        b = np.linspace(-10.0, 10.0, self.n_grid)
        return b, np.exp(b)[:, None] * np.log(np.asarray(self.skeleton))[None, :]

    @staticmethod
    def _partial_terms(
        levels: np.ndarray, w: np.ndarray, partial: np.ndarray, log_p: np.ndarray
    ) -> np.ndarray:
        """Sum of log(1 - w_i p_{d_i}(b)) over patients in follow-up (n_trials, n_grid)."""
        rows, cols = np.nonzero(partial)
        p = np.exp(log_p.T)[levels[rows, cols]]  # (n_partial, n_grid)
        terms = np.log(1.0 - w[rows, cols][:, None] * p)  # 1 - w p >= 1 - w > 0
        by_trial = sparse.csr_array(
            (np.ones(rows.size), (rows, np.arange(rows.size))), shape=(partial.shape[0], rows.size)
        )
        return np.asarray(by_trial @ terms)

    def _summary(self, mean: np.ndarray, variance: np.ndarray) -> TiteCrmFit:
        """Plug-in estimates, 90% limits and the closest level, as dfcrm's ``titecrm``."""
        skeleton = np.asarray(self.skeleton)[None, :]
        estimates = skeleton ** np.exp(mean)[:, None]
        half = norm.ppf(0.95) * np.sqrt(np.maximum(variance, 0.0))
        return TiteCrmFit(
            beta_mean=mean,
            beta_variance=variance,
            dlt_probabilities=estimates,
            lower=skeleton ** np.exp(mean + half)[:, None],
            upper=skeleton ** np.exp(mean - half)[:, None],
            recommended=np.abs(estimates - self.target).argmin(axis=1),
        )

    def restricted(self, recommended: np.ndarray, current: np.ndarray) -> np.ndarray:
        """Apply dfcrm's ``restrict``: at most one level above the current dose."""
        return np.minimum(recommended, current + 1) if self.restrict else recommended

    def _fit_counts(self, patients: np.ndarray, dlts: np.ndarray) -> TiteCrmFit:
        """Posterior from per-dose counts, all patients fully followed."""
        b, log_p = self._grid_log_p()
        log_post = dlts @ log_p.T + (patients - dlts) @ np.log(-np.expm1(log_p)).T
        log_post = log_post - 0.5 * (b / self.prior_sd) ** 2
        post = np.exp(log_post - log_post.max(axis=1, keepdims=True))
        post /= post.sum(axis=1, keepdims=True)
        mean = post @ b
        return self._summary(mean, post @ b**2 - mean**2)

    def next_dose(self, state: TrialState) -> np.ndarray:
        """CRM step with complete follow-up: the closest level, restricted."""
        best = self._fit_counts(state.patients, state.dlts).recommended
        return self.restricted(best, state.levels)

    def stop(self, state: TrialState) -> np.ndarray:
        """Never stop: dfcrm's ``titesim`` has no early stopping."""
        return np.zeros(state.patients.shape[0], dtype=bool)

    def select_mtd(self, state: TrialState) -> np.ndarray:
        """The level whose plug-in estimate is closest to the target (any level)."""
        return self._fit_counts(state.patients, state.dlts).recommended


TITE_CRM_OPTIONS = ("window", "accrual", "rate", "scheme", "restrict", "skeleton")
"""Keys of :func:`tite_crm_from_spec`."""


def _tite_option(key: str, value: str) -> object:
    """One parsed ``key=value`` of a ``tite_crm:`` spec (ValueError naming the key)."""
    try:
        if key in ("window", "rate"):
            return float(value)
        if key == "restrict":
            if value not in ("0", "1"):
                raise ValueError
            return value == "1"
        if key == "skeleton":
            return tuple(float(part) for part in value.split("/"))
    except ValueError:
        allowed = {"restrict": "0 or 1", "skeleton": "probabilities separated by '/'"}
        raise ValueError(f"design tite_crm: {key} must be {allowed.get(key, 'a number')}, "
                         f"got {value!r}") from None
    return value


def tite_crm_from_spec(spec: str, scenario: DoseFindingScenario) -> TiteCrmDesign:
    """``tite_crm`` or ``tite_crm:key=value[,key=value]`` (keys :data:`TITE_CRM_OPTIONS`).

    Defaults: window 28 (days; our choice, one 4-week cycle), Poisson accrual of 4 patients
    per window and linear weights (dfcrm's ``titesim`` help example uses ``rate=4,
    accrual="poisson"``), ``restrict=1``, and the skeleton of ``pkgym trial``'s CRM
    (indifference interval half-width 0.05, prior MTD the middle level). ``skeleton`` is
    given as ``0.05/0.1/0.2``.

    Args:
        spec: The design's name with its options, as ``pkgym trial --design`` takes it.
        scenario: Supplies the target DLT rate and the number of dose levels.

    Examples:
        >>> scenario = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.2, 0.4),
        ...                                target_dlt_rate=0.2)
        >>> design = tite_crm_from_spec("tite_crm:window=180,accrual=fixed,rate=6", scenario)
        >>> design.window, design.accrual.process, design.accrual.rate, design.scheme
        (180.0, 'fixed', 6.0, 'linear')
        >>> tite_crm_from_spec("tite_crm:accrual=daily", scenario)
        Traceback (most recent call last):
        ...
        ValueError: design tite_crm: accrual must be one of ('fixed', 'poisson'), got 'daily'
    """
    name, _, text = spec.partition(":")
    if name != "tite_crm":
        raise ValueError(f"design must be 'tite_crm' or 'tite_crm:key=value,...', got {spec!r}")
    options: dict[str, object] = {"window": 28.0, "accrual": "poisson", "rate": 4.0}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, equals, value = (part.strip() for part in item.partition("="))
        if key not in TITE_CRM_OPTIONS or not equals or not value:
            raise ValueError(f"design tite_crm: options are key=value pairs separated by commas, "
                             f"keys {list(TITE_CRM_OPTIONS)}; got {item!r}")
        options[key] = _tite_option(key, value)
    target, n_doses = scenario.target_dlt_rate, scenario.n_doses
    if "skeleton" not in options:
        half_width = min(0.05, 0.5 * min(target, 1 - target))
        skeleton = indifference_skeleton(target, half_width, (n_doses + 1) // 2, n_doses)
        options["skeleton"] = tuple(float(p) for p in skeleton)
    if len(options["skeleton"]) != n_doses:  # type: ignore[arg-type]
        raise ValueError(f"design tite_crm: skeleton must have {n_doses} levels (the scenario's)")
    try:
        accrual = TiteAccrual(process=options.pop("accrual"), rate=options.pop("rate"))  # type: ignore[arg-type]
        return TiteCrmDesign(target=target, accrual=accrual, **options)  # type: ignore[arg-type]
    except ValueError as error:
        raise ValueError(f"design tite_crm: {error}") from None
