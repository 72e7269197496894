"""``pkgym/Mycophenolate-v0``: concentration-controlled MMF after kidney transplantation.

One package per environment, the same rooms in every one: ``env`` (card and shells),
``core`` (the batched :class:`~pkgym.envs.base.DosingCore`), ``records`` (what the clinic
holds about each patient), ``clinic`` (scenario, reward, observation model) and ``views``
(info, text, figure, NONMEM-style dataset, outcome spec, history and exposure adapters).
``SPECS`` is what the registry (:mod:`pkgym.envs.registry`) knows about the env.
"""

from __future__ import annotations

from pkgym.envs.mycophenolate.clinic import MycophenolateScenario
from pkgym.envs.mycophenolate.core import MycophenolateCore
from pkgym.envs.mycophenolate.env import ENV_ID, MycophenolateEnv, MycophenolateVectorEnv
from pkgym.envs.mycophenolate.records import COHORT_SCHEMA
from pkgym.envs.mycophenolate.views import EXPOSURE, HISTORY, outcomes
from pkgym.envs.registry import BenchmarkReference, EnvSpec

__all__ = ["ENV_ID", "SPECS", "MycophenolateEnv", "MycophenolateScenario",
           "MycophenolateVectorEnv"]

SPECS = (EnvSpec(
    env_id=ENV_ID, entry_point="pkgym.envs.mycophenolate.env:MycophenolateEnv",
    vector_entry_point="pkgym.envs.mycophenolate.env:MycophenolateVectorEnv",
    core_type=MycophenolateCore, outcomes=outcomes, scenario_type=MycophenolateScenario,
    cohort_schema=COHORT_SCHEMA,
    baselines=("fixed", "protocol", "map", "map_no_ehc", "vae", "oracle"),
    baseline_factory="agents.policies.mycophenolate:make_baseline",
    reference=BenchmarkReference("fixed", "oracle", "days_in_target_fraction",
                                 ("protocol", "map")),
    history=HISTORY, exposure=EXPOSURE, agent_hooks="agents.policies.mycophenolate.hooks"),)
"""The spec(s) :mod:`pkgym.envs` registers."""
