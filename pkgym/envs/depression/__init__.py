"""``pkgym/Depression-v0``: escitalopram for major depression.

One package per environment, the same rooms in every one: ``env`` (card and shells),
``core`` (the batched :class:`~pkgym.envs.base.DosingCore`), ``records`` (what the clinic
holds about each patient), ``clinic`` (scenario, reward, observation model) and ``views``
(text, figure, NONMEM-style dataset).
"""

from pkgym.envs.depression.env import ENV_ID, DepressionEnv, DepressionVectorEnv

__all__ = ["ENV_ID", "DepressionEnv", "DepressionVectorEnv"]
