"""The batched core of ``pkgym/Addiction-v0``: N TD-learning patients, a week per step.

Randomness: each episode's seed spawns three child streams (STYLE 14), all drawn at reset:
the patient (etas and the untreated use history of ``burn_in_days``), events (each day's
choice and adherence) and noise (self-report and urine-test errors). The learning state
(values, drug amounts) lives in the records, so a seed replays the whole episode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import is_
from typing import Any

import numpy as np
from gymnasium import spaces

from pkgym.envs.actions import decided_levels
from pkgym.envs.addiction import views as addiction_views
from pkgym.envs.addiction.clinic import (
    CONTINGENCY,
    DAILY_DOSES_MG,
    DAYS_PER_WEEK,
    OBSERVATION_KEYS,
    TREATMENTS,
    AddictionScenario,
    ClinicObservation,
    WeekOutcome,
)
from pkgym.envs.addiction.kernel import (
    REPORT_P,
    draw_uniforms,
    record_values,
    week_day,
    week_end,
    week_treatment,
    week_treatment_parallel,
)
from pkgym.envs.addiction.records import (
    AddictionRecords,
    AddictionSettings,
    new_records,
    pinned_patient,
    restart_records,
)
from pkgym.envs.base import (
    DosingCore,
    EpisodeStreams,
    ObservationModel,
    RewardFn,
)
from pkgym.envs.handed import HandedArrays
from pkgym.models.addiction import VARIED, all_utilities, model_constants
from pkgym.models.addiction_treatment import CM_TEST_DAYS, TreatmentPharmacology
from pkgym.sim.bitgen import NUMPY_NORMAL, PCG64_DOUBLE, bitgen_addresses

PARALLEL_PATIENTS = 2048
"""From this many stepped patients on, the week's treatment (one memory-bound pass over the
records) runs on numba's threads; the daily kernels, called 7 and 180 times, stay serial
(waking threads that often costs more than it saves on a shared machine)."""
HANDED = 2
"""Observation array sets an :class:`AddictionCore` keeps for reuse (see ``observe``)."""


class AddictionCore(DosingCore):
    """N patients advanced a week at a time (see :class:`pkgym.envs.base.DosingCore`).

    Decisions are action indices (float or int, shape (n,)); ``dose_levels_mg`` is
    ``arange(n_actions)`` so that generic code mapping levels to "doses" passes indices.
    """

    draws_ahead = True  # every random number of an episode is drawn at its reset
    _scratch: dict[str, np.ndarray] | None = None
    """The etas and burn-in uniforms of a reset of every row, reused (never pickled)."""
    _bitgens: dict[int, tuple[Any, Any]]
    """Bit-generator addresses by slot (``id``), and of the last batch (key -1)."""

    views = addiction_views

    def __init__(self, n_patients: int, settings: AddictionSettings, reward_fn: RewardFn,
                 observation_model: ObservationModel) -> None:
        """Allocate N placeholder patients; ``reset_patients`` draws real ones."""
        self.attach_clinic(n_patients, settings, reward_fn, observation_model,
                           dose_levels_mg=np.arange(len(TREATMENTS), dtype=np.float64))
        self.records = new_records(settings, None, [None] * self.n_patients,
                                   np.zeros(self.n_patients, dtype=object))
        scenario = settings.scenario
        self._constants = clinic_constants(scenario)
        self._pharmacology = pharmacology_table(scenario.pharmacology)
        self._variability = settings.model.variability
        self._bitgens = {}
        self._handed = HandedArrays(keep=HANDED)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle and deepcopy state without the reset's scratch and bit-generator addresses.

        The addresses are raw pointers into this process's generators: a copy (with its own
        copies of the generators) must look them up again, or it would draw from the
        original's.
        """
        state = {key: value for key, value in self.__dict__.items() if key != "_scratch"}
        state["_bitgens"] = {}
        return state

    def action_space(self, continuous: bool) -> spaces.Space:
        """``Discrete(7)`` over :data:`TREATMENTS`; there is no continuous variant."""
        if continuous:
            raise ValueError("pkgym/Addiction-v0 has discrete treatments only (continuous=False)")
        return spaces.Discrete(len(TREATMENTS))

    def encode_decisions(self, decisions: np.ndarray, continuous: bool) -> np.ndarray:
        """Actions for decisions that are action indices (n,)."""
        return decided_levels(decisions, len(TREATMENTS), "action indices of the treatments")


    def build_episodes(self, draws: dict[str, np.ndarray],
                       patients: Sequence[Mapping[str, Any] | None],
                       streams: Sequence[EpisodeStreams]) -> AddictionRecords:
        """Records of fresh episodes from their draws (a pinned patient's etas replace them)."""
        pinned = [None if p is None else self.pin_patient(p) for p in patients]
        entropy = np.array([slot.seed_entropy for slot in streams], dtype=object)
        return new_records(self.settings, draws, pinned, entropy, self._variability)

    def reset_patients(self, rows: np.ndarray, streams: Sequence[EpisodeStreams],
                       patients: Sequence[Mapping[str, Any] | None]) -> None:
        """New episodes for ``rows`` (the base's template); all N rows reuse the records' arrays.

        A reset of every row of a batch draws each slot's etas and uniforms compiled on the
        slot's own bit generators (:func:`kernel.draw_uniforms`; the etas with numpy where
        numpy does not export its normal), the uniforms straight into the records' arrays:
        the numbers of :meth:`draw_episodes`, in its order. The rest is written in place
        (:func:`restart_records`).
        """
        rows = np.asarray(rows, dtype=np.int64)
        n = self.n_patients
        if n == 1 or rows.size != n or not np.array_equal(rows, np.arange(n)):
            super().reset_patients(rows, streams, patients)
            return
        draws = self._scratch
        if draws is None:
            draws = self._scratch = {
                "eta": np.empty((n, len(VARIED))),
                "burn_in_by_day": np.empty((self.settings.scenario.burn_in_days, n))}
        if not NUMPY_NORMAL:
            for k, slot in enumerate(streams):
                slot.patient.standard_normal(out=draws["eta"][k])
        rec = self.records
        draw_uniforms(self._addresses(streams), NUMPY_NORMAL, PCG64_DOUBLE, draws["eta"],
                      draws["burn_in_by_day"], rec.choice_uniforms, rec.adherence_uniforms,
                      rec.report_uniforms, rec.test_uniforms)
        pinned = [None if p is None else self.pin_patient(p) for p in patients]
        entropy = np.array([slot.seed_entropy for slot in streams], dtype=object)
        restart_records(rec, self.settings, draws, pinned, entropy, self._variability)

    def _addresses(self, streams: Sequence[EpisodeStreams]) -> np.ndarray:
        """The slots' patient, events and noise :func:`bitgen_addresses` (m, 3), kept per slot.

        Kept with the slot's streams (which keeps the generators alive), so a slot pays for
        them once per seeding, not once per episode.
        """
        cache, rows = self._bitgens, []
        last = cache.get(-1)  # the whole batch of the last call, when the same slots come again
        if last is not None and len(last[0]) == len(streams) and all(map(is_, last[0], streams)):
            return last[1]
        for slot in streams:
            hit = cache.get(id(slot))
            if hit is None or hit[0] is not slot:
                if len(cache) >= 2 * self.n_patients:
                    cache.clear()
                hit = cache[id(slot)] = (slot, tuple(bitgen_addresses(
                    [slot.patient, slot.events, slot.noise]).tolist()))
            rows.append(hit[1])
        addresses = np.array(rows, dtype=np.int64).reshape(len(rows), 3)
        cache[-1] = (tuple(streams), addresses)
        return addresses

    def draw_episodes(self, streams: Sequence[EpisodeStreams]) -> dict[str, np.ndarray]:
        """:meth:`episode_draws` of every slot, stacked: each slot fills its own rows."""
        n, scenario = len(streams), self.settings.scenario
        n_weeks, n_days = scenario.n_weeks, scenario.n_weeks * DAYS_PER_WEEK
        eta, burn_in = np.empty((n, len(VARIED))), np.empty((n, scenario.burn_in_days))
        events, noise = np.empty((n, 2 * n_days)), np.empty((n, n_days + n_weeks))
        _draw_into(streams, eta, burn_in, events, noise)
        weeks = (n, n_weeks, DAYS_PER_WEEK)
        return {"eta": eta, "burn_in": burn_in, "choice": events[:, :n_days].reshape(weeks),
                "adherence": events[:, n_days:].reshape(weeks),
                "report": noise[:, :n_days].reshape(weeks), "test": noise[:, n_days:]}

    def pin_patient(self, patient: Mapping[str, Any]) -> dict[str, Any]:
        """A pinned patient's validated covariates, etas and id."""
        return pinned_patient(patient, self.settings)

    def new_records(self, draws: dict[str, np.ndarray], pinned: list[dict[str, Any] | None],
                    seed_entropy: np.ndarray) -> Any:
        """Records of fresh episodes for the drawn (or pinned) patients."""
        return new_records(self.settings, draws, pinned, seed_entropy, self._variability)

    def episode_draws(self, streams: EpisodeStreams) -> dict[str, np.ndarray]:
        """All of one episode's random numbers, from the slot's three streams."""
        scenario = self.settings.scenario
        shape = (scenario.n_weeks, DAYS_PER_WEEK)
        return {"eta": streams.patient.standard_normal(len(VARIED)),
                "burn_in": streams.patient.random(scenario.burn_in_days),
                "choice": streams.events.random(shape), "adherence": streams.events.random(shape),
                "report": streams.noise.random(shape),
                "test": streams.noise.random(scenario.n_weeks)}

    def step(self, rows: np.ndarray, doses_mg: np.ndarray) -> tuple[np.ndarray, ...]:
        """Give each row its week of treatment (``doses_mg``: action indices)."""
        rec, scenario = self.records, self.settings.scenario
        week = rec.week[rows]
        if np.any(week >= scenario.n_weeks):
            raise RuntimeError("the episode is over (truncated): call reset() first")
        actions = np.asarray(doses_mg).reshape(rows.size).astype(np.int64)
        rec.actions[rows, week] = actions
        use_days = simulate_week(rec, rows, week, actions, self._constants, self._pharmacology)
        rec.week[rows] = week + 1
        record_values(rows, week + 1, rec.values, rec.value_course)
        reward = np.asarray(self.reward_fn(WeekOutcome(use_days, actions), actions), np.float64)
        rec.reward[rows] = reward
        return reward, np.zeros(rows.size, dtype=bool), week + 1 >= scenario.n_weeks

    def info(self) -> dict[str, np.ndarray]:
        """Clinical metrics of the last week and the true, hidden state of every patient."""
        return addiction_views.info(self.records, self.settings)

    def observe(self) -> dict[str, np.ndarray]:
        """Batched observation: arrays no caller holds, reused once every caller dropped them.

        The default model writes into a set of arrays an earlier call handed out when nobody
        holds any of them any more (no reference, view or weak reference:
        :func:`pkgym.envs.handed.unheld`),
        else into a new set (:data:`HANDED` sets kept); every element is written. A caller
        cannot tell this from fresh arrays, and fresh ones cost their first-touch page faults
        every step (as much as the values themselves at 10^4 patients).
        """
        model = self.observation_model
        if type(model) is not ClinicObservation:
            return super().observe()
        arrays = self._handed.take(
            lambda: list(model.arrays(self.n_patients, self.settings).values()))
        return model.fill(self.records, dict(zip(OBSERVATION_KEYS, arrays, strict=True)))


def _draw_into(streams: Sequence[EpisodeStreams], eta: np.ndarray, burn_in: np.ndarray,
               events: np.ndarray, noise: np.ndarray) -> None:
    """Each slot's episode numbers into row k of each array (:meth:`AddictionCore.episode_draws`).

    The patient stream gives the etas then the burn-in uniforms; the events stream each
    day's choice then adherence uniforms (one draw of both); the noise stream the reports
    then the tests.
    """
    for k, slot in enumerate(streams):
        slot.patient.standard_normal(out=eta[k])
        slot.patient.random(out=burn_in[k])
        slot.events.random(out=events[k])
        slot.noise.random(out=noise[k])


def simulate_week(rec: AddictionRecords, rows: np.ndarray, week: np.ndarray,
                  actions: np.ndarray, constants: np.ndarray,
                  pharmacology: np.ndarray) -> np.ndarray:
    """Seven days of treatment, choice and learning for ``rows``, written into ``rec``.

    The compiled kernels of :mod:`pkgym.envs.addiction.kernel`, with each day's softmax
    ``exp`` batched in numpy between them. Returns the week's true use days (m,).
    """
    m = rows.size
    choices, blocked = np.empty((DAYS_PER_WEEK, m)), np.empty((DAYS_PER_WEEK, m))
    treatment = week_treatment_parallel if m >= PARALLEL_PATIENTS else week_treatment
    treatment(rows, week, actions, DAILY_DOSES_MG, pharmacology,
              (rec.adherence_uniforms, rec.choice_uniforms, rec.amounts, rec.taken,
               rec.occupancy), choices, blocked)
    on_cm = CONTINGENCY[actions]
    streaks = np.where(on_cm, rec.cm_streak[rows], 0)
    used = np.zeros((DAYS_PER_WEEK, m), dtype=bool)
    utilities, weights = np.empty((m, 3)), np.empty((m, 3))
    all_utilities(rec.values, rows, constants[4:7], rec.params, utilities)
    for day in range(DAYS_PER_WEEK):
        np.exp(utilities, out=weights)
        week_day(day, day in CM_TEST_DAYS, rows, week, on_cm, weights,
                 (choices, blocked, used, streaks), (rec.test_uniforms, rec.urine_positive),
                 rec.values, rec.params, constants, utilities)
    use_days = np.empty(m, dtype=np.int64)
    week_end(rows, week, used, (rec.used, rec.report_uniforms, rec.reported),
             float(constants[REPORT_P]), use_days)
    rec.cm_streak[rows] = streaks
    return use_days


def clinic_constants(scenario: AddictionScenario) -> np.ndarray:
    """The scenario's numbers the day kernel reads, (13,) (indices named in the kernel).

    Examples:
        >>> clinic_constants(AddictionScenario())[7:].tolist()
        [3.0, 1.5, 0.8, 0.9, 0.050000000000000044, 3.0]
    """
    model, pharmacology = scenario.redish, scenario.pharmacology
    return np.array([*model_constants(model).tolist(), pharmacology.voucher_reward,
                     pharmacology.voucher_increment, scenario.report_probability,
                     scenario.urine_sensitivity, 1 - scenario.urine_specificity,
                     scenario.urine_window_days], dtype=np.float64)


def pharmacology_table(pharmacology: TreatmentPharmacology) -> np.ndarray:
    """Retention per day, its -log, A50 (mg) and adherence of each drug, (4, 2).

    Examples:
        >>> pharmacology_table(TreatmentPharmacology())[2].round(2).tolist()
        [4.34, 7.69]
    """
    retention = pharmacology.daily_retention
    return np.stack([retention, -np.log(retention), pharmacology.half_occupancy_amounts_mg,
                     pharmacology.adherence])
