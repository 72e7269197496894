"""The batched core of ``pkgym/Warfarin-v0``: N patients' INR courses and the clinic's records.

Randomness: each episode's seed spawns three child streams (STYLE 14): the patient
(covariates and etas), assay noise (INR measurements) and clinical events (bleeding and
thromboembolism). Each stream's draws for the whole episode are taken at reset, so a step
is array work plus one call of the compiled day (:mod:`pkgym.models.warfarin_kernel`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

import numpy as np
from gymnasium import spaces

from pkgym.envs.actions import shown
from pkgym.envs.ahead import EpisodesAhead, next_episode_of_one, take_row
from pkgym.envs.base import (
    DosingCore,
    EpisodeStreams,
    ObservationModel,
    RewardFn,
)
from pkgym.envs.handed import HandedArrays
from pkgym.envs.warfarin import views as warfarin_views
from pkgym.envs.warfarin.clinic import (
    MAX_TEST_INTERVAL_DAYS,
    ClinicObservation,
    InrOutcome,
    InrRangeReward,
    clinic_parameters,
)
from pkgym.envs.warfarin.kernel import day, draw_episodes
from pkgym.envs.warfarin.records import (
    ClinicRecords,
    ClinicSettings,
    new_records,
    pinned_patient,
    record_arrays,
)
from pkgym.models.warfarin_kernel import DayConstants, day_constants
from pkgym.sim.batch import write_rows
from pkgym.sim.bitgen import NUMPY_NORMAL, bitgen_addresses

CHAIN_CONSTANTS = ("chain_decay", "chain_fill", "chain_weights")
"""Day constants that may be one set shared by every patient (see ``DayConstants``)."""
RESET_CHUNK = 2048
"""Rows built at once by a reset: their draws, records and constants stay in cache."""
HANDED = 3
"""Sets of observation arrays :meth:`WarfarinCore.observe` keeps to reuse (see there)."""


class WarfarinCore(DosingCore):
    """N warfarin patients advanced day by day (see :class:`pkgym.envs.base.DosingCore`)."""

    views = warfarin_views

    def __init__(self, n_patients: int, settings: ClinicSettings, reward_fn: RewardFn,
                 observation_model: ObservationModel) -> None:
        """Allocate N placeholder patients; ``reset_patients`` draws real ones."""
        self.attach_clinic(n_patients, settings, reward_fn, observation_model,
                           dose_levels_mg=settings.scenario.dose_levels_mg)
        self.structure = settings.scenario.hamberg.structure
        self._inr_form = tuple(self.structure.packed())  # plain tuples: see warfarin.kernel
        self._clinic = tuple(clinic_parameters(settings.scenario))
        self.records = new_records(settings, None, None, np.zeros(self.n_patients, object))
        self._draw_sizes = (settings.population.n_draws,
                            len(settings.scenario.hamberg.variability.names),
                            settings.scenario.n_days)
        placeholder = day_constants(self.records.params, self.structure, shared_views=True)
        self.constants = placeholder._replace(**{  # the core's own, writable arrays
            name: np.array(getattr(placeholder, name)) for name in CHAIN_CONSTANTS})
        self._n_days, self._target_inr = settings.scenario.n_days, tuple(
            float(v) for v in settings.scenario.target_inr)
        scored = type(reward_fn) is InrRangeReward
        self._reward_weights = (scored, *(float(getattr(reward_fn, f.name)) if scored else 0.0
                                          for f in fields(InrRangeReward)))
        """The default reward's weights: the compiled day scores it (``score_rows``)."""
        self._packed_of: tuple[Any, Any] | None = None
        self._patient_info: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
        """Rows' :func:`~pkgym.envs.warfarin.views.patient_info`, dropped at every reset."""
        self._patient_info_of: Any = None
        self._packs: tuple[tuple, tuple, tuple, tuple] = ((), (), (), ())
        self._ahead: EpisodesAhead | None = None
        self._row0 = np.zeros(1, dtype=np.int64)
        self._bitgens: dict[int, tuple[EpisodeStreams, np.ndarray]] = {}
        """Each seen slot's bit-generator addresses (:meth:`_addresses`)."""
        self._scratch = ((np.empty(1), np.empty(1, bool), np.empty(1, bool), np.empty(1, bool)),
                         (np.empty(1), np.empty(1, bool), np.empty(1)))
        """:meth:`step_one`'s outcome and score arrays (row 0)."""
        self._handed = HandedArrays(keep=HANDED)
        """Observation arrays :meth:`observe` handed out (reused once no caller holds them)."""
        self._observation_keys: tuple[str, ...] = ()

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
        """New episodes for ``rows``, written into the core's records in place, in row chunks.

        Each slot's draws go into rows of arrays of :data:`RESET_CHUNK` rows at most, in the
        order and amounts of :meth:`episode_draws` (so the numbers are the same); each chunk's
        records and day constants are built in one batched pass and written into the core's
        arrays. Nothing of the batch's size is allocated: at 10^5 patients fresh records
        (about 600 MB) and day constants cost more in page faults than in arithmetic.
        """
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return
        self._patient_info.clear()  # the rows' true parameters and ids change
        if self.n_patients == 1:
            self.records, constants = self._next_of_one(streams[0], patients[0])
            self._store_constants(slice(None), constants)
            return
        for first in range(0, rows.size, RESET_CHUNK):
            chunk = slice(first, first + RESET_CHUNK)
            part, constants = self._episodes(self._draw_episodes(streams[chunk]),
                                             patients[chunk], streams[chunk])
            at = _as_slice(rows[chunk])
            write_rows(self.records, at, part)
            self._store_constants(at, constants)

    def _episodes(self, draws: dict[str, np.ndarray], patients: Sequence[Mapping[str, Any] | None],
                  streams: Sequence[EpisodeStreams]) -> tuple[ClinicRecords, DayConstants]:
        """Records and day constants of fresh episodes from their draws (pinned fields win)."""
        pinned = [None if p is None else self.pin_patient(p) for p in patients]
        entropy = np.array([slot.seed_entropy for slot in streams], dtype=object)
        part = new_records(self.settings, draws, pinned, entropy, self._clinic)
        return part, day_constants(part.params, self.structure, shared_views=True)

    def _next_of_one(self, streams: EpisodeStreams, patient: Mapping[str, Any] | None
                     ) -> tuple[ClinicRecords, DayConstants]:
        """The next episode of a one-patient core, drawn ahead in a batch (``pkgym.envs.ahead``).

        Its records and day constants are built for the whole batch at once; chain constants
        shared by every patient stay one row.
        """
        self._ahead, built = next_episode_of_one(self._ahead, streams, patient,
                                                 self._draw_episodes, self._episodes,
                                                 _episode_row)
        return built
    def _store_constants(self, rows: np.ndarray | slice, constants: DayConstants) -> None:
        """Write the reset rows' day constants into the core's own arrays, in place.

        Chain constants shared by every patient stay one row while the new ones are the
        same; otherwise the core's become per-patient arrays first (n rows).
        """
        grown = {}
        for name in DayConstants._fields[:-1]:
            mine, new = getattr(self.constants, name), getattr(constants, name)
            if mine.shape[0] == 1 and new.shape[0] == 1 and np.array_equal(mine, new):
                continue  # one shared set (or one patient) that stays the same
            if mine.shape[0] != self.n_patients:
                mine = grown[name] = np.repeat(mine, self.n_patients, axis=0)
            mine[rows] = new  # a shared (1, ...) set broadcasts over the rows
        if grown:
            self.constants = self.constants._replace(**grown)

    def _draw_episodes(self, streams: Sequence[EpisodeStreams]) -> dict[str, np.ndarray]:
        """:meth:`episode_draws` of every slot, stacked: each slot fills its own rows."""
        n, (n_draws, n_etas, n_days) = len(streams), self._draw_sizes
        draws = {"covariates": np.empty((n, n_draws)), "eta": np.empty((n, n_etas)),
                 "assay": np.empty((n, n_days)), "events": np.empty((n, n_days, 2))}
        if NUMPY_NORMAL:
            draw_episodes(self._addresses(streams), NUMPY_NORMAL, *draws.values())
            return draws
        f64 = np.float64  # (size, dtype, out) positionally: the same draws, cheaper calls
        for slot, covariates, eta, assay, events in zip(streams, *draws.values(), strict=True):
            patient = slot.patient
            patient.random(None, f64, covariates)
            patient.standard_normal(None, f64, eta)
            slot.noise.standard_normal(None, f64, assay)
            slot.events.random(None, f64, events)
        return draws

    def _addresses(self, streams: Sequence[EpisodeStreams]) -> np.ndarray:
        """The slots' patient, noise and events :func:`bitgen_addresses`, (m, 3).

        Kept per slot with the slot (which keeps its generators alive), so a slot pays for
        them once per seeding; dropped when more than ``4 n + 64`` slots were seen, and on
        pickling or copying (raw pointers into this process's generators).
        """
        known = self._bitgens
        if len(known) > 4 * self.n_patients + 64:
            known.clear()
        out = np.empty((len(streams), 3), dtype=np.int64)
        for k, slot in enumerate(streams):
            kept = known.get(id(slot))
            if kept is None or kept[0] is not slot:
                kept = known[id(slot)] = (slot, bitgen_addresses([slot.patient, slot.noise,
                                                                  slot.events]))
            out[k] = kept[1]
        return out

    def __getstate__(self) -> dict[str, Any]:
        """Pickle and deepcopy state without the kept bit-generator addresses."""
        state = self.__dict__.copy()
        state["_bitgens"] = {}
        return state

    def pin_patient(self, patient: Mapping[str, Any]) -> dict[str, Any]:
        """A pinned patient's validated covariates, etas and id."""
        return pinned_patient(patient, self.settings)

    def new_records(self, draws: dict[str, np.ndarray], pinned: list[dict[str, Any] | None],
                    seed_entropy: np.ndarray) -> Any:
        """Records of fresh episodes for the drawn (or pinned) patients."""
        return new_records(self.settings, draws, pinned, seed_entropy, self._clinic)

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
        rec, n_days = self.records, self._n_days
        if rows.shape[0] == 1:  # a single env: a scalar check, not an array reduction
            if rec.day[rows[0]] >= n_days:
                raise RuntimeError("the episode is over (truncated): call reset() first")
        elif np.any(rec.day[rows] >= n_days):
            raise RuntimeError("the episode is over (truncated): call reset() first")
        doses, chosen = _day_inputs(doses_mg, rows.size)
        n = rows.shape[0]
        out = (np.empty(n), np.empty(n, bool), np.empty(n, bool), np.empty(n, bool))
        distance, in_range, reward = np.empty(n), np.empty(n, bool), np.empty(n)
        day(rows, doses, chosen, rec.pk, rec.chains, *self._packed(), out, self._target_inr,
            self._reward_weights, (distance, in_range, reward))
        if not self._reward_weights[0]:  # an injected reward: scored on the outcome arrays
            outcome = InrOutcome(out[0], distance, in_range, *out[1:])
            reward = np.asarray(self.reward_fn(outcome, doses), dtype=np.float64)
        rec.reward[rows] = reward
        return reward, np.zeros(n, dtype=bool), rec.day[rows] >= n_days

    def step_one(self, decisions: np.ndarray) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """The single env's step: :meth:`step` of row 0, then its observation and info.

        With the compiled default reward no one else sees the day's outcome arrays, so the
        core keeps one set for every step (an injected reward takes the base's path).
        """
        if not self._reward_weights[0]:
            return super().step_one(decisions)
        rec, n_days = self.records, self._n_days
        if rec.day[0] >= n_days:
            raise RuntimeError("the episode is over (truncated): call reset() first")
        doses, chosen = _day_inputs(decisions, 1)
        out, scores = self._scratch
        day(self._row0, doses, chosen, rec.pk, rec.chains, *self._packed(), out,
            self._target_inr, self._reward_weights, scores)
        rec.reward[0] = scores[2][0]
        return (self.observe_row(0), float(scores[2][0]), False, bool(rec.day[0] >= n_days),
                self.info_row(0))

    def _packed(self) -> tuple[tuple, tuple, tuple, tuple]:
        """The compiled day's bundles as plain tuples, rebuilt only when records change."""
        of = self._packed_of
        if of is None or of[0] is not self.records or of[1] is not self.constants:
            self._packed_of = (self.records, self.constants)
            self._packs = (tuple(self.constants), self._inr_form,
                           record_arrays(self.records), self._clinic)
        return self._packs

    # ----- views ---------------------------------------------------------------------------

    def observe(self) -> dict[str, np.ndarray]:
        """Batched observation: arrays no caller holds, reused once every caller dropped them.

        The default model writes into a set of arrays an earlier call handed out when nobody
        holds any of them any more (no reference, view or weak reference:
        :func:`pkgym.envs.handed.unheld`),
        else into a new set (:data:`HANDED` sets kept). A caller cannot tell this from fresh
        arrays; at 10^5 patients a fresh set is 150 MB of first-touch page faults per step.
        """
        model = self.observation_model
        if type(model) is not ClinicObservation:
            return super().observe()
        arrays = self._handed.take(lambda: self._fresh_observation(model))
        return model.fill(self.records, self.settings,
                          dict(zip(self._observation_keys, arrays, strict=True)))

    def _fresh_observation(self, model: ClinicObservation) -> list[np.ndarray]:
        """A new set of the default model's observation arrays (their keys kept)."""
        fresh = model.arrays(self.n_patients, self.settings)
        self._observation_keys = tuple(fresh)
        return list(fresh.values())

    def info(self) -> dict[str, np.ndarray]:
        """Clinical metrics of the last day and the true, hidden state of every patient."""
        return warfarin_views.info(self.records, self.settings)

    def observe_row(self, row: int) -> dict[str, Any]:
        """One patient's observation: the default model reads its row alone (same values)."""
        if type(self.observation_model) is ClinicObservation:
            return self.observation_model.row(self.records, self.settings, row)
        return super().observe_row(row)

    def info_row(self, row: int) -> dict[str, Any]:
        """:meth:`info` of one patient with plain Python values (its episode-fixed part kept)."""
        if self._patient_info_of is not self.records:
            self._patient_info, self._patient_info_of = {}, self.records
        patient = self._patient_info.get(row)
        if patient is None:
            patient = self._patient_info[row] = warfarin_views.patient_info(self.records, row)
        return warfarin_views.info_row(self.records, self.settings, row, patient)


def _day_inputs(decisions: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The day's doses (n,), contiguous float64, and chosen days to the next INR (0: none)."""
    array = np.asarray(decisions, dtype=np.float64)
    doses = (array if array.ndim == 1 and array.flags.c_contiguous
             else np.ascontiguousarray(array[:, 0] if array.ndim == 2 else array))
    chosen = (array[:, 1].astype(np.int64) if array.ndim == 2 else np.zeros(n, dtype=np.int64))
    return doses, chosen


def _as_slice(rows: np.ndarray) -> Any:
    """``rows`` as a slice when they are consecutive (a plain copy, not a scatter), else as is."""
    first, last = int(rows[0]), int(rows[-1])
    return slice(first, last + 1) if last - first + 1 == rows.size and np.all(
        np.diff(rows) == 1) else rows


def _episode_row(built: tuple[ClinicRecords, DayConstants],
                 row: int) -> tuple[ClinicRecords, DayConstants]:
    """One episode's records and day constants from a batch (shared chain sets kept whole)."""
    records, constants = built
    n = records.day.shape[0]
    per_patient = {name: getattr(constants, name)[row:row + 1]
                   for name in DayConstants._fields[:-1] if getattr(constants, name).shape[0] == n}
    return take_row(records, row), constants._replace(**per_patient)
