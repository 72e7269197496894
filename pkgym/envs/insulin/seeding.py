"""``np.random.default_rng(seed)`` for many seeds at once: numpy's seeding, compiled.

A reset draws each patient's meals and CGM errors from Generators seeded by the patient's
``meal_seed`` and ``noise_seed``. Building a Generator costs more than its draws; here
numpy's ``SeedSequence`` mixing and ``PCG64`` seeding (integer arithmetic, written out from
numpy's ``bit_generator.pyx`` and ``pcg64.h``) give the bit generator's state, which is
written into one scratch ``PCG64`` that numpy's own draw functions then run on (through
:mod:`pkgym.sim.bitgen`): the same numbers as ``default_rng(seed)``. :func:`seeding_works`
checks the arithmetic and the state's memory layout against numpy once, on first use (not
at ``import pkgym``: it compiles); where either differs the callers keep ``default_rng``.
"""

from __future__ import annotations

import ctypes
import functools
from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

from pkgym.sim.bitgen import (
    NUMPY_NORMAL,
    bitgen_addresses,
    draw_level,
    next_double,
    standard_normal,
)

_M32 = 0xFFFFFFFF
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_PCG_MULT = (2549297995355413924, 4865540595714422341)
"""PCG's 128-bit default multiplier (high, low words)."""


def _typed_store(typingctx: object, address: types.Type,
                 value: types.Type) -> tuple:  # pragma: no cover - compiled
    """``*(int64_t *)address = value`` (an int32 store for an int32 value)."""
    def codegen(context: Any, builder: ir.IRBuilder, sig: Any, args: list) -> Any:
        width = 32 if sig.args[1] == types.int32 else 64
        pointer = builder.inttoptr(args[0], ir.IntType(width).as_pointer())
        builder.store(args[1], pointer)
        return context.get_dummy_value()
    return types.none(address, value), codegen


def _typed_load(typingctx: object, address: types.Type) -> tuple:  # pragma: no cover
    """``*(int64_t *)address``."""
    def codegen(context: Any, builder: ir.IRBuilder, sig: Any, args: list) -> ir.Value:
        return builder.load(builder.inttoptr(args[0], ir.IntType(64).as_pointer()))
    return types.int64(address), codegen


_store: Any = intrinsic(_typed_store)
_load: Any = intrinsic(_typed_load)


@numba.njit(cache=True, nogil=True)
def _hashmix(value: int, const: int) -> tuple:  # pragma: no cover - compiled
    """SeedSequence's ``hashmix`` (32-bit words): the mixed value and the next constant."""
    value = (value ^ const) & _M32
    const = (const * _MULT_A) & _M32
    value = (value * const) & _M32
    return value ^ (value >> 16), const


@numba.njit(cache=True, nogil=True)
def _mix(x: int, y: int) -> int:  # pragma: no cover - compiled
    """The ``mix`` of numpy's SeedSequence of two 32-bit words."""
    result = (_MIX_L * x - _MIX_R * y) & _M32
    return result ^ (result >> 16)


@numba.njit(cache=True, nogil=True)
def _pool(seed: int) -> np.ndarray:  # pragma: no cover - compiled
    """``SeedSequence(seed).pool`` of a seed in [0, 2**32) (one entropy word), uint32 as int64."""
    pool, const = np.empty(4, np.int64), _INIT_A
    for i in range(4):
        pool[i], const = _hashmix(seed if i == 0 else 0, const)
    for src in range(4):
        for dst in range(4):
            if src != dst:
                mixed, const = _hashmix(pool[src], const)
                pool[dst] = _mix(pool[dst], mixed)
    return pool


@numba.njit(cache=True, nogil=True)
def _words(seed: int) -> np.ndarray:  # pragma: no cover - compiled
    """``SeedSequence(seed).generate_state(4, uint64)`` as 8 little-endian 32-bit words."""
    pool, const, out = _pool(seed), _INIT_B, np.empty(8, np.int64)
    for i in range(8):
        value = (pool[i % 4] ^ const) & _M32
        const = (const * _MULT_B) & _M32
        value = (value * const) & _M32
        out[i] = value ^ (value >> 16)
    return out


@numba.njit(cache=True, nogil=True)
def _mul64(a: np.uint64, b: np.uint64) -> tuple:  # pragma: no cover - compiled
    """Full 128-bit product of two 64-bit words: (high, low)."""
    mask = np.uint64(_M32)
    a_lo, a_hi, b_lo, b_hi = a & mask, a >> np.uint64(32), b & mask, b >> np.uint64(32)
    lo_lo, hi_lo, lo_hi, hi_hi = a_lo * b_lo, a_hi * b_lo, a_lo * b_hi, a_hi * b_hi
    cross = (lo_lo >> np.uint64(32)) + (hi_lo & mask) + lo_hi
    high = hi_hi + (hi_lo >> np.uint64(32)) + (cross >> np.uint64(32))
    return high, (cross << np.uint64(32)) | (lo_lo & mask)


@numba.njit(cache=True, nogil=True)
def _step(s_hi: np.uint64, s_lo: np.uint64, i_hi: np.uint64,
          i_lo: np.uint64) -> tuple:  # pragma: no cover - compiled
    """One PCG step of the 128-bit state: ``state * multiplier + inc`` (mod 2**128)."""
    m_hi, m_lo = np.uint64(_PCG_MULT[0]), np.uint64(_PCG_MULT[1])
    high, low = _mul64(s_lo, m_lo)
    high = high + s_lo * m_hi + s_hi * m_lo
    low2 = low + i_lo
    return high + i_hi + np.uint64(low2 < low), low2


@numba.njit(cache=True, nogil=True)
def pcg64_state(seed: int) -> tuple:  # pragma: no cover - compiled
    """``PCG64(seed)``'s state and increment, ``(state_hi, state_lo, inc_hi, inc_lo)``."""
    w = _words(seed)
    word = [np.uint64(w[2 * i]) | (np.uint64(w[2 * i + 1]) << np.uint64(32)) for i in range(4)]
    init_hi, init_lo, seq_hi, seq_lo = word[0], word[1], word[2], word[3]
    i_hi = (seq_hi << np.uint64(1)) | (seq_lo >> np.uint64(63))
    i_lo = (seq_lo << np.uint64(1)) | np.uint64(1)
    s_hi, s_lo = _step(np.uint64(0), np.uint64(0), i_hi, i_lo)
    low = s_lo + init_lo
    s_hi, s_lo = s_hi + init_hi + np.uint64(low < s_lo), low
    s_hi, s_lo = _step(s_hi, s_lo, i_hi, i_lo)
    return s_hi, s_lo, i_hi, i_lo


@numba.njit(cache=True, nogil=True)
def seed_scratch(address: int, seed: int) -> None:  # pragma: no cover - compiled
    """Put the scratch PCG64 at ``address`` (its ``bitgen_t``) in ``default_rng(seed)``'s state."""
    s_hi, s_lo, i_hi, i_lo = pcg64_state(seed)
    state = _load(address)  # bitgen_t.state: numpy's pcg64_state
    pcg = _load(state)  # pcg64_state.pcg_state: the 128-bit state and increment
    _store(pcg, np.int64(s_lo))
    _store(pcg + 8, np.int64(s_hi))
    _store(pcg + 16, np.int64(i_lo))
    _store(pcg + 24, np.int64(i_hi))
    _store(state + 8, np.int32(0))  # has_uint32
    _store(state + 12, np.int32(0))  # uinteger


class ScratchGenerator:
    """One PCG64 that compiled code reseeds as ``default_rng(seed)`` (keep it alive)."""

    def __init__(self) -> None:
        """A scratch generator and its ``bitgen_t`` address."""
        self.rng = np.random.default_rng(0)
        self.address = int(bitgen_addresses([self.rng])[0])


@functools.cache
def seeding_works() -> bool:
    """Whether the compiled seeding gives numpy's state and numbers here (checked once)."""
    if not NUMPY_NORMAL or ctypes.sizeof(ctypes.c_void_p) != 8:
        return False
    scratch = ScratchGenerator()
    for seed in (0, 1, 12345, 2**31, 2**32 - 2, 3_000_000_019):
        state = np.random.PCG64(seed).state["state"]
        s_hi, s_lo, i_hi, i_lo = pcg64_state(seed)
        if ((int(s_hi) << 64) | int(s_lo), (int(i_hi) << 64) | int(i_lo)) != (
                state["state"], state["inc"]):
            return False
        seed_scratch(scratch.address, seed)
        want = np.random.default_rng(seed)
        if scratch.rng.random(3).tobytes() != want.random(3).tobytes() or \
                scratch.rng.standard_normal(3).tobytes() != want.standard_normal(3).tobytes():
            return False
    return True


@numba.njit(cache=True)
def draw_seeded(address: int, normal: int, seeds: np.ndarray, uniforms: np.ndarray,
                normals: np.ndarray) -> None:  # pragma: no cover - compiled
    """Row k: ``default_rng(seeds[k])``'s first uniforms, then its standard normals.

    ``uniforms`` (k, a) and ``normals`` (k, b) receive ``rng.random(a)`` then
    ``rng.standard_normal(b)`` of each seed's Generator, drawn on the scratch generator at
    ``address`` with numpy's ``random_standard_normal`` at ``normal`` (:data:`NUMPY_NORMAL`).
    Holds the GIL: the scratch generator is shared.
    """
    for k in range(seeds.size):
        seed_scratch(address, seeds[k])
        for j in range(uniforms.shape[1]):
            uniforms[k, j] = next_double(address)
        for j in range(normals.shape[1]):
            normals[k, j] = standard_normal(normal, address)


_SCRATCH: list[ScratchGenerator] = []


def seeded_draws(seeds: np.ndarray, n_uniform: int, n_normal: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``(rng.random(n_uniform), rng.standard_normal(n_normal))`` of ``default_rng(seed)``.

    One row per seed; seeds in [0, 2**32) compiled where :func:`seeding_works`, others (and
    everything elsewhere) with numpy's Generators.

    Examples:
        >>> u, z = seeded_draws(np.array([7]), 2, 1)
        >>> rng = np.random.default_rng(7)
        >>> bool((u[0] == rng.random(2)).all() and z[0, 0] == rng.standard_normal())
        True
    """
    seeds = np.asarray(seeds, dtype=np.int64).reshape(-1)
    uniforms, normals = np.empty((seeds.size, n_uniform)), np.empty((seeds.size, n_normal))
    if seeding_works() and (seeds.size == 0 or (seeds.min() >= 0 and seeds.max() <= _M32)):
        if not _SCRATCH:
            _SCRATCH.append(ScratchGenerator())
        draw_seeded(_SCRATCH[0].address, NUMPY_NORMAL, seeds, uniforms, normals)
        return uniforms, normals
    for k, seed in enumerate(seeds.tolist()):
        rng = np.random.default_rng(seed)
        rng.random(out=uniforms[k])
        rng.standard_normal(out=normals[k])
    return uniforms, normals


@numba.njit(cache=True)
def draw_slot_rows(addresses: np.ndarray, n_profiles: int, seed_high: int, profile: np.ndarray,
                   patient_seed: np.ndarray, meal_seed: np.ndarray,
                   noise_seed: np.ndarray) -> None:  # pragma: no cover - compiled
    """Each slot's row: ``integers(n_profiles)``, ``integers(seed_high)`` of its streams.

    ``addresses`` (k, 3) are the ``bitgen_t`` of each slot's patient, events and noise
    streams; the patient stream gives the profile then the patient seed, the events stream
    the meal seed, the noise stream the noise seed (numpy's ``integers``: Lemire's
    rejection on 32-bit draws, :func:`pkgym.sim.bitgen.draw_level`).
    """
    for k in range(addresses.shape[0]):
        profile[k] = draw_level(addresses[k, 0], n_profiles)
        patient_seed[k] = draw_level(addresses[k, 0], seed_high)
        meal_seed[k] = draw_level(addresses[k, 1], seed_high)
        noise_seed[k] = draw_level(addresses[k, 2], seed_high)
