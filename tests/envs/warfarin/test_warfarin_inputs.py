"""``pkgym/Warfarin-v0``: bad input, scenario files, renders and the NONMEM-style export."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
from warfarin_helpers import ENV_ID, ETAS, PGX_ID, rollout

import pkgym  # noqa: F401
from pkgym.envs.warfarin.clinic import (
    InrRangeReward,
    WarfarinScenario,
)
from pkgym.models.warfarin import Hamberg2007


# ----- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "action", "match"), [
    ({}, np.nan, r"integer level\(s\) in 0\.\.30"), ({}, -1, r"in 0\.\.30"),
    ({}, 31, r"in 0\.\.30"), ({}, 2.5, "integer level"), ({}, np.array([1, 2]), "1 integer"),
    ({"continuous": True}, np.array([np.nan]), "finite"),
    ({"continuous": True}, np.array([1.5]), r"\[-1, 1\]"),
    ({"continuous": True}, np.array([0.1, 0.2]), r"number\(s\) in \[-1, 1\]"),
    ({"choose_test_days": True}, np.array([3, 2, 1]), r"integer pair\(s\)"),
    ({"choose_test_days": True}, 5, r"days to next INR - 1 in 0\.\.27"),
    ({"choose_test_days": True}, np.array([3, 28]), r"days to next INR - 1 must be in 0\.\.27"),
    ({"choose_test_days": True}, np.array([31, 0]), r"in 0\.\.30")])
def test_warfarin_env__bad_actions_raise_a_clear_error(kwargs: dict, action, match: str) -> None:  # noqa: ANN001
    """NaN, negative, out-of-range, non-integer and wrongly shaped actions name what is allowed."""
    env = gym.make(ENV_ID, **kwargs)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        env.unwrapped.step(action)


def test_warfarin_env__stepping_after_truncation_asks_for_reset() -> None:
    """After n_days the episode is truncated, never terminated, and a further step is an error."""
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    flags = [env.step(10)[2:4] for _ in range(90)]
    assert flags == [(False, False)] * 89 + [(False, True)]
    with pytest.raises(RuntimeError, match=r"truncated.*reset\(\)"):
        env.step(10)
    _, info = env.reset()
    assert info["day"] == 0


def test_warfarin_env__bad_options_and_pinned_patients_name_the_field(
        warfarin_patient: dict) -> None:
    """Unknown options, unknown fields, bad labels and out-of-range covariates are errors."""
    env = gym.make(ENV_ID)
    cases = [({"patien": {}}, r"unknown reset option\(s\) \['patien'\]; allowed: \('patient',\)"),
             ({"patient": {**warfarin_patient, "shoe_size": 42}}, r"\['shoe_size'\].*eta_EC50"),
             ({"patient": {**warfarin_patient, "eta_V1": 0.1}}, r"\['eta_V1'\]"),
             ({"patient": {**warfarin_patient, "cyp2c9": "*1/*4"}}, r"cyp2c9.*'\*1/\*4'.*\*3/\*3"),
             ({"patient": {**warfarin_patient, "vkorc1": "A/G"}}, r"vkorc1.*'A/G'.*'G/A'"),
             ({"patient": {**warfarin_patient, "race": "martian"}}, r"race.*'white'"),
             ({"patient": {**warfarin_patient, "age_years": 5.0}}, r"age_years.*\[18\.0, 110\.0\]")]
    for options, match in cases:
        with pytest.raises(ValueError, match=match):
            env.reset(seed=0, options=options)
    vec = gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="vector_entry_point")
    with pytest.raises(ValueError, match=r"one entry per reset env \(2 of 2\), got 1"):
        vec.reset(seed=0, options={"patients": pd.DataFrame([warfarin_patient])})
    with pytest.raises(ValueError, match="discrete actions"):
        gym.make(ENV_ID, continuous=True, choose_test_days=True)


@pytest.mark.parametrize(("fields", "match"), [
    ({"n_days": 0}, r"n_days must be in 1\.\.3650, got 0"),
    ({"target_inr": (3.0, 2.0)}, r"target_inr must be 0 < low < high"),
    ({"population": "kids"},
     r"population: 'kids' is not one of \['iwpc', 'iwpc_2009', 'us_clinic'\]"),
    ({"model": "hamberg2099"}, r"model: 'hamberg2099' is not one of \['hamberg2007', "),
    ({"inr_assay_log_sd": -0.1}, r"inr_assay_log_sd must be in \[0, 2\]"),
    ({"dose_step_mg": 0.0}, "dose_step_mg")])
def test_warfarin_scenario__bad_fields_name_the_field_and_allowed_values(fields: dict,
                                                                        match: str) -> None:
    """Scenario fields out of their domain raise, naming the field and what is allowed."""
    with pytest.raises(ValueError, match=match):
        WarfarinScenario(**fields)


# ----- scenario files --------------------------------------------------------------------------
def test_warfarin_env__yaml_scenario_configures_the_env(tmp_path, warfarin_patient: dict) -> None:  # noqa: ANN001
    """A YAML file sets horizon, target, reward weights and model; others are refused clearly."""
    path = tmp_path / "clinic.yaml"
    path.write_text(f"env: {ENV_ID}\nn_days: 12\ntarget_inr: [1.5, 2.5]\nmodel: hamberg2007\n"
                    "reward:\n  test_cost: 0.3\n  in_range_bonus: 2.0\n")
    env = gym.make(ENV_ID, scenario=str(path))
    scenario = env.unwrapped.core.settings.scenario
    assert scenario == WarfarinScenario(n_days=12, target_inr=(1.5, 2.5), model="hamberg2007",
                                        reward=InrRangeReward(test_cost=0.3, in_range_bonus=2.0))
    assert env.observation_space["doses_mg"].shape == (12,)
    patient = {**{k: v for k, v in warfarin_patient.items() if k not in ETAS},
               **dict.fromkeys(Hamberg2007().variability.eta_columns, 0.0)}
    trace = rollout(env, 0, [10] * 12, {"patient": patient})
    assert trace[0][2]["mtt1_h"] == 11.6  # the 2007 model's MTT1 (2010: 28.6 h)
    assert [info["day"] for _, _, info in trace] == list(range(13))
    with pytest.raises(RuntimeError, match="truncated"):
        env.step(10)
    assert all(info["in_therapeutic_range"] == (1.5 <= info["inr"] <= 2.5)
               for _, _, info in trace)
    assert gym.make(PGX_ID, scenario=path).unwrapped.core.settings.genotype_guided
    cases = {"scenarios/vancomycin_adult.yaml": "VancomycinScenario cannot configure "
                                                "pkgym/Warfarin-v0"}
    for text, message in {"n_dayz: 3": r"clinic\.yaml\.n_dayz: unknown field; allowed: \[",
                          "reward:\n  test_cots: 1": r"clinic\.yaml\.reward\.test_cots: unknown",
                          "events:\n  enabled: maybe": "events.enabled: expected true or false",
                          "env: pkgym/Nope-v0": "not allowed here"}.items():
        bad = tmp_path / "clinic.yaml"
        bad.write_text(text if text.startswith("env") else f"env: {ENV_ID}\n{text}\n")
        cases[str(bad)] = message
    for file, message in cases.items():
        with pytest.raises(ValueError, match=message):
            gym.make(ENV_ID, scenario=file)


# ----- render and dataset ----------------------------------------------------------------------
def test_warfarin_env__renders_and_exports_the_episode_as_a_nonmem_dataset(
        warfarin_patient: dict) -> None:
    """Text and RGB renders work; one dose row per non-zero dose, one DV row per INR."""
    env = gym.make(ENV_ID, render_mode="ansi")
    levels = [10, 0, 8, 8, 0, 6, 6, 6, 0, 7, 7, 7, 7, 7, 7, 7]
    obs = rollout(env, 2, levels, {"patient": warfarin_patient})[-1][0]
    text = env.render()
    assert text.startswith("day 16/90") and "last dose 3.5 mg" in text
    table = env.unwrapped.episode_dataset()
    doses, levels_table = table[table["EVID"] == 1], table[table["EVID"] == 0]
    assert doses["AMT"].tolist() == [0.5 * lv for lv in levels if lv]
    assert doses["TIME"].tolist() == [24.0 * d for d, lv in enumerate(levels) if lv]
    assert doses["CMT"].eq(1).all() and levels_table["CMT"].eq(2).all()
    measured = obs["inr_mask"] > 0
    assert levels_table["TIME"].tolist() == (24.0 * obs["inr_days"][measured]).tolist()
    np.testing.assert_allclose(levels_table["DV"], obs["inr_values"][measured], atol=1e-6)
    assert table["ID"].eq(42).all() and table["CYP2C9"].eq("*1/*3").all()
    for time in set(doses["TIME"]) & set(levels_table["TIME"]):  # pre-dose INR first
        assert table.loc[table["TIME"] == time, "EVID"].tolist() == [0, 1]
    assert len(set(doses["TIME"]) & set(levels_table["TIME"])) >= 3
    frame = gym.make(ENV_ID, render_mode="rgb_array")
    frame.reset(seed=2)
    frame.step(10)
    image = frame.render()
    assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8
    assert image.std() > 0


def test_warfarin_scenario_files__load_and_the_us_clinic_file_states_the_defaults() -> None:
    """Shipped warfarin scenarios are valid; the US-clinic file spells out every default."""
    from pathlib import Path

    from pkgym.scenarios import load_scenario

    root = Path(__file__).resolve().parents[3] / "scenarios"
    assert load_scenario(root / "warfarin_us_clinic.yaml") == WarfarinScenario()
    pgx = load_scenario(root / "warfarin_iwpc_pgx.yaml")
    assert (pgx.population, pgx.assay_log_sd) == ("iwpc", 0.05)
