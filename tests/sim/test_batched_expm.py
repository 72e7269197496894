"""pkgym.sim.expm: batched matrix exponentials against scipy, and their input checks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import expm

from pkgym.sim.expm import batched_expm


def test_batched_expm__matches_scipy_on_compartment_and_random_matrices() -> None:
    """Rate matrices of compartment models and random ones agree with scipy to 1e-12."""
    rng = np.random.default_rng(3)
    rates = rng.uniform(0.01, 3.0, (50, 4))
    compartments = np.zeros((50, 3, 3))
    compartments[:, 0, 0] = -(rates[:, 0] + rates[:, 1])
    compartments[:, 0, 1], compartments[:, 1, 0] = rates[:, 2], rates[:, 1]
    compartments[:, 1, 1] = -rates[:, 2]
    compartments[:, 2, 0], compartments[:, 2, 2] = rates[:, 3], -rates[:, 3]
    for stack in (compartments * 0.5, rng.standard_normal((50, 5, 5))):
        ours = batched_expm(stack)
        reference = np.array([expm(m) for m in stack])
        scale = np.abs(reference).max(axis=(1, 2), keepdims=True)
        assert np.max(np.abs(ours - reference) / scale) < 1e-12


def test_batched_expm__refuses_non_square_or_non_finite_stacks() -> None:
    """A non-square or non-finite stack is a one-line error naming ``matrices``."""
    with pytest.raises(ValueError, match="matrices"):
        batched_expm(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="matrices"):
        batched_expm(np.full((1, 2, 2), np.nan))


def test_batched_expm__a_matrix_gives_the_same_bits_in_any_batch() -> None:
    """Scaling is per matrix: exp of a small matrix is unchanged beside a large one."""
    small = np.array([[[-0.1, 0.05], [0.02, -0.03]]])
    large = np.array([[[-40.0, 3.0], [1.0, -20.0]]])
    alone = batched_expm(small)
    together = batched_expm(np.concatenate([small, large]))
    np.testing.assert_array_equal(alone[0], together[0])
