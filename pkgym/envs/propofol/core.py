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

from pkgym.envs.base import DosingCore, EpisodeStreams, ObservationModel, RewardFn, draw_into
from pkgym.envs.propofol import views as propofol_views
from pkgym.envs.propofol.clinic import (
    STIMULATION_PROFILES,
    BisReward,
    StepOutcome,
    stimulation_by_step,
)
from pkgym.envs.propofol.kernel import STEP_ARRAYS, propagate_rows, score_rows
from pkgym.envs.propofol.records import (
    ETA_KEYS,
    PLACEHOLDER,
    ClinicRecords,
    ClinicSettings,
    draw_patients,
    new_records,
    pinned_patient,
)


class PropofolCore(DosingCore):
    """N patients on a propofol infusion (see :class:`pkgym.envs.base.DosingCore`).

    Decisions are infusion rates in mg/kg/h held over the next step, shape (n,).
    """

    draws_ahead = True  # every random number of an episode is drawn at its reset
    views = propofol_views

    def __init__(self, n_patients: int, settings: ClinicSettings, reward_fn: RewardFn,
                 observation_model: ObservationModel) -> None:
        """Allocate N reference patients (noise-free); ``reset_patients`` draws real ones."""
        self.attach_clinic(n_patients, settings, reward_fn, observation_model)
        n, s = self.n_patients, settings.scenario
        table = {key: np.full(n, value) for key, value in PLACEHOLDER.items()}
        table["id"] = np.full(n, -1.0)
        self.records = new_records(settings, table, np.zeros((n, len(ETA_KEYS))),
                                   np.zeros((n, s.n_steps + 1)), np.zeros(n, dtype=object))
        self._constants = np.array([s.step_min, s.bis_noise_scale])
        self._stimulation = tuple(np.asarray(v, dtype=np.float64)
                                  for v in STIMULATION_PROFILES[s.stimulation])
        self._stimulation_by_step = stimulation_by_step(s).tolist()
        self._weights_of: RewardFn | None = None
        self._weights = np.zeros(4)

    # ----- reset ---------------------------------------------------------------------------
    def draw_episodes(self, streams: Sequence[EpisodeStreams]) -> dict[str, np.ndarray]:
        """Each slot's covariate uniforms and eta normals (patient), BIS normals (noise)."""
        return draw_into(streams, [
            ("covariates", "patient", "random", (self.settings.population.n_draws,)),
            ("eta", "patient", "standard_normal", (len(ETA_KEYS),)),
            ("noise", "noise", "standard_normal", (self.settings.scenario.n_steps + 1,))])

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
        """Infuse ``doses_mg`` (rates, mg/kg/h) into ``rows`` for one step; advance exactly.

        Two compiled passes around numpy's Hill power (:mod:`pkgym.envs.propofol.kernel`);
        the default :class:`BisReward` is scored there too, any other reward function after.
        """
        s, rec = self.settings.scenario, self.records
        rows = np.asarray(rows, dtype=np.int64)
        if np.any(rec.step[rows] >= s.n_steps):
            raise RuntimeError("the episode is over: call reset()")
        rate = np.ascontiguousarray(doses_mg, dtype=np.float64)
        if rate.shape != rows.shape:
            raise ValueError(f"doses_mg must have one rate per row, shape {rows.shape}, got "
                             f"{rate.shape}")
        arrays = STEP_ARRAYS(rec)
        ce_ratio, gamma, bis = np.empty((2, rows.size)), np.empty((2, rows.size)), np.empty(
            rows.size)
        propagate_rows(rows, rate, arrays, ce_ratio, gamma)
        w = self.reward_fn
        score = type(w) is BisReward
        if isinstance(w, BisReward) and self._weights_of is not w:
            self._weights_of = w
            self._weights = np.array([w.in_range_weight, w.deep_weight, w.light_weight,
                                      w.dose_weight])
        times, points = self._stimulation
        score_rows(rows, rate, arrays, self._constants, times, points, ce_ratio ** gamma,
                   self._weights, score, bis)
        if score:
            reward = rec.reward[rows]
        else:
            reward = np.asarray(self.reward_fn(StepOutcome(bis, rate), rate), dtype=np.float64)
            rec.reward[rows] = reward
        terminated = np.zeros(rows.size, dtype=bool)
        return reward, terminated, rec.step[rows] >= s.n_steps

    # ----- views ---------------------------------------------------------------------------
    def info(self) -> dict[str, np.ndarray]:
        """Clinical metrics of the last step and episode, and the hidden truth of everyone."""
        return propofol_views.info(self.records, self.settings, None)

    def info_row(self, row: int) -> dict[str, Any]:
        """:meth:`info` of one patient as plain Python values, without batched arrays."""
        return propofol_views.info_row(self.records, self.settings, row, self._stimulation_by_step)
