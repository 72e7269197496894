"""Record arrays stored step by step, and compiled copies between layouts (bits unchanged)."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np


def step_major(n: int, shape: tuple[int, ...], dtype: Any = np.float64) -> np.ndarray:
    """Zeros of shape ``(n, *shape)`` stored step by step (axis 1 outermost in memory).

    A batched step writes one step (day) of every patient: stored this way, that step is one
    contiguous block instead of a slice of every patient's row (a cache line and a page each
    once the histories outgrow the cache). Indexing and values are those of a C-order array.

    Examples:
        >>> a = step_major(3, (181, 4))
        >>> a.shape, a.strides, a.base.shape
        ((3, 181, 4), (32, 96, 8), (181, 3, 4))
        >>> step_major(3, (150,), np.bool_).strides
        (1, 3)
    """
    return np.zeros((shape[0], n, *shape[1:]), dtype).swapaxes(0, 1)


@numba.njit(cache=True, nogil=True)
def transpose_into(source: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """``out[j, i] = source[i, j]`` in 32 x 32 tiles.

    A strided copy of a large (n, m) array into (m, n) touches a new page for almost every
    element (numpy's ``out[...] = source.T`` of 10^5 x 181 float64 took ~1.1 s); tiles keep the
    pages of both sides in the TLB.

    Examples:
        >>> source = np.arange(6.0).reshape(2, 3)
        >>> out = np.empty((3, 2))
        >>> transpose_into(source, out)
        >>> bool((out == source.T).all())
        True
    """
    n, m = source.shape
    for i0 in range(0, n, 32):
        for j0 in range(0, m, 32):
            for j in range(j0, min(j0 + 32, m)):
                for i in range(i0, min(i0 + 32, n)):
                    out[j, i] = source[i, j]
