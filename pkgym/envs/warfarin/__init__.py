"""``pkgym/Warfarin-v0`` and ``pkgym/WarfarinPGx-v0``: warfarin initiation and maintenance.

One package per environment, the same rooms in every one: ``env`` (card and shells),
``core`` (the batched :class:`~pkgym.envs.base.DosingCore`), ``records`` (what the clinic
holds about each patient), ``clinic`` (scenario, reward, observation model) and ``views``
(text, figure, NONMEM-style dataset, outcome spec). ``SPECS`` is what
the registry (:mod:`pkgym.envs.registry`) knows about the env.
"""

from __future__ import annotations

from typing import Any

from pkgym.envs.registry import BenchmarkReference, EnvSpec
from pkgym.envs.warfarin.clinic import WarfarinScenario
from pkgym.envs.warfarin.core import WarfarinCore
from pkgym.envs.warfarin.env import (
    ENV_ID,
    PGX_ENV_ID,
    WarfarinEnv,
    WarfarinPGxEnv,
    WarfarinPGxVectorEnv,
    WarfarinVectorEnv,
)
from pkgym.envs.warfarin.views import EXPOSURE, HISTORY, outcomes
from pkgym.populations.warfarin import WARFARIN_COHORT_SCHEMA

__all__ = ["ENV_ID", "PGX_ENV_ID", "SPECS", "WarfarinEnv", "WarfarinPGxEnv",
           "WarfarinPGxVectorEnv", "WarfarinVectorEnv"]

BASELINES = ("fixed_5mg", "aurora", "iwpc_clinical+aurora", "iwpc_pgx+aurora",
             "iwpc_clinical+intermountain", "iwpc_pgx+intermountain",
             "eupact_pgx+aurora", "eupact_pgx+intermountain", "map", "oracle")
"""Both envs' baselines; the genotype-reading arms refuse ``pkgym/Warfarin-v0``."""


def _reads_genotype(core: Any) -> bool:
    """Whether the clinic reads the genotype: the core of ``pkgym/WarfarinPGx-v0``."""
    return bool(core.settings.genotype_guided)


def _blind_to_genotype(core: Any) -> bool:
    """Whether the clinic does not read the genotype: the core of ``pkgym/Warfarin-v0``."""
    return not core.settings.genotype_guided


def _spec(env_id: str, classes: str, pgx: bool, arm: str) -> EnvSpec:
    """One of the two envs sharing :class:`WarfarinCore`, told apart by the genotype."""
    # The warfarin label says start 2-5 mg and adjust to the INR; Aurora is that adjustment
    # written as a nomogram.
    return EnvSpec(
        env_id=env_id, entry_point=f"pkgym.envs.warfarin.env:{classes}Env",
        vector_entry_point=f"pkgym.envs.warfarin.env:{classes}VectorEnv",
        core_type=WarfarinCore, outcomes=outcomes, scenario_type=WarfarinScenario,
        cohort_schema=WARFARIN_COHORT_SCHEMA, baselines=BASELINES,
        baseline_factory="agents.policies.warfarin:make_baseline",
        reference=BenchmarkReference("aurora", "oracle", "time_in_therapeutic_range",
                                     ("fixed_5mg", arm, "map")),
        history=HISTORY, exposure=EXPOSURE, agent_hooks="agents.policies.warfarin.hooks",
        accepts=_reads_genotype if pgx else _blind_to_genotype)


SPECS = (_spec(ENV_ID, "Warfarin", False, "iwpc_clinical+aurora"),
         _spec(PGX_ENV_ID, "WarfarinPGx", True, "iwpc_pgx+aurora"))
"""The specs :mod:`pkgym.envs` registers."""
