"""``pkgym/Addiction-v0``: substance use with a TD-learning patient.

One package per environment, the same rooms in every one: ``env`` (card and shells),
``core`` (the batched :class:`~pkgym.envs.base.DosingCore`), ``records`` (what the clinic
holds about each patient), ``clinic`` (scenario, reward, observation model) and ``views``
(text, figure, NONMEM-style dataset).
"""

from pkgym.envs.addiction.env import ENV_ID, AddictionEnv, AddictionVectorEnv

__all__ = ["ENV_ID", "AddictionEnv", "AddictionVectorEnv"]
