"""``pkgym/Heparin-v0``: unfractionated heparin titrated to the aPTT (Al-Sallami 2016 truth).

One package per environment, the same rooms in every one: ``env`` (card and shells),
``core`` (the batched :class:`~pkgym.envs.base.DosingCore`), ``records`` (what the ward holds
about each patient, and the interval's physics), ``clinic`` (scenario, reward, observation
model) and ``views`` (info, text, figure, NONMEM-style dataset, outcome spec, history and
exposure adapters). ``SPECS`` is what the registry (:mod:`pkgym.envs.registry`) knows about
the env.
"""

from __future__ import annotations

from pkgym.envs.heparin.clinic import HeparinScenario
from pkgym.envs.heparin.core import HeparinCore
from pkgym.envs.heparin.env import ENV_ID, HeparinEnv, HeparinVectorEnv
from pkgym.envs.heparin.records import COHORT_SCHEMA
from pkgym.envs.heparin.views import EXPOSURE, HISTORY, outcomes
from pkgym.envs.registry import BenchmarkReference, EnvSpec

__all__ = ["ENV_ID", "SPECS", "HeparinEnv", "HeparinScenario", "HeparinVectorEnv"]

SPECS = (EnvSpec(
    env_id=ENV_ID, entry_point="pkgym.envs.heparin.env:HeparinEnv",
    vector_entry_point="pkgym.envs.heparin.env:HeparinVectorEnv",
    core_type=HeparinCore, outcomes=outcomes, scenario_type=HeparinScenario,
    cohort_schema=COHORT_SCHEMA, baselines=("raschke", "fixed", "map", "oracle"),
    baseline_factory="agents.policies.heparin:make_baseline",
    reference=BenchmarkReference("raschke", "oracle", "time_in_range_fraction",
                                 ("fixed", "map")),
    history=HISTORY, exposure=EXPOSURE, agent_hooks="agents.policies.heparin.hooks"),)
"""The spec(s) :mod:`pkgym.envs` registers."""
