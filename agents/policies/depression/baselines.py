"""Escitalopram dosing policies for ``pkgym/Depression-v0``: none, fixed, stepped care, oracle.

Decisions are daily doses in mg for the coming week, shape (n_envs,); the env maps them to
the nearest dose level. ``week == 0`` marks a new patient.

* :class:`NoTreatmentPolicy`: 0 mg (the natural course).
* :class:`FixedDosePolicy`: the label's usual 10 mg a day throughout.
* :class:`SteppedCarePolicy`: measurement-based care in the spirit of STAR*D level 1
  (Trivedi et al. 2006, Am J Psychiatry 163:28: dose raised at scheduled visits when
  symptoms have not improved enough and side effects allow): start at 10 mg; every 4 weeks,
  if the rated MADRS has not fallen >= 25% from baseline, one level up (to the maximum)
  unless 2 or more adverse effects were reported over those 4 weeks, in which case one
  level down. The 4-week interval, 25% threshold and the adverse-effect rule are *assumed*.
* :class:`DepressionOraclePolicy`: reads the hidden state; the dose whose constant use
  until the end of the episode maximises the predicted reward (from copies of the truth,
  noise-free), re-planned every week. An upper bound, not a clinical policy.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pkgym.envs.depression.clinic import SymptomReliefReward
from pkgym.models.depression_drug import (
    DepressionPatientModel,
    advance_week,
    reward_sensitivity,
    symptom_score,
)


class NoTreatmentPolicy:
    """No drug: the natural course."""

    name, reads_hidden_state = "none", False

    def reset(self, n_envs: int) -> None:
        """Stateless."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """0 mg for every env."""
        return np.zeros(len(observation["week"]))


class FixedDosePolicy:
    """The same daily dose every week (default: escitalopram's usual 10 mg)."""

    reads_hidden_state = False

    def __init__(self, dose_mg: float = 10.0) -> None:
        """Give ``dose_mg`` a day."""
        self.name, self.dose_mg = "fixed", float(dose_mg)

    def reset(self, n_envs: int) -> None:
        """Stateless."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """``dose_mg`` for every env."""
        return np.full(len(observation["week"]), self.dose_mg)


class SteppedCarePolicy:
    """Measurement-based dose escalation (see the module docstring); reads only observations."""

    reads_hidden_state = False

    def __init__(self, levels_mg: np.ndarray, *, start_mg: float = 10.0,
                 review_every_weeks: int = 4, improvement_needed: float = 0.25,
                 adverse_events_to_step_down: int = 2) -> None:
        """Step through ``levels_mg`` from ``start_mg`` at reviews every few weeks."""
        self.name = "stepped_care"
        self.levels = np.asarray(levels_mg, dtype=np.float64)
        self.start_mg, self.every = float(start_mg), int(review_every_weeks)
        self.improvement_needed = float(improvement_needed)
        self.adverse_limit = int(adverse_events_to_step_down)

    def reset(self, n_envs: int) -> None:
        """Stateless: the current dose is read from the observed dose history."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """This week's dose for every env.

        Examples:
            >>> policy = SteppedCarePolicy(np.array([0.0, 5, 10, 15, 20]))
            >>> obs = {"week": np.array([[0.0], [4.0], [4.0]]),
            ...        "madrs": np.array([[30.0, 0, 0, 0, 25], [30, 0, 0, 0, 20],
            ...                           [30, 0, 0, 0, 28]]),
            ...        "doses_mg": np.array([[0.0] * 4, [10.0] * 4, [10.0] * 4]),
            ...        "adverse_event": np.array([[0.0] * 4, [0.0] * 4, [1, 1, 0, 0]])}
            >>> policy.act(obs).tolist()
            [10.0, 10.0, 5.0]
        """
        week = np.asarray(observation["week"]).reshape(-1).astype(np.int64)
        n, rows = week.size, np.arange(week.size)
        doses = np.asarray(observation["doses_mg"], dtype=np.float64)
        current = np.where(week > 0, doses[rows, np.maximum(week - 1, 0)], self.start_mg)
        level = np.abs(current[:, None] - self.levels[None, :]).argmin(axis=1)
        madrs = np.asarray(observation["madrs"], dtype=np.float64)
        baseline, now = madrs[:, 0], madrs[rows, week]
        improved = now <= (1.0 - self.improvement_needed) * baseline
        events = np.asarray(observation["adverse_event"], dtype=np.float64)
        window = (np.arange(events.shape[1])[None, :] >= (week - self.every)[:, None]) & (
            np.arange(events.shape[1])[None, :] < week[:, None])
        recent = (events * window).sum(axis=1)
        review = (week > 0) & (week % self.every == 0)
        step = np.where(recent >= self.adverse_limit, -1, np.where(improved, 0, 1))
        level = np.clip(level + np.where(review, step, 0), 0, self.levels.size - 1)
        return np.where(week > 0, self.levels[level], self.start_mg)[:n]


def predicted_returns(info: Mapping[str, np.ndarray], levels_mg: np.ndarray, weeks_left: int,
                      model: DepressionPatientModel, reward: SymptomReliefReward) -> np.ndarray:
    """Noise-free return of each constant dose until the end, from the true state (n, k).

    Examples:
        >>> info = {"amount_mg": np.zeros(1), "effect": np.zeros(1), "week": np.zeros(1),
        ...         "baseline_reward_sensitivity": np.array([0.5]), "drug_emax": np.array([0.8]),
        ...         "clearance_l_per_h": np.array([36.0])}
        >>> r = predicted_returns(info, np.array([0.0, 10.0]), 12, DepressionPatientModel(),
        ...                       SymptomReliefReward())
        >>> bool(r[0, 1] > r[0, 0])
        True
    """
    n, k = len(info["week"]), levels_mg.size

    def tile(key: str) -> np.ndarray:
        return np.repeat(np.asarray(info[key], dtype=np.float64), k)

    amount, effect, week = tile("amount_mg"), tile("effect"), tile("week")
    rho0, emax, cl = tile("baseline_reward_sensitivity"), tile("drug_emax"), tile(
        "clearance_l_per_h")
    doses = np.tile(levels_mg, n)
    score = symptom_score(reward_sensitivity(rho0, emax, effect, week, model), model)
    total = np.zeros(n * k)
    for _ in range(weeks_left):
        out = advance_week(amount, effect, doses, cl, model.drug)
        amount, effect, week = out["amount_mg"], out["effect"], week + 1
        after = symptom_score(reward_sensitivity(rho0, emax, effect, week, model), model)
        total += (reward.improvement_per_point * (score - after)
                  - reward.side_effect_weight * out["adverse_probability"])
        score = after
    return total.reshape(n, k)


class DepressionOraclePolicy:
    """Best constant dose to the end from the true state, re-planned weekly (upper bound)."""

    reads_hidden_state = True

    def __init__(self, levels_mg: np.ndarray, n_weeks: int, model: DepressionPatientModel,
                 reward: SymptomReliefReward) -> None:
        """Plan over ``levels_mg`` for episodes of ``n_weeks`` weeks."""
        self.name = "oracle"
        self.levels, self.n_weeks = np.asarray(levels_mg, np.float64), int(n_weeks)
        self.model, self.reward = model, reward

    def reset(self, n_envs: int) -> None:
        """Stateless: the truth is read afresh each week."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """The dose with the best predicted return for every env."""
        if info is None or "baseline_reward_sensitivity" not in info:
            raise ValueError("the oracle needs the env's info (true state and parameters)")
        weeks_left = max(self.n_weeks - int(np.min(np.asarray(info["week"]))), 1)
        returns = predicted_returns(info, self.levels, weeks_left, self.model, self.reward)
        return self.levels[returns.argmax(axis=1)]
