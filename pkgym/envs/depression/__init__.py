"""``pkgym/Depression-v0``: escitalopram for major depression.

One package per environment, the same rooms in every one: ``env`` (card and shells),
``core`` (the batched :class:`~pkgym.envs.base.DosingCore`), ``records`` (what the clinic
holds about each patient), ``clinic`` (scenario, reward, observation model) and ``views``
(text, figure, NONMEM-style dataset, outcome spec). ``SPECS`` is what
the registry (:mod:`pkgym.envs.registry`) knows about the env.
"""

from __future__ import annotations

from pkgym.envs.depression.clinic import DepressionScenario
from pkgym.envs.depression.core import DepressionCore
from pkgym.envs.depression.env import ENV_ID, DepressionEnv, DepressionVectorEnv
from pkgym.envs.depression.views import outcomes
from pkgym.envs.registry import BenchmarkReference, EnvSpec

__all__ = ["ENV_ID", "SPECS", "DepressionEnv", "DepressionVectorEnv"]

SPECS = (EnvSpec(
    env_id=ENV_ID, entry_point="pkgym.envs.depression.env:DepressionEnv",
    vector_entry_point="pkgym.envs.depression.env:DepressionVectorEnv",
    core_type=DepressionCore, outcomes=outcomes, scenario_type=DepressionScenario,
    baselines=("none", "fixed", "stepped_care", "oracle"),
    baseline_factory="agents.policies.depression:make_baseline",
    reference=BenchmarkReference("fixed", "oracle", "remission", ("none", "stepped_care"))),)
"""The spec(s) :mod:`pkgym.envs` registers."""
