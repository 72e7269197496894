"""Bayesian optimal interval (BOIN) design, batched over trials.

Liu S, Yuan Y (2015). Bayesian optimal interval designs for phase I clinical trials.
J R Stat Soc C 64:507-523. Local BOIN with phi1 = 0.6 phi and phi2 = 1.4 phi (the paper's
default) and the paper's elimination rule. By default the trial runs and ends as the R package
``BOIN`` 2.7.2 (``get.oc``, ``select.mtd``) decides it: its MTD selection, and its options
``n.earlystop``, ``extrasafe``/``offset`` and ``boundMTD`` (all off by default, as in the
package); see :mod:`pkgym.trials.boin_selection`. ``mtd_selection="count_weighted"`` keeps
pkgym's earlier selection (isotonic regression of the raw rates weighted by patient count),
and ``stay_on_1_of_3`` the BOIN web application's modification used by Zhao et al. (2024).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import special

from pkgym.trials.boin_selection import (
    elimination_defined,
    extrasafe_triggered,
    select_r_package_mtd,
)
from pkgym.trials.state import TrialState

MTD_SELECTIONS = ("r_package", "count_weighted")
"""Final MTD selections: ``BOIN::select.mtd`` (default), or pkgym's earlier count-weighted rule."""


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
        elimination_cutoff: Posterior probability for the elimination rule (paper and package
            ``cutoff.eli``: 0.95).
        n_earlystop: Package ``n.earlystop``: stop once the current dose has this many patients
            and the decision is to stay (None: off, as the package's default 100 in practice).
        mtd_selection: ``"r_package"`` (``BOIN::select.mtd``, default) or ``"count_weighted"``
            (pkgym before issue 24: raw rates, patient-count weights, Liu & Yuan's tie rule).
        extrasafe: Package ``extrasafe``: stop with no MTD when the lowest dose has >= 3
            patients and Pr(p_1 > target | data) > elimination_cutoff - offset.
        offset: Package ``offset`` for ``extrasafe``, in (0, 0.5) (package default 0.05).
        stay_on_1_of_3: Stay instead of de-escalating after 1 DLT in the first 3 patients at a
            dose (BOIN web application; Zhao et al. 2024, Clin Cancer Res 30:673, Table 4);
            never overrides an escalation or an elimination.
        bound_mtd: Package ``boundMTD``: only doses whose estimate is <= lambda_d can be
            selected (``mtd_selection="r_package"`` only).

    Examples:
        >>> design = BoinDesign(target=0.3)
        >>> state = TrialState.from_counts([[3, 3, 0], [3, 3, 0]], [[0, 0, 0], [0, 2, 0]], [1, 1])
        >>> design.next_dose(state).tolist(), design.select_mtd(state).tolist()
        ([2, 0], [1, 0])
    """

    target: float
    elimination_cutoff: float = 0.95
    n_earlystop: int | None = None
    mtd_selection: str = "r_package"
    extrasafe: bool = False
    offset: float = 0.05
    stay_on_1_of_3: bool = False
    bound_mtd: bool = False

    def __post_init__(self) -> None:
        """Validate every field, naming it and its allowed values."""
        if self.n_earlystop is not None and self.n_earlystop < 1:
            raise ValueError(f"n_earlystop must be None or >= 1, got {self.n_earlystop}")
        if not 0 < self.target < 1:
            raise ValueError(f"target must lie in (0, 1), got {self.target}")
        if not 0.5 <= self.elimination_cutoff < 1:
            raise ValueError(
                f"elimination_cutoff must be in [0.5, 1), got {self.elimination_cutoff}"
            )
        if self.mtd_selection not in MTD_SELECTIONS:
            raise ValueError(f"mtd_selection must be one of {list(MTD_SELECTIONS)}, got "
                             f"{self.mtd_selection!r}")
        if not 0 < self.offset < 0.5:
            raise ValueError(f"offset must lie in (0, 0.5), got {self.offset}")
        if self.bound_mtd and self.mtd_selection != "r_package":
            raise ValueError("bound_mtd needs mtd_selection='r_package', got "
                             f"{self.mtd_selection!r}")

    def _ceiling(self, state: TrialState) -> np.ndarray:
        """First eliminated level per trial (n_doses if none)."""
        return elimination_levels(state.patients, state.dlts, self.target,
                                  self.elimination_cutoff)

    def next_dose(self, state: TrialState) -> np.ndarray:
        """Next level per trial from the observed rate at the current level."""
        lambda_e, lambda_d = boin_boundaries(self.target)
        rows = np.arange(state.levels.size)
        n = state.patients[rows, state.levels]
        x = state.dlts[rows, state.levels]
        rates = x / np.maximum(n, 1)
        ceiling = self._ceiling(state)
        up = np.minimum(state.levels + 1, np.minimum(ceiling, state.patients.shape[1]) - 1)
        down = np.maximum(state.levels - 1, 0)
        de_escalate = rates >= lambda_d
        if self.stay_on_1_of_3:
            de_escalate &= ~((n == 3) & (x == 1))
        levels = np.where(rates <= lambda_e, np.maximum(up, state.levels), state.levels)
        levels = np.where(de_escalate, down, levels)
        return np.clip(np.minimum(levels, ceiling - 1), 0, None)

    def stop(self, state: TrialState) -> np.ndarray:
        """Stop (no MTD) on losing the lowest dose, or (MTD) at ``n_earlystop`` on a repeat.

        No MTD when the lowest dose is eliminated or ``extrasafe`` fires there; an MTD once
        ``n_earlystop`` patients are at a dose the design would repeat. ``get.oc`` checks
        ``extrasafe`` only after a cohort at the lowest dose, and only where its boundary
        table has an elimination count for that dose's sample size.
        """
        stops = self._ceiling(state) == 0
        rows = np.arange(state.levels.size)
        n = state.patients[rows, state.levels]
        if self.extrasafe:
            at_lowest = (state.levels == 0) & elimination_defined(n, self.target,
                                                                  self.elimination_cutoff)
            stops |= at_lowest & extrasafe_triggered(state.patients, state.dlts, self.target,
                                                     self.elimination_cutoff, self.offset)
        if self.n_earlystop is None:
            return stops
        return stops | ((n >= self.n_earlystop) & (self.next_dose(state) == state.levels))

    def select_mtd(self, state: TrialState) -> np.ndarray:
        """Isotonic selection among tried, non-eliminated doses (-1: none): ``mtd_selection``."""
        ceiling = self._ceiling(state)
        if self.mtd_selection == "count_weighted":
            chosen = select_isotonic_mtd(state.patients, state.dlts, self.target, ceiling)
        else:
            bound = boin_boundaries(self.target)[1] if self.bound_mtd else None
            chosen = select_r_package_mtd(state.patients, state.dlts, self.target, ceiling,
                                          bound_rate=bound)
        if self.extrasafe:
            unsafe = extrasafe_triggered(state.patients, state.dlts, self.target,
                                         self.elimination_cutoff, self.offset)
            chosen = np.where(unsafe, -1, chosen)
        return chosen


BOIN_OPTIONS = ("elimination_cutoff", "n_earlystop", "mtd_selection", "extrasafe", "offset",
                "stay_on_1_of_3", "bound_mtd")
"""Keys of ``boin:key=value[,key=value]`` (the fields of :class:`BoinDesign` but ``target``)."""

_TRUE, _FALSE = ("1", "true", "yes"), ("0", "false", "no")


def _option_value(key: str, text: str) -> object:
    """One option's value from its text, or a one-line ValueError naming the key."""
    if key in ("extrasafe", "stay_on_1_of_3", "bound_mtd"):
        if text.lower() not in _TRUE + _FALSE:
            raise ValueError(f"design boin: {key} must be one of {list(_TRUE + _FALSE)}, "
                             f"got {text!r}")
        return text.lower() in _TRUE
    if key == "mtd_selection":
        return text
    try:
        return int(text) if key == "n_earlystop" else float(text)
    except ValueError:
        kind = "an integer" if key == "n_earlystop" else "a number"
        raise ValueError(f"design boin: {key} must be {kind}, got {text!r}") from None


def boin_from_spec(spec: str, target: float) -> BoinDesign:
    """``boin`` or ``boin:key=value[,key=value]`` (keys: :data:`BOIN_OPTIONS`) as a design.

    Args:
        spec: The design's name with its options, as ``pkgym trial --design`` takes it.
        target: Target DLT probability (from the scenario).

    Examples:
        >>> design = boin_from_spec("boin:extrasafe=1,offset=0.1,n_earlystop=9", 0.25)
        >>> design.extrasafe, design.offset, design.n_earlystop, design.mtd_selection
        (True, 0.1, 9, 'r_package')
        >>> boin_from_spec("boin:offset=0.7", 0.25)
        Traceback (most recent call last):
        ...
        ValueError: design boin: offset must lie in (0, 0.5), got 0.7
    """
    name, _, text = spec.partition(":")
    if name != "boin":
        raise ValueError(f"design must be 'boin' or 'boin:key=value,...', got {spec!r}")
    options: dict[str, object] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, equals, value = (part.strip() for part in item.partition("="))
        if key not in BOIN_OPTIONS or not equals or not value:
            raise ValueError(f"design boin: options are key=value pairs separated by commas, "
                             f"keys {list(BOIN_OPTIONS)}; got {item!r}")
        options[key] = _option_value(key, value)
    try:
        return BoinDesign(target=target, **options)  # type: ignore[arg-type]
    except ValueError as error:
        raise ValueError(f"design boin: {error}") from None
