"""Warfarin dosing policies: baselines, and MAP dosing and oracles where the drug has them."""

from __future__ import annotations

from typing import Any

from agents.policies.beliefs import prior_model
from pkgym.envs.registry import env_spec
from pkgym.envs.warfarin import ENV_ID
from pkgym.evaluation.policy import Policy

BASELINES = env_spec(ENV_ID).baselines
"""The baseline names :func:`make_baseline` builds (the env's registry entry lists them)."""


def make_baseline(name: str, core: Any, *, prior: str | None = None) -> Policy:
    """A warfarin baseline built for the env's model, dose levels and test-day choice.

    ``prior`` (``map`` only: ``map:prior=NAME``) is the model the MAP policy believes, one of
    the scenario models (``hamberg2010``, ``hamberg2007``, ``hamberg2010_iwpc``); the patients
    stay the scenario's (the truth). The policy is then named ``map_bayesian[prior=NAME]``;
    naming the scenario's own model gives the same policy as plain ``map``.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> core = gym.make("pkgym/Warfarin-v1").unwrapped.core
        >>> make_baseline("map", core, prior="hamberg2007").name
        'map_bayesian[prior=hamberg2007]'
    """
    from agents.policies.warfarin.map import WarfarinMapPolicy
    from agents.policies.warfarin.mpc import WarfarinOraclePolicy
    from agents.policies.warfarin.protocols import ravvaz_arms

    settings = core.settings
    scenario, chooses = settings.scenario, settings.chooses_test_days
    target = sum(scenario.target_inr) / 2.0
    if prior is not None and name != "map":
        raise ValueError(f"{name!r} takes no prior: only 'map' doses with a model")
    if name == "map":
        policy = WarfarinMapPolicy(_belief(scenario, prior), core.dose_levels_mg,
                                   target_inr=target, inr_log_sd=max(scenario.assay_log_sd, 0.02),
                                   test_every_days=7 if chooses else None)
        if prior is not None:
            policy.name = f"{policy.name}[prior={prior}]"
        policy.belief_name = scenario.model if prior is None else prior
        return policy
    if name == "oracle":
        return WarfarinOraclePolicy(scenario.hamberg.structure, core.dose_levels_mg,
                                    target_inr=target, test_every_days=28 if chooses else None)
    arms = ravvaz_arms(chooses, include_pharmacogenetic=settings.genotype_guided)
    if name not in arms:
        raise ValueError(f"{name!r} reads the genotype: use pkgym/WarfarinPGx-v0 (available "
                         f"here: {sorted(arms)})")
    return arms[name]


def _belief(scenario: Any, prior: str | None) -> Any:
    """The model MAP doses with (:func:`agents.policies.beliefs.prior_model`)."""
    from pkgym.envs.warfarin.clinic import MODELS

    return prior_model(scenario, prior, MODELS)