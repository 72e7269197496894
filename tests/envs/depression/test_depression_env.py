"""``pkgym/Depression-v0``: the escitalopram clinic it models (the contract: test_contract.py)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from contract import rollout_episode as rollout

import pkgym  # noqa: F401
from pkgym.envs.depression.clinic import DepressionScenario, SymptomReliefReward
from pkgym.models.depression_drug import DepressionPatientModel, SymptomScale, symptom_score
from pkgym.scenarios import load_scenario

ENV_ID = "pkgym/Depression-v0"
SHORT = DepressionScenario(n_weeks=3)
PATIENT = {"age_years": 70.0, "is_female": 1, "weight_kg": 62.0, "eta_rho": 0.1,
           "eta_epsilon": -0.2, "eta_gamma": 0.05, "eta_CL": 0.3, "eta_emax": -0.5, "id": 9}


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
