"""``pkgym/ChemoImmune-v0``: cytotoxic dosing against a tumour the immune system attacks.

One package per environment, the same rooms in every one: ``env`` (card and shells),
``core`` (the batched :class:`~pkgym.envs.base.DosingCore`), ``records`` (what the clinic
holds about each patient), ``clinic`` (scenario, reward, observation model) and ``views``
(text, figure, NONMEM-style dataset, outcome spec). ``SPECS`` is what
the registry (:mod:`pkgym.envs.registry`) knows about the env.
"""

from __future__ import annotations

from pkgym.envs.chemo_immune.clinic import ChemoImmuneScenario
from pkgym.envs.chemo_immune.core import ChemoImmuneCore
from pkgym.envs.chemo_immune.env import ENV_ID, ChemoImmuneEnv, ChemoImmuneVectorEnv
from pkgym.envs.chemo_immune.views import outcomes
from pkgym.envs.registry import EnvSpec

__all__ = ["ENV_ID", "SPECS", "ChemoImmuneEnv", "ChemoImmuneVectorEnv"]

# No oracle to normalise against: not benchmarked.
SPECS = (EnvSpec(
    env_id=ENV_ID, entry_point="pkgym.envs.chemo_immune.env:ChemoImmuneEnv",
    vector_entry_point="pkgym.envs.chemo_immune.env:ChemoImmuneVectorEnv",
    core_type=ChemoImmuneCore, outcomes=outcomes, scenario_type=ChemoImmuneScenario,
    baselines=("constant", "threshold"),
    baseline_factory="agents.policies.chemo_immune:make_baseline"),)
"""The spec(s) :mod:`pkgym.envs` registers."""
