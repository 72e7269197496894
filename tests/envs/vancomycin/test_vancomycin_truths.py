"""Which vancomycin model is the truth: chosen by name in the scenario (issue 19)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401
from pkgym.envs.vancomycin.clinic import MODELS, VancomycinScenario
from pkgym.envs.vancomycin.env import ENV_ID
from pkgym.models.vancomycin import Goti2018
from pkgym.models.vancomycin_colin2019 import Colin2019
from pkgym.models.vancomycin_thomson2009 import Thomson2009


def test_vancomycin_scenario__thomson_truth_sets_the_patients_clearance(
        typical_patient: dict) -> None:
    """model='thomson2009': info CL is 2.99 (1 + 0.0154 (CrCL - 66)) e^eta of the patient."""
    env = gym.make(ENV_ID, scenario=VancomycinScenario(model="thomson2009"))
    _, info = env.reset(seed=0, options={"patient": {**typical_patient, "eta_CL": 0.3}})
    crcl = (140 - 50.0) * 70.0 / (72 * 1.0)  # Cockcroft-Gault, man, SCr 1.0, no floor
    assert env.unwrapped.core.settings.model == Thomson2009()
    assert info["clearance_l_per_h"] == pytest.approx(
        2.99 * (1 + 0.0154 * (crcl - 66.0)) * np.exp(0.3), rel=1e-12)


def test_vancomycin_scenario__colin_truth_reads_age_creatinine_and_eta_v1(
        typical_patient: dict) -> None:
    """model='colin2019': info CL is Colin's law of the patient, written out here."""
    env = gym.make(ENV_ID, scenario=VancomycinScenario(model="colin2019"))
    patient = {**typical_patient, "eta_CL": 0.3, "eta_V1": -0.2}
    _, info = env.reset(seed=0, options={"patient": patient})
    assert env.unwrapped.core.settings.model == Colin2019()
    pma, ref = patient["age_years"] + 40 / 52, 35 + 40 / 52
    hill = lambda x, x50, h: x**h / (x**h + x50**h)  # noqa: E731
    scr_ref = np.exp(-1.22839 + 0.67190 * np.log10(pma) + 6.27017 * np.exp(-3.10940 * pma))
    v1 = 42.52 * patient["weight_kg"] / 70 * np.exp(-0.2)
    expected = (5.312 * (v1 / 42.52) ** 0.75
                * hill(pma, 0.8932, 2.8864) / hill(ref, 0.8932, 2.8864)
                * hill(pma, 61.559, -2.241) / hill(ref, 61.559, -2.241)
                * np.exp(-0.64856 * (patient["serum_creatinine_mg_per_dl"] - scr_ref))
                * np.exp(0.3))
    assert info["clearance_l_per_h"] == pytest.approx(expected, rel=1e-12)
    assert info["central_volume_l"] == pytest.approx(v1, rel=1e-14)


def test_vancomycin_scenario__default_truth_is_goti() -> None:
    """The default names goti2018 and its field is the truth."""
    scenario = VancomycinScenario()
    assert scenario.model == "goti2018" and scenario.truth == Goti2018()
    assert sorted(MODELS) == ["colin2019", "goti2018", "thomson2009"]


def test_vancomycin_scenario__unknown_model_is_refused_in_one_line() -> None:
    """An unknown name is refused with the allowed names."""
    with pytest.raises(ValueError, match=r"^model: 'vanco' is not one of \['colin2019', "
                                         r"'goti2018', 'thomson2009'\]$"):
        VancomycinScenario(model="vanco")


def test_vancomycin_scenario__a_parameter_set_as_model_becomes_its_name() -> None:
    """model=Thomson2009(...) (the old Python API) sets the thomson2009 field and the name."""
    tuned = Thomson2009(proportional_error_sd=0.1)
    scenario = VancomycinScenario(model=tuned)  # type: ignore[arg-type]
    assert scenario.model == "thomson2009" and scenario.truth is tuned
    assert scenario == VancomycinScenario(model="thomson2009", thomson2009=tuned)


def test_vancomycin_scenario__yaml_overrides_a_nested_thomson_field(tmp_path) -> None:  # noqa: ANN001
    """A YAML file picks Thomson and overrides one of its fields; typos are refused."""
    path = tmp_path / "ward.yaml"
    path.write_text(f"env: {ENV_ID}\nmodel: thomson2009\nthomson2009:\n"
                    "  proportional_error_sd: 0.1\n  clearance_l_per_h: 3.5\n")
    env = gym.make(ENV_ID, scenario=str(path))
    model = env.unwrapped.core.settings.model
    assert model == Thomson2009(proportional_error_sd=0.1, clearance_l_per_h=3.5)
    assert env.unwrapped.core.settings.assay.proportional_sd == 0.1
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"env: {ENV_ID}\nthomson2009:\n  clearance_l_per_hr: 3.5\n")
    with pytest.raises(ValueError, match=r"thomson2009\.clearance_l_per_hr: unknown field"):
        gym.make(ENV_ID, scenario=str(bad))
