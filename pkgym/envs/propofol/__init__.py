"""``pkgym/Propofol-v0``: propofol infusion to a BIS of 40-60 (Eleveld 2018 truth).

One package per environment, the same rooms in every one: ``env`` (card and shells),
``core`` (the batched :class:`~pkgym.envs.base.DosingCore`), ``records`` (what the theatre
holds about each patient), ``clinic`` (scenario, reward, observation model) and ``views``
(info, text, figure, NONMEM-style dataset, outcome spec). ``SPECS`` is what the registry
(:mod:`pkgym.envs.registry`) knows about the env.
"""

from __future__ import annotations

from pkgym.envs.propofol.clinic import PropofolScenario
from pkgym.envs.propofol.core import PropofolCore
from pkgym.envs.propofol.env import ENV_ID, PropofolEnv, PropofolVectorEnv
from pkgym.envs.propofol.records import COHORT_SCHEMA
from pkgym.envs.propofol.views import outcomes
from pkgym.envs.registry import BenchmarkReference, EnvSpec

__all__ = ["ENV_ID", "SPECS", "PropofolEnv", "PropofolScenario", "PropofolVectorEnv"]

SPECS = (EnvSpec(
    env_id=ENV_ID, entry_point="pkgym.envs.propofol.env:PropofolEnv",
    vector_entry_point="pkgym.envs.propofol.env:PropofolVectorEnv",
    core_type=PropofolCore, outcomes=outcomes, scenario_type=PropofolScenario,
    cohort_schema=COHORT_SCHEMA,
    baselines=("tci_marsh", "tci_schnider", "tci_eleveld", "tci_marsh_titrated",
               "tci_schnider_titrated", "tci_eleveld_titrated", "pid", "map", "oracle"),
    baseline_factory="agents.policies.propofol:make_baseline",
    reference=BenchmarkReference("tci_schnider", "oracle", "time_in_range_fraction",
                                 ("tci_marsh", "tci_eleveld", "tci_eleveld_titrated", "pid",
                                  "map"))),)
"""The spec(s) :mod:`pkgym.envs` registers."""
