"""``agents.rl.training.train``: every algorithm, saving, loading, determinism, resume, guards."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
import torch
from stable_baselines3.common.callbacks import BaseCallback
from training_helpers import ENV_ID, tiny_config

import agents.rl.training as training
import pkgym  # noqa: F401
from agents.policies.registry import make_policy
from agents.rl.encoders import VAEFeaturesExtractor
from agents.rl.hyperparameters import algorithm_class
from agents.rl.sb3_policy import SB3Policy
from agents.rl.train_config import TrainConfig
from agents.rl.training import train
from agents.vae.model import PatientVAE, load_vae
from agents.vae.training import save_vae
from agents.vae.training import tiny_config as tiny_vae_config
from pkgym.evaluation.cohorts import (
    EVALUATION,
    TRAINING,
    VALIDATION,
    LeakageError,
    sample_cohort,
)
from pkgym.evaluation.evaluate import evaluate
from pkgym.evaluation.runner import run_policy

SCENARIO = Path(__file__).parents[3] / "scenarios" / "vancomycin_renal_impairment.yaml"


def _core(env_id: str = ENV_ID, **kwargs: object):  # noqa: ANN202
    return gym.make_vec(env_id, num_envs=1, vectorization_mode="vector_entry_point",
                        **kwargs).unwrapped.core


def _cohort(n: int, seed: int, space: int, **kwargs: object) -> pd.DataFrame:
    settings = _core(**kwargs).settings
    return sample_cohort(settings.population, settings.model.variability, n, seed, space)


def _parameters(model: object) -> torch.Tensor:
    return torch.nn.utils.parameters_to_vector(model.policy.parameters()).detach()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def scenario_run(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """One tiny PPO run under the renal-impairment scenario (shared by the guard tests)."""
    return train(tiny_config(tmp_path_factory.mktemp("scenario"), "ppo", scenario=SCENARIO))


@pytest.mark.parametrize("algo", ["ppo", "a2c", "dqn", "sac", "recurrent_ppo"])
def test_train__each_algorithm_saves_a_model_that_acts_identically_after_loading(
        tmp_path: Path, algo: str) -> None:
    """Tiny budget; the zip, loaded via ``make_policy("sb3:...")``, doses as the model did."""
    result = train(tiny_config(tmp_path, algo))
    assert result.metadata["timesteps"] >= 128 and result.metadata["algo"] == algo
    assert result.model_path.is_file() and result.model_path.with_suffix(".json").is_file()
    continuous = algo == "sac"
    core = _core(continuous=continuous)
    loaded = make_policy(f"sb3:{result.model_path}", core)
    in_memory = SB3Policy.from_model(result.model, core, result.metadata)
    assert isinstance(loaded, SB3Policy) and loaded.recurrent == (algo == "recurrent_ppo")
    cohort = _cohort(3, 1, EVALUATION)
    kwargs = {"continuous": continuous}
    tables = [run_policy(p, ENV_ID, cohort, 2, kwargs) for p in (loaded, in_memory)]
    pd.testing.assert_frame_equal(tables[0].drop(columns="policy"),
                                  tables[1].drop(columns="policy"))
    doses = tables[0].filter(like="dose_mg_").to_numpy()
    assert np.all((doses >= 0) & (doses <= core.dose_levels_mg.max()))


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_train__same_seed_gives_identical_parameters(tmp_path: Path, algo: str) -> None:
    """Two runs with one seed train the same network; another seed trains another."""
    first, second, other = (train(tiny_config(tmp_path, algo, out=name, seed=seed)).model
                            for name, seed in (("a", 3), ("b", 3), ("c", 4)))
    assert torch.equal(_parameters(first), _parameters(second))
    assert not torch.equal(_parameters(first), _parameters(other))


def test_train__resume_continues_the_step_count_and_the_replay_buffer(tmp_path: Path) -> None:
    """A DQN run checkpointed at 128 steps resumes to 256 with its stored transitions.

    SB3 calls ``on_step`` before it stores that step's transition, so the checkpoint at 128
    steps holds 31 of the 32 vector steps (rows of 4 envs).
    """
    first = train(tiny_config(tmp_path, "dqn", checkpoint_freq=64))
    assert first.model.replay_buffer.size() == 32
    resumed = train(tiny_config(tmp_path, "dqn", checkpoint_freq=64, timesteps=256, resume=True))
    assert resumed.metadata["timesteps"] == 256 and resumed.model.num_timesteps == 256
    assert resumed.model.replay_buffer.size() == 31 + 32
    assert (tmp_path / "run" / "logs" / "resumed_at_128_steps" / "progress.csv").is_file()
    checkpoints = sorted(p.name for p in (tmp_path / "run" / "checkpoints").glob("*.pkl"))
    assert checkpoints == ["replay_buffer_256_steps.pkl"]


def test_train__resume_needs_a_matching_checkpoint_and_fresh_runs_do_not_overwrite(
        tmp_path: Path) -> None:
    """Nothing to resume, another seed's checkpoint, or an existing run: clear errors."""
    with pytest.raises(ValueError, match="nothing to resume"):
        train(tiny_config(tmp_path, "ppo", resume=True))
    train(tiny_config(tmp_path, "ppo", checkpoint_freq=64))
    with pytest.raises(ValueError, match="already holds a training run"):
        train(tiny_config(tmp_path, "ppo"))
    with pytest.raises(ValueError, match="training_cohort"):
        train(tiny_config(tmp_path, "ppo", seed=1, timesteps=256, resume=True))


def test_train__metadata_describes_env_scenario_cohorts_and_versions(scenario_run) -> None:  # noqa: ANN001
    """``model.json`` (also on the loaded model) names the scenario's hash and both cohorts."""
    meta = json.loads(scenario_run.model_path.with_suffix(".json").read_text())
    assert meta == scenario_run.metadata
    assert meta["env_id"] == ENV_ID and meta["env_kwargs"]["scenario"] == str(SCENARIO)
    assert meta["scenario_sha256"] == hashlib.sha256(SCENARIO.read_bytes()).hexdigest()
    assert meta["training_cohort"] == {"seed_entropy": 0, "spawn_key": [TRAINING], "start": 0,
                                       "stop": 16}
    assert meta["validation_cohort"]["spawn_key"] == [VALIDATION]
    assert {meta[k] is not None for k in ("pkgym_version", "sb3_version", "torch_version")} == {
        True}
    assert (meta["encoder"], meta["vae_path"], meta["device"], meta["n_envs"]) == (
        "raw", None, "cpu", 4)
    loaded = algorithm_class("ppo").load(scenario_run.model_path, device="cpu")
    assert loaded.pkgym_metadata == meta


def test_sb3_policy__refuses_training_patients_another_env_or_scenario(scenario_run) -> None:  # noqa: ANN001
    """Leakage guard on the training/validation cohorts; env-id and scenario mismatches fail."""
    spec, kwargs = f"sb3:{scenario_run.model_path}", {"scenario": str(SCENARIO)}
    core = _core(**kwargs)
    policy = make_policy(spec, core, env_id=ENV_ID, scenario=SCENARIO)
    for space in (TRAINING, VALIDATION):
        with pytest.raises(LeakageError):
            evaluate([policy], ENV_ID, _cohort(4, 0, space, **kwargs), 0, env_kwargs=kwargs)
    assert len(evaluate([policy], ENV_ID, _cohort(4, 0, EVALUATION, **kwargs), 0,
                        env_kwargs=kwargs)) == 4
    with pytest.raises(ValueError, match="trained on pkgym/Vancomycin-v0, not pkgym/Warfarin"):
        make_policy(spec, _core("pkgym/Warfarin-v0"))
    with pytest.raises(ValueError, match="trained on pkgym/Vancomycin-v0, not other/Env-v0"):
        make_policy(spec, core, env_id="other/Env-v0", scenario=SCENARIO)
    # another scenario is a shifted evaluation (issue 19); this one has other spaces: refused
    with pytest.raises(ValueError, match="shifted evaluation needs the model's spaces; under "
                                         "the default scenario the observation space differs"):
        make_policy(spec, core, env_id=ENV_ID)


def test_sb3_policy__recurrent_state_is_per_env_and_cleared_by_reset(tmp_path: Path) -> None:
    """An LSTM policy's actions depend on its state; ``reset`` makes a rerun identical."""
    result = train(tiny_config(tmp_path, "recurrent_ppo"))
    policy = make_policy(f"sb3:{result.model_path}", _core())
    vec = gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="vector_entry_point")
    runs = []
    for _ in range(2):
        obs, info = vec.reset(seed=0)
        policy.reset(2)
        doses = []
        for _ in range(5):
            doses.append(policy.act(obs, info))
            obs, _, _, _, info = vec.step(_core().encode_decisions(doses[-1], False))
        runs.append(np.stack(doses))
    np.testing.assert_array_equal(runs[0], runs[1])
    assert policy._state is not None and policy._state[0].shape[1] == 2


@pytest.mark.parametrize(("overrides", "message"), [
    ({"algo": "trpo"}, "algo must be one of"),
    ({"env_id": "CartPole-v1"}, "registered pkgym env"),
    ({"timesteps": 0}, "timesteps must be an integer >= 1"),
    ({"encoder": "vae"}, "vae_path is required"),
    ({"fine_tune_encoder": True}, "fine_tune_encoder applies to encoder='vae'"),
    ({"n_validation_patients": 1}, "n_validation_patients must be an integer >= 2"),
    ({"device": "tpu"}, "device must be one of"),
    ({"scenario": "no/such.yaml"}, "scenario: no/such.yaml does not exist"),
    ({"resume": "yes"}, "resume must be True or False"),
])
def test_train_config__bad_fields_are_errors(tmp_path: Path, overrides: dict,
                                             message: str) -> None:
    """Every field is validated with its name and what is allowed."""
    options = {"env_id": ENV_ID, "algo": "ppo", "timesteps": 10, "out_dir": tmp_path}
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{**options, **overrides})


def test_train__ctrl_c_leaves_a_checkpoint_to_resume_from(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """An interrupt mid-run checkpoints the model at its step count; resume finishes the run."""
    class Interrupt(BaseCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps >= 80:
                raise KeyboardInterrupt
            return True

    original = training._callbacks
    monkeypatch.setattr(training, "_callbacks", lambda *a: [*original(*a), Interrupt()])
    with pytest.raises(KeyboardInterrupt):
        train(tiny_config(tmp_path, "ppo"))
    folder = tmp_path / "run" / "checkpoints"
    assert (folder / "model_80_steps.zip").is_file()
    assert (folder / "vecnormalize_80_steps.pkl").is_file()  # reward statistics
    monkeypatch.setattr(training, "_callbacks", original)
    resumed = train(tiny_config(tmp_path, "ppo", resume=True))
    assert resumed.metadata["timesteps"] == 80 + 64  # one more rollout of 16 steps x 4 envs


def test_train__vae_encoder_trains_on_the_history_and_reloads(tmp_path: Path) -> None:
    """``encoder="vae"``: the frozen VAE's weights stay those of the file; the zip reloads."""
    vae_path = save_vae(PatientVAE(tiny_vae_config()), tmp_path / "vae")
    result = train(tiny_config(tmp_path, "ppo", encoder="vae", vae_path=vae_path))
    meta = result.metadata
    assert (meta["encoder"], meta["fine_tune_encoder"]) == ("vae", False)
    assert meta["vae_sha256"] == hashlib.sha256(vae_path.read_bytes()).hexdigest()
    extractor = result.model.policy.features_extractor
    assert isinstance(extractor, VAEFeaturesExtractor)
    for name, value in load_vae(vae_path).state_dict().items():
        assert torch.equal(extractor.vae.state_dict()[name], value), name
    loaded = make_policy(f"sb3:{result.model_path}", _core(), env_id=ENV_ID)
    assert loaded.uses_history
    in_memory = SB3Policy.from_model(result.model, _core(), meta)
    cohort = _cohort(3, 1, EVALUATION)
    tables = [run_policy(p, ENV_ID, cohort, 2) for p in (loaded, in_memory)]
    pd.testing.assert_frame_equal(tables[0].drop(columns="policy"),
                                  tables[1].drop(columns="policy"))


def test_train__refuses_a_vae_of_another_env_or_scenario(tmp_path: Path) -> None:
    """The VAE must come from the same env and scenario as the agent."""
    vae = PatientVAE(tiny_vae_config())
    vae.metadata = {"env_id": "pkgym/Warfarin-v0"}
    other_env = save_vae(vae, tmp_path / "warfarin_vae")
    with pytest.raises(ValueError, match="VAE was trained on pkgym/Warfarin-v0"):
        train(tiny_config(tmp_path, "ppo", encoder="vae", vae_path=other_env))
    default_scenario = save_vae(PatientVAE(tiny_vae_config()), tmp_path / "vae")
    with pytest.raises(ValueError, match="another scenario"):
        train(tiny_config(tmp_path, "ppo", encoder="vae", vae_path=default_scenario,
                          scenario=SCENARIO))
