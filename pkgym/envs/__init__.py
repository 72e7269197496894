"""Gymnasium environments, registered on ``import pkgym`` as ``pkgym/<Name>-v0``."""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

from pkgym.envs.vancomycin import ENV_ID as VANCOMYCIN_ID
from pkgym.envs.vancomycin import VancomycinEnv, VancomycinVectorEnv
from pkgym.envs.vancomycin_ward import VancomycinScenario
from pkgym.scenarios import SCENARIO_TYPES

__all__ = ["VANCOMYCIN_ID", "VancomycinEnv", "VancomycinScenario", "VancomycinVectorEnv"]

SCENARIO_TYPES[VANCOMYCIN_ID] = VancomycinScenario

if VANCOMYCIN_ID not in registry:
    # No TimeLimit: the horizon comes from the scenario and the env truncates itself.
    register(id=VANCOMYCIN_ID, entry_point="pkgym.envs.vancomycin:VancomycinEnv",
             vector_entry_point="pkgym.envs.vancomycin:VancomycinVectorEnv",
             max_episode_steps=None)
