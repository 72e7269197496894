"""The batched core of ``pkgym/DoseFinding-v0``: N phase I trials, one cohort per step.

A "patient" row of :class:`pkgym.envs.base.DosingCore` is a whole trial here. Randomness
(STYLE 14): each episode draws its true curve from the slot's ``patient`` stream (skipped
when the truth is fixed) and all its DLT uniforms, (max_cohorts, cohort_size), from the
``events`` stream at reset. Cohort c's patient i has a DLT when its uniform is below the
true probability of the assigned level, exactly as in
:func:`pkgym.trials.operating_characteristics.simulate_trials`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces

from pkgym.envs.actions import continuous_actions, decided_levels, discrete_actions
from pkgym.envs.base import DosingCore, EpisodeStreams, ObservationModel, RewardFn
from pkgym.envs.dose_finding import views as dose_finding_views
from pkgym.envs.dose_finding.clinic import CohortOutcome, DoseFindingEnvScenario
from pkgym.envs.dose_finding.records import TrialRecords, new_records, pinned_truth, treat_cohort


def assign_levels(records: TrialRecords, rows: np.ndarray, requested: np.ndarray,
                  scenario: DoseFindingEnvScenario) -> np.ndarray:
    """Assigned levels: the requested ones, lowered to (highest tried + 1) unless skipping.

    A stop request (``n_doses``) keeps the current level. Once a trial is full the level is
    its recommended MTD, lowered to the highest level tried (never an untested dose).
    """
    stop = requested == scenario.n_doses
    assigned = np.where(stop, records.level[rows], requested)
    if not scenario.allow_skipping:
        assigned = np.minimum(assigned, records.highest_tried[rows] + 1)
    full = records.patients[rows].sum(axis=1) >= scenario.max_sample_size
    return np.where(full & ~stop, np.minimum(assigned, records.highest_tried[rows]), assigned)


def actions_to_levels(actions: Any, n_doses: int, continuous: bool, n: int) -> np.ndarray:
    """Levels (n,) of a batch of actions (``n_doses``: stop), with a clear error for bad ones.

    A continuous action ``a`` in [-1, 1] gives ``round((a + 1) / 2 * n_doses)``.

    Examples:
        >>> actions_to_levels(np.array([[-1.0], [1.0]]), 5, True, 2).tolist()
        [0, 5]
    """
    if type(actions) is int and not continuous and n == 1 and 0 <= actions <= n_doses:
        return np.array([actions], dtype=np.int64)  # the common single-env call
    if continuous:
        scaled = continuous_actions(actions, n, f"level = round((a + 1) / 2 * {n_doses}), "
                                                f"{n_doses} = stop")
        return np.rint((scaled + 1.0) / 2.0 * n_doses).astype(np.int64)
    return discrete_actions(actions, n, n_doses + 1,
                            f"dose levels 0..{n_doses - 1}, {n_doses} = stop")


class DoseFindingCore(DosingCore):
    """N phase I trials advanced one cohort per step (see :class:`DosingCore`).

    Decisions are levels, shape (n,): 0..n_doses-1 the next cohort's level, n_doses stop.
    ``dose_levels_mg`` holds the 1-based level numbers (the trial has no mg scale).
    """

    views = dose_finding_views

    def __init__(self, n_trials: int, scenario: DoseFindingEnvScenario, reward_fn: RewardFn,
                 observation_model: ObservationModel) -> None:
        """Allocate N placeholder trials; ``reset_patients`` starts real ones."""
        if n_trials < 1:
            raise ValueError(f"n_trials must be >= 1, got {n_trials}")
        self.n_patients, self.settings = int(n_trials), scenario
        self.reward_fn, self.observation_model = reward_fn, observation_model
        self.dose_levels_mg = np.arange(1, scenario.n_doses + 1, dtype=np.float64)
        self.observation_space = observation_model.space(scenario)
        n, shape = self.n_patients, (scenario.max_cohorts, scenario.cohort_size)
        truth = np.tile(scenario.shape_scenario().true_dlt_probabilities, (n, 1))
        self.records = new_records(scenario, truth, np.ones((n, *shape)),
                                   np.full(n, -1, np.int64), np.zeros(n, object))

    def episode_draws(self, streams: EpisodeStreams) -> dict[str, np.ndarray]:
        """One episode's true curve (patient stream) and DLT uniforms (events stream)."""
        s = self.settings
        if s.true_dlt_probabilities is None:
            truth = s.random_truth.sample(streams.patient, 1)[0]
        else:
            truth = np.asarray(s.true_dlt_probabilities, dtype=np.float64)
        return {"truth": truth,
                "uniforms": streams.events.random((s.max_cohorts, s.cohort_size))}

    def pin_patient(self, patient: Mapping[str, Any]) -> dict[str, Any]:
        """A pinned trial's validated true DLT probabilities and id."""
        return pinned_truth(patient, self.settings)

    def new_records(self, draws: dict[str, np.ndarray], pinned: list[dict[str, Any] | None],
                    seed_entropy: np.ndarray) -> Any:
        """Records of fresh trials for the drawn (or pinned) truths, after the first cohort."""
        truth = draws["truth"].copy()
        ids = np.full(truth.shape[0], -1, dtype=np.int64)
        for k, row in enumerate(pinned):
            if row is not None:
                truth[k], ids[k] = row["true_dlt_probabilities"], row["id"]
        return new_records(self.settings, truth, draws["uniforms"], ids, seed_entropy)

    def action_space(self, continuous: bool) -> spaces.Space:
        """``Discrete(n_doses + 1)`` (the last: stop), or ``Box(-1, 1, (1,))``."""
        if continuous:
            return spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        return spaces.Discrete(self.settings.n_doses + 1)

    def decode_actions(self, actions: Any, continuous: bool, n: int) -> np.ndarray:
        """Levels (n,) of a batch of actions; ``n_doses`` means stop."""
        return actions_to_levels(actions, self.settings.n_doses, continuous, n)

    def encode_decisions(self, decisions: np.ndarray, continuous: bool) -> np.ndarray:
        """Actions giving the levels ``decisions`` (whole numbers 0..n_doses, the last: stop)."""
        n_doses = self.settings.n_doses
        levels = decided_levels(decisions, n_doses + 1, f"dose levels 0..{n_doses - 1}, "
                                                        f"{n_doses} = stop")
        if continuous:
            return (2.0 * levels / self.settings.n_doses - 1.0).astype(np.float32)[:, None]
        return levels

    def step(self, rows: np.ndarray, doses_mg: np.ndarray) -> tuple[np.ndarray, ...]:
        """Stop, recommend (when the trial is full) or treat the next cohort of ``rows``."""
        r, s = self.records, self.settings
        if np.any(r.finished[rows]):
            raise RuntimeError("the episode is over (terminated): call reset()")
        requested = np.asarray(doses_mg, dtype=np.int64)
        assigned = assign_levels(r, rows, requested, s)
        stop = requested == s.n_doses
        full = r.patients[rows].sum(axis=1) >= s.max_sample_size
        treat = ~stop & ~full
        dlts, above = np.zeros(rows.size, np.int64), np.zeros(rows.size, np.int64)
        if treat.any():
            dlts[treat] = treat_cohort(r, rows[treat], assigned[treat])
            above[treat] = np.where(assigned[treat] > r.true_mtd[rows[treat]], s.cohort_size, 0)
        done = stop | full
        r.requested[rows], r.assigned[rows] = requested, assigned
        r.selected[rows] = np.where(full & ~stop, assigned, -1)
        r.finished[rows] = done
        correct = done & (r.selected[rows] == r.true_mtd[rows])
        reward = self.reward_fn(CohortOutcome(above, dlts, correct), assigned)
        return np.asarray(reward, dtype=np.float64), done, np.zeros(rows.size, dtype=bool)

    def info(self) -> dict[str, np.ndarray]:
        """Trial metrics and the true (hidden) curve of every trial."""
        return dose_finding_views.info(self.records, self.settings)
