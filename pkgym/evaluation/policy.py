"""The one interface every dosing policy satisfies: baselines, trained agents, user callables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Policy(Protocol):
    """Chooses doses for a batch of patients from what the ward observes.

    Attributes:
        name: short name used in result tables.
        reads_hidden_state: True for policies that read the true patient from ``info`` (the
            oracle); reports mark them as upper bounds, not deployable policies.
    """

    name: str
    reads_hidden_state: bool

    def reset(self, n_envs: int) -> None:
        """Forget everything about the previous patients (called before new episodes)."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Doses in mg, shape (n_envs,), for the batched observation (and info)."""
