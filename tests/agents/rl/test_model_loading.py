"""Loading ``sb3:`` zips: pkgym's models without unpickling; foreign zips only when trusted."""

from __future__ import annotations

import base64
import json
import pickle
import shutil
import zipfile
from pathlib import Path
from typing import Any
from unittest import mock

import cloudpickle
import gymnasium as gym
import numpy as np
import pytest
import stable_baselines3.common.save_util as save_util
import torch
from stable_baselines3.common.vec_env import VecNormalize
from training_helpers import ENV_ID, tiny_config

import agents.rl.training as training
import pkgym  # noqa: F401
from agents.policies.registry import make_policy
from agents.rl.hyperparameters import algorithm_class, hyperparams_from_record
from agents.rl.model_loading import UntrustedModelError, load_model_safely, load_model_trusted
from agents.rl.model_metadata import read_metadata
from agents.rl.sb3_policy import SB3Policy
from agents.rl.training import train
from agents.vae.model import PatientVAE
from agents.vae.training import save_vae
from agents.vae.training import tiny_config as tiny_vae_config
from pkgym.cli import main


class _Marker:
    """Unpickling it creates a file: the payload of a crafted model zip."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.path), "w"))


def _crafted_zip(path: Path, marker: Path, metadata: dict | None = None) -> Path:
    """A small SB3-shaped zip whose ``data`` and ``policy.pth`` create ``marker`` if unpickled."""
    payload = base64.b64encode(cloudpickle.dumps(_Marker(marker))).decode()
    data: dict[str, Any] = {"policy_class": {":type:": "<class 'abc.ABCMeta'>",
                                             ":serialized:": payload}}
    if metadata is not None:
        data.update(pkgym_metadata=metadata, num_timesteps=metadata["timesteps"])
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data", json.dumps(data))
        archive.writestr("policy.pth", pickle.dumps(_Marker(marker)))
    return path


def _no_unpickling() -> Any:
    """Patches that fail the test if SB3's unpickling loader or cloudpickle runs."""
    error = AssertionError("the safe path unpickled the zip's data")
    return (mock.patch.object(save_util, "load_from_zip_file", side_effect=error),
            mock.patch.object(cloudpickle, "loads", side_effect=error))


def _assert_same_actions(path: Path, algo: str) -> None:
    """The safely loaded model acts bit for bit as SB3's ``load`` of the same zip."""
    metadata = read_metadata(path)
    assert metadata is not None
    patches = _no_unpickling()
    with patches[0], patches[1]:
        safe = load_model_safely(path, metadata)
    reference = load_model_trusted(path, algo)
    assert type(safe) is type(reference)
    assert safe.observation_space == reference.observation_space
    assert safe.action_space == reference.action_space
    reference_state = reference.policy.state_dict()
    for name, value in safe.policy.state_dict().items():
        assert torch.equal(value, reference_state[name]), name
    continuous = metadata["env_kwargs"].get("continuous", False)
    vec = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point",
                       continuous=continuous)
    core = vec.unwrapped.core  # type: ignore[attr-defined]
    policies = [SB3Policy.from_model(m, core, metadata) for m in (safe, reference)]
    observation, info = vec.reset(seed=4)
    for policy in policies:
        policy.reset(3)
    for _ in range(6):
        obs = {k: np.asarray(v) for k, v in observation.items()}
        if policies[0].uses_history:
            from pkgym.wrappers.history import observed_history

            obs = observed_history(core, obs)
        raw = [m.predict(obs, deterministic=True)[0] for m in (safe, reference)]
        np.testing.assert_array_equal(raw[0], raw[1])
        doses = [policy.act(observation, info) for policy in policies]
        np.testing.assert_array_equal(doses[0], doses[1])
        observation, _, _, _, info = vec.step(core.encode_decisions(doses[0], continuous))


@pytest.fixture(scope="module")
def ppo_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny PPO run's ``model.zip`` (with ``model.json``)."""
    return train(tiny_config(tmp_path_factory.mktemp("ppo"), "ppo")).model_path


def test_safe_load__ppo_acts_bit_for_bit_as_sb3_load(ppo_model: Path) -> None:
    """Rebuilt from model.json, weights only: the same weights, actions and doses."""
    _assert_same_actions(ppo_model, "ppo")
    patches = _no_unpickling()
    with patches[0], patches[1]:
        policy = make_policy(f"sb3:{ppo_model}", gym.make(ENV_ID).unwrapped.core, env_id=ENV_ID)
    assert isinstance(policy, SB3Policy) and policy.model.num_timesteps == 128


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["a2c", "dqn", "sac", "recurrent_ppo"])
def test_safe_load__each_algorithm_acts_bit_for_bit_as_sb3_load(tmp_path: Path,
                                                                algo: str) -> None:
    """A2C, DQN, SAC (actor, critics, targets) and RecurrentPPO (LSTM states) alike."""
    _assert_same_actions(train(tiny_config(tmp_path, algo)).model_path, algo)


@pytest.mark.slow
def test_safe_load__vae_encoder_model_needs_no_vae_file(tmp_path: Path) -> None:
    """The VAE's architecture is in model.json: the model loads after its VAE file is gone."""
    vae_path = save_vae(PatientVAE(tiny_vae_config()), tmp_path / "vae")
    result = train(tiny_config(tmp_path, "ppo", encoder="vae", vae_path=vae_path))
    shutil.rmtree(tmp_path / "vae")
    _assert_same_actions(result.model_path, "ppo")


def test_crafted_zip__refused_without_running_its_code(tmp_path: Path, ppo_model: Path) -> None:
    """A cloudpickle payload in ``data`` (or ``policy.pth``) never runs without the flag."""
    marker = tmp_path / "marker"
    core = gym.make(ENV_ID).unwrapped.core
    foreign = _crafted_zip(tmp_path / "evil.zip", marker)
    with pytest.raises(UntrustedModelError, match="no model.json.*--trust-model-file"):
        make_policy(f"sb3:{foreign}", core)
    # A copied model.json does not describe the zip; one copied into the zip too
    # leaves policy.pth to the weights-only unpickler, which refuses the payload.
    shutil.copy(ppo_model.with_suffix(".json"), tmp_path / "evil.json")
    with pytest.raises(UntrustedModelError, match="does not describe this zip"):
        make_policy(f"sb3:{foreign}", core, env_id=ENV_ID)
    metadata = read_metadata(ppo_model)
    forged = _crafted_zip(tmp_path / "forged.zip", marker, metadata)
    shutil.copy(ppo_model.with_suffix(".json"), tmp_path / "forged.json")
    with pytest.raises(UntrustedModelError, match="policy.pth holds more than weights"):
        make_policy(f"sb3:{forged}", core, env_id=ENV_ID)
    assert not marker.exists()
    (tmp_path / "evil.json").unlink()
    with pytest.raises(ValueError, match="not a loadable SB3 model"):  # trusted: SB3 unpickles
        make_policy(f"sb3:{foreign}", core, trust_model_file=True)
    assert marker.exists()


def test_foreign_zip__refused_unless_trusted(tmp_path: Path, ppo_model: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    """An SB3 zip without pkgym's model.json: one-line refusal; ``--trust-model-file`` loads it."""
    foreign = tmp_path / "foreign.zip"
    shutil.copy(ppo_model, foreign)
    core = gym.make(ENV_ID).unwrapped.core
    with pytest.raises(UntrustedModelError, match="no model.json"):
        make_policy(f"sb3:{foreign}", core)
    assert make_policy(f"sb3:{foreign}", core, trust_model_file=True).name == "sb3:foreign"
    args = ["evaluate", "--env", ENV_ID, "--policy", f"sb3:{foreign}", "--n-patients", "2"]
    assert main([*args, "--out", str(tmp_path / "refused")]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "--trust-model-file" in error
    assert main([*args, "--out", str(tmp_path / "trusted"), "--trust-model-file"]) == 0
    assert (tmp_path / "trusted" / "summary.csv").is_file()


def test_edited_model_json__refused(tmp_path: Path, ppo_model: Path) -> None:
    """model.json must be the description saved with the zip; unknown kwargs are refused."""
    shutil.copy(ppo_model, tmp_path / "model.zip")
    metadata = json.loads(ppo_model.with_suffix(".json").read_text())
    (tmp_path / "model.json").write_text(json.dumps({**metadata, "seed": 7}))
    core = gym.make(ENV_ID).unwrapped.core
    with pytest.raises(UntrustedModelError, match="does not describe this zip"):
        make_policy(f"sb3:{tmp_path / 'model.zip'}", core)
    hp = metadata["hyperparams"]
    bad = {**hp, "policy_kwargs": {**hp["policy_kwargs"], "features_extractor_class": "x:y"}}
    with pytest.raises(ValueError, match="features_extractor_class"):
        hyperparams_from_record(bad)


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["ppo", "dqn", "sac"])
def test_resume__restores_the_checkpoint_without_unpickling_it(tmp_path: Path, algo: str) -> None:
    """``resume`` trains on exactly as a resume through SB3's ``load`` of the checkpoint did."""
    train(tiny_config(tmp_path, algo, checkpoint_freq=64, timesteps=128))
    for name in ("model.zip", "model.json"):
        (tmp_path / "run" / name).unlink()
    shutil.copytree(tmp_path / "run", tmp_path / "reference")
    error = AssertionError("resume unpickled the checkpoint zip")
    with mock.patch.object(save_util, "json_to_data", side_effect=error), \
            mock.patch.object(cloudpickle, "loads", side_effect=error):
        resumed = train(tiny_config(tmp_path, algo, checkpoint_freq=64, timesteps=256,
                                    resume=True)).model
    checkpoint = tmp_path / "reference" / "checkpoints" / "model_128_steps.zip"

    def sb3_resume(config: Any, hp: Any, venv: Any, n_envs: int, metadata: Any) -> Any:
        """The resume before model_loading: SB3's ``load`` of the checkpoint."""
        if isinstance(venv, VecNormalize):
            venv = VecNormalize.load(str(checkpoint.parent / "vecnormalize_128_steps.pkl"),
                                     venv.venv)
        model = algorithm_class(algo).load(checkpoint, env=venv, device="cpu")
        if getattr(model, "replay_buffer", None) is not None:
            model.load_replay_buffer(checkpoint.parent / "replay_buffer_128_steps.pkl")
        model.set_random_seed(config.seed + int(model.num_timesteps))
        return model

    with mock.patch.object(training, "resume_model", sb3_resume):
        reference = train(tiny_config(tmp_path, algo, out="reference", checkpoint_freq=64,
                                      timesteps=256, resume=True)).model
    assert checkpoint.is_file() and resumed.num_timesteps == reference.num_timesteps == 256
    state = reference.policy.state_dict()
    for name, value in resumed.policy.state_dict().items():
        assert torch.equal(value, state[name]), name
