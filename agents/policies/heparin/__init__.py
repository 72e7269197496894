"""Heparin dosing policies for ``pkgym/Heparin-v0``: Raschke's nomogram, a floor, MAP, oracle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pkgym.envs.heparin import ENV_ID
from pkgym.envs.registry import env_spec
from pkgym.evaluation.policy import Policy

BASELINES = env_spec(ENV_ID).baselines
"""The baseline names :func:`make_baseline` builds (the env's registry entry lists them)."""


def make_baseline(name: str, core: Any) -> Policy:
    """A heparin baseline built for the env's scenario.

    * ``raschke``: Raschke et al. 1993's weight-based nomogram (:mod:`.baselines`);
    * ``fixed``: Raschke's start, never adjusted (a floor);
    * ``map``: Bayesian MAP of CL, V, SLOPE from the aPTTs, then the next-interval plan
      (:mod:`.map`);
    * ``oracle``: the same plan with the true parameters and amount (reads ``info``).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> core = gym.make("pkgym/Heparin-v0").unwrapped.core
        >>> make_baseline("raschke", core).name
        'raschke'
    """
    from agents.policies.heparin.baselines import FixedPolicy, RaschkePolicy
    from agents.policies.heparin.map import MapPolicy, OraclePolicy

    scenario = core.settings.scenario
    factories: dict[str, Callable[[], Policy]] = {
        "raschke": lambda: RaschkePolicy(scenario.max_rate_u_per_kg_per_h),
        "fixed": FixedPolicy,
        "map": lambda: MapPolicy(scenario, core.reward_fn),
        "oracle": lambda: OraclePolicy(scenario, core.reward_fn)}
    if name not in factories:
        raise ValueError(f"baseline must be one of {tuple(factories)}, got {name!r}")
    return factories[name]()
