"""The packaged hyperparameter files are in RL Baselines3 Zoo's own format (issue 20, item 8).

``python -m rl_zoo3.train --conf-file agents/rl/hyperparams/<algo>.yml`` reads them as they are,
and ``pkgym train`` resolves them to exactly the values it resolved from its earlier format
(``rl_zoo_hyperparams_before.json``, recorded with the loader before the change).
"""

from __future__ import annotations

import argparse
import inspect
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest
import torch
import yaml
from gymnasium import spaces

import pkgym  # noqa: F401  (registers the environments)
from agents.rl.hyperparameters import (
    ALGORITHMS,
    algorithm_class,
    build_policy_kwargs,
    default_hyperparams_file,
    load_hyperparams,
    parse_zoo_literal,
    policy_name,
)
from agents.rl.training import algo_kwargs

REPO = Path(__file__).resolve().parents[2]
BEFORE = json.loads((Path(__file__).parent / "rl_zoo_hyperparams_before.json").read_text())
"""Per algorithm and env: what the loader resolved before the files took the Zoo's format."""
ZOO_ALGO = {"ppo": "ppo", "a2c": "a2c", "dqn": "dqn", "sac": "sac", "recurrent_ppo": "ppo_lstm"}
"""The Zoo's name of each pkgym algorithm."""
ZOO_SECTION_KEYS = {"n_timesteps", "policy", "n_envs", "normalize", "policy_kwargs", "env_kwargs"}
"""Section keys the Zoo takes out before calling the algorithm's constructor (those used here)."""
PKGYM_ENV_IDS = tuple(env_id for env_id in gym.registry if env_id.startswith("pkgym/"))
CASES = [(algo, env_id) for algo in ALGORITHMS for env_id in sorted(BEFORE[algo])]


def _sections(algo: str) -> dict[str, dict[str, Any]]:
    return yaml.safe_load(default_hyperparams_file(algo).read_text())


def _resolved(algo: str, env_id: str) -> dict[str, Any]:
    """What ``pkgym train`` hands SB3, JSON-ready (as the ``before`` file was recorded)."""
    hp = load_hyperparams(algo, env_id)
    policy_kwargs = {key: f"{value.__module__}.{value.__qualname__}" if isinstance(value, type)
                     else value for key, value in build_policy_kwargs(hp).items()}
    return {"section": hp.source.rsplit("#", 1)[1], "n_envs": hp.n_envs,
            "normalize_reward": hp.normalize_reward, "policy": hp.policy,
            "policy_kwargs": policy_kwargs, "algo_kwargs": algo_kwargs(hp, hp.n_envs),
            "env_kwargs": hp.env_kwargs}


@pytest.mark.parametrize(("algo", "env_id"), CASES)
def test_packaged_files__resolve_to_the_values_before_the_zoo_format(algo: str,
                                                                      env_id: str) -> None:
    """Same section, policy, network, activation, reward scaling and constructor arguments."""
    assert json.loads(json.dumps(_resolved(algo, env_id))) == BEFORE[algo][env_id]


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_packaged_files__have_the_keys_the_zoo_requires(algo: str) -> None:
    """n_timesteps and policy in every section; Zoo strings where the Zoo evaluates them."""
    signature = set(inspect.signature(algorithm_class(algo).__init__).parameters)
    for name, section in _sections(algo).items():
        where = f"{algo}.yml#{name}"
        assert isinstance(section["n_timesteps"], int) and section["n_timesteps"] >= 1, where
        assert section["policy"] == policy_name(algo), where
        # the Zoo passes every other key to the constructor: no pkgym-only key may remain
        assert set(section) - ZOO_SECTION_KEYS <= signature, where
        # the Zoo evaluates a string and passes a mapping on as is (activation_fn: tanh fails)
        assert isinstance(section.get("policy_kwargs", ""), str), where
        assert isinstance(section.get("normalize", False), bool | str), where


@pytest.fixture(scope="module")
def observation_spaces() -> dict[str, spaces.Space]:
    """Every registered pkgym env's observation space (the same for either action kind)."""
    return {env_id: gym.spec(env_id).make().observation_space for env_id in PKGYM_ENV_IDS}


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_packaged_files__dict_observations_get_a_multi_input_policy(
        algo: str, observation_spaces: dict[str, spaces.Space]) -> None:
    """Every env with a section observes a Dict space, and so does every env ``default`` serves."""
    sections = _sections(algo)
    assert all(env_id in observation_spaces for env_id in sections if env_id != "default")
    for env_id, space in observation_spaces.items():
        policy = sections.get(env_id, sections["default"])["policy"]
        assert isinstance(space, spaces.Dict), env_id
        assert policy == policy_name(algo, space) and policy.startswith("MultiInput"), env_id


def _zoo_rules(algo: str, env_id: str) -> dict[str, Any]:
    """A section read by the Zoo's rules (ExperimentManager), without rl_zoo3.

    The Zoo ``eval``s ``policy_kwargs`` and ``normalize`` strings with ``nn`` as ``torch.nn``;
    these are the repository's own files, so evaluating them here is safe.
    """
    sections = _sections(algo)
    section = dict(sections.get(env_id, sections["default"]))
    names = {"nn": torch.nn, "th": torch, "dict": dict, "__builtins__": {}}
    normalize = section.pop("normalize", False)
    if isinstance(normalize, str):
        normalize = eval(normalize, names)  # noqa: S307
    policy_kwargs = section.pop("policy_kwargs", {})
    if isinstance(policy_kwargs, str):
        policy_kwargs = eval(policy_kwargs, names)  # noqa: S307
    return {"normalize": normalize, "policy_kwargs": policy_kwargs,
            "n_envs": section.pop("n_envs", 1), "env_kwargs": section.pop("env_kwargs", {}),
            "policy": section.pop("policy"), "n_timesteps": section.pop("n_timesteps"),
            "algo_kwargs": section}


@pytest.mark.parametrize(("algo", "env_id"), CASES)
def test_pkgym_loader__agrees_with_the_zoos_rules(algo: str, env_id: str) -> None:
    """Policy, network, activation class, normalisation, n_envs, env and algorithm kwargs."""
    hp, zoo = load_hyperparams(algo, env_id), _zoo_rules(algo, env_id)
    assert hp.policy == zoo["policy"]
    assert build_policy_kwargs(hp) == zoo["policy_kwargs"]
    assert hp.n_envs == zoo["n_envs"] and hp.env_kwargs == zoo["env_kwargs"]
    assert hp.algo_kwargs == zoo["algo_kwargs"]
    assert hp.normalize_reward == bool(zoo["normalize"]) and (
        not zoo["normalize"] or zoo["normalize"] == {"norm_obs": False, "norm_reward": True})


@pytest.mark.parametrize(("algo", "env_id"), CASES)
def test_pkgym_loader__agrees_with_the_zoos_own_parse(algo: str, env_id: str,
                                                       tmp_path: Path) -> None:
    """rl_zoo3's ExperimentManager reads each section to what pkgym's loader resolves."""
    pytest.importorskip("rl_zoo3")
    from rl_zoo3.exp_manager import ExperimentManager

    manager = ExperimentManager(argparse.Namespace(), ZOO_ALGO[algo], env_id, str(tmp_path),
                                config=str(default_hyperparams_file(algo)), verbose=0)
    hyperparams, _ = manager.read_hyperparameters()
    kwargs, _, callbacks, _ = manager._preprocess_hyperparams(hyperparams)
    hp = load_hyperparams(algo, env_id)
    assert kwargs.pop("policy") == hp.policy
    assert kwargs.pop("policy_kwargs") == build_policy_kwargs(hp)
    schedules = {key: kwargs.pop(key)(1.0) for key in ("learning_rate", "clip_range")
                 if key in kwargs}
    expected = dict(hp.algo_kwargs)
    assert schedules == {key: expected.pop(key) for key in schedules}
    assert kwargs == expected and callbacks == []
    assert manager.n_envs == hp.n_envs and manager.env_kwargs == hp.env_kwargs
    assert manager.normalize == hp.normalize_reward
    if hp.normalize_reward:
        assert manager.normalize_kwargs == {"norm_obs": False, "norm_reward": True,
                                            "gamma": hp.algo_kwargs["gamma"]}


@pytest.mark.parametrize(("text", "expected"), [
    ("dict(net_arch=[64, 64], activation_fn=nn.Tanh)",
     {"net_arch": [64, 64], "activation_fn": "tanh"}),
    ("dict(activation_fn=th.nn.ReLU, log_std_init=-2, ortho_init=False)",
     {"activation_fn": "relu", "log_std_init": -2, "ortho_init": False}),
    ("{'norm_obs': False, 'norm_reward': True}", {"norm_obs": False, "norm_reward": True}),
    ("dict(net_arch=dict(pi=(32,), vf=[32]), activation_fn=torch.nn.GELU)",
     {"net_arch": {"pi": [32], "vf": [32]}, "activation_fn": "gelu"}),
])
def test_parse_zoo_literal__reads_zoo_strings(text: str, expected: Any) -> None:
    """dict(...), {...}, lists, tuples, numbers, booleans and nn.<activation> names."""
    assert parse_zoo_literal(text) == expected


@pytest.mark.parametrize("text", [
    "__import__('os').system('echo pwned')", "dict(activation_fn=nn.Module)",
    "dict(net_arch=x)", "dict(**other)", "dict(optimizer_class=RMSpropTFLike)",
    "[i for i in range(3)]", "os.nn.Tanh", "lambda: 1", "dict(a=1",
])
def test_parse_zoo_literal__refuses_anything_but_literals(text: str) -> None:
    """Calls, names, comprehensions and other classes are errors; nothing is evaluated."""
    with pytest.raises(ValueError, match="not a"):
        parse_zoo_literal(text)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hp.yml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "normalize_reward"), [
    ("normalize: \"{'norm_obs': False, 'norm_reward': True}\"", True),
    ("normalize: \"dict(norm_obs=False, norm_reward=False)\"", False),
    ("normalize: {norm_obs: false}", True),
    ("normalize: false", False),
    ("normalize_reward: true", True),
    ("n_envs: 2", False),
])
def test_load_hyperparams__honours_normalize(tmp_path: Path, text: str,
                                             normalize_reward: bool) -> None:
    """The Zoo's normalize (string, mapping, bool) or pkgym's earlier normalize_reward."""
    path = _write(tmp_path, f"default:\n  {text}\n")
    assert load_hyperparams("ppo", "pkgym/Vancomycin-v0", path).normalize_reward is normalize_reward


@pytest.mark.parametrize(("text", "message"), [
    ("normalize: true", "scales rewards only"),
    ("normalize: \"{'norm_reward': True}\"", "scales rewards only"),
    ("normalize: \"{'clip_obs': 5.0}\"", "normalize must be false or a mapping"),
    ("normalize: false\n  normalize_reward: false", "not both"),
    ("policy: MlpPolicy", "policy must be 'MultiInputPolicy'"),
    ("n_timesteps: 0", "n_timesteps must be a whole number"),
    ("n_timesteps: 1.5e6", "n_timesteps must be a whole number"),
    ("policy_kwargs: \"dict(activation_fn=nn.Sigmoid)\"", "policy_kwargs: not a literal"),
    ("policy_kwargs: \"dict(net_arch=[8], squash_output=nn.Tanh, lstm_hidden_size=4)\"",
     r"unknown key\(s\) \['policy_kwargs.lstm_hidden_size'\]"),
    ("policy_kwargs: \"[64, 64]\"", "policy_kwargs must be a mapping"),
    ("env_wrapper: gymnasium.wrappers.TimeLimit", r"unknown key\(s\) \['env_wrapper'\]"),
])
def test_load_hyperparams__bad_zoo_values_are_errors(tmp_path: Path, text: str,
                                                     message: str) -> None:
    """Observation normalisation, a non-Dict policy, a bad budget or an unsafe string fail."""
    with pytest.raises(ValueError, match=message):
        load_hyperparams("ppo", "pkgym/Vancomycin-v0", _write(tmp_path, f"default:\n  {text}\n"))


@pytest.mark.slow
def test_rl_zoo_trains_ppo_from_the_packaged_file(tmp_path: Path) -> None:
    """``python -m rl_zoo3.train`` with ppo.yml as it is: exit 0 and the model pkgym would build.

    About 25 s on an idle CPU (one 4096-step rollout of 64 vancomycin patients, 10 epochs).
    """
    pytest.importorskip("rl_zoo3")
    from stable_baselines3 import PPO

    command = [sys.executable, "-m", "rl_zoo3.train", "--algo", "ppo",
               "--env", "pkgym/Vancomycin-v0", "--gym-packages", "pkgym",
               "--conf-file", "agents/rl/hyperparams/ppo.yml", "-n", "2048",
               "--log-folder", str(tmp_path)]
    started = time.perf_counter()
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900,
                         check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert time.perf_counter() - started < 900
    run_dir = tmp_path / "ppo" / "pkgym-Vancomycin-v0_1"
    model_path = run_dir / "pkgym-Vancomycin-v0.zip"
    assert model_path.is_file(), sorted(p.name for p in run_dir.iterdir())
    assert (run_dir / "pkgym-Vancomycin-v0" / "vecnormalize.pkl").is_file()
    model = PPO.load(model_path, device="cpu")  # written by this test: trusted
    hp = load_hyperparams("ppo", "pkgym/Vancomycin-v0")
    assert type(model.policy) is PPO.policy_aliases["MultiInputPolicy"]
    assert model.num_timesteps >= 2048
    assert model.policy.activation_fn is build_policy_kwargs(hp)["activation_fn"]
    assert model.policy.net_arch == hp.policy_kwargs["net_arch"]
    assert (model.n_steps, model.batch_size, model.gamma) == (
        hp.algo_kwargs["n_steps"], hp.algo_kwargs["batch_size"], hp.algo_kwargs["gamma"])
