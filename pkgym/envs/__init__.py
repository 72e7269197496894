"""Gymnasium environments, registered on ``import pkgym`` as ``pkgym/<Name>-v0``."""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

from pkgym.envs.addiction.clinic import AddictionScenario
from pkgym.envs.addiction.env import ENV_ID as ADDICTION_ID
from pkgym.envs.addiction.env import AddictionEnv, AddictionVectorEnv
from pkgym.envs.chemo_immune.clinic import ChemoImmuneScenario
from pkgym.envs.chemo_immune.env import ENV_ID as CHEMO_IMMUNE_ID
from pkgym.envs.chemo_immune.env import ChemoImmuneEnv, ChemoImmuneVectorEnv
from pkgym.envs.chemotherapy.clinic import ChemotherapyScenario
from pkgym.envs.chemotherapy.env import ENV_ID as CHEMOTHERAPY_ID
from pkgym.envs.chemotherapy.env import ChemotherapyEnv, ChemotherapyVectorEnv
from pkgym.envs.depression.clinic import DepressionScenario
from pkgym.envs.depression.env import ENV_ID as DEPRESSION_ID
from pkgym.envs.depression.env import DepressionEnv, DepressionVectorEnv
from pkgym.envs.dose_finding.clinic import DoseFindingEnvScenario
from pkgym.envs.dose_finding.env import ENV_ID as DOSE_FINDING_ID
from pkgym.envs.dose_finding.env import DoseFindingEnv, DoseFindingVectorEnv
from pkgym.envs.vancomycin.clinic import VancomycinScenario
from pkgym.envs.vancomycin.env import ENV_ID as VANCOMYCIN_ID
from pkgym.envs.vancomycin.env import VancomycinEnv, VancomycinVectorEnv
from pkgym.envs.warfarin.clinic import WarfarinScenario
from pkgym.envs.warfarin.env import ENV_ID as WARFARIN_ID
from pkgym.envs.warfarin.env import PGX_ENV_ID as WARFARIN_PGX_ID
from pkgym.envs.warfarin.env import (
    WarfarinEnv,
    WarfarinPGxEnv,
    WarfarinPGxVectorEnv,
    WarfarinVectorEnv,
)
from pkgym.scenarios import SCENARIO_TYPES

__all__ = ["VANCOMYCIN_ID", "WARFARIN_ID", "WARFARIN_PGX_ID", "VancomycinEnv",
           "VancomycinScenario", "VancomycinVectorEnv", "WarfarinEnv", "WarfarinPGxEnv",
           "WarfarinPGxVectorEnv", "WarfarinScenario", "WarfarinVectorEnv"]
__all__ += ["CHEMOTHERAPY_ID", "ChemotherapyEnv", "ChemotherapyScenario",
            "ChemotherapyVectorEnv"]
__all__ += ["CHEMO_IMMUNE_ID", "ChemoImmuneEnv", "ChemoImmuneScenario", "ChemoImmuneVectorEnv"]
__all__ += ["DEPRESSION_ID", "DepressionEnv", "DepressionScenario", "DepressionVectorEnv"]
__all__ += ["ADDICTION_ID", "AddictionEnv", "AddictionScenario", "AddictionVectorEnv"]
__all__ += ["DOSE_FINDING_ID", "DoseFindingEnv", "DoseFindingEnvScenario",
            "DoseFindingVectorEnv"]

SCENARIO_TYPES[VANCOMYCIN_ID] = VancomycinScenario
SCENARIO_TYPES[WARFARIN_ID] = WarfarinScenario
SCENARIO_TYPES[WARFARIN_PGX_ID] = WarfarinScenario
SCENARIO_TYPES[CHEMO_IMMUNE_ID] = ChemoImmuneScenario
SCENARIO_TYPES[CHEMOTHERAPY_ID] = ChemotherapyScenario
SCENARIO_TYPES[ADDICTION_ID] = AddictionScenario
SCENARIO_TYPES[DEPRESSION_ID] = DepressionScenario
SCENARIO_TYPES[DOSE_FINDING_ID] = DoseFindingEnvScenario

# No TimeLimit: the horizon comes from the scenario and each env truncates itself.
_ENTRY_POINTS = {
    VANCOMYCIN_ID: ("pkgym.envs.vancomycin.env", "VancomycinEnv", "VancomycinVectorEnv"),
    WARFARIN_ID: ("pkgym.envs.warfarin.env", "WarfarinEnv", "WarfarinVectorEnv"),
    WARFARIN_PGX_ID: ("pkgym.envs.warfarin.env", "WarfarinPGxEnv", "WarfarinPGxVectorEnv"),
    CHEMOTHERAPY_ID: ("pkgym.envs.chemotherapy.env", "ChemotherapyEnv", "ChemotherapyVectorEnv"),
    CHEMO_IMMUNE_ID: ("pkgym.envs.chemo_immune.env", "ChemoImmuneEnv", "ChemoImmuneVectorEnv"),
    ADDICTION_ID: ("pkgym.envs.addiction.env", "AddictionEnv", "AddictionVectorEnv"),
    DEPRESSION_ID: ("pkgym.envs.depression.env", "DepressionEnv", "DepressionVectorEnv"),
    DOSE_FINDING_ID: ("pkgym.envs.dose_finding.env", "DoseFindingEnv", "DoseFindingVectorEnv"),
}
for _id, (_module, _single, _vector) in _ENTRY_POINTS.items():
    if _id not in registry:
        register(id=_id, entry_point=f"{_module}:{_single}",
                 vector_entry_point=f"{_module}:{_vector}", max_episode_steps=None)
