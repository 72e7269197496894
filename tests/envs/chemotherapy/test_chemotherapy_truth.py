"""The docetaxel scenario names its myelosuppression truth (warfarin's vocabulary)."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401  (registers pkgym/Chemotherapy-v0)
from pkgym.envs.chemotherapy.clinic import MODELS, ChemotherapyScenario, resolve_scenario
from pkgym.models.chemotherapy_kernel import EC50, EMAX, N_PARAMS, N_PARAMS_EMAX
from pkgym.models.myelosuppression import Friberg2002DocetaxelEmax, FribergDocetaxel

ENV_ID = "pkgym/Chemotherapy-v0"


def test_scenario__default_truth_is_kloft2006_linear() -> None:
    """``model`` defaults to kloft2006; the truth is that field (Kloft's linear parameters)."""
    scenario = ChemotherapyScenario()
    assert scenario.model == "kloft2006" and scenario.truth is scenario.kloft2006
    assert scenario.truth == FribergDocetaxel() and scenario.assay_log_sd == 0.424
    assert sorted(MODELS) == ["friberg2002_emax", "kloft2006"]


def test_scenario__model_selects_the_field_of_that_name() -> None:
    """``friberg2002_emax`` makes its field the truth; the other set stays for beliefs."""
    scenario = ChemotherapyScenario(model="friberg2002_emax",
                                    friberg2002_emax=Friberg2002DocetaxelEmax(emax=50.0))
    assert scenario.truth is scenario.friberg2002_emax and scenario.truth.emax == 50.0
    assert scenario.kloft2006 == FribergDocetaxel()


def test_scenario__unknown_model_is_refused_listing_the_allowed_names() -> None:
    """One line naming the value and the allowed names."""
    with pytest.raises(ValueError, match=r"model: 'kloft2007' is not one of "
                                         r"\['friberg2002_emax', 'kloft2006'\]") as error:
        ChemotherapyScenario(model="kloft2007")
    assert "\n" not in str(error.value)


def test_scenario__yaml_names_the_truth_and_overrides_its_parameters(tmp_path: Path) -> None:
    """A YAML file picks the Emax truth and overrides one of its parameters by name."""
    path = tmp_path / "emax.yaml"
    path.write_text("env: pkgym/Chemotherapy-v0\nmodel: friberg2002_emax\n"
                    "friberg2002_emax:\n  ec50_umol_per_l: 5.0\n")
    scenario = resolve_scenario(path, ENV_ID)
    assert scenario.model == "friberg2002_emax"
    assert scenario.truth == Friberg2002DocetaxelEmax(ec50_umol_per_l=5.0)
    path.write_text("env: pkgym/Chemotherapy-v0\nmodel: friberg2002\n")
    with pytest.raises(ValueError, match="not one of"):
        resolve_scenario(path, ENV_ID)


def test_env__the_named_truth_drives_the_patients() -> None:
    """Same seed, same doses: the Emax truth gives its own parameters and other counts."""
    infos = {}
    for model in ("kloft2006", "friberg2002_emax"):
        env = gym.make(ENV_ID, scenario=ChemotherapyScenario(model=model))
        env.reset(seed=4)
        _, _, _, _, infos[model] = env.step(3)  # 100% of the label dose
    linear, emax = (infos[m]["model_parameters"] for m in ("kloft2006", "friberg2002_emax"))
    assert linear.shape == (N_PARAMS,) and emax.shape == (N_PARAMS_EMAX,)
    assert emax[EMAX] == 83.9 and emax[EC50] > 0
    assert not np.isclose(infos["kloft2006"]["anc_nadir_1e9_per_l"],
                          infos["friberg2002_emax"]["anc_nadir_1e9_per_l"])
