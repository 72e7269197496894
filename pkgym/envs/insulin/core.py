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

from collections.abc import Mapping
from typing import Any

import numpy as np

from pkgym.envs.base import DosingCore, EpisodeStreams, ObservationModel, RewardFn
from pkgym.envs.insulin import views as insulin_views
from pkgym.envs.insulin.clinic import StepOutcome, bg_risk
from pkgym.envs.insulin.records import (
    HOVORKA_PROFILE,
    PROFILES,
    SEED_HIGH,
    ClinicRecords,
    ClinicSettings,
    announced_per_minute,
    iob_weights,
    new_records,
    pinned_patient,
    plasma_glucose,
    pump_delivery_u,
    sensor_glucose,
    simulate_minutes,
)
from pkgym.models.glucose_sensor import cgm_sensor, measure_cgm


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
        profile = streams.patient.integers(len(PROFILES))
        patient_seed = streams.patient.integers(SEED_HIGH)
        return {"profile": np.array(profile), "patient_seed": np.array(patient_seed),
                "meal_seed": np.array(streams.events.integers(SEED_HIGH)),
                "noise_seed": np.array(streams.noise.integers(SEED_HIGH))}

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
        """Deliver ``doses_mg`` (insulin, U, over the step) to ``rows`` and advance one step."""
        s, rec = self.settings.scenario, self.records
        if np.any(rec.step[rows] >= s.n_steps) or np.any(rec.terminated[rows]):
            raise RuntimeError("the episode is over: call reset()")
        m = s.step_minutes
        delivered = pump_delivery_u(np.asarray(doses_mg, dtype=np.float64), self._pump, m)
        first = rec.step[rows] * m
        announced = announced_per_minute(rec.meal_minutes[rows], rec.meal_grams[rows],
                                         first, m)
        state, memory, pending, bg, sensor, eaten = simulate_minutes(
            s.model, rec.params[rows], rec.state[rows], rec.memory[rows], rec.pending_g[rows],
            np.repeat((delivered / m)[:, None], m, axis=1), announced)
        rec.state[rows], rec.memory[rows], rec.pending_g[rows] = state, memory, pending
        done_step = rec.step[rows]
        rec.delivered_u[rows, done_step], rec.eaten_g[rows, done_step] = delivered, eaten
        rec.step[rows] = done_step + 1
        outcome = self._score_minutes(rows, bg)
        self._measure_now(rec, rows, sensor, bg[:, -1])
        reward = np.asarray(self.reward_fn(outcome, delivered), dtype=np.float64)
        rec.reward[rows], rec.terminated[rows] = reward, outcome.terminated
        truncated = (rec.step[rows] >= s.n_steps) & ~outcome.terminated
        return reward, outcome.terminated.copy(), truncated

    def _score_minutes(self, rows: np.ndarray, bg: np.ndarray) -> StepOutcome:
        """Count the step's minutes into the episode's metrics; the step's risk and end."""
        s, rec = self.settings.scenario, self.records
        low, high = bg_risk(bg)
        counts = {"in_range": (bg >= 70.0) & (bg <= 180.0), "below_70": bg < 70.0,
                  "below_54": bg < 54.0, "above_180": bg > 180.0, "above_250": bg > 250.0}
        for name, hit in counts.items():
            getattr(rec, name)[rows] += hit.sum(axis=1)
        rec.minutes[rows] += bg.shape[1]
        rec.sum_low_risk[rows] += low.sum(axis=1)
        rec.sum_high_risk[rows] += high.sum(axis=1)
        rec.sum_bg[rows] += bg.sum(axis=1)
        rec.sum_bg2[rows] += (bg * bg).sum(axis=1)
        rec.step_low_risk[rows], rec.step_high_risk[rows] = low.mean(axis=1), high.mean(axis=1)
        rec.cost[rows] = np.any(bg < s.hypo_threshold_mg_per_dl, axis=1).astype(np.float64)
        terminated = np.any((bg < s.bg_low_mg_per_dl) | (bg > s.bg_high_mg_per_dl), axis=1)
        return StepOutcome(rec.step_low_risk[rows], rec.step_high_risk[rows], terminated,
                           (s.n_steps - rec.step[rows]).astype(np.float64))

    def _measure_now(self, rec: ClinicRecords, rows: np.ndarray, sensor: np.ndarray,
                     bg_now: np.ndarray) -> None:
        """True BG, CGM reading, insulin on board and announced carbs at the rows' step."""
        s, step = self.settings.scenario, rec.step[rows]
        rec.bg[rows, step] = bg_now
        rec.cgm[rows, step] = measure_cgm(sensor, rec.noise[rows, step], self._sensor)
        weights = self._iob_weights
        back = step[:, None] - 1 - np.arange(weights.size)[None, :]
        basal_step = rec.pump_settings[rows, 0] * s.step_minutes / 60.0
        given = rec.delivered_u[rows[:, None], np.maximum(back, 0)]
        given = np.where(back >= 0, given, basal_step[:, None])
        rec.iob_u[rows] = (given * weights[None, :]).sum(axis=1)  # per row: batch-invariant
        if s.announce_meals:
            rec.announced_now_g[rows] = announced_per_minute(
                rec.meal_minutes[rows], rec.meal_grams[rows], step * s.step_minutes,
                s.step_minutes).sum(axis=1)

    # ----- views ---------------------------------------------------------------------------
    def info(self) -> dict[str, np.ndarray]:
        """Clinical metrics of the last step and episode, and the hidden truth of everyone."""
        return insulin_views.info(self.records, self.settings, np.arange(self.n_patients))
