"""How a warfarin titration protocol acts: each env's dose, holds and next INR, day by day.

:class:`TitrationPolicy` is the machinery the maintenance protocols of
:mod:`agents.policies.warfarin.protocols` share: an injected initiation rule
(:mod:`agents.policies.warfarin.iwpc`) sets the dose until the protocol's start day, then the
protocol's ``_decide`` titrates it at every new INR; one-off doses and holds override the daily
dose for their days, and day 0 means a new patient (that env's state is forgotten).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from agents.policies.warfarin.iwpc import (
    MAX_DOSE_MG,
    RAVVAZ_FIRST_INR_DAY,
    InitiationRule,
    round_dose_mg,
)

MAX_RETEST_DAYS = 28
"""The longest interval a policy may ask for until the next INR, days."""


def check_n_envs(n_envs: int) -> int:
    """``n_envs`` as an int, or a ValueError when it is below 1.

    Examples:
        >>> check_n_envs(3)
        3
    """
    if n_envs < 1:
        raise ValueError(f"n_envs must be >= 1, got {n_envs}")
    return int(n_envs)


def clinic_view(observation: Mapping[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """Each env's day, whether an INR was measured this morning, and the latest INR (n,)."""
    for key in ("day", "days_since_last_inr", "inr_values", "inr_mask"):
        if key not in observation:
            raise ValueError(f"observation lacks {key!r}")
    days = np.rint(np.asarray(observation["day"], dtype=np.float64).reshape(-1))
    n = days.size
    since = np.asarray(observation["days_since_last_inr"], dtype=np.float64).reshape(n)
    values = np.asarray(observation["inr_values"], dtype=np.float64).reshape(n, -1)
    counts = (np.asarray(observation["inr_mask"]).reshape(n, -1) > 0.5).sum(axis=1)
    latest = values[np.arange(n), np.maximum(counts - 1, 0)]  # slots fill in order
    inrs = np.where(counts > 0, np.round(latest, 2), np.nan)
    return days, (since < 0.5) & (counts > 0), inrs


class Decision(NamedTuple):
    """A protocol's decision for every env at a new INR, each (n,)."""

    doses_mg: np.ndarray  # new daily dose (unrounded)
    today_factors: np.ndarray  # one-off dose = factor x old daily dose, for `one_off_days`
    one_off_days: np.ndarray  # days from today given the one-off dose (inf: until next INR)
    retest_days: np.ndarray
    memory: np.ndarray  # protocol memory (Aurora: in-range streak; Intermountain: zone)
    holding: np.ndarray  # awaiting the recheck after a high-INR hold


class TitrationPolicy:
    """Initiation rule, then a maintenance protocol's ``_decide`` at each new INR."""

    protocol = ""
    default_start_day = RAVVAZ_FIRST_INR_DAY
    memory_start = 0
    reads_hidden_state = False

    def __init__(self, initiation: InitiationRule, *, schedules_tests: bool = False,
                 start_day: int | None = None, name: str | None = None) -> None:
        """Store the rule; the protocol acts from max(start_day, the rule's first test)."""
        start = self.default_start_day if start_day is None else int(start_day)
        if start < 1:
            raise ValueError(f"start_day must be >= 1 (day 0 is the baseline), got {start_day}")
        self.initiation, self.schedules_tests = initiation, bool(schedules_tests)
        self.start_day = max(start, int(initiation.first_test_day))
        self.name = name or f"{initiation.name}+{self.protocol}"
        self.reset(1)

    def reset(self, n_envs: int) -> None:
        """Forget every patient: all envs start over with the initiation rule."""
        n = check_n_envs(n_envs)
        self.daily_doses_mg, self.override_doses_mg = np.zeros(n), np.zeros(n)
        self.override_until_day, self.next_test_day, self.last_decision_day = np.zeros((3, n))
        self.memory = np.zeros(n, dtype=np.int64)
        self.holding, self.started = np.zeros((2, n), dtype=bool)
        self._forget(np.ones(n, dtype=bool))

    def _forget(self, envs: np.ndarray) -> None:
        """Reset the state of the envs where ``envs`` is True (new patients)."""
        self.started[envs], self.holding[envs] = False, False
        self.memory[envs], self.last_decision_day[envs] = self.memory_start, -1.0
        self.override_until_day[envs], self.next_test_day[envs] = 0.0, float(self.start_day)

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Doses in mg, (n_envs,), or (n_envs, 2) with the next-test days when scheduling."""
        days, fresh, inrs = clinic_view(observation)
        if days.size != self.daily_doses_mg.size:
            self.reset(days.size)
        self._forget(days == 0)
        if not np.all(self.started):
            initial = self.initiation.doses_mg(observation, days)
            self.daily_doses_mg = np.where(self.started, self.daily_doses_mg, initial)
        due = fresh & (days >= self.start_day) & (days > self.last_decision_day)
        retest = self._apply(due, inrs, days)
        doses = round_dose_mg(np.where(days < self.override_until_day, self.override_doses_mg,
                                       self.daily_doses_mg))
        if not self.schedules_tests:
            return doses
        self.next_test_day = np.where(due, days + retest, self.next_test_day)
        return np.stack([doses, np.clip(self.next_test_day - days, 1, MAX_RETEST_DAYS)], axis=1)

    def _apply(self, due: np.ndarray, inrs: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Update the state of the ``due`` envs from their new INR; return retest days (n,)."""
        first, first_retest = self.initiation.first_inr_decision(inrs, self.daily_doses_mg)
        by_rule = due & ~self.started & ~np.isnan(first)
        by_protocol = due & ~by_rule
        d = self._decide(inrs, self.daily_doses_mg, self.memory, self.holding)
        self.override_doses_mg = np.where(by_protocol, d.today_factors * self.daily_doses_mg,
                                          self.override_doses_mg)
        one_off = np.where(by_protocol, d.one_off_days, 0.0)
        self.override_until_day = np.where(due, days + one_off, self.override_until_day)
        new_doses = np.select([by_rule, by_protocol], [first, d.doses_mg], self.daily_doses_mg)
        self.daily_doses_mg = np.clip(new_doses, 0.0, MAX_DOSE_MG)
        self.memory = np.select([by_rule, by_protocol], [self.memory_start, d.memory],
                                self.memory)
        self.holding = np.where(due, by_protocol & d.holding, self.holding)
        self.started |= due
        self.last_decision_day = np.where(due, days, self.last_decision_day)
        return np.where(by_rule, first_retest, d.retest_days)

    def _decide(self, inrs: np.ndarray, doses_mg: np.ndarray, memory: np.ndarray,
                holding: np.ndarray) -> Decision:
        raise NotImplementedError
