"""The batched core of ``pkgym/DoseFinding-v0``: N phase I trials, one cohort per step.

A "patient" row of :class:`pkgym.envs.base.DosingCore` is a whole trial here. Randomness
(STYLE 14): each episode draws its true curve from the slot's ``patient`` stream (skipped
when the truth is fixed) and all its DLT uniforms, (max_cohorts, cohort_size), from the
``events`` stream at reset. Cohort c's patient i has a DLT when its uniform is below the
true probability of the assigned level, exactly as in
:func:`pkgym.trials.operating_characteristics.simulate_trials`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from pkgym.envs.actions import continuous_actions, decided_levels, discrete_actions
from pkgym.envs.base import DosingCore, EpisodeStreams, ObservationModel, RewardFn
from pkgym.envs.dose_finding import kernel
from pkgym.envs.dose_finding import views as dose_finding_views
from pkgym.envs.dose_finding.clinic import CohortOutcome, DoseFindingEnvScenario, TrialCounts
from pkgym.envs.dose_finding.records import TrialRecords, new_records, pinned_truth
from pkgym.envs.slots import SlotAddresses
from pkgym.sim.bitgen import PCG64_DOUBLE, fill_uniforms


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
    if (type(actions) is int or isinstance(actions, np.integer)) and not continuous \
            and n == 1 and 0 <= actions <= n_doses:
        return np.array([actions], dtype=np.int64)  # the common single-env call
    if continuous:
        scaled = continuous_actions(actions, n, f"level = round((a + 1) / 2 * {n_doses}), "
                                                f"{n_doses} = stop")
        return np.rint((scaled + 1.0) / 2.0 * n_doses).astype(np.int64)
    return discrete_actions(actions, n, n_doses + 1,
                            f"dose levels 0..{n_doses - 1}, {n_doses} = stop")


class TrialLevelActions:
    """The action codec of a trial env: levels 0..n_doses-1 of the next cohort, n_doses stop.

    Shared by ``pkgym/DoseFinding-v0`` and ``pkgym/DoseFindingEffTox-v0`` (their settings hold
    ``n_doses``).
    """

    settings: Any

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


class DoseFindingCore(TrialLevelActions, DosingCore):
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
        self._slot_addresses = SlotAddresses(n, ("patient", "events"))

    def reset_patients(self, rows: np.ndarray, streams: Sequence[EpisodeStreams],
                       patients: Sequence[Mapping[str, Any] | None]) -> None:
        """Start fresh trials in ``rows``: the template's draws and records, batched.

        Each slot's streams give exactly what :meth:`episode_draws` takes from them
        (:meth:`RandomDoseToxicity.sample_each`; ``events.random`` drawn compiled straight
        into its row of the records by :func:`kernel.start_trials`, which writes the records
        in place). A core whose
        ``episode_draws`` is replaced (a subclass, a test feeding other draws) keeps the
        per-slot template of :class:`DosingCore`.
        """
        if getattr(self.episode_draws, "__func__", None) is not DoseFindingCore.episode_draws:
            super().reset_patients(rows, streams, patients)
            return
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return
        s, r = self.settings, self.records
        addresses, entropy = self._slot_addresses(rows, streams)
        if s.true_dlt_probabilities is None:
            truth = s.random_truth.sample_each([slot.patient for slot in streams],
                                               addresses[:, 0])
        else:
            truth = np.tile(np.asarray(s.true_dlt_probabilities, dtype=np.float64),
                            (rows.size, 1))
        ids, events = np.full(rows.size, -1, dtype=np.int64), addresses[:, 1].copy()
        try:
            for k, patient in enumerate(patients):
                if patient is not None:
                    pin = self.pin_patient(patient)
                    truth[k], ids[k] = pin["true_dlt_probabilities"], pin["id"]
        except Exception:  # a bad pin: the events streams still advance, as they always did
            fill_uniforms(events, np.arange(rows.size),
                          np.empty((rows.size, s.max_cohorts, s.cohort_size)))
            raise
        r.trial_id[rows] = ids
        r.seed_entropy[rows] = entropy
        kernel.start_trials(rows, truth, events, PCG64_DOUBLE, s.start_level, s.target_dlt_rate,
                            *self._arrays())

    def _arrays(self) -> tuple[np.ndarray, ...]:
        """The records' numeric arrays, in :data:`kernel.TRIAL_FIELDS` order."""
        r = self.records
        return (r.truth, r.true_mtd, r.patients, r.dlts, r.level, r.highest_tried, r.cohort,
                r.requested, r.assigned, r.selected, r.finished, r.cohort_levels, r.cohort_dlts,
                r.dlt_uniforms)

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


    def step(self, rows: np.ndarray, doses_mg: np.ndarray) -> tuple[np.ndarray, ...]:
        """Stop, recommend (when the trial is full) or treat the next cohort of ``rows``."""
        s = self.settings
        ok, assigned, dlts, above, done, correct = kernel.step_trials(
            np.asarray(rows, dtype=np.int64), np.asarray(doses_mg, dtype=np.int64), s.n_doses,
            s.allow_skipping, s.max_sample_size, *self._arrays())
        if not ok:
            raise RuntimeError("the episode is over (terminated): call reset()")
        reward = self.reward_fn(CohortOutcome(above, dlts, correct), assigned)
        return np.asarray(reward, dtype=np.float64), done, np.zeros(rows.size, dtype=bool)

    def info(self) -> dict[str, np.ndarray]:
        """Trial metrics and the true (hidden) curve of every trial."""
        return dose_finding_views.info(self.records, self.settings)

    def info_row(self, row: int) -> dict[str, Any]:
        """One trial's info, built for that row alone (the values of the default's)."""
        return dose_finding_views.info_row(self.records, row)

    def observe_row(self, row: int) -> dict[str, Any]:
        """One trial's observation: :meth:`TrialCounts.row` under the default model."""
        if type(self.observation_model) is TrialCounts:
            return self.observation_model.row(self.records, self.settings, row)
        return super().observe_row(row)
