"""Compiled PRT sessions on hashed uniforms: the hot loop of ``pkgym/Depression-v0``.

:func:`hashed_sessions` gives exactly the counts of ``depression._session`` on
``depression.session_uniforms`` (tested), faster in two ways that change no result:

* subjects run in blocks of :data:`SESSION_BLOCK`, trial by trial, each step of a trial
  one loop over the block: the three SplitMix64 hashes, the advantage, the answer, the
  reward and Q update. Subjects are independent and the loops branch-free (LLVM
  ``select``), so the compiler vectorizes them; every subject's float operations are
  ``_session``'s, in its order;
* the answer ``a = 0 if u < 1 / (1 + exp(-x)) else 1`` is settled without libm's ``exp``
  where a cheap estimate settles it. :func:`_sigmoid_estimate` (``exp`` by range reduction
  to ``|r| <= ln 2 / 2`` and a degree-7 Taylor polynomial: relative error < 1e-8, so the
  sigmoid within 3e-9; tested against the computed expression on a dense grid) differs
  from the computed ``1 / (1 + exp(-x))`` (libm ``exp`` within 1 ulp) by far less than
  ``SIGMOID_MARGIN`` (1e-7): ``u < estimate - SIGMOID_MARGIN`` gives ``a = 0`` and
  ``u >= estimate + SIGMOID_MARGIN`` gives ``a = 1``, exactly as the expression would.
  Only the rest (a few trials in 10^7), ``|x| > SIGMOID_SPAN`` and NaN evaluate
  ``1 / (1 + exp(-x))`` with libm's ``exp``, as before.

Float division here follows numpy's error model (no ZeroDivisionError branch, which would
stop vectorization); no divisor here can be zero.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.core.extending import intrinsic

SESSION_BLOCK = 256
"""Subjects whose sessions run together, trial by trial (independent chains overlap)."""
SIGMOID_SPAN, SIGMOID_MARGIN = 16.0, 1e-7
"""Advantages up to this size get the estimate; the estimate's safety margin."""
_LN2, _INV_LN2 = 0.6931471805599453, 1.4426950408889634


@numba.njit(cache=True, nogil=True)
def splitmix64(x: np.uint64) -> np.uint64:
    """SplitMix64's output function of ``x`` + the golden gamma (Steele et al. 2014)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _typed_select(typingctx: Any, condition: Any, if_true: Any, if_false: Any) -> Any:
    """``if_true if condition else if_false`` as one LLVM ``select`` (no branch to vectorize)."""
    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.select(args[0], args[1], args[2])
    return if_true(condition, if_true, if_false), codegen


def _typed_as_float(typingctx: Any, bits: Any) -> Any:
    """The float64 whose bits are the int64 ``bits``."""
    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], context.get_value_type(types.float64))
    return types.float64(types.int64), codegen


_select: Any = intrinsic(_typed_select)
_as_float: Any = intrinsic(_typed_as_float)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _sigmoid_estimate(x: float) -> float:
    """``1 / (1 + exp(-x))`` within 3e-9 for ``|x| <= SIGMOID_SPAN``, branch-free.

    ``exp(-x) = 2^n exp(r)`` with ``n = round(-x / ln 2)``, ``|r| <= 0.35``, and ``exp(r)``
    by its Taylor polynomial of degree 7 (remainder < 0.35^8 / 8! e^0.35 < 8e-9, relative).
    """
    y = -x
    n = np.int64(y * _INV_LN2 + 1024.5) - 1024  # floor of a positive number: round(y / ln 2)
    r = y - n * _LN2
    poly = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (
        1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))))
    return 1.0 / (1.0 + poly * _as_float((n + 1023) << 52))


HASH_LANES = 8
"""Chains :func:`_hash_lanes` advances together, as one vector of 64-bit integers."""
_GOLDEN, _MIX1, _MIX2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def _lanes(builder: Any, value: int, bits: int = 64) -> Any:
    """``value`` in every lane of an LLVM vector of :data:`HASH_LANES` integers."""
    kind = ir.IntType(bits)
    return ir.Constant(ir.VectorType(kind, HASH_LANES), [ir.Constant(kind, value)] * HASH_LANES)


def _splitmix_lanes(builder: Any, x: Any) -> Any:
    """:func:`splitmix64` of every lane (the same wrapping integer operations)."""
    x = builder.add(x, _lanes(builder, _GOLDEN))
    x = builder.mul(builder.xor(x, builder.lshr(x, _lanes(builder, 30))), _lanes(builder, _MIX1))
    x = builder.mul(builder.xor(x, builder.lshr(x, _lanes(builder, 27))), _lanes(builder, _MIX2))
    return builder.xor(x, builder.lshr(x, _lanes(builder, 31)))


def _typed_hash_lanes(typingctx: Any, states: Any, u: Any, start: Any) -> Any:
    """:func:`_hash_trial` of chains ``start .. start + HASH_LANES - 1`` as vector operations.

    LLVM's loop vectorizer picks 256-bit registers on this CPU family; an explicit vector
    of eight 64-bit lanes uses the 512-bit ones where the CPU has them (it splits where it
    has not). Per lane: the same integer operations, ``sitofp`` and multiply as the loop.
    """
    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        chains = context.make_array(signature.args[0])(context, builder, args[0])
        out = context.make_array(signature.args[1])(context, builder, args[1])
        first = args[2]
        doubles = ir.VectorType(ir.DoubleType(), HASH_LANES)
        where = builder.bitcast(builder.gep(chains.data, [first]),
                                ir.VectorType(ir.IntType(64), HASH_LANES).as_pointer())
        x = builder.load(where, align=8)
        row = builder.extract_value(out.shape, 1)
        scale = ir.Constant(doubles, [ir.Constant(ir.DoubleType(), 2.0 ** -53)] * HASH_LANES)
        for k in range(3):
            x = _splitmix_lanes(builder, x)
            value = builder.fmul(builder.sitofp(builder.lshr(x, _lanes(builder, 11)), doubles),
                                 scale)
            at = builder.add(builder.mul(row, ir.Constant(ir.IntType(64), k)), first)
            builder.store(value, builder.bitcast(builder.gep(out.data, [at]),
                                                 doubles.as_pointer()), align=8)
        builder.store(x, where, align=8)
        return context.get_dummy_value()
    return types.none(states, u, types.int64), codegen


_hash_lanes: Any = intrinsic(_typed_hash_lanes)


@numba.njit(cache=True, nogil=True)
def _hash_trial(states: np.ndarray, u: np.ndarray) -> None:
    """Advance every chain of a block by one trial: stimulus, answer, reward uniforms.

    ``states`` (C-contiguous uint64) and ``u`` (3, same length, C-contiguous float64) hold a
    whole number of :data:`HASH_LANES` chains (a block pads its last ones).
    """
    for first in range(0, states.shape[0], HASH_LANES):
        _hash_lanes(states, u, first)


@numba.njit(cache=True, nogil=True)
def _advantages(u: np.ndarray, q: np.ndarray, gamma: np.ndarray, x: np.ndarray) -> None:
    """``gamma * (+1 | -1) + Q(s, rich) - Q(s, lean)`` of every subject's stimulus s."""
    for b in range(x.shape[0]):
        lean = u[0, b] >= 0.5
        x[b] = (gamma[b] * _select(lean, -1.0, 1.0) + _select(lean, q[2, b], q[0, b])
                - _select(lean, q[3, b], q[1, b]))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _answers(x: np.ndarray, u: np.ndarray, answer: np.ndarray, unsure: np.ndarray) -> None:
    """``0 if u < 1 / (1 + exp(-x)) else 1`` (as 0.0 / 1.0); the estimate where it settles it."""
    n_unsure = np.int64(0)
    for b in range(x.shape[0]):
        inside = (x[b] >= -SIGMOID_SPAN) & (x[b] <= SIGMOID_SPAN)  # False for NaN
        estimate = _sigmoid_estimate(_select(inside, x[b], 0.0))
        above = u[b] >= estimate - SIGMOID_MARGIN
        answer[b] = _select(above, 1.0, 0.0)
        unsure[b] = (above & (u[b] < estimate + SIGMOID_MARGIN)) | (not inside)
        n_unsure += np.int64(unsure[b])
    if n_unsure:
        for b in range(x.shape[0]):
            if unsure[b]:
                answer[b] = 0.0 if u[b] < 1.0 / (1.0 + np.exp(-x[b])) else 1.0


@numba.njit(cache=True, nogil=True)
def _learn(u: np.ndarray, answer: np.ndarray, q: np.ndarray, epsilon: np.ndarray,
           rho: np.ndarray, schedule: tuple, tally: np.ndarray) -> None:
    """Reward, ``Q(s, a) += epsilon * (rho * r - Q(s, a))`` and the answer counts, branch-free."""
    p_rich, p_lean = schedule
    for b in range(answer.shape[0]):
        lean, says_lean = u[0, b] >= 0.5, answer[b] == 1.0
        correct = lean == says_lean
        r = _select(u[2, b] < _select(correct, _select(lean, p_lean, p_rich), 0.0), 1.0, 0.0)
        is0, is1 = (not lean) & (not says_lean), (not lean) & says_lean
        is2, is3 = lean & (not says_lean), lean & says_lean
        q0, q1, q2, q3 = q[0, b], q[1, b], q[2, b], q[3, b]
        old = _select(is0, q0, _select(is1, q1, _select(is2, q2, q3)))
        new = old + epsilon[b] * (rho[b] * r - old)
        q[0, b], q[1, b] = _select(is0, new, q0), _select(is1, new, q1)
        q[2, b], q[3, b] = _select(is2, new, q2), _select(is3, new, q3)
        tally[0, b] += _select((not lean) & correct, 1.0, 0.0)
        tally[1, b] += _select((not lean) & (not correct), 1.0, 0.0)
        tally[2, b] += _select(lean & correct, 1.0, 0.0)
        tally[3, b] += _select(lean & (not correct), 1.0, 0.0)


@numba.njit(cache=True, nogil=True)
def _block(first: int, seeds: np.ndarray, rho: np.ndarray, epsilon: np.ndarray,
           gamma: np.ndarray, task: tuple, counts: np.ndarray) -> None:
    """Sessions of subjects ``first..first + SESSION_BLOCK - 1`` (``_session``'s arithmetic)."""
    q0, p_rich, p_lean, n_trials = task
    m = min(SESSION_BLOCK, seeds.shape[0] - first)
    last = first + m
    padded = -(-m // HASH_LANES) * HASH_LANES  # chains past m are hashed and never read
    states = np.zeros(padded, np.uint64)
    states[:m] = seeds[first:last]
    q = np.full((4, m), q0)  # rows: Q(rich, rich), Q(rich, lean), Q(lean, rich), Q(lean, lean)
    u, x, answer, tally = np.empty((3, padded)), np.empty(m), np.empty(m), np.zeros((4, m))
    unsure = np.empty(m, np.bool_)
    for _ in range(n_trials):
        _hash_trial(states, u)
        _advantages(u, q, gamma[first:last], x)
        _answers(x, u[1], answer, unsure)
        _learn(u, answer, q, epsilon[first:last], rho[first:last], (p_rich, p_lean), tally)
    counts[first:last] = tally.T


@numba.njit(cache=True, nogil=True)
def _serial(seeds: np.ndarray, rho: np.ndarray, epsilon: np.ndarray, gamma: np.ndarray,
            task: tuple) -> np.ndarray:
    counts = np.zeros((seeds.shape[0], 4))
    for block in range((seeds.shape[0] + SESSION_BLOCK - 1) // SESSION_BLOCK):
        _block(block * SESSION_BLOCK, seeds, rho, epsilon, gamma, task, counts)
    return counts


@numba.njit(cache=True, nogil=True, parallel=True)
def _parallel(seeds: np.ndarray, rho: np.ndarray, epsilon: np.ndarray, gamma: np.ndarray,
              task: tuple) -> np.ndarray:
    counts = np.zeros((seeds.shape[0], 4))
    for block in numba.prange((seeds.shape[0] + SESSION_BLOCK - 1) // SESSION_BLOCK):
        _block(block * SESSION_BLOCK, seeds, rho, epsilon, gamma, task, counts)
    return counts


@numba.njit(cache=True, nogil=True)
def learners_valid(rho: np.ndarray, epsilon: np.ndarray, gamma: np.ndarray) -> bool:
    """Whether no ``rho < 0``, no ``epsilon`` outside (0, 1] and every ``gamma`` is finite.

    NaN rho or epsilon pass, as numpy's comparisons let them. One pass, no temporaries.

    Examples:
        >>> learners_valid(np.ones(2), np.full(2, 0.1), np.array([1.5, np.inf]))
        False
    """
    for i in range(rho.shape[0]):
        if rho[i] < 0 or epsilon[i] <= 0 or epsilon[i] > 1 or not np.isfinite(gamma[i]):
            return False
    return True


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
    return kernel(seeds, rho, epsilon, gamma, task)
