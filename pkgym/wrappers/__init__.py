"""Gymnasium wrappers: the canonical observed history and the true exposure course.

* :mod:`pkgym.wrappers.history`: a drug-agnostic view of what the clinic has observed
  (context, measured levels with times, doses with times) and wrappers that give it as the
  observation, for single and vector envs.
* :mod:`pkgym.wrappers.exposure`: the dense true exposure course of an episode on a fixed
  grid (vancomycin plasma concentration hourly, warfarin INR each morning).
"""

from __future__ import annotations

from pkgym.wrappers.exposure import exposure_env_ids, exposure_grid, true_exposure
from pkgym.wrappers.history import (
    HISTORY_KEYS,
    HistoryLayout,
    ObservationHistoryWrapper,
    VectorObservationHistoryWrapper,
    history_env_ids,
    history_layout,
    history_space,
    observed_history,
)

__all__ = ["HISTORY_KEYS", "HistoryLayout", "ObservationHistoryWrapper",
           "VectorObservationHistoryWrapper", "exposure_env_ids", "exposure_grid",
           "history_env_ids", "history_layout", "history_space", "observed_history",
           "true_exposure"]
