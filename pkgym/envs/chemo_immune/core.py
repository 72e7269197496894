"""The batched core of ``pkgym/ChemoImmune-v0``: N patients' cell courses and the clinic's records.

Randomness: each episode's seed spawns three child streams (STYLE 14): the patient (tumour
burden at day 0 and the etas) and measurement noise (daily N, T, I); the model has no
clinical events, so the third stream is unused. Each stream's draws for the whole episode
are taken at reset, so a step is one compiled RK4 day (:mod:`pkgym.models.tumour_immune`)
plus array work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pkgym.envs.base import DosingCore, EpisodeStreams, ObservationModel, RewardFn
from pkgym.envs.chemo_immune import views as chemo_immune_views
from pkgym.envs.chemo_immune.clinic import CellCountObservation, ChemoOutcome
from pkgym.envs.chemo_immune.kernel import draw_episodes as draw_compiled
from pkgym.envs.chemo_immune.kernel import record_doses, record_measured, record_morning
from pkgym.envs.chemo_immune.records import (
    ChemoSettings,
    measure,
    new_records,
    pinned_patient,
    restart_records,
)
from pkgym.envs.handed import HandedArrays
from pkgym.envs.slots import SlotAddresses
from pkgym.models.tumour_immune import advance_rows
from pkgym.sim.bitgen import NUMPY_NORMAL, bitgen_addresses

HANDED = 2
"""Observed dose arrays :meth:`ChemoImmuneCore.observe` keeps to write again (see there)."""


class ChemoImmuneCore(DosingCore):
    """N chemotherapy patients advanced day by day (see :class:`pkgym.envs.base.DosingCore`).

    Doses are infusion rates in drug units/day (``dose_levels_mg`` keeps the base's name).
    """

    views = chemo_immune_views

    def __init__(self, n_patients: int, settings: ChemoSettings, reward_fn: RewardFn,
                 observation_model: ObservationModel) -> None:
        """Allocate N placeholder patients; ``reset_patients`` draws real ones."""
        self.attach_clinic(n_patients, settings, reward_fn, observation_model,
                           dose_levels_mg=settings.scenario.dose_levels)
        self.solver = settings.scenario.solver.config()
        self.variability = settings.model.variability  # built and validated once per core
        self._draw_shapes = ((settings.population.n_draws,), (len(self.variability.names),),
                             (settings.scenario.n_days + 1, 3))
        self.records = self.new_records(None, [None] * self.n_patients,
                                        np.zeros(self.n_patients, dtype=object))
        self._slots = SlotAddresses(self.n_patients, ("patient", "noise"))
        self._handed = HandedArrays(keep=HANDED)
        """Dose arrays :meth:`observe` handed out (pickled and copied empty)."""

    def pin_patient(self, patient: Mapping[str, Any]) -> dict[str, Any]:
        """A pinned patient's validated covariates, etas and id."""
        return pinned_patient(patient, self.settings, self.variability)

    def new_records(self, draws: dict[str, np.ndarray] | None,
                    pinned: list[dict[str, Any] | None], seed_entropy: np.ndarray) -> Any:
        """Records of fresh episodes for the drawn (or pinned) patients."""
        return new_records(self.settings, draws, pinned, seed_entropy, self.variability)

    def episode_draws(self, streams: EpisodeStreams) -> dict[str, np.ndarray]:
        """All of one episode's random numbers, from the slot's patient and noise streams."""
        return {key: values[0] for key, values in self.draw_episodes([streams]).items()}

    def draw_episodes(self, streams: Sequence[EpisodeStreams],
                      assay: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """One episode's random numbers for each slot, slot k filling row k of each array.

        Per slot: the patient stream gives the covariate uniforms then the eta normals, the
        noise stream the assay normals (n_days + 1, 3) (into ``assay`` when given); the
        events stream is not drawn from. Compiled (:func:`kernel.draw_episodes`) on each
        slot's bit generators where numpy exports ``random_standard_normal``.
        """
        if not NUMPY_NORMAL:
            return self._draw_with_numpy(streams, assay)
        known: dict[int, np.ndarray] = {}  # a slot that comes k times is looked up once
        for slot in streams:
            if id(slot) not in known:
                known[id(slot)] = bitgen_addresses([slot.patient, slot.noise])
        return self._draw(np.array([known[id(slot)] for slot in streams],
                                   dtype=np.int64).reshape(-1, 2), assay)

    def _draw(self, addresses: np.ndarray, assay: np.ndarray | None) -> dict[str, np.ndarray]:
        """:meth:`draw_episodes` of the slots whose streams are at ``addresses`` (m, 2)."""
        m = addresses.shape[0]
        covariates, eta = (np.empty((m, *shape)) for shape in self._draw_shapes[:2])
        if assay is None:
            assay = np.empty((m, *self._draw_shapes[2]))
        draw_compiled(addresses, NUMPY_NORMAL, covariates, eta, assay)
        return {"covariates": covariates, "eta": eta, "assay": assay}

    def _draw_with_numpy(self, streams: Sequence[EpisodeStreams],
                         assay: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """:meth:`draw_episodes` slot by slot with numpy's methods."""
        n = len(streams)
        covariates, eta = (np.empty((n, *shape)) for shape in self._draw_shapes[:2])
        if assay is None:
            assay = np.empty((n, *self._draw_shapes[2]))
        for k, slot in enumerate(streams):
            slot.patient.random(out=covariates[k])
            slot.patient.standard_normal(out=eta[k])
            slot.noise.standard_normal(out=assay[k])
        return {"covariates": covariates, "eta": eta, "assay": assay}

    def reset_patients(self, rows: np.ndarray, streams: Sequence[EpisodeStreams],
                       patients: Sequence[Mapping[str, Any] | None]) -> None:
        """New episodes for ``rows`` (the base's template); all N rows reuse the records' arrays.

        A reset of every row draws each slot's assay normals straight into its row of the
        records (the numbers of :meth:`draw_episodes`; compiled at the slots' bit-generator
        addresses, kept per row by :class:`~pkgym.envs.slots.SlotAddresses`) and writes the
        rest in place (:func:`restart_records`).
        """
        rows = np.asarray(rows, dtype=np.int64)
        n = self.n_patients
        if rows.size != n or not np.array_equal(rows, np.arange(n)):
            super().reset_patients(rows, streams, patients)
            return
        if NUMPY_NORMAL and getattr(self.draw_episodes, "__func__",
                                    None) is ChemoImmuneCore.draw_episodes:
            addresses, entropy = self._slots(rows, streams)
            draws = self._draw(addresses, self.records.assay_normals)
        else:
            draws = self.draw_episodes(streams, self.records.assay_normals)
            entropy = np.array([slot.seed_entropy for slot in streams], dtype=object)
        pinned = [None if p is None else self.pin_patient(p) for p in patients]
        restart_records(self.records, self.settings, draws, pinned, entropy, self.variability)

    def step(self, rows: np.ndarray, doses_mg: np.ndarray) -> tuple[np.ndarray, ...]:
        """Give each row its infusion for the day and advance it to the next morning."""
        rec, scenario = self.records, self.settings.scenario
        day = rec.day[rows]
        if np.any(day >= scenario.n_days) or np.any(rec.stopped[rows]):
            raise RuntimeError("the episode is over (truncated or terminated): call reset() "
                               "first")
        doses = np.ascontiguousarray(doses_mg, dtype=np.float64).reshape(rows.size)
        record_doses(rows, day, doses, rec.doses, rec.doses_f32, rec.last_dose)
        before = rec.states[rows, 1]
        advance_rows(rows, rec.states, doses, rec.params, self.solver)
        after, noise = np.empty((rows.size, 4)), np.empty((rows.size, 3))
        record_morning(rows, day, rec.states, rec.course, rec.assay_normals, rec.day, after,
                       noise)
        measured = measure(after[:, :3], noise, scenario.measurement_log_sd)
        below = after[:, 0] < scenario.normal_cell_floor
        record_measured(rows, day, measured, below, rec.measured, rec.measured_now,
                        rec.below_floor, rec.days_below_floor)
        stopped = below & scenario.stop_below_floor
        rec.stopped[rows] = stopped
        outcome = ChemoOutcome(before, after[:, 1], after[:, 0], below, stopped)
        reward = np.asarray(self.reward_fn(outcome, doses), dtype=np.float64)
        rec.reward[rows] = reward
        return reward, stopped, (day + 1 >= scenario.n_days) & ~stopped

    def observe(self) -> dict[str, np.ndarray]:
        """Batched observation; the default model's doses copied into an array nobody holds.

        ``doses`` is the largest part ((n, n_days) float32, 60 MB at 10^5 patients): a fresh
        copy per step costs its first-touch page faults besides the copy. The doses are copied
        whole into an array :meth:`observe` handed out earlier once nobody holds it any more
        (no reference, view or weak reference: :class:`pkgym.envs.handed.HandedArrays`), else
        into a new one. Every element is written, so a caller cannot tell it from a fresh copy,
        even one that wrote into an observation before dropping it.
        """
        model = self.observation_model
        if type(model) is not CellCountObservation or self.n_patients == 1:
            return super().observe()
        source = self.records.doses_f32
        (doses,) = self._handed.take(lambda: [np.empty_like(source)])
        np.copyto(doses, source)
        return model.with_doses(self.records, doses)

    def info(self) -> dict[str, np.ndarray]:
        """Clinical metrics of the last day and the true, hidden state of every patient."""
        return chemo_immune_views.info(self.records, self.settings)

    def info_row(self, row: int) -> dict[str, Any]:
        """:meth:`info` of one patient with plain Python values."""
        return chemo_immune_views.info_row(self.records, self.settings, row)
