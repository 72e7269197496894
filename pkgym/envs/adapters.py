"""How an env's observation and records map to the drug-agnostic views of :mod:`pkgym.wrappers`.

An env that supports the canonical observed history (:mod:`pkgym.wrappers.history`) and the
true exposure course (:mod:`pkgym.wrappers.exposure`) states, in its own package, a
:class:`HistoryAdapter` and an :class:`ExposureAdapter`, and names them in its
:class:`~pkgym.envs.registry.EnvSpec`; the wrappers hold only the generic code around them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np


class ObservedLevels(NamedTuple):
    """The measured levels of a batched observation, each (n, n_levels) unless stated.

    Attributes:
        time_h: time since the first dose, h, shape (n, 1).
        values: measured levels (0 where none).
        times_h: their times since the first dose, h.
        mask: 1 where a level has been measured.
    """

    time_h: np.ndarray
    values: np.ndarray
    times_h: np.ndarray
    mask: np.ndarray


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryAdapter:
    """What the canonical history needs to know about one env's observation.

    Attributes:
        context_keys: observation keys concatenated into ``context`` (those the env's space
            holds, in this order).
        level_key: observation key of the measured levels (its space sizes the level slots
            and bounds their values).
        level_unit: unit of the levels, e.g. ``"mg/L"`` or ``"INR"``.
        interval_h: core -> time between decision steps, h.
        read_levels: (core, batched observation) -> the time now and the measured levels.
        dose_key: observation key whose space sizes the dose slots (one per decision step).
        read_doses: (core, batched observation) -> the dose of each slot, (n, n_doses), where
            it is not the ``dose_key`` array itself (``pkgym/Heparin-v0``: bolus, hold and
            rate as one mean rate); ``None``: ``observation[dose_key]``.
        max_dose: core -> the largest dose of one slot; ``None``: the top of ``dose_key``'s
            space.
    """

    context_keys: tuple[str, ...]
    level_key: str
    level_unit: str
    interval_h: Callable[[Any], float]
    read_levels: Callable[[Any, Mapping[str, np.ndarray]], ObservedLevels]
    dose_key: str = "doses_mg"
    read_doses: Callable[[Any, Mapping[str, np.ndarray]], np.ndarray] | None = None
    max_dose: Callable[[Any], float] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExposureAdapter:
    """The true exposure course of one env's episodes, on a fixed grid.

    Attributes:
        unit: unit of the exposure, e.g. ``"mg/L"`` or ``"INR"``.
        grid_h: core -> times of the course, h since the first dose, shape (T,).
        true_course: core -> every patient's true exposure on the grid, shape (n, T), NaN
            where the episode has not reached the grid point yet.
    """

    unit: str
    grid_h: Callable[[Any], np.ndarray]
    true_course: Callable[[Any], np.ndarray]
