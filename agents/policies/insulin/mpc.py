"""Model-predictive insulin dosing: the oracle (true model and state) and MAP (population prior).

Both choose, every step, the action level whose plan "this level for one step, then the
patient's basal rate and a ``carbs / CR`` bolus at each later meal" minimises the
predicted risk of the env's reward (``hypo_weight * rl + rh`` of Kovatchev's risk, mean over
the horizon's minutes, plus the termination penalty where the forecast leaves [10, 600]
mg/dL) over ``horizon_min`` (default :data:`DEFAULT_HORIZON_MIN`: 360 min for UVA/Padova,
whose subcutaneous insulin has a long tail: on 30 evaluation rows 180 min gave the oracle 5
terminations and 5 % time below 70 mg/dL, 360 min none and 1 %; 180 min for Hovorka, where
360 min lowered time in range from 0.95 to 0.86 on 30 rows), all
levels of all patients forecast in one batched call of the model
(:func:`pkgym.envs.insulin.records.simulate_minutes`). Re-planned every step (receding
horizon), so a bolus can be built over several steps.

* :class:`OraclePolicy` (``reads_hidden_state``): the TRUE model, parameters and state from
  ``info`` and every future meal of the episode, announced or not. An upper bound.
* :class:`MapPolicy`: the age group's median UVA/Padova parameter set (median of each
  column over simglucose's 10 patients of the group: child <= 12, adolescent 13-19, adult
  >= 20 years; for ``hovorka2004`` the typical Table 1 patient) as its model, personalised
  only through the pump settings: insulin is scaled by ``s = model basal / patient basal``
  and carbohydrate by ``s * CR_model / CR_patient``, so that one unit of the patient's
  insulin covers the same carbs as in the model. Only announced meals are known. The state
  is estimated by a simple observer: the model is run with the delivered insulin and the
  announced carbs, and after each CGM reading its glucose compartments are scaled by
  ``(CGM / model glucose)^gain`` (gain 0.3; a nudging observer, ours).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from agents.policies.insulin.baselines import latest_cgm, new_episodes
from pkgym.envs.insulin.clinic import InsulinScenario, RiskReward, bg_risk
from pkgym.envs.insulin.records import (
    announced_per_minute,
    pump_delivery_u,
    sensor_glucose,
    simulate_minutes,
)
from pkgym.models import glucose_hovorka as hovorka
from pkgym.models import glucose_uva_padova as uva
from pkgym.models.glucose_sensor import insulin_pump

DEFAULT_HORIZON_MIN = {"uva_padova": 360, "hovorka2004": 180}
"""Forecast horizon by truth (module docstring): Hovorka's insulin acts faster (tmaxI 55 min)."""
GROUPS = (("child", 12.5), ("adolescent", 19.5), ("adult", np.inf))
"""Age group of a patient: the first whose upper age bound (years) it is below."""
GLUCOSE_STATES = {"uva_padova": (3, 4, 12), "hovorka2004": (8, 9)}
"""The glucose compartments the MAP observer scales."""


def plan_costs(scenario: InsulinScenario, reward: RiskReward, params: np.ndarray,
               state: np.ndarray, memory: np.ndarray, pending: np.ndarray,
               first_u: np.ndarray, basal_u_per_min: np.ndarray, meals: np.ndarray,
               horizon_min: int, carb_ratio_g_per_u: np.ndarray) -> np.ndarray:
    """Predicted cost (n, L) of each first-step amount ``first_u`` (n, L), then basal-bolus.

    After the first step the plan continues with standard therapy: the basal rate, and a
    bolus ``carbs / CR`` in the minute each later meal of the horizon starts. (With basal
    alone after it, a long horizon's later meals made the plan bolus for them now.)

    Args:
        scenario: the env's scenario (model name, step length, bounds).
        reward: the risk weights.
        params: (n, n_params) the model's parameters.
        state: (n, n_states) the model's state now.
        memory: (n, 3) UVA meal memory (unused by Hovorka).
        pending: (n,) grams announced, not yet eaten.
        first_u: (n, L) insulin over the first step, U (as the pump delivers it).
        basal_u_per_min: (n,) the rest of the horizon.
        meals: (n, horizon_min) grams announced at each minute ahead.
        horizon_min: forecast length, min.
        carb_ratio_g_per_u: (n,) grams covered by one unit in the model's insulin units.
    """
    n, n_levels = first_u.shape
    m = scenario.step_minutes
    rep = np.repeat(np.arange(n), n_levels)
    insulin = np.repeat(basal_u_per_min[rep][:, None], horizon_min, axis=1)
    insulin[:, :m] = (first_u.reshape(-1) / m)[:, None]
    insulin[:, m:] += (meals[:, m:] / carb_ratio_g_per_u[:, None])[rep]
    _, _, _, bg, _, _ = simulate_minutes(scenario.model, params[rep], state[rep], memory[rep],
                                         pending[rep], insulin, meals[rep])
    low, high = bg_risk(bg)
    cost = (reward.hypo_weight * low + high).mean(axis=1)
    out = (bg < scenario.bg_low_mg_per_dl) | (bg > scenario.bg_high_mg_per_dl)
    cost = cost + np.where(out.any(axis=1), reward.termination_penalty, 0.0)
    return cost.reshape(n, n_levels)


class OraclePolicy:
    """MPC with the true model, state and meals (module docstring)."""

    reads_hidden_state = True

    def __init__(self, levels_u: np.ndarray, scenario: InsulinScenario, reward: RiskReward,
                 horizon_min: int | None = None) -> None:
        """Plan over ``horizon_min`` minutes with the env's levels and reward weights."""
        self.name, self.levels, self.scenario = "oracle", np.asarray(levels_u), scenario
        self.reward = reward
        self.horizon = int(horizon_min or DEFAULT_HORIZON_MIN[scenario.model])
        self.pump = insulin_pump(scenario.pump)

    def reset(self, n_envs: int) -> None:
        """Stateless (the truth is read anew every step)."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """The level with the least predicted risk, U."""
        if info is None:
            raise ValueError("the oracle reads the true state from info; got info=None")
        s = self.scenario
        n = len(info["minute"])
        delivered = pump_delivery_u(self.levels, self.pump, s.step_minutes)
        meals = announced_per_minute(np.asarray(info["meal_minutes"], dtype=np.float64),
                                     np.asarray(info["meal_grams"], dtype=np.float64),
                                     np.asarray(info["minute"]), self.horizon)
        basal = np.asarray(info["basal_u_per_h"], dtype=np.float64) / 60.0
        costs = plan_costs(s, self.reward, np.asarray(info["model_params"]),
                           np.asarray(info["model_state"]), np.asarray(info["meal_memory"]),
                           np.asarray(info["pending_carbs_g"]), np.tile(delivered, (n, 1)),
                           basal, meals, self.horizon,
                           np.asarray(info["carb_ratio_g_per_u"], dtype=np.float64))
        return self.levels[costs.argmin(axis=1)]


def prior_model(model: str, age_years: float, basal_glucose_mg_per_dl: float
                ) -> tuple[np.ndarray, np.ndarray, float, float]:
    """``(params, steady state, basal U/min, carb ratio g/U)`` of the MAP prior.

    UVA/Padova: the median of each parameter over the age group's 10 simglucose patients,
    settled for 3 days at its basal ``u2ss BW / 6000`` from the group's median initial
    state; CR the group's median. Hovorka: the typical patient (Table 1) at its basal for
    the fasting glucose, CR by the 500 rule as the env's.

    Examples:
        >>> params, state, basal, ratio = prior_model("uva_padova", 40.0, 126.0)
        >>> state.shape, round(ratio, 1)
        ((13,), 9.5)
    """
    if model == "hovorka2004":
        typical = np.array([hovorka.TYPICAL[name] for name in hovorka.PARAM_NAMES])
        return _hovorka_typical(typical, basal_glucose_mg_per_dl)
    group = next(name for name, top in GROUPS if age_years < top)
    patients = uva.uva_padova_patients(group)
    params = np.median(patients.parameters, axis=0)
    state = np.median(patients.initial_states, axis=0)[None, :]
    basal = float(params[uva.PARAM_NAMES.index("u2ss")] * params[0] / 6000.0)
    memory = uva.initial_meal_memory(state)
    state, _, _ = uva.advance(state, _one(params), basal, 0.0, 3 * 1440, memory)
    return params, state[0], basal, float(np.median(patients.carb_ratio_g_per_u))


def _one(params: np.ndarray) -> uva.UvaPadovaPatients:
    zeros = np.zeros(1)
    return uva.UvaPadovaPatients(names=("prior",), parameters=params[None, :],
                                 initial_states=np.zeros((1, uva.N_STATES)),
                                 carb_ratio_g_per_u=zeros,
                                 correction_factor_mg_per_dl_per_u=zeros, age_years=zeros,
                                 total_daily_insulin_u=zeros)


def _hovorka_typical(typical: np.ndarray, glucose_mg_per_dl: float
                     ) -> tuple[np.ndarray, np.ndarray, float, float]:
    one = hovorka.HovorkaPatients(parameters=typical[None, :])
    basal = hovorka.basal_insulin_u_per_min(one, glucose_mg_per_dl * 10.0
                                            / hovorka.GLUCOSE_MG_PER_MMOL)
    state = hovorka.steady_state(one, basal)[0]
    return typical, state, float(basal[0]), 500.0 / (2.0 * float(basal[0]) * 1440.0)


class MapPolicy(OraclePolicy):
    """MPC with the age group's median model and a nudging observer (module docstring)."""

    reads_hidden_state = False

    def __init__(self, levels_u: np.ndarray, scenario: InsulinScenario, reward: RiskReward,
                 horizon_min: int | None = None, observer_gain: float = 0.3) -> None:
        """The prior is chosen per patient from the age in its pump settings."""
        super().__init__(levels_u, scenario, reward, horizon_min)
        self.name, self.gain = "map_bayesian", float(observer_gain)
        self.belief_name = (f"{scenario.model}'s typical patient" if
                            scenario.model == "hovorka2004" else
                            f"{scenario.model}'s median patient of the age group")
        self._priors: dict[str, tuple[np.ndarray, np.ndarray, float, float]] = {}
        self.state = np.zeros((0, 0))
        self.params, self.memory, self.pending = np.zeros((0, 0)), np.zeros((0, 3)), np.zeros(0)
        self.insulin_scale, self.carb_scale, self.model_basal = (np.zeros(0),) * 3
        self.last_u, self._last_carbs = np.zeros(0), np.zeros(0)

    def reset(self, n_envs: int) -> None:
        """Forget every patient's state (rebuilt at its first decision)."""
        self.state = np.zeros((0, 0))

    def _prior(self, age: float) -> tuple[np.ndarray, np.ndarray, float, float]:
        key = "hovorka" if self.scenario.model == "hovorka2004" else next(
            name for name, top in GROUPS if age < top)
        if key not in self._priors:
            self._priors[key] = prior_model(self.scenario.model, age,
                                            self.scenario.hovorka_basal_glucose_mg_per_dl)
        return self._priors[key]

    def _start(self, observation: Mapping[str, Any], rows: np.ndarray) -> None:
        """Each new patient's model at the prior's steady state, inputs scaled to it."""
        n = len(observation["cgm_mask"])
        if self.state.shape[0] != n:
            first = self._prior(40.0)
            self.state, self.params = np.zeros((n, first[1].size)), np.zeros((n, first[0].size))
            self.memory, self.pending = np.zeros((n, 3)), np.zeros(n)
            self.insulin_scale, self.carb_scale = np.ones(n), np.ones(n)
            self.model_basal, self.last_u = np.zeros(n), np.zeros(n)
            rows = np.arange(n)
        settings = np.asarray(observation["pump_settings"], dtype=np.float64)
        for i in rows:
            params, state, basal, ratio = self._prior(float(settings[i, 4]))
            self.params[i], self.state[i], self.model_basal[i] = params, state, basal
            self.memory[i] = uva.initial_meal_memory(state[None, :])[0] if state.size == 13 \
                else 0.0
            self.pending[i], self.last_u[i] = 0.0, np.nan
            self.insulin_scale[i] = basal / (settings[i, 0] / 60.0)
            self.carb_scale[i] = self.insulin_scale[i] * ratio / settings[i, 1]

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Advance the observer by the last step, correct it to the CGM, then plan."""
        s = self.scenario
        fresh = new_episodes(observation)
        if self.state.shape[0] != fresh.size or fresh.any():
            self._start(observation, np.flatnonzero(fresh))
        carbs = np.asarray(observation["announced_carbs_g"], dtype=np.float64)[:, 0]
        stepped = ~np.isnan(self.last_u)
        if stepped.any():
            self._advance(np.flatnonzero(stepped))
        self._correct(latest_cgm(observation))
        meals = np.zeros((fresh.size, self.horizon))
        meals[:, 0] = carbs * self.carb_scale
        delivered = pump_delivery_u(self.levels, self.pump, s.step_minutes)
        first = delivered[None, :] * self.insulin_scale[:, None]
        costs = plan_costs(s, self.reward, self.params, self.state, self.memory, self.pending,
                           first, self.model_basal, meals, self.horizon,
                           np.full(fresh.size, np.inf))  # no later meal is known
        choice = self.levels[costs.argmin(axis=1)]
        self.last_u, self._last_carbs = choice.copy(), carbs
        return choice

    def _advance(self, rows: np.ndarray) -> None:
        """The model through the last step: delivered insulin and announced carbs, scaled."""
        s, m = self.scenario, self.scenario.step_minutes
        delivered = pump_delivery_u(self.last_u[rows], self.pump, m) * self.insulin_scale[rows]
        meals = np.zeros((rows.size, m))
        meals[:, 0] = self._last_carbs[rows] * self.carb_scale[rows]
        state, memory, pending, _, _, _ = simulate_minutes(
            s.model, self.params[rows], self.state[rows], self.memory[rows], self.pending[rows],
            np.repeat((delivered / m)[:, None], m, axis=1), meals)
        self.state[rows], self.memory[rows], self.pending[rows] = state, memory, pending

    def _correct(self, cgm: np.ndarray) -> None:
        """Scale the model's glucose compartments towards the CGM reading."""
        model_cgm = sensor_glucose(self.scenario.model, self.params, self.state)
        ratio = (np.maximum(cgm, 20.0) / np.maximum(model_cgm, 20.0)) ** self.gain
        for j in GLUCOSE_STATES[self.scenario.model]:
            self.state[:, j] *= ratio
