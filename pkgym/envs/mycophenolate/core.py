"""The batched core of ``pkgym/Mycophenolate-v0``: N transplant recipients, visit by visit.

Randomness: each slot's seed spawns three child streams (Gymnasium seeding, STYLE 14): the
patient (covariates, their recovery after transplant and the etas, as the population
module's uniforms), assay noise (one uniform per level slot) and clinical events (when each
sample is actually drawn). All of an episode's draws are taken at reset, so a step is pure
array work, toggling assay noise never changes the patient or the sample times, and a single
env can draw its next episodes ahead in a batch (``draws_ahead``).

One step gives the chosen MMF dose twice daily from the visit's first administration
(:func:`~pkgym.envs.mycophenolate.records.first_administrations`) up to the next visit's
morning dose included, one compiled interval per administration
(:func:`pkgym.models.mycophenolate.simulate_interval`) with the parameters of that day's
covariates; each patient is integrated on its own, so a patient's course does not depend on
the batch it is in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pkgym.envs.base import DosingCore, EpisodeStreams, ObservationModel, RewardFn
from pkgym.envs.mycophenolate import views as mycophenolate_views
from pkgym.envs.mycophenolate.clinic import MycophenolateScenario, StepOutcome
from pkgym.envs.mycophenolate.records import (
    INTERVAL_H,
    ClinicRecords,
    ClinicSettings,
    draw_shapes,
    first_administrations,
    measure_levels,
    new_records,
    pinned_patient,
    take_labs,
    take_record_rows,
)
from pkgym.models.mycophenolate import DeWinter2009, simulate_interval
from pkgym.populations import mycophenolate as population


def params_on_day(pk: DeWinter2009, patients: Mapping[str, np.ndarray], etas: np.ndarray,
                  day: int) -> np.ndarray:
    """The true parameters (n, 15) of ``day``: the day's recovered covariates and the etas.

    The rule of a step: every administration of day ``j // 2`` runs on these parameters.

    Args:
        pk: the truth's population parameters.
        patients: the population's patient fields (:data:`~pkgym.envs.mycophenolate.records.
            PATIENT_KEYS`), each (n,).
        etas: (n, 7) in the order of :data:`~pkgym.models.mycophenolate.ETA_NAMES`.
        day: whole days after transplant.

    Examples:
        >>> patients = population.patients_from_uniforms(np.full((1, population.N_UNIFORMS), 0.5))
        >>> params_on_day(DeWinter2009(), patients, patients["etas"], 3).shape
        (1, 15)
    """
    return pk.individual_params(population.covariates_on_day(patients, float(day)), etas)


def score_days(scenario: MycophenolateScenario, daily_auc: np.ndarray) -> StepOutcome:
    """A step's outcome from the true AUC0-12 (mg*h/L) of the days it completed, (n, days).

    Examples:
        >>> from pkgym.envs.mycophenolate.clinic import MycophenolateScenario
        >>> out = score_days(MycophenolateScenario(), np.array([[20.0, 45.0, 70.0]]))
        >>> out.days_in_target.tolist(), out.toxic_days.tolist()
        ([1.0], [1.0])
    """
    low, high = scenario.target_auc_mg_h_per_l
    auc = np.asarray(daily_auc, dtype=np.float64)
    return StepOutcome(((auc >= low) & (auc <= high)).sum(axis=1).astype(np.float64),
                       scenario.rejection(auc).sum(axis=1),
                       (auc > scenario.toxic_auc_mg_h_per_l).sum(axis=1).astype(np.float64))


class MycophenolateCore(DosingCore):
    """N kidney-transplant recipients on MMF (see :class:`pkgym.envs.base.DosingCore`).

    Decisions are MMF doses in mg per administration (given twice daily), shape (n,).
    """

    draws_ahead = True  # every random number of an episode is drawn at its reset

    views = mycophenolate_views

    def __init__(self, n_patients: int, settings: ClinicSettings, reward_fn: RewardFn,
                 observation_model: ObservationModel) -> None:
        """Allocate N placeholder patients; ``reset_patients`` draws real ones."""
        self.attach_clinic(n_patients, settings, reward_fn, observation_model)
        self.firsts = first_administrations(settings.scenario)
        self._shapes = draw_shapes(settings.scenario)
        self._variability = settings.model.variability
        n = self.n_patients
        placeholder = {"uniforms": np.full((n, population.N_UNIFORMS), 0.5),
                       "trough": np.full((n, *self._shapes["trough"]), 0.5),
                       "jitter": np.zeros((n, *self._shapes["jitter"])),
                       "assay": np.full((n, *self._shapes["assay"]), 0.5)}
        self.records = self.build_episodes(placeholder, [None] * n,
                                           [_NO_STREAMS] * n)

    # ----- reset ---------------------------------------------------------------------------
    def draw_episodes(self, streams: Sequence[EpisodeStreams]) -> dict[str, np.ndarray]:
        """Each slot's episode draws: patient uniforms, sample-time events, assay uniforms."""
        n = len(streams)
        out = {"uniforms": np.empty((n, population.N_UNIFORMS)),
               **{key: np.empty((n, *shape)) for key, shape in self._shapes.items()}}
        for k, slot in enumerate(streams):
            out["uniforms"][k] = population.draw_patient_uniforms(slot.patient)
            slot.events.random(out=out["trough"][k])
            slot.events.standard_normal(out=out["jitter"][k])
            slot.noise.random(out=out["assay"][k])
        return out

    def build_episodes(self, draws: dict[str, np.ndarray],
                       patients: Sequence[Mapping[str, Any] | None],
                       streams: Sequence[EpisodeStreams]) -> ClinicRecords:
        """Records of fresh episodes from their draws (a pinned patient's fields replace them)."""
        pinned = [None if p is None else self.pin_patient(p) for p in patients]
        drawn = population.patients_from_uniforms(draws["uniforms"])
        entropy = np.array([slot.seed_entropy for slot in streams], dtype=object)
        return new_records(self.settings, drawn, draws, pinned, entropy)

    def take_episode(self, records: ClinicRecords, row: int) -> ClinicRecords:
        """One row of the records (the patients dict included)."""
        return take_record_rows(records, np.array([row]))

    def pin_patient(self, patient: Mapping[str, Any]) -> dict[str, Any]:
        """A pinned patient's validated covariates, given etas (range-checked) and id."""
        return pinned_patient(patient, self._variability)

    # ----- step ----------------------------------------------------------------------------
    def step(self, rows: np.ndarray, doses_mg: np.ndarray) -> tuple[np.ndarray, ...]:
        """Give ``rows`` their dose (mg per administration) until the next visit."""
        rec, n_steps = self.records, self.settings.scenario.n_steps
        visits = rec.visit[rows]
        if np.any(visits >= n_steps):
            raise RuntimeError("the episode is over (truncated): call reset()")
        doses = np.asarray(doses_mg, dtype=np.float64)
        for k in np.unique(visits):
            chosen = visits == k
            self._advance(rows[chosen], int(k), doses[chosen])
        outcome = StepOutcome(rec.days_in_target[rows], rec.rejection_risk[rows],
                              rec.toxic_days[rows])
        reward = np.asarray(self.reward_fn(outcome, doses), dtype=np.float64)
        rec.reward[rows] = reward
        return reward, np.zeros(rows.size, dtype=bool), visits + 1 >= n_steps

    def _advance(self, rows: np.ndarray, k: int, doses: np.ndarray) -> None:
        """Administrations of visit ``k``'s decision for ``rows`` (all at visit ``k``)."""
        s, rec = self.settings.scenario, self.records
        last = k + 1 >= s.n_steps
        next_day = s.end_day if last else s.visit_days[k + 1]
        plan = None if last else self._sample_plan(rows, k, next_day)
        patients = {key: value[rows] for key, value in rec.patients.items()}
        etas, state, day = rec.etas[rows], rec.state[rows], -1
        day_params = np.empty((rows.size, 0))
        for j in range(self.firsts[k], self.firsts[k + 1]):
            if j // 2 != day:
                day = j // 2
                day_params = params_on_day(self.settings.model.pk, patients, etas, day)
            offsets = INTERVAL_H * np.ones((rows.size, 1))
            if plan is not None and j in plan:
                offsets = np.column_stack([offsets, plan[j][1]])
            rec.interval_states[rows, j] = state
            state, conc, auc = simulate_interval(state, day_params, doses, INTERVAL_H, offsets)
            rec.doses_mg[rows, j], rec.interval_auc[rows, j] = doses, auc
            rec.interval_trough[rows, j] = conc[:, 0]
            if plan is not None and j in plan:
                slots = plan[j][0]
                rec.levels_true[np.ix_(rows, slots)] = conc[:, 1:]
                rec.level_times_h[np.ix_(rows, slots)] = INTERVAL_H * j + plan[j][1]
        rec.state[rows] = state
        self._score_days(rows, s.visit_days[k], next_day)
        if not last:
            block = np.arange(k * s.sampling.n_samples, (k + 1) * s.sampling.n_samples)
            measure_levels(rec, s, rows, block)
            take_labs(rec, rows, np.full(rows.size, k + 1), np.full(rows.size, float(next_day)))
        rec.visit[rows], rec.day[rows] = k + 1, float(next_day)

    def _sample_plan(self, rows: np.ndarray, k: int, day: int
                     ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """{administration: (level slots, offsets after it, h (rows, m))} of visit k + 1.

        The trough is drawn up to ``trough_early_min`` before the visit's morning dose (the
        end of the evening interval before it); the post-dose samples at their nominal times
        plus the clipped normal jitter (:class:`~pkgym.envs.mycophenolate.clinic.SamplingPlan`).
        """
        plan, rec = self.settings.scenario.sampling, self.records
        base = k * plan.n_samples
        trough = INTERVAL_H - plan.trough_early_min / 60.0 * rec.trough_uniforms[rows, k][:, None]
        top = plan.jitter_max_min / 60.0
        jitter = np.clip(plan.jitter_sd_min / 60.0 * rec.jitter_normals[rows, k], -top, top)
        post = np.asarray(plan.post_dose_h)[None, :] + jitter
        return {2 * day - 1: (np.array([base]), trough),
                2 * day: (base + 1 + np.arange(len(plan.post_dose_h)), post)}

    def _score_days(self, rows: np.ndarray, first_day: int, end_day: int) -> None:
        """Daily AUC0-12 and trough of the days the step completed, and their outcome."""
        s, rec = self.settings.scenario, self.records
        days = np.arange(first_day, end_day)
        auc = 0.5 * (rec.interval_auc[np.ix_(rows, 2 * days)]
                     + rec.interval_auc[np.ix_(rows, 2 * days + 1)])
        trough = rec.interval_trough[np.ix_(rows, 2 * days + 1)]
        rec.daily_auc[np.ix_(rows, days)], rec.daily_trough[np.ix_(rows, days)] = auc, trough
        outcome = score_days(s, auc)
        rec.days_in_target[rows] = outcome.days_in_target
        rec.rejection_risk[rows] = outcome.rejection_risk
        rec.toxic_days[rows] = outcome.toxic_days
        rec.days_done[rows] = days.size

    # ----- views ---------------------------------------------------------------------------
    def info(self) -> dict[str, np.ndarray]:
        """Clinical metrics of the last step and the true, hidden state of every patient."""
        return mycophenolate_views.info(self.records, self.settings,
                                        np.arange(self.n_patients))


class _NoStreams:
    """Stand-in streams of the placeholder patients built before the first reset."""

    seed_entropy = 0


_NO_STREAMS: Any = _NoStreams()
