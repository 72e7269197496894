"""Warfarin dosing policies: baselines, and MAP dosing and oracles where the drug has them."""

from __future__ import annotations

from typing import Any

from pkgym.envs.registry import env_spec
from pkgym.envs.warfarin import ENV_ID
from pkgym.evaluation.policy import Policy

BASELINES = env_spec(ENV_ID).baselines
"""The baseline names :func:`make_baseline` builds (the env's registry entry lists them)."""


def make_baseline(name: str, core: Any) -> Policy:
    """A warfarin baseline built for the env's model, dose levels and test-day choice."""
    from agents.policies.warfarin.map import WarfarinMapPolicy
    from agents.policies.warfarin.mpc import WarfarinOraclePolicy
    from agents.policies.warfarin.protocols import ravvaz_arms

    settings = core.settings
    scenario, chooses = settings.scenario, settings.chooses_test_days
    target = sum(scenario.target_inr) / 2.0
    if name == "map":
        return WarfarinMapPolicy(scenario.hamberg, core.dose_levels_mg, target_inr=target,
                                 inr_log_sd=max(scenario.assay_log_sd, 0.02),
                                 test_every_days=7 if chooses else None)
    if name == "oracle":
        return WarfarinOraclePolicy(scenario.hamberg.structure, core.dose_levels_mg,
                                    target_inr=target, test_every_days=28 if chooses else None)
    arms = ravvaz_arms(chooses, include_pharmacogenetic=settings.genotype_guided)
    if name not in arms:
        raise ValueError(f"{name!r} reads the genotype: use pkgym/WarfarinPGx-v0 (available "
                         f"here: {sorted(arms)})")
    return arms[name]
