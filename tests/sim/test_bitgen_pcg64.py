"""pkgym.sim.bitgen.pcg64_next_double: PCG64's step inline gives numpy's numbers and state."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from pkgym.sim.bitgen import (
    PCG64_DOUBLE,
    PCG64_MULTIPLIER,
    bitgen_addresses,
    next_uint32,
    pcg64_layout_matches,
    pcg64_next_double,
)

BIT_GENERATORS = (np.random.MT19937, np.random.PCG64DXSM, np.random.Philox, np.random.SFC64)


@numba.njit
def _doubles(pcg64: int, address: int, n: int) -> np.ndarray:
    """``n`` draws of :data:`pcg64_next_double` on the generator at ``address``."""
    out = np.empty(n)
    for i in range(n):
        out[i] = pcg64_next_double(pcg64, address)
    return out


def _same_state(a: np.random.Generator, b: np.random.Generator) -> bool:
    """Whether two generators' bit-generator states are equal (arrays compared by value)."""
    return repr(a.bit_generator.state) == repr(b.bit_generator.state)


@numba.njit
def _uint32(address: int) -> np.uint32:
    """One 32-bit draw (PCG64 keeps the other half buffered: ``has_uint32``)."""
    return next_uint32(address)


def test_inline_step_is_taken_here() -> None:
    """This numpy's PCG64 keeps a native 128-bit state, so the inline step is the one tested."""
    assert PCG64_DOUBLE != 0
    assert pcg64_layout_matches(np.random.default_rng(7))
    assert not pcg64_layout_matches(np.random.Generator(np.random.MT19937(7)))
    assert not pcg64_layout_matches(np.random.Generator(np.random.PCG64DXSM(7)))


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**63 + 11, 20261208])
def test_draws_and_state_equal_numpy(seed: int) -> None:
    """20 000 draws equal ``random()`` of an equal generator, and so do the states after."""
    rng, reference = np.random.default_rng(seed), np.random.default_rng(seed)
    got = _doubles(PCG64_DOUBLE, int(bitgen_addresses([rng])[0]), 20_000)
    assert np.array_equal(got, reference.random(20_000))
    assert rng.bit_generator.state == reference.bit_generator.state
    assert np.array_equal(rng.random(5), reference.random(5))


def test_after_advance_jump_spawn_and_buffered_half() -> None:
    """Advanced, jumped and spawned generators, and one holding a buffered 32-bit half."""
    base = np.random.PCG64(99)
    cases = [np.random.Generator(np.random.PCG64(3).advance(2**100 + 17)),
             np.random.Generator(base.jumped(3)),
             np.random.default_rng(5).spawn(4)[3]]
    for rng in cases:
        reference = np.random.Generator(type(rng.bit_generator)())
        reference.bit_generator.state = rng.bit_generator.state
        address = int(bitgen_addresses([rng])[0])
        _uint32(address)
        reference.bit_generator.state = rng.bit_generator.state
        assert rng.bit_generator.state["has_uint32"] == 1
        got = _doubles(PCG64_DOUBLE, address, 3001)
        assert np.array_equal(got, reference.random(3001))
        assert rng.bit_generator.state == reference.bit_generator.state  # the half kept


def test_interleaved_with_numpy_calls() -> None:
    """Compiled and numpy draws alternating on one generator: numpy's stream, in order."""
    rng, reference = np.random.default_rng(42), np.random.default_rng(42)
    address = int(bitgen_addresses([rng])[0])
    got = []
    for k in range(50):
        got.append(_doubles(PCG64_DOUBLE, address, k))
        got.append(rng.random(3))
        got.append(rng.standard_normal(2))
    expected = []
    for k in range(50):
        expected += [reference.random(k), reference.random(3), reference.standard_normal(2)]
    assert np.array_equal(np.concatenate(got), np.concatenate(expected))


def test_step_against_python_integers() -> None:
    """The LCG and XSL-RR output in Python integers give the compiled draws (the constant)."""
    rng = np.random.default_rng(8)
    state = rng.bit_generator.state["state"]
    value, inc = state["state"], state["inc"]
    expected = []
    for _ in range(100):
        value = (value * PCG64_MULTIPLIER + inc) % 2**128
        high, low = value >> 64, value % 2**64
        word, rotation = high ^ low, high >> 58
        word = ((word >> rotation) | (word << (-rotation % 64))) % 2**64
        expected.append((word >> 11) * 2.0**-53)
    got = _doubles(PCG64_DOUBLE, int(bitgen_addresses([rng])[0]), 100)
    assert got.tolist() == expected


@pytest.mark.parametrize("bit_generator", BIT_GENERATORS)
def test_other_bit_generators_called(bit_generator: type) -> None:
    """Any other bit generator goes through its own ``next_double`` (same numbers, state)."""
    rng, reference = (np.random.Generator(bit_generator(11)) for _ in range(2))
    got = _doubles(PCG64_DOUBLE, int(bitgen_addresses([rng])[0]), 2000)
    assert np.array_equal(got, reference.random(2000))
    assert _same_state(rng, reference)


def test_zero_address_always_calls() -> None:
    """``PCG64_DOUBLE`` 0 (a build whose layout differs): every draw by the function call."""
    rng, reference = np.random.default_rng(6), np.random.default_rng(6)
    got = _doubles(0, int(bitgen_addresses([rng])[0]), 1000)
    assert np.array_equal(got, reference.random(1000))
    assert rng.bit_generator.state == reference.bit_generator.state
