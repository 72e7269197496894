"""The batched core of ``pkgym/Heparin-v0``: N adults on unfractionated heparin, 6 h a step.

Randomness: each slot's seed spawns three child streams (STYLE 14). At reset the patient
stream gives the covariate uniforms and the eta normals, the noise stream the aPTT assay
normals of every measurement of the episode; there are no clinical events. Every random number
is drawn at reset, so a step is pure array work, toggling the assay noise never changes the
patient, and a cohort row is the same patient in any batch.

A decision is ``(bolus U/kg, hold h, rate U/kg/h)``, shape (n, 3): the bolus is given now,
the infusion is held for ``hold`` h and then runs at ``rate`` until the next aPTT, taken at the
end of the interval (exact one-compartment solution, :func:`~.records.simulate_interval`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from pkgym.envs.actions import (
    REAL_KINDS,
    DecisionError,
    continuous_actions,
    discrete_actions,
    shown,
)
from pkgym.envs.base import DosingCore, EpisodeStreams, ObservationModel, RewardFn, draw_into
from pkgym.envs.heparin import kernel
from pkgym.envs.heparin import views as heparin_views
from pkgym.envs.heparin.clinic import HULL_EXCESS_RECURRENCE, StepOutcome
from pkgym.envs.heparin.records import (
    ETA_KEYS,
    PLACEHOLDER,
    ClinicRecords,
    ClinicSettings,
    new_records,
    pinned_row,
)
from pkgym.envs.slots import SlotAddresses
from pkgym.sim.bitgen import NUMPY_NORMAL, bitgen_addresses

STEP_CHUNK = 1024
"""Patients whose interval is computed at a time (their exponentials, 400 kB, stay in cache)."""


class HeparinCore(DosingCore):
    """N patients on a heparin infusion (see :class:`pkgym.envs.base.DosingCore`)."""

    views = heparin_views

    def __init__(self, n_patients: int, settings: ClinicSettings, reward_fn: RewardFn,
                 observation_model: ObservationModel) -> None:
        """Allocate N typical placeholder patients; ``reset_patients`` draws real ones."""
        self.attach_clinic(n_patients, settings, reward_fn, observation_model)
        s = settings.scenario
        self._starts, self._rates = s.start_options, s.rate_levels_u_per_kg_per_h
        self._highs = np.array([s.max_bolus_u_per_kg, s.max_hold_h, s.max_rate_u_per_kg_per_h])
        self._variability = settings.model.variability
        table = {key: np.full(self.n_patients, value) for key, value in PLACEHOLDER.items()}
        self.records = new_records(settings, table, np.zeros((self.n_patients, s.n_steps + 1)),
                                   np.zeros(self.n_patients, dtype=object))
        self._slots = SlotAddresses(self.n_patients, ("patient", "noise"))
        # the interval's grid midpoints, then its end, h (simulate_interval's times)
        m, dt = s.grid_points, s.interval_h
        self._times = np.append((np.arange(m) + 0.5) * dt / m, dt)
        self._scratch = self._new_scratch()

    def _new_scratch(self) -> tuple[np.ndarray, np.ndarray]:
        """Room for a step's exponentials and bleeding excess (reused; nothing read across)."""
        n, m = min(self.n_patients, STEP_CHUNK), self.settings.scenario.grid_points
        return np.empty((n, 2, m + 1)), np.empty((n, m))

    # ----- actions -------------------------------------------------------------------------
    @property
    def n_actions(self) -> int:
        """Size of the discrete table: start options x rate levels."""
        return len(self._starts) * len(self._rates)

    def action_space(self, continuous: bool) -> spaces.Space:
        """``Discrete(start options x rates)``, or ``Box(-1, 1, (3,))`` (bolus, hold, rate)."""
        if continuous:
            return spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)
        return spaces.Discrete(self.n_actions)

    def decode_actions(self, actions: Any, continuous: bool, n: int) -> np.ndarray:
        """Decisions (n, 3): bolus U/kg, hold h, rate U/kg/h."""
        if continuous:
            meaning = (f"per patient 3: bolus (a+1)/2*{self._highs[0]:g} U/kg, hold "
                       f"(a+1)/2*{self._highs[1]:g} h, rate (a+1)/2*{self._highs[2]:g} U/kg/h")
            array = np.asarray(actions) if _is_array_like(actions) else None
            if array is None or array.size != 3 * n or array.dtype.kind not in REAL_KINDS:
                raise ValueError(f"action must be {n} row(s) of 3 real number(s) in [-1, 1] "
                                 f"({meaning}), got {shown(actions)}"
                                 + ("" if array is None else f" ({array.dtype})"))
            scaled = continuous_actions(array.reshape(-1), 3 * n, meaning).reshape(n, 3)
            return (scaled + 1.0) / 2.0 * self._highs[None, :]
        index = discrete_actions(actions, n, self.n_actions,
                                 f"start option x {len(self._rates)} rates")
        start, rate = np.divmod(index, len(self._rates))
        return np.column_stack([self._starts[start], self._rates[rate]])

    def encode_decisions(self, decisions: np.ndarray, continuous: bool) -> np.ndarray:
        """Actions for decisions (n, 3); the discrete table takes the nearest option and rate."""
        d = np.asarray(decisions, dtype=np.float64)
        if d.ndim != 2 or d.shape[1] != 3:
            raise ValueError(f"this env needs decisions of shape (n, 3): bolus U/kg, hold h, "
                             f"rate U/kg/h; got shape {d.shape}")
        bad = ~np.all(np.isfinite(d) & (d >= 0) & (d <= self._highs * (1 + 1e-9)), axis=1)
        if np.any(bad):
            row = int(np.argmax(bad))
            raise DecisionError(f"decision {d[row].tolist()} is outside 0..{self._highs.tolist()}"
                                " (bolus U/kg, hold h, rate U/kg/h)", row)
        if continuous:
            return (2.0 * d / self._highs[None, :] - 1.0).astype(np.float32)
        start = (np.abs(d[:, None, 0] - self._starts[None, :, 0]) / 80.0
                 + np.abs(d[:, None, 1] - self._starts[None, :, 1])).argmin(axis=1)
        rate = np.abs(d[:, 2:3] - self._rates[None, :]).argmin(axis=1)
        return start * len(self._rates) + rate

    # ----- reset ---------------------------------------------------------------------------
    def reset_patients(self, rows: np.ndarray, streams: Sequence[EpisodeStreams],
                       patients: Sequence[Mapping[str, Any] | None]) -> None:
        """Start new episodes for ``rows``: :class:`DosingCore`'s template, its draws compiled.

        The slots' bit-generator addresses and seed entropy are kept per row
        (:class:`~pkgym.envs.slots.SlotAddresses`); a core whose ``draw_episodes`` or
        ``build_episodes`` is replaced (a subclass, a test), or where numpy exports no
        ``random_standard_normal``, runs the template as it is.
        """
        if not NUMPY_NORMAL or any(
                getattr(getattr(self, name), "__func__", None) is not getattr(HeparinCore, name)
                for name in ("draw_episodes", "build_episodes")):
            super().reset_patients(rows, streams, patients)
            return
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return
        addresses, entropy = self._slots(rows, streams)
        part = self._build(self._draw(addresses), patients, entropy)
        self.store_episodes(rows, part)

    def draw_episodes(self, streams: Sequence[EpisodeStreams]) -> dict[str, np.ndarray]:
        """Per slot: covariate uniforms, eta normals (patient stream), assay normals (noise).

        Compiled (:func:`kernel.draw_episodes`), the numbers of :func:`draw_into`'s plan;
        that per-slot numpy plan where numpy exports no ``random_standard_normal``.
        """
        if not NUMPY_NORMAL:
            sizes = self._draw_sizes
            return draw_into(streams, [("covariates", "patient", "random", sizes[:1]),
                                       ("eta", "patient", "standard_normal", sizes[1:2]),
                                       ("assay", "noise", "standard_normal", sizes[2:])])
        return self._draw(np.array([bitgen_addresses([slot.patient, slot.noise])
                                    for slot in streams], dtype=np.int64).reshape(-1, 2))

    @property
    def _draw_sizes(self) -> tuple[int, int, int]:
        """Covariate uniforms, eta normals and assay normals of one episode."""
        return (self.settings.population.n_draws, len(ETA_KEYS),
                self.settings.scenario.n_steps + 1)

    def _draw(self, addresses: np.ndarray) -> dict[str, np.ndarray]:
        """:meth:`draw_episodes` of the slots with patient and noise streams at ``addresses``."""
        covariates, eta, assay = kernel.draw_episodes(addresses, NUMPY_NORMAL,
                                                      *self._draw_sizes)
        return {"covariates": covariates, "eta": eta, "assay": assay}

    def __getstate__(self) -> dict[str, Any]:
        """Pickle and deepcopy state without the cached bit-generator addresses.

        They are raw pointers into this process's generators: a copy (with its own copies of
        the generators) must look them up again, or it would draw from the original's.
        """
        state = self.__dict__.copy()
        state["_scratch"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore a pickled core; its scratch space is allocated afresh."""
        self.__dict__.update(state)
        self._scratch = self._new_scratch()

    def build_episodes(self, draws: dict[str, np.ndarray],
                       patients: Sequence[Mapping[str, Any] | None],
                       streams: Sequence[EpisodeStreams]) -> ClinicRecords:
        """Records of fresh episodes from their draws (a pinned patient's fields replace them)."""
        return self._build(draws, patients,
                           np.array([slot.seed_entropy for slot in streams], dtype=object))

    def _build(self, draws: dict[str, np.ndarray], patients: Sequence[Mapping[str, Any] | None],
               entropy: np.ndarray) -> ClinicRecords:
        """:meth:`build_episodes` with the slots' seed entropy (m,) given."""
        n = draws["eta"].shape[0]
        pins = [None if p is None else self.pin_patient(p) for p in patients]  # checked first
        table = dict(self.settings.population.from_uniforms(draws["covariates"]))
        etas = self._etas(draws["eta"])
        table.update(id=np.full(n, -1), **{key: etas[:, j] for j, key in enumerate(ETA_KEYS)})
        table = {key: np.asarray(table[key], dtype=np.float64) for key in PLACEHOLDER}
        for k, pinned in enumerate(pins):
            if pinned is not None:
                for key, value in pinned.items():
                    table[key][k] = value
        return new_records(self.settings, table, draws["assay"], entropy)

    def _etas(self, normals: np.ndarray) -> np.ndarray:
        """Correlated etas, row by row in a fixed order.

        A BLAS product's rounding depends on the batch size; patient k must be the same in any.
        """
        factor = np.linalg.cholesky(self._variability.omega)  # (3, 3) lower
        return (normals[:, None, :] * factor[None, :, :]).sum(axis=2)

    def pin_patient(self, patient: Mapping[str, Any]) -> dict[str, Any]:
        """A pinned patient's validated covariates, given etas and id."""
        return pinned_row(patient, self.settings.model)

    # ----- step ----------------------------------------------------------------------------
    def step(self, rows: np.ndarray, doses_mg: np.ndarray) -> tuple[np.ndarray, ...]:
        """Give the decisions (n, 3) to ``rows`` and advance them one interval.

        Compiled (:mod:`pkgym.envs.heparin.kernel`): the float operations of
        :func:`~pkgym.envs.heparin.records.simulate_interval` and the records' sums, with
        numpy's own ``exp`` and mean of the bleeding excess.
        """
        s, r, model = self.settings.scenario, self.records, self.settings.model
        rows = np.asarray(rows, dtype=np.int64)
        if np.any(r.step[rows] >= s.n_steps):
            raise RuntimeError("the episode is over (truncated): call reset() first")
        d = np.ascontiguousarray(doses_mg, dtype=np.float64).reshape(rows.size, 3)
        values, bleeding = np.empty((6, rows.size)), np.empty(rows.size)
        for lo in range(0, rows.size, STEP_CHUNK):  # a chunk's exponentials stay in cache
            part, hi = rows[lo:lo + STEP_CHUNK], min(lo + STEP_CHUNK, rows.size)
            decays, excess = self._scratch[0][:part.size], self._scratch[1][:part.size]
            kernel.decay_arguments(part, r.params, d[lo:hi], self._times, decays)
            np.exp(decays, out=decays)  # numpy's exp, as simulate_interval's
            kernel.interval_outcome(
                part, decays, d[lo:hi], self._times, s.interval_h, s.early_window_h,
                s.subtherapeutic_ratio, HULL_EXCESS_RECURRENCE, r.params, r.weight_kg,
                r.amount_iu, r.baseline_aptt_s, r.target_low_s, r.target_high_s, r.step,
                excess, values, lo)
            bleeding[lo:hi] = excess.mean(axis=1)
        end_amount, end_aptt, in_range, below, above, risk = values
        outcome = StepOutcome(in_range=in_range, below=below, above=above, bleeding=bleeding,
                              thrombosis_risk=risk)
        kernel.record_interval(
            rows, d, end_amount, end_aptt, in_range, below, above, outcome.bleeding, risk,
            s.interval_h, s.early_window_h, HULL_EXCESS_RECURRENCE, model.aptt_residual_cv,
            model.aptt_assay_max_s, r.weight_kg, r.bolus_u_per_kg, r.hold_h,
            r.rate_u_per_kg_per_h, r.current_rate, r.dose_iu, r.amount_iu, r.step, r.hours,
            r.in_range_h, r.below_h, r.above_h, r.bleeding_sum, r.thrombosis_risk,
            r.early_below_h, r.step_in_range, r.step_bleeding, r.step_thrombosis,
            r.aptt_true_s, r.aptt_measured_s, r.assay_normals, r.target_low_s,
            r.target_high_s, r.first_therapeutic_h)
        reward = np.asarray(self.reward_fn(outcome, d), dtype=np.float64)
        r.reward[rows] = reward
        return reward, np.zeros(rows.size, dtype=bool), r.step[rows] >= s.n_steps

    # ----- views ---------------------------------------------------------------------------
    def info(self) -> dict[str, np.ndarray]:
        """Clinical metrics of the last step and episode, and the hidden truth of everyone."""
        return heparin_views.info(self.records, self.settings, np.arange(self.n_patients))


def _is_array_like(actions: Any) -> bool:
    """Whether ``np.asarray(actions)`` gives an array (a ragged list does not)."""
    try:
        np.asarray(actions)
    except (ValueError, TypeError):
        return False
    return True
