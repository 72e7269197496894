"""What the drug-agnostic agents need to know about ``pkgym/Heparin-v0`` (its hooks).

Named by the env's registry entry (``EnvSpec.agent_hooks``) and read through
:func:`agents.env_hooks.agent_hooks`:

* the VAE's training data (:mod:`agents.vae.data`): :data:`VAE_BEHAVIOUR`, the virtual
  clinicians (random infusion rates, a quarter dosed by Raschke's nomogram), and
  :func:`vae_decisions`, which turns a random regimen's rate into the env's decision
  ``(bolus U/kg, hold h, rate U/kg/h)``: a bolus of the scenario's levels at the start, now
  and then a re-bolus or a held start later;
* the belief encoder (``pkgym train --encoder belief``, :mod:`agents.rl.belief`):
  :func:`mipd_target`, the mean true aPTT of the next interval against mid-range. Its
  candidates are the env's rate levels (U/kg/h), the unit of the canonical history's dose
  slots (:func:`pkgym.envs.heparin.views.mean_rates_u_per_kg_per_h`);
* the asymmetric critic (:mod:`agents.rl.privileged`): :data:`PRIVILEGED_KEYS`.

Not provided: the MAP forecast's ``map_etas``, ``forecast_exposure`` and ``map_log_clearance``
(this env's MAP lives in :mod:`agents.policies.heparin.map`). VAE-MIPD
(:class:`agents.vae.mipd.VAEMIPDPolicy`) ranks rates by the same target but returns one
number per patient; this env's decisions are three, so it is not one of the env's baselines.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.env_hooks import Behaviour, ExposureTarget

VAE_BEHAVIOUR = Behaviour(dose_range_mg=(6.0, 32.0), change_probability=0.4,
                          change_log_sd=0.25, hold_probability=0.03,
                          label_policies=("raschke",), cut_probability=0.2,
                          measured_cut_probability=0.5)
"""The VAE's virtual clinicians: random infusion rates (U/kg/h, log-uniform 6-32 around
Raschke's 18), changed at 40 % of the 6-hourly aPTTs, now and then stopped; a quarter dosed
by Raschke's nomogram. Every decision follows a fresh aPTT, so a cut is kept at half of them."""
REBOLUS_PROBABILITY = 0.1
"""Chance that a later random decision re-boluses (a level of the scenario's bolus table)."""
HELD_START_PROBABILITY = 0.1
"""Chance that a random regimen's first decision holds the infusion (the table's hold option)."""
PRIVILEGED_KEYS = {
    "clearance_l_per_h": "log", "volume_l": "log", "aptt_slope_s_per_iu_per_l": "log",
    "aptt_s": "log", "concentration_iu_per_ml": "log1p", "amount_iu": "log1p"}
"""The hidden patient the asymmetric critic sees, as ``info`` key -> transform: the true CL, V
and aPTT slope, the true aPTT now, the plasma heparin level and the amount in the body (the
whole state of the one-compartment model)."""


def vae_decisions(core: Any, rates: np.ndarray, step: int,
                  rng: np.random.Generator) -> np.ndarray:
    """The decisions (n, 3) that give random regimens' ``rates`` (U/kg/h) at decision ``step``.

    The first decision boluses one of the scenario's bolus levels (0 included) at random, or
    (:data:`HELD_START_PROBABILITY`) holds the infusion for the scenario's ``hold_h``; a
    later one re-boluses with :data:`REBOLUS_PROBABILITY`. Each is one of the discrete
    table's start options.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> core = gym.make("pkgym/Heparin-v0").unwrapped.core
        >>> d = vae_decisions(core, np.array([18.0, 12.0]), 3, np.random.default_rng(0))
        >>> d.shape, d[:, 2].tolist()
        ((2, 3), [18.0, 12.0])
    """
    s = core.settings.scenario
    rates = np.asarray(rates, dtype=np.float64).reshape(-1)
    n = rates.size
    boluses = np.asarray(s.bolus_levels_u_per_kg, dtype=np.float64)
    drawn = boluses[rng.integers(0, boluses.size, n)]
    chance = 1.0 if step == 0 else REBOLUS_PROBABILITY
    bolus = np.where(rng.random(n) < chance, drawn, 0.0)
    held = (rng.random(n) < HELD_START_PROBABILITY) & (step == 0)
    return np.column_stack([np.where(held, 0.0, bolus), np.where(held, s.hold_h, 0.0), rates])


def mipd_target(core: Any) -> ExposureTarget:
    """The mean true aPTT of the next interval (hourly grid points) against mid-range, s.

    Under ``target: control_ratio`` the mid-ratio times a typical 30-s control (ours: the
    target is one number for every patient).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> mipd_target(gym.make("pkgym/Heparin-v0").unwrapped.core).target
        80.0
    """
    s = core.settings.scenario
    low, high = (s.target_aptt_s if s.target == "seconds"
                 else tuple(30.0 * r for r in s.target_ratio))
    return ExposureTarget(target=(low + high) / 2.0, window_h=float(s.interval_h),
                          trapezoid=False, scale=1.0)
