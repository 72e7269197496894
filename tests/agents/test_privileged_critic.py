"""The asymmetric actor-critic: privileged state, its VecEnv wrapper, the policy, save/load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.vec_env import VecMonitor, VecNormalize
from training_helpers import tiny_config

import pkgym  # noqa: F401
from agents.rl.encoders import ScaledDictExtractor
from agents.rl.hyperparameters import build_policy_kwargs, load_hyperparams
from agents.rl.model_loading import load_model_safely
from agents.rl.model_metadata import read_metadata, save_model
from agents.rl.privileged import (
    PRIVILEGED_KEY,
    AsymmetricActorCriticPolicy,
    PrivilegedObservation,
    asymmetric_policy_kwargs,
    privileged_dim,
    privileged_keys,
    privileged_state,
)
from agents.rl.sb3_policy import SB3Policy
from agents.rl.sb3_vec_env import PkgymVecEnv
from agents.rl.training import run_metadata
from pkgym.evaluation.cohorts import TRAINING, VALIDATION, env_cohort

ENV_ID = "pkgym/Vancomycin-v0"
ENVS = ("pkgym/Vancomycin-v0", "pkgym/Warfarin-v0", "pkgym/Warfarin-v1",
        "pkgym/Chemotherapy-v0")


def _batched(env_id: str, n: int, **kwargs: Any) -> gym.vector.VectorEnv:
    return gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", **kwargs)


def _training_env(n: int, patients: Any = None) -> Any:
    """PkgymVecEnv + PrivilegedObservation (+ VecMonitor, VecNormalize), as training builds it."""
    env = _batched(ENV_ID, n, autoreset_mode=AutoresetMode.SAME_STEP)
    adapter = PkgymVecEnv(env, patients=patients, patient_order_seed=0)
    privileged = PrivilegedObservation(adapter, env.unwrapped.core)
    return VecNormalize(VecMonitor(privileged), norm_obs=False, norm_reward=True)


def _policy_kwargs(**kwargs: Any) -> dict[str, Any]:
    return asymmetric_policy_kwargs({"features_extractor_class": ScaledDictExtractor, **kwargs})


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("env_id", ENVS)
def test_privileged_state__same_keys_at_reset_and_step(env_id: str) -> None:
    """Reset and step infos give the same finite (n, k) vector; log CL is its first value."""
    venv = _batched(env_id, 3)
    core = venv.unwrapped.core
    _, reset_info = venv.reset(seed=0)
    step_info = venv.step(venv.action_space.sample())[4]
    k = privileged_dim(core)
    for info in (reset_info, step_info):
        state = privileged_state(core, info)
        assert state.shape == (3, k) and state.dtype == np.float32
        assert np.isfinite(state).all()
        assert list(privileged_keys(core))[0] == "clearance_l_per_h"
        np.testing.assert_allclose(state[:, 0], np.log(info["clearance_l_per_h"]), rtol=1e-6)


def test_privileged_state__env_without_keys_fails() -> None:
    """An env whose hooks list no privileged state is refused, by name, in one line."""
    core = _batched("pkgym/Addiction-v0", 1).unwrapped.core
    with pytest.raises(ValueError, match="pkgym/Addiction-v0 has no privileged state") as error:
        privileged_state(core, {})
    assert "\n" not in str(error.value)


def test_privileged_observation__same_step_autoreset_rows() -> None:
    """A finished slot observes the new patient's state; its terminal observation the old."""
    env = _batched(ENV_ID, 2, autoreset_mode=AutoresetMode.SAME_STEP)
    core = env.unwrapped.core
    venv = PrivilegedObservation(PkgymVecEnv(env), core)
    obs = venv.reset()
    assert venv.observation_space[PRIVILEGED_KEY].shape == (privileged_dim(core),)
    np.testing.assert_array_equal(obs[PRIVILEGED_KEY], privileged_state(core, core.info()))
    done = np.zeros(2, bool)
    while not done.any():
        venv.step_async(np.zeros(2, dtype=np.int64))
        obs, _, done, infos = venv.step_wait()
    row = int(np.flatnonzero(done)[0])
    np.testing.assert_array_equal(obs[PRIVILEGED_KEY], privileged_state(core, core.info()))
    terminal = infos[row]["terminal_observation"][PRIVILEGED_KEY]
    assert terminal[0] == pytest.approx(np.log(infos[row]["clearance_l_per_h"]), rel=1e-6)
    assert obs[PRIVILEGED_KEY][row, 0] == pytest.approx(
        np.log(core.info()["clearance_l_per_h"][row]), rel=1e-6)
    assert terminal[0] != obs[PRIVILEGED_KEY][row, 0]


def _outputs(policy: AsymmetricActorCriticPolicy, obs: dict[str, np.ndarray]
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """The actor's action probabilities and the critic's values of a batch."""
    tensor, _ = policy.obs_to_tensor(obs)
    with torch.no_grad():
        return (policy.get_distribution(tensor).distribution.probs,
                policy.predict_values(tensor))


def _check_asymmetry(policy: AsymmetricActorCriticPolicy, obs: dict[str, np.ndarray]) -> None:
    """Actor exactly unchanged by other privileged values (or none); critic changed."""
    probs, values = _outputs(policy, obs)
    shifted = {**obs, PRIVILEGED_KEY: obs[PRIVILEGED_KEY] + 3.0}
    shifted_probs, shifted_values = _outputs(policy, shifted)
    plain_probs, _ = _outputs(policy, {k: v for k, v in obs.items() if k != PRIVILEGED_KEY})
    assert torch.equal(probs, shifted_probs) and torch.equal(probs, plain_probs)
    assert not torch.allclose(values, shifted_values)


def test_asymmetric_policy__a2c_discrete_actor_blind_to_privileged() -> None:
    """A2C (discrete) learns with the policy; the actor ignores the privileged values."""
    venv = _training_env(4)
    model = A2C(AsymmetricActorCriticPolicy, venv, n_steps=8, seed=0, device="cpu",
                policy_kwargs=_policy_kwargs(net_arch=[16]))
    model.learn(64)
    standardizer = model.policy.vf_features_extractor.standardizer
    assert float(standardizer.count) == 64.0  # two updates of 32
    assert torch.all(standardizer.var >= 0) and bool((standardizer.mean != 0).any())
    _check_asymmetry(model.policy, venv.reset())


def test_asymmetric_policy__refuses_shared_extractor_and_missing_key() -> None:
    """A shared extractor and an observation space without "privileged" are refused."""
    with pytest.raises(ValueError, match="share_features_extractor must be False"):
        asymmetric_policy_kwargs({"share_features_extractor": True})
    venv = PkgymVecEnv(_batched(ENV_ID, 2, autoreset_mode=AutoresetMode.SAME_STEP))
    with pytest.raises(ValueError, match="'privileged' key"):
        PPO(AsymmetricActorCriticPolicy, venv, n_steps=8, device="cpu")


def test_asymmetric_ppo__train_save_load_act_on_plain_observation(tmp_path: Path) -> None:
    """PPO learns 2 048 steps; saved, loaded safely and as SB3Policy, it acts on a clinic's view."""
    config = tiny_config(tmp_path, "ppo", n_envs=8)
    hp = load_hyperparams("ppo", ENV_ID, config.hyperparams_file)
    core = _batched(ENV_ID, 1).unwrapped.core
    training, validation = (env_cohort(core.settings, n, 0, space)
                            for n, space in ((16, TRAINING), (6, VALIDATION)))
    venv = _training_env(8, training)
    kwargs = {**build_policy_kwargs(hp), "features_extractor_class": ScaledDictExtractor}
    model = PPO(AsymmetricActorCriticPolicy, venv, policy_kwargs=asymmetric_policy_kwargs(kwargs),
                seed=0, device="cpu", **{**hp.algo_kwargs, "n_steps": 64, "batch_size": 128})
    model.learn(2048)
    metadata = {**run_metadata(config, hp, 8, {}, training, validation), "method": "asymmetric"}
    path = save_model(model, tmp_path / "asymmetric" / "model.zip", metadata)
    loaded = load_model_safely(path, read_metadata(path))
    for name, value in model.policy.state_dict().items():
        assert torch.equal(value, loaded.policy.state_dict()[name]), name
    clinic = _batched(ENV_ID, 5)
    plain, _ = clinic.reset(seed=3)
    policy = SB3Policy(path, clinic.unwrapped.core, env_id=ENV_ID)
    policy.reset(5)
    doses = policy.act(plain)
    full = {**plain, PRIVILEGED_KEY: np.ones((5, privileged_dim(core)), np.float32)}
    actions, _ = model.predict(full, deterministic=True)
    np.testing.assert_array_equal(doses, clinic.unwrapped.core.decode_actions(actions, False, 5))
    _check_asymmetry(loaded.policy, {**plain, PRIVILEGED_KEY: full[PRIVILEGED_KEY]})
