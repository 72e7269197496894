"""The batched core of ``pkgym/Chemotherapy-v0``: N patients' docetaxel cycles and records.

Randomness: each episode's seed spawns three child streams (STYLE 14): the patient
(covariates and etas), assay noise (neutrophil counts, scans) and clinical events (febrile
neutropenia). Each stream's draws for the whole episode are taken at reset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from pkgym.envs.base import DosingCore, EpisodeStreams, ObservationModel, RewardFn
from pkgym.envs.chemotherapy import views as chemotherapy_views
from pkgym.envs.chemotherapy.clinic import (
    CycleOutcome,
)
from pkgym.envs.chemotherapy.records import (
    OncologySettings,
    measure_anc,
    measure_sld,
    new_records,
    pinned_patient,
)
from pkgym.models.chemotherapy import GRADE4_ANC_1E9_PER_L
from pkgym.models.chemotherapy_kernel import CIRC, SLD, PatientSimulationError, advance_cycles


class ChemotherapyCore(DosingCore):
    """N docetaxel patients advanced cycle by cycle (see :class:`pkgym.envs.base.DosingCore`).

    Decisions are doses in % of the label dose (shape (n,)), with a 0/1 delay column when
    ``allow_delay`` (shape (n, 2)).
    """

    views = chemotherapy_views

    def __init__(self, n_patients: int, settings: OncologySettings, reward_fn: RewardFn,
                 observation_model: ObservationModel) -> None:
        """Allocate N placeholder patients; ``reset_patients`` draws real ones."""
        self.attach_clinic(n_patients, settings, reward_fn, observation_model,
                           dose_levels_mg=np.asarray(settings.scenario.dose_levels_percent,
                                                     dtype=np.float64))
        self.model = settings.model
        self.variability = self.model.variability  # built and validated once per core
        s = settings.scenario
        self._draw_shapes = ((settings.population.n_draws,), (len(self.variability.names),),
                             (s.n_cycles * len(s.lab_days),), (s.n_scans,),
                             (s.n_cycles, s.max_cycle_days))
        self.records = self.new_records(None, None, np.zeros(self.n_patients, object))

    # ----- actions -------------------------------------------------------------------------
    def action_space(self, continuous: bool) -> spaces.Space:
        """Dose levels (or a Box); with delays, ``MultiDiscrete([levels, 2])``."""
        if not self.settings.allow_delay:
            return super().action_space(continuous)
        if continuous:
            raise ValueError("allow_delay=True needs discrete actions (continuous=False)")
        return spaces.MultiDiscrete([len(self.dose_levels_mg), 2])

    def decode_actions(self, actions: Any, continuous: bool, n: int) -> np.ndarray:
        """Dose % (n,), or (n, 2) dose % and delay (0/1) when delays are allowed."""
        if not self.settings.allow_delay:
            return super().decode_actions(actions, continuous, n)
        pairs = np.asarray(actions)
        if pairs.shape not in ((n, 2), (2,) if n == 1 else (n, 2)) or not np.issubdtype(
                pairs.dtype, np.integer) or np.any((pairs.reshape(n, 2)[:, 1] < 0)
                                                   | (pairs.reshape(n, 2)[:, 1] > 1)):
            raise ValueError(f"action must be {n} integer pair(s) [dose level 0.."
                             f"{len(self.dose_levels_mg) - 1}, delay 0 or 1], got {actions!r}")
        pairs = pairs.reshape(n, 2)
        return np.stack([super().decode_actions(pairs[:, 0], False, n), pairs[:, 1]], axis=1)

    def encode_decisions(self, decisions: np.ndarray, continuous: bool) -> np.ndarray:
        """Actions for dose % (n,), or for (n, 2) dose % and delay."""
        decisions = np.asarray(decisions, dtype=np.float64)
        if not self.settings.allow_delay:
            return super().encode_decisions(decisions, continuous)
        if decisions.ndim != 2 or decisions.shape[1] != 2:
            raise ValueError("this env needs decisions of shape (n, 2): dose %, delay 0/1")
        return np.stack([super().encode_decisions(decisions[:, 0], False),
                         (decisions[:, 1] > 0.5).astype(np.int64)], axis=1)

    # ----- reset ---------------------------------------------------------------------------

    def pin_patient(self, patient: Mapping[str, Any]) -> dict[str, Any]:
        """A pinned patient's validated covariates, etas and id."""
        return pinned_patient(patient, self.model, self.variability)

    def new_records(self, draws: dict[str, np.ndarray] | None,
                    pinned: list[dict[str, Any] | None] | None, seed_entropy: np.ndarray) -> Any:
        """Records of fresh episodes for the drawn (or pinned) patients."""
        return new_records(self.settings, draws, pinned, seed_entropy, self.model,
                           self.variability)

    def episode_draws(self, streams: EpisodeStreams) -> dict[str, np.ndarray]:
        """All of one episode's random numbers, from the slot's three streams."""
        return {key: values[0] for key, values in self.draw_episodes([streams]).items()}

    def draw_episodes(self, streams: Sequence[EpisodeStreams]) -> dict[str, np.ndarray]:
        """One episode's random numbers for each slot, slot k filling row k of each array.

        Per slot and stream the order is fixed: patient (covariate uniforms, eta normals),
        noise (ANC normals (n_cycles * n_labs), scan normals (n_scans)), events (febrile
        neutropenia uniforms (n_cycles, max_cycle_days)).
        """
        n = len(streams)
        draws = dict(zip(("covariates", "eta", "anc", "sld", "fn"),
                         (np.empty((n, *shape)) for shape in self._draw_shapes), strict=True))
        covariates, eta, anc, sld, fn = draws.values()
        for k, slot in enumerate(streams):
            slot.patient.random(out=covariates[k])
            slot.patient.standard_normal(out=eta[k])
            slot.noise.standard_normal(out=anc[k])
            slot.noise.standard_normal(out=sld[k])
            slot.events.random(out=fn[k])
        return draws

    # ----- step ----------------------------------------------------------------------------
    def step(self, rows: np.ndarray, doses_mg: np.ndarray) -> tuple[np.ndarray, ...]:
        """Give the cycle's dose (% of label) to ``rows`` and advance them one cycle."""
        rec, s = self.records, self.settings.scenario
        cycle = rec.cycle[rows]
        if np.any(cycle >= s.n_cycles) or np.any(rec.progressed[rows]):
            raise RuntimeError("the episode is over (truncated or progressed): call reset()")
        decisions = np.asarray(doses_mg, dtype=np.float64)
        percent = decisions[:, 0] if decisions.ndim == 2 else decisions
        delayed = decisions[:, 1] > 0.5 if decisions.ndim == 2 else np.zeros(rows.size, bool)
        dose_mg = percent / 100.0 * s.label_dose_mg_per_m2 * rec.covariates["bsa_m2"][rows]
        dose_day = np.where(delayed, s.delay_days, 0).astype(np.int64)
        anc = np.empty((rows.size, s.max_cycle_days))
        before = rec.states[rows, SLD]
        try:
            advance_cycles(rows, dose_mg, dose_day, s.cycle_days + dose_day, s.pk.infusion_h,
                           rec.time_h, rec.states, rec.params, s.solver.rtol, s.solver.atol,
                           s.solver.max_steps, anc)
        except PatientSimulationError as error:
            raise PatientSimulationError(error.rows, [
                f"patient {rec.patient_id[r]} (slot {r})" for r in error.rows]) from error
        rec.dose_percent[rows, cycle], rec.dose_mg[rows, cycle] = percent, dose_mg
        rec.delayed[rows, cycle], rec.daily_anc[rows, cycle] = delayed, anc
        grade4, febrile = self._toxicity(rows, cycle, anc)
        self._labs(rows, cycle, dose_day, anc)
        progressed = self._scan(rows, cycle)
        rec.cycle[rows] = cycle + 1
        baseline = rec.sld_true[rows, 0]
        outcome = CycleOutcome((before - rec.states[rows, SLD]) / baseline, ~rec.progressed[rows],
                               progressed, grade4, febrile)
        reward = np.asarray(self.reward_fn(outcome, percent), dtype=np.float64)
        rec.reward[rows] = reward
        return reward, progressed, (cycle + 1 >= s.n_cycles) & ~progressed

    def _toxicity(self, rows: np.ndarray, cycle: np.ndarray,
                  anc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Grade 4 days and febrile neutropenia (daily hazard while ANC < 0.5) of the cycle."""
        rec, s = self.records, self.settings.scenario
        low = anc < GRADE4_ANC_1E9_PER_L  # NaN (days after the cycle) compare False
        grade4 = low.sum(axis=1)
        p_day = -np.expm1(-s.febrile_neutropenia_per_day)
        febrile = np.any(low & (rec.fn_uniforms[rows, cycle] < p_day), axis=1)
        rec.grade4_days[rows, cycle], rec.febrile[rows, cycle] = grade4, febrile
        return grade4, febrile

    def _labs(self, rows: np.ndarray, cycle: np.ndarray, dose_day: np.ndarray,
              anc: np.ndarray) -> None:
        """Counts on the cycle's lab days after the dose, and the next cycle's day-0 count."""
        rec, s = self.records, self.settings.scenario
        n_labs = len(s.lab_days)
        for k, day in enumerate(s.lab_days):
            if day > 0:
                true = anc[np.arange(rows.size), dose_day + day - 1]
                measure_anc(rec, s, rows, cycle * n_labs + k, true)
        more = cycle + 1 < s.n_cycles
        if more.any():
            nxt = rows[more]
            measure_anc(rec, s, nxt, (cycle[more] + 1) * n_labs + s.lab_days.index(0),
                        rec.states[nxt, CIRC])

    def _scan(self, rows: np.ndarray, cycle: np.ndarray) -> np.ndarray:
        """Scan after every ``scan_every_cycles`` cycles; RECIST progression over the nadir."""
        rec, s = self.records, self.settings.scenario
        rec.sld_true[rows, cycle + 1] = rec.states[rows, SLD]
        due = (cycle + 1) % s.scan_every_cycles == 0
        progressed = np.zeros(rows.size, dtype=bool)
        if due.any():
            scanned = rows[due]
            measured = measure_sld(rec, s, scanned, (cycle[due] + 1) // s.scan_every_cycles,
                                   rec.states[scanned, SLD])
            progressed[due] = s.tumour.progressed(measured, rec.sld_nadir[scanned])
            rec.sld_nadir[scanned] = np.minimum(rec.sld_nadir[scanned], measured)
        rec.progressed[rows] |= progressed
        return progressed

    # ----- views ---------------------------------------------------------------------------
    def info(self) -> dict[str, np.ndarray]:
        """Clinical metrics of the last cycle and the true, hidden state of every patient."""
        return chemotherapy_views.info(self.records, self.settings, np.arange(self.n_patients))
