"""Depression dosing policies: baselines, and MAP dosing and oracles where the drug has them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pkgym.envs.depression import ENV_ID
from pkgym.envs.registry import env_spec
from pkgym.evaluation.policy import Policy

BASELINES = env_spec(ENV_ID).baselines
"""The baseline names :func:`make_baseline` builds (the env's registry entry lists them)."""


def make_baseline(name: str, core: Any) -> Policy:
    """An escitalopram baseline built for the env's dose levels, horizon, model and reward.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> core = gym.make("pkgym/Depression-v0").unwrapped.core
        >>> make_baseline("stepped_care", core).levels.tolist()
        [0.0, 5.0, 10.0, 15.0, 20.0]
    """
    from agents.policies.depression.baselines import (
        DepressionOraclePolicy,
        FixedDosePolicy,
        NoTreatmentPolicy,
        SteppedCarePolicy,
    )

    scenario = core.settings.scenario
    factories: dict[str, Callable[[], Policy]] = {
        "none": NoTreatmentPolicy, "fixed": lambda: FixedDosePolicy(10.0),
        "stepped_care": lambda: SteppedCarePolicy(core.dose_levels_mg),
        "oracle": lambda: DepressionOraclePolicy(core.dose_levels_mg, scenario.n_weeks,
                                                 scenario.model, scenario.reward)}
    return factories[name]()
