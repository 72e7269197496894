"""Each slot's bit-generator addresses and seed entropy, looked up once per seeding.

The compiled episode draws (:mod:`pkgym.sim.bitgen`) call each slot's own generators through
their ``bitgen_t`` addresses. Looking them up costs a few microseconds per generator, so a core
keeps them per row, with the :class:`~pkgym.envs.base.EpisodeStreams` they belong to (which
keeps the generators alive), and looks them up again only when a row's streams change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pkgym.envs.base import EpisodeStreams
from pkgym.sim.bitgen import bitgen_addresses


def addresses_of(streams: Sequence[EpisodeStreams], names: tuple[str, ...]) -> np.ndarray:
    """The addresses (m, k) of each slot's named streams, each distinct slot looked up once.

    A slot drawn ahead for several episodes comes once per episode in ``streams``.

    Examples:
        >>> from pkgym.envs.base import spawn_streams
        >>> slot = spawn_streams(np.random.default_rng(3))
        >>> addresses = addresses_of([slot, slot], ("patient", "noise"))
        >>> addresses.shape, bool((addresses[0] == addresses[1]).all())
        ((2, 2), True)
    """
    known: dict[int, np.ndarray] = {}
    for slot in streams:
        if id(slot) not in known:
            known[id(slot)] = bitgen_addresses([getattr(slot, name) for name in names])
    return np.array([known[id(slot)] for slot in streams],
                    dtype=np.int64).reshape(-1, len(names))


class SlotAddresses:
    """Per row: the addresses of the named streams of its slot (k,) and its seed entropy.

    Args:
        n_rows: slots of the core.
        streams: names of the :class:`EpisodeStreams` fields whose addresses are kept, in the
            order the kernel takes them (e.g. ``("patient", "events")``).

    Examples:
        >>> from pkgym.envs.base import spawn_streams
        >>> slots = SlotAddresses(2, ("patient", "noise"))
        >>> streams = [spawn_streams(np.random.default_rng(seed)) for seed in (3, 4)]
        >>> addresses, entropy = slots(np.array([1]), streams[1:])
        >>> addresses.shape, entropy[0] == streams[1].seed_entropy
        ((1, 2), True)
    """

    def __init__(self, n_rows: int, streams: tuple[str, ...]) -> None:
        """Empty cache of ``n_rows`` rows."""
        self.names = streams
        self._seen: list[EpisodeStreams | None] = [None] * n_rows
        self._addresses = np.zeros((n_rows, len(streams)), dtype=np.int64)
        self._entropy = np.zeros(n_rows, dtype=object)

    def __call__(self, rows: np.ndarray, streams: Sequence[EpisodeStreams]
                 ) -> tuple[np.ndarray, np.ndarray]:
        """The addresses (m, k) and seed entropy (m,) of the slots ``streams`` at ``rows``."""
        seen, addresses, entropy = self._seen, self._addresses, self._entropy
        for row, slot in zip(rows.tolist(), streams, strict=True):
            if seen[row] is not slot:
                seen[row], entropy[row] = slot, slot.seed_entropy
                addresses[row] = bitgen_addresses([getattr(slot, name) for name in self.names])
        return addresses[rows], entropy[rows]

    def __getstate__(self) -> dict[str, Any]:
        """Pickle and deepcopy without the kept addresses.

        They are raw pointers into this process's generators: a copy (with its own copies of
        the generators) must look them up again, or it would draw from the original's.
        """
        state = self.__dict__.copy()
        state["_seen"] = [None] * len(self._seen)
        return state
