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
from pkgym.envs.slots import SlotAddresses, addresses_of
from pkgym.envs.vancomycin import views as vancomycin_views
from pkgym.envs.vancomycin.clinic import (
    COVARIATE_HIGHS,
    CREATININE_HIGH_MG_PER_DL,
    LEVEL_HIGH_MG_PER_L,
    OBSERVATION_KEYS,
    AucTargetReward,
    WardObservation,
)
from pkgym.envs.vancomycin.device import advance_ward_on_device
from pkgym.envs.vancomycin.draws import draw_episodes as draw_compiled
from pkgym.envs.vancomycin.kernel import plain
from pkgym.envs.vancomycin.readout import (
    INFO_DTYPES,
    INFO_FLAGS,
    INFO_KEYS,
    INFO_STAGE,
    by_rows,
    step_and_read,
    step_and_read_chunks,
    step_and_score,
    step_and_score_chunks,
    step_one,
    write_info,
    write_info_chunks,
)
from pkgym.envs.vancomycin.records import (
    PLACEHOLDER,
    WardRecords,
    WardSettings,
    new_records,
    pinned_row,
)
from pkgym.sim.batch import take_rows, write_rows
from pkgym.sim.bitgen import NUMPY_NORMAL


class VancomycinCore(DosingCore):
    """N vancomycin patients advanced together (see :class:`pkgym.envs.base.DosingCore`).

    ``backend="numpy"`` (default) steps every patient in one compiled loop; ``"torch"`` runs
    the PK interval of all patients as one float64 tensor computation on ``device`` (CUDA
    when present, unless given) and agrees with the default to rounding
    (:mod:`pkgym.envs.vancomycin.device`).
    """

    draws_ahead = True  # every random number of an episode is drawn at its reset

    views = vancomycin_views
    _read_observation: dict[str, np.ndarray] | None = None
    _read_info: dict[str, np.ndarray] | None = None
    _ids: tuple | None = None  # (records, read-only patient ids, read-only seed entropy)

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
        self._weights = _reward_weights(reward_fn)
        self._slots = config.sample_slots
        self._slot_addresses = SlotAddresses(self.n_patients, ("patient", "noise", "events"))
        self._observed_as_ward = type(observation_model) is WardObservation
        self._segments = _segments(self.observation_space)
        self._kernel_view: tuple = (None, (), ())
        self._forget_reads()
        placeholder = {key: np.full(self.n_patients, value) for key, value in PLACEHOLDER.items()}
        self.records = new_records(settings, self._constants, placeholder,
                                   self._quiet_draws(self.n_patients),
                                   np.zeros(self.n_patients, dtype=object))

    # ----- reset ---------------------------------------------------------------------------
    def build_episodes(self, draws: dict[str, np.ndarray],
                       patients: Sequence[Mapping[str, Any] | None],
                       streams: Sequence[EpisodeStreams]) -> WardRecords:
        """Records of fresh episodes from their draws (a pinned patient's fields replace them)."""
        return self._build(draws, patients,
                           np.array([slot.seed_entropy for slot in streams], dtype=object))

    def _build(self, draws: dict[str, np.ndarray], patients: Sequence[Mapping[str, Any] | None],
               entropy: np.ndarray) -> WardRecords:
        """:meth:`build_episodes` with the slots' seed entropy (m,) given."""
        n = draws["eta"].shape[0]
        pins = [None if p is None else self.pin_patient(p) for p in patients]  # checked first
        table = dict(self.settings.population.from_uniforms(draws["covariates"]))
        etas = self._variability.etas_from_normals(draws["eta"])
        table.update(id=np.full(n, -1), eta_CL=etas[:, 0], eta_V1=etas[:, 1], eta_V2=etas[:, 2])
        table = {key: np.asarray(table[key], dtype=np.float64) for key in PLACEHOLDER}
        for k, pinned in enumerate(pins):
            if pinned is not None:
                for key, value in pinned.items():
                    table[key][k] = value
        return new_records(self.settings, self._constants, table, draws, entropy)

    def take_episode(self, records: WardRecords, row: int) -> WardRecords:
        """Row ``row`` of episodes built ahead, as views (the row is never taken again)."""
        return take_rows(records, slice(row, row + 1))

    def pin_patient(self, patient: Mapping[str, Any]) -> dict[str, Any]:
        """A pinned patient's validated covariates, given etas (range-checked) and id."""
        return pinned_row(patient, self.settings.model.variability)

    def draw_episodes(self, streams: Sequence[EpisodeStreams]) -> dict[str, np.ndarray]:
        """All of each slot's episode random numbers, drawn into one array per kind.

        Per slot, in this order: covariate uniforms and eta normals from the patient stream,
        level uniforms and creatinine normals from the noise stream, kidney uniforms from the
        events stream. Compiled (:func:`pkgym.envs.vancomycin.draws.draw_episodes`) on each
        slot's generators; where numpy exports no ``random_standard_normal``,
        :meth:`_draw_with_numpy` (the same numbers).
        """
        if not NUMPY_NORMAL:
            return self._draw_with_numpy(streams)
        return self._draw(addresses_of(streams, ("patient", "noise", "events")))

    def _draw(self, addresses: np.ndarray) -> dict[str, np.ndarray]:
        """:meth:`draw_episodes` of the slots whose streams are at ``addresses`` (m, 3)."""
        n = addresses.shape[0]
        out = {key: np.empty((n, *shape)) for key, shape in self._draw_shapes.items()}
        draw_compiled(addresses, NUMPY_NORMAL, out["covariates"], out["eta"], out["levels"],
                      out["creatinine"], out["kidney"])
        return out

    def _draw_with_numpy(self, streams: Sequence[EpisodeStreams]) -> dict[str, np.ndarray]:
        """:meth:`draw_episodes` with numpy's ``Generator`` methods, slot by slot (``out=``)."""
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
        self._forget_reads()
        whole = rows.size == self.n_patients
        records = self.records if whole else take_rows(self.records, rows)
        n_steps = self.settings.config.n_steps
        if records.course.step.max(initial=0) >= n_steps:
            raise RuntimeError("the episode is over (truncated): call reset() first")
        records = self._advance(records, np.asarray(doses_mg, dtype=np.float64))
        if not whole:
            write_rows(self.records, rows, records)
        return records.reward, np.zeros(rows.size, dtype=bool), records.course.step >= n_steps

    def _advance(self, rec: WardRecords, doses: np.ndarray) -> WardRecords:
        """The compiled interval (in place on ``rec``) and the reward, row chunks on every core.

        The default reward is scored in the same compiled pass; an injected one after it.
        """
        slots, ward, constants = self._slots, rec.kernel_arrays(), self._constants
        weights, n = self._weights, doses.shape[0]
        if self.backend == "torch":
            advance_ward_on_device(constants, slots, doses, ward, device=self.device)
        elif weights is None:  # the step alone (an empty reward), scored below
            by_rows(step_and_score, step_and_score_chunks, n, constants, slots, doses, ward,
                    (0.0, 0.0, 0.0), np.empty(0))
        elif rec is not self.records or not self._observed_as_ward:
            rec.reward = np.empty(n)
            by_rows(step_and_score, step_and_score_chunks, n, constants, slots, doses, ward,
                    weights, rec.reward)
            return rec
        else:
            self._step_and_read(rec, doses, weights)
            return rec
        rec.reward = self.reward_fn(rec.metrics, doses)
        return rec

    def _step_and_read(self, rec: WardRecords, doses: np.ndarray,
                       weights: tuple[float, float, float]) -> None:
        """Every patient's step, reward, observation and info in one compiled pass.

        The observation and the info are kept for the next :meth:`observe` and :meth:`info`
        (each handed out once; any later step or reset drops them).
        """
        n, p, constants, slots = doses.shape[0], rec.patients, self._constants, self._slots
        observation: dict[str, np.ndarray] = {key: np.empty((n, stop - start), np.float32)
                                              for key, start, stop in self._segments}
        info = tuple(np.empty(n, dtype=dtype) for dtype in INFO_DTYPES)
        rec.reward = np.empty(n)
        caps = (COVARIATE_HIGHS, CREATININE_HIGH_MG_PER_DL, LEVEL_HIGH_MG_PER_L,
                self.settings.config.interval_h)
        covariates = (p.age_years, p.is_female, p.weight_kg, p.height_cm, p.on_dialysis)
        by_rows(step_and_read, step_and_read_chunks, n, constants, slots, doses,
                rec.kernel_arrays(), weights, rec.reward, (covariates, *caps),
                tuple(observation.values()), info)
        self._read_observation, self._read_info = observation, self._info_dict(info)

    def _forget_reads(self) -> None:
        """Drop the observation and info a step wrote ahead (the records move on)."""
        self._read_observation, self._read_info = None, None

    def reset_patients(self, rows: np.ndarray, streams: Sequence[EpisodeStreams],
                       patients: Sequence[Mapping[str, Any] | None]) -> None:
        """:meth:`DosingCore.reset_patients`, dropping what the last step read ahead.

        That is its observation and info, and the ids and seeds handed out since the last
        reset. A batch draws on its slots' bit-generator addresses kept per row
        (:class:`~pkgym.envs.slots.SlotAddresses`); a single env (episodes drawn ahead), a
        core whose ``draw_episodes`` or ``build_episodes`` is replaced, or numpy without an
        exported ``random_standard_normal`` runs the template as it is.
        """
        self._forget_reads()
        self._ids = None
        rows = np.asarray(rows, dtype=np.int64)
        if (rows.size == 0 or self.n_patients == 1 or not NUMPY_NORMAL
                or type(self).draw_episodes is not VancomycinCore.draw_episodes
                or type(self).build_episodes is not VancomycinCore.build_episodes):
            super().reset_patients(rows, streams, patients)
            return
        addresses, entropy = self._slot_addresses(rows, streams)
        self.store_episodes(rows, self._build(self._draw(addresses), patients, entropy))

    def observe(self) -> dict[str, np.ndarray]:
        """Batched observation of all patients (the last step's, when it wrote one)."""
        observation, self._read_observation = self._read_observation, None
        return observation if observation is not None else super().observe()

    def step_one(self, decisions: np.ndarray) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """The single env's step in one compiled call: interval, reward, observation, info."""
        rec, n_steps = self.records, self.settings.config.n_steps
        if rec.course.step[0] >= n_steps:
            raise RuntimeError("the episode is over (truncated): call reset() first")
        ward, observed = self._ward_view()
        doses = np.asarray(decisions, dtype=np.float64)
        reward = np.empty(0 if self._weights is None else 1)
        observation, numbers = np.empty(self._segments[-1][2], np.float32), np.empty(len(INFO_KEYS))
        step_one(self._constants, self._slots, doses, ward, self._weights or (0.0, 0.0, 0.0),
                 reward, observed, observation, numbers)
        rec.reward = reward if self._weights is not None else self.reward_fn(rec.metrics, doses)
        obs = ({key: observation[a:b] for key, a, b in self._segments}
               if self._observed_as_ward else self.observe_row(0))
        return (obs, float(rec.reward[0]), False, bool(rec.course.step[0] >= n_steps),
                self._info_of(numbers, 0))

    def _ward_view(self) -> tuple[tuple, tuple]:
        """The records' kernel arrays and the observation's inputs, built once per records."""
        rec = self.records
        if self._kernel_view[0] is not rec:
            p = rec.patients
            observed = ((p.age_years, p.is_female, p.weight_kg, p.height_cm, p.on_dialysis),
                        COVARIATE_HIGHS, CREATININE_HIGH_MG_PER_DL, LEVEL_HIGH_MG_PER_L,
                        self.settings.config.interval_h)
            self._kernel_view = (rec, rec.kernel_arrays(), observed)
        return self._kernel_view[1], self._kernel_view[2]

    # ----- views ---------------------------------------------------------------------------

    def info(self) -> dict[str, np.ndarray]:
        """Clinical metrics of the last step and the true, hidden state of every patient.

        Fresh arrays, written in one compiled pass (:func:`pkgym.envs.vancomycin.readout.
        write_info`): the kernel updates the records in place, so nothing here aliases them.
        """
        info, self._read_info = self._read_info, None
        if info is not None:
            return info
        rec, n, interval = self.records, self.n_patients, self.settings.config.interval_h
        out = tuple(np.empty(n, dtype=dtype) for dtype in INFO_DTYPES)
        by_rows(write_info, write_info_chunks, n, rec.kernel_arrays(), interval, out)
        return self._info_dict(out)

    def _info_dict(self, numbers: tuple) -> dict[str, np.ndarray]:
        """The info from its :data:`INFO_KEYS` arrays, the ids and seeds (:meth:`_frozen_ids`)."""
        info: dict[str, np.ndarray] = dict(zip(INFO_KEYS, numbers, strict=True))
        info["patient_id"], info["seed_entropy"] = self._frozen_ids()
        return info

    def _frozen_ids(self) -> tuple[np.ndarray, np.ndarray]:
        """Read-only copies of the patient ids and seed entropy, made once per reset.

        Only a reset changes them, so every step's info shares one copy (copying 10^4 Python
        ints of entropy took ~70 us a step); read-only, so no holder can change another's.
        """
        rec = self.records
        if self._ids is None or self._ids[0] is not rec:
            ids, entropy = rec.patient_id.copy(), rec.seed_entropy.copy()
            ids.flags.writeable = entropy.flags.writeable = False
            self._ids = (rec, ids, entropy)
        return self._ids[1], self._ids[2]

    def info_row(self, row: int) -> dict[str, Any]:
        """:meth:`info` of one patient as plain Python values, without batched arrays."""
        numbers = np.empty(len(INFO_KEYS))
        ward = (self._ward_view()[0] if self.n_patients == 1 else
                _rows_of(self.records.kernel_arrays(), row, row + 1))
        write_info(ward, self.settings.config.interval_h,
                   tuple(numbers[k:k + 1] for k in range(numbers.size)), 0, 1)
        return self._info_of(numbers, row)

    def _info_of(self, numbers: np.ndarray, row: int) -> dict[str, Any]:
        """One patient's info from its :data:`INFO_KEYS` numbers (flags and stage as floats)."""
        values: list[Any] = numbers.tolist()
        for k in INFO_FLAGS:
            values[k] = values[k] != 0.0
        values[INFO_STAGE] = int(values[INFO_STAGE])
        info = dict(zip(INFO_KEYS, values, strict=True))
        info.update(patient_id=int(self.records.patient_id[row]),
                    seed_entropy=self.records.seed_entropy[row])
        return info


def _reward_weights(reward_fn: RewardFn) -> tuple[float, float, float] | None:
    """The default reward's weights, which the compiled step scores; None for another reward."""
    if type(reward_fn) is not AucTargetReward:
        return None
    return (float(reward_fn.in_range_bonus), float(reward_fn.penalty_per_100_outside),
            float(reward_fn.aki_penalty))


def _rows_of(tree: Any, start: int, stop: int) -> Any:
    """Rows ``start:stop`` of every array in nested tuples of per-patient arrays (views)."""
    if isinstance(tree, tuple):
        return tuple(_rows_of(item, start, stop) for item in tree)
    return tree[start:stop]


def _segments(space: Any) -> tuple[tuple[str, int, int], ...]:
    """Each observation key's span in the flat observation :func:`step_one` writes."""
    spans: list[tuple[str, int, int]] = []
    start = 0
    for key in OBSERVATION_KEYS:
        spans.append((key, start, start + int(np.prod(space[key].shape))))
        start = spans[-1][2]
    return tuple(spans)
