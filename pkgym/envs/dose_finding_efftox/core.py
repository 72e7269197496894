"""The batched core of ``pkgym/DoseFindingEffTox-v0``: N phase I/II trials, a cohort a step.

A "patient" row of :class:`pkgym.envs.base.DosingCore` is a whole trial. Randomness (STYLE
14): each episode draws its truth from the slot's ``patient`` stream (skipped when the truth
is fixed) and all its outcome uniforms, (max_cohorts, cohort_size), from the ``events``
stream at reset. Level assignment and the action codec are ``pkgym/DoseFinding-v0``'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from pkgym.envs.base import DosingCore, EpisodeStreams, ObservationModel, RewardFn
from pkgym.envs.dose_finding.core import TrialLevelActions, assign_levels
from pkgym.envs.dose_finding_efftox import views as efftox_views
from pkgym.envs.dose_finding_efftox.clinic import (
    DoseFindingEffToxScenario,
    EffToxCounts,
    EffToxOutcome,
)
from pkgym.envs.dose_finding_efftox.records import new_records, pinned_truth, treat_cohort


class DoseFindingEffToxCore(TrialLevelActions, DosingCore):
    """N phase I/II trials advanced one cohort per step (see :class:`DosingCore`).

    Decisions are levels, shape (n,): 0..n_doses-1 the next cohort's level, n_doses stop.
    ``dose_levels_mg`` holds the 1-based level numbers (the trial has no mg scale).
    """

    views = efftox_views

    def __init__(self, n_trials: int, scenario: DoseFindingEffToxScenario,
                 reward_fn: RewardFn, observation_model: ObservationModel) -> None:
        """Allocate N placeholder trials; ``reset_patients`` starts real ones."""
        if n_trials < 1:
            raise ValueError(f"n_trials must be >= 1, got {n_trials}")
        self.n_patients, self.settings = int(n_trials), scenario
        self.reward_fn, self.observation_model = reward_fn, observation_model
        self.dose_levels_mg = np.arange(1, scenario.n_doses + 1, dtype=np.float64)
        self.observation_space = observation_model.space(scenario)
        n, shape = self.n_patients, (scenario.max_cohorts, scenario.cohort_size)
        placeholder = scenario.shape_scenario().true_dlt_probabilities
        truth = scenario.check_truth(placeholder, np.full(scenario.n_doses, 0.5), None)
        self.records = new_records(scenario, tuple(np.tile(x, (n, 1)) for x in truth),
                                   np.ones((n, *shape)), np.full(n, -1, np.int64),
                                   np.zeros(n, object))

    def episode_draws(self, streams: EpisodeStreams) -> dict[str, np.ndarray]:
        """One episode's truth (patient stream) and outcome uniforms (events stream)."""
        s = self.settings
        fixed = s.fixed_truth
        tox, eff, both = (s.random_truth.sample(streams.patient) if fixed is None
                          else s.check_truth(*fixed))
        return {"dlt": tox, "response": eff, "both": both,
                "uniforms": streams.events.random((s.max_cohorts, s.cohort_size))}

    def pin_patient(self, patient: Mapping[str, Any]) -> dict[str, Any]:
        """A pinned trial's validated truth and id."""
        return pinned_truth(patient, self.settings)

    def new_records(self, draws: dict[str, np.ndarray], pinned: list[dict[str, Any] | None],
                    seed_entropy: np.ndarray) -> Any:
        """Records of fresh trials for the drawn (or pinned) truths, after the first cohort."""
        truth = tuple(draws[key].copy() for key in ("dlt", "response", "both"))
        ids = np.full(truth[0].shape[0], -1, dtype=np.int64)
        keys = ("true_dlt_probabilities", "true_efficacy_probabilities",
                "true_joint_probabilities")
        for k, row in enumerate(pinned):
            if row is not None:
                for array, key in zip(truth, keys, strict=True):
                    array[k] = row[key]
                ids[k] = row["id"]
        return new_records(self.settings, truth, draws["uniforms"], ids, seed_entropy)


    def step(self, rows: np.ndarray, doses_mg: np.ndarray) -> tuple[np.ndarray, ...]:
        """Stop, recommend (when the trial is full) or treat the next cohort of ``rows``."""
        s, r = self.settings, self.records
        rows = np.asarray(rows, dtype=np.int64)
        if r.finished[rows].any():
            raise RuntimeError("the episode is over (terminated): call reset()")
        requested = np.asarray(doses_mg, dtype=np.int64)
        assigned = assign_levels(r, rows, requested, s)  # type: ignore[arg-type]
        stop = requested == s.n_doses
        full = r.patients[rows].sum(axis=1) >= s.max_sample_size
        treat = ~stop & ~full
        dlts = np.zeros(rows.size, dtype=np.int64)
        dlts[treat] = treat_cohort(r, rows[treat], assigned[treat])
        above = np.where(treat & (assigned > r.true_mtd[rows]), s.cohort_size, 0)
        done = stop | full
        r.requested[rows], r.assigned[rows] = requested, assigned
        r.selected[rows] = np.where(full & ~stop, assigned, -1)
        r.finished[rows] = done
        relative = efftox_views.relative_utilities(r, s)[rows]
        reward = self.reward_fn(EffToxOutcome(above, dlts, relative), assigned)
        return np.asarray(reward, dtype=np.float64), done, np.zeros(rows.size, dtype=bool)

    def info(self) -> dict[str, np.ndarray]:
        """Trial metrics and the true (hidden) truth of every trial."""
        return efftox_views.info(self.records, self.settings)

    def observe_row(self, row: int) -> dict[str, Any]:
        """One trial's observation: :meth:`EffToxCounts.row` under the default model."""
        if type(self.observation_model) is EffToxCounts:
            return self.observation_model.row(self.records, self.settings, row)
        return super().observe_row(row)
