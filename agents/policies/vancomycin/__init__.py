"""Vancomycin dosing policies: baselines, and MAP dosing and oracles where the drug has them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agents.policies.beliefs import prior_model
from pkgym.envs.registry import env_spec
from pkgym.envs.vancomycin import ENV_ID
from pkgym.evaluation.policy import Policy

BASELINES = env_spec(ENV_ID).baselines
"""The baseline names :func:`make_baseline` builds (the env's registry entry lists them)."""


def make_baseline(name: str, core: Any, *, prior: str | None = None) -> Policy:
    """A vancomycin baseline built for the env's interval, infusion limits, model and doses.

    ``prior`` (``map`` only: ``map:prior=NAME``) is the model the MAP policy believes, one of
    the scenario's models (:data:`pkgym.envs.vancomycin.clinic.MODELS`), read from the
    scenario's own field of that name (so its YAML overrides apply); the patients still follow
    the scenario's truth. The policy is then named ``map_bayesian[prior=NAME]``; naming the
    truth itself gives the same policy as plain ``map``.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> core = gym.make("pkgym/Vancomycin-v0").unwrapped.core
        >>> make_baseline("map", core, prior="thomson2009").name
        'map_bayesian[prior=thomson2009]'
        >>> make_baseline("map", core, prior="goti2018").name
        'map_bayesian'
    """
    from agents.policies.vancomycin.baselines import LabelDosingPolicy, TroughGuidedPolicy
    from agents.policies.vancomycin.map import MapBayesianPolicy
    from agents.policies.vancomycin.oracle import OraclePolicy

    settings: Any = getattr(core, "settings", None)
    if settings is None or not hasattr(settings, "config"):
        raise ValueError(f"the {name!r} baseline doses vancomycin; this env has no vancomycin "
                         "ward settings")
    if prior is not None and name != "map":
        raise ValueError(f"{name!r} takes no prior: only 'map' doses with a model")
    config = settings.config
    limits = {"max_infusion_rate_mg_per_h": config.max_infusion_rate_mg_per_h,
              "min_infusion_h": config.min_infusion_h}
    factories: dict[str, Callable[[], Policy]] = {
        "label": lambda: LabelDosingPolicy(config.interval_h),
        "trough": lambda: TroughGuidedPolicy(config.interval_h),
        "map": lambda: _named(MapBayesianPolicy(_belief(settings, prior), config.interval_h,
                                                settings.dose_levels_mg, **limits),
                              settings, prior),
        "oracle": lambda: OraclePolicy(config.interval_h, settings.dose_levels_mg, **limits)}
    return factories[name]()


def _belief(settings: Any, prior: str | None) -> Any:
    """The model MAP doses with (:func:`agents.policies.beliefs.prior_model`)."""
    from pkgym.envs.vancomycin.clinic import MODELS

    return prior_model(settings.scenario, prior, MODELS)


def _named(policy: Policy, settings: Any, prior: str | None) -> Policy:
    """``policy`` renamed ``<name>[prior=NAME]`` when its prior is not the truth."""
    if prior is not None and prior != settings.scenario.model:
        policy.name = f"{policy.name}[prior={prior}]"  # type: ignore[misc]
    policy.belief_name = prior or settings.scenario.model  # type: ignore[attr-defined]
    return policy
