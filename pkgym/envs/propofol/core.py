"""The batched core of ``pkgym/Propofol-v0``: N patients under propofol, 10 s a step.

Randomness: each slot's seed spawns three child streams (STYLE 14). At reset the patient
stream gives the covariate uniforms and the eta normals, the noise stream the BIS residual
error of every sample of the episode; the events stream is unused (no surgical stimulation).
Toggling the noise never changes the patient, and a cohort row is the same patient in any
batch. A step is pure array work: the exact propagator of each patient (computed at reset)
advances the four linear states at the decided constant rate. Surgical stimulation (off by
default) adds its BIS points to the drug's BIS, true and monitored (at the monitor's delay).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pkgym.envs.base import DosingCore, EpisodeStreams, ObservationModel, RewardFn
from pkgym.envs.propofol import views as propofol_views
from pkgym.envs.propofol.clinic import BIS_TARGET, StepOutcome, stimulation_bis
from pkgym.envs.propofol.records import (
    ETA_KEYS,
    PLACEHOLDER,
    ClinicRecords,
    ClinicSettings,
    delayed_bis,
    draw_patients,
    measure_bis,
    new_records,
    pd_of,
    pinned_patient,
)
from pkgym.models.propofol_eleveld import bis_of_ce


class PropofolCore(DosingCore):
    """N patients on a propofol infusion (see :class:`pkgym.envs.base.DosingCore`).

    Decisions are infusion rates in mg/kg/h held over the next step, shape (n,).
    """

    draws_ahead = True  # every random number of an episode is drawn at its reset
    views = propofol_views

    def __init__(self, n_patients: int, settings: ClinicSettings, reward_fn: RewardFn,
                 observation_model: ObservationModel) -> None:
        """Allocate N reference patients (noise-free); ``reset_patients`` draws real ones."""
        if n_patients < 1:
            raise ValueError(f"n_patients must be >= 1, got {n_patients}")
        self.n_patients, self.settings = int(n_patients), settings
        self.reward_fn, self.observation_model = reward_fn, observation_model
        self.dose_levels_mg = settings.dose_levels_mg
        self.observation_space = observation_model.space(settings)
        n, s = self.n_patients, settings.scenario
        table = {key: np.full(n, value) for key, value in PLACEHOLDER.items()}
        table["id"] = np.full(n, -1.0)
        self.records = new_records(settings, table, np.zeros((n, len(ETA_KEYS))),
                                   np.zeros((n, s.n_steps + 1)), np.zeros(n, dtype=object))

    # ----- reset ---------------------------------------------------------------------------
    def draw_episodes(self, streams: Sequence[EpisodeStreams]) -> dict[str, np.ndarray]:
        """Each slot's covariate uniforms and eta normals (patient), BIS normals (noise)."""
        n, s = len(streams), self.settings.scenario
        out = {"covariates": np.empty((n, self.settings.population.n_draws)),
               "eta": np.empty((n, len(ETA_KEYS))), "noise": np.empty((n, s.n_steps + 1))}
        for k, slot in enumerate(streams):
            slot.patient.random(out=out["covariates"][k])
            slot.patient.standard_normal(out=out["eta"][k])
            slot.noise.standard_normal(out=out["noise"][k])
        return out

    def pin_patient(self, patient: Mapping[str, Any]) -> dict[str, Any]:
        """A pinned patient's validated covariates, given etas and id."""
        return pinned_patient(patient, self.settings.model)

    def new_records(self, draws: dict[str, np.ndarray], pinned: list[dict[str, Any] | None],
                    seed_entropy: np.ndarray) -> ClinicRecords:
        """Records of the drawn (or pinned) patients at time 0."""
        table, etas = draw_patients(self.settings, draws["covariates"], draws["eta"], pinned)
        return new_records(self.settings, table, etas, draws["noise"], seed_entropy)

    # ----- step ----------------------------------------------------------------------------
    def step(self, rows: np.ndarray, doses_mg: np.ndarray) -> tuple[np.ndarray, ...]:
        """Infuse ``doses_mg`` (rates, mg/kg/h) into ``rows`` for one step; advance exactly."""
        s, rec = self.settings.scenario, self.records
        if np.any(rec.step[rows] >= s.n_steps):
            raise RuntimeError("the episode is over: call reset()")
        rate = np.asarray(doses_mg, dtype=np.float64)
        k = rec.step[rows]
        rate_mg_per_min = rate * rec.covariates[rows, 1] / 60.0
        state = rec.states[rows, k]
        new = (np.einsum("nij,nj->ni", rec.transition[rows], state)
               + rec.input[rows] * rate_mg_per_min[:, None])
        rec.rates[rows, k], rec.states[rows, k + 1] = rate, new
        rec.step[rows] = k + 1
        pd = pd_of(rec.pd[rows])
        now_min = (k + 1) * s.step_min
        bis = np.clip(bis_of_ce(new[:, 3], pd) + stimulation_bis(s, now_min), 0.0, 100.0)
        rec.bis_true[rows, k + 1] = bis
        seen = delayed_bis(rec, rows, k + 1) + stimulation_bis(s, now_min - pd.delay_s / 60.0)
        rec.bis_measured[rows, k + 1] = measure_bis(seen, pd.residual_sd * s.bis_noise_scale,
                                                    rec.noise[rows, k + 1])
        self._count(rows, k, bis, rate)
        reward = np.asarray(self.reward_fn(StepOutcome(bis, rate), rate), dtype=np.float64)
        rec.reward[rows] = reward
        terminated = np.zeros(rows.size, dtype=bool)
        return reward, terminated, rec.step[rows] >= s.n_steps

    def _count(self, rows: np.ndarray, k: np.ndarray, bis: np.ndarray, rate: np.ndarray) -> None:
        """Add the step to the episode's counts: band, induction, total dose."""
        rec, (low, high) = self.records, BIS_TARGET
        rec.in_range[rows] += (bis >= low) & (bis <= high)
        rec.below_40[rows] += bis < low
        rec.above_60[rows] += bis > high
        first = (rec.induction_step[rows] < 0) & (bis < high)
        rec.induction_step[rows] = np.where(first, k, rec.induction_step[rows])
        rec.total_mg_per_kg[rows] += rate * self.settings.scenario.step_min / 60.0

    # ----- views ---------------------------------------------------------------------------
    def info(self) -> dict[str, np.ndarray]:
        """Clinical metrics of the last step and episode, and the hidden truth of everyone."""
        return propofol_views.info(self.records, self.settings, np.arange(self.n_patients))
