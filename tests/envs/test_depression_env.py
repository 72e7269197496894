"""``pkgym/Depression-v0``: the env contract and the escitalopram clinic it models."""

from __future__ import annotations

import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from contract import assert_same_trace, assert_slot
from contract import rollout_episode as rollout
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import pkgym  # noqa: F401
from pkgym.envs.depression.clinic import DepressionScenario, SymptomReliefReward
from pkgym.models.depression_drug import DepressionPatientModel, SymptomScale, symptom_score
from pkgym.scenarios import load_scenario

ENV_ID = "pkgym/Depression-v0"
SHORT = DepressionScenario(n_weeks=3)
PATIENT = {"age_years": 70.0, "is_female": 1, "weight_kg": 62.0, "eta_rho": 0.1,
           "eta_epsilon": -0.2, "eta_gamma": 0.05, "eta_CL": 0.3, "eta_emax": -0.5, "id": 9}




@pytest.mark.parametrize("kwargs", [{}, {"continuous": True}])
def test_depression_env__passes_both_env_checkers_without_warnings(kwargs: dict) -> None:
    """Gymnasium's and Stable-Baselines3's env checkers pass and warn about nothing."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(gym.make(ENV_ID, **kwargs).unwrapped)
        sb3_check_env(gym.make(ENV_ID, **kwargs).unwrapped)
    assert [str(w.message) for w in caught] == []


def test_depression_env__same_seed_same_episode_and_different_seed_differs() -> None:
    """One seed replays ratings, PRT sessions and events; another seed draws another patient."""
    env = gym.make(ENV_ID)
    actions = [4, 3, 2, 0, 1, 4, 4, 2, 2, 3, 1, 0]
    first = rollout(env, 3, actions)
    assert_same_trace(first, rollout(gym.make(ENV_ID), 3, actions))
    assert_same_trace(first, rollout(env, 3, actions))
    other = rollout(env, 4, actions)
    assert other[0][0]["covariates"].tolist() != first[0][0]["covariates"].tolist()
    assert other[-1][0]["response_bias"].tolist() != first[-1][0]["response_bias"].tolist()


def test_depression_env__episode_is_the_same_in_another_process() -> None:
    """A seed gives the same rewards, ratings and response biases in a fresh interpreter."""
    code = ("import gymnasium as gym, pkgym; e = gym.make('pkgym/Depression-v0');"
            "e.reset(seed=11); r = [e.step(a)[1] for a in (2, 4, 1, 3)];"
            "o = e.unwrapped.core.observe();"
            "print(repr(sum(r)), o['madrs'][0].tolist(), o['response_bias'][0].tolist())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split(" ", 1)
    env = gym.make(ENV_ID)
    env.reset(seed=11)
    here = sum(env.step(a)[1] for a in (2, 4, 1, 3))
    obs = env.unwrapped.core.observe()
    assert float(out[0]) == here
    assert out[1].strip() == f"{obs['madrs'][0].tolist()} {obs['response_bias'][0].tolist()}"




@pytest.mark.parametrize("mode", ["NextStep", "SameStep"])
def test_depression_vector_env__matches_single_envs_step_by_step(mode: str, rng) -> None:  # noqa: ANN001
    """Slot i with seed s is a single env with seed s + i, through autoresets."""
    n, steps = 3, 9
    vec = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point",
                       autoreset_mode=mode, scenario=SHORT)
    assert vec.metadata["autoreset_mode"] == gym.vector.AutoresetMode(mode)
    singles = [gym.make(ENV_ID, scenario=SHORT) for _ in range(n)]
    actions = rng.integers(0, 5, (steps, n))
    obs, info = vec.reset(seed=100)
    for i, env in enumerate(singles):
        assert_slot(obs, info, i, *env.reset(seed=100 + i))
    waiting, truncations = np.zeros(n, dtype=bool), 0
    for step in range(steps):
        out = vec.step(actions[step])
        truncations += int(out[3].sum())
        for i, env in enumerate(singles):
            if waiting[i]:
                assert out[1][i] == 0.0 and not out[3][i]
                single_obs, single_info = env.reset()
                waiting[i] = False
            else:
                single_obs, reward, _, truncated, single_info = env.step(int(actions[step, i]))
                assert out[1][i] == reward and out[3][i] == truncated
                if truncated and mode == "SameStep":
                    assert_slot(out[4]["final_obs"], out[4]["final_info"], i, single_obs,
                                single_info)
                    single_obs, single_info = env.reset()
                waiting[i] = truncated and mode == "NextStep"
            assert_slot(out[0], out[4], i, single_obs, single_info)
    assert truncations >= n * 2


def test_depression_env__pinned_patient_has_the_model_parameters() -> None:
    """Pinned covariates and etas give DepressionPatientModel's parameters and baseline score."""
    env = gym.make(ENV_ID)
    _, info = env.reset(seed=0, options={"patient": PATIENT})
    etas = np.array([[PATIENT[k] for k in ("eta_rho", "eta_epsilon", "eta_gamma", "eta_CL",
                                           "eta_emax")]])
    expected = DepressionPatientModel().parameters(np.array([70.0]), etas)
    assert info["baseline_reward_sensitivity"] == pytest.approx(0.5 * np.exp(0.1), rel=1e-14)
    assert info["clearance_l_per_h"] == pytest.approx(36.0 / 1.5 * np.exp(0.3), rel=1e-14)
    assert info["learning_rate"] == expected["epsilon"][0]
    assert info["drug_emax"] == expected["emax"][0] and info["patient_id"] == 9
    rho0 = 0.5 * np.exp(0.1)
    assert info["symptom_score"] == pytest.approx(4 + 26 * np.log(rho0) / np.log(0.5))
    obs = env.unwrapped.core.observe()
    assert obs["covariates"][0].tolist() == [70.0, 1.0, 62.0]


def test_depression_env__reward_is_the_documented_formula_from_info() -> None:
    """Reward = 0.1 x true improvement - 1.0 x side-effect probability, every week."""
    reward_fn = SymptomReliefReward(improvement_per_point=0.3, side_effect_weight=2.0)
    env = gym.make(ENV_ID, reward_fn=reward_fn)
    trace = rollout(env, 5, [4] * 12)
    for (_, _, _, _, before), (_, reward, _, _, after) in zip(trace, trace[1:], strict=False):
        expected = (0.3 * (before["symptom_score"] - after["symptom_score"])
                    - 2.0 * after["adverse_probability"])
        assert reward == pytest.approx(expected, rel=1e-12)
    assert trace[-1][4]["adverse_probability"] > 0.05 and trace[-1][3]


def test_depression_env__rated_score_is_the_true_score_without_rater_noise() -> None:
    """With rater SD 0 the rated MADRS is the rounded true score; the observation hides rho."""
    model = DepressionPatientModel(scale=SymptomScale(rater_sd=0.0))
    env = gym.make(ENV_ID, scenario=DepressionScenario(model=model))
    trace = rollout(env, 2, [2, 2, 2])
    for k, (obs, _, _, _, info) in enumerate(trace):
        assert obs["madrs"][k] == np.round(info["symptom_score"])
        assert info["symptom_score"] == pytest.approx(
            symptom_score(np.array([info["reward_sensitivity"]]), model)[0])
    assert set(trace[0][0]) == {"covariates", "madrs", "response_bias", "accuracy",
                                "assessed", "doses_mg", "adverse_event", "week"}


@pytest.mark.parametrize("action", [5, -1, 1.5, np.array([1, 2])])
def test_depression_env__bad_actions_raise_a_clear_error(action) -> None:  # noqa: ANN001
    """Out-of-range, non-integer or wrongly shaped actions name what is allowed."""
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(action)


def test_depression_env__bad_options_scenarios_and_late_steps_are_errors() -> None:
    """Unknown patient fields, bad scenarios and stepping past the end fail clearly."""
    env = gym.make(ENV_ID, scenario=SHORT)
    with pytest.raises(ValueError, match="unknown patient field"):
        env.reset(seed=0, options={"patient": {**PATIENT, "height": 1}})
    with pytest.raises(ValueError, match="age_years"):
        env.reset(seed=0, options={"patient": {**PATIENT, "age_years": 5}})
    with pytest.raises(ValueError, match="n_weeks"):
        DepressionScenario(n_weeks=0)
    env = gym.make(ENV_ID, scenario=SHORT)
    env.reset(seed=0)
    for _ in range(3):
        env.step(0)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_depression_env__yaml_scenario_loads_the_defaults_and_rejects_unknown_keys(
        tmp_path) -> None:  # noqa: ANN001
    """scenarios/depression.yaml equals the defaults; an unknown key names its path."""
    assert load_scenario("scenarios/depression.yaml") == DepressionScenario()
    bad = tmp_path / "bad.yaml"
    bad.write_text("env: pkgym/Depression-v0\nmodel: {drug: {clearance: 3}}\n")
    with pytest.raises(ValueError, match="model.drug.clearance"):
        gym.make(ENV_ID, scenario=str(bad))


def test_depression_env__renders_text_and_image_and_writes_a_nonmem_dataset() -> None:
    """Ansi text names the week; rgb is an image; the dataset has 7 doses a week and visits."""
    env = gym.make(ENV_ID, render_mode="ansi")
    env.reset(seed=1)
    env.step(2)
    env.step(4)
    assert env.render().startswith("week 2/12")
    image = gym.make(ENV_ID, render_mode="rgb_array")
    image.reset(seed=1)
    image.step(1)
    frame = image.render()
    assert frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8
    data = env.unwrapped.episode_dataset()
    doses, visits = data[data["EVID"] == 1], data[data["EVID"] == 0]
    assert doses["AMT"].tolist() == [10.0] * 7 + [20.0] * 7
    assert visits["TIME"].tolist() == [0.0, 168.0, 336.0]
    assert visits["DV"].tolist() == env.unwrapped.core.observe()["madrs"][0, :3].tolist()
