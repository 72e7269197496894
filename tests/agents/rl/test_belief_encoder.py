"""The belief encoder (``pkgym train --encoder belief``) and the learning methods' options."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import pkgym  # noqa: F401
from agents.rl.belief import CLIP, BeliefFeaturesExtractor, belief_settings
from agents.rl.sb3_policy import SB3Policy
from agents.rl.training import train
from agents.vae.mipd import VAEMIPDPolicy
from agents.vae.model import PatientVAE, history_tensors, load_vae
from agents.vae.training import save_vae
from agents.vae.training import tiny_config as tiny_vae_config
from pkgym.wrappers.history import observed_history
from tests.agents.training_helpers import tiny_config

ENV_ID = "pkgym/Vancomycin-v0"


@pytest.fixture(scope="module")
def vae_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained tiny vancomycin VAE, saved."""
    torch.manual_seed(0)
    return Path(save_vae(PatientVAE(tiny_vae_config(ENV_ID)), tmp_path_factory.mktemp("vae")))


def _batch(n: int = 6, steps: int = 3) -> tuple[gym.vector.VectorEnv, dict]:
    env = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=11)
    for _ in range(steps):  # some doses given, levels measured
        obs, *_ = env.step(np.full(n, 4))
    return env, obs


def test_forecasts_are_vae_mipds(vae_path: Path) -> None:
    """Each candidate's feature is log(VAE-MIPD's forecast / target), clipped."""
    env, obs = _batch()
    core = env.unwrapped.core
    vae = load_vae(vae_path)
    history = observed_history(core, obs)
    space = gym.spaces.Dict({k: gym.spaces.Box(-np.inf, np.inf, v.shape[1:], np.float32)
                             for k, v in history.items()})
    extractor = BeliefFeaturesExtractor(space, dict(vae.config), **belief_settings(core))
    extractor.vae.load_state_dict(vae.state_dict())
    got = extractor.forecast_log_ratio(history_tensors(history)).numpy()
    mipd = VAEMIPDPolicy(vae, core)
    want = np.clip(np.log(np.maximum(mipd.predicted_exposure(obs), 1e-6) / mipd.target),
                   -CLIP, CLIP)
    np.testing.assert_allclose(got, want, atol=2e-4)
    assert got.shape == (6, len(core.dose_levels_mg))
    features = extractor(history_tensors(history))
    assert features.shape == (6, extractor.features_dim)
    np.testing.assert_allclose(features[:, -got.shape[1]:].numpy(), got, atol=1e-6)


def test_belief_model_trains_saves_and_doses(tmp_path: Path, vae_path: Path) -> None:
    """A belief-encoder PPO trains, records its forecast settings and doses via ``sb3:``."""
    result = train(tiny_config(tmp_path, "ppo", encoder="belief", vae_path=vae_path))
    assert result.metadata["belief"]["target"] == 500.0
    assert result.metadata["method"] == "rl"
    env, obs = _batch(4, 1)
    policy = SB3Policy(result.model_path, env.unwrapped.core)
    policy.reset(4)
    doses = policy.act(obs)
    assert doses.shape == (4,) and set(doses) <= set(env.unwrapped.core.dose_levels_mg)


def test_belief_needs_a_vae(tmp_path: Path) -> None:
    """The belief encoder without a VAE is refused when the config is built."""
    with pytest.raises(ValueError, match="vae_path is required with encoder 'vae' or 'belief'"):
        tiny_config(tmp_path, "ppo", encoder="belief")


@pytest.mark.parametrize(("overrides", "message"), [
    ({"method": "bc"}, "method must be one of"),
    ({"method": "dagger"}, "timesteps must be 0 with method='dagger'"),
    ({"method": "dagger", "timesteps": 0}, "teacher is required"),
    ({"teacher": "map"}, "teacher is required with method in"),
    ({"method": "asymmetric", "algo": "dqn"}, "needs algo 'ppo' or 'a2c'"),
    ({"method": "dagger+rl", "algo": "a2c", "teacher": "map"}, "algo must be 'ppo'"),
    ({"method": "dagger+rl", "teacher": "map", "anchor_kl_coef": -1.0}, "anchor_kl_coef"),
    ({"method": "dagger", "timesteps": 0, "teacher": "map", "imitation_labels": 0},
     "imitation_labels must be an integer >= 1"),
])
def test_method_options_refused(tmp_path: Path, overrides: dict, message: str) -> None:
    """Every inconsistent method option fails at the config with its name."""
    with pytest.raises(ValueError, match=message):
        tiny_config(tmp_path, overrides.pop("algo", "ppo"), **overrides)
