"""Chemo immune dosing policies: baselines, and MAP dosing and oracles where the drug has them."""

from __future__ import annotations

from typing import Any

from pkgym.envs.chemo_immune import ENV_ID
from pkgym.envs.registry import env_spec
from pkgym.evaluation.policy import Policy

BASELINES = env_spec(ENV_ID).baselines
"""The baseline names :func:`make_baseline` builds (the env's registry entry lists them)."""


def make_baseline(name: str, core: Any) -> Policy:
    """A ChemoImmune baseline: the maximum dose every day, or the normal-cell threshold rule.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> core = gym.make("pkgym/ChemoImmune-v0").unwrapped.core
        >>> make_baseline("threshold", core).floor
        0.75
    """
    from agents.policies.chemo_immune.baselines import ConstantDosePolicy, ThresholdPolicy

    full = float(core.dose_levels_mg.max())
    if name == "constant":
        return ConstantDosePolicy(full)
    return ThresholdPolicy(core.settings.scenario.normal_cell_floor, full_dose=full)
