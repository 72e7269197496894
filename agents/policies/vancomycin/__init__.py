"""Vancomycin dosing policies: baselines, and MAP dosing and oracles where the drug has them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pkgym.envs.registry import env_spec
from pkgym.envs.vancomycin import ENV_ID
from pkgym.evaluation.policy import Policy

BASELINES = env_spec(ENV_ID).baselines
"""The baseline names :func:`make_baseline` builds (the env's registry entry lists them)."""


def make_baseline(name: str, core: Any) -> Policy:
    """A vancomycin baseline built for the env's interval, infusion limits, model and doses."""
    from agents.policies.vancomycin.baselines import LabelDosingPolicy, TroughGuidedPolicy
    from agents.policies.vancomycin.map import MapBayesianPolicy
    from agents.policies.vancomycin.oracle import OraclePolicy

    settings: Any = getattr(core, "settings", None)
    if settings is None or not hasattr(settings, "config"):
        raise ValueError(f"the {name!r} baseline doses vancomycin; this env has no vancomycin "
                         "ward settings")
    config = settings.config
    limits = {"max_infusion_rate_mg_per_h": config.max_infusion_rate_mg_per_h,
              "min_infusion_h": config.min_infusion_h}
    factories: dict[str, Callable[[], Policy]] = {
        "label": lambda: LabelDosingPolicy(config.interval_h),
        "trough": lambda: TroughGuidedPolicy(config.interval_h),
        "map": lambda: MapBayesianPolicy(settings.model, config.interval_h,
                                         settings.dose_levels_mg, **limits),
        "oracle": lambda: OraclePolicy(config.interval_h, settings.dose_levels_mg, **limits)}
    return factories[name]()
