"""``pkgym/DoseFindingEffTox-v0`` policies: BOIN12, toxicity-only BOIN and the oracle."""

from __future__ import annotations

from typing import Any

from pkgym.envs.dose_finding_efftox import ENV_ID
from pkgym.envs.registry import env_spec
from pkgym.evaluation.policy import Policy

BASELINES = env_spec(ENV_ID).baselines
"""The baseline names :func:`make_baseline` builds (the env's registry entry lists them)."""


def make_baseline(name: str, core: Any, **options: str) -> Policy:
    """BOIN12 (with ``boin12:key=value`` options), BOIN or the oracle, for the env's trials."""
    from agents.policies.dose_finding_efftox.baselines import efftox_baseline

    return efftox_baseline(name, core.settings, **options)
