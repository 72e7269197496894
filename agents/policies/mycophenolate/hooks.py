"""What the drug-agnostic agents need to know about ``pkgym/Mycophenolate-v0`` (its hooks).

Named by the env's registry entry (``EnvSpec.agent_hooks``) and read through
:func:`agents.env_hooks.agent_hooks`:

* the VAE's training data: :data:`VAE_BEHAVIOUR`, the virtual clinicians (random regimens,
  a quarter dosed by the trough protocol), and :func:`n_steps`: the data loop
  (:func:`agents.vae.data.n_decisions`) steps once per visit (6), not once per dose slot of
  the canonical history (56 administrations of 12 h);
* VAE-MIPD: :func:`mipd_target`, the AUC0-12 of the next dosing interval against 45 mg*h/L;
* the step and grid helpers the MAP forecast shares (:func:`n_steps`, :func:`steps_taken`,
  :func:`exposure_grid_h`).

Not provided (yet): the MAP forecast's ``map_etas``, ``forecast_exposure`` and
``map_log_clearance`` (MAP of this env lives in :mod:`agents.policies.mycophenolate.map`,
which doses from steady-state predictions, not an hourly course). ``pkgym train-vae``,
``pkgym train`` (raw or VAE encoder), ``pkgym benchmark`` and ``pkgym evaluate`` do not
need them; only :mod:`agents.policies.map_forecast` (and the benchmark of VAE quality
against it, ``benchmarks/vae_quality_data.py``) would.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from agents.env_hooks import Behaviour, ExposureTarget

VAE_BEHAVIOUR = Behaviour(dose_range_mg=(250.0, 2000.0), change_probability=0.3,
                          label_policies=("protocol",))
"""The VAE's virtual clinicians: random regimens, a quarter dosed by the trough protocol."""
INTERVAL_H = 12.0
"""MMF twice daily."""


def mipd_target(core: Any) -> ExposureTarget:
    """AUC0-12 of the next 12 h (trapezoid over the hourly course) against mid-target (45).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> mipd_target(gym.make("pkgym/Mycophenolate-v0").unwrapped.core).target
        45.0
    """
    low, high = core.settings.scenario.target_auc_mg_h_per_l
    return ExposureTarget(target=(low + high) / 2.0, window_h=INTERVAL_H, trapezoid=True,
                          scale=INTERVAL_H)


def n_steps(core: Any) -> int:
    """Decision steps (visits) per episode; each fixes the doses until the next visit.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> n_steps(gym.make("pkgym/Mycophenolate-v0").unwrapped.core)
        6
    """
    return int(core.settings.scenario.n_steps)


def steps_taken(core: Any, observation: Mapping[str, np.ndarray]) -> np.ndarray:
    """Visits already decided for each patient, (n,) int, from the observed day."""
    days = np.asarray(observation["day"], np.float64).reshape(-1)
    visit_days = np.append(np.asarray(core.settings.scenario.visit_days, np.float64),
                           core.settings.scenario.end_day)
    return np.searchsorted(visit_days, days + 1e-6) - 1


def exposure_grid_h(core: Any) -> np.ndarray:
    """The hours 1 .. 24 end_day (the env's hourly exposure course)."""
    return np.arange(1.0, 24.0 * core.settings.scenario.end_day + 1.0)
