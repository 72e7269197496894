"""The VAE features extractor: frozen vs fine-tuned encoders and loading trained weights."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode
from stable_baselines3 import DQN, PPO

import pkgym  # noqa: F401  (registers the envs)
from agents.rl.encoders import VAEFeaturesExtractor, load_vae_weights, vae_policy_kwargs
from agents.rl.sb3_vec_env import PkgymVecEnv
from agents.vae.model import PatientVAE, history_tensors, load_vae
from agents.vae.training import save_vae, tiny_config
from pkgym.wrappers import VectorObservationHistoryWrapper, observed_history

VANCOMYCIN = "pkgym/Vancomycin-v0"


def _history_venv(n_envs: int = 2) -> PkgymVecEnv:
    env = gym.make_vec(VANCOMYCIN, num_envs=n_envs, vectorization_mode="vector_entry_point",
                       autoreset_mode=AutoresetMode.SAME_STEP)
    return PkgymVecEnv(VectorObservationHistoryWrapper(env))


def _ppo(vae_path: Path, fine_tune: bool, **kwargs: object) -> PPO:
    policy_kwargs = {**vae_policy_kwargs(vae_path, fine_tune), "net_arch": [16], **kwargs}
    model = PPO("MultiInputPolicy", _history_venv(), n_steps=16, batch_size=16, n_epochs=2,
                learning_rate=1e-2, policy_kwargs=policy_kwargs, seed=0, device="cpu")
    load_vae_weights(model, vae_path)
    return model


def _vae_weights(model: PPO) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.policy.features_extractor.vae.state_dict().items()}


@pytest.mark.parametrize("fine_tune", [False, True])
def test_vae_extractor__frozen_keeps_weights_fine_tune_updates_encoder(
        tiny_vae_path: Path, fine_tune: bool) -> None:
    """A PPO update leaves a frozen VAE unchanged; a fine-tuned encoder moves, the decoder not."""
    model = _ppo(tiny_vae_path, fine_tune)
    before = _vae_weights(model)
    torch.testing.assert_close(before, load_vae(tiny_vae_path).state_dict(), rtol=0, atol=0)
    model.learn(32)
    after = _vae_weights(model)
    changed = {key for key in before if not torch.equal(before[key], after[key])}
    if fine_tune:
        assert any(key.startswith(("token_net", "head")) for key in changed)
        assert not any(key.startswith("decoder") for key in changed)
    else:
        assert changed == set()
        assert not model.policy.features_extractor.vae.training


def test_vae_extractor__features_are_latent_mean_sd_and_scaled_history(
        tiny_vae_path: Path) -> None:
    """The features start with the VAE posterior mean and SD of the observed history."""
    model = _ppo(tiny_vae_path, fine_tune=False)
    venv = model.get_env()
    obs = venv.reset()
    tensor_obs, _ = model.policy.obs_to_tensor(obs)
    with torch.no_grad():
        features = model.policy.extract_features(tensor_obs)
        mu, logvar = load_vae(tiny_vae_path).encode(history_tensors(obs))
    assert features.shape == (2, model.policy.features_extractor.features_dim)
    torch.testing.assert_close(features[:, :8], mu)
    torch.testing.assert_close(features[:, 8:16], torch.exp(0.5 * logvar))
    assert features[:, 16:].abs().max() <= 1.0


def test_load_vae_weights__loads_every_extractor_and_saved_zip_is_self_contained(
        tiny_vae_path: Path, tmp_path: Path) -> None:
    """Separate pi/vf extractors (PPO) and Q/target (DQN) all get the weights; load needs no VAE."""
    trained = load_vae(tiny_vae_path).state_dict()
    ppo = _ppo(tiny_vae_path, True, share_features_extractor=False)
    dqn = DQN("MultiInputPolicy", _history_venv(), buffer_size=100, device="cpu",
              policy_kwargs={**vae_policy_kwargs(tiny_vae_path, False), "net_arch": [16]})
    assert load_vae_weights(ppo, tiny_vae_path) == 2
    assert load_vae_weights(dqn, tiny_vae_path) == 2
    ppo.save(tmp_path / "model.zip")
    reloaded = PPO.load(tmp_path / "model.zip", device="cpu")
    for model in (ppo, dqn, reloaded):
        for extractor in (m for m in model.policy.modules()
                          if isinstance(m, VAEFeaturesExtractor)):
            torch.testing.assert_close(extractor.vae.state_dict(), trained, rtol=0, atol=0)


def test_load_vae_weights__mismatched_config_raises(tiny_vae_path: Path, tmp_path: Path) -> None:
    """A VAE normalised differently from the extractor's config is refused."""
    model = _ppo(tiny_vae_path, fine_tune=False)
    other = save_vae(PatientVAE(tiny_config()), tmp_path)
    with pytest.raises(ValueError, match="does not match"):
        load_vae_weights(model, other)


def test_vae_extractor__wrong_observation_space_raises() -> None:
    """The raw observation (not the history) is refused with the wrapper's name."""
    space = gym.make(VANCOMYCIN).observation_space
    with pytest.raises(ValueError, match="VectorObservationHistoryWrapper"):
        VAEFeaturesExtractor(space, tiny_config(), fine_tune=False)


def test_vae_extractor__batch_of_histories_is_finite(tiny_vae_path: Path) -> None:
    """Features of a whole episode's histories are finite (no level, one, two)."""
    env = gym.make_vec(VANCOMYCIN, num_envs=3, vectorization_mode="vector_entry_point")
    core = env.unwrapped.core
    extractor = _ppo(tiny_vae_path, fine_tune=False).policy.features_extractor
    obs, _ = env.reset(seed=0)
    for _ in range(14):
        with torch.no_grad():
            features = extractor(history_tensors(observed_history(core, obs)))
        assert torch.isfinite(features).all()
        obs, *_ = env.step(np.array([3, 5, 7]))


@pytest.fixture(autouse=True)
def _one_torch_thread():  # noqa: ANN202
    """Tiny networks: one torch thread (several stall on busy shared cores)."""
    from agents.vae.model import single_thread

    with single_thread():
        yield
