"""The batched core of ``pkgym/Insulin-v0``: N people with type 1 diabetes, 5 minutes a step.

Randomness: each slot's seed spawns three child streams (STYLE 14). At reset a drawn patient
takes its profile and patient seed from the patient stream, its meal seed from the events
stream and its CGM noise seed from the noise stream; the episode is then built from that row
exactly as a pinned row is (:func:`pkgym.envs.insulin.records.new_records`), so toggling the
noise never changes the patient or the meals, and a cohort row is the same patient in any
batch. Every random number of the episode is drawn at reset; a step is pure array work.

One step delivers the decided insulin (quantised by the pump) as a constant rate over the
step's minutes, eats the announced carbs at 5 g/min and advances all stepped patients in one
call of the compiled model (:func:`pkgym.envs.insulin.records.simulate_minutes`), then reads
the CGM (its pre-drawn error added to the sensor's glucose).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pkgym.envs.base import DosingCore, EpisodeStreams, ObservationModel, RewardFn
from pkgym.envs.insulin import views as insulin_views
from pkgym.envs.insulin.clinic import RiskReward, StepOutcome
from pkgym.envs.insulin.kernel import finish_rows, measure_rows, score_rows
from pkgym.envs.insulin.records import (
    HOVORKA_PROFILE,
    PARALLEL_ROWS,
    PROFILES,
    SEED_HIGH,
    TALLIES,
    ClinicRecords,
    ClinicSettings,
    advance_rows,
    iob_weights,
    new_records,
    pinned_patient,
    plasma_glucose,
    pump_delivery_u,
    sensor_glucose,
)
from pkgym.envs.insulin.seeding import draw_slot_rows
from pkgym.models.glucose_sensor import cgm_sensor
from pkgym.sim.bitgen import bitgen_addresses
from pkgym.utils import check_finite

FINISH_CHUNK = 512
"""Rows a thread books and measures together (:func:`~pkgym.envs.insulin.kernel.finish_rows`)."""


class InsulinCore(DosingCore):
    """N patients on an insulin pump (see :class:`pkgym.envs.base.DosingCore`).

    Decisions are insulin amounts in U delivered over the next decision step, shape (n,).
    """

    views = insulin_views

    def __init__(self, n_patients: int, settings: ClinicSettings, reward_fn: RewardFn,
                 observation_model: ObservationModel) -> None:
        """Allocate N placeholder patients (adult#001 / seed 0); ``reset_patients`` draws."""
        self.attach_clinic(n_patients, settings, reward_fn, observation_model)
        s = settings.scenario
        self._sensor, self._pump = cgm_sensor(s.sensor), settings.pump
        self._iob_weights = iob_weights(s)
        profile = HOVORKA_PROFILE if s.model == "hovorka2004" else "adult#001"
        row = {"profile": profile, "patient_seed": 0, "meal_seed": 0, "noise_seed": 0}
        self.records = self.new_records({}, [row] * self.n_patients,
                                        np.zeros(self.n_patients, dtype=object))

    # ----- reset ---------------------------------------------------------------------------
    def episode_draws(self, streams: EpisodeStreams) -> dict[str, np.ndarray]:
        """One slot's row: profile index and patient seed, meal seed, noise seed."""
        return {key: value[0] for key, value in self.draw_episodes([streams]).items()}

    def draw_episodes(self, streams: Sequence[EpisodeStreams]) -> dict[str, np.ndarray]:
        """Every slot's row (:meth:`episode_draws`), slot k in row k, drawn slot by slot.

        Each slot draws its profile and patient seed from its patient stream, its meal seed
        from its events stream and its noise seed from its noise stream, in that order
        (``integers``'s numbers, compiled: :func:`~pkgym.envs.insulin.seeding.draw_slot_rows`).
        """
        out = {key: np.empty(len(streams), dtype=np.int64) for key in (
            "profile", "patient_seed", "meal_seed", "noise_seed")}
        addresses = bitgen_addresses([rng for slot in streams
                                      for rng in (slot.patient, slot.events, slot.noise)])
        draw_slot_rows(addresses.reshape(len(streams), 3), len(PROFILES), SEED_HIGH,
                       *out.values())  # the streams stay alive meanwhile
        return out

    def pin_patient(self, patient: Mapping[str, Any]) -> dict[str, Any]:
        """A pinned row's validated profile, seeds and id."""
        return pinned_patient(patient, self.settings.scenario.model)

    def new_records(self, draws: dict[str, np.ndarray], pinned: list[dict[str, Any] | None],
                    seed_entropy: np.ndarray) -> ClinicRecords:
        """Records of the drawn (or pinned) rows at the start, the first CGM sample taken."""
        hovorka = self.settings.scenario.model == "hovorka2004"
        rows = []
        for k, row in enumerate(pinned):
            if row is None:
                row = {"profile": HOVORKA_PROFILE if hovorka else
                       PROFILES[int(draws["profile"][k])],
                       **{key: int(draws[key][k]) for key in ("patient_seed", "meal_seed",
                                                              "noise_seed")}}
            rows.append(row)
        records = new_records(self.settings, rows, seed_entropy)
        model = self.settings.scenario.model
        self._measure_now(records, np.arange(len(rows)),
                          sensor_glucose(model, records.params, records.state),
                          plasma_glucose(model, records.params, records.state))
        return records

    # ----- step ----------------------------------------------------------------------------
    def step(self, rows: np.ndarray, doses_mg: np.ndarray) -> tuple[np.ndarray, ...]:
        """Deliver ``doses_mg`` (insulin, U, over the step) to ``rows`` and advance one step.

        The rows' minutes, records, risk and default reward run compiled
        (:mod:`pkgym.envs.insulin.kernel`), numpy's own ``log`` and ``power`` in between.
        """
        s, rec = self.settings.scenario, self.records
        rows = np.asarray(rows, dtype=np.int64)
        if np.any(rec.step[rows] >= s.n_steps) or np.any(rec.terminated[rows]):
            raise RuntimeError("the episode is over: call reset()")
        delivered = pump_delivery_u(np.asarray(doses_mg, dtype=np.float64), self._pump,
                                    s.step_minutes)
        bg, sensor, eaten = advance_rows(s.model, rec, rows, delivered, s.step_minutes)
        log_power = np.log(np.maximum(bg, 1.0)) ** 1.084
        fn = self.reward_fn
        default = type(fn) is RiskReward
        weights = (fn.hypo_weight, fn.termination_penalty) if isinstance(fn, RiskReward) else (
            0.0, 0.0)
        reward, terminated = np.empty(rows.size), np.empty(rows.size, dtype=bool)
        truncated = np.empty(rows.size, dtype=bool)
        booked = (rows, bg, log_power, delivered, eaten, rec.step, rec.delivered_u, rec.eaten_g,
                  tuple(getattr(rec, name) for name in TALLIES),
                  (s.hypo_threshold_mg_per_dl, s.bg_low_mg_per_dl, s.bg_high_mg_per_dl),
                  weights, s.n_steps, rec.terminated, reward, terminated, truncated)
        bg_now = np.ascontiguousarray(bg[:, -1])
        if rows.size < PARALLEL_ROWS:
            score_rows(*booked)
            self._measure_now(rec, rows, sensor, bg_now)
        else:
            check_finite("glucose_mg_per_dl", sensor)
            finish_rows(*booked, (bg_now, sensor, *self._measures(rec)), FINISH_CHUNK)
        if not default:
            outcome = StepOutcome(rec.step_low_risk[rows], rec.step_high_risk[rows], terminated,
                                  (s.n_steps - rec.step[rows]).astype(np.float64))
            reward = np.asarray(self.reward_fn(outcome, delivered), dtype=np.float64)
            rec.reward[rows] = reward
        return reward, terminated, truncated

    def _measure_now(self, rec: ClinicRecords, rows: np.ndarray, sensor: np.ndarray,
                     bg_now: np.ndarray) -> None:
        """True BG, CGM reading, insulin on board and announced carbs at the rows' step."""
        check_finite("glucose_mg_per_dl", sensor)
        measure_rows(rows, bg_now, sensor, *self._measures(rec))

    def _measures(self, rec: ClinicRecords) -> tuple:
        """:func:`~pkgym.envs.insulin.kernel.measure_rows`'s arguments after the rows' own."""
        s, cgm = self.settings.scenario, self._sensor
        return (rec.step, rec.bg, rec.cgm, rec.noise, (cgm.min_mg_per_dl, cgm.max_mg_per_dl),
                rec.delivered_u, rec.pump_settings, self._iob_weights, s.step_minutes, rec.iob_u,
                s.announce_meals, rec.meal_minutes, rec.meal_grams, rec.announced_now_g)

    # ----- views ---------------------------------------------------------------------------
    def info_row(self, row: int) -> dict[str, Any]:
        """One patient's info with plain Python values (:func:`views.info_row`, same values)."""
        return insulin_views.info_row(self.records, self.settings, row)

    def info(self) -> dict[str, np.ndarray]:
        """Clinical metrics of the last step and episode, and the hidden truth of everyone."""
        return insulin_views.info(self.records, self.settings)
