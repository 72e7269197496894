"""Batched state of many simultaneous phase I trials and the design interface."""

from __future__ import annotations

import dataclasses
from typing import Protocol

import numpy as np


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TrialState:
    """Data of ``n_trials`` trials after some cohorts (arrays are updated in place).

    Attributes:
        patients: Patients treated per dose level (n_trials, n_doses), int64.
        dlts: DLTs observed per dose level (n_trials, n_doses), int64.
        levels: Current (last assigned) zero-based dose level (n_trials,), int64.
        stopped: Whether each trial has stopped (n_trials,), bool.
        uniforms: Per-trial U(0, 1) draws for a randomised decision (n_trials, n_doses);
            deterministic designs ignore them.
        last_dlts: DLTs in each trial's most recent cohort (n_trials,), int64; -1 where it is
            unknown (before the first cohort, or a state built from counts alone). The
            coherence rule of :mod:`pkgym.trials.crm_family` reads it.

    Examples:
        >>> state = TrialState.empty(n_trials=2, n_doses=3, start_level=0)
        >>> state.patients.shape, state.levels.tolist()
        ((2, 3), [0, 0])
    """

    patients: np.ndarray  # (n_trials, n_doses)
    dlts: np.ndarray  # (n_trials, n_doses)
    levels: np.ndarray  # (n_trials,)
    stopped: np.ndarray  # (n_trials,)
    uniforms: np.ndarray  # (n_trials, n_doses)
    last_dlts: np.ndarray  # (n_trials,)

    @classmethod
    def empty(cls, *, n_trials: int, n_doses: int, start_level: int) -> TrialState:
        """State before the first cohort: no patients, every trial at ``start_level``."""
        return cls(
            patients=np.zeros((n_trials, n_doses), dtype=np.int64),
            dlts=np.zeros((n_trials, n_doses), dtype=np.int64),
            levels=np.full(n_trials, start_level, dtype=np.int64),
            stopped=np.zeros(n_trials, dtype=bool),
            uniforms=np.full((n_trials, n_doses), 0.5),
            last_dlts=np.full(n_trials, -1, dtype=np.int64),
        )

    @classmethod
    def from_counts(
        cls, patients: object, dlts: object, levels: object, last_dlts: object = None
    ) -> TrialState:
        """Hand-made state from per-dose counts (for tests and interactive use).

        ``last_dlts`` (DLTs in the most recent cohort, per trial) defaults to -1, unknown.

        Examples:
            >>> TrialState.from_counts([[3, 0]], [[0, 0]], [0]).dlts.tolist()
            [[0, 0]]
            >>> TrialState.from_counts([[3, 0]], [[1, 0]], [0], last_dlts=[1]).last_dlts.tolist()
            [1]
        """
        patients_array = np.atleast_2d(np.asarray(patients, dtype=np.int64))
        dlts_array = np.atleast_2d(np.asarray(dlts, dtype=np.int64))
        if patients_array.shape != dlts_array.shape or np.any(dlts_array > patients_array):
            raise ValueError("dlts must have the shape of patients and dlts <= patients")
        return cls(
            patients=patients_array,
            dlts=dlts_array,
            levels=np.asarray(levels, dtype=np.int64).reshape(-1),
            stopped=np.zeros(patients_array.shape[0], dtype=bool),
            uniforms=np.full(patients_array.shape, 0.5),
            last_dlts=np.full(patients_array.shape[0], -1, dtype=np.int64)
            if last_dlts is None
            else np.asarray(last_dlts, dtype=np.int64).reshape(-1),
        )

    @property
    def highest_tried(self) -> np.ndarray:
        """Highest level with a patient in each trial (n_trials,), 0 before any patient.

        The no-skipping rules of CRM, Thompson sampling and learned designs cap the next
        level at one above it.

        Examples:
            >>> TrialState.from_counts([[3, 3, 0], [0, 0, 0]], [[0, 1, 0], [0, 0, 0]],
            ...                        [1, 0]).highest_tried.tolist()
            [1, 0]
        """
        tried = self.patients > 0
        return np.where(tried.any(axis=1), tried.shape[1] - 1 - tried[:, ::-1].argmax(axis=1), 0)


class DoseFindingDesign(Protocol):
    """What the simulator needs from a design; every method is batched over trials."""

    def next_dose(self, state: TrialState) -> np.ndarray:
        """Zero-based level for each trial's next cohort (n_trials,)."""
        ...

    def stop(self, state: TrialState) -> np.ndarray:
        """Whether each trial stops now for a design rule (n_trials,) bool."""
        ...

    def select_mtd(self, state: TrialState) -> np.ndarray:
        """Selected MTD level per trial, -1 for no selection (n_trials,)."""
        ...
