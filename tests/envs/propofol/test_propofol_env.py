"""pkgym/Propofol-v0: exact physiology in the env, the delayed monitor, reward, scores, cohorts."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import pkgym  # noqa: F401  (registers the envs)
from pkgym.envs.propofol.clinic import BisReward, PropofolScenario, StepOutcome
from pkgym.envs.propofol.records import clinic_settings
from pkgym.envs.propofol.views import PROPOFOL_OUTCOMES
from pkgym.evaluation.cohorts import env_cohort
from pkgym.models.propofol_eleveld import Eleveld2018, bis_of_ce, eleveld_pd, eleveld_pk, rhs
from pkgym.scenarios import from_mapping

ENV_ID = "pkgym/Propofol-v0"
REFERENCE = {"age_years": 35.0, "weight_kg": 70.0, "height_cm": 170.0, "is_female": 0,
             "opioid": 0, **{f"eta_{name}": 0.0 for name in ("V1", "V2", "V3", "CL", "Q2",
                                                               "Q3", "KE0", "CE50", "BIS")}}
QUIET = PropofolScenario(bis_noise_scale=0.0, n_minutes=5)


def _ode_state(rate_mg_per_min: float, t_min: float) -> np.ndarray:
    """The reference patient's state after ``t_min`` at a constant rate (solve_ivp, 1e-10)."""
    pk = eleveld_pk(Eleveld2018(), *[np.array([v]) for v in (35.0, 70.0, 170.0, 0.0, 0.0)])
    if t_min <= 0:
        return np.zeros(4)
    return solve_ivp(rhs, (0.0, t_min), np.zeros(4), args=(pk, np.array([rate_mg_per_min])),
                     method="DOP853", rtol=1e-10, atol=1e-14).y[:, -1]


def test_env__reference_patient_follows_solve_ivp_and_the_monitor_lags_by_the_delay() -> None:
    """12 mg/kg/h for 5 min: Cp, Ce exact; the noise-free monitor shows BIS of t - 21.1 s."""
    env = gym.make(ENV_ID, scenario=QUIET)
    env.reset(seed=0, options={"patient": REFERENCE})
    action = 9  # 12 mg/kg/h
    assert env.unwrapped.core.dose_levels_mg[action] == 12.0
    rate = 12.0 * 70.0 / 60.0
    pd = eleveld_pd(Eleveld2018(), np.array([35.0]))
    delay_min = (15.0 + np.exp(0.0517 * 35.0)) / 60.0
    for k in range(1, 31):
        info = env.step(action)[-1]
        state = _ode_state(rate, k / 6.0)
        assert info["cp_ug_per_ml"] == pytest.approx(state[0] / 6.28, rel=1e-8)
        assert info["ce_ug_per_ml"] == pytest.approx(state[3], rel=1e-8)
        seen = _ode_state(rate, k / 6.0 - delay_min)[3]
        assert info["bis_measured"] == pytest.approx(bis_of_ce(np.array([seen]), pd)[0],
                                                     rel=1e-8)
    assert info["total_propofol_mg_per_kg"] == pytest.approx(1.0)


def test_env__observation_holds_the_monitor_history_rates_and_covariates() -> None:
    """After 3 steps: 4 BIS samples, 3 rates (oldest first), the pinned covariates, 0.5 min."""
    env = gym.make(ENV_ID, scenario=QUIET)
    obs, _ = env.reset(seed=1, options={"patient": REFERENCE})
    assert obs["bis"][-1] == pytest.approx(93.0) and obs["bis_mask"].sum() == 1
    for action in (17, 5, 0):
        obs = env.step(action)[0]
    assert obs["bis_mask"].sum() == 4
    np.testing.assert_allclose(obs["rates_mg_per_kg_per_h"][-3:], [160.0, 5.0, 0.0])
    np.testing.assert_allclose(obs["covariates"], [35.0, 70.0, 170.0, 0.0, 0.0])
    assert obs["elapsed_min"][0] == pytest.approx(0.5)


def test_env__monitor_noise_is_eleveld_sd_and_clipped() -> None:
    """Drug-free, the monitor's spread is 8.03 exp(eta_BIS); readings stay within 0-100."""
    env = gym.make(ENV_ID)
    env.reset(seed=2, options={"patient": {**REFERENCE, "eta_BIS": 0.0}})
    readings = np.array([env.step(0)[-1]["bis_measured"] for _ in range(180)])
    assert readings.min() >= 0.0 and readings.max() <= 100.0
    below = readings[readings < 99.0]  # the clipped tail is above
    assert below.size > 100 and np.std(readings - 93.0) == pytest.approx(8.03, rel=0.3)


def test_reward__in_range_depth_and_dose_terms_are_hand_computable() -> None:
    """BIS 50 at 10 mg/kg/h: 1 - 0.01; BIS 30: -1 - 0.01 * 2; BIS 80: -2 (light, no dose)."""
    reward = BisReward()(StepOutcome(np.array([50.0, 30.0, 80.0]), np.array([10.0, 20.0, 0.0])),
                         np.zeros(3))
    np.testing.assert_allclose(reward, [0.99, -1.02, -2.0])
    with pytest.raises(ValueError, match="deep_weight"):
        BisReward(deep_weight=-1.0)


def test_scores__never_induced_counts_the_episode_length() -> None:
    """No propofol: all time above 60, induction scored as the 5-min episode, zero dose."""
    env = gym.make(ENV_ID, scenario=QUIET)
    env.reset(seed=3)
    infos = []
    for _ in range(30):
        infos.append(env.step(0)[-1])
    steps = {key: np.array([[info[key] for info in infos]]) for key in
             PROPOFOL_OUTCOMES.step_metrics}
    scores = PROPOFOL_OUTCOMES.episode_scores(steps, {})
    assert scores["induction_time_min"].tolist() == [5.0]
    assert scores["time_above_60_fraction"].tolist() == [1.0]
    assert scores["total_propofol_mg_per_kg"].tolist() == [0.0]


def test_scenario__yaml_loads_and_bad_fields_are_named() -> None:
    """The shipped YAML builds the env; bad levels and probabilities name their field."""
    env = gym.make(ENV_ID, scenario="scenarios/propofol_no_opioid.yaml")
    obs, _ = env.reset(seed=0)
    assert obs["covariates"][4] == 0.0 and env.unwrapped.core.settings.scenario.n_steps == 360
    with pytest.raises(ValueError, match="rate_levels_mg_per_kg_per_h"):
        PropofolScenario(rate_levels_mg_per_kg_per_h=(1.0, 2.0))
    with pytest.raises(ValueError, match="opioid_probability"):
        from_mapping(PropofolScenario, {"opioid_probability": 2.0})
    with pytest.raises(ValueError, match="unknown patient field"):
        gym.make(ENV_ID).reset(options={"patient": {**REFERENCE, "dose": 1}})


def test_cohort__row_k_is_the_same_patient_in_any_cohort_size() -> None:
    """Evaluation cohorts: patient 3 of 5 equals patient 0 of a shard starting at 3."""
    settings = clinic_settings(PropofolScenario())
    whole = env_cohort(settings, 5, seed=7)
    part = env_cohort(settings, 2, seed=7, start=3)
    assert whole.iloc[3:].reset_index(drop=True).equals(part)
    assert {"age_years", "opioid", "eta_CE50"} <= set(whole.columns)
    assert whole["age_years"].between(18, 85).all()


def test_stimulation__adds_its_bis_points_to_the_true_and_the_delayed_monitor_bis() -> None:
    """'realistic' at 11 min: true BIS = drug BIS + 20; the monitor adds the delayed point."""
    scenario = PropofolScenario(bis_noise_scale=0.0, n_minutes=12, stimulation="realistic")
    env = gym.make(ENV_ID, scenario=scenario)
    env.reset(seed=0, options={"patient": REFERENCE})
    for _ in range(66):  # 11 min at 0 mg/kg/h: drug-free, BIS 93 + 20 clipped to 100
        info = env.step(0)[-1]
    assert info["stimulation_bis"] == 20.0 and info["bis"] == 100.0
    env.reset(seed=0, options={"patient": REFERENCE})
    pd = eleveld_pd(Eleveld2018(), np.array([35.0]))
    for _ in range(66):
        info = env.step(9)[-1]
    drug = bis_of_ce(np.array([info["ce_ug_per_ml"]]), pd)[0]
    assert info["bis"] == pytest.approx(drug + 20.0, rel=1e-12)
    with pytest.raises(ValueError, match="stimulation"):
        PropofolScenario(stimulation="ionescu")
