"""``pkgym/Warfarin-v0`` and ``pkgym/WarfarinPGx-v0``: warfarin initiation and maintenance.

One package per environment, the same rooms in every one: ``env`` (card and shells),
``core`` (the batched :class:`~pkgym.envs.base.DosingCore`), ``records`` (what the clinic
holds about each patient), ``clinic`` (scenario, reward, observation model) and ``views``
(text, figure, NONMEM-style dataset).
"""

from pkgym.envs.warfarin.env import (
    ENV_ID,
    PGX_ENV_ID,
    WarfarinEnv,
    WarfarinPGxEnv,
    WarfarinPGxVectorEnv,
    WarfarinVectorEnv,
)

__all__ = ["ENV_ID", "PGX_ENV_ID", "WarfarinEnv", "WarfarinPGxEnv", "WarfarinPGxVectorEnv",
           "WarfarinVectorEnv"]
