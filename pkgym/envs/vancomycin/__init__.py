"""``pkgym/Vancomycin-v0``: AUC-guided vancomycin dosing.

One package per environment, the same rooms in every one: ``env`` (card and shells),
``core`` (the batched :class:`~pkgym.envs.base.DosingCore`), ``records`` (what the clinic
holds about each patient), ``clinic`` (scenario, reward, observation model) and ``views``
(text, figure, NONMEM-style dataset, outcome spec). ``SPECS`` is what
the registry (:mod:`pkgym.envs.registry`) knows about the env.
"""

from __future__ import annotations

from pkgym.envs.registry import BenchmarkReference, EnvSpec
from pkgym.envs.vancomycin.clinic import VancomycinScenario
from pkgym.envs.vancomycin.core import VancomycinCore
from pkgym.envs.vancomycin.env import ENV_ID, VancomycinEnv, VancomycinVectorEnv
from pkgym.envs.vancomycin.views import EXPOSURE, HISTORY, outcomes
from pkgym.populations.vancomycin import VANCOMYCIN_COHORT_SCHEMA

__all__ = ["ENV_ID", "SPECS", "VancomycinEnv", "VancomycinVectorEnv"]

SPECS = (EnvSpec(
    env_id=ENV_ID, entry_point="pkgym.envs.vancomycin.env:VancomycinEnv",
    vector_entry_point="pkgym.envs.vancomycin.env:VancomycinVectorEnv",
    core_type=VancomycinCore, outcomes=outcomes, scenario_type=VancomycinScenario,
    cohort_schema=VANCOMYCIN_COHORT_SCHEMA,
    baselines=("label", "trough", "map", "oracle"),
    baseline_factory="agents.policies.vancomycin:make_baseline",
    reference=BenchmarkReference("label", "oracle", "in_target_range_fraction", ("trough", "map")),
    history=HISTORY, exposure=EXPOSURE, agent_hooks="agents.policies.vancomycin.hooks"),)
"""The spec(s) :mod:`pkgym.envs` registers."""
