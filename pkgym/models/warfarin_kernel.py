# lines: the day constants and their caches sit beside the compiled day that reads them
"""Day-by-day warfarin course of N patients: exact where linear, Gauss quadrature where not.

A day starts with the morning dose. S-warfarin PK is linear, so its 24-h propagator and the
concentrations at fixed times within the day are matrix exponentials computed once per
patient (:func:`day_constants`). The transit chains are linear too, driven by the nonlinear
input ``ktr (1 - E(C(t)))``; over one day (Delta = 24 h) chain compartment l (0-based) is::

    A_l(D) = sum_(m<=l) p_(l-m) A_m(0) + (1 - sum_(j<=l) p_j) - int_0^D k g_l(D-s) E(s) ds
    p_j = exp(-k D) (k D)^j / j!,   g_l(t) = exp(-k t) (k t)^l / l!

(the Erlang form of an equal-rate chain), exact except the drug-effect integral, which a
composite Gauss-Legendre rule on panels graded towards the dose (``DayQuadrature``)
evaluates. The compiled step therefore costs one power per quadrature node and is tested
against ``solve_ivp`` at tight tolerance.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, NamedTuple

import numba
import numpy as np
from scipy.linalg import expm

from pkgym.models.warfarin import S_FRACTION, WarfarinParameters
from pkgym.models.warfarin_inr import InrStructure
from pkgym.units import HOURS_PER_DAY

MAX_CHAIN = 6
"""Longest transit chain a model may have (Hamberg 2007's first chain)."""
PK_STATES = 3
"""Depot, central and peripheral S-warfarin amounts, mg (peripheral unused by 1-cmt models)."""


@functools.lru_cache(maxsize=16)
def _gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [-1, 1] (cached: envs build constants at reset)."""
    return np.polynomial.legendre.leggauss(n)


@dataclass(frozen=True, slots=True)
class DayQuadrature:
    """The composite Gauss-Legendre rule over one day (the solver setting of the PD integral).

    Attributes:
        breakpoints_h: panel edges from 0 to 24 h, graded towards the dose at 0 where the
            absorption makes the effect change fastest.
        nodes_per_panel: Gauss-Legendre nodes in each panel.
    """

    breakpoints_h: tuple[float, ...] = (0.0, 0.25, 1.0, 3.0, 6.0, 12.0, 18.0, 24.0)
    nodes_per_panel: int = 5

    def __post_init__(self) -> None:
        """Edges must rise strictly from 0 to 24 h; at least one node per panel."""
        edges = np.asarray(self.breakpoints_h)
        if (edges.size < 2 or edges[0] != 0.0 or edges[-1] != HOURS_PER_DAY
                or np.any(np.diff(edges) <= 0)):
            raise ValueError(f"breakpoints_h must rise strictly from 0 to 24, got "
                             f"{self.breakpoints_h}")
        if not 1 <= self.nodes_per_panel <= 50:
            raise ValueError(f"nodes_per_panel must be in 1..50, got {self.nodes_per_panel}")

    def nodes_and_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Node times (h) and weights (h), each shape (n_panels * nodes_per_panel,).

        Examples:
            >>> s, w = DayQuadrature().nodes_and_weights()
            >>> s.shape, round(float(w.sum()), 12)
            ((35,), 24.0)
        """
        x, w = _gauss_legendre(self.nodes_per_panel)
        edges = np.asarray(self.breakpoints_h)
        low, high = edges[:-1, None], edges[1:, None]
        nodes = (low + high) / 2 + (high - low) / 2 * x[None, :]
        weights = (high - low) / 2 * w[None, :]
        return nodes.ravel(), weights.ravel()


_DEFAULT_QUADRATURE = DayQuadrature()


@functools.lru_cache(maxsize=16)
def _quadrature_rule(quadrature: DayQuadrature) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nodes (h), weights (h) and the propagator times (nodes, then 24 h), read-only, cached."""
    nodes, weights = quadrature.nodes_and_weights()
    parts = (nodes, weights, np.append(nodes, HOURS_PER_DAY))
    for part in parts:
        part.setflags(write=False)
    return parts


class DayConstants(NamedTuple):
    """Per-patient constants of one day, fixed for an episode (all arrays lead with n).

    A named tuple: the compiled day step takes it whole.

    Attributes:
        pk_step: 24-h propagator of the PK amounts.  # (n, 3, 3)
        pk_nodes: concentration (mg/L) at each node per mg in each PK state at the dose.
            # (n, Q, 3)
        inverse_volume_per_l: 1 / V1, to read the concentration.  # (n,)
        chain_decay: p_j of each chain.  # (n, 2, MAX_CHAIN)
        chain_fill: 1 - sum_(j<=l) p_j of each chain.  # (n, 2, MAX_CHAIN)
        chain_weights: quadrature weights of the effect integral.  # (n, 2, MAX_CHAIN, Q)
        ec50_power: EC50^gamma.  # (n,)
        hill: gamma.  # (n,)
        chain_lengths: compartments of each chain.  # (2,)

    The three ``chain_*`` arrays may lead with 1 instead of n: one set shared by every
    patient (equal MTTs), which the compiled day reads for each.
    """

    pk_step: np.ndarray
    pk_nodes: np.ndarray
    inverse_volume_per_l: np.ndarray
    chain_decay: np.ndarray
    chain_fill: np.ndarray
    chain_weights: np.ndarray
    ec50_power: np.ndarray
    hill: np.ndarray
    chain_lengths: np.ndarray


def pk_matrix(params: WarfarinParameters, absorption_rate_per_h: float) -> np.ndarray:
    """The linear PK system ``dx/dt = M x`` of (depot, central, peripheral) amounts, (n, 3, 3).

    Examples:
        >>> from pkgym.models.warfarin import Hamberg2010
        >>> p = Hamberg2010().parameters(np.array([0]), np.array([0]), np.array([71.0]))
        >>> pk_matrix(p, 2.0)[0].round(4).tolist()[:2]
        [[-2.0, 0.0, 0.0], [2.0, -0.0243, 0.0]]
    """
    n = params.n_patients
    v1, v2 = params.central_volume_l, params.peripheral_volume_l
    q = params.intercompartmental_clearance_l_per_h
    k12 = q / v1
    k21 = np.where(v2 > 0, q / np.where(v2 > 0, v2, 1.0), 0.0)
    matrix = np.zeros((n, PK_STATES, PK_STATES))
    matrix[:, 0, 0] = -absorption_rate_per_h
    matrix[:, 1, 0] = absorption_rate_per_h
    matrix[:, 1, 1] = -(params.clearance_l_per_h / v1 + k12)
    matrix[:, 1, 2] = k21
    matrix[:, 2, 1] = k12
    matrix[:, 2, 2] = -k21
    return matrix


def propagate(matrix: np.ndarray, times_h: np.ndarray) -> np.ndarray:
    """``expm(M t)`` for each patient's matrix (n, 3, 3) and each time, shape (n, T, 3, 3).

    By eigendecomposition (the eigenvalues of a mammillary PK system are real); rows whose
    eigenvectors are nearly dependent (ka equal to a disposition rate) use ``scipy`` expm.

    Examples:
        >>> m = np.array([[[-2.0, 0, 0], [2.0, -0.1, 0], [0, 0, 0]]])
        >>> bool(np.allclose(propagate(m, np.array([5.0]))[0, 0], expm(m[0] * 5.0)))
        True
    """
    vectors, growth, inverse, well_posed = _modes(matrix, times_h)
    out = np.empty((matrix.shape[0], times_h.shape[0], 3, 3))
    _modal_products(vectors, growth, inverse, out)
    for row in np.flatnonzero(~well_posed):
        out[row] = expm(matrix[row][None] * times_h[:, None, None])
    return out


def _modes(matrix: np.ndarray, times_h: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Eigenvectors, growth, inverse eigenvectors and well-posedness of each PK matrix.

    Eigenvectors contiguous; growth ``exp(lambda t)`` (n, T, 3); the inverse is the identity
    where a row is ill-posed (eigenvector condition number >= 1e8). The condition number is
    an SVD per matrix; most rows are far from the limit, which ``||V||_F ||V^-1||_F >=
    cond_2(V)`` proves without one (a factor 2 of margin), so only the others get the SVD.
    Where V is exactly singular, every row takes the plain path.
    """
    values, vectors = np.linalg.eig(matrix)
    values, vectors = values.real, np.ascontiguousarray(vectors.real)
    try:
        inverse = np.linalg.inv(vectors)
    except np.linalg.LinAlgError:
        inverse = None
    if inverse is None:
        well_posed = np.linalg.cond(vectors) < 1e8
    else:
        bound = np.sqrt((vectors ** 2).sum(axis=(1, 2)) * (inverse ** 2).sum(axis=(1, 2)))
        well_posed = bound < 5e7
        unsure = np.flatnonzero(~well_posed)
        if unsure.size:
            well_posed[unsure] = np.linalg.cond(vectors[unsure]) < 1e8
    if inverse is None or not well_posed.all():
        inverse = np.linalg.inv(np.where(well_posed[:, None, None], vectors, np.eye(3)))
    growth = np.exp(values[:, None, :] * times_h[None, :, None])  # (n, T, 3)
    return vectors, growth, inverse, well_posed


@numba.njit(cache=True, nogil=True)
def _modal_products(vectors: np.ndarray, growth: np.ndarray, inverse: np.ndarray,
                    out: np.ndarray) -> None:  # pragma: no cover - compiled
    """``out[n, t] = vectors[n] @ diag(growth[n, t]) @ inverse[n]``, in place.

    ``np.einsum("nij,ntj,njk->ntik", ...)`` term by term: each sum runs over j in order of
    ``(v_ij g_j) w_jk`` products (no fastmath), so it gives einsum's bits, an order of
    magnitude faster (tested).
    """
    for p in range(vectors.shape[0]):
        for t in range(growth.shape[1]):
            for i in range(3):
                for k in range(3):
                    total = 0.0
                    for j in range(3):
                        total += vectors[p, i, j] * growth[p, t, j] * inverse[p, j, k]
                    out[p, t, i, k] = total


def _day_propagators(matrix: np.ndarray, times_h: np.ndarray, inverse_volume: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The 24-h propagator (n, 3, 3) and the node concentrations per mg (n, Q, 3).

    ``propagate(matrix, times_h)`` (nodes, then 24 h) gives the same numbers; only the
    entries the day reads are computed: the central row at the nodes (times ``1 / V1``,
    as ``propagate(...)[:, :-1, 1, :] * inverse_volume[:, None, None]`` does) and the
    whole matrix at 24 h.
    """
    vectors, growth, inverse, well_posed = _modes(matrix, times_h)
    n, n_nodes = matrix.shape[0], times_h.shape[0] - 1
    pk_step, pk_nodes = np.empty((n, 3, 3)), np.empty((n, n_nodes, 3))
    _day_products(vectors, growth, inverse, inverse_volume, pk_step, pk_nodes)
    for row in np.flatnonzero(~well_posed):
        exact = expm(matrix[row][None] * times_h[:, None, None])
        pk_step[row], pk_nodes[row] = exact[-1], exact[:-1, 1, :] * inverse_volume[row]
    return pk_step, pk_nodes


@numba.njit(cache=True, nogil=True)
def _day_products(vectors: np.ndarray, growth: np.ndarray, inverse: np.ndarray,
                  inverse_volume: np.ndarray, pk_step: np.ndarray,
                  pk_nodes: np.ndarray) -> None:  # pragma: no cover - compiled
    """The entries of :func:`_modal_products` that :func:`_day_propagators` keeps, in place.

    Each entry is summed exactly as there (j in order, ``(v_ij g_j) w_jk``, no fastmath);
    node entries are then multiplied by ``1 / V1``.
    """
    last = growth.shape[1] - 1
    for p in range(vectors.shape[0]):
        for t in range(last):
            for k in range(3):
                total = 0.0
                for j in range(3):
                    total += vectors[p, 1, j] * growth[p, t, j] * inverse[p, j, k]
                pk_nodes[p, t, k] = total * inverse_volume[p]
        for i in range(3):
            for k in range(3):
                total = 0.0
                for j in range(3):
                    total += vectors[p, i, j] * growth[p, last, j] * inverse[p, j, k]
                pk_step[p, i, k] = total


def day_constants(params: WarfarinParameters, structure: InrStructure,
                  quadrature: DayQuadrature | None = None, *,
                  shared_views: bool = False) -> DayConstants:
    """Constants of the compiled day step for n patients (see the module docstring).

    ``shared_views=True``: chain constants that every patient shares (equal MTTs) come
    once, with a leading axis of 1 (read-only): the compiled day reads such arrays for every
    patient, so a caller may keep one copy instead of n (its own, writable).

    Examples:
        >>> from pkgym.models.warfarin import Hamberg2010
        >>> model = Hamberg2010()
        >>> p = model.parameters(np.array([0]), np.array([0]), np.array([71.0]))
        >>> c = day_constants(p, model.structure)
        >>> c.pk_nodes.shape, c.chain_weights.shape
        ((1, 35, 3), (1, 2, 6, 35))
    """
    quadrature = quadrature or _DEFAULT_QUADRATURE
    nodes, weights, times = _quadrature_rule(quadrature)
    matrix = pk_matrix(params, structure.absorption_rate_per_h)
    inverse_volume = 1.0 / params.central_volume_l
    pk_step, pk_nodes = _day_propagators(matrix, times, inverse_volume)
    lengths = np.array(structure.chain_lengths, dtype=np.int64)
    if np.any(lengths < 1) or np.any(lengths > MAX_CHAIN):
        raise ValueError(f"chain_lengths must be in 1..{MAX_CHAIN}, got {structure.chain_lengths}")
    decay, fill, chain_weights = _chain_constants(params, lengths, nodes, weights, quadrature,
                                                  shared_views)
    return DayConstants(pk_step, pk_nodes, inverse_volume, decay, fill,
                        chain_weights, params.ec50_mg_per_l ** params.hill, params.hill.copy(),
                        lengths)


def _chain_constants(params: WarfarinParameters, lengths: np.ndarray, nodes: np.ndarray,
                     weights: np.ndarray, quadrature: DayQuadrature | None = None,
                     shared_views: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Erlang decay terms, fill terms and effect weights of both chains (module docstring).

    They depend on the MTTs alone: when every patient has the same (Hamberg 2010 has no IIV
    on them), one patient's are computed (once per MTTs and ``quadrature``, whose ``nodes``
    and ``weights`` these are) and repeated (or given once, ``shared_views``): elementwise
    arithmetic, so the same values.
    """
    n = params.n_patients
    mtt1, mtt2 = params.mtt1_h, params.mtt2_h
    if quadrature is not None and np.all(mtt1 == mtt1[0]) and np.all(mtt2 == mtt2[0]):
        first = _shared_chain_constants(float(mtt1[0]), float(mtt2[0]),
                                        tuple(lengths.tolist()), quadrature)
        if shared_views:
            return first  # type: ignore[return-value]
        return tuple(np.repeat(part, n, axis=0) for part in first)  # type: ignore[return-value]
    return _chain_terms(mtt1, mtt2, lengths, nodes, weights)


@functools.lru_cache(maxsize=64)
def _shared_chain_constants(mtt1_h: float, mtt2_h: float, lengths: tuple[int, ...],
                            quadrature: DayQuadrature) -> tuple[np.ndarray, ...]:
    """One patient's chain constants (read-only) for these MTTs, h (cached)."""
    nodes, weights, _ = _quadrature_rule(quadrature)
    parts = _chain_terms(np.array([mtt1_h]), np.array([mtt2_h]), np.array(lengths), nodes,
                         weights)
    for part in parts:
        part.setflags(write=False)
    return parts


def _chain_terms(mtt1_h: np.ndarray, mtt2_h: np.ndarray, lengths: np.ndarray,
                 nodes: np.ndarray, weights: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_chain_constants` computed patient by patient (MTTs (n,), h)."""
    n = mtt1_h.shape[0]
    decay = np.zeros((n, 2, MAX_CHAIN))
    chain_weights = np.zeros((n, 2, MAX_CHAIN, nodes.size))
    factorials = np.cumprod(np.r_[1.0, np.arange(1.0, MAX_CHAIN)])
    powers = np.arange(MAX_CHAIN)
    for chain, mtt in enumerate((mtt1_h, mtt2_h)):
        rate = lengths[chain] / mtt  # (n,)
        day = rate * HOURS_PER_DAY
        decay[:, chain] = np.exp(-day)[:, None] * day[:, None] ** powers / factorials
        lag = rate[:, None] * (HOURS_PER_DAY - nodes)[None, :]  # (n, Q)
        kernel = np.exp(-lag)[:, None, :] * lag[:, None, :] ** powers[None, :, None] \
            / factorials[None, :, None]
        chain_weights[:, chain] = rate[:, None, None] * weights[None, None, :] * kernel
    fill = 1.0 - np.cumsum(decay, axis=2)
    return decay, fill, chain_weights


def initial_state(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Drug-naive state: no warfarin, every chain compartment at 1.

    Examples:
        >>> pk, chains = initial_state(2)
        >>> pk.shape, chains.shape, float(chains.min())
        ((2, 3), (2, 2, 6), 1.0)
    """
    return np.zeros((n, PK_STATES)), np.ones((n, 2, MAX_CHAIN))


def chain_ends(chains: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Amounts in the last compartment of each chain, shape (n, 2).

    Examples:
        >>> chain_ends(np.ones((1, 2, 6)), np.array([3, 3])).tolist()
        [[1.0, 1.0]]
    """
    return np.stack([chains[:, 0, lengths[0] - 1], chains[:, 1, lengths[1] - 1]], axis=1)


@numba.njit(cache=True, nogil=True, fastmath=True)
def _effects(pk_nodes: np.ndarray, p: int, ec50_power: float, hill: float, dosed: np.ndarray,
             effects: np.ndarray) -> None:  # pragma: no cover - compiled
    """Emax effect E = C^g / (EC50^g + C^g) at each node of patient p's day.

    Arrays are indexed, not sliced: a view per patient costs an atomic reference count on
    its parent, which numba's threads contend for when they share it.
    """
    for i in range(effects.shape[0]):
        c = 0.0
        for j in range(dosed.shape[0]):
            c += pk_nodes[p, i, j] * dosed[j]
        if c > 0.0:
            power = np.exp(hill * np.log(c))
            effects[i] = power / (ec50_power + power)
        else:
            effects[i] = 0.0


@numba.njit(cache=True, nogil=True, fastmath=True)
def _advance_chain(chains: np.ndarray, p: int, chain: int, length: int, decay: np.ndarray,
                   fill: np.ndarray, weights: np.ndarray, q: int,
                   effects: np.ndarray) -> None:  # pragma: no cover
    """One day of patient p's transit chain, in place (module docstring; constants' row q)."""
    for l in range(length - 1, -1, -1):  # noqa: E741 - downwards: chain[m < l] still old
        value = fill[q, chain, l]
        for m in range(l + 1):
            value += decay[q, chain, l - m] * chains[p, chain, m]
        for i in range(effects.shape[0]):
            value -= weights[q, chain, l, i] * effects[i]
        chains[p, chain, l] = value


@numba.njit(cache=True, nogil=True, fastmath=True)
def advance_rows(first: int, last: int, rows: np.ndarray, s_doses_mg: np.ndarray,
                  pk: np.ndarray, chains: np.ndarray, constants: tuple,
                  concentrations: np.ndarray) -> None:  # pragma: no cover - compiled
    """:func:`advance_days` for ``rows[first:last]``; ``s_doses_mg`` is S-warfarin, mg.

    ``constants`` is a :class:`DayConstants` as a plain tuple (numba types a plain tuple
    faster than a named one: a tenth of a single-patient env step).
    """
    c = DayConstants(*constants)
    pk_nodes, pk_step, decay, fill, weights = (c.pk_nodes, c.pk_step, c.chain_decay,
                                               c.chain_fill, c.chain_weights)
    effects = np.empty(pk_nodes.shape[1])
    dosed = np.empty(PK_STATES)
    shared = weights.shape[0] == 1  # one set of chain constants for every patient
    for k in range(first, last):
        p = rows[k]
        q = 0 if shared else p
        for d in range(s_doses_mg.shape[1]):
            for j in range(PK_STATES):
                dosed[j] = pk[p, j]
            dosed[0] += s_doses_mg[k, d]
            _effects(pk_nodes, p, c.ec50_power[p], c.hill[p], dosed, effects)
            for chain in range(2):
                _advance_chain(chains, p, chain, c.chain_lengths[chain], decay, fill, weights, q,
                               effects)
            for i in range(PK_STATES):
                value = 0.0
                for j in range(PK_STATES):
                    value += pk_step[p, i, j] * dosed[j]
                pk[p, i] = value
            concentrations[k, d] = pk[p, 1] * c.inverse_volume_per_l[p]


@numba.njit(cache=True, nogil=True, parallel=True)
def _advance_parallel(rows: np.ndarray, s_doses_mg: np.ndarray, pk: np.ndarray,
                      chains: np.ndarray, constants: tuple, concentrations: np.ndarray,
                      n_chunks: int) -> None:  # pragma: no cover - compiled
    """:func:`advance_rows` over ``n_chunks`` chunks of rows, run in parallel."""
    size = (rows.shape[0] + n_chunks - 1) // n_chunks
    for chunk in numba.prange(n_chunks):
        first = chunk * size
        last = min(first + size, rows.shape[0])
        if first < last:
            advance_rows(first, last, rows, s_doses_mg, pk, chains, constants, concentrations)


PARALLEL_FROM = 2048
"""Batches of at least this many patients are split across numba's threads."""


def advance_days(rows: np.ndarray, doses_mg: np.ndarray, pk: np.ndarray, chains: np.ndarray,
                 constants: DayConstants, concentrations: np.ndarray) -> None:
    """Give ``doses_mg[k, d]`` (racemic, mg) on day d to patient ``rows[k]``, in place.

    ``pk`` (n, 3) and ``chains`` (n, 2, MAX_CHAIN) are advanced day by day for the listed
    rows; ``concentrations[k, d]`` receives the S-warfarin concentration (mg/L) at the end
    of day d. Large batches run on all of numba's threads.
    """
    kernel: Any = advance_rows
    s_doses = S_FRACTION * doses_mg  # a Python-side constant: compiled code never caches it
    if rows.shape[0] >= PARALLEL_FROM and numba.get_num_threads() > 1:
        kernel = _advance_parallel
        kernel(rows, s_doses, pk, chains, tuple(constants), concentrations,
               numba.get_num_threads())
    else:
        kernel(0, rows.shape[0], rows, s_doses, pk, chains, tuple(constants), concentrations)


def run_days(constants: DayConstants, structure: InrStructure, pk: np.ndarray,
             chains: np.ndarray, doses_mg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Advance ``pk`` and ``chains`` (in place) through daily doses (m, n_days).

    Returns the true INR and S-warfarin (mg/L) at the end of each day, each (m, n_days).

    Examples:
        >>> from pkgym.models.warfarin import Hamberg2010
        >>> model = Hamberg2010()
        >>> c = day_constants(model.parameters(np.array([0]), np.array([0]), np.array([60.0])),
        ...                   model.structure)
        >>> pk, chains = initial_state(1)
        >>> inr, _ = run_days(c, model.structure, pk, chains, np.zeros((1, 3)))
        >>> inr.tolist()
        [[1.0, 1.0, 1.0]]
    """
    m, n_days = doses_mg.shape
    rows = np.arange(m)
    inr, conc = np.empty((m, n_days)), np.empty((m, n_days))
    for d in range(n_days):
        column = np.empty((m, 1))
        advance_days(rows, doses_mg[:, d:d + 1], pk, chains, constants, column)
        conc[:, d] = column[:, 0]
        inr[:, d] = structure.inr(chain_ends(chains, constants.chain_lengths))
    return inr, conc


def repeat_constants(constants: DayConstants, repeats: int) -> DayConstants:
    """Each patient's constants repeated ``repeats`` times in a row (for candidate doses).

    Examples:
        >>> from pkgym.models.warfarin import Hamberg2010
        >>> model = Hamberg2010()
        >>> c = day_constants(model.parameters(np.array([0]), np.array([0]), np.array([60.0])),
        ...                   model.structure)
        >>> repeat_constants(c, 4).pk_step.shape
        (4, 3, 3)
    """
    return constants._replace(**{name: np.repeat(getattr(constants, name), repeats, axis=0)
                                 for name in constants._fields if name != "chain_lengths"})


def simulate_inr(params: WarfarinParameters, structure: InrStructure, doses_mg: np.ndarray,
                 quadrature: DayQuadrature | None = None) -> tuple[np.ndarray, np.ndarray]:
    """True INR and S-warfarin (mg/L) each morning for daily racemic doses, shape (n, days + 1).

    Column 0 is the pre-dose morning; column d + 1 follows day d's dose.

    Examples:
        >>> from pkgym.models.warfarin import Hamberg2010
        >>> model = Hamberg2010()
        >>> p = model.parameters(np.array([0]), np.array([0]), np.array([60.0]))
        >>> inr, conc = simulate_inr(p, model.structure, np.full((1, 14), 5.0))
        >>> float(inr[0, 0]), 1.3 < float(inr[0, -1]) < 3.0
        (1.0, True)
    """
    doses = np.asarray(doses_mg, dtype=np.float64)
    n = params.n_patients
    if doses.ndim != 2 or doses.shape[0] != n or not np.all(np.isfinite(doses)) \
            or np.any(doses < 0):
        raise ValueError(f"doses_mg must be finite, >= 0, shape ({n}, n_days), got {doses.shape}")
    constants = day_constants(params, structure, quadrature)
    pk, chains = initial_state(n)
    start = structure.inr(chain_ends(chains, constants.chain_lengths))
    inr, conc = run_days(constants, structure, pk, chains, doses)
    return np.column_stack([start, inr]), np.column_stack([np.zeros(n), conc])
