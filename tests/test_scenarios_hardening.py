"""Hostile scenario files (issue 17, defects 2-4): refused with the file and field, or sound."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import gymnasium as gym
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pkgym  # noqa: F401  (registers the environments)
from benchmarks.scenario_mutants import REFUSED, SOUND, all_sites, judge
from pkgym.envs.chemo_immune.clinic import ChemoImmuneScenario
from pkgym.envs.vancomycin.clinic import AucTargetReward, VancomycinScenario
from pkgym.models.tumour_immune import DePillis2003
from pkgym.scenarios import check_fields, load_scenario, read_yaml
from pkgym.trials.mechanistic import load_trial_scenario

VANCOMYCIN = "pkgym/Vancomycin-v0"
SITES = [site for site in all_sites() if site.file.name != "dose_finding_docetaxel.yaml"]
"""Mutations for the default suite; the docetaxel trial file simulates 2000 patients per load,
so its mutants run in ``python -m benchmarks.scenario_mutants`` only."""


def _write(folder: Path, text: str, env: str | None = VANCOMYCIN) -> Path:
    path = folder / "ward.yaml"
    path.write_text((f"env: {env}\n" if env else "") + text + "\n")
    return path


@pytest.mark.parametrize(("text", "message"), [
    ("reward:\n  aki_penalty: .nan", r"ward\.yaml\.reward\.aki_penalty: expected a finite number, "
                                     r"got nan"),
    ("creatinine_assay_cv: .nan", r"ward\.yaml\.creatinine_assay_cv: expected a finite number"),
    ("mic_mg_per_l: .inf", r"ward\.yaml\.mic_mg_per_l: expected a finite number, got inf"),
    ("target_auc24_over_mic: [400, -.inf]", r"ward\.yaml\.target_auc24_over_mic\[1\]: expected a "
                                            r"finite number"),
    ("kidney:\n  creatinine_cv: .nan", r"ward\.yaml\.kidney\.creatinine_cv: expected a finite")])
def test_scenario__nan_in_a_number_field_is_refused_with_its_path(
        tmp_path: Path, text: str, message: str) -> None:
    """NaN and inf never reach rewards or observations: the load fails naming file and field."""
    with pytest.raises(ValueError, match=message):
        gym.make(VANCOMYCIN, scenario=str(_write(tmp_path, text)))


def test_scenario__chemo_immune_rates_x1000_are_refused_not_nan_cells(tmp_path: Path) -> None:
    """De Pillis rates 1000x the published ones made NaN cells at the first step; now refused."""
    path = _write(tmp_path, "de_pillis:\n  b2_normal_inverse_capacity: 1000.0",
                  "pkgym/ChemoImmune-v0")
    with pytest.raises(ValueError, match=r"ward\.yaml\.de_pillis.*b2_normal_inverse_capacity.*"
                                         r"> 0 and <= 10, got 1000"):
        gym.make("pkgym/ChemoImmune-v0", scenario=str(path))


@pytest.mark.parametrize(("text", "message"), [
    ("n_steps: .inf", r"ward\.yaml\.n_steps: expected an integer .*got inf"),
    ("n_steps: .nan", r"ward\.yaml\.n_steps: expected an integer .*got nan"),
    ("n_steps: 1.0e+18", r"ward\.yaml\.n_steps: expected an integer .*got 1e\+18"),
    ("n_steps: 1.0e+15", r"ward\.yaml: n_steps must be in 1\.\.10000"),
    ("n_steps: 0", r"ward\.yaml: n_steps must be in 1\.\.10000, got 0"),
    ("n_steps: 2.5", r"ward\.yaml\.n_steps: expected an integer"),
    ("n_steps: true", r"ward\.yaml\.n_steps: expected an integer .*got True"),
    ("interval_h: 0", r"ward\.yaml: interval_h must be one of .*got 0"),
    ("max_dose_mg: .inf", r"ward\.yaml\.max_dose_mg: expected a finite number, got inf"),
    ("max_dose_mg: 1.0e+12", r"ward\.yaml: max_dose_mg must be in \(0, 100000\]"),
    ("max_dose_mg: true", r"ward\.yaml\.max_dose_mg: expected a finite number, got True")])
def test_scenario__integer_field_inf_nan_zero_huge_are_refused_with_path_and_range(
        tmp_path: Path, text: str, message: str) -> None:
    """inf, NaN, 0, bools and huge sizes are one-line errors, not tracebacks or MemoryErrors."""
    with pytest.raises(ValueError, match=message) as error:
        gym.make(VANCOMYCIN, scenario=str(_write(tmp_path, text)))
    assert "\n" not in str(error.value)


def test_scenario__every_bad_field_of_a_mapping_is_reported_at_once(tmp_path: Path) -> None:
    """Unknown keys and bad values of one file are listed together, one line each."""
    path = _write(tmp_path, "n_steps: .inf\nmic_mg_per_l: .nan\nreward:\n  aki_penalty: .nan\n"
                            "  aki_penalti: 1")
    with pytest.raises(ValueError) as error:
        load_scenario(path)
    lines = str(error.value).splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "ward.yaml.n_steps", "ward.yaml.mic_mg_per_l", "ward.yaml.reward.aki_penalti",
        "ward.yaml.reward.aki_penalty"]


@pytest.mark.parametrize(("text", "message"), [
    ("reward:\n  aki_penalty: 1\n  aki_penalty: 2",
     r"ward\.yaml\.reward\.aki_penalty: duplicate key on line 4 \(first on line 3\)"),
    ("n_steps: 14\nn_steps: 14", r"ward\.yaml\.n_steps: duplicate key on line 3"),
    ("sampling:\n- [trough, 4]\n- {a: 1, a: 2}", r"ward\.yaml\.sampling\[1\]\.a: duplicate key")])
def test_scenario__duplicate_yaml_keys_are_refused(tmp_path: Path, text: str,
                                                   message: str) -> None:
    """A repeated key at any depth is an error naming its path and lines (no last-one-wins)."""
    with pytest.raises(ValueError, match=message):
        read_yaml(_write(tmp_path, text))


def test_scenario__exponent_without_a_dot_is_a_number(tmp_path: Path) -> None:
    """``1e-4`` (YAML 1.2) is read as a float, as ``1.0e-4`` is; words stay strings."""
    data = read_yaml(_write(tmp_path, "a: 1e-4\nb: -2E+3\nc: 1.0e-4\nd: 10\ne: 1e", env=None))
    assert data == {"a": 1e-4, "b": -2000.0, "c": 1e-4, "d": 10, "e": "1e"}
    assert isinstance(data["a"], float) and isinstance(data["d"], int)
    path = tmp_path / "v.yaml"
    path.write_text("env: pkgym/Vancomycin-v0\nreward: {aki_penalty: 2e1}\n")
    assert load_scenario(path).reward.aki_penalty == 20.0


def test_scenario__trial_files_name_the_file_and_refuse_huge_cohorts(tmp_path: Path) -> None:
    """Dose-finding trial files name the file; a 2-million-patient truth is refused at once."""
    path = tmp_path / "trial.yaml"
    path.write_text("mechanistic_truth:\n  dose_levels_mg_per_m2: [60, 75]\n"
                    "  n_patients: 2000000\ntarget_dlt_rate: 0.3\n")
    with pytest.raises(ValueError, match=r"trial\.yaml\.mechanistic_truth: n_patients must be in"):
        load_trial_scenario(path)
    path.write_text("true_dlt_probabilities: [0.1, .nan]\ntarget_dlt_rate: 0.3\n")
    with pytest.raises(ValueError, match=r"trial\.yaml\.true_dlt_probabilities\[1\]: expected a "
                                         r"finite number"):
        load_trial_scenario(path)


def test_scenario__objects_built_in_python_are_checked_too() -> None:
    """Non-finite numbers and bad sizes fail in Python as in YAML, naming the nested field."""
    with pytest.raises(ValueError, match=r"reward\.aki_penalty: expected a finite number, got nan"):
        VancomycinScenario(reward=AucTargetReward(aki_penalty=math.nan))
    with pytest.raises(ValueError, match=r"n_steps: expected an integer .*got True"):
        VancomycinScenario(n_steps=True)
    with pytest.raises(ValueError, match="n_steps must be in 1..10000"):
        VancomycinScenario(n_steps=10**15)
    with pytest.raises(ValueError, match="at most 10000 steps"):
        ChemoImmuneScenario(dose_step=1e-9)
    with pytest.raises(ValueError, match="r1_tumour_growth_per_day"):
        DePillis2003(r1_tumour_growth_per_day=math.inf)
    check_fields(VancomycinScenario())
    assert dataclasses.replace(VancomycinScenario(), n_steps=20).n_steps == 20


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(index=st.integers(0, len(SITES) - 1))
def test_scenario__mutated_shipped_files_are_refused_by_field_or_roll_out_soundly(
        tmp_path: Path, index: int) -> None:
    """A mutated shipped file is refused naming file and field, or rolls out soundly.

    One mutation (NaN, inf, 0, -1, 1e18, x1000, a string, a bool, null, a repeated or unknown
    key): a ``ValueError`` naming the file and the field, or a load and 10 seeded random steps
    inside the observation space with finite rewards.
    """
    site = SITES[index]
    outcome, detail = judge(site, tmp_path)
    assert outcome in (REFUSED, SOUND), f"{site}: {outcome}: {detail}"
