"""``pkgym/Addiction-v0``: the env contract."""

from __future__ import annotations

import subprocess
import sys
import warnings
from dataclasses import replace
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import pkgym  # noqa: F401
from pkgym.envs.addiction.clinic import AddictionScenario

ENV_ID = "pkgym/Addiction-v0"
ROOT = Path(__file__).resolve().parents[2]
SHORT = AddictionScenario(n_weeks=3, burn_in_days=60)
PATIENT = {"eta_learning_rate": 0.2, "eta_dopamine_surge": -0.3, "eta_inverse_temperature": 0.1,
           "eta_reward_sensitivity": 0.0, "id": 9}


def rollout(env: gym.Env, seed: int, actions, options: dict | None = None) -> list:  # noqa: ANN001
    """Observations, rewards and infos of one episode with fixed actions."""
    obs, info = env.reset(seed=seed, options=options)
    trace = [(obs, 0.0, info)]
    for action in actions:
        obs, reward, _, _, info = env.step(int(action))
        trace.append((obs, reward, info))
    return trace


def assert_same(first: list, second: list) -> None:
    """Two rollouts are identical."""
    for (oa, ra, ia), (ob, rb, ib) in zip(first, second, strict=True):
        for key in oa:
            np.testing.assert_array_equal(oa[key], ob[key], err_msg=key)
        assert ra == rb
        for key in ia:
            np.testing.assert_array_equal(ia[key], ib[key], err_msg=key)


def test_addiction_env__passes_both_env_checkers_without_warnings() -> None:
    """Gymnasium's and SB3's checkers pass and warn about nothing."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(gym.make(ENV_ID).unwrapped)
        sb3_check_env(gym.make(ENV_ID).unwrapped)
    assert [str(w.message) for w in caught] == []


def test_addiction_env__same_seed_same_episode_other_seed_differs() -> None:
    """A seed replays the patient, choices and noise; another seed differs."""
    actions = np.random.default_rng(0).integers(0, 7, 24)
    first = rollout(gym.make(ENV_ID), 3, actions)
    assert_same(first, rollout(gym.make(ENV_ID), 3, actions))
    assert rollout(gym.make(ENV_ID), 4, actions)[0][2]["value_drug"] != first[0][2]["value_drug"]


def test_addiction_env__episode_is_the_same_in_another_process() -> None:
    """A seed gives the same rewards in a fresh interpreter."""
    code = ("import gymnasium as gym, pkgym; e = gym.make('pkgym/Addiction-v0'); "
            "e.reset(seed=11); print(repr(sum(e.step(d % 7)[1] for d in range(24))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    env = gym.make(ENV_ID)
    env.reset(seed=11)
    assert float(out) == sum(env.step(d % 7)[1] for d in range(24))


@pytest.mark.parametrize("mode", ["NextStep", "SameStep"])
def test_addiction_vector_env__matches_single_envs_through_autoresets(mode: str) -> None:
    """Vector slot i with seed s is a single env with seed s + i, across autoresets."""
    n, steps = 3, 8
    vec = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point",
                       autoreset_mode=mode, scenario=SHORT)
    singles = [gym.make(ENV_ID, scenario=SHORT) for _ in range(n)]
    actions = np.random.default_rng(2).integers(0, 7, (steps, n))
    obs, info = vec.reset(seed=100)
    single = [env.reset(seed=100 + i) for i, env in enumerate(singles)]
    done = np.zeros(n, bool)
    for t in range(steps):
        for i in range(n):
            np.testing.assert_array_equal(obs["reported_use_days"][i],
                                          single[i][0]["reported_use_days"])
            assert info["value_drug"][i] == single[i][1]["value_drug"]
        obs, reward, term, trunc, info = vec.step(actions[t])
        for i, env in enumerate(singles):
            if mode == "NextStep" and done[i]:
                single[i] = env.reset()
                continue
            o, r, _, tr, inf = env.step(int(actions[t, i]))
            assert r == reward[i]
            single[i] = (o, inf)
            if mode == "SameStep" and tr:
                assert info["final_info"]["value_drug"][i] == inf["value_drug"]
                single[i] = env.reset()
        done = term | trunc


def test_addiction_env__pinned_patient_reward_formula_and_bad_input() -> None:
    """Pinned etas set the learner; reward = abstinent days - burden; bad input fails."""
    env = gym.make(ENV_ID)
    _, info = env.reset(seed=1, options={"patient": PATIENT})
    assert info["patient_id"] == 9
    np.testing.assert_allclose(info["dopamine_surge"], 0.1 * np.exp(-0.3))
    _, reward, _, _, info = env.step(3)
    assert reward == pytest.approx(info["abstinent_days"] - 1.0)
    assert info["treatment_burden"] == 1.0 and info["naltrexone_occupancy"] > 0.5
    with pytest.raises(ValueError, match="action"):
        env.step(7)
    with pytest.raises(ValueError, match="unknown patient"):
        env.reset(options={"patient": {"eta_CL": 0.1}})
    with pytest.raises(ValueError, match="continuous"):
        gym.make(ENV_ID, continuous=True)


def test_addiction_env__yaml_render_and_dataset(tmp_path: Path) -> None:
    """The YAML scenario loads; ansi and rgb renders; the dataset has doses and DV."""
    env = gym.make(ENV_ID, scenario=str(ROOT / "scenarios/addiction.yaml"), render_mode="ansi")
    assert env.unwrapped.core.settings.scenario == AddictionScenario()
    bad = tmp_path / "bad.yaml"
    bad.write_text("env: pkgym/Addiction-v0\nn_weeks: 0\n")
    with pytest.raises(ValueError, match="n_weeks"):
        gym.make(ENV_ID, scenario=str(bad))
    env.reset(seed=0)
    env.step(5)
    assert env.render().startswith("week 1/24  treatment buprenorphine_24mg")
    table = env.unwrapped.episode_dataset()
    assert set(table.loc[table.EVID == 1, "CMT"]) == {2} and table.DV.notna().sum() == 1
    rgb = gym.make(ENV_ID, scenario=replace(SHORT), render_mode="rgb_array")
    rgb.reset(seed=0)
    assert rgb.render().ndim == 3
