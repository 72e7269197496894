"""The SB3 adapter: SB3's VecEnv contract on top of the batched pkgym env."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO

import pkgym  # noqa: F401
from agents.sb3_vec_env import make_sb3_vec_env


def test_pkgym_vec_env__terminal_observation_and_clinical_info_reach_sb3() -> None:
    """At truncation SB3 sees done, TimeLimit.truncated and the terminal observation."""
    venv = make_sb3_vec_env("pkgym/Vancomycin-v0", 3)
    venv.seed(5)
    obs = venv.reset()
    assert obs["time_h"].shape == (3, 1)
    for _ in range(14):
        obs, rewards, dones, infos = venv.step(np.full(3, 4))
    assert dones.all() and rewards.dtype == np.float32
    assert infos[0]["TimeLimit.truncated"] and infos[0]["terminal_observation"]["time_h"][0] == 168
    assert obs["time_h"][:, 0].tolist() == [0.0, 0.0, 0.0]
    assert "auc24_mg_h_per_l" in infos[1]


def test_pkgym_vec_env__seeded_reset_is_reproducible() -> None:
    """``seed(s)`` then ``reset()`` gives the same patients twice."""
    first, second = make_sb3_vec_env("pkgym/Vancomycin-v0", 2), make_sb3_vec_env(
        "pkgym/Vancomycin-v0", 2)
    first.seed(3)
    second.seed(3)
    np.testing.assert_array_equal(first.reset()["covariates"], second.reset()["covariates"])


@pytest.mark.slow
def test_pkgym_vec_env__ppo_learns_on_the_batched_env_reproducibly() -> None:
    """PPO trains on the adapter (tiny budget); the same seed gives the same policy."""
    params = []
    for _ in range(2):
        venv = make_sb3_vec_env("pkgym/Vancomycin-v0", 4)
        model = PPO("MultiInputPolicy", venv, n_steps=32, batch_size=64, seed=1, device="cpu")
        model.learn(256)
        params.append(torch.nn.utils.parameters_to_vector(model.policy.parameters()))
    assert torch.equal(params[0], params[1])


@pytest.mark.parametrize(("env_id", "kwargs"), [
    ("pkgym/Warfarin-v0", {}), ("pkgym/WarfarinPGx-v0", {"choose_test_days": True}),
    ("pkgym/Chemotherapy-v0", {"allow_delay": True}), ("pkgym/ChemoImmune-v0", {}),
    ("pkgym/Addiction-v0", {}), ("pkgym/Depression-v0", {})])
def test_make_sb3_vec_env__ppo_trains_on_every_environment(env_id: str, kwargs: dict) -> None:
    """PPO collects rollouts and updates on each batched env (Dict observations, any action)."""
    venv = make_sb3_vec_env(env_id, 4, **kwargs)
    venv.seed(0)
    model = PPO("MultiInputPolicy", venv, n_steps=16, batch_size=32, n_epochs=1, seed=0,
                device="cpu")
    model.learn(64)
    assert model.num_timesteps >= 64
    actions, _ = model.predict(venv.reset(), deterministic=True)
    assert venv.action_space.contains(actions[0])
