"""``pkgym/ChemoImmune-v0``: the env contract and the clinic it models."""

from __future__ import annotations

import subprocess
import sys
import warnings
from dataclasses import replace
from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
from contract import assert_slot
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

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
ROOT = Path(__file__).resolve().parents[2]
SHORT = ChemoImmuneScenario(n_days=6)
"""Six-day episodes, to cross episode ends quickly."""
QUIET = ChemoImmuneScenario(measurement_log_sd=0.0)
PATIENT = {"tumour_at_start": 0.3, "eta_a2": 0.2, "eta_a3": -0.1, "eta_d2": 0.15, "id": 7}
CELLS = ("normal_cells", "tumour_cells", "immune_cells", "drug_level")


def rollout(env: gym.Env, seed: int, actions, options: dict | None = None) -> list:  # noqa: ANN001
    """Observations, rewards and infos of one episode with fixed actions."""
    obs, info = env.reset(seed=seed, options=options)
    trace = [(obs, 0.0, info)]
    for action in actions:
        obs, reward, _, _, info = env.step(action)
        trace.append((obs, reward, info))
    return trace


def assert_same_trace(first: list, second: list) -> None:
    """Two rollouts are identical (observations, rewards, infos)."""
    for (obs_a, r_a, info_a), (obs_b, r_b, info_b) in zip(first, second, strict=True):
        for key in obs_a:
            np.testing.assert_array_equal(obs_a[key], obs_b[key], err_msg=key)
        assert r_a == r_b and info_a.keys() == info_b.keys()
        for key in info_a:
            np.testing.assert_array_equal(info_a[key], info_b[key], err_msg=key)


# ----- env checkers and determinism ------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [{}, {"continuous": True}])
def test_chemo_immune_env__passes_both_env_checkers_without_warnings(kwargs: dict) -> None:
    """Gymnasium's and Stable-Baselines3's env checkers pass and warn about nothing."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(gym.make(ENV_ID, **kwargs).unwrapped)
        sb3_check_env(gym.make(ENV_ID, **kwargs).unwrapped)
    assert [str(w.message) for w in caught] == []


def test_chemo_immune_env__same_seed_same_episode_and_different_seed_differs() -> None:
    """One seed replays the episode (patient, noise, rewards); another seed differs."""
    env = gym.make(ENV_ID)
    actions = np.random.default_rng(0).integers(0, 11, 60)
    first = rollout(env, 3, actions)
    assert_same_trace(first, rollout(gym.make(ENV_ID), 3, actions))
    other = rollout(env, 4, actions)
    assert other[0][2]["tumour_at_start"] != first[0][2]["tumour_at_start"]
    assert other[0][2]["a2_tumour_kill_per_day"] != first[0][2]["a2_tumour_kill_per_day"]
    assert_same_trace(first, rollout(env, 3, actions))


def test_chemo_immune_env__episode_is_the_same_in_another_process() -> None:
    """A seed gives the same rewards and measurements in a fresh interpreter."""
    code = ("import gymnasium as gym, pkgym; e = gym.make('pkgym/ChemoImmune-v0'); "
            "e.reset(seed=11); r = [e.step(d % 11)[1] for d in range(40)]; "
            "print(repr(sum(r)), e.unwrapped.core.observe()['cells'][0].tolist())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.split(" ", 1)
    env = gym.make(ENV_ID)
    env.reset(seed=11)
    here = sum(env.step(d % 11)[1] for d in range(40))
    assert float(out[0]) == here
    assert out[1].strip() == str(env.unwrapped.core.observe()["cells"][0].tolist())


# ----- vector env ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["NextStep", "SameStep"])
@pytest.mark.parametrize("scenario", [SHORT, replace(SHORT, n_days=12, stop_below_floor=True,
                                                     normal_cell_floor=0.8)],
                         ids=["truncation", "termination"])
def test_chemo_immune_vector_env__matches_single_envs_through_autoresets(
        mode: str, scenario: ChemoImmuneScenario) -> None:
    """Vector slot i with seed s is a single env with seed s + i, step by step, across resets."""
    n, steps = 4, 30
    vec = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point",
                       autoreset_mode=mode, scenario=scenario)
    assert vec.metadata["autoreset_mode"] == gym.vector.AutoresetMode(mode)
    singles = [gym.make(ENV_ID, scenario=scenario) for _ in range(n)]
    actions = np.random.default_rng(2).integers(0, 11, (steps, n))
    obs, info = vec.reset(seed=100)
    for i, env in enumerate(singles):
        assert_slot(obs, info, i, *env.reset(seed=100 + i))
    waiting, ends = np.zeros(n, dtype=bool), {"terminated": 0, "truncated": 0}
    for step in range(steps):
        obs, reward, terminated, truncated, info = vec.step(actions[step])
        for i, env in enumerate(singles):
            if waiting[i]:  # NEXT_STEP: the finished env is reset and its action ignored
                assert reward[i] == 0.0 and not (terminated[i] or truncated[i])
                single_obs, single_info = env.reset()
                waiting[i] = False
            else:
                single_obs, single_reward, single_term, single_trunc, single_info = env.step(
                    actions[step, i])
                assert reward[i] == single_reward
                assert (terminated[i], truncated[i]) == (single_term, single_trunc)
                if single_term or single_trunc:
                    ends["terminated" if single_term else "truncated"] += 1
                    if mode == "SameStep":
                        assert info["_final_obs"][i] and info["_final_info"][i]
                        assert_slot(info["final_obs"], info["final_info"], i, single_obs,
                                    single_info)
                        single_obs, single_info = env.reset()
                    else:
                        waiting[i] = True
            assert_slot(obs, info, i, single_obs, single_info)
    kind = "terminated" if scenario.stop_below_floor else "truncated"
    assert ends[kind] >= n


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
             ({"patient": {"eta_a2": float("nan")}}, r"eta_a2 must be finite")]
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
