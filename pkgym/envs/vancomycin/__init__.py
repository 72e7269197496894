"""``pkgym/Vancomycin-v0``: AUC-guided vancomycin dosing.

One package per environment, the same rooms in every one: ``env`` (card and shells),
``core`` (the batched :class:`~pkgym.envs.base.DosingCore`), ``records`` (what the clinic
holds about each patient), ``clinic`` (scenario, reward, observation model) and ``views``
(text, figure, NONMEM-style dataset).
"""

from pkgym.envs.vancomycin.env import ENV_ID, VancomycinEnv, VancomycinVectorEnv

__all__ = ["ENV_ID", "VancomycinEnv", "VancomycinVectorEnv"]
