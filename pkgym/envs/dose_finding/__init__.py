"""``pkgym/DoseFinding-v0``: the agent as a phase I design.

One package per environment, the same rooms in every one: ``env`` (card and shells),
``core`` (the batched :class:`~pkgym.envs.base.DosingCore`), ``records`` (what the clinic
holds about each patient), ``clinic`` (scenario, reward, observation model) and ``views``
(text, figure, NONMEM-style dataset, outcome spec). ``SPECS`` is what
the registry (:mod:`pkgym.envs.registry`) knows about the env.
"""

from __future__ import annotations

from pkgym.envs.dose_finding.clinic import DoseFindingEnvScenario
from pkgym.envs.dose_finding.core import DoseFindingCore
from pkgym.envs.dose_finding.env import ENV_ID, DoseFindingEnv, DoseFindingVectorEnv
from pkgym.envs.dose_finding.views import outcomes
from pkgym.envs.registry import BenchmarkReference, EnvSpec

__all__ = ["ENV_ID", "SPECS", "DoseFindingEnv", "DoseFindingVectorEnv"]

# BOIN is the design most trials now use; the oracle is the nonparametric optimal benchmark.
SPECS = (EnvSpec(
    env_id=ENV_ID, entry_point="pkgym.envs.dose_finding.env:DoseFindingEnv",
    vector_entry_point="pkgym.envs.dose_finding.env:DoseFindingVectorEnv",
    core_type=DoseFindingCore, outcomes=outcomes, scenario_type=DoseFindingEnvScenario,
    baselines=("boin", "crm", "oracle"),
    baseline_factory="agents.policies.dose_finding:make_baseline",
    reference=BenchmarkReference("boin", "oracle", "correct_selection", ("crm",))),)
"""The spec(s) :mod:`pkgym.envs` registers."""
