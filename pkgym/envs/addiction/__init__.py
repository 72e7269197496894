"""``pkgym/Addiction-v0``: substance use with a TD-learning patient.

One package per environment, the same rooms in every one: ``env`` (card and shells),
``core`` (the batched :class:`~pkgym.envs.base.DosingCore`), ``records`` (what the clinic
holds about each patient), ``clinic`` (scenario, reward, observation model) and ``views``
(text, figure, NONMEM-style dataset, outcome spec). ``SPECS`` is what
the registry (:mod:`pkgym.envs.registry`) knows about the env.
"""

from __future__ import annotations

from pkgym.envs.addiction.clinic import AddictionScenario
from pkgym.envs.addiction.core import AddictionCore
from pkgym.envs.addiction.env import ENV_ID, AddictionEnv, AddictionVectorEnv
from pkgym.envs.addiction.views import outcomes
from pkgym.envs.registry import BenchmarkReference, EnvSpec

__all__ = ["ENV_ID", "SPECS", "AddictionEnv", "AddictionVectorEnv"]

SPECS = (EnvSpec(
    env_id=ENV_ID, entry_point="pkgym.envs.addiction.env:AddictionEnv",
    vector_entry_point="pkgym.envs.addiction.env:AddictionVectorEnv",
    core_type=AddictionCore, outcomes=outcomes, scenario_type=AddictionScenario,
    baselines=("none", "naltrexone_50mg", "stepped_care", "oracle"),
    baseline_factory="agents.policies.addiction:make_baseline",
    reference=BenchmarkReference("naltrexone_50mg", "oracle", "abstinent_days_fraction",
                                 ("none", "stepped_care"))),)
"""The spec(s) :mod:`pkgym.envs` registers."""
