"""The batched core of ``pkgym/Vancomycin-v0``: N patients' courses, one compiled step each.

Randomness: each episode's seed spawns three child streams (Gymnasium seeding, STYLE 14):
the patient (covariates and etas), assay noise (levels and creatinine) and clinical events
(creatinine drift and kidney injury). Each stream's draws for the whole episode are taken at
reset, so the step is pure array work and toggling noise never changes the patient. The
records the core fills live in :mod:`pkgym.envs.vancomycin.records`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pkgym.accel.backend import check_backend, resolve_device
from pkgym.envs.base import (
    DosingCore,
    EpisodeStreams,
    ObservationModel,
    RewardFn,
)
from pkgym.envs.vancomycin import views as vancomycin_views
from pkgym.envs.vancomycin.device import advance_ward_on_device
from pkgym.envs.vancomycin.kernel import advance_ward, plain
from pkgym.envs.vancomycin.records import (
    PLACEHOLDER,
    WardRecords,
    WardSettings,
    new_records,
    pinned_row,
)
from pkgym.models.kidney import kdigo_stage, kdigo_stage_of
from pkgym.sim.batch import take_rows, write_rows
from pkgym.sim.threads import MIN_ROWS_PER_THREAD, map_row_chunks, slice_rows


class VancomycinCore(DosingCore):
    """N vancomycin patients advanced together (see :class:`pkgym.envs.base.DosingCore`).

    ``backend="numpy"`` (default) steps every patient in one compiled loop; ``"torch"`` runs
    the PK interval of all patients as one float64 tensor computation on ``device`` (CUDA
    when present, unless given) and agrees with the default to rounding
    (:mod:`pkgym.envs.vancomycin.device`).
    """

    draws_ahead = True  # every random number of an episode is drawn at its reset

    views = vancomycin_views

    def __init__(self, n_patients: int, settings: WardSettings, reward_fn: RewardFn,
                 observation_model: ObservationModel, *, backend: str = "numpy",
                 device: str | None = None) -> None:
        """Allocate N drug-free placeholder patients; ``reset_patients`` draws real ones."""
        if n_patients < 1:
            raise ValueError(f"n_patients must be >= 1, got {n_patients}")
        self.backend = check_backend(backend)
        if backend == "numpy" and device is not None:
            raise ValueError(f'device applies to backend="torch" only, got device={device!r}')
        self.device = resolve_device(device) if backend == "torch" else None
        self.n_patients, self.settings = int(n_patients), settings
        self.reward_fn, self.observation_model = reward_fn, observation_model
        self.dose_levels_mg = settings.dose_levels_mg
        self.observation_space = observation_model.space(settings)
        self._constants = plain(settings.constants)
        self._variability = settings.model.variability  # validated once, not per reset
        config = settings.config
        self._draw_shapes = {"covariates": (settings.population.n_draws,), "eta": (3,),
                             "levels": (len(config.sampling),), "creatinine": (config.n_days,),
                             "kidney": (config.n_days, 3)}
        placeholder = {key: np.full(self.n_patients, value) for key, value in PLACEHOLDER.items()}
        self.records = new_records(settings, self._constants, placeholder,
                                   self._quiet_draws(self.n_patients),
                                   np.zeros(self.n_patients, dtype=object))

    # ----- reset ---------------------------------------------------------------------------
    def build_episodes(self, draws: dict[str, np.ndarray],
                       patients: Sequence[Mapping[str, Any] | None],
                       streams: Sequence[EpisodeStreams]) -> WardRecords:
        """Records of fresh episodes from their draws (a pinned patient's fields replace them)."""
        n = draws["eta"].shape[0]
        pins = [None if p is None else self.pin_patient(p) for p in patients]  # checked first
        table = dict(self.settings.population.from_uniforms(draws["covariates"]))
        etas = self._variability.etas_from_normals(draws["eta"])
        table.update(id=np.full(n, -1), eta_CL=etas[:, 0], eta_V1=etas[:, 1], eta_V2=etas[:, 2])
        table = {key: np.asarray(table[key], dtype=np.float64) for key in PLACEHOLDER}
        for k, pinned in enumerate(pins):
            for key, value in (pinned or {}).items():
                table[key][k] = value
        entropy = np.array([s.seed_entropy for s in streams], dtype=object)
        return new_records(self.settings, self._constants, table, draws, entropy)

    def pin_patient(self, patient: Mapping[str, Any]) -> dict[str, Any]:
        """A pinned patient's validated covariates, given etas (range-checked) and id."""
        return pinned_row(patient, self.settings.model.variability)

    def draw_episodes(self, streams: Sequence[EpisodeStreams]) -> dict[str, np.ndarray]:
        """All of each slot's episode random numbers, drawn into one array per kind.

        Per slot, in this order: covariate uniforms and eta normals from the patient stream,
        level uniforms and creatinine normals from the noise stream, kidney uniforms from the
        events stream. Written straight into each slot's row (``out=``), the same numbers as
        drawing them one slot at a time, without a dict per slot or a stack.
        """
        n = len(streams)
        out = {key: np.empty((n, *shape)) for key, shape in self._draw_shapes.items()}
        covariates, eta, levels = out["covariates"], out["eta"], out["levels"]
        creatinine, kidney = out["creatinine"], out["kidney"]
        for k, slot in enumerate(streams):
            slot.patient.random(out=covariates[k])
            slot.patient.standard_normal(out=eta[k])
            slot.noise.random(out=levels[k])
            slot.noise.standard_normal(out=creatinine[k])
            slot.events.random(out=kidney[k])
        return out

    def _quiet_draws(self, n: int) -> dict[str, np.ndarray]:
        """Noise-free draws for the placeholder patients built before the first reset."""
        config = self.settings.config
        return {"levels": np.full((n, len(config.sampling)), 0.5),
                "creatinine": np.zeros((n, config.n_days)),
                "kidney": np.full((n, config.n_days, 3), 0.5)}

    # ----- step ----------------------------------------------------------------------------
    def step(self, rows: np.ndarray, doses_mg: np.ndarray) -> tuple[np.ndarray, ...]:
        """Give ``doses_mg`` to ``rows`` and advance them one dosing interval."""
        whole = rows.size == self.n_patients
        records = self.records if whole else take_rows(self.records, rows)
        if np.any(records.course.step >= self.settings.config.n_steps):
            raise RuntimeError("the episode is over (truncated): call reset() first")
        records = self._advance(records, np.asarray(doses_mg, dtype=np.float64))
        if not whole:
            write_rows(self.records, rows, records)
        truncated = records.course.step >= self.settings.config.n_steps
        return records.reward, np.zeros(rows.size, dtype=bool), truncated

    def _advance(self, rec: WardRecords, doses: np.ndarray) -> WardRecords:
        """The compiled interval (in place on ``rec``), then the injected reward."""
        slots, ward = self.settings.config.sample_slots, rec.kernel_arrays()
        if self.backend == "numpy" and doses.shape[0] < 2 * MIN_ROWS_PER_THREAD:
            advance_ward(self._constants, slots, doses, ward)
        elif self.backend == "numpy":  # row chunks on every core for a large ward (same numbers)
            map_row_chunks(lambda a, b: advance_ward(self._constants, slots, doses[a:b],
                                                     slice_rows(ward, a, b)), doses.shape[0])
        else:
            advance_ward_on_device(self._constants, slots, doses, ward, device=self.device)
        rec.reward = self.reward_fn(rec.metrics, doses)
        return rec

    # ----- views ---------------------------------------------------------------------------

    def info(self) -> dict[str, np.ndarray]:
        """Clinical metrics of the last step and the true, hidden state of every patient.

        Fresh arrays: the kernel updates the records in place, so nothing here aliases them.
        """
        rec, config = self.records, self.settings.config
        course, metrics, kidney = rec.course, rec.metrics, rec.course.kidney
        started = course.step > 0
        last = np.maximum(course.step - 1, 0)
        rows = np.arange(self.n_patients)
        amounts, volumes = course.amounts_mg, course.volumes_l
        return {
            "time_h": course.step * config.interval_h,
            "dose_mg": np.where(started, rec.doses_mg[rows, last], 0.0),
            "auc24_mg_h_per_l": rec.auc24_mg_h_per_l.copy(),
            "auc24_over_mic": metrics.auc24_over_mic.copy(),
            "in_target_range": metrics.in_target_range & started,
            "aki": metrics.aki.copy(), "had_aki": kidney.had_aki,
            "kdigo_stage": kdigo_stage(kidney.creatinine_mg_per_dl,
                                       kidney.baseline_creatinine_mg_per_dl),
            "creatinine_mg_per_dl": kidney.creatinine_mg_per_dl.copy(),
            "concentration_mg_per_l": amounts[:, 0] / volumes[:, 0],
            "central_amount_mg": amounts[:, 0].copy(),
            "peripheral_amount_mg": amounts[:, 1].copy(),
            "auc_interval_mg_h_per_l": np.where(
                started, course.auc_by_step_mg_h_per_l[rows, last], 0.0),
            "clearance_l_per_h": course.clearance_l_per_h.copy(),
            "central_volume_l": volumes[:, 0],
            "peripheral_volume_l": volumes[:, 1],
            "intercompartmental_clearance_l_per_h":
                course.intercompartmental_clearance_l_per_h[:, 0],
            "patient_id": rec.patient_id.copy(), "seed_entropy": rec.seed_entropy.copy(),
        }

    def info_row(self, row: int) -> dict[str, Any]:
        """:meth:`info` of one patient as plain Python values, without batched arrays."""
        rec, course = self.records, self.records.course
        kidney, metrics = course.kidney, rec.metrics
        step = int(course.step[row])
        last, started = max(step - 1, 0), step > 0
        scr, baseline = float(kidney.creatinine_mg_per_dl[row]), \
            float(kidney.baseline_creatinine_mg_per_dl[row])
        central, peripheral = course.amounts_mg[row].tolist()
        v1, v2 = course.volumes_l[row].tolist()
        return {
            "time_h": step * self.settings.config.interval_h,
            "dose_mg": float(rec.doses_mg[row, last]) if started else 0.0,
            "auc24_mg_h_per_l": float(rec.auc24_mg_h_per_l[row]),
            "auc24_over_mic": float(metrics.auc24_over_mic[row]),
            "in_target_range": bool(metrics.in_target_range[row]) and started,
            "aki": bool(metrics.aki[row]), "had_aki": bool(kidney.injury_factor[row] > 1.0),
            "kdigo_stage": kdigo_stage_of(scr, baseline), "creatinine_mg_per_dl": scr,
            "concentration_mg_per_l": central / v1,
            "central_amount_mg": central, "peripheral_amount_mg": peripheral,
            "auc_interval_mg_h_per_l":
                float(course.auc_by_step_mg_h_per_l[row, last]) if started else 0.0,
            "clearance_l_per_h": float(course.clearance_l_per_h[row]),
            "central_volume_l": v1, "peripheral_volume_l": v2,
            "intercompartmental_clearance_l_per_h":
                float(course.intercompartmental_clearance_l_per_h[row, 0]),
            "patient_id": int(rec.patient_id[row]), "seed_entropy": rec.seed_entropy[row],
        }
