"""MMF dosing policies for ``pkgym/Mycophenolate-v0``: fixed dose, trough protocol, oracle.

Decisions are MMF doses in mg per administration (twice daily), shape (n_envs,); the env
maps them to the nearest dose level. ``time_h == 0`` marks a new patient (day 0).

* :class:`FixedDosePolicy`: 1 g twice daily throughout (the label's dose with tacrolimus).
* :class:`TroughProtocolPolicy`: concentration-controlled dosing by the measured trough, as
  the consensus allows (Kuypers D et al. 2010, Clin J Am Soc Nephrol 5:341): start 1 g bid
  with tacrolimus, 1.5 g bid with ciclosporin (its recommendation table); keep the dose
  while the measured C0 is within the target, C0 >= 1.9 mg/L with tacrolimus or >= 1.3
  mg/L with ciclosporin (same table), up to 2.75 mg/L, the toxicity cut-off of Borrows R et
  al. 2006 (Am J Transplant 6:121); otherwise scale the dose by mid-target / C0 (the
  consensus assumes dose-linearity), at most doubled or halved per visit (our cap: FDCC
  physicians were reluctant to make large changes, van Gelder 2008), rounded to the levels.
  A C0 below the LOQ (reported 0) counts as half the LOQ. No LSS regression is used (no
  verified coefficients).
* :class:`OraclePolicy`: an upper bound, not a clinic. It reads the hidden truth from
  ``info`` (the model state at the decision, the patient's covariate trajectory and etas)
  and, for every dose level, simulates the true patient exactly through every
  administration until the next visit (or day 28) with each day's true parameters, as the
  core does, and scores the period with the env's own reward; it gives the best level
  (``plan="lookahead"``, the default). ``plan="steady_auc"`` is the earlier heuristic: the
  level whose near-steady-state AUC0-12 under today's true parameters is nearest
  45 mg*h/L (the FDCC target, van Gelder 2008).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pkgym.envs.base import RewardFn
from pkgym.envs.mycophenolate.clinic import MycophenolateScenario
from pkgym.envs.mycophenolate.core import params_on_day, score_days
from pkgym.envs.mycophenolate.records import INTERVAL_H, PATIENT_KEYS, first_administrations
from pkgym.envs.mycophenolate.views import STATE_KEYS
from pkgym.models.mycophenolate import ETA_NAMES, PARAM_NAMES, simulate_interval, steady_profile

TACROLIMUS_START_MG, CICLOSPORIN_START_MG = 1000.0, 1500.0
"""Starting MMF per administration (Kuypers 2010 recommendation table)."""
TROUGH_LOW_MG_PER_L = {0: 1.9, 1: 1.3}
"""C0 targets by CNI (0 tacrolimus, 1 ciclosporin), HPLC (Kuypers 2010)."""
TROUGH_HIGH_MG_PER_L = 2.75
"""Toxicity cut-off of the trough (Borrows 2006)."""
MAX_CHANGE_FACTOR = 2.0
"""Most a visit may multiply or divide the dose by (our cap)."""
ORACLE_TARGET_AUC = 45.0
"""mg*h/L: the middle of 30-60 and the FDCC target (van Gelder 2008)."""


def nearest_levels(doses_mg: np.ndarray, levels_mg: np.ndarray) -> np.ndarray:
    """Each dose rounded to the nearest level (ties to the lower).

    Examples:
        >>> nearest_levels(np.array([100.0, 620.0, 5000.0]), np.array([250.0, 500.0, 750.0]))
        array([250., 500., 750.])
    """
    doses = np.asarray(doses_mg, dtype=np.float64)
    return levels_mg[np.abs(doses[:, None] - levels_mg[None, :]).argmin(axis=1)]


class FixedDosePolicy:
    """The same dose at every visit (default 1 g per administration)."""

    reads_hidden_state = False

    def __init__(self, dose_mg: float = 1000.0) -> None:
        """Give ``dose_mg`` twice daily."""
        self.name, self.dose_mg = "fixed", float(dose_mg)

    def reset(self, n_envs: int) -> None:
        """Stateless."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """``dose_mg`` for every env."""
        return np.full(len(observation["day"]), self.dose_mg)


class TroughProtocolPolicy:
    """Trough-guided proportional dosing (see the module docstring); reads observations only."""

    reads_hidden_state = False

    def __init__(self, levels_mg: np.ndarray, samples_per_visit: int = 3,
                 loq_mg_per_l: float = 0.25) -> None:
        """Round to ``levels_mg``; each visit's samples start with its trough."""
        self.name = "protocol"
        self.levels = np.asarray(levels_mg, dtype=np.float64)
        self.per_visit, self.loq = int(samples_per_visit), float(loq_mg_per_l)

    def reset(self, n_envs: int) -> None:
        """Stateless: the current dose and the last trough are read from the observation."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """This visit's dose for every env.

        Examples:
            >>> policy = TroughProtocolPolicy(np.arange(250.0, 2001.0, 250.0))
            >>> doses = np.zeros((3, 56)); doses[1:, :7] = 1000.0
            >>> obs = {"covariates": np.array([[70, 50, 0, 1.0], [70, 50, 0, 0], [70, 50, 0, 0]]),
            ...        "doses_mg": doses, "time_h": np.array([[0.0], [84.0], [84.0]]),
            ...        "levels_mg_per_l": np.array([[0.0] * 15, [1.0] + [0] * 14,
            ...                                     [2.0] + [0] * 14]),
            ...        "level_mask": np.array([[0.0] * 15, [1.0] * 3 + [0] * 12,
            ...                                [1.0] * 3 + [0] * 12])}
            >>> policy.act(obs).tolist()
            [1500.0, 2000.0, 1000.0]
        """
        csa = np.asarray(observation["covariates"], dtype=np.float64)[:, 3] > 0.5
        start = np.where(csa, CICLOSPORIN_START_MG, TACROLIMUS_START_MG)
        doses = np.asarray(observation["doses_mg"], dtype=np.float64)
        n, rows = doses.shape[0], np.arange(doses.shape[0])
        given = doses > 0
        last = doses.shape[1] - 1 - np.argmax(given[:, ::-1], axis=1)
        current = np.where(given.any(axis=1), doses[rows, last], start)
        sampled = np.asarray(observation["level_mask"], dtype=np.float64).sum(axis=1)
        block = np.maximum(np.round(sampled / self.per_visit).astype(np.int64) - 1, 0)
        levels = np.asarray(observation["levels_mg_per_l"], dtype=np.float64)
        trough = levels[rows, block * self.per_visit]
        trough = np.where(trough > 0, trough, 0.5 * self.loq)
        low = np.where(csa, TROUGH_LOW_MG_PER_L[1], TROUGH_LOW_MG_PER_L[0])
        mid = 0.5 * (low + TROUGH_HIGH_MG_PER_L)
        factor = np.clip(mid / trough, 1.0 / MAX_CHANGE_FACTOR, MAX_CHANGE_FACTOR)
        inside = (trough >= low) & (trough <= TROUGH_HIGH_MG_PER_L)
        adjusted = nearest_levels(np.where(inside, current, current * factor), self.levels)
        new = np.asarray(observation["time_h"], dtype=np.float64).reshape(n) <= 0
        return np.where(new | (sampled == 0), nearest_levels(start, self.levels), adjusted)


ORACLE_PLANS = ("lookahead", "steady_auc")
"""What :class:`OraclePolicy` optimises: the exact visit period, or the steady-AUC heuristic."""
PLANNER_INFO_KEYS = ("visit", "interval_auc_mg_h_per_l", *STATE_KEYS,
                     *(f"patient_{key}" for key in PATIENT_KEYS),
                     *(f"eta_{name}" for name in ETA_NAMES))
"""The hidden truth the lookahead oracle reads from ``info``."""


class OraclePolicy:
    """The best level for the visit period from the true, hidden state: an upper bound.

    ``plan="lookahead"``: at visit k, for every patient and every level, the true patient
    is simulated from the true state (``state_*_umol``) through each administration of the
    decision (the visit day's evening dose, or day 0's first, up to the next visit's morning
    dose; to day 28 after the last visit), one :func:`~pkgym.models.mycophenolate.
    simulate_interval` call per administration on n x levels rows, with day ``j // 2``'s
    true parameters (:func:`pkgym.envs.mycophenolate.core.params_on_day`, the core's rule).
    The days the step completes (the visit day's morning interval is read from
    ``interval_auc_mg_h_per_l``) are scored as the core scores them
    (:func:`~pkgym.envs.mycophenolate.core.score_days`: days in target, rejection
    probability, toxic days) and rewarded with the env's reward; the best level is given,
    ties to the one whose mean daily AUC0-12 is nearest ``target_auc``. Its predicted
    reward is the env's reward of that step (to the integrator's tolerance: the env also
    stops its stepper at the sample times).

    A one-visit lookahead (greedy), exact within the period, not a dynamic programme over
    the six visits. It is near-optimal here because the reward is a sum over days, every
    visit can re-choose the level with the true state, and a period's dose touches the
    next period only through the drug carried over in the slow peripheral compartment and
    the gallbladder, a small share of a day's AUC next to the 250-mg level steps. It is not
    exactly optimal, since it ignores that carry-over: measured on 40 patients (seed 123),
    a two-visit lookahead changed 2 of 200 decisions and would add 0.004 to the mean
    return (0.645 over 200 patients), almost all from one patient whose exposure still
    climbs steeply (0.18: greedy starts at 500 mg for two days in target, after which even
    250 mg stays above 60 mg*h/L for the next period; 250 mg from day 0 would have kept it
    in range).

    Args:
        levels_mg: the dose levels, mg per administration.
        scenario: the clinic (visit days, end day, targets, the rejection curve, the truth's
            parameters); the default scenario when None.
        reward_fn: the env's reward (the scenario's when None).
        plan: one of :data:`ORACLE_PLANS`.
        target_auc: AUC0-12 of the ties (lookahead) or of the heuristic, mg*h/L.
    """

    reads_hidden_state = True

    def __init__(self, levels_mg: np.ndarray, scenario: MycophenolateScenario | None = None,
                 *, reward_fn: RewardFn | None = None, plan: str = "lookahead",
                 target_auc: float = ORACLE_TARGET_AUC) -> None:
        """Plan for ``scenario`` among ``levels_mg`` (see the class doc)."""
        if plan not in ORACLE_PLANS:
            raise ValueError(f"plan must be one of {ORACLE_PLANS}, got {plan!r}")
        self.name = "oracle" if plan == "lookahead" else "oracle_steady"
        self.plan, self.target = plan, float(target_auc)
        self.levels = np.asarray(levels_mg, dtype=np.float64)
        self.scenario = scenario if scenario is not None else MycophenolateScenario()
        self.reward_fn = reward_fn if reward_fn is not None else self.scenario.reward

    def reset(self, n_envs: int) -> None:
        """Stateless: the truth is read afresh at each visit."""

    def predict(self, info: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Each level's exact step reward and mean daily AUC0-12 (mg*h/L), each (n, levels).

        Patients whose episode is over get 0 for both.
        """
        missing = [key for key in PLANNER_INFO_KEYS if key not in info]
        if missing:
            raise ValueError(f"the oracle needs the env's info (hidden truth); missing "
                             f"{missing[:3]}")
        visit = np.asarray(info["visit"], dtype=np.int64).reshape(-1)
        rewards, means = np.zeros((visit.size, self.levels.size)), np.zeros((visit.size,
                                                                              self.levels.size))
        for k in np.unique(visit[visit < self.scenario.n_steps]):
            rows = np.flatnonzero(visit == k)
            rewards[rows], means[rows] = self._plan_visit(info, rows, int(k))
        return rewards, means

    def _plan_visit(self, info: Mapping[str, np.ndarray], rows: np.ndarray, k: int
                    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`predict` of ``rows``, all at visit ``k``."""
        s, n_levels = self.scenario, self.levels.size

        def take(key: str) -> np.ndarray:  # (rows * levels,): each patient once per level
            return np.repeat(np.asarray(info[key], dtype=np.float64).reshape(-1)[rows], n_levels)

        patients = {key: take(f"patient_{key}") for key in PATIENT_KEYS}
        etas = np.column_stack([take(f"eta_{name}") for name in ETA_NAMES])
        state = np.column_stack([take(key) for key in STATE_KEYS])
        aucs = np.asarray(info["interval_auc_mg_h_per_l"], dtype=np.float64)
        aucs = np.repeat(aucs.reshape(-1, 2 * s.end_day)[rows], n_levels, axis=0)
        doses, firsts = np.tile(self.levels, rows.size), first_administrations(s)
        params, day = np.empty((doses.size, 0)), -1
        for j in range(firsts[k], firsts[k + 1]):
            if j // 2 != day:
                day = j // 2
                params = params_on_day(s.dewinter2009, patients, etas, day)
            state, _, aucs[:, j] = simulate_interval(state, params, doses, INTERVAL_H,
                                                     np.full((doses.size, 1), INTERVAL_H))
        end = s.end_day if k + 1 >= s.n_steps else s.visit_days[k + 1]
        days = np.arange(s.visit_days[k], end)
        daily = 0.5 * (aucs[:, 2 * days] + aucs[:, 2 * days + 1])
        reward = np.asarray(self.reward_fn(score_days(s, daily), doses), dtype=np.float64)
        return reward.reshape(rows.size, n_levels), daily.mean(axis=1).reshape(rows.size,
                                                                               n_levels)

    def steady_aucs(self, info: Mapping[str, np.ndarray]) -> np.ndarray:
        """Near-steady-state AUC0-12 (n, n_levels), mg*h/L, of each level for each patient."""
        missing = [name for name in PARAM_NAMES if name not in info]
        if missing:
            raise ValueError(f"the oracle needs the env's info (true parameters); missing "
                             f"{missing[:3]}")
        params = np.column_stack([np.asarray(info[name], dtype=np.float64).reshape(-1)
                                  for name in PARAM_NAMES])
        n, k = params.shape[0], self.levels.size
        _, auc = steady_profile(np.repeat(params, k, axis=0), np.tile(self.levels, n),
                                np.array([12.0]))
        return auc.reshape(n, k)

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """The planned level for every env (mg per administration)."""
        if info is None:
            raise ValueError("the oracle needs the env's info (true state and parameters)")
        if self.plan == "steady_auc":
            return self.levels[np.abs(self.steady_aucs(info) - self.target).argmin(axis=1)]
        rewards, means = self.predict(info)
        tied = rewards >= rewards.max(axis=1, keepdims=True) - 1e-12
        return self.levels[np.where(tied, np.abs(means - self.target), np.inf).argmin(axis=1)]
