"""Mycophenolate (MMF) dosing policies: baselines, MAP dosing, VAE dosing and the oracle."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pkgym.envs.mycophenolate import ENV_ID
from pkgym.envs.registry import env_spec
from pkgym.evaluation.policy import Policy

BASELINES = env_spec(ENV_ID).baselines
"""The baseline names :func:`make_baseline` builds (the env's registry entry lists them)."""
BELIEFS = {"true": "dewinter2009", "no_ehc": "staatz2005"}
"""The model each MAP prior doses with, as the evaluation's belief lines name it."""


def make_baseline(name: str, core: Any, *, path: str | Path | None = None) -> Policy:
    """An MMF baseline built for the env's dose levels, sampling plan and visit days.

    ``path`` (``vae`` only: ``vae:path=DIR``) is the directory of a trained profile VAE,
    plain or hybrid (the policy then reports itself as ``vae_hybrid``).
    ``map`` and ``map_no_ehc`` (MAP with the true EHC model, or with the two-compartment
    prior without EHC) and ``vae`` live in :mod:`agents.policies.mycophenolate.map` and
    :mod:`agents.policies.mycophenolate.vae_dosing`, imported when asked for.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> core = gym.make("pkgym/Mycophenolate-v0").unwrapped.core
        >>> make_baseline("protocol", core).levels[[0, -1]].tolist()
        [250.0, 2000.0]
    """
    from agents.policies.mycophenolate.baselines import (
        FixedDosePolicy,
        OraclePolicy,
        TroughProtocolPolicy,
    )

    scenario = core.settings.scenario
    levels = core.dose_levels_mg
    if path is not None and name != "vae":
        raise ValueError(f"{name!r} takes no path: only 'vae' loads a trained model")
    factories: dict[str, Callable[[], Policy]] = {
        "fixed": lambda: FixedDosePolicy(1000.0),
        "protocol": lambda: TroughProtocolPolicy(levels, scenario.sampling.n_samples,
                                                 scenario.assay_loq_mg_per_l),
        "oracle": lambda: OraclePolicy(levels, scenario, reward_fn=core.reward_fn),
        "map": lambda: _map("true", levels, scenario),
        "map_no_ehc": lambda: _map("no_ehc", levels, scenario),
        "vae": lambda: _vae(path, levels)}
    if name not in factories:
        raise ValueError(f"baseline must be one of {tuple(factories)}, got {name!r}")
    return factories[name]()


def _map(prior: str, levels: Any, scenario: Any) -> Policy:
    """MAP dosing with the true (EHC) or the no-EHC prior."""
    from agents.policies.mycophenolate.map import MapPolicy

    policy = MapPolicy(prior, dose_levels_mg=levels, visit_days=scenario.visit_days)
    if not hasattr(policy, "belief_name"):  # named in the evaluation's belief lines
        policy.belief_name = BELIEFS[prior]  # type: ignore[attr-defined]
    return policy


def _vae(path: str | Path | None, levels: Any) -> Policy:
    """Dosing in a trained profile VAE's latent space (``vae:path=DIR``)."""
    if path is None:
        raise ValueError("the 'vae' baseline needs a trained profile VAE: vae:path=DIR")
    from agents.policies.mycophenolate.vae_dosing import VaeDosingPolicy

    return VaeDosingPolicy(path, dose_levels_mg=levels)
