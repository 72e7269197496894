"""Episodes drawn ahead: a one-patient core builds its next episodes in one batched pass.

For a core that draws every random number of an episode at its reset, consecutive episodes
of a slot are consecutive draws from its streams; :func:`next_episode_of_one` draws them as
rows of one batch, so a single env (a batch of one) pays for its resets at the batched rate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from pkgym.sim.batch import take_rows

AHEAD_MAX = 64
"""Most episodes a one-patient core draws ahead (:func:`next_episode_of_one`)."""


@dataclass(slots=True)
class EpisodesAhead:
    """Episodes a one-patient core drew ahead from one slot's streams.

    Attributes:
        streams: the slot's streams they were drawn from (identity marks a reseed).
        draws: their random numbers, one row per episode.
        built: what the core built of them for drawn patients (records, ...), one row each.
        size: how many; next: the row the next reset takes.
    """

    streams: Any  # the slot's pkgym.envs.base.EpisodeStreams
    draws: dict[str, np.ndarray]
    built: Any
    size: int
    next: int = 0


def next_episode_of_one(ahead: EpisodesAhead | None, streams: Any,
                        patient: Mapping[str, Any] | None, draw: Any, build: Any,
                        take: Any) -> tuple[EpisodesAhead, Any]:
    """The next episode of a one-patient core, from episodes drawn ahead in a batch.

    For a core that draws every random number of an episode at its reset: consecutive
    episodes of a slot are then consecutive draws from its streams, so ``k`` episodes drawn
    as ``k`` rows (the same streams ``k`` times, in order) are the same numbers as ``k``
    resets, and the core builds all ``k`` in one batched pass. The batch doubles (1, 2, 4,
    ... :data:`AHEAD_MAX`) while the slot keeps its streams and starts at 1 again on a
    reseed, so reseeding every episode costs no more than before. A pinned patient is built
    from its own episode's draws, which it uses up (valid or not) as a plain reset does.

    Args:
        ahead: what the core drew ahead so far (None at first).
        streams: the slot's streams.
        patient: the pinned patient of this reset, or None.
        draw: ``draw(list_of_streams) -> draws``, one row per entry.
        build: ``build(draws, patients, streams) -> built``, one row per entry.
        take: ``take(built, row) -> built`` of that one row.

    Returns:
        The updated ``ahead`` and this episode's built row.
    """
    if ahead is None or ahead.streams is not streams or ahead.next == ahead.size:
        size = 1 if ahead is None or ahead.streams is not streams else min(2 * ahead.size,
                                                                           AHEAD_MAX)
        draws = draw([streams] * size)
        ahead = EpisodesAhead(streams, draws, build(draws, [None] * size, [streams] * size), size)
    row, ahead.next = ahead.next, ahead.next + 1
    if patient is None:
        return ahead, take(ahead.built, row)
    draws = {key: value[row:row + 1] for key, value in ahead.draws.items()}
    return ahead, build(draws, [patient], [streams])


def take_row(tree: Any, row: int) -> Any:
    """Row ``row`` of batched records as a batch of one (fresh arrays)."""
    return take_rows(tree, slice(row, row + 1), copy=True)
