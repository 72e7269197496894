"""``pkgym/ChemoImmune-v0``: cytotoxic dosing against a tumour the immune system attacks.

One package per environment, the same rooms in every one: ``env`` (card and shells),
``core`` (the batched :class:`~pkgym.envs.base.DosingCore`), ``records`` (what the clinic
holds about each patient), ``clinic`` (scenario, reward, observation model) and ``views``
(text, figure, NONMEM-style dataset).
"""

from pkgym.envs.chemo_immune.env import ENV_ID, ChemoImmuneEnv, ChemoImmuneVectorEnv

__all__ = ["ENV_ID", "ChemoImmuneEnv", "ChemoImmuneVectorEnv"]
