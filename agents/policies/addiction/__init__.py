"""Addiction dosing policies: baselines, and MAP dosing and oracles where the drug has them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pkgym.envs.addiction import ENV_ID
from pkgym.envs.registry import env_spec
from pkgym.evaluation.policy import Policy

BASELINES = env_spec(ENV_ID).baselines
"""The baseline names :func:`make_baseline` builds (the env's registry entry lists them)."""


def make_baseline(name: str, core: Any) -> Policy:
    """An Addiction-v0 baseline: no treatment, naltrexone 50 mg, stepped care, or the oracle.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> core = gym.make("pkgym/Addiction-v0").unwrapped.core
        >>> make_baseline("stepped_care", core).step_after
        2
    """
    from agents.policies.addiction.baselines import (
        AddictionOraclePolicy,
        FixedTreatmentPolicy,
        SteppedCarePolicy,
    )

    factories: dict[str, Callable[[], Policy]] = {
        "none": lambda: FixedTreatmentPolicy(0),
        "naltrexone_50mg": lambda: FixedTreatmentPolicy(2),
        "stepped_care": lambda: SteppedCarePolicy(),
        "oracle": lambda: AddictionOraclePolicy(core.settings.scenario)}
    return factories[name]()
