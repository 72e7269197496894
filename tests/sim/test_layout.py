"""The compiled layout copies of :mod:`pkgym.sim.layout`."""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.sim.layout import transpose_into


@pytest.mark.parametrize("shape", [(67, 181), (1, 5), (32, 32), (100, 3)])
def test_transpose_into_equals_numpy_transpose(shape: tuple[int, int]) -> None:
    """The tiled transposing copy gives ``source.T`` bit for bit, shapes on and off the tile."""
    source = np.random.default_rng(2).standard_normal(shape)
    out = np.full(shape[::-1], np.nan)
    transpose_into(source, out)
    assert out.tobytes() == np.ascontiguousarray(source.T).tobytes()
