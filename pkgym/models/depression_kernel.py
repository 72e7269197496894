"""Compiled PRT sessions on hashed uniforms: the hot loop of ``pkgym/Depression-v0``.

:func:`hashed_sessions` gives exactly the counts of ``depression._session`` on
``depression.session_uniforms`` (tested), faster in two ways that change no result:

* subjects run in blocks of :data:`SESSION_BLOCK`, trial by trial: the three SplitMix64
  hashes of a trial are computed for the whole block in one loop (independent chains, which
  the compiler vectorizes), then each subject's trial logic, in the same float operations
  and order as ``_session``;
* the answer ``a = 0 if u < 1 / (1 + exp(-x)) else 1`` is decided without ``exp`` where a
  table settles it: ``SIGMOID_TABLE[k]`` holds that very expression at the grid point
  ``x_k = -SIGMOID_SPAN + k / SIGMOID_STEPS``. The true sigmoid rises, so for ``x`` in
  ``[x_k, x_{k+1}]`` the computed value lies within a few ulp (libm ``exp`` is within
  1 ulp; an index rounded across a grid point moves ``x`` by < 1e-14) of
  ``[table[k], table[k+1]]``; ``u < table[k] - SIGMOID_MARGIN`` (1e-12) therefore gives
  ``a = 0`` and ``u >= table[k + 1] + SIGMOID_MARGIN`` gives ``a = 1`` exactly as the
  computed expression would. Only the rest (about 1 trial in 200) and any ``x`` off the
  table (or NaN) evaluate ``1 / (1 + exp(-x))``, with libm's ``exp`` as before.
"""

from __future__ import annotations

import numba
import numpy as np

SESSION_BLOCK = 64
"""Subjects whose sessions run together, trial by trial (independent chains overlap)."""
SIGMOID_SPAN, SIGMOID_STEPS, SIGMOID_MARGIN = 16.0, 32.0, 1e-12
"""The sigmoid table's grid (-16..16 in steps of 1/32) and its safety margin."""


@numba.njit(cache=True, nogil=True)
def splitmix64(x: np.uint64) -> np.uint64:
    """SplitMix64's output function of ``x`` + the golden gamma (Steele et al. 2014)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@numba.njit(cache=True, nogil=True)
def _sigmoid_table() -> np.ndarray:
    size = int(2.0 * SIGMOID_SPAN * SIGMOID_STEPS) + 1
    table = np.empty(size)
    for k in range(size):
        x = -SIGMOID_SPAN + k / SIGMOID_STEPS
        table[k] = 1.0 / (1.0 + np.exp(-x))
    return table


SIGMOID_TABLE = _sigmoid_table()
"""``1 / (1 + exp(-x))`` at the grid points, computed as the sessions compute it."""


@numba.njit(cache=True, nogil=True)
def _hash_trial(states: np.ndarray, u: np.ndarray) -> None:
    """Advance every chain of a block by one trial: stimulus, answer, reward uniforms."""
    scale = 1.0 / 9007199254740992.0
    for b in range(states.shape[0]):
        state = splitmix64(states[b])
        u[0, b] = float(np.int64(state >> np.uint64(11))) * scale  # < 2^53: exact
        state = splitmix64(state)
        u[1, b] = float(np.int64(state >> np.uint64(11))) * scale
        state = splitmix64(state)
        u[2, b] = float(np.int64(state >> np.uint64(11))) * scale
        states[b] = state


@numba.njit(cache=True, nogil=True)
def _answer(x: float, u: float, table: np.ndarray) -> np.int64:
    """``0 if u < 1 / (1 + exp(-x)) else 1``, from the table where it settles it."""
    pos = (x + SIGMOID_SPAN) * SIGMOID_STEPS
    if pos >= 0.0 and pos < table.shape[0] - 1:
        k = np.int64(pos)
        above = np.int64(u >= table[k] - SIGMOID_MARGIN)
        if (above & np.int64(u < table[k + 1] + SIGMOID_MARGIN)) == 0:
            return above
    return np.int64(not u < 1.0 / (1.0 + np.exp(-x)))


@numba.njit(cache=True, nogil=True)
def _block(first: int, seeds: np.ndarray, rho: np.ndarray, epsilon: np.ndarray,
           gamma: np.ndarray, task: tuple, table: np.ndarray, counts: np.ndarray) -> None:
    """Sessions of subjects ``first..first + SESSION_BLOCK - 1`` (``_session``'s arithmetic)."""
    q0, p_rich, p_lean, n_trials = task
    m = min(SESSION_BLOCK, seeds.shape[0] - first)
    states = seeds[first:first + m].copy()
    g, e, r_ = gamma[first:first + m], epsilon[first:first + m], rho[first:first + m]
    q = np.full((4, m), q0)  # rows: Q(rich, rich), Q(rich, lean), Q(lean, rich), Q(lean, lean)
    u = np.empty((3, m))
    tally = np.zeros((4, m), np.int64)
    for _ in range(n_trials):
        _hash_trial(states, u)
        for b in range(m):
            s = np.int64(u[0, b] >= 0.5)
            advantage = g[b] * (1.0 - 2.0 * s) + q[2 * s, b] - q[2 * s + 1, b]  # 1 - 2s: +-1
            a = _answer(advantage, u[1, b], table)
            correct = np.int64(a == s)
            p = (p_lean * s + p_rich * (1 - s)) * correct  # exactly p_rich, p_lean or 0
            r = np.float64(u[2, b] < p)
            j = 2 * s + a
            q[j, b] += e[b] * (r_[b] * r - q[j, b])
            tally[2 * s + 1 - correct, b] += 1
    for b in range(m):
        for c in range(4):
            counts[first + b, c] = float(tally[c, b])


@numba.njit(cache=True, nogil=True)
def _serial(seeds: np.ndarray, rho: np.ndarray, epsilon: np.ndarray, gamma: np.ndarray,
            task: tuple, table: np.ndarray) -> np.ndarray:
    counts = np.zeros((seeds.shape[0], 4))
    for block in range((seeds.shape[0] + SESSION_BLOCK - 1) // SESSION_BLOCK):
        _block(block * SESSION_BLOCK, seeds, rho, epsilon, gamma, task, table, counts)
    return counts


@numba.njit(cache=True, nogil=True, parallel=True)
def _parallel(seeds: np.ndarray, rho: np.ndarray, epsilon: np.ndarray, gamma: np.ndarray,
              task: tuple, table: np.ndarray) -> np.ndarray:
    counts = np.zeros((seeds.shape[0], 4))
    for block in numba.prange((seeds.shape[0] + SESSION_BLOCK - 1) // SESSION_BLOCK):
        _block(block * SESSION_BLOCK, seeds, rho, epsilon, gamma, task, table, counts)
    return counts


def hashed_sessions(seeds: np.ndarray, rho: np.ndarray, epsilon: np.ndarray,
                    gamma: np.ndarray, task: tuple, parallel: bool) -> np.ndarray:
    """Answer counts (n, 4) of one hashed PRT session per subject (checked inputs).

    Args:
        seeds: session seeds. # (n,) uint64
        rho: reward sensitivity, contiguous float64. # (n,)
        epsilon: learning rate, contiguous float64. # (n,)
        gamma: instruction sensitivity, contiguous float64. # (n,)
        task: ``(initial_q, p_reward_rich, p_reward_lean, n_trials)``.
        parallel: run the blocks on numba's threads.

    Examples:
        >>> one = np.ones(2), np.full(2, 0.1), np.full(2, 1.5)
        >>> hashed_sessions(np.array([3, 4], np.uint64), *one, (0.0, 0.75, 0.3, 300),
        ...                 False).sum(axis=1).tolist()
        [300.0, 300.0]
    """
    kernel = _parallel if parallel else _serial
    return kernel(seeds, rho, epsilon, gamma, task, SIGMOID_TABLE)
