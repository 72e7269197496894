"""Chemotherapy dosing policies: baselines, and MAP dosing and oracles where the drug has them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from agents.policies.beliefs import prior_model
from pkgym.envs.chemotherapy import ENV_ID
from pkgym.envs.registry import env_spec
from pkgym.evaluation.policy import Policy

BASELINES = env_spec(ENV_ID).baselines
"""The baseline names :func:`make_baseline` builds (the env's registry entry lists them)."""


def make_baseline(name: str, core: Any, *, prior: str | None = None) -> Policy:
    """A docetaxel baseline built for the env's dose levels, label dose and delay option.

    ``prior`` (``map`` only: ``map:prior=NAME``) is the myelosuppression model the MAP policy
    believes, one of the scenario's models (``kloft2006``, ``friberg2002_emax``); the patients
    stay the scenario's (the truth). The policy is then named ``map_bayesian[prior=NAME]``;
    naming the scenario's own model gives the same policy as plain ``map``.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> core = gym.make("pkgym/Chemotherapy-v0").unwrapped.core
        >>> make_baseline("map", core, prior="friberg2002_emax").name
        'map_bayesian[prior=friberg2002_emax]'
    """
    from agents.policies.chemotherapy.baselines import (
        ChemoOraclePolicy,
        FixedPercentPolicy,
        LabelRulesPolicy,
    )
    from agents.policies.chemotherapy.map import ChemoMapPolicy

    scenario, delay = core.settings.scenario, core.settings.allow_delay
    levels = np.asarray(scenario.dose_levels_percent)
    if prior is not None and name != "map":
        raise ValueError(f"{name!r} takes no prior: only 'map' doses with a model")
    if name == "map":
        policy = ChemoMapPolicy(scenario, allow_delay=delay, belief=_belief(scenario, prior))
        if prior is not None:
            policy.name = f"{policy.name}[prior={prior}]"
        policy.belief_name = prior or scenario.model
        return policy
    factories: dict[str, Callable[[], Policy]] = {
        "label": lambda: LabelRulesPolicy(levels, scenario.lab_days, allow_delay=delay),
        "oracle": lambda: ChemoOraclePolicy(levels, scenario.label_dose_mg_per_m2,
                                            scenario.pk.infusion_h, scenario.cycle_days,
                                            allow_delay=delay),
        "fixed_100": lambda: FixedPercentPolicy(100.0, allow_delay=delay)}
    return factories[name]()


def _belief(scenario: Any, prior: str | None) -> Any:
    """The model MAP doses with (:func:`agents.policies.beliefs.prior_model`)."""
    from pkgym.envs.chemotherapy.clinic import MODELS

    return prior_model(scenario, prior, MODELS)