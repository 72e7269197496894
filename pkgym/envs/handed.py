"""Output arrays handed to callers and written again once no caller holds them.

A vector env's observation is a fresh set of arrays every step in Gymnasium's contract: a
caller may keep an earlier step's arrays and must see them unchanged. Fresh arrays at 10^4-10^5
patients cost their first-touch page faults every step (as much as the values themselves), so
the batched observations of some envs write into a set handed out earlier once nothing outside
holds any of its arrays any more. CPython's reference counts tell: an array that a caller, a
view (which holds its base), a container or a weak reference still holds counts more than one
never handed out.
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def unheld(kept: Sequence[np.ndarray]) -> bool:
    """Whether nothing but ``kept`` holds its arrays (after its first, a gauge never handed out).

    Each array then has the gauge's reference count and no weak reference.

    Examples:
        >>> kept = (np.empty(0), np.zeros(3))
        >>> unheld(kept)
        True
        >>> view = kept[1][:2]
        >>> unheld(kept)
        False
    """
    counts = [sys.getrefcount(array) for array in kept]
    return counts.count(counts[0]) == len(counts) and not any(
        weakref.getweakrefcount(array) for array in kept[1:])


class HandedArrays:
    """Up to ``keep`` sets of output arrays: one no caller holds is handed out again.

    Pickles and copies empty (the arrays are outputs, rebuilt on the next call).

    Examples:
        >>> handed = HandedArrays(keep=2)
        >>> first = handed.take(lambda: [np.zeros(2)])
        >>> second = handed.take(lambda: [np.zeros(2)])
        >>> second[0] is first[0]  # ``first`` still held: a new set
        False
        >>> address = id(first[0]); del first
        >>> id(handed.take(lambda: [np.zeros(2)])[0]) == address  # dropped: written again
        True
    """

    def __init__(self, keep: int) -> None:
        """Hold at most ``keep`` sets (a caller holding more gets fresh ones beyond them)."""
        self.keep = keep
        self._sets: list[tuple[np.ndarray, ...]] = []

    def take(self, make: Callable[[], Sequence[np.ndarray]]) -> tuple[np.ndarray, ...]:
        """A set no caller holds, else a new one from ``make()`` (the oldest set dropped)."""
        kept = next((arrays for arrays in self._sets if unheld(arrays)), None)
        if kept is None:
            kept = (np.empty(0), *make())
            self._sets = [kept, *self._sets[:self.keep - 1]]
        return kept[1:]

    def __len__(self) -> int:
        """How many sets are held."""
        return len(self._sets)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle and copy as an empty holder with the same ``keep``."""
        return (HandedArrays, (self.keep,))
