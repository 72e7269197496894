"""Dose finding dosing policies: baselines, and MAP dosing and oracles where the drug has them."""

from __future__ import annotations

from typing import Any

from pkgym.envs.dose_finding import ENV_ID
from pkgym.envs.registry import env_spec
from pkgym.evaluation.policy import Policy

BASELINES = env_spec(ENV_ID).baselines
"""The baseline names :func:`make_baseline` builds (the env's registry entry lists them)."""


def make_baseline(name: str, core: Any) -> Policy:
    """BOIN or CRM acting as the ``pkgym/DoseFinding-v0`` policy, for the env's trial size."""
    from agents.policies.dose_finding.baselines import dose_finding_baseline

    return dose_finding_baseline(name, core.settings)
