"""Model-based heparin dosing for ``pkgym/Heparin-v0``: Bayesian MAP and the oracle.

Both use one controller (:func:`plan_next_interval`): for each start option of the env's
discrete table (no bolus, 40 or 80 U/kg, a 1-h hold) it takes the infusion rate (on the env's
rate grid, 0-40 U/kg/h) that puts the forecast aPTT at the next measurement (6 h on) mid-range,
forecasts the true-aPTT course over the interval on the env's grid, and keeps the option whose
interval scores best by the env's own reward function (time in range, bleeding and Hull's
thrombosis terms; ties: the forecast closest to mid-range, then the earlier option, no bolus
first). The model is linear, so the rate is solved in closed form.

* :class:`MapPolicy`: the patient's CL, V and SLOPE are the Bayesian MAP estimate (prior: the
  model's population, Al-Sallami 2016's omegas, given the covariates; the control aPTT is the
  patient's E0) from every aPTT measured so far and the doses given, refitted at every
  decision by a batched Levenberg-Marquardt (:func:`pkgym.sim.least_squares.
  levenberg_marquardt`). The measurement error is taken as log-normal with the model's CV
  (the env's is proportional normal: close at 10 %), and a reading at the assay's ceiling as
  "at least" that value. The current amount is the fitted model's forecast of the doses given.
* :class:`OraclePolicy` (``reads_hidden_state``): the same controller with the TRUE parameters
  and amount from ``info`` (``model_params``, ``amount_iu``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pkgym.envs.base import RewardFn
from pkgym.envs.heparin.clinic import HULL_EXCESS_RECURRENCE, HeparinScenario, StepOutcome
from pkgym.envs.heparin.records import interval_amounts
from pkgym.models.heparin_alsallami2016 import individual_parameters
from pkgym.sim.least_squares import levenberg_marquardt

_STEP = 1e-4  # forward-difference step on the etas


def plan_next_interval(scenario: HeparinScenario, reward: RewardFn, hours_now: np.ndarray,
                       amount_iu: np.ndarray, params: np.ndarray, weight_kg: np.ndarray,
                       baseline_s: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Decisions (n, 3) for the next interval from a belief (module docstring).

    Args:
        scenario: the env's scenario (interval, grid, start options, rates).
        reward: the env's reward function (scores each option's forecast interval).
        hours_now: time since the start, h (n,).
        amount_iu: heparin in the body now, IU (n,).
        params: (n, 3) CL L/h, V L, SLOPE s per IU/L.
        weight_kg: (n,).
        baseline_s: control aPTT, s (n,).
        target: (n, 2) the aPTT range, s.
    """
    dt, m = scenario.interval_h, scenario.grid_points
    times = np.append((np.arange(m) + 0.5) * dt / m, dt)
    rates = scenario.rate_levels_u_per_kg_per_h
    mid = target.mean(axis=1)
    best_score = np.full(amount_iu.size, -np.inf)
    best = np.zeros((amount_iu.size, 3))
    for bolus, hold in scenario.start_options:
        no_rate = np.column_stack([np.full(amount_iu.size, bolus), np.full(amount_iu.size, hold),
                                   np.zeros(amount_iu.size)])
        base = interval_amounts(amount_iu, params, weight_kg, no_rate, times)
        unit = interval_amounts(np.zeros_like(amount_iu), params, weight_kg,
                                no_rate + [0.0, 0.0, 1.0], times)  # per U/kg/h
        wanted = (mid - baseline_s) / params[:, 2] * params[:, 1]  # amount at mid-range
        rate = (wanted - base[:, -1]) / np.maximum(unit[:, -1], 1e-12)
        rate = rates[np.abs(np.clip(rate, 0.0, rates[-1])[:, None] - rates[None, :]).argmin(1)]
        aptt = baseline_s[:, None] + params[:, 2:3] * (base + rate[:, None] * unit) \
            / params[:, 1:2]
        decisions = no_rate + rate[:, None] * [0.0, 0.0, 1.0]
        outcome = forecast_outcome(scenario, aptt[:, :-1], times[:-1], hours_now, baseline_s,
                                   target)
        score = np.asarray(reward(outcome, decisions)) \
            - 1e-3 * np.abs(aptt[:, -1] - mid) / (mid - target[:, 0])
        better = score > best_score + 1e-9
        best_score = np.where(better, score, best_score)
        best[better] = decisions[better]
    return best


def forecast_outcome(scenario: HeparinScenario, aptt: np.ndarray, times_h: np.ndarray,
                     hours_now: np.ndarray, baseline_s: np.ndarray,
                     target: np.ndarray) -> StepOutcome:
    """The env's step outcome of a forecast true-aPTT course (n, m) at ``times_h`` into it."""
    low, high = target[:, :1], target[:, 1:]
    early = (hours_now[:, None] + times_h[None, :]) < scenario.early_window_h
    below_control = aptt < scenario.subtherapeutic_ratio * baseline_s[:, None]
    share = (early & below_control).mean(axis=1) * scenario.interval_h / scenario.early_window_h
    return StepOutcome(in_range=((aptt >= low) & (aptt <= high)).mean(axis=1),
                       below=(aptt < low).mean(axis=1), above=(aptt > high).mean(axis=1),
                       bleeding=np.maximum(aptt / high - 1.0, 0.0).mean(axis=1),
                       thrombosis_risk=share * HULL_EXCESS_RECURRENCE)


class OraclePolicy:
    """The controller with the true parameters and amount (reads ``info``)."""

    reads_hidden_state = True

    def __init__(self, scenario: HeparinScenario, reward: RewardFn) -> None:
        """Plan on the env's table and grid, scoring by the env's ``reward``."""
        self.name, self.scenario, self.reward = "oracle", scenario, reward

    def reset(self, n_envs: int) -> None:
        """Nothing to forget."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Decisions (n, 3) from the true state in ``info``."""
        if info is None or "model_params" not in info:
            raise ValueError("the oracle reads info['model_params'] and info['amount_iu']")
        patient = np.asarray(observation["patient"], dtype=np.float64)
        hours = np.asarray(observation["hours_since_start"], dtype=np.float64)[:, 0]
        return plan_next_interval(self.scenario, self.reward, hours,
                                  np.asarray(info["amount_iu"], np.float64),
                                  np.asarray(info["model_params"], np.float64), patient[:, 0],
                                  np.asarray(info["baseline_aptt_s"], np.float64),
                                  np.asarray(observation["target_aptt_s"], np.float64))


class MapPolicy:
    """The controller with the Bayesian MAP parameters (module docstring)."""

    reads_hidden_state = False

    def __init__(self, scenario: HeparinScenario, reward: RewardFn, iterations: int = 25) -> None:
        """Prior: the scenario's model and its population variability; plans by ``reward``."""
        self.name, self.scenario, self.iterations = "map_bayesian", scenario, int(iterations)
        self.reward = reward
        self.belief_name = "Al-Sallami 2016 population (the truth's model)"
        self.model = scenario.model
        self._inverse_factor = np.linalg.inv(np.linalg.cholesky(self.model.variability.omega))

    def reset(self, n_envs: int) -> None:
        """Nothing to forget: every fit starts from the observation."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Decisions (n, 3): fit the etas to the aPTTs so far, then plan."""
        patient = np.asarray(observation["patient"], dtype=np.float64)
        etas = self.fit(observation)
        params = individual_parameters(self.model, patient[:, 0], patient[:, 1],
                                       patient[:, 3], etas)
        amounts = self.amount_history(observation, params)
        step = self._step(observation)
        now = amounts[np.arange(step.size), step]
        hours = np.asarray(observation["hours_since_start"], dtype=np.float64)[:, 0]
        return plan_next_interval(self.scenario, self.reward, hours, now, params, patient[:, 0],
                                  patient[:, 4],
                                  np.asarray(observation["target_aptt_s"], np.float64))

    @staticmethod
    def _step(observation: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.rint(np.asarray(observation["aptt_mask"]).sum(axis=1) - 1).astype(np.int64)

    def amount_history(self, observation: Mapping[str, np.ndarray],
                       params: np.ndarray) -> np.ndarray:
        """Amounts at every decision time (n, n_steps + 1) under the doses given, IU."""
        s = self.scenario
        weight = np.asarray(observation["patient"], dtype=np.float64)[:, 0]
        decisions = np.stack([np.asarray(observation[key], dtype=np.float64) for key in
                              ("bolus_u_per_kg", "hold_h", "rate_u_per_kg_per_h")], axis=2)
        out = np.zeros((weight.size, s.n_steps + 1))
        for k in range(s.n_steps):
            out[:, k + 1] = interval_amounts(out[:, k], params, weight, decisions[:, k],
                                             np.array([s.interval_h]))[:, 0]
        return out

    def fit(self, observation: Mapping[str, np.ndarray]) -> np.ndarray:
        """MAP etas (n, 3) from the aPTTs measured after the control (prior mode if none)."""
        patient = np.asarray(observation["patient"], dtype=np.float64)
        n = patient.shape[0]
        mask = np.asarray(observation["aptt_mask"])[:, 1:] > 0
        if not mask.any():
            return np.zeros((n, 3))
        y = np.log(np.maximum(np.asarray(observation["aptt_s"], np.float64)[:, 1:], 1.0))
        ceiling = y >= np.log(self.model.aptt_assay_max_s) - 1e-6
        cv = max(self.model.aptt_residual_cv, 1e-3)

        def residuals(etas: np.ndarray) -> np.ndarray:
            r = etas.shape[0] // n  # points per patient, adjacent (np.repeat order)
            obs = {key: np.repeat(np.asarray(observation[key]), r, axis=0)
                   for key in ("patient", "bolus_u_per_kg", "hold_h", "rate_u_per_kg_per_h")}
            p = obs["patient"].astype(np.float64)
            params = individual_parameters(self.model, p[:, 0], p[:, 1], p[:, 3], etas)
            amounts = self.amount_history(obs, params)[:, 1:]
            f = np.log(p[:, 4:5] + params[:, 2:3] * amounts / params[:, 1:2])
            data = (np.repeat(y, r, axis=0) - f) / cv
            data = np.where(np.repeat(ceiling, r, axis=0), np.maximum(data, 0.0), data)
            data = np.where(np.repeat(mask, r, axis=0), data, 0.0)
            return np.concatenate([data, etas @ self._inverse_factor.T], axis=1)

        return levenberg_marquardt(residuals, np.zeros((n, 3)), iterations=self.iterations,
                                   step=_STEP)
