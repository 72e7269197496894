"""Group-sequential efficacy boundaries: Lan-DeMets alpha spending and classic constant shapes.

The sequential z-statistics ``Z_1, ..., Z_K`` of a trial analysed at information fractions
``t_1 < ... < t_K = 1`` follow the canonical joint distribution (Jennison & Turnbull 2000,
*Group Sequential Methods with Applications to Clinical Trials*, section 3.1): with the score
``S_k = Z_k sqrt(t_k)``, the increments ``S_k - S_{k-1}`` are independent
``N(theta (t_k - t_{k-1}), t_k - t_{k-1})`` and ``E[Z_k] = theta sqrt(t_k)``, where ``theta``
(the *drift*) is the mean of the final z-statistic. Exit probabilities are computed exactly, up
to quadrature error (~1e-9), by the recursive numerical integration of Armitage, McPherson & Rowe
(1969, JRSS A 132:235), as in Jennison & Turnbull chapter 19: the sub-density of ``Z_k`` on the
continuation region is carried on a Simpson grid from look to look.

Boundaries:

* :func:`spending_boundaries` -- Lan & DeMets (1983, Biometrika 70:659) alpha spending with the
  O'Brien-Fleming-like function ``f(t) = 2 - 2 Phi(Phi^-1(1 - a/2) / sqrt(t))`` or the
  Pocock-like ``f(t) = a ln(1 + (e - 1) t)``. Two-sided designs spend ``a = alpha / 2`` on each
  side of a symmetric boundary (the gsDesign ``test.type=2`` / rpact ``sided=2`` convention).
* :func:`constant_boundaries` -- the classic shapes: Pocock (1977, Biometrika 64:191), one
  constant ``C``, and O'Brien & Fleming (1979, Biometrics 35:549), ``C / sqrt(t_k)``, with ``C``
  solved so that the total crossing probability under H0 is ``alpha``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

SPENDING_FUNCTIONS = ("obrien_fleming", "pocock")
SIDES = (1, 2)
_GRID_POINTS = 401  # Simpson grid on each continuation region (odd)
_TAIL_SD = 10.0  # the grid spans the conditional mean +- this many sd (truncation ~1e-23)


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupSequentialBoundaries:
    """Efficacy boundaries on the z scale for K analyses.

    Attributes:
        fractions: information fractions of the analyses, increasing, the last 1.  # (K,)
        z_bounds: the boundary ``c_k``; stop for efficacy when ``Z_k >= c_k`` (one-sided) or
            ``|Z_k| >= c_k`` (two-sided).  # (K,)
        alpha: total type I error (two-sided total when ``sided == 2``).
        sided: 1 or 2.
        method: how the boundaries were made (e.g. ``"spending:obrien_fleming"``).
    """

    fractions: tuple[float, ...]
    z_bounds: tuple[float, ...]
    alpha: float
    sided: int
    method: str

    def __post_init__(self) -> None:
        """Check lengths and sides."""
        _check_fractions(self.fractions)
        if len(self.z_bounds) != len(self.fractions):
            raise ValueError(f"z_bounds must have one value per fraction ({len(self.fractions)}),"
                             f" got {len(self.z_bounds)}")
        _check_design(self.alpha, self.sided)

    def cumulative_alpha(self) -> np.ndarray:
        """Probability under H0 of crossing by each look (computed by the recursion).

        Examples:
            >>> b = spending_boundaries((0.5, 1.0), alpha=0.05, sided=2)
            >>> round(float(b.cumulative_alpha()[-1]), 6)
            0.05
        """
        upper, lower = exit_probabilities(self.z_bounds, self.fractions, 0.0, self.sided)
        return np.cumsum(upper + lower)


def spending_function(fractions: np.ndarray | tuple[float, ...], alpha: float,
                      spending: str = "obrien_fleming") -> np.ndarray:
    """Cumulative alpha spent by each information fraction (one side, total ``alpha``).

    Args:
        fractions: information fractions in [0, 1].
        alpha: alpha of this side (one-sided alpha, or half of a two-sided alpha).
        spending: ``"obrien_fleming"`` or ``"pocock"`` (Lan & DeMets 1983 forms).

    Examples:
        >>> spending_function((0.0, 1.0), 0.025).round(6).tolist()
        [0.0, 0.025]
        >>> spending_function((1.0,), 0.025, "pocock").round(6).tolist()
        [0.025]
    """
    t = np.clip(np.asarray(fractions, dtype=np.float64), 0.0, 1.0)
    if spending == "obrien_fleming":
        with np.errstate(divide="ignore"):
            z = stats.norm.isf(alpha / 2.0) / np.sqrt(t)
        return 2.0 * stats.norm.sf(z)
    if spending == "pocock":
        return alpha * np.log1p((np.e - 1.0) * t)
    raise ValueError(f"spending must be one of {SPENDING_FUNCTIONS}, got {spending!r}")


def spending_boundaries(fractions: tuple[float, ...], alpha: float = 0.05, sided: int = 2,
                        spending: str = "obrien_fleming") -> GroupSequentialBoundaries:
    """Lan-DeMets alpha-spending efficacy boundaries, solved look by look.

    Args:
        fractions: information fractions of the K analyses, increasing, the last 1.
        alpha: total type I error (two-sided total when ``sided == 2``).
        sided: 1 (reject for large Z) or 2 (symmetric, reject for large ``|Z|``).
        spending: ``"obrien_fleming"`` or ``"pocock"``.

    Examples:
        >>> b = spending_boundaries((1 / 3, 2 / 3, 1.0), alpha=0.025, sided=1)
        >>> [round(z, 3) for z in b.z_bounds]
        [3.71, 2.511, 1.993]
    """
    _check_fractions(fractions)
    _check_design(alpha, sided)
    side_alpha = alpha / sided
    spent = spending_function(np.asarray(fractions), side_alpha, spending) * sided
    increments = np.diff(np.concatenate([[0.0], spent]))
    state = _initial_state()
    bounds = []
    for t, target in zip(fractions, increments, strict=True):
        bound = _solve_bound(state, t, target, sided)
        bounds.append(bound)
        state = _advance(state, t, bound, sided, 0.0)
    return GroupSequentialBoundaries(fractions=tuple(float(t) for t in fractions),
                                     z_bounds=tuple(bounds), alpha=alpha, sided=sided,
                                     method=f"spending:{spending}")


def constant_boundaries(fractions: tuple[float, ...], alpha: float = 0.05, sided: int = 2,
                        shape: str = "pocock") -> GroupSequentialBoundaries:
    """Classic boundaries: Pocock ``c_k = C`` or O'Brien-Fleming ``c_k = C / sqrt(t_k)``.

    Args:
        fractions: information fractions of the K analyses, increasing, the last 1.
        alpha: total type I error (two-sided total when ``sided == 2``).
        sided: 1 or 2.
        shape: ``"pocock"`` or ``"obrien_fleming"``.

    Examples:
        >>> b = constant_boundaries((0.2, 0.4, 0.6, 0.8, 1.0), 0.05, 2, "pocock")
        >>> round(b.z_bounds[0], 3)
        2.413
    """
    _check_fractions(fractions)
    _check_design(alpha, sided)
    if shape not in SPENDING_FUNCTIONS:
        raise ValueError(f"shape must be one of {SPENDING_FUNCTIONS}, got {shape!r}")
    t = np.asarray(fractions, dtype=np.float64)
    scale = np.ones_like(t) if shape == "pocock" else 1.0 / np.sqrt(t)

    def excess(c: float) -> float:
        upper, lower = exit_probabilities(tuple(c * scale), fractions, 0.0, sided)
        return float(np.sum(upper + lower)) - alpha

    constant = optimize.brentq(excess, 0.5, 10.0, xtol=1e-12)
    return GroupSequentialBoundaries(fractions=tuple(float(x) for x in t),
                                     z_bounds=tuple(float(c) for c in constant * scale),
                                     alpha=alpha, sided=sided, method=f"constant:{shape}")


def exit_probabilities(z_bounds: tuple[float, ...] | np.ndarray, fractions: tuple[float, ...],
                       drift: float = 0.0, sided: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of stopping at each look above ``c_k`` (upper) and below ``-c_k`` (lower).

    Args:
        z_bounds: boundaries ``c_k`` (may be ``inf`` for a look without a test).  # (K,)
        fractions: information fractions, increasing, the last 1.  # (K,)
        drift: ``theta``, the mean of the final z-statistic (0 under H0).
        sided: 1 (only the upper boundary stops) or 2 (``|Z_k| >= c_k`` stops).

    Returns:
        ``(upper, lower)``, each of shape (K,); ``lower`` is all zero when ``sided == 1``.

    Examples:
        >>> upper, lower = exit_probabilities((1.959964,), (1.0,), 0.0, 2)
        >>> round(float(upper[0] + lower[0]), 6)
        0.05
    """
    _check_fractions(fractions, final=False)
    if sided not in SIDES:
        raise ValueError(f"sided must be one of {SIDES}, got {sided}")
    state = _initial_state()
    upper, lower = np.zeros(len(fractions)), np.zeros(len(fractions))
    for k, (t, bound) in enumerate(zip(fractions, z_bounds, strict=True)):
        upper[k], lower[k] = _crossing(state, t, float(bound), sided, drift)
        state = _advance(state, t, float(bound), sided, drift)
    return upper, lower


def stagewise_p_values(boundaries: GroupSequentialBoundaries, looks: np.ndarray,
                       zs: np.ndarray) -> np.ndarray:
    """P-values under the stage-wise ordering (Jennison & Turnbull 2000, section 8.4).

    The probability under H0 of stopping at an earlier look, or at the stopping look with a
    statistic at least as extreme as ``z`` (``|z|`` when two-sided). The H0 sub-densities are
    computed once, so many trials cost little more than one.

    Args:
        boundaries: the design's boundaries.
        looks: the 1-based look at which each trial stopped.  # (n_trials,)
        zs: the z-statistic there, oriented so that large values favour the alternative.
            # (n_trials,)

    Examples:
        >>> b = spending_boundaries((0.5, 1.0), 0.05, 2)
        >>> stagewise_p_values(b, np.array([2, 1]), np.array([b.z_bounds[1], 0.0])).round(4)
        array([0.05, 1.  ])
    """
    looks, zs = np.asarray(looks, dtype=np.int64), np.asarray(zs, dtype=np.float64)
    n_looks = len(boundaries.fractions)
    if looks.shape != zs.shape or np.any((looks < 1) | (looks > n_looks)):
        raise ValueError(f"looks must be in 1..{n_looks}, one per z, got {looks.tolist()}")
    observed = np.abs(zs) if boundaries.sided == 2 else zs
    state, spent = _initial_state(), 0.0
    p_values = np.ones(len(zs))
    for k, (t, bound) in enumerate(zip(boundaries.fractions, boundaries.z_bounds,
                                       strict=True), start=1):
        for i in np.flatnonzero(looks == k):
            p_values[i] = spent + sum(_crossing(state, t, float(observed[i]), boundaries.sided,
                                                0.0))
        spent += sum(_crossing(state, t, bound, boundaries.sided, 0.0))
        state = _advance(state, t, bound, boundaries.sided, 0.0)
    return np.minimum(p_values, 1.0)


@dataclass(frozen=True, slots=True)
class _State:
    """Sub-density of the last z-statistic on its continuation region."""

    t: float
    z: np.ndarray  # (n_grid,)
    mass: np.ndarray  # (n_grid,) density times quadrature weight


def _initial_state() -> _State:
    """A point mass at Z_0 = 0 with information 0."""
    return _State(0.0, np.zeros(1), np.ones(1))


def _conditional(state: _State, t: float, drift: float) -> tuple[np.ndarray, float]:
    """Mean (per grid point) and sd of ``Z_k`` given ``Z_{k-1}`` on the previous grid."""
    if not t > state.t:
        raise ValueError(f"fractions must increase strictly, got {state.t} then {t}")
    delta = t - state.t
    means = (state.z * np.sqrt(state.t) + drift * delta) / np.sqrt(t)
    return means, float(np.sqrt(delta / t))


def _crossing(state: _State, t: float, bound: float, sided: int,
              drift: float) -> tuple[float, float]:
    """Probabilities of continuing to look ``t`` and landing above ``c`` / below ``-c``."""
    means, sd = _conditional(state, t, drift)
    upper = float(np.sum(state.mass * stats.norm.sf((bound - means) / sd)))
    lower = float(np.sum(state.mass * stats.norm.cdf((-bound - means) / sd))) if sided == 2 else 0.0
    return upper, lower


def _solve_bound(state: _State, t: float, target: float, sided: int) -> float:
    """The boundary at look ``t`` whose H0 crossing probability is ``target``."""
    if target <= 1e-300:
        return float("inf")

    def excess(c: float) -> float:
        crossing = max(sum(_crossing(state, t, c, sided, 0.0)), 1e-300)
        return float(np.log(crossing) - np.log(target))

    return float(optimize.brentq(excess, 0.0, 20.0, xtol=1e-12))


def _advance(state: _State, t: float, bound: float, sided: int, drift: float) -> _State:
    """Sub-density of ``Z_k`` on its continuation region ``(-c, c)`` or ``(-inf, c)``."""
    means, sd = _conditional(state, t, drift)
    centre = drift * np.sqrt(t)
    low = centre - _TAIL_SD if sided == 1 else max(-bound, centre - _TAIL_SD)
    high = min(bound, centre + _TAIL_SD)
    if not high > low:
        return _State(t, np.zeros(1), np.zeros(1))
    grid = np.linspace(low, high, _GRID_POINTS)
    weights = np.ones(_GRID_POINTS)
    weights[1:-1:2], weights[2:-1:2] = 4.0, 2.0
    weights *= (grid[1] - grid[0]) / 3.0
    kernel = stats.norm.pdf((grid[:, None] - means[None, :]) / sd) / sd
    return _State(t, grid, weights * (kernel @ state.mass))


def _check_fractions(fractions: tuple[float, ...] | np.ndarray, final: bool = True) -> None:
    """Fractions must be strictly increasing in (0, 1] (and end at 1 when ``final``)."""
    t = np.asarray(fractions, dtype=np.float64)
    if t.ndim != 1 or t.size == 0 or np.any(t <= 0) or np.any(np.diff(t) <= 0) \
            or t[-1] > 1.0 + 1e-12 or (final and not np.isclose(t[-1], 1.0)):
        raise ValueError(f"fractions must be strictly increasing in (0, 1]"
                         f"{' and end at 1' if final else ''}, got {tuple(t.tolist())}")


def _check_design(alpha: float, sided: int) -> None:
    """Alpha in (0, 0.5) and sided in (1, 2)."""
    if not 0.0 < alpha < 0.5:
        raise ValueError(f"alpha must be in (0, 0.5), got {alpha}")
    if sided not in SIDES:
        raise ValueError(f"sided must be one of {SIDES}, got {sided}")
