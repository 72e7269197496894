"""``pkgym/ChemoImmune-v0``: the clinic it models (the shared env contract: test_contract.py)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
from contract import rollout_fixed as rollout

import pkgym  # noqa: F401
from pkgym.envs.chemo_immune.clinic import (
    ChemoImmuneScenario,
    ChemoSolver,
    TumourReductionReward,
)
from pkgym.evaluation.cohorts import sample_cohort
from pkgym.models.tumour_immune import DePillis2003, simulate_days
from pkgym.scenarios import load_scenario

ENV_ID = "pkgym/ChemoImmune-v0"
ROOT = Path(__file__).resolve().parents[3]
SHORT = ChemoImmuneScenario(n_days=6)
"""Six-day episodes, to cross episode ends quickly."""
QUIET = ChemoImmuneScenario(measurement_log_sd=0.0)
PATIENT = {"tumour_at_start": 0.3, "eta_a2": 0.2, "eta_a3": -0.1, "eta_d2": 0.15, "id": 7}
CELLS = ("normal_cells", "tumour_cells", "immune_cells", "drug_level")


# ----- vector env ------------------------------------------------------------------------------


def test_chemo_immune_vector_env__pins_a_sampled_cohort() -> None:
    """options["patients"] pins a sample_cohort DataFrame: its tumour, etas and course."""
    model = QUIET.de_pillis
    cohort = sample_cohort(QUIET.population, model.variability, 3, seed=4)
    vec = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point",
                       scenario=QUIET)
    _, info = vec.reset(seed=0, options={"patients": cohort})
    assert info["patient_id"].tolist() == cohort["id"].tolist()
    np.testing.assert_array_equal(info["tumour_cells"], cohort["tumour_at_start"])
    etas = cohort[list(model.variability.eta_columns)].to_numpy()
    params = model.parameters(3, etas)
    np.testing.assert_array_equal(info["a3_normal_kill_per_day"], params.column("a3"))
    infos = [info] + [vec.step(np.full(3, 7))[4] for _ in range(5)]
    start = np.column_stack([np.full(3, 0.9), cohort["tumour_at_start"], np.full(3, 0.005),
                             np.zeros(3)])
    expected = simulate_days(start, np.full((3, 5), 0.7), params, QUIET.solver.config())
    got = np.stack([np.column_stack([i[key] for key in CELLS]) for i in infos], axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)


# ----- the patient and the model ---------------------------------------------------------------
def test_chemo_immune_env__pinned_patient_equals_the_model_run_alone() -> None:
    """A pinned patient's parameters and daily N, T, I, u are the model's; exact measurements."""
    levels = np.random.default_rng(3).integers(0, 11, 50)
    trace = rollout(gym.make(ENV_ID, scenario=QUIET), 0, levels, {"patient": PATIENT})
    etas = np.array([[PATIENT["eta_a2"], PATIENT["eta_a3"], PATIENT["eta_d2"]]])
    params = DePillis2003().parameters(1, etas)
    info = trace[0][2]
    assert info["a2_tumour_kill_per_day"] == pytest.approx(0.3 * np.exp(0.2), rel=1e-15)
    assert info["d2_drug_decay_per_day"] == params.column("d2")[0]
    assert (info["patient_id"], info["tumour_at_start"]) == (7, 0.3)
    expected = simulate_days([[0.9, 0.3, 0.005, 0.0]], 0.1 * levels[None, :], params,
                             ChemoSolver().config())[0]
    got = np.array([[i[key] for key in CELLS] for _, _, i in trace])
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)
    cells = np.array([obs["cells"] for obs, _, _ in trace])
    np.testing.assert_array_equal(cells, expected[:, :3].astype(np.float32))
    assert [obs["day"][0] for obs, _, _ in trace] == list(range(51))
    np.testing.assert_allclose(trace[-1][0]["doses"][:50], 0.1 * levels, rtol=1e-6)


def test_chemo_immune_env__measurement_noise_is_log_normal_and_never_changes_the_patient(
) -> None:
    """log(measured / true) has SD ~0.1; noise off gives the truth; the patients are unchanged."""
    runs = {}
    for name, sd in (("noisy", 0.1), ("quiet", 0.0)):
        vec = gym.make_vec(ENV_ID, num_envs=200, vectorization_mode="vector_entry_point",
                           scenario=replace(SHORT, n_days=10, measurement_log_sd=sd))
        infos = [vec.reset(seed=7)[1]] + [vec.step(np.full(200, 6))[4] for _ in range(10)]
        truth = np.array([[i[k] for k in CELLS[:3]] for i in infos])
        measured = np.array([[i[f"measured_{k}"] for k in CELLS[:3]] for i in infos])
        runs[name] = truth, measured
    np.testing.assert_array_equal(runs["noisy"][0], runs["quiet"][0])
    np.testing.assert_array_equal(runs["quiet"][1], runs["quiet"][0].astype(np.float32))
    log_ratio = np.log(runs["noisy"][1] / runs["noisy"][0])
    assert abs(log_ratio.mean()) < 0.01 and 0.095 < log_ratio.std() < 0.105


def test_chemo_immune_env__full_dose_cures_the_typical_patient_and_no_dose_does_not() -> None:
    """Padmanabhan's typical patient: the tumour settles high untreated and clears on v = 1."""
    scenario = load_scenario(ROOT / "scenarios" / "chemo_immune_padmanabhan.yaml")
    untreated = rollout(gym.make(ENV_ID, scenario=scenario), 0, [0] * 150)[-1][2]
    treated = rollout(gym.make(ENV_ID, scenario=scenario), 0, [10] * 150)[-1][2]
    assert untreated["tumour_cells"] == pytest.approx(0.5648, abs=1e-3)
    assert treated["tumour_cells"] < 1e-4 and treated["normal_cells"] > 0.9
    assert 0 < treated["days_below_floor"] < untreated["days_below_floor"]


# ----- reward and episode end ------------------------------------------------------------------
def expected_reward(weights: TumourReductionReward, before: dict, after: dict) -> float:
    """The env card's reward computed from the infos around one step."""
    reference = max(before["tumour_cells"], weights.tumour_reference_level)
    return (weights.tumour_reduction_weight
            * (before["tumour_cells"] - after["tumour_cells"]) / reference
            - weights.dose_cost * after["dose"]
            - weights.below_floor_penalty * after["normal_below_floor"]
            - weights.stop_penalty * after["terminated_below_floor"])


def reward_trace(scenario: ChemoImmuneScenario, levels: list[int]) -> list:
    """A pinned patient's rollout until the levels run out or the episode ends."""
    env = gym.make(ENV_ID, scenario=scenario)
    obs, info = env.reset(seed=1, options={"patient": {"tumour_at_start": 0.15}})
    trace = [(obs, 0.0, info)]
    for level in levels:
        obs, reward, terminated, truncated, info = env.step(level)
        trace.append((obs, reward, info))
        if terminated or truncated:
            break
    return trace


@pytest.mark.parametrize(("weights", "stop"), [
    (TumourReductionReward(), False),
    (TumourReductionReward(tumour_reduction_weight=2.0, tumour_reference_level=0.05,
                           dose_cost=0.3, below_floor_penalty=0.5, stop_penalty=7.0), True)])
def test_chemo_immune_env__reward_is_the_documented_formula(
        weights: TumourReductionReward, stop: bool) -> None:
    """Reward = weighted relative tumour fall - dose cost - floor and stop penalties, from info."""
    scenario = ChemoImmuneScenario(reward=weights, stop_below_floor=stop, normal_cell_floor=0.8)
    trace = reward_trace(scenario, [10] * 20 + [0] * 10 + [4] * 120)
    for (_, _, before), (_, reward, after) in zip(trace[:-1], trace[1:], strict=True):
        assert reward == pytest.approx(expected_reward(weights, before, after), abs=1e-12)
    below = [info["normal_below_floor"] for _, _, info in trace[1:]]
    assert trace[-1][2]["terminated_below_floor"] == stop
    assert sum(below) == (1 if stop else trace[-1][2]["days_below_floor"])
    assert stop or 0 < sum(below) < len(below)
    if stop:  # the episode is over: the env refuses another step
        env = gym.make(ENV_ID, scenario=scenario)
        rollout(env, 1, [10] * (len(trace) - 1), {"patient": {"tumour_at_start": 0.15}})
        with pytest.raises(RuntimeError, match="terminated"):
            env.step(0)


def test_chemo_immune_env__truncates_after_n_days_and_then_asks_for_reset() -> None:
    """After n_days the episode is truncated, never terminated by default; more is an error."""
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    flags = [env.step(3)[2:4] for _ in range(150)]
    assert flags == [(False, False)] * 149 + [(False, True)]
    with pytest.raises(RuntimeError, match=r"episode is over.*reset\(\)"):
        env.step(3)
    assert env.reset()[1]["day"] == 0


# ----- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "action", "match"), [
    ({}, -1, r"in 0\.\.10"), ({}, 11, r"in 0\.\.10"), ({}, 2.5, "integer level"),
    ({}, np.array([1, 2]), "1 integer"), ({"continuous": True}, np.array([np.nan]), "finite"),
    ({"continuous": True}, np.array([1.5]), r"\[-1, 1\]")])
def test_chemo_immune_env__bad_actions_raise_a_clear_error(kwargs: dict, action,  # noqa: ANN001
                                                           match: str) -> None:
    """Out-of-range, non-integer, NaN and wrongly shaped actions name what is allowed."""
    env = gym.make(ENV_ID, **kwargs)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        env.unwrapped.step(action)


def test_chemo_immune_env__bad_options_and_pinned_patients_name_the_field() -> None:
    """Unknown options or patient fields, and out-of-range values, are errors naming them."""
    env = gym.make(ENV_ID)
    cases = [({"patien": {}}, r"unknown reset option\(s\) \['patien'\]"),
             ({"patient": {"eta_r1": 0.1}}, r"\['eta_r1'\]; allowed: .*'eta_a2'"),
             ({"patient": {"tumour_at_start": 1.5}}, r"tumour_at_start must be in \(0, 1/b1"),
             ({"patient": {"eta_a2": float("nan")}}, r"row 1, column 'eta_a2': got a missing")]
    for options, match in cases:
        with pytest.raises(ValueError, match=match):
            env.reset(seed=0, options=options)
    vec = gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="vector_entry_point")
    with pytest.raises(ValueError, match=r"one entry per reset env \(2 of 2\), got 1"):
        vec.reset(seed=0, options={"patients": pd.DataFrame([PATIENT])})


@pytest.mark.parametrize(("build", "match"), [
    (lambda: ChemoImmuneScenario(n_days=0), r"n_days must be in 1\.\.3650, got 0"),
    (lambda: ChemoImmuneScenario(dose_step=0.0), "dose_step"),
    (lambda: ChemoImmuneScenario(normal_cell_floor=-1.0), "normal_cell_floor"),
    (lambda: ChemoImmuneScenario(tumour_at_start_median=0.9), "tumour_at_start_median"),
    (lambda: ChemoImmuneScenario(measurement_log_sd=3.0), r"measurement_log_sd must be in"),
    (lambda: ChemoSolver(method="euler"), r"solver\.method: 'euler' is not one of"),
    (lambda: ChemoSolver(max_step_h=0.0), "max_step_h"),
    (lambda: TumourReductionReward(dose_cost=-1.0), r"reward\.dose_cost must be finite")])
def test_chemo_immune_scenario__bad_fields_name_the_field(build, match: str) -> None:  # noqa: ANN001
    """Scenario, solver and reward fields out of their domain raise, naming the field."""
    with pytest.raises(ValueError, match=match):
        build()


# ----- scenario files, render, dataset, CLI ----------------------------------------------------
def test_chemo_immune_env__yaml_scenario_configures_the_env(tmp_path: Path) -> None:
    """A YAML file sets horizon, floor, model and solver; unknown keys and bad values fail."""
    path = tmp_path / "clinic.yaml"
    path.write_text(f"env: {ENV_ID}\nn_days: 12\nnormal_cell_floor: 0.7\n"
                    "de_pillis:\n  r1_tumour_growth_per_day: 1.2\n"
                    "solver:\n  method: dopri5\n  max_step_h: 6\nreward:\n  dose_cost: 0.2\n")
    env = gym.make(ENV_ID, scenario=str(path))
    assert env.unwrapped.core.settings.scenario == ChemoImmuneScenario(
        n_days=12, normal_cell_floor=0.7, de_pillis=DePillis2003(r1_tumour_growth_per_day=1.2),
        solver=ChemoSolver(method="dopri5", max_step_h=6.0),
        reward=TumourReductionReward(dose_cost=0.2))
    assert env.observation_space["doses"].shape == (12,)
    trace = rollout(env, 0, [5] * 12)
    assert [info["day"] for _, _, info in trace] == list(range(13))
    for text, message in {"n_dayz: 3": r"clinic\.yaml\.n_dayz: unknown field; allowed: \[",
                          "de_pillis:\n  r9: 1": r"clinic\.yaml\.de_pillis\.r9: unknown",
                          "stop_below_floor: maybe": "expected true or false",
                          "de_pillis:\n  a2_tumour_kill_per_day: -1": "a2_tumour_kill_per_day"
                          }.items():
        path.write_text(f"env: {ENV_ID}\n{text}\n")
        with pytest.raises(ValueError, match=message):
            gym.make(ENV_ID, scenario=str(path))
    with pytest.raises(ValueError, match="VancomycinScenario cannot configure"):
        gym.make(ENV_ID, scenario=str(ROOT / "scenarios" / "vancomycin_adult.yaml"))


def test_chemo_immune_scenario_file__is_the_typical_patient_without_noise() -> None:
    """The shipped Padmanabhan file loads: defaults except no variability and no noise."""
    scenario = load_scenario(ROOT / "scenarios" / "chemo_immune_padmanabhan.yaml")
    assert scenario == ChemoImmuneScenario(
        tumour_at_start_cv=0.0, measurement_log_sd=0.0,
        de_pillis=DePillis2003(cv_a2=0.0, cv_a3=0.0, cv_d2=0.0))


def test_chemo_immune_env__renders_and_exports_the_episode_as_a_nonmem_dataset() -> None:
    """Text and RGB renders work; one infusion row per non-zero dose, three DV rows a day."""
    env = gym.make(ENV_ID, render_mode="ansi")
    levels = [10, 0, 5, 5, 0, 3]
    trace = rollout(env, 2, levels, {"patient": PATIENT})
    assert env.render().startswith("day 6/150  last dose 0.3  N ")
    table = env.unwrapped.episode_dataset()
    doses, levels_table = table[table["EVID"] == 1], table[table["EVID"] == 0]
    np.testing.assert_allclose(doses["AMT"], [0.1 * lv for lv in levels if lv])
    np.testing.assert_allclose(doses["RATE"], doses["AMT"] / 24.0)
    assert doses["TIME"].tolist() == [24.0 * d for d, lv in enumerate(levels) if lv]
    assert len(levels_table) == 3 * 7 and table["ID"].eq(7).all()
    tumour = levels_table[levels_table["CMT"] == 3]
    np.testing.assert_allclose(tumour["DV"], [obs["cells"][1] for obs, _, _ in trace])
    assert table["TUMOUR0"].eq(0.3).all()
    assert table.loc[table["TIME"] == 0.0, "EVID"].tolist() == [0, 0, 0, 1]
    frame = gym.make(ENV_ID, render_mode="rgb_array")
    frame.reset(seed=2)
    frame.step(10)
    image = frame.render()
    assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8 and image.std() > 0


def test_chemo_immune_evaluate_cli__runs_the_constant_and_threshold_baselines(
        tmp_path: Path) -> None:
    """``pkgym evaluate`` scores both baselines on 5 patients and writes the report."""
    out = subprocess.run(
        [sys.executable, "-m", "pkgym.cli", "evaluate", "--env", ENV_ID, "--policy", "constant",
         "--policy", "threshold", "--n-patients", "5", "--out", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    results = pd.read_csv(tmp_path / "results.csv")
    assert results.groupby("policy").size().to_dict() == {"constant": 5, "threshold": 5}
    constant = results[results["policy"] == "constant"]
    assert constant["total_drug"].eq(150.0).all() and constant["dose_149"].eq(1.0).all()
    assert {"final_tumour_relative", "min_normal_cells", "days_below_normal_floor",
            "tumour_eradicated"} <= set(results.columns)
    assert "| threshold |" in out.stdout and (tmp_path / "report.html").is_file()
