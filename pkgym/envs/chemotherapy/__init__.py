"""``pkgym/Chemotherapy-v0``: docetaxel every three weeks.

One package per environment, the same rooms in every one: ``env`` (card and shells),
``core`` (the batched :class:`~pkgym.envs.base.DosingCore`), ``records`` (what the clinic
holds about each patient), ``clinic`` (scenario, reward, observation model) and ``views``
(text, figure, NONMEM-style dataset, outcome spec). ``SPECS`` is what
the registry (:mod:`pkgym.envs.registry`) knows about the env.
"""

from __future__ import annotations

from pkgym.envs.chemotherapy.clinic import ChemotherapyScenario
from pkgym.envs.chemotherapy.core import ChemotherapyCore
from pkgym.envs.chemotherapy.env import ENV_ID, ChemotherapyEnv, ChemotherapyVectorEnv
from pkgym.envs.chemotherapy.views import outcomes
from pkgym.envs.registry import BenchmarkReference, EnvSpec
from pkgym.populations.chemotherapy import CHEMOTHERAPY_COHORT_SCHEMA

__all__ = ["ENV_ID", "SPECS", "ChemotherapyEnv", "ChemotherapyVectorEnv"]

SPECS = (EnvSpec(
    env_id=ENV_ID, entry_point="pkgym.envs.chemotherapy.env:ChemotherapyEnv",
    vector_entry_point="pkgym.envs.chemotherapy.env:ChemotherapyVectorEnv",
    core_type=ChemotherapyCore, outcomes=outcomes, scenario_type=ChemotherapyScenario,
    cohort_schema=CHEMOTHERAPY_COHORT_SCHEMA,
    baselines=("label", "map", "oracle", "fixed_100"),
    baseline_factory="agents.policies.chemotherapy:make_baseline",
    agent_hooks="agents.policies.chemotherapy.hooks",
    reference=BenchmarkReference("label", "oracle", "final_sld_relative", ("fixed_100", "map"))),)
"""The spec(s) :mod:`pkgym.envs` registers."""
