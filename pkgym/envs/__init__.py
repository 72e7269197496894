"""Gymnasium environments, registered on ``import pkgym`` as ``pkgym/<Name>-v0``.

Each env package declares its :class:`~pkgym.envs.registry.EnvSpec` (``SPECS``); this module
only registers them (:func:`~pkgym.envs.registry.register_env`), in a fixed order.
"""

from __future__ import annotations

from pkgym.envs import (
    addiction,
    chemo_immune,
    chemotherapy,
    depression,
    dose_finding,
    dose_finding_efftox,
    heparin,
    insulin,
    mycophenolate,
    propofol,
    vancomycin,
    warfarin,
)
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
from pkgym.envs.dose_finding_efftox.clinic import DoseFindingEffToxScenario
from pkgym.envs.dose_finding_efftox.env import ENV_ID as DOSE_FINDING_EFFTOX_ID
from pkgym.envs.dose_finding_efftox.env import DoseFindingEffToxEnv, DoseFindingEffToxVectorEnv
from pkgym.envs.mycophenolate.clinic import MycophenolateScenario
from pkgym.envs.mycophenolate.env import ENV_ID as MYCOPHENOLATE_ID
from pkgym.envs.mycophenolate.env import MycophenolateEnv, MycophenolateVectorEnv
from pkgym.envs.registry import register_env
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
__all__ += ["DOSE_FINDING_EFFTOX_ID", "DoseFindingEffToxEnv", "DoseFindingEffToxScenario",
            "DoseFindingEffToxVectorEnv"]
__all__ += ["MYCOPHENOLATE_ID", "MycophenolateEnv", "MycophenolateScenario",
            "MycophenolateVectorEnv"]

for _package in (vancomycin, warfarin, chemotherapy, chemo_immune, addiction, depression,
                 dose_finding, mycophenolate, dose_finding_efftox, insulin, propofol,
                 heparin):
    for _spec in _package.SPECS:
        register_env(_spec)
