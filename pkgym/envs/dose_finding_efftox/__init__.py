"""``pkgym/DoseFindingEffTox-v0``: the agent as a phase I/II design (efficacy and toxicity).

The efficacy-toxicity variant of ``pkgym/DoseFinding-v0``, in the same rooms: ``env`` (card
and shells), ``core`` (the batched :class:`~pkgym.envs.base.DosingCore`), ``records`` (what
the trial team holds), ``clinic`` (scenario, reward, observation model) and ``views`` (text,
figure, NONMEM-style dataset, outcome spec). ``SPECS`` is what the registry knows about it.
"""

from __future__ import annotations

from pkgym.envs.dose_finding_efftox.clinic import DoseFindingEffToxScenario
from pkgym.envs.dose_finding_efftox.core import DoseFindingEffToxCore
from pkgym.envs.dose_finding_efftox.env import (
    ENV_ID,
    DoseFindingEffToxEnv,
    DoseFindingEffToxVectorEnv,
)
from pkgym.envs.dose_finding_efftox.views import outcomes
from pkgym.envs.registry import BenchmarkReference, EnvSpec

__all__ = ["ENV_ID", "SPECS", "DoseFindingEffToxEnv", "DoseFindingEffToxVectorEnv"]

# BOIN12 is the phase I/II design; toxicity-only BOIN is the benchmark's 0 (it ignores
# efficacy); the oracle reads the truth table.
SPECS = (EnvSpec(
    env_id=ENV_ID, entry_point="pkgym.envs.dose_finding_efftox.env:DoseFindingEffToxEnv",
    vector_entry_point="pkgym.envs.dose_finding_efftox.env:DoseFindingEffToxVectorEnv",
    core_type=DoseFindingEffToxCore, outcomes=outcomes,
    scenario_type=DoseFindingEffToxScenario, baselines=("boin12", "boin", "oracle"),
    baseline_factory="agents.policies.dose_finding_efftox:make_baseline",
    reference=BenchmarkReference("boin", "oracle", "relative_utility", ("boin12",))),)
"""The spec(s) :mod:`pkgym.envs` registers."""
