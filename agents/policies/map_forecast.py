"""Bayesian MAP forecast of a patient's exposure over the whole episode, from what was seen.

Issue 8 compares the future exposure a VAE decodes with the forecast of the Bayesian MAP
baseline from the same observations. :func:`map_forecast` fits the individual parameters
exactly as the env's ``map`` baseline (:func:`agents.policies.registry.make_policy`) has them
at the observation's decision step, simulates the whole episode under a given regimen, and
returns the exposure on the grid of :func:`exposure_grid_h`. The fit and the forecast of each
drug are its agent hooks (:mod:`agents.env_hooks`), named by its registry entry:

* ``pkgym/Vancomycin-v0``: the central concentration, mg/L, at hours 1, 2, ...,
  ``n_steps * interval_h`` (:mod:`agents.policies.vancomycin.hooks`).
* ``pkgym/Warfarin-v0`` (and ``WarfarinPGx-v0``): the INR at ``24 d`` h, d = 1..n_days, the
  morning of day d before that day's dose (:mod:`agents.policies.warfarin.hooks`).

This module holds what every drug shares: checking the observation, the regimen and the
etas, and the public API.

With no measured level the fit is the prior mode: the population-typical patient given the
covariates (without genotype, warfarin's prior is centred on the genotype mixture). Given the
true parameters (:func:`forecast_exposure`, the oracle path) the forecast is the env's true
course, except for what the clinic cannot know: vancomycin creatinine drift, kidney injury
and creatinine assay error after the last morning lab, and float32 covariates (~1e-7).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType

import numpy as np

from agents.env_hooks import agent_hooks
from pkgym.envs.base import DosingCore

_DOSE_TOLERANCE_MG = 1e-3  # float32 doses of the observation against the regimen's float64


def _hooks(core: DosingCore) -> ModuleType:
    """The env's agent hooks; ValueError naming the supported envs for other envs."""
    return agent_hooks(core, "the MAP forecast")


def exposure_grid_h(core: DosingCore) -> np.ndarray:
    """Times of the forecast exposure, h since the first dose (see the module docstring).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> vanco = gym.make("pkgym/Vancomycin-v0").unwrapped.core
        >>> grid = exposure_grid_h(vanco)
        >>> grid.shape, grid[[0, -1]].tolist()
        ((168,), [1.0, 168.0])
        >>> exposure_grid_h(gym.make("pkgym/Warfarin-v0").unwrapped.core)[[0, 1, -1]].tolist()
        [24.0, 48.0, 2160.0]
    """
    return _hooks(core).exposure_grid_h(core)


def batch_size(observation: Mapping[str, np.ndarray]) -> int:
    """Rows of a batched observation; ValueError for an unbatched one.

    Examples:
        >>> batch_size({"covariates": np.zeros((3, 2))})
        3
    """
    if "covariates" not in observation or np.ndim(observation["covariates"]) != 2:
        raise ValueError("observation must be the batched env's Dict observation: "
                         "'covariates' of shape (n_patients, n_covariates)")
    return int(np.shape(observation["covariates"])[0])


def _check_regimen(core: DosingCore, observation: Mapping[str, np.ndarray],
                   regimen_doses_mg: np.ndarray) -> np.ndarray:
    """The regimen as float64 (n, n_steps), its first k doses those already given."""
    n = batch_size(observation)
    hooks = _hooks(core)
    n_steps = hooks.n_steps(core)
    doses = np.asarray(regimen_doses_mg, dtype=np.float64)
    if doses.shape != (n, n_steps):
        raise ValueError(f"regimen_doses_mg must have shape (n_patients={n}, n_steps={n_steps}),"
                         f" got {doses.shape}")
    if not np.all(np.isfinite(doses)) or np.any(doses < 0):
        raise ValueError("regimen_doses_mg must be finite and >= 0 mg")
    given = np.asarray(observation["doses_mg"], dtype=np.float64)
    past = np.arange(n_steps)[None] < hooks.steps_taken(core, observation)[:, None]
    if given.shape != doses.shape or np.any(
            past & (np.abs(doses - given) > _DOSE_TOLERANCE_MG + 1e-6 * given)):
        raise ValueError("regimen_doses_mg[i, :k] must equal the doses already given "
                         "(observation['doses_mg'][i, :k], k the steps taken)")
    return doses


def _check_etas(etas: np.ndarray, n: int) -> np.ndarray:
    """Etas as float64 (n, 3); ValueError naming ``etas`` otherwise."""
    eta = np.asarray(etas, dtype=np.float64)
    if eta.shape != (n, 3) or not np.all(np.isfinite(eta)):
        raise ValueError(f"etas must be finite with shape (n_patients={n}, 3), got {eta.shape}")
    return eta


# ----- public API ---------------------------------------------------------------------------

def map_etas(core: DosingCore, observation: Mapping[str, np.ndarray]) -> np.ndarray:
    """The MAP etas of each patient given the observation, as the ``map`` baseline has them.

    Vancomycin: (eta_CL, eta_V1, eta_V2). Warfarin: (eta_CL, eta_V, eta_EC50) of a
    reference-genotype (*1/*1, G/G) patient, the genotype effect included.

    Args:
        core: the batched env's core (``env.unwrapped.core``).
        observation: the batched env's Dict observation at some decision step.

    Returns:
        Shape (n_patients, 3); zeros for vancomycin before any level.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make_vec("pkgym/Vancomycin-v0", num_envs=2,
        ...                    vectorization_mode="vector_entry_point")
        >>> obs, _ = env.reset(seed=0)
        >>> map_etas(env.unwrapped.core, obs).tolist()
        [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    return _hooks(core).map_etas(core, observation)


def forecast_exposure(core: DosingCore, observation: Mapping[str, np.ndarray],
                      etas: np.ndarray, regimen_doses_mg: np.ndarray) -> np.ndarray:
    """Exposure on :func:`exposure_grid_h` of patients with these etas under the regimen.

    The forecast model of :func:`map_forecast` with the etas given: the oracle path when
    they are the true ones (with float64 covariates and CrCL, vancomycin matches the env's
    true course to round-off while creatinine does not drift).

    Args:
        core: the batched env's core.
        observation: the batched Dict observation (covariates, measured CrCL by day).
        etas: random effects, shape (n_patients, 3), as :func:`map_etas` returns them.
        regimen_doses_mg: dose at every decision step, mg, shape (n_patients, n_steps);
            the first k (steps taken) must be the doses already given.

    Returns:
        Vancomycin concentration (mg/L) or warfarin INR, shape (n_patients, n_grid).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make_vec("pkgym/Vancomycin-v0", num_envs=1,
        ...                    vectorization_mode="vector_entry_point")
        >>> obs, _ = env.reset(seed=0)
        >>> core, regimen = env.unwrapped.core, np.zeros((1, 14))
        >>> float(forecast_exposure(core, obs, np.zeros((1, 3)), regimen).max())
        0.0
    """
    doses = _check_regimen(core, observation, regimen_doses_mg)
    eta = _check_etas(etas, doses.shape[0])
    return _hooks(core).forecast_exposure(core, observation, eta, doses)


def map_forecast(core: DosingCore, observation: Mapping[str, np.ndarray],
                 regimen_doses_mg: np.ndarray) -> np.ndarray:
    """MAP forecast of each patient's exposure over the whole episode (module docstring).

    Args:
        core: the batched env's core (``env.unwrapped.core`` of ``gym.make_vec``).
        observation: the batched env's Dict observation at decision step k.
        regimen_doses_mg: dose at every decision step, mg, shape (n_patients, n_steps):
            the k doses already given, then the planned ones.

    Returns:
        Shape (n_patients, len(exposure_grid_h(core))): vancomycin mg/L or warfarin INR.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make_vec("pkgym/Warfarin-v0", num_envs=2,
        ...                    vectorization_mode="vector_entry_point")
        >>> obs, _ = env.reset(seed=0)
        >>> inr = map_forecast(env.unwrapped.core, obs, np.full((2, 90), 5.0))
        >>> inr.shape, bool(np.all((inr[:, 0] >= 1.0) & (inr[:, -1] > 1.5)))
        ((2, 90), True)
    """
    regimen = _check_regimen(core, observation, regimen_doses_mg)
    return forecast_exposure(core, observation, map_etas(core, observation), regimen)


def map_log_clearance(core: DosingCore, observation: Mapping[str, np.ndarray]) -> np.ndarray:
    """Log of the MAP clearance (L/h) of each patient, shape (n_patients,).

    Vancomycin: CL at the latest measured CrCL (the current renal function). Warfarin:
    S-warfarin CL (Hamberg), the genotype effect included.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make_vec("pkgym/Vancomycin-v0", num_envs=1,
        ...                    vectorization_mode="vector_entry_point")
        >>> import pandas as pd
        >>> patient = {"age_years": 50.0, "is_female": 0.0, "weight_kg": 70.0,
        ...            "height_cm": 175.0, "on_dialysis": 0.0, "serum_creatinine_mg_per_dl": 1.0,
        ...            "eta_CL": 0.5}
        >>> obs, _ = env.reset(seed=3, options={"patients": pd.DataFrame([patient])})
        >>> # no level yet: the typical CL at the measured CrCL, not the true 3.5 * e^0.5 L/h
        >>> np.exp(map_log_clearance(env.unwrapped.core, obs)).round(2)
        array([3.48])
    """
    etas = map_etas(core, observation)
    return _hooks(core).map_log_clearance(core, observation, etas)
