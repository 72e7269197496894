"""pkgym/Propofol-v0's compiled step pieces equal the numpy operations they replace, bit for bit."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from pkgym.envs.propofol.clinic import STIMULATION_PROFILES
from pkgym.envs.propofol.kernel import clip, interp, propagate


@numba.njit(cache=False)
def _interp_all(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = interp(x[i], xp, fp, 0.0, 0.0)
    return out


@numba.njit(cache=False)
def _propagate_all(transition: np.ndarray, inputs: np.ndarray, state: np.ndarray,
                   rate: np.ndarray) -> np.ndarray:
    out = np.empty_like(state)
    for p in range(state.shape[0]):
        propagate(transition, inputs, p, state[p], rate[p], out[p])
    return out


@numba.njit(cache=False)
def _clip_all(x: np.ndarray, low: float, high: float) -> np.ndarray:
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = clip(x[i], low, high)
    return out


@pytest.mark.parametrize("profile", sorted(STIMULATION_PROFILES))
def test_kernel_interp__equals_np_interp_at_knots_between_and_outside(profile: str) -> None:
    """Every knot, random points inside and points outside give np.interp's bits."""
    xp, fp = (np.asarray(v, dtype=np.float64) for v in STIMULATION_PROFILES[profile])
    x = np.concatenate([xp, np.random.default_rng(0).uniform(-5.0, 70.0, 5000),
                        np.nextafter(xp, np.inf), np.nextafter(xp, -np.inf)])
    expected = np.interp(x, xp, fp, left=0.0, right=0.0)
    assert _interp_all(x, xp, fp).tobytes() == expected.tobytes()


def test_kernel_propagate__equals_the_einsum_step() -> None:
    """The step Phi x + Gamma rate equals numpy's einsum expression bit for bit."""
    rng = np.random.default_rng(1)
    transition, inputs = rng.random((4000, 4, 4)), rng.random((4000, 4))
    state, rate = rng.random((4000, 4)) * 50, rng.random(4000) * 200
    expected = np.einsum("nij,nj->ni", transition, state) + inputs * rate[:, None]
    assert _propagate_all(transition, inputs, state, rate).tobytes() == expected.tobytes()


def test_kernel_clip__equals_np_clip() -> None:
    """Values below, inside and above 0-100 clip as np.clip does."""
    x = np.random.default_rng(2).uniform(-50.0, 150.0, 1000)
    assert _clip_all(x, 0.0, 100.0).tobytes() == np.clip(x, 0.0, 100.0).tobytes()
