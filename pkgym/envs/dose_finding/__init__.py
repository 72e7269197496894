"""``pkgym/DoseFinding-v0``: the agent as a phase I design.

One package per environment, the same rooms in every one: ``env`` (card and shells),
``core`` (the batched :class:`~pkgym.envs.base.DosingCore`), ``records`` (what the clinic
holds about each patient), ``clinic`` (scenario, reward, observation model) and ``views``
(text, figure, NONMEM-style dataset).
"""

from pkgym.envs.dose_finding.env import ENV_ID, DoseFindingEnv, DoseFindingVectorEnv

__all__ = ["ENV_ID", "DoseFindingEnv", "DoseFindingVectorEnv"]
