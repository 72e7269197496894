"""pkgym/Insulin-v0: seeding, pinning, batching, reward, physiology checks and scenario errors."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import pkgym  # noqa: F401  (registers the envs)
from pkgym.envs.insulin.clinic import InsulinScenario, MealPlan, RiskReward, StepOutcome, bg_risk
from pkgym.envs.insulin.records import clinic_settings, draw_meals, simulate_minutes
from pkgym.scenarios import from_mapping

ENV_ID = "pkgym/Insulin-v0"
ROW = {"profile": "adult#001", "patient_seed": 0, "meal_seed": 5, "noise_seed": 7, "id": 3}
NO_MEALS = MealPlan(probability=(0.0,) * 6)


def _run(env: gym.Env, actions: list[int], **reset: object) -> list[tuple]:
    obs, info = env.reset(**reset)
    trace = [(obs, 0.0, info)]
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        trace.append((obs, reward, info))
        if terminated or truncated:
            break
    return trace


def test_env__passes_checkers_without_warnings() -> None:
    """Gymnasium's and SB3's env checkers pass silently, discrete and continuous."""
    for kwargs in ({}, {"continuous": True}):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            check_env(gym.make(ENV_ID, **kwargs).unwrapped)
            sb3_check_env(gym.make(ENV_ID, **kwargs).unwrapped)
        assert [str(w.message) for w in caught] == []


def test_env__reset_seed_replays_the_episode() -> None:
    """The same seed gives the same patient, meals, noise and rewards; another seed differs."""
    actions = [3, 8, 0, 2] * 10
    a, b = _run(gym.make(ENV_ID), actions, seed=4), _run(gym.make(ENV_ID), actions, seed=4)
    for (obs_a, r_a, info_a), (obs_b, r_b, info_b) in zip(a, b, strict=True):
        assert r_a == r_b
        for key in obs_a:
            np.testing.assert_array_equal(obs_a[key], obs_b[key])
        np.testing.assert_array_equal(info_a["model_state"], info_b["model_state"])
    c = _run(gym.make(ENV_ID), actions, seed=5)
    assert not np.array_equal(a[-1][2]["cgm_mg_per_dl"], c[-1][2]["cgm_mg_per_dl"])


def test_vector_env__slots_match_single_envs() -> None:
    """Slot i of a vector env seeded s equals a single env seeded s + i, step by step."""
    n, steps = 3, 30
    vec = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point")
    singles = [gym.make(ENV_ID).unwrapped for _ in range(n)]
    obs, info = vec.reset(seed=20)
    expected = [env.reset(seed=20 + i) for i, env in enumerate(singles)]
    rng = np.random.default_rng(0)
    for _ in range(steps):
        for i, (single_obs, single_info) in enumerate(expected):
            for key in single_obs:
                np.testing.assert_array_equal(obs[key][i], single_obs[key])
            np.testing.assert_array_equal(info["model_state"][i], single_info["model_state"])
        actions = rng.integers(0, 6, n)
        obs, reward, _, _, info = vec.step(actions)
        expected = []
        for i, env in enumerate(singles):
            single_obs, single_reward, _, _, single_info = env.step(int(actions[i]))
            assert reward[i] == single_reward
            expected.append((single_obs, single_info))


def test_env__pinned_row_is_that_patient_whatever_the_seed() -> None:
    """Pinning a row fixes profile, meals and noise; the env's seed no longer matters."""
    env = gym.make(ENV_ID).unwrapped
    _, first = env.reset(seed=1, options={"patient": ROW})
    _, second = env.reset(seed=99, options={"patient": ROW})
    assert first["patient_id"] == 3 and first["profile_index"] == 10  # adult#001
    np.testing.assert_array_equal(first["meal_minutes"], second["meal_minutes"])
    assert first["cgm_mg_per_dl"] == second["cgm_mg_per_dl"]
    assert first["bg_mg_per_dl"] == pytest.approx(138.56, abs=0.01)
    with pytest.raises(ValueError, match="hovorka2004"):
        env.reset(options={"patient": {**ROW, "profile": "hovorka2004"}})


def test_cohort__rows_cycle_through_the_profiles() -> None:
    """30 consecutive rows of a block hold each of the 30 profiles once; row k is size-invariant."""
    settings = clinic_settings(InsulinScenario())
    cohort = settings.sample_cohort(60, np.random.SeedSequence(3))
    assert cohort["profile"].iloc[:30].nunique() == 30
    assert cohort["profile"].iloc[30:].nunique() == 30
    part = settings.sample_cohort(5, np.random.SeedSequence(3), start=40)
    assert part.reset_index(drop=True).equals(cohort.iloc[40:45].reset_index(drop=True))


def test_reward__is_minus_weighted_risk_of_true_plasma_glucose() -> None:
    """The step's reward is -(w rl + rh) averaged over the step's minutes of true plasma BG."""
    env = gym.make(ENV_ID).unwrapped
    env.reset(seed=0, options={"patient": ROW})
    core = env.core
    state, memory = core.records.state.copy(), core.records.memory.copy()
    _, reward, terminated, _, _ = env.step(8)  # 3 U
    _, _, _, bg, _, _ = simulate_minutes("uva_padova", core.records.params, state, memory,
                                         np.zeros(1), np.full((1, 5), 3.0 / 5), np.zeros((1, 5)))
    low, high = bg_risk(bg)
    assert not terminated
    assert reward == pytest.approx(-(2.0 * low + high).mean())
    weighted = gym.make(ENV_ID, scenario=InsulinScenario(reward=RiskReward(hypo_weight=5.0)))
    assert weighted.unwrapped.core.reward_fn.hypo_weight == 5.0
    outcome = StepOutcome(np.array([3.0]), np.array([1.0]), np.array([True]), np.array([7.0]))
    assert RiskReward(hypo_weight=5.0)(outcome, np.zeros(1)).tolist() == [-16.0 - 700.0]


def test_env__termination_below_10_mg_per_dl_is_penalised() -> None:
    """Eight units every 5 min drive BG below 10 mg/dL: terminated with the penalty."""
    env = gym.make(ENV_ID)
    env.reset(seed=0, options={"patient": {**ROW, "profile": "child#001"}})
    for _ in range(288):
        _, reward, terminated, truncated, info = env.step(10)
        if terminated:
            break
    assert terminated and not truncated
    assert reward < -100.0 * (288 - info["step"])
    assert info["cost"] == 1.0


def test_env__basal_fasting_keeps_the_patient_at_basal_glucose() -> None:
    """No meals, the pump's basal rate (exact, continuous): BG stays within 3% of basal."""
    env = gym.make(ENV_ID, continuous=True, scenario=InsulinScenario(meals=NO_MEALS)).unwrapped
    _, info = env.reset(seed=0, options={"patient": ROW})
    basal_step = info["basal_u_per_h"] * 5.0 / 60.0
    action = np.array([2.0 * basal_step / 8.0 - 1.0], dtype=np.float32)
    start = info["bg_mg_per_dl"]
    for _ in range(144):  # 12 h
        _, _, _, _, info = env.step(action)
    assert info["bg_mg_per_dl"] == pytest.approx(start, rel=0.03)
    assert info["time_in_range_fraction"] == 1.0 and info["carbs_g"] == 0.0


def test_meals__follow_simglucose_plan_and_announcement() -> None:
    """Meals lie in the episode window; announced carbs show only with announce_meals."""
    minutes, grams = draw_meals(InsulinScenario(n_days=2), list(range(50)))
    taken = minutes >= 0
    assert np.all(minutes[taken] < 2 * 1440) and np.all(grams[taken] > 0)
    assert 2.5 < taken.sum() / 50 / 2 < 4.0  # 3 x 0.95 + 3 x 0.3, less pre-06:00 breakfasts
    for announce in (True, False):
        env = gym.make(ENV_ID, scenario=InsulinScenario(announce_meals=announce)).unwrapped
        _, info = env.reset(seed=0, options={"patient": ROW})
        shown = 0.0
        for _ in range(200):
            obs, _, _, _, info = env.step(2)
            shown += float(obs["announced_carbs_g"][0])
        assert (shown > 0) == announce


def test_scenario__bad_fields_are_refused_by_name() -> None:
    """A bad field's error names it."""
    cases = {"model": "bergman", "n_days": 0, "insulin_levels_u": [0.0, 0.0], "sensor": "x",
             "history_samples": 0, "meals": {"probability": [2.0] * 6},
             "reward": {"hypo_weight": -1.0}}
    for field, value in cases.items():
        with pytest.raises(ValueError, match=field.split("_")[0]):
            from_mapping(InsulinScenario, {field: value})


def test_scenario__yaml_files_load() -> None:
    """Both shipped scenarios build an env."""
    for path in ("scenarios/insulin.yaml", "scenarios/insulin_hovorka.yaml"):
        env = gym.make(ENV_ID, scenario=path)
        obs, _ = env.reset(seed=0)
        assert obs["cgm_mask"][-1] == 1.0


def test_hovorka__patients_start_at_their_basal_glucose() -> None:
    """Hovorka rows start near 126 mg/dL, at the steady state of their programmed basal."""
    scenario = InsulinScenario(model="hovorka2004", meals=NO_MEALS)
    env = gym.make(ENV_ID, continuous=True, scenario=scenario).unwrapped
    _, info = env.reset(seed=3)
    start = info["bg_mg_per_dl"]
    assert 70.0 < start < 250.0  # 126 mg/dL at the exact rate; the pump rounds it
    action = np.array([2.0 * info["basal_u_per_h"] * 5.0 / 60.0 / 8.0 - 1.0], np.float32)
    for _ in range(72):
        _, _, _, _, info = env.step(action)
    assert info["bg_mg_per_dl"] == pytest.approx(start, rel=0.01)
