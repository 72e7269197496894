"""``pkgym/Insulin-v0``: insulin pump dosing in type 1 diabetes (UVA/Padova or Hovorka truth).

One package per environment, the same rooms in every one: ``env`` (card and shells),
``core`` (the batched :class:`~pkgym.envs.base.DosingCore`), ``records`` (what the clinic
holds about each patient, and the truths' adapters), ``clinic`` (scenario, meals, risk,
reward, observation model) and ``views`` (info, text, figure, NONMEM-style dataset, outcome
spec). ``SPECS`` is what the registry (:mod:`pkgym.envs.registry`) knows about the env.
"""

from __future__ import annotations

from pkgym.envs.insulin.clinic import InsulinScenario
from pkgym.envs.insulin.core import InsulinCore
from pkgym.envs.insulin.env import ENV_ID, InsulinEnv, InsulinVectorEnv
from pkgym.envs.insulin.records import COHORT_SCHEMA
from pkgym.envs.insulin.views import outcomes
from pkgym.envs.registry import BenchmarkReference, EnvSpec

__all__ = ["ENV_ID", "SPECS", "InsulinEnv", "InsulinScenario", "InsulinVectorEnv"]

SPECS = (EnvSpec(
    env_id=ENV_ID, entry_point="pkgym.envs.insulin.env:InsulinEnv",
    vector_entry_point="pkgym.envs.insulin.env:InsulinVectorEnv",
    core_type=InsulinCore, outcomes=outcomes, scenario_type=InsulinScenario,
    cohort_schema=COHORT_SCHEMA, baselines=("basal_bolus", "pid", "map", "oracle"),
    baseline_factory="agents.policies.insulin:make_baseline",
    reference=BenchmarkReference("basal_bolus", "oracle", "time_in_range_fraction",
                                 ("pid", "map"))),)
"""The spec(s) :mod:`pkgym.envs` registers."""
