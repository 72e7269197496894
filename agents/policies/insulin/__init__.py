"""Insulin dosing policies for ``pkgym/Insulin-v0``: basal-bolus, PID, MAP-MPC and the oracle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pkgym.envs.insulin import ENV_ID
from pkgym.envs.registry import env_spec
from pkgym.evaluation.policy import Policy

BASELINES = env_spec(ENV_ID).baselines
"""The baseline names :func:`make_baseline` builds (the env's registry entry lists them)."""


def make_baseline(name: str, core: Any) -> Policy:
    """An insulin baseline built for the env's levels, step, pump and reward weights.

    * ``basal_bolus``: simglucose's basal-bolus controller (:mod:`.baselines`);
    * ``pid``: PID on CGM with an insulin-on-board constraint and meal boluses;
    * ``map``: MPC with the age group's median model and a CGM observer (:mod:`.mpc`);
    * ``oracle``: MPC with the true model, state and meals (reads ``info``).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> core = gym.make("pkgym/Insulin-v0").unwrapped.core
        >>> make_baseline("basal_bolus", core).name
        'basal_bolus'
    """
    from agents.policies.insulin.baselines import BasalBolusPolicy, PidPolicy
    from agents.policies.insulin.mpc import MapPolicy, OraclePolicy

    scenario = core.settings.scenario
    levels, step = core.dose_levels_mg, scenario.step_minutes
    factories: dict[str, Callable[[], Policy]] = {
        "basal_bolus": lambda: BasalBolusPolicy(levels, step),
        "pid": lambda: PidPolicy(levels, step, scenario.insulin_action_h),
        "map": lambda: MapPolicy(levels, scenario, core.reward_fn),
        "oracle": lambda: OraclePolicy(levels, scenario, core.reward_fn)}
    if name not in factories:
        raise ValueError(f"baseline must be one of {tuple(factories)}, got {name!r}")
    return factories[name]()
