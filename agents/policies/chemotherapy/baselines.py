"""Docetaxel dosing policies for ``pkgym/Chemotherapy-v0``: label rules, MAP, oracle.

Decisions are doses in % of the label dose, shape (n_envs,), or (n_envs, 2) with a 0/1
delay column for an env built with ``allow_delay=True``. ``cycle == 0`` marks a new patient.

* :class:`FixedPercentPolicy`: the same dose every cycle (no modification).
* :class:`LabelRulesPolicy`: 100% of the label dose, one level lower after febrile
  neutropenia or ANC < 0.5 x10^9/L on two consecutive counts (> 1 week, the label's rule), and
  no new cycle below ANC 1.5 x10^9/L (a one-week delay, or one level lower without delays).
* :class:`ChemoOraclePolicy`: the highest dose whose predicted nadir stays out of grade 4
  (ANC >= 0.5), from the true parameters and state (an upper bound).
* :class:`ChemoMapPolicy` (:mod:`agents.policies.chemotherapy.map`): the same rule on MAP estimates.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pkgym.models.chemotherapy_kernel import SolverTolerances, advance_cycles

GRADE4_ANC = 0.5
START_ANC = 1.5
"""Label: a cycle starts only with ANC >= 1.5 x10^9/L; grade 4 is ANC < 0.5 x10^9/L."""
PLANNING_SOLVER = SolverTolerances(rtol=1e-5, atol=1e-7)
"""Looser tolerances for forecasts (nadir errors ~1e-4 relative)."""


def forecast_nadir(params: np.ndarray, states: np.ndarray, times_h: np.ndarray,
                   doses_mg: np.ndarray, infusion_h: float, cycle_days: int,
                   delay_days: np.ndarray | None = None,
                   solver: SolverTolerances = PLANNING_SOLVER) -> np.ndarray:
    """Lowest daily ANC of the next cycle for each patient and dose (m,), from copies.

    Examples:
        >>> from pkgym.models.chemotherapy import DocetaxelPatientModel
        >>> from pkgym.models.chemotherapy_kernel import initial_states
        >>> cov = {"is_female": [0, 0], "age_years": [60.0] * 2, "bsa_m2": [1.8] * 2,
        ...        "aag_g_per_l": [1.34] * 2, "hepatic_impairment": [0, 0],
        ...        "baseline_sld_mm": [70.0] * 2}
        >>> p = DocetaxelPatientModel().parameters(cov)
        >>> nadir = forecast_nadir(p, initial_states(p, np.full(2, 70.0)), np.zeros(2),
        ...                        np.array([90.0, 180.0]), 1.0, 21)
        >>> bool(nadir[0] > nadir[1] and nadir[1] < 0.5)
        True
    """
    m = params.shape[0]
    delay = np.zeros(m, np.int64) if delay_days is None else np.asarray(delay_days, np.int64)
    anc = np.empty((m, cycle_days + int(delay.max(initial=0))))
    advance_cycles(np.arange(m), doses_mg, delay, cycle_days + delay, infusion_h,
                   times_h.copy(), states.copy(), params.copy(), solver.rtol, solver.atol,
                   solver.max_steps, anc)
    return np.nanmin(anc, axis=1)


def highest_safe_percent(params: np.ndarray, states: np.ndarray, times_h: np.ndarray,
                         bsa_m2: np.ndarray, levels_percent: np.ndarray, label_mg_per_m2: float,
                         infusion_h: float, cycle_days: int,
                         floor_anc: float = GRADE4_ANC) -> np.ndarray:
    """The highest dose level (%) whose forecast nadir is >= ``floor_anc`` (lowest level if none).

    Examples:
        >>> from pkgym.models.chemotherapy import DocetaxelPatientModel
        >>> from pkgym.models.chemotherapy_kernel import initial_states
        >>> cov = {"is_female": [0], "age_years": [60.0], "bsa_m2": [1.8],
        ...        "aag_g_per_l": [1.34], "hepatic_impairment": [0], "baseline_sld_mm": [70.0]}
        >>> p = DocetaxelPatientModel().parameters(cov)
        >>> float(highest_safe_percent(p, initial_states(p, np.array([70.0])), np.zeros(1),
        ...       np.array([1.8]), np.array([0.0, 50, 75, 100, 125]), 75.0, 1.0, 21)[0])
        75.0
    """
    n, levels = params.shape[0], np.asarray(levels_percent, dtype=np.float64)
    k = levels.size
    doses = (levels[None, :] / 100.0 * label_mg_per_m2 * bsa_m2[:, None]).reshape(-1)
    nadir = forecast_nadir(np.repeat(params, k, axis=0), np.repeat(states, k, axis=0),
                           np.repeat(times_h, k), doses, infusion_h, cycle_days).reshape(n, k)
    safe = nadir >= floor_anc
    safe[:, 0] = True  # the lowest level is always allowed
    return levels[k - 1 - np.argmax(safe[:, ::-1], axis=1)]


class ChemoOraclePolicy:
    """Highest dose with a forecast nadir >= 0.5 x10^9/L, from the true patient (upper bound)."""

    reads_hidden_state = True

    def __init__(self, levels_percent: np.ndarray, label_mg_per_m2: float, infusion_h: float,
                 cycle_days: int, *, allow_delay: bool = False) -> None:
        """Plan over ``levels_percent`` of ``label_mg_per_m2`` (the env's scenario values)."""
        self.name = "oracle"
        self.levels, self.label = np.asarray(levels_percent, np.float64), float(label_mg_per_m2)
        self.infusion_h, self.cycle_days, self.allow_delay = infusion_h, cycle_days, allow_delay

    def reset(self, n_envs: int) -> None:
        """Stateless: the truth is read afresh each cycle."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """The highest safe dose for every env (never delayed: the forecast already waits)."""
        if info is None or "model_parameters" not in info:
            raise ValueError("the oracle needs the env's info (model_parameters, state, time_h)")
        percent = highest_safe_percent(
            np.asarray(info["model_parameters"], np.float64), np.asarray(info["state"], np.float64),
            np.asarray(info["time_h"], np.float64), np.asarray(info["bsa_m2"], np.float64),
            self.levels, self.label, self.infusion_h, self.cycle_days)
        return _with_delay(percent, np.zeros(percent.size), self.allow_delay)


def _with_delay(percent: np.ndarray, delay: np.ndarray, allow_delay: bool) -> np.ndarray:
    return np.stack([percent, delay], axis=1) if allow_delay else percent


class LabelRulesPolicy:
    """The docetaxel label's dose modifications (see the module docstring)."""

    reads_hidden_state = False

    def __init__(self, levels_percent: np.ndarray, lab_days: tuple[int, ...] = (0, 7, 14), *,
                 allow_delay: bool = False, start_percent: float = 100.0) -> None:
        """Start at ``start_percent``; step down through ``levels_percent`` (never below 50%).

        ``lab_days`` are the env's (scenario) count days; day 0 is the pre-dose count.
        """
        if 0 not in lab_days:
            raise ValueError(f"lab_days must include day 0 (the pre-dose count), got {lab_days}")
        self.name = "label"
        self.levels = np.asarray(levels_percent, np.float64)
        self.floor = float(self.levels[self.levels >= 50.0].min())
        self.n_labs, self.day0 = len(lab_days), lab_days.index(0)
        order = [k for k in np.argsort(lab_days) if lab_days[k] > 0]
        self.after_dose = np.asarray(order, dtype=np.int64)  # slots of post-dose counts, by day
        self.allow_delay, self.start = allow_delay, start_percent
        self.reset(0)

    def reset(self, n_envs: int) -> None:
        """Forget every patient."""
        self.current = np.full(n_envs, self.start)

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Each env's dose (and delay) for the coming cycle from its counts and events."""
        anc = np.asarray(observation["anc_1e9_per_l"], np.float64)
        n_cycles = anc.shape[1] // self.n_labs
        cycle = np.minimum(np.asarray(observation["cycle"])[:, 0].astype(np.int64), n_cycles - 1)
        if self.current.size != cycle.size:
            self.reset(cycle.size)
        self.current[cycle == 0] = self.start
        low = (anc < GRADE4_ANC) & (np.asarray(observation["anc_mask"]) > 0)
        rows, last = np.arange(cycle.size), np.maximum(cycle - 1, 0)
        febrile = np.asarray(observation["febrile_neutropenia"])[rows, last] > 0
        window = low[rows[:, None], (last * self.n_labs)[:, None] + self.after_dose[None, :]]
        prolonged = np.any(window[:, :-1] & window[:, 1:], axis=1)
        reduce = (cycle > 0) & (febrile | prolonged)
        today = cycle * self.n_labs + self.day0
        measured = np.asarray(observation["anc_mask"])[rows, today] > 0
        low_start = measured & (anc[rows, today] < START_ANC)
        self.current = np.where(reduce, self._lower(self.current), self.current)
        percent = self.current.copy()
        if self.allow_delay:
            return np.stack([percent, low_start.astype(np.float64)], axis=1)
        return np.where(low_start, self._lower(percent), percent)

    def _lower(self, percent: np.ndarray) -> np.ndarray:
        """One level lower, not below the floor."""
        index = np.searchsorted(self.levels, percent, side="left") - 1
        return np.maximum(self.levels[np.clip(index, 0, None)], self.floor)


class FixedPercentPolicy:
    """The same % of the label dose every cycle, whatever happens (no modifications)."""

    reads_hidden_state = False

    def __init__(self, percent: float = 100.0, *, allow_delay: bool = False) -> None:
        """Always ``percent`` of the label dose."""
        self.name, self.percent = f"fixed_{percent:g}", float(percent)
        self.allow_delay = allow_delay

    def reset(self, n_envs: int) -> None:
        """Stateless."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """The fixed dose for every env."""
        n = np.asarray(observation["cycle"]).shape[0]
        return _with_delay(np.full(n, self.percent), np.zeros(n), self.allow_delay)
