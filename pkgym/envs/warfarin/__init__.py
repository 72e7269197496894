"""``pkgym/Warfarin-v0``, ``WarfarinPGx-v0`` and their v1 twins: starting and keeping warfarin.

One package per environment, the same rooms in every one: ``env`` (card and shells),
``core`` (the batched :class:`~pkgym.envs.base.DosingCore`), ``records`` (what the clinic
holds about each patient), ``clinic`` (scenario, reward, observation model) and ``views``
(text, figure, NONMEM-style dataset, outcome spec). ``SPECS`` is what
the registry (:mod:`pkgym.envs.registry`) knows about the env.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pkgym.envs.registry import BenchmarkReference, EnvSpec
from pkgym.envs.warfarin.clinic import WarfarinScenario, WarfarinScenarioV1
from pkgym.envs.warfarin.core import WarfarinCore
from pkgym.envs.warfarin.env import (
    ENV_ID,
    ENV_ID_V1,
    PGX_ENV_ID,
    PGX_ENV_ID_V1,
    WarfarinEnv,
    WarfarinPGxEnv,
    WarfarinPGxVectorEnv,
    WarfarinVectorEnv,
)
from pkgym.envs.warfarin.views import EXPOSURE, HISTORY, outcomes
from pkgym.populations.warfarin import WARFARIN_COHORT_SCHEMA

__all__ = ["ENV_ID", "ENV_ID_V1", "PGX_ENV_ID", "PGX_ENV_ID_V1", "SPECS", "WarfarinEnv",
           "WarfarinPGxEnv", "WarfarinPGxVectorEnv", "WarfarinVectorEnv"]

BASELINES = ("fixed_5mg", "aurora", "iwpc_clinical+aurora", "iwpc_pgx+aurora",
             "iwpc_clinical+intermountain", "iwpc_pgx+intermountain",
             "eupact_pgx+aurora", "eupact_pgx+intermountain", "map", "oracle")
"""The envs' baselines; the genotype-reading arms refuse ``pkgym/Warfarin-v0`` and ``-v1``."""


def _accepts(pgx: bool, scenario_type: type[WarfarinScenario]) -> Callable[[Any], bool]:
    """Whether a core is this spec's: genotype observed or not, and the scenario's version."""

    def accepts(core: Any) -> bool:
        settings = core.settings
        return bool(settings.genotype_guided) == pgx and type(settings.scenario) is scenario_type

    return accepts


def _spec(env_id: str, classes: str, pgx: bool, arm: str,
          scenario_type: type[WarfarinScenario] = WarfarinScenario) -> EnvSpec:
    """One of the four envs sharing :class:`WarfarinCore`, told apart by genotype and version."""
    # The warfarin label says start 2-5 mg and adjust to the INR; Aurora is that adjustment
    # written as a nomogram.
    return EnvSpec(
        env_id=env_id, entry_point=f"pkgym.envs.warfarin.env:{classes}Env",
        vector_entry_point=f"pkgym.envs.warfarin.env:{classes}VectorEnv",
        core_type=WarfarinCore, outcomes=outcomes, scenario_type=scenario_type,
        cohort_schema=WARFARIN_COHORT_SCHEMA, baselines=BASELINES,
        baseline_factory="agents.policies.warfarin:make_baseline",
        reference=BenchmarkReference("aurora", "oracle", "time_in_therapeutic_range",
                                     ("fixed_5mg", arm, "map")),
        history=HISTORY, exposure=EXPOSURE, agent_hooks="agents.policies.warfarin.hooks",
        accepts=_accepts(pgx, scenario_type))


SPECS = (_spec(ENV_ID, "Warfarin", False, "iwpc_clinical+aurora"),
         _spec(PGX_ENV_ID, "WarfarinPGx", True, "iwpc_pgx+aurora"),
         _spec(ENV_ID_V1, "WarfarinV1", False, "iwpc_clinical+aurora", WarfarinScenarioV1),
         _spec(PGX_ENV_ID_V1, "WarfarinPGxV1", True, "iwpc_pgx+aurora", WarfarinScenarioV1))
"""The specs :mod:`pkgym.envs` registers."""
