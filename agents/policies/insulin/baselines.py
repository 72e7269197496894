"""Clinical insulin policies for ``pkgym/Insulin-v0``: basal-bolus therapy and a PID loop.

Decisions are insulin amounts in U over the next 5-min step, shape (n_envs,). The env's
actions are discrete levels, so every policy here rounds its request to a level with error
diffusion (:class:`LevelDither`): the part a level cannot give is carried to the next step,
so the basal rate is delivered exactly on average and a bolus above the top level (8 U) is
spread over the next steps. A new episode is recognised by its single CGM reading.

* :class:`BasalBolusPolicy`: standard pump therapy, simglucose 0.2.11's ``BBController``
  (``controller/basal_bolus_ctrller.py``): basal at the pump's rate; when a meal is announced
  a bolus of ``carbs / CR`` plus, if CGM > 150 mg/dL, ``(CGM - target) / CF`` with simglucose's
  default target 140 mg/dL.
* :class:`PidPolicy`: PID on CGM around the basal rate (Steil GM et al. 2006, Diabetes
  55:3344, external physiologic insulin delivery), with an insulin-on-board constraint
  (Ellingsen C et al. 2009, J Diabetes Sci Technol 3:536): the net insulin on board (above
  the basal's) may not exceed what the CGM's excess over the target calls for,
  ``(CGM - target) / CF``, plus the meal boluses still on board. Hybrid closed loop: the
  announced meals get ``carbs / CR`` as in clinical hybrid systems (the PID-based MiniMed
  670G asks for meal boluses). Gains in the patient's own units: ``KP = kp_per_h / CF`` U/h
  per mg/dL (an error of one CF is corrected at ``kp_per_h`` U/h), ``TI`` and ``TD`` min as
  Steil's daytime values (150 and 66 min); ``kp_per_h = 0.5`` was chosen by a small grid
  on 30 training-seed-space rows of the default scenario (time in range 0.804, 0.792, 0.796
  at kp 0.5, 1, 2: nearly flat, the meal boluses and the IOB constraint dominate). The
  derivative is
  the slope of a least-squares line through the last 30 min of CGM (noise).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

SIMGLUCOSE_BB_TARGET_MG_PER_DL = 140.0
"""simglucose's ``BBController(target=140)``; correction only above 150 mg/dL (its rule)."""
CORRECTION_ABOVE_MG_PER_DL = 150.0


def new_episodes(observation: Mapping[str, np.ndarray]) -> np.ndarray:
    """Which patients are at their episode's first decision (one CGM reading), (n,) bool."""
    return np.asarray(observation["cgm_mask"]).sum(axis=1) <= 1


def latest_cgm(observation: Mapping[str, np.ndarray]) -> np.ndarray:
    """The newest CGM reading of each patient, mg/dL, (n,)."""
    return np.asarray(observation["cgm_mg_per_dl"], dtype=np.float64)[:, -1]


class LevelDither:
    """Requests rounded to the env's levels, the rounding error carried to the next step.

    Examples:
        >>> d = LevelDither(np.array([0.0, 0.05, 0.1]))
        >>> d.reset(1)
        >>> [float(d(np.array([0.07]))[0]) for _ in range(4)]
        [0.05, 0.1, 0.05, 0.1]
    """

    def __init__(self, levels_u: np.ndarray) -> None:
        """Round to ``levels_u`` (ascending, U)."""
        self.levels = np.asarray(levels_u, dtype=np.float64)
        self.carry = np.zeros(0)

    def reset(self, n_envs: int, rows: np.ndarray | None = None) -> None:
        """Forget the carried error (of ``rows``; all when None)."""
        if rows is None or self.carry.size != n_envs:
            self.carry = np.zeros(n_envs)
        else:
            self.carry[rows] = 0.0

    def __call__(self, request_u: np.ndarray) -> np.ndarray:
        """The level for each request plus carried error; the remainder is carried."""
        wanted = np.maximum(np.asarray(request_u, dtype=np.float64) + self.carry, 0.0)
        idx = np.abs(wanted[:, None] - self.levels[None, :]).argmin(axis=1)
        given = self.levels[idx]
        self.carry = wanted - given
        return given


class BasalBolusPolicy:
    """simglucose's basal-bolus controller (module docstring)."""

    reads_hidden_state = False

    def __init__(self, levels_u: np.ndarray, step_minutes: int,
                 target_mg_per_dl: float = SIMGLUCOSE_BB_TARGET_MG_PER_DL) -> None:
        """Basal from the pump settings, meal boluses by CR and CF."""
        self.name, self.step_minutes, self.target = "basal_bolus", step_minutes, target_mg_per_dl
        self.dither = LevelDither(levels_u)

    def reset(self, n_envs: int) -> None:
        """Forget the carried rounding errors."""
        self.dither.reset(n_envs)

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Basal for the step plus the bolus of an announced meal, in U."""
        settings = np.asarray(observation["pump_settings"], dtype=np.float64)
        self._restart(observation)
        basal, ratio, factor = settings[:, 0], settings[:, 1], settings[:, 2]
        carbs = np.asarray(observation["announced_carbs_g"], dtype=np.float64)[:, 0]
        cgm = latest_cgm(observation)
        correction = np.where(cgm > CORRECTION_ABOVE_MG_PER_DL, (cgm - self.target) / factor, 0.0)
        bolus = np.where(carbs > 0, carbs / ratio + correction, 0.0)
        return self.dither(basal * self.step_minutes / 60.0 + np.maximum(bolus, 0.0))

    def _restart(self, observation: Mapping[str, np.ndarray]) -> None:
        fresh = new_episodes(observation)
        if self.dither.carry.size != fresh.size:
            self.dither.reset(fresh.size)
        self.dither.reset(fresh.size, np.flatnonzero(fresh))


class PidPolicy(BasalBolusPolicy):
    """PID on CGM with an insulin-on-board constraint and meal boluses (module docstring)."""

    def __init__(self, levels_u: np.ndarray, step_minutes: int, insulin_action_h: float,
                 *, target_mg_per_dl: float = 120.0, kp_per_h: float = 0.5,
                 ti_min: float = 150.0, td_min: float = 66.0) -> None:
        """Gains in the patient's units (module docstring)."""
        super().__init__(levels_u, step_minutes, target_mg_per_dl)
        self.name = "pid"
        self.kp_per_h, self.ti_min, self.td_min = kp_per_h, ti_min, td_min
        self.action_h = insulin_action_h
        self.integral = np.zeros(0)
        self.meal_boluses = np.zeros((0, 0))

    def reset(self, n_envs: int) -> None:
        """Forget integrals, meal boluses and carried errors."""
        super().reset(n_envs)
        k = int(np.ceil(60.0 * self.action_h / self.step_minutes))
        self.integral, self.meal_boluses = np.zeros(n_envs), np.zeros((n_envs, k))

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Basal + PID correction (IOB-limited) + meal bolus, in U."""
        fresh = new_episodes(observation)
        if self.integral.size != fresh.size:
            self.reset(fresh.size)
        self._restart(observation)
        self.integral[fresh], self.meal_boluses[fresh] = 0.0, 0.0
        settings = np.asarray(observation["pump_settings"], dtype=np.float64)
        basal_h, ratio, factor = settings[:, 0], settings[:, 1], settings[:, 2]
        dt_h = self.step_minutes / 60.0
        error = latest_cgm(observation) - self.target
        gain = self.kp_per_h / factor  # U/h per mg/dL
        self.integral = np.clip(self.integral + error * self.step_minutes,
                                -self.ti_min * 2.0 * factor, self.ti_min * 4.0 * factor)
        slope = _slope(observation, self.step_minutes)
        rate = gain * (error + self.integral / self.ti_min + self.td_min * slope)
        correction = rate * dt_h
        # insulin-on-board constraint (Ellingsen 2009): net IOB <= excess / CF + meal IOB
        weights = np.maximum(0.0, 1.0 - (np.arange(1, self.meal_boluses.shape[1] + 1) - 0.5)
                             * self.step_minutes / (60.0 * self.action_h))
        meal_iob = self.meal_boluses @ weights
        net_iob = (np.asarray(observation["insulin_on_board_u"], dtype=np.float64)[:, 0]
                   - basal_h * self.action_h / 2.0)
        room = np.maximum(error, 0.0) / factor + meal_iob - net_iob
        correction = np.minimum(correction, np.maximum(room, 0.0))
        carbs = np.asarray(observation["announced_carbs_g"], dtype=np.float64)[:, 0]
        meal = np.where(carbs > 0, carbs / ratio, 0.0)
        self.meal_boluses = np.roll(self.meal_boluses, 1, axis=1)
        self.meal_boluses[:, 0] = meal
        return self.dither(np.maximum(basal_h * dt_h + correction, 0.0) + meal)


def _slope(observation: Mapping[str, np.ndarray], step_minutes: int, samples: int = 7
           ) -> np.ndarray:
    """Least-squares CGM slope over the last ``samples`` readings, mg/dL per min (0 if < 2)."""
    cgm = np.asarray(observation["cgm_mg_per_dl"], dtype=np.float64)[:, -samples:]
    mask = np.asarray(observation["cgm_mask"], dtype=np.float64)[:, -samples:]
    t = np.arange(cgm.shape[1], dtype=np.float64)[None, :]
    count = mask.sum(axis=1)
    mean_t = (mask * t).sum(axis=1) / np.maximum(count, 1)
    mean_g = (mask * cgm).sum(axis=1) / np.maximum(count, 1)
    dt, dg = (t - mean_t[:, None]) * mask, (cgm - mean_g[:, None]) * mask
    slope = (dt * dg).sum(axis=1) / np.maximum((dt * dt).sum(axis=1), 1e-12)
    return np.where(count >= 2, slope / step_minutes, 0.0)
