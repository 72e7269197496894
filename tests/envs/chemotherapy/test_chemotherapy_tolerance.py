"""``pkgym/Chemotherapy-v0``'s integrator tolerance, set by a scenario (object or YAML field).

The default (rtol 1e-7) is v0's and stays; a looser one trades accuracy for speed. Measured
by ``benchmarks/chemotherapy_tolerance.py`` against solve_ivp at rtol 1e-12: rtol 1e-4 keeps
the true ANC and tumour size within 4.2e-4 (relative) over 300 population patients, far
inside the 0.424 log-SD of the ANC assay and the 10% CV of a scan.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401
from pkgym.envs.chemotherapy.clinic import ChemotherapyScenario
from pkgym.models.chemotherapy_kernel import SolverTolerances

ENV_ID = "pkgym/Chemotherapy-v0"
TRUE_KEYS = ("anc_1e9_per_l", "anc_nadir_1e9_per_l", "sld_mm")


def _first_two_cycles(scenario: ChemotherapyScenario | str | None) -> dict[str, np.ndarray]:
    """True ANC, nadir and SLD of 64 patients (seed 3) after cycles 1 and 2, fixed levels.

    No episode can end before the scan after cycle 2, so the two courses stay comparable.
    """
    vec = gym.make_vec(ENV_ID, num_envs=64, vectorization_mode="vector_entry_point",
                       scenario=scenario)
    vec.reset(seed=3)
    levels = np.arange(64) % 5
    infos = [vec.step(levels)[4], vec.step(4 - levels)[4]]
    vec.close()
    return {key: np.stack([info[key] for info in infos]) for key in TRUE_KEYS}


def test_chemotherapy_env__yaml_rtol_1e4_stays_within_its_measured_error_of_the_default(
        tmp_path) -> None:  # noqa: ANN001
    """``solver: {rtol: 1.0e-4}`` reaches the integrator: the course moves, by < 1e-3."""
    path = tmp_path / "loose.yaml"
    path.write_text(f"env: {ENV_ID}\nsolver:\n  rtol: 1.0e-4\n")
    loose, tight = _first_two_cycles(str(path)), _first_two_cycles(None)
    for key in TRUE_KEYS:
        relative = np.abs(loose[key] - tight[key]) / tight[key]
        assert relative.max() < 1e-3, key  # measured <= 4.2e-4 against rtol 1e-12
    assert any(np.any(loose[key] != tight[key]) for key in TRUE_KEYS)


def test_chemotherapy_env__scenario_object_sets_the_tolerance_and_v0_keeps_1e7() -> None:
    """The documented object path sets rtol; v0's default is 1e-7, atol 1e-10."""
    env = gym.make(ENV_ID, scenario=ChemotherapyScenario(solver=SolverTolerances(rtol=1e-5)))
    assert env.unwrapped.core.settings.scenario.solver.rtol == 1e-5
    assert ChemotherapyScenario().solver == SolverTolerances(rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("text", ["rtol: 0.0", "rtol: 1.5", "atol: -1.0e-9", "max_steps: 0"])
def test_chemotherapy_env__bad_tolerances_raise_one_line_naming_the_field(
        tmp_path, text: str) -> None:  # noqa: ANN001
    """A bad tolerance in YAML is one line naming ``<file>.solver`` and the allowed ranges."""
    path = tmp_path / "bad.yaml"
    path.write_text(f"env: {ENV_ID}\nsolver:\n  {text}\n")
    with pytest.raises(ValueError, match=r"bad\.yaml\.solver: need 0 < rtol < 1, atol > 0, "
                       r"max_steps >= 1") as error:
        gym.make(ENV_ID, scenario=str(path))
    assert "\n" not in str(error.value)
