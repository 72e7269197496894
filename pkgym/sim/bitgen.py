"""numpy's bit generators called from compiled code: the same numbers, no Python call per draw.

A ``numpy.random.Generator``'s bit generator exposes its C interface (``bitgen_t``: the state
and its ``next_uint64`` / ``next_uint32`` / ``next_double`` functions) through
``bit_generator.capsule``, and numpy's ``_generator`` module exports the C distributions
``Generator`` methods call (``random_standard_normal``, ``random_beta``). numba kernels call
both through the intrinsics here, so a kernel that draws slot after slot on each slot's own
generator gets exactly the numbers (and leaves exactly the state) that ``rng.random(out=...)``,
``rng.standard_normal``, ``rng.beta`` or ``rng.integers(0, n)`` would, in the same order.

Keep the generators alive while their addresses are used. Where numpy does not export a
function, its address is 0 and callers keep their numpy path.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any

import numba
import numpy as np
import numpy.random._generator as numpy_generator
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype, _capsule_pointer.argtypes = ctypes.c_void_p, [ctypes.py_object,
                                                                        ctypes.c_char_p]


def numpy_function(name: str) -> int:
    """Address of a C function numpy's ``Generator`` exports (its distributions), or 0."""
    try:
        function = getattr(ctypes.CDLL(numpy_generator.__file__), name)
    except (OSError, AttributeError):
        return 0
    return ctypes.cast(function, ctypes.c_void_p).value or 0


NUMPY_BETA = numpy_function("random_beta")
"""``random_beta(bitgen_t *, a, b)``, the function ``Generator.beta`` calls (0: not found)."""
NUMPY_NORMAL = numpy_function("random_standard_normal")
"""``random_standard_normal(bitgen_t *)``, what ``Generator.standard_normal`` calls per number
(0: not exported; callers then draw with numpy, slot by slot)."""


def bitgen_addresses(rngs: Sequence[np.random.Generator]) -> np.ndarray:
    """Address of each generator's ``bitgen_t`` (numpy's C interface of a bit generator) (n,).

    The compiled draws (:func:`fill_uniforms`, :func:`draw_levels`, :data:`next_double`) call
    the bit generator's own functions through it; keep the generators alive meanwhile.
    """
    return np.array([_capsule_pointer(rng.bit_generator.capsule, b"BitGenerator")
                     for rng in rngs], dtype=np.int64).reshape(len(rngs))


def _bitgen_call(builder: ir.IRBuilder, address: ir.Value, slot: int,
                 returns: ir.Type) -> ir.Value:
    """Call field ``slot`` of the ``bitgen_t`` at ``address`` on its ``state`` (field 0)."""
    void_p = ir.IntType(8).as_pointer()
    fields = builder.inttoptr(address, void_p.as_pointer())
    function = builder.load(builder.gep(fields, [ir.Constant(ir.IntType(32), slot)]))
    signature = ir.FunctionType(returns, [void_p])
    return builder.call(builder.bitcast(function, signature.as_pointer()),
                        [builder.load(fields)])


def _typed_next_double(typingctx: object, address: types.Type) -> tuple:  # pragma: no cover
    """``bitgen->next_double(bitgen->state)``: the uniform of ``Generator.random``."""
    return types.float64(types.int64), lambda context, builder, sig, args: _bitgen_call(
        builder, args[0], 3, ir.DoubleType())


def _typed_next_uint64(typingctx: object, address: types.Type) -> tuple:  # pragma: no cover
    """``bitgen->next_uint64(bitgen->state)``: the 64-bit draw ``integers`` bounds."""
    return types.uint64(types.int64), lambda context, builder, sig, args: _bitgen_call(
        builder, args[0], 1, ir.IntType(64))


def _typed_next_uint32(typingctx: object, address: types.Type) -> tuple:  # pragma: no cover
    """``bitgen->next_uint32(bitgen->state)`` (PCG64 halves a 64-bit draw, buffered)."""
    return types.uint32(types.int64), lambda context, builder, sig, args: _bitgen_call(
        builder, args[0], 2, ir.IntType(32))


def _typed_beta(typingctx: object, function: types.Type, address: types.Type,
                a: types.Type, b: types.Type) -> tuple:  # pragma: no cover
    """``function(bitgen, a, b)``: numpy's ``random_beta`` at ``function`` on a bit generator."""
    def codegen(context: object, builder: ir.IRBuilder, sig: object, args: list) -> ir.Value:
        void_p, double = ir.IntType(8).as_pointer(), ir.DoubleType()
        signature = ir.FunctionType(double, [void_p, double, double])
        return builder.call(builder.inttoptr(args[0], signature.as_pointer()),
                            [builder.inttoptr(args[1], void_p), args[2], args[3]])
    return types.float64(types.int64, types.int64, types.float64, types.float64), codegen


def _typed_normal(typingctx: object, function: types.Type,
                  address: types.Type) -> tuple:  # pragma: no cover - compiled
    """``function(bitgen)``: numpy's ``random_standard_normal`` at ``function``."""
    def codegen(context: object, builder: ir.IRBuilder, sig: object, args: list) -> ir.Value:
        void_p = ir.IntType(8).as_pointer()
        signature = ir.FunctionType(ir.DoubleType(), [void_p])
        return builder.call(builder.inttoptr(args[0], signature.as_pointer()),
                            [builder.inttoptr(args[1], void_p)])
    return types.float64(types.int64, types.int64), codegen


next_double: Any = intrinsic(_typed_next_double)
"""``next_double(address)`` in a kernel: the next ``Generator.random()`` of that generator."""
next_uint64: Any = intrinsic(_typed_next_uint64)
"""``next_uint64(address)``: the bit generator's next 64-bit draw (PCG64: ``random_raw``)."""
next_uint32: Any = intrinsic(_typed_next_uint32)
"""``next_uint32(address)``: the bit generator's next 32-bit draw (as ``integers`` uses it)."""
beta: Any = intrinsic(_typed_beta)
"""``beta(NUMPY_BETA, address, a, b)``: the next ``Generator.beta(a, b)``."""
standard_normal: Any = intrinsic(_typed_normal)
"""``standard_normal(NUMPY_NORMAL, address)``: the next ``Generator.standard_normal()``."""


@numba.njit(cache=True, error_model="numpy")
def fill_uniforms(addresses: np.ndarray, rows: np.ndarray,
                  out: np.ndarray) -> None:  # pragma: no cover - compiled
    """``rngs[i].random(out=out[i])`` for each i in ``rows``, in C order (the same numbers).

    Args:
        addresses: :func:`bitgen_addresses` of the generators (n,).
        rows: the generators (and rows of ``out``) to draw (m,).
        out: C-contiguous float64 (n, ...), rows overwritten.
    """
    flat = out.reshape(out.shape[0], -1)
    for i in rows:
        for j in range(flat.shape[1]):
            flat[i, j] = next_double(addresses[i])


@numba.njit(cache=True, error_model="numpy")
def draw_levels(addresses: np.ndarray, n_levels: int) -> np.ndarray:  # pragma: no cover
    """``rng.integers(0, n_levels)`` of each generator (n,), compiled (:func:`draw_level`)."""
    levels = np.empty(addresses.size, dtype=np.int64)
    for i in range(addresses.size):
        levels[i] = draw_level(addresses[i], n_levels)
    return levels


@numba.njit(cache=True, error_model="numpy", inline="always")
def draw_level(address: int, n_levels: int) -> np.int64:  # pragma: no cover - compiled
    """``rng.integers(0, n_levels)``: numpy's ``buffered_bounded_lemire_uint32``.

    With ``rng = n_levels - 1`` (2 <= n_levels < 2**32): a 32-bit draw times ``n_levels``,
    its high word, redrawn while the low word falls under ``(2**32 - n_levels) % n_levels``.
    """
    excl = np.uint64(n_levels)
    m = np.uint64(next_uint32(address)) * excl
    if m & np.uint64(0xFFFFFFFF) < excl:
        threshold = (np.uint64(0xFFFFFFFF) - (excl - np.uint64(1))) % excl
        while m & np.uint64(0xFFFFFFFF) < threshold:
            m = np.uint64(next_uint32(address)) * excl
    return np.int64(m >> np.uint64(32))


# ----- PCG64 inline ---------------------------------------------------------------------------
PCG64_MULTIPLIER = (2549297995355413924 << 64) + 4865540595714422341
"""numpy's ``PCG_DEFAULT_MULTIPLIER_128`` (PCG64's 128-bit LCG multiplier)."""


def _pcg64_words(address: int) -> tuple[int, int, int, int]:
    """The 64-bit words at a PCG64 ``bitgen_t``'s ``pcg_state``: state low, high, inc low, high.

    ``bitgen_t.state`` points at numpy's ``pcg64_state``, whose first field points at the
    ``pcg64_random_t`` (a 128-bit state and increment, native ``__uint128_t``: low word first).
    """
    fields = ctypes.cast(address, ctypes.POINTER(ctypes.c_void_p))
    pcg = ctypes.cast(fields[0], ctypes.POINTER(ctypes.c_void_p))[0]
    words = ctypes.cast(pcg, ctypes.POINTER(ctypes.c_uint64))
    return words[0], words[1], words[2], words[3]


def pcg64_layout_matches(generator: np.random.Generator) -> bool:
    """Whether ``generator`` is a PCG64 whose state :data:`pcg64_next_double` reads in place.

    Compares the words in memory with ``bit_generator.state`` (a build with emulated
    128-bit arithmetic keeps a struct of high and low words instead: no match).
    """
    if type(generator.bit_generator) is not np.random.PCG64:
        return False
    state = generator.bit_generator.state["state"]
    lo, hi, inc_lo, inc_hi = _pcg64_words(int(bitgen_addresses([generator])[0]))
    return (lo | hi << 64, inc_lo | inc_hi << 64) == (state["state"], state["inc"])


def _pcg64_double_address() -> int:
    """Address of PCG64's ``next_double`` (``bitgen_t`` field 3), or 0 if its layout differs.

    0 makes :data:`pcg64_next_double` call every generator's own function.
    """
    probe = np.random.Generator(np.random.PCG64(20261208).advance(12345))
    if not pcg64_layout_matches(probe):
        return 0
    fields = ctypes.cast(int(bitgen_addresses([probe])[0]), ctypes.POINTER(ctypes.c_void_p))
    return int(fields[3] or 0)


PCG64_DOUBLE = _pcg64_double_address()
"""Address of numpy's PCG64 ``next_double`` (0: the inline step is never taken)."""


def _pcg64_step(builder: ir.IRBuilder, state_p: ir.Value) -> ir.Value:
    """``state = state * M + inc``, then the XSL-RR output of the new state (``pcg64_next64``)."""
    i64, i128 = ir.IntType(64), ir.IntType(128)
    pcg = builder.load(builder.bitcast(state_p, i64.as_pointer().as_pointer()))
    words = builder.bitcast(pcg, i128.as_pointer())
    state_ptr = builder.gep(words, [ir.Constant(ir.IntType(32), 0)])
    inc_ptr = builder.gep(words, [ir.Constant(ir.IntType(32), 1)])
    state = builder.load(state_ptr, align=8)
    inc = builder.load(inc_ptr, align=8)
    state = builder.add(builder.mul(state, ir.Constant(i128, PCG64_MULTIPLIER)), inc)
    builder.store(state, state_ptr, align=8)
    high = builder.trunc(builder.lshr(state, ir.Constant(i128, 64)), i64)
    value = builder.xor(high, builder.trunc(state, i64))
    rotation = builder.lshr(high, ir.Constant(i64, 58))
    left = builder.and_(builder.sub(ir.Constant(i64, 0), rotation), ir.Constant(i64, 63))
    return builder.or_(builder.lshr(value, rotation), builder.shl(value, left))


def _typed_pcg64_next_double(typingctx: object, pcg64_double: types.Type,
                             address: types.Type) -> tuple:  # pragma: no cover - compiled
    """:data:`next_double`, PCG64's step written inline where the generator is numpy's PCG64."""
    def codegen(context: object, builder: ir.IRBuilder, sig: object, args: list) -> ir.Value:
        void_p, double = ir.IntType(8).as_pointer(), ir.DoubleType()
        fields = builder.inttoptr(args[1], void_p.as_pointer())
        function = builder.load(builder.gep(fields, [ir.Constant(ir.IntType(32), 3)]))
        state_p = builder.load(fields)
        is_pcg64 = builder.icmp_unsigned(
            "==", builder.ptrtoint(function, ir.IntType(64)), args[0])
        with builder.if_else(is_pcg64, likely=True) as (inline, call):
            with inline:
                bits = _pcg64_step(builder, state_p)
                fast = builder.fmul(builder.uitofp(builder.lshr(bits, ir.Constant(
                    ir.IntType(64), 11)), double), ir.Constant(double, 1.0 / 9007199254740992.0))
                inline_block = builder.block
            with call:
                signature = ir.FunctionType(double, [void_p])
                slow = builder.call(builder.bitcast(function, signature.as_pointer()), [state_p])
                call_block = builder.block
        result = builder.phi(double)
        result.add_incoming(fast, inline_block)
        result.add_incoming(slow, call_block)
        return result
    return types.float64(types.int64, types.int64), codegen


pcg64_next_double: Any = intrinsic(_typed_pcg64_next_double)
"""``pcg64_next_double(PCG64_DOUBLE, address)``: exactly :data:`next_double` (the next
``Generator.random()``), with numpy's PCG64 step and ``uint64_to_double`` inline (no call
through the ``bitgen_t``) when the generator's ``next_double`` is numpy's PCG64 one; any
other bit generator, or ``PCG64_DOUBLE`` 0, is called as :data:`next_double` calls it."""
