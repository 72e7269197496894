"""The batched core of ``pkgym/Warfarin-v0``: N patients' INR courses and the clinic's records.

Randomness: each episode's seed spawns three child streams (STYLE 14): the patient
(covariates and etas), assay noise (INR measurements) and clinical events (bleeding and
thromboembolism). Each stream's draws for the whole episode are taken at reset, so a step
is array work plus one call of the compiled day (:mod:`pkgym.models.warfarin_kernel`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from pkgym.envs.actions import shown
from pkgym.envs.base import DosingCore, EpisodeStreams, ObservationModel, RewardFn
from pkgym.envs.warfarin import views as warfarin_views
from pkgym.envs.warfarin.clinic import (
    MAX_TEST_INTERVAL_DAYS,
    InrOutcome,
    clinic_parameters,
)
from pkgym.envs.warfarin.kernel import DayOutcome, clinic_day
from pkgym.envs.warfarin.records import (
    ClinicSettings,
    new_records,
    pinned_patient,
    record_arrays,
)
from pkgym.models.warfarin_kernel import advance_days, day_constants
from pkgym.sim.batch import take_rows, write_rows


class WarfarinCore(DosingCore):
    """N warfarin patients advanced day by day (see :class:`pkgym.envs.base.DosingCore`)."""

    views = warfarin_views

    def __init__(self, n_patients: int, settings: ClinicSettings, reward_fn: RewardFn,
                 observation_model: ObservationModel) -> None:
        """Allocate N placeholder patients; ``reset_patients`` draws real ones."""
        if n_patients < 1:
            raise ValueError(f"n_patients must be >= 1, got {n_patients}")
        self.n_patients, self.settings = int(n_patients), settings
        self.reward_fn, self.observation_model = reward_fn, observation_model
        self.dose_levels_mg = settings.scenario.dose_levels_mg
        self.observation_space = observation_model.space(settings)
        self.structure = settings.scenario.hamberg.structure
        self._inr_form = tuple(self.structure.packed())  # plain tuples: see warfarin.kernel
        self._clinic = tuple(clinic_parameters(settings.scenario))
        self.records = new_records(settings, None, None, np.zeros(self.n_patients, object))
        self.constants = day_constants(self.records.params, self.structure)

    # ----- actions -------------------------------------------------------------------------
    def action_space(self, continuous: bool) -> spaces.Space:
        """Dose levels (or a Box); with test-day choice, ``MultiDiscrete([levels, 28])``."""
        if not self.settings.chooses_test_days:
            return super().action_space(continuous)
        if continuous:
            raise ValueError("choose_test_days=True needs discrete actions (continuous=False)")
        return spaces.MultiDiscrete([len(self.dose_levels_mg), MAX_TEST_INTERVAL_DAYS])

    def decode_actions(self, actions: Any, continuous: bool, n: int) -> np.ndarray:
        """Doses (n,), or (n, 2) doses and days to the next INR when the policy picks them."""
        if not self.settings.chooses_test_days:
            return super().decode_actions(actions, continuous, n)
        array = np.asarray(actions)
        if array.shape not in ((n, 2), (2,) if n == 1 else (n, 2)) \
                or not np.issubdtype(array.dtype, np.integer):
            raise ValueError(f"action must be {n} integer pair(s) [dose level 0.."
                             f"{len(self.dose_levels_mg) - 1}, days to next INR - 1 in 0.."
                             f"{MAX_TEST_INTERVAL_DAYS - 1}], got {shown(actions)}")
        pairs = array.reshape(n, 2)
        levels = super().decode_actions(pairs[:, 0], False, n)
        if np.any((pairs[:, 1] < 0) | (pairs[:, 1] >= MAX_TEST_INTERVAL_DAYS)):
            raise ValueError(f"days to next INR - 1 must be in 0..{MAX_TEST_INTERVAL_DAYS - 1}, "
                             f"got {pairs[:, 1].tolist()[:5]}")
        return np.stack([levels, pairs[:, 1] + 1.0], axis=1)

    def encode_decisions(self, decisions: np.ndarray, continuous: bool) -> np.ndarray:
        """Actions for doses (n,), or for (n, 2) doses and days to the next INR."""
        decisions = np.asarray(decisions, dtype=np.float64)
        if not self.settings.chooses_test_days:
            return super().encode_decisions(decisions, continuous)
        if decisions.ndim != 2 or decisions.shape[1] != 2:
            raise ValueError("this env needs decisions of shape (n, 2): dose mg, days to next INR")
        days = np.clip(np.rint(decisions[:, 1]), 1, MAX_TEST_INTERVAL_DAYS).astype(np.int64)
        return np.stack([super().encode_decisions(decisions[:, 0], False), days - 1], axis=1)

    # ----- reset ---------------------------------------------------------------------------

    def reset_patients(self, rows: np.ndarray, streams: Sequence[EpisodeStreams],
                       patients: Sequence[Mapping[str, Any] | None]) -> None:
        """New episodes for ``rows`` (the base's template), then their day constants."""
        super().reset_patients(rows, streams, patients)
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size:
            constants = day_constants(take_rows(self.records.params, rows), self.structure)
            if rows.size == self.n_patients:
                self.constants = constants
            else:
                write_rows(self.constants, rows, constants, skip=("chain_lengths",))

    def pin_patient(self, patient: Mapping[str, Any]) -> dict[str, Any]:
        """A pinned patient's validated covariates, etas and id."""
        return pinned_patient(patient, self.settings)

    def new_records(self, draws: dict[str, np.ndarray], pinned: list[dict[str, Any] | None],
                    seed_entropy: np.ndarray) -> Any:
        """Records of fresh episodes for the drawn (or pinned) patients."""
        return new_records(self.settings, draws, pinned, seed_entropy)

    def episode_draws(self, streams: EpisodeStreams) -> dict[str, np.ndarray]:
        """All of one episode's random numbers, from the slot's three streams."""
        scenario = self.settings.scenario
        n_etas = len(scenario.hamberg.variability.names)
        return {"covariates": streams.patient.random(self.settings.population.n_draws),
                "eta": streams.patient.standard_normal(n_etas),
                "assay": streams.noise.standard_normal(scenario.n_days),
                "events": streams.events.random((scenario.n_days, 2))}

    # ----- step ----------------------------------------------------------------------------
    def step(self, rows: np.ndarray, doses_mg: np.ndarray) -> tuple[np.ndarray, ...]:
        """Give the day's doses to ``rows`` and advance them to the next morning."""
        rec, scenario = self.records, self.settings.scenario
        day = rec.day[rows]
        if np.any(day >= scenario.n_days):
            raise RuntimeError("the episode is over (truncated): call reset() first")
        decisions = np.asarray(doses_mg, dtype=np.float64)
        doses = np.ascontiguousarray(decisions[:, 0] if decisions.ndim == 2 else decisions)
        chosen = (decisions[:, 1].astype(np.int64) if decisions.ndim == 2
                  else np.zeros(rows.size, dtype=np.int64))
        concentrations = np.empty((rows.size, 1))
        advance_days(rows, doses[:, None], rec.pk, rec.chains, self.constants, concentrations)
        inr, bleeding, clot = np.empty(rows.size), np.empty(rows.size, bool), \
            np.empty(rows.size, bool)
        tested = np.empty(rows.size, bool)
        clinic_day(rows, doses, chosen, concentrations[:, 0], rec.chains,
                   self.constants.chain_lengths, self._inr_form, record_arrays(rec),
                   self._clinic, tuple(DayOutcome(inr, bleeding, clot, tested)))
        low, high = scenario.target_inr
        outcome = InrOutcome(inr, np.maximum(low - inr, 0) + np.maximum(inr - high, 0),
                             (inr >= low) & (inr <= high), bleeding, clot, tested)
        reward = np.asarray(self.reward_fn(outcome, doses), dtype=np.float64)
        rec.reward[rows] = reward
        return reward, np.zeros(rows.size, dtype=bool), rec.day[rows] >= scenario.n_days

    # ----- views ---------------------------------------------------------------------------

    def info(self) -> dict[str, np.ndarray]:
        """Clinical metrics of the last day and the true, hidden state of every patient."""
        return warfarin_views.info(self.records, self.settings, np.arange(self.n_patients))

    def info_row(self, row: int) -> dict[str, Any]:
        """:meth:`info` of one patient with plain Python values."""
        return warfarin_views.info_row(self.records, self.settings, row)
