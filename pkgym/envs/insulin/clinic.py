"""The diabetes clinic: scenario, meal plan, risk and reward, observation model, step outcome.

Configuration flows one way (STYLE 11): a YAML file or keyword arguments give a frozen
:class:`InsulinScenario`, which :func:`pkgym.envs.insulin.records.clinic_settings` turns into
the core's settings.

Sources:

* meals: simglucose 0.2.11 ``simulation/scenario_gen.py`` (``RandomScenario.create_scenario``,
  MIT): breakfast, morning snack, lunch, afternoon snack, dinner, evening snack with
  probabilities 0.95/0.3/0.95/0.3/0.95/0.3, times from normals truncated to [5, 9], [9, 10],
  [10, 14], [14, 16], [16, 20], [20, 23] h (means 7, 9.5, 12, 15, 18, 21.5 h; SDs 60, 30, 60,
  30, 60, 30 min) rounded to the minute, amounts ``max(round(N(mu, sd)), 0)`` g with mu 45, 10,
  70, 10, 80, 10 and sd 10, 5, 10, 5, 10, 5 (:class:`MealPlan`);
* risk: Kovatchev BP et al. 1997 (Diabetes Care 20:1655) / 2006: ``f(BG) = 1.509 (ln(BG)^1.084
  - 5.381)``, ``risk = 10 f^2``, split into its low (f < 0) and high (f > 0) parts (LBGI, HBGI);
  the Magni et al. 2007 (J Diabetes Sci Technol 1:804) risk index is their sum, the form of
  simglucose's ``analysis/risk.py`` (:func:`bg_risk`);
* episode end: BG < 10 or > 600 mg/dL, simglucose's ``done`` rule (``simulation/env.py``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
from gymnasium import spaces

from pkgym.envs.base import ObservationModel, RewardFn
from pkgym.envs.insulin.kernel import observe_chunks, observe_rows
from pkgym.scenarios import check_fields
from pkgym.scenarios import resolve_scenario as resolve

MODELS = ("uva_padova", "hovorka2004")
"""The truths a scenario may name."""
SENSORS, PUMPS = ("Dexcom", "GuardianRT", "Navigator"), ("Cozmo", "Insulet")
CGM_HIGH_MG_PER_DL, IOB_HIGH_U, CARBS_HIGH_G = 600.0, 200.0, 1000.0
SETTINGS_HIGHS = np.array([30.0, 200.0, 1000.0, 300.0, 120.0], dtype=np.float32)
"""Upper bounds of ``pump_settings``: basal U/h, CR g/U, CF mg/dL/U, weight kg, age years."""
SETTINGS_BOUNDS = SETTINGS_HIGHS.astype(np.float64)
"""The same bounds as the float64 numbers ``np.clip`` compares the settings with."""
OBSERVE_PARALLEL_ROWS = 1024
"""Rows from which the observation is written in chunks on every numba thread."""


def bg_risk(bg_mg_per_dl: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kovatchev's low and high risk of each glucose value, ``(rl, rh)``, each >= 0.

    ``f = 1.509 (ln(BG)^1.084 - 5.381)``; ``rl = 10 f^2`` where f < 0, else 0; ``rh`` likewise
    where f > 0. BG is floored at 1 mg/dL (the log). The risk is 0 at about 112.5 mg/dL.

    Examples:
        >>> low, high = bg_risk(np.array([40.0, 112.5, 300.0]))
        >>> low.round(1).tolist(), high.round(1).tolist()
        ([36.4, 0.0, 0.0], [0.0, 0.0, 34.0])
    """
    bg = np.maximum(np.asarray(bg_mg_per_dl, dtype=np.float64), 1.0)
    f = 1.509 * (np.log(bg) ** 1.084 - 5.381)
    risk = 10.0 * f * f
    return np.where(f < 0, risk, 0.0), np.where(f > 0, risk, 0.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class MealPlan:
    """simglucose's random day of meals (module docstring); six meal slots per day.

    Attributes:
        probability: chance of each slot's meal.
        earliest_h, latest_h: truncation bounds of its time, h of the day.
        mean_h, sd_min: mean time (h) and SD (min) of the truncated normal.
        mean_g, sd_g: carbohydrate amount mean and SD, g.
    """

    probability: tuple[float, ...] = (0.95, 0.3, 0.95, 0.3, 0.95, 0.3)
    earliest_h: tuple[float, ...] = (5.0, 9.0, 10.0, 14.0, 16.0, 20.0)
    latest_h: tuple[float, ...] = (9.0, 10.0, 14.0, 16.0, 20.0, 23.0)
    mean_h: tuple[float, ...] = (7.0, 9.5, 12.0, 15.0, 18.0, 21.5)
    sd_min: tuple[float, ...] = (60.0, 30.0, 60.0, 30.0, 60.0, 30.0)
    mean_g: tuple[float, ...] = (45.0, 10.0, 70.0, 10.0, 80.0, 10.0)
    sd_g: tuple[float, ...] = (10.0, 5.0, 10.0, 5.0, 10.0, 5.0)

    def __post_init__(self) -> None:
        """Equal lengths; probabilities in [0, 1]; earliest <= mean <= latest in [0, 24]."""
        n = len(self.probability)
        for name in ("earliest_h", "latest_h", "mean_h", "sd_min", "mean_g", "sd_g"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"meals.{name} must have {n} entries (one per meal slot)")
        p, low, high = (np.asarray(v) for v in (self.probability, self.earliest_h, self.latest_h))
        mean = np.asarray(self.mean_h)
        if np.any((p < 0) | (p > 1)):
            raise ValueError(f"meals.probability must be in [0, 1], got {self.probability}")
        if np.any(low < 0) or np.any(high > 24) or np.any(low > mean) or np.any(mean > high):
            raise ValueError("meals.earliest_h <= mean_h <= latest_h must hold within [0, 24] h")
        if np.any(np.asarray(self.sd_min) <= 0) or np.any(np.asarray(self.sd_g) < 0) or \
                np.any(np.asarray(self.mean_g) < 0):
            raise ValueError("meals.sd_min must be > 0, meals.sd_g and meals.mean_g >= 0")

    @property
    def n_slots(self) -> int:
        """Meal slots per day."""
        return len(self.probability)


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """One step's clinical outcome of every patient.

    Attributes:
        low_risk, high_risk: mean over the step's minutes of Kovatchev's rl and rh (true BG).
        terminated: BG left [bg_low, bg_high] during the step (n,) bool.
        steps_left: decision steps the episode would still have had (n,).
    """

    low_risk: np.ndarray
    high_risk: np.ndarray
    terminated: np.ndarray
    steps_left: np.ndarray


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskReward(RewardFn):
    """``reward = -(hypo_weight * LBGI_step + HBGI_step) - termination_penalty * steps_left``.

    ``LBGI_step``/``HBGI_step`` are the means over the step's minutes of Kovatchev's low and
    high risk of the TRUE plasma glucose (:func:`bg_risk`); with ``hypo_weight`` 1 this is
    minus the Magni risk index. The penalty applies on termination only, per decision step
    the episode would still have had, so that ending an episode early never pays.

    Attributes:
        hypo_weight: weight of the low-glucose risk (2: hypoglycaemia counts double; ours).
        termination_penalty: per remaining step at termination (100: the unweighted risk at
            BG 20 or 600 mg/dL, so ending early costs more than most steps lived; ours).
    """

    hypo_weight: float = 2.0
    termination_penalty: float = 100.0

    def __post_init__(self) -> None:
        """Weights >= 0."""
        if self.hypo_weight < 0 or self.termination_penalty < 0:
            raise ValueError(f"reward.hypo_weight and reward.termination_penalty must be >= 0, "
                             f"got {self.hypo_weight}, {self.termination_penalty}")

    def __call__(self, outcome: StepOutcome, doses_mg: np.ndarray) -> np.ndarray:
        """Reward of each patient for one step (``doses_mg``: insulin in U, unused)."""
        penalty = np.where(outcome.terminated, self.termination_penalty * outcome.steps_left, 0.0)
        return -(self.hypo_weight * outcome.low_risk + outcome.high_risk) - penalty


@dataclass(frozen=True, slots=True, kw_only=True)
class InsulinScenario:
    """Everything that defines the clinic (YAML fields have the same names).

    Attributes:
        model: the truth, ``uva_padova`` (simglucose's 30 patients) or ``hovorka2004``.
        n_days: days per episode (each 288 decisions of 5 min).
        start_hour: clock time of the episode's start, h (6: simglucose's examples start 6:00).
        announce_meals: carbs announced at each meal's start (else never shown).
        meals: the random meal plan (simglucose's).
        insulin_levels_u: insulin delivered over one decision step of the action levels, U.
        sensor: CGM error model and sample time (GuardianRT: 5 min, the decision step).
        pump: quantisation and limits (Insulet).
        history_samples: CGM samples observed (24 = 2 h).
        insulin_action_h: duration of the linear insulin-on-board curve, h.
        bg_low_mg_per_dl, bg_high_mg_per_dl: termination bounds (simglucose: 10 and 600).
        hypo_threshold_mg_per_dl: true BG below it makes the step's ``cost`` 1.
        hovorka_basal_glucose_mg_per_dl: fasting glucose at the basal rate of Hovorka
            patients (ours; 126 mg/dL = 7 mmol/L).
        reward: the reward weights.
    """

    model: str = "uva_padova"
    n_days: int = 1
    start_hour: float = 6.0
    announce_meals: bool = True
    meals: MealPlan = field(default_factory=MealPlan)
    insulin_levels_u: tuple[float, ...] = (0.0, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.5, 3.0,
                                           5.0, 8.0)
    sensor: str = "GuardianRT"
    pump: str = "Insulet"
    history_samples: int = 24
    insulin_action_h: float = 4.0
    bg_low_mg_per_dl: float = 10.0
    bg_high_mg_per_dl: float = 600.0
    hypo_threshold_mg_per_dl: float = 70.0
    hovorka_basal_glucose_mg_per_dl: float = 126.0
    reward: RiskReward = field(default_factory=RiskReward)

    def __post_init__(self) -> None:
        """Validate every field, naming it."""
        check_fields(self)
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {self.model!r}")
        if not 1 <= self.n_days <= 30:
            raise ValueError(f"n_days must be in 1..30, got {self.n_days}")
        if not 0.0 <= self.start_hour < 24.0:
            raise ValueError(f"start_hour must be in [0, 24), got {self.start_hour}")
        levels = np.asarray(self.insulin_levels_u)
        if levels.size < 2 or levels[0] < 0 or np.any(np.diff(levels) <= 0) or levels[-1] > 30:
            raise ValueError(f"insulin_levels_u must rise strictly within [0, 30] U, got "
                             f"{self.insulin_levels_u}")
        if self.sensor not in SENSORS or self.pump not in PUMPS:
            raise ValueError(f"sensor must be one of {SENSORS} and pump one of {PUMPS}, got "
                             f"{self.sensor!r}, {self.pump!r}")
        if not 1 <= self.history_samples <= 288:
            raise ValueError(f"history_samples must be in 1..288, got {self.history_samples}")
        if not 0.5 <= self.insulin_action_h <= 12:
            raise ValueError(f"insulin_action_h must be in [0.5, 12], got "
                             f"{self.insulin_action_h}")
        if not 0 < self.bg_low_mg_per_dl < self.hypo_threshold_mg_per_dl < self.bg_high_mg_per_dl:
            raise ValueError("bg_low_mg_per_dl < hypo_threshold_mg_per_dl < bg_high_mg_per_dl "
                             "must hold, all > 0")
        if not 70.0 <= self.hovorka_basal_glucose_mg_per_dl <= 250.0:
            raise ValueError(f"hovorka_basal_glucose_mg_per_dl must be in [70, 250], got "
                             f"{self.hovorka_basal_glucose_mg_per_dl}")

    @property
    def step_minutes(self) -> int:
        """Minutes per decision: the sensor's sample time (whole minutes)."""
        return {"Dexcom": 3, "GuardianRT": 5, "Navigator": 1}[self.sensor]

    @property
    def n_steps(self) -> int:
        """Decisions per episode."""
        return self.n_days * 1440 // self.step_minutes


def resolve_scenario(scenario: InsulinScenario | str | os.PathLike | None,
                     env_id: str) -> InsulinScenario:
    """The scenario from an object, a YAML path or ``None``.

    Examples:
        >>> resolve_scenario(None, "any id").n_steps
        288
    """
    return resolve(scenario, InsulinScenario, env_id)


class ClinicObservation(ObservationModel):
    """What the patient and clinic know (float32): CGM history, IOB, carbs, clock, settings."""

    def space(self, settings: Any) -> spaces.Dict:
        """The observation space of one patient under ``settings``."""
        n = settings.scenario.history_samples

        def box(size: int, high: float | np.ndarray) -> spaces.Box:
            return spaces.Box(0.0, np.broadcast_to(np.float32(high), (size,)), dtype=np.float32)

        return spaces.Dict({
            "cgm_mg_per_dl": box(n, CGM_HIGH_MG_PER_DL), "cgm_mask": box(n, 1.0),
            "insulin_on_board_u": box(1, IOB_HIGH_U), "announced_carbs_g": box(1, CARBS_HIGH_G),
            "time_of_day_h": box(1, 24.0), "pump_settings": box(5, SETTINGS_HIGHS)})

    def __call__(self, records: Any, settings: Any) -> dict[str, np.ndarray]:
        """Batched observation of all patients (fresh float32 arrays, clipped to the space).

        Written in one compiled pass (:func:`pkgym.envs.insulin.kernel.observe_rows`).
        """
        s, n = settings.scenario, records.step.size
        out = {"cgm_mg_per_dl": np.empty((n, s.history_samples), np.float32),
               "cgm_mask": np.empty((n, s.history_samples), np.float32),
               "insulin_on_board_u": np.empty((n, 1), np.float32),
               "announced_carbs_g": np.empty((n, 1), np.float32),
               "time_of_day_h": np.empty((n, 1), np.float32),
               "pump_settings": np.empty((n, SETTINGS_HIGHS.size), np.float32)}
        args = (records.step, records.cgm, records.iob_u, records.announced_now_g,
                records.pump_settings, s.step_minutes, float(s.start_hour))
        highs = (CGM_HIGH_MG_PER_DL, IOB_HIGH_U, CARBS_HIGH_G)
        outs = tuple(out.values())
        if n >= OBSERVE_PARALLEL_ROWS and numba.get_num_threads() > 1:  # independent rows
            observe_chunks(4 * numba.get_num_threads(), *args, np.array(highs), SETTINGS_BOUNDS,
                           outs)
        else:
            observe_rows(*args, highs, SETTINGS_BOUNDS, outs[0], outs[1], outs[2], outs[3],
                         outs[4], outs[5], 0, n)
        return out
