"""What the drug-agnostic agents need to know about ``pkgym/Vancomycin-v0`` (its agent hooks).

Named by the env's registry entry (``EnvSpec.agent_hooks``) and read through
:func:`agents.env_hooks.agent_hooks`:

* the MAP forecast (:mod:`agents.policies.map_forecast`): the central concentration, mg/L,
  at hours 1, 2, ..., ``n_steps * interval_h``. Fit: :func:`agents.policies.vancomycin.map.
  map_estimate` (the scenario's model as prior, the measured levels, the CrCL measured each
  morning), as the env's ``map`` baseline has it. Forecast: the baseline's exact prediction
  :func:`agents.policies.vancomycin.map_predict.simulate_history`, dose k infused from
  ``k * interval_h`` within the env's infusion limits, CL of each day from that day's
  measured CrCL (later days: the latest measured one);
* the VAE's training data: :data:`VAE_BEHAVIOUR`, the virtual clinicians;
* VAE-MIPD: :func:`mipd_target`, the AUC over the next 24 h against the target;
* the asymmetric critic (:mod:`agents.rl.privileged`): :data:`PRIVILEGED_KEYS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from agents.env_hooks import Behaviour, ExposureTarget
from agents.policies.map_forecast import batch_size
from agents.policies.registry import make_typed_policy
from agents.policies.vancomycin.map import MapBayesianPolicy, map_estimate
from agents.policies.vancomycin.map_predict import PatientHistory, segment_grid, simulate_history
from pkgym.units import HOURS_PER_DAY

VAE_BEHAVIOUR = Behaviour(dose_range_mg=(250.0, 2500.0), change_probability=0.15,
                          loading_probability=0.3, hold_probability=0.03,
                          label_policies=("label", "trough"))
"""The VAE's virtual clinicians: random regimens, a quarter dosed by label or by trough."""
PRIVILEGED_KEYS = {
    "clearance_l_per_h": "log", "central_volume_l": "log", "peripheral_volume_l": "log",
    "creatinine_mg_per_dl": "log", "auc24_mg_h_per_l": "log1p",
    "concentration_mg_per_l": "log1p", "central_amount_mg": "log1p",
    "peripheral_amount_mg": "log1p", "kdigo_stage": "raw", "had_aki": "raw"}
"""The hidden patient the asymmetric critic sees, as ``info`` key -> transform: the true PK
parameters (Q is the same for every patient, so left out), the true serum creatinine, the
exact AUC24, concentration and compartment amounts now, and the kidney-injury state."""


def mipd_target(core: Any) -> ExposureTarget:
    """AUC24 (trapezoid over the hourly course) against mid-target x MIC (500 mg*h/L default).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> mipd_target(gym.make("pkgym/Vancomycin-v0").unwrapped.core).target
        500.0
    """
    settings = core.settings
    low, high = settings.target_auc24_over_mic
    return ExposureTarget(target=(low + high) / 2.0 * settings.mic_mg_per_l,
                          window_h=HOURS_PER_DAY, trapezoid=True, scale=HOURS_PER_DAY)


def n_steps(core: Any) -> int:
    """Decision steps (doses) per episode."""
    return int(core.settings.config.n_steps)


def steps_taken(core: Any, observation: Mapping[str, np.ndarray]) -> np.ndarray:
    """Doses already given to each patient, (n,) int, from the time now."""
    interval_h = core.settings.config.interval_h
    return np.rint(np.asarray(observation["time_h"], np.float64)[:, 0] / interval_h
                   ).astype(np.int64)


def exposure_grid_h(core: Any) -> np.ndarray:
    """The forecast's hours, 1 .. ``n_steps * interval_h``."""
    settings = core.settings
    end_h = round(settings.config.n_steps * settings.config.interval_h)
    return np.arange(1.0, end_h + 1.0)


def _map_policy(core: Any) -> MapBayesianPolicy:
    """The env's ``map`` baseline (its model, interval, infusion limits, prior, assay error)."""
    return make_typed_policy("map", core, MapBayesianPolicy)


def _histories(policy: MapBayesianPolicy, observation: Mapping[str, np.ndarray]
               ) -> list[PatientHistory]:
    """Each patient's :class:`PatientHistory`, built as the baseline builds it."""
    return [PatientHistory.from_observation(
        {key: np.asarray(value)[i] for key, value in observation.items()}, policy.interval_h,
        **policy.infusion_limits) for i in range(batch_size(observation))]


def _course(policy: MapBayesianPolicy, history: PatientHistory, etas: np.ndarray,
            doses_mg: np.ndarray, grid_h: np.ndarray) -> np.ndarray:
    """One patient's concentrations (mg/L) at ``grid_h`` under the whole regimen."""
    course = replace(history, dose_times_h=policy.interval_h * np.arange(doses_mg.size),
                     dose_amounts_mg=doses_mg,
                     dose_durations_h=history.infusion_durations_h(doses_mg))
    levels, _ = simulate_history(course, etas[None], segment_grid(course, grid_h), policy.model)
    return levels[0]


def map_etas(core: Any, observation: Mapping[str, np.ndarray]) -> np.ndarray:
    """(eta_CL, eta_V1, eta_V2) of each patient, (n, 3): zeros before any level."""
    policy = _map_policy(core)
    return np.array([map_estimate(h, policy.model).etas
                     for h in _histories(policy, observation)]).reshape(-1, 3)


def forecast_exposure(core: Any, observation: Mapping[str, np.ndarray], etas: np.ndarray,
                      doses_mg: np.ndarray) -> np.ndarray:
    """Concentrations (n, n_grid), mg/L, of patients with these etas under the regimen."""
    policy, grid_h = _map_policy(core), exposure_grid_h(core)
    return np.array([_course(policy, history, etas[i], doses_mg[i], grid_h)
                     for i, history in enumerate(_histories(policy, observation))])


def map_log_clearance(core: Any, observation: Mapping[str, np.ndarray],
                      etas: np.ndarray) -> np.ndarray:
    """Log CL (L/h) at each patient's latest measured CrCL (the current renal function)."""
    policy = _map_policy(core)
    histories = _histories(policy, observation)
    crcl = np.array([h.daily_creatinine_clearance_ml_per_min[-1] for h in histories])
    dialysis = np.array([h.on_dialysis for h in histories])
    weight = np.array([h.weight_kg for h in histories])
    age = np.array([h.age_years for h in histories])
    creatinine = None if not policy.model.uses_creatinine else \
        np.array([h.daily_creatinine_mg_per_dl[-1] for h in histories])
    return np.log(policy.model.clearance(crcl, dialysis, etas[:, 0], weight_kg=weight,
                                         age_years=age, serum_creatinine_mg_per_dl=creatinine,
                                         eta_central_volume=etas[:, 1]))
