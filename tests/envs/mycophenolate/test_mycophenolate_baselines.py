"""MMF baselines of ``pkgym/Mycophenolate-v0``: fixed, trough protocol, oracle; hooks."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401  (registers the envs)
from agents.env_hooks import agent_hooks, make_baseline
from agents.policies.mycophenolate.baselines import OraclePolicy, TroughProtocolPolicy
from pkgym.envs.mycophenolate.clinic import COVARIATES
from pkgym.models.mycophenolate import PARAM_NAMES, steady_profile

ENV_ID = "pkgym/Mycophenolate-v0"
LEVELS = np.arange(250.0, 2001.0, 250.0)


def _episode(name: str, n: int = 6, seed: int = 0) -> tuple[dict, dict, float]:
    """A vector episode of ``n`` patients under baseline ``name``: last obs, info, returns."""
    env = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point")
    core = env.unwrapped.core
    policy = make_baseline(name, core)
    policy.reset(n)
    obs, info = env.reset(seed=seed)
    total = np.zeros(n)
    for _ in range(6):
        doses = policy.act(obs, info)
        obs, reward, _, _, info = env.step(core.encode_decisions(doses, False))
        total += reward
    return obs, info, total


def test_fixed__gives_one_gram_twice_daily_throughout() -> None:
    """Every administration of every patient is 1000 mg."""
    obs, _, _ = _episode("fixed", n=3)
    np.testing.assert_array_equal(obs["doses_mg"], 1000.0)


def test_protocol__starts_by_cni_and_scales_to_the_trough_target() -> None:
    """Day 0: 1 g (tacrolimus) or 1.5 g (ciclosporin); later the trough rule (capped 2x)."""
    policy = TroughProtocolPolicy(LEVELS)
    n_levels, n_doses = 15, 56
    doses = np.zeros((4, n_doses))
    doses[:, :7] = 1000.0
    levels, mask = np.zeros((4, n_levels)), np.zeros((4, n_levels))
    mask[:, :3] = 1.0
    levels[:, 0] = [0.5, 2.2, 4.0, 0.0]  # low, in range (tacrolimus), high, below the LOQ
    obs = {"covariates": np.tile([70.0, 50.0, 0.0, 0.0], (4, 1)), "doses_mg": doses,
           "levels_mg_per_l": levels, "level_mask": mask, "time_h": np.full((4, 1), 84.0)}
    # mid-target 2.325 mg/L: 1000 * 2.325 / 0.5 is capped at 2000; 2.2 is in 1.9-2.75: kept;
    # 1000 * 2.325 / 4.0 = 581 -> 500; below the LOQ counts as 0.125 -> capped at 2000
    assert policy.act(obs).tolist() == [2000.0, 1000.0, 500.0, 2000.0]
    start = {**obs, "time_h": np.zeros((4, 1)), "level_mask": np.zeros((4, n_levels)),
             "covariates": np.array([[70.0, 50, 0, 0], [70, 50, 0, 1]] * 2)}
    assert policy.act(start).tolist() == [1000.0, 1500.0, 1000.0, 1500.0]
    assert COVARIATES[3] == "ciclosporin"


def test_oracle_steady__picks_the_level_whose_steady_auc_is_nearest_45() -> None:
    """plan="steady_auc" minimises |AUC0-12 - 45| over the levels, by steady_profile."""
    env = gym.make(ENV_ID).unwrapped
    _, info = env.reset(seed=2)
    policy = OraclePolicy(LEVELS, plan="steady_auc")
    batched = {key: np.atleast_1d(value) for key, value in info.items()}
    choice = policy.act({"day": np.zeros((1, 1))}, batched)[0]
    params = np.array([[info[name] for name in PARAM_NAMES]])
    aucs = [steady_profile(params, np.array([dose]), np.array([12.0]))[1][0] for dose in LEVELS]
    assert choice == LEVELS[int(np.argmin(np.abs(np.array(aucs) - 45.0)))]
    with pytest.raises(ValueError, match="info"):
        policy.act({"day": np.zeros((1, 1))}, None)


def _oracle_episode(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The lookahead oracle over ``n`` patients: returns, and each step's |predicted - reward|."""
    env = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point")
    core = env.unwrapped.core
    policy = make_baseline("oracle", core)
    obs, info = env.reset(seed=seed)
    total, errors = np.zeros(n), []
    for _ in range(6):
        doses = policy.act(obs, info)
        predicted, _ = policy.predict(info)
        obs, reward, _, _, info = env.step(core.encode_decisions(doses, False))
        errors.append(np.abs(predicted[np.arange(n), np.searchsorted(LEVELS, doses)] - reward))
        total += reward
    return total, np.array(errors)


def test_oracle__predicted_step_reward_is_the_reward_the_env_gives() -> None:
    """For 4 seeded patients, every step's predicted reward of the chosen level is the env's."""
    total, errors = _oracle_episode(4, seed=7)
    assert errors.shape == (6, 4) and errors.max() < 1e-9
    assert np.ptp(total) > 0.1  # different patients, different returns: not a constant


def test_oracle__beats_the_steady_auc_heuristic_and_the_protocol() -> None:
    """Over 30 patients its mean return is >= the steady-AUC heuristic's and protocol's."""
    oracle = _oracle_episode(30, seed=0)[0].mean()
    env = gym.make_vec(ENV_ID, num_envs=30, vectorization_mode="vector_entry_point")
    core = env.unwrapped.core
    others = {}
    for name, policy in (("steady", OraclePolicy(LEVELS, plan="steady_auc")),
                         ("protocol", make_baseline("protocol", core))):
        obs, info = env.reset(seed=0)
        total = np.zeros(30)
        for _ in range(6):
            obs, reward, _, _, info = env.step(core.encode_decisions(policy.act(obs, info),
                                                                     False))
            total += reward
        others[name] = total.mean()
    assert oracle >= others["steady"] and oracle >= others["protocol"], (oracle, others)


def test_oracle__needs_the_hidden_truth_and_a_known_plan() -> None:
    """Without the planner's info keys, or with an unknown plan, a one-line ValueError."""
    policy = OraclePolicy(LEVELS)
    with pytest.raises(ValueError, match="hidden truth"):
        policy.act({"day": np.zeros((1, 1))}, {"visit": np.zeros(1)})
    with pytest.raises(ValueError, match="plan must be one of"):
        OraclePolicy(LEVELS, plan="dp")


def test_oracle__keeps_more_days_in_target_than_the_fixed_dose() -> None:
    """On the same 12 patients the oracle spends more days in 30-60 mg*h/L than 1 g bid."""
    def share(info: dict) -> float:
        daily = info["daily_auc0_12_mg_h_per_l"]
        return float(((daily >= 30) & (daily <= 60)).mean())

    fixed, oracle = _episode("fixed", 12, 4)[1], _episode("oracle", 12, 4)[1]
    assert share(oracle) > share(fixed) + 0.1


def test_hooks__vae_target_and_steps() -> None:
    """The hooks give AUC0-12 against 45 mg*h/L and the visits decided so far."""
    env = gym.make(ENV_ID).unwrapped
    obs, _ = env.reset(seed=0)
    hooks = agent_hooks(env.core, "test")
    assert hooks.mipd_target(env.core).window_h == 12.0
    assert hooks.steps_taken(env.core, {k: v[None] for k, v in obs.items()}).tolist() == [0]
    obs, *_ = env.step(3)
    assert hooks.steps_taken(env.core, {k: v[None] for k, v in obs.items()}).tolist() == [1]
    assert hooks.n_steps(env.core) == 6 and hooks.exposure_grid_h(env.core)[-1] == 672.0


def test_registry__every_baseline_is_built_by_name_and_vae_needs_its_model() -> None:
    """fixed, protocol, map, map_no_ehc and oracle build; vae asks for vae:path=DIR."""
    from agents.policies.registry import make_policy

    core = gym.make(ENV_ID).unwrapped.core
    names = [make_policy(name, core).name for name in
             ("fixed", "protocol", "map", "map_no_ehc", "oracle")]
    assert names == ["fixed", "protocol", "map", "map_no_ehc", "oracle"]
    with pytest.raises(ValueError, match="vae:path=DIR"):
        make_policy("vae", core)
    with pytest.raises(ValueError, match="takes no"):
        make_policy("fixed:path=x", core)
