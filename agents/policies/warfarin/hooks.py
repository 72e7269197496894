"""What the drug-agnostic agents need to know about warfarin (``pkgym/Warfarin-v0``, PGx).

Named by the envs' registry entries (``EnvSpec.agent_hooks``) and read through
:func:`agents.env_hooks.agent_hooks`:

* the MAP forecast (:mod:`agents.policies.map_forecast`): the INR at ``24 d`` h,
  d = 1..n_days, the morning of day d before that day's dose (day 0 is the first dose),
  which is the env's ``info["inr"]`` after step d - 1. Fit: the etas the ``map`` baseline's
  policy holds that day, replayed INR by INR
  (:meth:`agents.policies.warfarin.map.WarfarinMapPolicy.update`: its Levenberg-Marquardt
  estimate after each INR, warm-started at the previous one; the genotype folded into the
  etas of a reference-genotype patient). Forecast:
  :func:`pkgym.models.warfarin_kernel.simulate_inr`, the env's own day step;
* the VAE's training data: :data:`VAE_BEHAVIOUR`, the virtual clinicians;
* VAE-MIPD: :func:`mipd_target`, the mean INR of the next 7 mornings against mid-range;
* the asymmetric critic (:mod:`agents.rl.privileged`): :data:`PRIVILEGED_KEYS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from agents.env_hooks import Behaviour, ExposureTarget
from agents.policies.map_forecast import batch_size
from agents.policies.registry import make_typed_policy
from agents.policies.warfarin.iwpc import read_covariates
from agents.policies.warfarin.map import WarfarinMapPolicy
from pkgym.models.warfarin_kernel import simulate_inr
from pkgym.units import HOURS_PER_DAY

VAE_BEHAVIOUR = Behaviour(dose_range_mg=(1.0, 12.0), change_probability=0.05,
                          hold_probability=0.02,
                          label_policies=("fixed_5mg", "aurora", "iwpc_clinical+aurora"),
                          cut_probability=0.03, measured_cut_probability=0.5)
"""The VAE's virtual clinicians: random regimens, a quarter dosed by a label-like protocol."""
PRIVILEGED_KEYS = {
    "clearance_l_per_h": "log", "central_volume_l": "log", "ec50_mg_per_l": "log",
    "cyp2c9": "raw", "vkorc1": "raw", "inr": "log", "s_warfarin_mg_per_l": "log1p",
    "pk_amounts_mg": "log1p", "transit_amounts": "raw"}
"""The hidden patient the asymmetric critic sees, as ``info`` key -> transform: the true
S-warfarin CL, V and EC50, the genotypes, the true INR today, the exact plasma level, the PK
compartment amounts and the clotting-factor transit chains (the whole dynamic state). The
Hill coefficient and mean transit times are the same for every patient, so left out."""
WINDOW_H = 7 * HOURS_PER_DAY
"""VAE-MIPD's window: the next 7 mornings."""


def mipd_target(core: Any) -> ExposureTarget:
    """The mean INR of the next 7 mornings against the middle of the target range.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> mipd_target(gym.make("pkgym/Warfarin-v0").unwrapped.core).target
        2.5
    """
    return ExposureTarget(target=sum(core.settings.scenario.target_inr) / 2.0,
                          window_h=WINDOW_H, trapezoid=False, scale=1.0)


def n_steps(core: Any) -> int:
    """Decision steps (days) per episode."""
    return int(core.settings.scenario.n_days)


def steps_taken(core: Any, observation: Mapping[str, np.ndarray]) -> np.ndarray:
    """Days already dosed for each patient, (n,) int."""
    return np.asarray(observation["day"])[:, 0].astype(np.int64)


def exposure_grid_h(core: Any) -> np.ndarray:
    """The forecast's mornings, ``24 d`` h for d = 1 .. n_days."""
    return HOURS_PER_DAY * np.arange(1.0, core.settings.scenario.n_days + 1.0)


def _map_policy(core: Any) -> WarfarinMapPolicy:
    """The env's ``map`` baseline (its model, dose levels, target and assay error)."""
    return make_typed_policy("map", core, WarfarinMapPolicy)


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


def map_etas(core: Any, observation: Mapping[str, np.ndarray]) -> np.ndarray:
    """The etas the ``map`` policy holds at each patient's day: its updates replayed, (n, 3)."""
    n = batch_size(observation)
    policy = _map_policy(core)
    policy.reset(n)
    mask = np.asarray(observation["inr_mask"]) > 0.5
    days = np.asarray(observation["inr_days"])[mask].astype(np.int64)
    for day in np.unique(np.concatenate([[0], days[days > 0]])):
        policy.update(_as_of_day(observation, int(day)))
    return policy.eta.copy()


def forecast_exposure(core: Any, observation: Mapping[str, np.ndarray], etas: np.ndarray,
                      doses_mg: np.ndarray) -> np.ndarray:
    """INR each morning (n, n_days) of patients with these etas under the regimen."""
    policy = _map_policy(core)
    params = policy.reference_parameters(read_covariates(observation)["age_years"], etas)
    inr, _ = simulate_inr(params, policy.model.structure, doses_mg)
    return inr[:, 1:]


def map_log_clearance(core: Any, observation: Mapping[str, np.ndarray],
                      etas: np.ndarray) -> np.ndarray:
    """Log S-warfarin CL (L/h, Hamberg) of each patient, the genotype effect included."""
    policy = _map_policy(core)
    ages = read_covariates(observation)["age_years"]
    return np.log(policy.reference_parameters(ages, etas).clearance_l_per_h)
