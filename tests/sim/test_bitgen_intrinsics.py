"""pkgym.sim.bitgen: compiled draws equal numpy's own, number for number, state for state."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from pkgym.sim.bitgen import (
    NUMPY_BETA,
    NUMPY_NORMAL,
    beta,
    bitgen_addresses,
    draw_levels,
    fill_uniforms,
    next_double,
    next_uint32,
    next_uint64,
    standard_normal,
)

N = 257


@numba.njit
def _draw(address: int, n: int, which: int, normal: int, beta_function: int) -> np.ndarray:
    """``n`` draws of one kind (0 double, 1 uint32, 2 uint64, 3 normal, 4 beta(2, 5))."""
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        if which == 0:
            out[i] = next_double(address)
        elif which == 1:
            out[i] = np.float64(next_uint32(address))
        elif which == 2:
            out[i] = np.float64(next_uint64(address) >> np.uint64(11))
        elif which == 3:
            out[i] = standard_normal(normal, address)
        else:
            out[i] = beta(beta_function, address, 2.0, 5.0)
    return out


def _numpy_draws(rng: np.random.Generator, which: int) -> np.ndarray:
    """What ``_draw`` must give, drawn by numpy's own Generator methods."""
    if which == 0:
        return rng.random(N)
    if which == 1:
        return rng.integers(0, 2**32, size=N, dtype=np.uint32, endpoint=False).astype(float)
    if which == 2:
        return (rng.bit_generator.random_raw(N) >> np.uint64(11)).astype(float)
    if which == 3:
        return rng.standard_normal(N)
    return rng.beta(2.0, 5.0, size=N)


@pytest.mark.parametrize("which", range(5))
def test_intrinsics__same_numbers_and_state_as_numpy(which: int) -> None:
    """Each intrinsic gives numpy's numbers in order and leaves the generator where numpy does."""
    if (which == 3 and not NUMPY_NORMAL) or (which == 4 and not NUMPY_BETA):
        pytest.skip("numpy does not export this distribution here")
    compiled, reference = np.random.default_rng(5), np.random.default_rng(5)
    address = int(bitgen_addresses([compiled])[0])
    got = _draw(address, N, which, NUMPY_NORMAL, NUMPY_BETA)
    np.testing.assert_array_equal(got, _numpy_draws(reference, which))
    assert compiled.random() == reference.random()


def test_fill_uniforms_and_draw_levels__equal_numpy_per_generator() -> None:
    """Only the listed rows are filled, each from its own generator; levels are integers(0, n)."""
    seeds = [11, 12, 13]
    rngs, reference = ([np.random.default_rng(s) for s in seeds] for _ in range(2))
    out = np.full((3, 4, 2), -1.0)
    fill_uniforms(bitgen_addresses(rngs), np.array([0, 2]), out)
    np.testing.assert_array_equal(out[0], reference[0].random((4, 2)))
    np.testing.assert_array_equal(out[1], -1.0)
    np.testing.assert_array_equal(out[2], reference[2].random((4, 2)))
    levels = draw_levels(bitgen_addresses(rngs), 7)
    np.testing.assert_array_equal(levels, [r.integers(0, 7) for r in reference])
