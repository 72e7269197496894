"""Bayesian MAP forecast of a patient's exposure over the whole episode, from what was seen.

Issue 8 compares the future exposure a VAE decodes with the forecast of the Bayesian MAP
baseline from the same observations. :func:`map_forecast` fits the individual parameters
exactly as the env's ``map`` baseline (:func:`agents.policies.registry.make_policy`) has them at the
observation's decision step, simulates the whole episode under a given regimen, and returns
the exposure on the grid of :func:`exposure_grid_h`:

* ``pkgym/Vancomycin-v0``: the central concentration, mg/L, at hours 1, 2, ...,
  ``n_steps * interval_h``. Fit: :func:`agents.policies.vancomycin.map.map_estimate` (Goti 2018
  prior, the
  measured levels, the CrCL measured each morning). Forecast: the baseline's exact
  prediction :func:`agents.policies.vancomycin.map_predict.simulate_history`, dose k infused from
  ``k * interval_h`` within the env's infusion limits, CL of each day from that day's
  measured CrCL (later days: the latest measured one).
* ``pkgym/Warfarin-v0`` (and ``WarfarinPGx-v0``): the INR at ``24 d`` h, d = 1..n_days, the
  morning of day d before that day's dose (day 0 is the first dose), which is the env's
  ``info["inr"]`` after step d - 1. Fit: the etas the baseline's policy holds that day,
  replayed INR by INR (:meth:`agents.policies.warfarin.map.WarfarinMapPolicy.update`: its
  Levenberg-Marquardt estimate after each INR, warm-started at the previous one; the
  genotype folded into the etas of a reference-genotype patient). Forecast:
  :func:`pkgym.models.warfarin_kernel.simulate_inr`, the env's own day step.

With no measured level the fit is the prior mode: the population-typical patient given the
covariates (without genotype, warfarin's prior is centred on the genotype mixture). Given the
true parameters (:func:`forecast_exposure`, the oracle path) the forecast is the env's true
course, except for what the clinic cannot know: vancomycin creatinine drift, kidney injury
and creatinine assay error after the last morning lab, and float32 covariates (~1e-7).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, TypeVar

import numpy as np

from agents.policies.vancomycin.map import MapBayesianPolicy, map_estimate
from agents.policies.vancomycin.map_predict import PatientHistory, segment_grid, simulate_history
from agents.policies.warfarin.iwpc import read_covariates
from agents.policies.warfarin.map import WarfarinMapPolicy
from pkgym.envs.base import DosingCore
from pkgym.models.warfarin_kernel import HOURS_PER_DAY, simulate_inr

_Map = TypeVar("_Map", MapBayesianPolicy, WarfarinMapPolicy)

SUPPORTED_ENVS = ("pkgym/Vancomycin-v0", "pkgym/Warfarin-v0", "pkgym/WarfarinPGx-v0")
_DOSE_TOLERANCE_MG = 1e-3  # float32 doses of the observation against the regimen's float64


def _env_kind(core: DosingCore) -> str:
    """``"vancomycin"`` or ``"warfarin"`` from the core's type; ValueError for other envs."""
    from pkgym.envs.vancomycin.core import VancomycinCore
    from pkgym.envs.warfarin.core import WarfarinCore

    if isinstance(core, VancomycinCore):
        return "vancomycin"
    if isinstance(core, WarfarinCore):
        return "warfarin"
    raise ValueError(f"core: the MAP forecast supports {SUPPORTED_ENVS}, got "
                     f"{type(core).__name__}")


def _n_steps(core: DosingCore) -> int:
    """Decision steps per episode of a supported env."""
    settings: Any = core.settings
    if _env_kind(core) == "vancomycin":
        return int(settings.config.n_steps)
    return int(settings.scenario.n_days)


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
    settings: Any = core.settings
    if _env_kind(core) == "vancomycin":
        end_h = round(settings.config.n_steps * settings.config.interval_h)
        return np.arange(1.0, end_h + 1.0)
    return HOURS_PER_DAY * np.arange(1.0, settings.scenario.n_days + 1.0)


def _batch_size(observation: Mapping[str, np.ndarray]) -> int:
    """Rows of a batched observation; ValueError for an unbatched one."""
    if "covariates" not in observation or np.ndim(observation["covariates"]) != 2:
        raise ValueError("observation must be the batched env's Dict observation: "
                         "'covariates' of shape (n_patients, n_covariates)")
    return int(np.shape(observation["covariates"])[0])


def _steps_taken(core: DosingCore, observation: Mapping[str, np.ndarray]) -> np.ndarray:
    """Decision steps already taken by each patient, (n,) int."""
    if _env_kind(core) == "vancomycin":
        interval_h = core.settings.config.interval_h  # type: ignore[attr-defined]
        return np.rint(np.asarray(observation["time_h"], np.float64)[:, 0] / interval_h
                       ).astype(np.int64)
    return np.asarray(observation["day"])[:, 0].astype(np.int64)


def _check_regimen(core: DosingCore, observation: Mapping[str, np.ndarray],
                   regimen_doses_mg: np.ndarray) -> np.ndarray:
    """The regimen as float64 (n, n_steps), its first k doses those already given."""
    n, n_steps = _batch_size(observation), _n_steps(core)
    doses = np.asarray(regimen_doses_mg, dtype=np.float64)
    if doses.shape != (n, n_steps):
        raise ValueError(f"regimen_doses_mg must have shape (n_patients={n}, n_steps={n_steps}),"
                         f" got {doses.shape}")
    if not np.all(np.isfinite(doses)) or np.any(doses < 0):
        raise ValueError("regimen_doses_mg must be finite and >= 0 mg")
    given = np.asarray(observation["doses_mg"], dtype=np.float64)
    past = np.arange(n_steps)[None] < _steps_taken(core, observation)[:, None]
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


# ----- vancomycin ---------------------------------------------------------------------------

def _map_policy(core: DosingCore, kind: type[_Map]) -> _Map:
    """The env's ``map`` baseline (its model, interval, infusion limits, prior, assay error)."""
    from agents.policies.registry import make_policy

    policy = make_policy("map", core)
    if not isinstance(policy, kind):
        raise ValueError(f"core: its 'map' baseline is {type(policy).__name__}, not "
                         f"{kind.__name__}")
    return policy


def _histories(policy: MapBayesianPolicy, observation: Mapping[str, np.ndarray]
               ) -> list[PatientHistory]:
    """Each patient's :class:`PatientHistory`, built as the baseline builds it."""
    return [PatientHistory.from_observation(
        {key: np.asarray(value)[i] for key, value in observation.items()}, policy.interval_h,
        **policy.infusion_limits) for i in range(_batch_size(observation))]


def _vancomycin_course(policy: MapBayesianPolicy, history: PatientHistory, etas: np.ndarray,
                       doses_mg: np.ndarray, grid_h: np.ndarray) -> np.ndarray:
    """One patient's concentrations (mg/L) at ``grid_h`` under the whole regimen."""
    course = replace(history, dose_times_h=policy.interval_h * np.arange(doses_mg.size),
                     dose_amounts_mg=doses_mg,
                     dose_durations_h=history.infusion_durations_h(doses_mg))
    levels, _ = simulate_history(course, etas[None], segment_grid(course, grid_h), policy.model)
    return levels[0]


# ----- warfarin -----------------------------------------------------------------------------

def _as_of_day(observation: Mapping[str, np.ndarray], day: int) -> dict[str, np.ndarray]:
    """The observation each patient had on ``day`` (for those who have reached it).

    Doses from ``day`` on and INRs after it are removed; ``days_since_last_inr`` is 0 where
    an INR was measured that morning.
    """
    out = {key: np.array(value, copy=True) for key, value in observation.items()}
    n = out["day"].shape[0]
    out["day"] = np.full((n, 1), float(day), dtype=np.float32)
    out["doses_mg"][:, day:] = 0.0
    inr_days = np.asarray(observation["inr_days"])
    mask = (np.asarray(observation["inr_mask"]) > 0.5) & (inr_days <= day)
    for key in ("inr_days", "inr_values", "inr_mask"):
        out[key] = np.where(mask, out[key], 0.0).astype(np.float32)
    out["inr_mask"] = mask.astype(np.float32)
    out["days_since_last_inr"] = np.where(np.any(mask & (inr_days == day), axis=1), 0.0,
                                          1.0)[:, None].astype(np.float32)
    return out


def _warfarin_etas(policy: WarfarinMapPolicy, observation: Mapping[str, np.ndarray]
                   ) -> np.ndarray:
    """The etas the policy holds at each patient's day: its updates replayed, (n, 3)."""
    n = _batch_size(observation)
    policy.reset(n)
    mask = np.asarray(observation["inr_mask"]) > 0.5
    days = np.asarray(observation["inr_days"])[mask].astype(np.int64)
    for day in np.unique(np.concatenate([[0], days[days > 0]])):
        policy.update(_as_of_day(observation, int(day)))
    return policy.eta.copy()


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
    if _env_kind(core) == "vancomycin":
        policy = _map_policy(core, MapBayesianPolicy)
        return np.array([map_estimate(h, policy.model).etas
                         for h in _histories(policy, observation)]).reshape(-1, 3)
    _batch_size(observation)
    return _warfarin_etas(_map_policy(core, WarfarinMapPolicy), observation)


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
    if _env_kind(core) == "vancomycin":
        policy, grid_h = _map_policy(core, MapBayesianPolicy), exposure_grid_h(core)
        return np.array([_vancomycin_course(policy, history, eta[i], doses[i], grid_h)
                         for i, history in enumerate(_histories(policy, observation))])
    policy = _map_policy(core, WarfarinMapPolicy)
    params = policy.reference_parameters(read_covariates(observation)["age_years"], eta)
    inr, _ = simulate_inr(params, policy.model.structure, doses)
    return inr[:, 1:]


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
    if _env_kind(core) == "vancomycin":
        policy = _map_policy(core, MapBayesianPolicy)
        histories = _histories(policy, observation)
        crcl = np.array([h.daily_creatinine_clearance_ml_per_min[-1] for h in histories])
        dialysis = np.array([h.on_dialysis for h in histories])
        return np.log(policy.model.clearance(crcl, dialysis, etas[:, 0]))
    policy = _map_policy(core, WarfarinMapPolicy)
    ages = read_covariates(observation)["age_years"]
    return np.log(policy.reference_parameters(ages, etas).clearance_l_per_h)
