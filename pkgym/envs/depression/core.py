"""The batched core of ``pkgym/Depression-v0``: N patients' weekly escitalopram and records.

Randomness: each episode's seed spawns three child streams (STYLE 14): the patient
(covariates and etas), assessment noise (rater error of the MADRS and one seed per weekly
PRT session, whose trials are a counter-based hash of it) and clinical events (adverse
effects). Each stream's draws for the whole episode are taken at reset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pkgym.envs.base import (
    DosingCore,
    EpisodeStreams,
    ObservationModel,
    RewardFn,
)
from pkgym.envs.depression import views as depression_views
from pkgym.envs.depression.clinic import WeekOutcome
from pkgym.envs.depression.kernel import draw_episodes as draw_compiled
from pkgym.envs.depression.kernel import record_week
from pkgym.envs.depression.records import (
    ETA_KEYS,
    DepressionRecords,
    DepressionSettings,
    assess,
    new_records,
    pinned_patient,
    take_record_rows,
)
from pkgym.envs.slots import SlotAddresses, addresses_of
from pkgym.models.depression_drug import advance_week, reward_sensitivity
from pkgym.sim.bitgen import NUMPY_NORMAL


class DepressionCore(DosingCore):
    """N patients treated week by week (see :class:`pkgym.envs.base.DosingCore`).

    Decisions are daily escitalopram doses in mg for the coming week, shape (n,).
    """

    draws_ahead = True  # every random number of an episode is drawn at its reset

    views = depression_views

    def __init__(self, n_patients: int, settings: DepressionSettings, reward_fn: RewardFn,
                 observation_model: ObservationModel) -> None:
        """Allocate N placeholder patients; ``reset_patients`` draws real ones."""
        self.attach_clinic(n_patients, settings, reward_fn, observation_model,
                           dose_levels_mg=np.asarray(settings.scenario.dose_levels_mg,
                                                     dtype=np.float64))
        self.model = settings.model
        self.records = new_records(settings, None, [None] * self.n_patients,
                                   np.zeros(self.n_patients, object))
        self._n_draws = settings.population.n_draws
        self._variability = settings.model.variability
        self._slots = SlotAddresses(self.n_patients, ("patient", "noise", "events"))

    def take_episode(self, records: DepressionRecords, row: int) -> DepressionRecords:
        """One row of the records (their dicts of arrays included)."""
        return take_record_rows(records, np.array([row]))

    def build_episodes(self, draws: dict[str, np.ndarray],
                       patients: Sequence[Mapping[str, Any] | None],
                       streams: Sequence[EpisodeStreams]) -> DepressionRecords:
        """Records of fresh episodes from their draws (a pinned patient's fields replace them)."""
        return self._build(draws, patients,
                           np.array([slot.seed_entropy for slot in streams], dtype=object))

    def _build(self, draws: dict[str, np.ndarray], patients: Sequence[Mapping[str, Any] | None],
               entropy: np.ndarray) -> DepressionRecords:
        """:meth:`build_episodes` with the slots' seed entropy (m,) given."""
        pinned = [None if p is None else self.pin_patient(p) for p in patients]
        return new_records(self.settings, draws, pinned, entropy, self._variability)

    def reset_patients(self, rows: np.ndarray, streams: Sequence[EpisodeStreams],
                       patients: Sequence[Mapping[str, Any] | None]) -> None:
        """Start new episodes for ``rows``: :class:`DosingCore`'s template, its draws compiled.

        The slots' bit-generator addresses are kept per row
        (:class:`~pkgym.envs.slots.SlotAddresses`); a single env (episodes drawn ahead), a
        core whose ``draw_episodes`` or ``build_episodes`` is replaced, or numpy without an
        exported ``random_standard_normal`` runs the template as it is.
        """
        rows = np.asarray(rows, dtype=np.int64)
        if (not NUMPY_NORMAL or rows.size == 0 or self.n_patients == 1
                or any(getattr(getattr(self, name), "__func__", None)
                       is not getattr(DepressionCore, name)
                       for name in ("draw_episodes", "build_episodes"))):
            super().reset_patients(rows, streams, patients)
            return
        addresses, entropy = self._slots(rows, streams)
        part = self._build(self._draw(addresses), patients, entropy)
        self.store_episodes(rows, part)

    def draw_episodes(self, streams: Sequence[EpisodeStreams]) -> dict[str, np.ndarray]:
        """:meth:`episode_draws` of every slot, stacked: each slot fills its own rows.

        Compiled (:func:`kernel.draw_episodes`) on each slot's bit generators; where numpy
        exports no ``random_standard_normal``, :meth:`_draw_with_numpy`.
        """
        if not NUMPY_NORMAL:
            return self._draw_with_numpy(streams)
        return self._draw(addresses_of(streams, ("patient", "noise", "events")))

    def _draw(self, addresses: np.ndarray) -> dict[str, np.ndarray]:
        """:meth:`draw_episodes` of the slots whose streams are at ``addresses`` (m, 3)."""
        covariates, eta, rater, seeds, events = draw_compiled(
            addresses, NUMPY_NORMAL, self._n_draws, len(ETA_KEYS),
            self.settings.scenario.n_weeks)
        return {"covariates": covariates, "eta": eta, "rater": rater, "seeds": seeds,
                "events": events}

    def _draw_with_numpy(self, streams: Sequence[EpisodeStreams]) -> dict[str, np.ndarray]:
        """:meth:`draw_episodes` slot by slot with numpy's methods.

        A PCG64 noise stream's session seeds are its raw outputs, shifted right once for all
        slots together (:func:`session_seeds`; other bit generators draw them per slot).
        """
        n, w = len(streams), self.settings.scenario.n_weeks
        covariates, eta = np.empty((n, self._n_draws)), np.empty((n, len(ETA_KEYS)))
        rater, events = np.empty((n, w + 1)), np.empty((n, w))
        raw: list[np.ndarray] = []
        shifted: list[int] = []
        for k, (slot, c, e, r, v) in enumerate(zip(streams, covariates, eta, rater, events,
                                                   strict=True)):
            slot.patient.random(out=c)
            slot.patient.standard_normal(out=e)
            noise = slot.noise
            noise.standard_normal(out=r)
            if type(noise.bit_generator) is np.random.PCG64:
                raw.append(noise.bit_generator.random_raw(w + 1))
            else:
                raw.append(session_seeds(noise, w + 1))
                shifted.append(k)
            slot.events.random(out=v)
        outputs = np.array(raw, dtype=np.uint64).reshape(n, w + 1)
        seeds = outputs >> np.uint64(1)
        seeds[shifted] = outputs[shifted]
        return {"covariates": covariates, "eta": eta, "rater": rater, "seeds": seeds,
                "events": events}

    def pin_patient(self, patient: Mapping[str, Any]) -> dict[str, Any]:
        """A pinned patient's validated covariates, etas and id."""
        return pinned_patient(patient, self._variability)

    def new_records(self, draws: dict[str, np.ndarray], pinned: list[dict[str, Any] | None],
                    seed_entropy: np.ndarray) -> Any:
        """Records of fresh episodes for the drawn (or pinned) patients."""
        return new_records(self.settings, draws, pinned, seed_entropy, self._variability)

    def episode_draws(self, streams: EpisodeStreams) -> dict[str, np.ndarray]:
        """All of one episode's random numbers, from the slot's three streams."""
        w = self.settings.scenario.n_weeks
        return {"covariates": streams.patient.random(self.settings.population.n_draws),
                "eta": streams.patient.standard_normal(len(ETA_KEYS)),
                "rater": streams.noise.standard_normal(w + 1),
                "seeds": streams.noise.integers(0, 2**63, size=w + 1, dtype=np.uint64),
                "events": streams.events.random(w)}

    def step(self, rows: np.ndarray, doses_mg: np.ndarray) -> tuple[np.ndarray, ...]:
        """Give ``rows`` a week of daily doses (mg) and advance them one week."""
        rec, s = self.records, self.settings.scenario
        week = rec.week[rows]
        if np.any(week >= s.n_weeks):
            raise RuntimeError("the episode is over (truncated): call reset()")
        doses = np.asarray(doses_mg, dtype=np.float64)
        p = rec.params
        out = advance_week(rec.amount_mg[rows], rec.effect[rows], doses,
                           p["clearance_l_per_h"][rows], self.model.drug)
        rec.amount_mg[rows], rec.effect[rows] = out["amount_mg"], out["effect"]
        rho = reward_sensitivity(p["rho0"][rows], p["emax"][rows], out["effect"], week + 1,
                                 self.model)
        score = assess(rec, self.settings, rows, week + 1, rho)
        adverse = out["adverse_probability"]
        record_week(rows, week, (doses, adverse, out["concentration_mg_per_l"], out["occupancy"],
                                 rec.event_uniforms),
                    (rec.doses_mg, rec.adverse_probability, rec.adverse_event,
                     rec.concentration_mg_per_l, rec.occupancy))
        rec.week[rows] = week + 1
        outcome = WeekOutcome(rec.score[rows, week], score, adverse)
        reward = np.asarray(self.reward_fn(outcome, doses), dtype=np.float64)
        rec.reward[rows] = reward
        return reward, np.zeros(rows.size, dtype=bool), week + 1 >= s.n_weeks

    def info(self) -> dict[str, np.ndarray]:
        """Clinical metrics of the last week and the true, hidden state of every patient."""
        return depression_views.info(self.records, self.settings, np.arange(self.n_patients))


def session_seeds(generator: np.random.Generator, size: int) -> np.ndarray:
    """``generator.integers(0, 2**63, size, dtype=np.uint64)``: the same numbers, cheaper.

    numpy draws a bounded 64-bit integer by Lemire's method; for the range 2^63 that is one
    raw output shifted right once, never rejected, so a PCG64 stream's raw outputs give the
    same seeds and leave the stream in the same state (about 10x faster than ``integers``,
    whose argument handling dominates at this size). Other bit generators use ``integers``.

    Examples:
        >>> a, b = np.random.default_rng(1), np.random.default_rng(1)
        >>> bool((session_seeds(a, 5) == b.integers(0, 2**63, 5, dtype=np.uint64)).all())
        True
    """
    if type(generator.bit_generator) is np.random.PCG64:
        return generator.bit_generator.random_raw(size) >> np.uint64(1)
    return generator.integers(0, 2**63, size=size, dtype=np.uint64)
