"""The batched core of ``pkgym/DoseFindingEffTox-v0``: N phase I/II trials, a cohort a step.

A "patient" row of :class:`pkgym.envs.base.DosingCore` is a whole trial. Randomness (STYLE
14): each episode draws its truth from the slot's ``patient`` stream (skipped when the truth
is fixed) and all its outcome uniforms, (max_cohorts, cohort_size), from the ``events``
stream at reset. Level assignment and the action codec are ``pkgym/DoseFinding-v0``'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pkgym.envs.base import DosingCore, EpisodeStreams, ObservationModel, RewardFn
from pkgym.envs.dose_finding.core import TrialLevelActions
from pkgym.envs.dose_finding_efftox import kernel
from pkgym.envs.dose_finding_efftox import views as efftox_views
from pkgym.envs.dose_finding_efftox.clinic import (
    DoseFindingEffToxScenario,
    EffToxCounts,
    EffToxOutcome,
)
from pkgym.envs.dose_finding_efftox.records import EffToxRecords, new_records, pinned_truth
from pkgym.envs.slots import SlotAddresses
from pkgym.models.dose_toxicity import CANDIDATES_PER_ROUND, PROBABILITY_BOUNDS
from pkgym.sim.bitgen import NUMPY_BETA, PCG64_DOUBLE, fill_uniforms


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
        self._slots = SlotAddresses(n, ("patient", "events"))

    def reset_patients(self, rows: np.ndarray, streams: Sequence[EpisodeStreams],
                       patients: Sequence[Mapping[str, Any] | None]) -> None:
        """Start fresh trials in ``rows``: the template's draws and records, batched.

        Each slot's streams give exactly what :meth:`episode_draws` takes from them (the
        compiled :func:`kernel.draw_truths`; ``events.random`` drawn compiled straight into
        its row of the records by :func:`kernel.start_trials`, which writes the records in
        place). A core whose ``episode_draws`` is replaced (a subclass,
        a test feeding other draws), or where numpy exports no ``random_beta``, keeps the
        per-slot template of :class:`DosingCore`.
        """
        if getattr(self.episode_draws, "__func__", None) is not \
                DoseFindingEffToxCore.episode_draws or not NUMPY_BETA:
            super().reset_patients(rows, streams, patients)
            return
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return
        s = self.settings
        addresses, entropy = self._slots(rows, streams)
        tox, eff, both = (self._draw_truths(addresses[:, 0]) if s.fixed_truth is None
                          else (np.tile(x, (rows.size, 1)) for x in s.check_truth(*s.fixed_truth)))
        ids, events = np.full(rows.size, -1, dtype=np.int64), addresses[:, 1].copy()
        try:
            for k, patient in enumerate(patients):
                if patient is not None:
                    pin = self.pin_patient(patient)
                    tox[k] = pin["true_dlt_probabilities"]
                    eff[k] = pin["true_efficacy_probabilities"]
                    both[k], ids[k] = pin["true_joint_probabilities"], pin["id"]
        except Exception:  # a bad pin: the events streams still advance, as they always did
            fill_uniforms(events, np.arange(rows.size),
                          np.empty((rows.size, s.max_cohorts, s.cohort_size)))
            raise
        self.records.trial_id[rows] = ids
        self.records.seed_entropy[rows] = entropy
        kernel.start_trials(rows, tox, eff, both, events, PCG64_DOUBLE, s.start_level,
                            s.target_dlt_rate, s.utility_neither, s.utility_both, *self._arrays())

    def _draw_truths(self, addresses: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``random_truth.sample`` on each patient stream at ``addresses``, compiled, in turn."""
        truth, s = self.settings.random_truth, self.settings
        toxicity = truth.toxicity
        width = min(CANDIDATES_PER_ROUND, toxicity.rounds_per_bound, toxicity.max_rounds)
        tox, eff, both, status, plateaus = kernel.draw_truths(
            addresses, NUMPY_BETA, PCG64_DOUBLE, s.n_doses, width, toxicity.rounds_per_bound,
            toxicity.max_rounds, toxicity.target_dlt_rate, *PROBABILITY_BOUNDS,
            truth.max_rounds, truth.efficacy_low, truth.efficacy_high, truth.floor)
        failed = np.flatnonzero(status != kernel.TRUTH_FOUND)
        if failed.size and status[failed[0]] == kernel.CURVE_NOT_FOUND:
            raise RuntimeError(f"1 curve(s) still rejected after {toxicity.max_rounds} rounds; "
                               "raise max_rounds")
        if failed.size:
            raise RuntimeError(f"no toxicity curve with its MTD at or above level "
                               f"{plateaus[failed[0]]} in {truth.max_rounds} draws")
        return tox, eff, both

    def _arrays(self) -> tuple[np.ndarray, ...]:
        """The records' numeric arrays, in :data:`kernel.TRIAL_FIELDS` order."""
        r: EffToxRecords = self.records
        if getattr(self, "_arrays_of", None) is not r:  # the template path swaps the records
            self._arrays_of, self._array_tuple = r, tuple(getattr(r, name)
                                                          for name in kernel.TRIAL_FIELDS)
        return self._array_tuple

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
        s = self.settings
        ok, assigned, dlts, above, done, relative = kernel.step_trials(
            np.asarray(rows, dtype=np.int64), np.asarray(doses_mg, dtype=np.int64), s.n_doses,
            s.allow_skipping, s.max_sample_size, s.utility_neither, s.utility_both,
            *self._arrays())
        if not ok:
            raise RuntimeError("the episode is over (terminated): call reset()")
        reward = self.reward_fn(EffToxOutcome(above, dlts, relative), assigned)
        return np.asarray(reward, dtype=np.float64), done, np.zeros(rows.size, dtype=bool)

    def info(self) -> dict[str, np.ndarray]:
        """Trial metrics and the true (hidden) truth of every trial."""
        return efftox_views.info(self.records, self.settings)

    def info_row(self, row: int) -> dict[str, Any]:
        """One trial's info, built for that row alone (the values of the default's)."""
        return efftox_views.info_row(self.records, self.settings, row)

    def observe_row(self, row: int) -> dict[str, Any]:
        """One trial's observation: :meth:`EffToxCounts.row` under the default model."""
        if type(self.observation_model) is EffToxCounts:
            return self.observation_model.row(self.records, self.settings, row)
        return super().observe_row(row)
