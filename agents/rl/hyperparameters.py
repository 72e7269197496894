"""RL-Zoo-style hyperparameter files: one YAML per algorithm, one entry per environment.

``agents/rl/hyperparams/<algo>.yml`` maps env ids (``pkgym/Vancomycin-v0``, ...) and ``default``
(any other env) to a section with ``n_envs``, ``normalize_reward``, ``policy_kwargs``,
``env_kwargs`` and the algorithm's own constructor arguments (``learning_rate``, ``n_steps``,
``gamma``, ...). Every
key is checked against the algorithm's and policy's signatures: a typo is a ``ValueError``
naming the file, the key and the allowed keys, never a silently ignored setting.
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

ALGORITHMS = ("ppo", "a2c", "dqn", "sac", "recurrent_ppo")
"""Algorithm names of ``pkgym train`` (SB3's PPO, A2C, DQN, SAC; sb3-contrib's RecurrentPPO)."""
SECTION_KEYS = ("n_envs", "normalize_reward", "policy_kwargs", "env_kwargs")
"""Keys of every section besides the algorithm's constructor arguments."""
NOT_FROM_YAML = ("policy", "env", "tensorboard_log", "policy_kwargs", "verbose", "seed", "device",
                 "_init_setup_model", "action_noise", "rollout_buffer_class",
                 "rollout_buffer_kwargs", "replay_buffer_class", "replay_buffer_kwargs")
"""Constructor arguments that ``pkgym train`` sets itself (or that YAML cannot express)."""
POLICY_NOT_FROM_YAML = ("observation_space", "action_space", "lr_schedule",
                        "features_extractor_class", "features_extractor_kwargs",
                        "optimizer_class", "normalize_images")
"""Policy arguments set by the encoder choice or SB3 itself."""
ACTIVATIONS = ("tanh", "relu", "elu", "leaky_relu", "gelu")
"""Names ``policy_kwargs.activation_fn`` accepts (``torch.nn`` activations)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Hyperparams:
    """One algorithm's settings for one environment, as read from its YAML section.

    Attributes:
        algo: algorithm name (one of :data:`ALGORITHMS`).
        source: the file and section they came from (``path#section``), for messages.
        n_envs: parallel patients of the batched env.
        normalize_reward: scale rewards by a running estimate of the discounted return's SD
            (SB3's ``VecNormalize(norm_obs=False)``; training only, so the saved policy needs
            no statistics).
        policy: SB3 policy name (``MultiInputPolicy``; ``MultiInputLstmPolicy`` for
            ``recurrent_ppo``).
        policy_kwargs: the policy's arguments (``activation_fn`` still a name).
        algo_kwargs: the algorithm's constructor arguments.
        env_kwargs: extra ``make_vec`` keyword arguments (e.g. ``continuous``).
    """

    algo: str
    source: str
    n_envs: int
    normalize_reward: bool = False
    policy: str
    policy_kwargs: dict[str, Any] = field(default_factory=dict)
    algo_kwargs: dict[str, Any] = field(default_factory=dict)
    env_kwargs: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready copy (recorded in the model's metadata).

        Examples:
            >>> load_hyperparams("ppo", "pkgym/Vancomycin-v0").as_dict()["policy"]
            'MultiInputPolicy'
        """
        return {"algo": self.algo, "source": self.source, "n_envs": self.n_envs,
                "normalize_reward": self.normalize_reward, "policy": self.policy,
                "policy_kwargs": dict(self.policy_kwargs),
                "algo_kwargs": dict(self.algo_kwargs), "env_kwargs": dict(self.env_kwargs)}


def algorithm_class(algo: str) -> type:
    """The SB3 (or sb3-contrib) class of an algorithm name.

    Examples:
        >>> algorithm_class("recurrent_ppo").__name__
        'RecurrentPPO'
    """
    from sb3_contrib import RecurrentPPO
    from stable_baselines3 import A2C, DQN, PPO, SAC

    classes = {"ppo": PPO, "a2c": A2C, "dqn": DQN, "sac": SAC, "recurrent_ppo": RecurrentPPO}
    if algo not in classes:
        raise ValueError(f"algo must be one of {ALGORITHMS}, got {algo!r}")
    return classes[algo]


def policy_name(algo: str) -> str:
    """The SB3 policy for pkgym's Dict observations (an LSTM one for ``recurrent_ppo``).

    Examples:
        >>> policy_name("sac")
        'MultiInputPolicy'
    """
    return "MultiInputLstmPolicy" if algo == "recurrent_ppo" else "MultiInputPolicy"


def default_hyperparams_file(algo: str) -> Path:
    """The packaged ``agents/rl/hyperparams/<algo>.yml``.

    Examples:
        >>> default_hyperparams_file("dqn").name
        'dqn.yml'
    """
    if algo not in ALGORITHMS:
        raise ValueError(f"algo must be one of {ALGORITHMS}, got {algo!r}")
    return Path(str(resources.files("agents.rl") / "hyperparams" / f"{algo}.yml"))


def load_hyperparams(algo: str, env_id: str,
                     path: str | os.PathLike | None = None) -> Hyperparams:
    """The section of ``env_id`` (else ``default``) of an algorithm's hyperparameter file.

    The whole file is validated, not only the section used.

    Args:
        algo: one of :data:`ALGORITHMS`.
        env_id: the environment the model will train on.
        path: a YAML file in the packaged files' format (``None``: the packaged file).

    Examples:
        >>> hp = load_hyperparams("sac", "pkgym/Vancomycin-v0")
        >>> hp.env_kwargs["continuous"], hp.algo_kwargs["gamma"] > 0.9
        (True, True)
    """
    file = default_hyperparams_file(algo) if path is None else Path(path)
    sections = _read_yaml(file)
    parsed = {name: _parse_section(algo, f"{file}#{name}", body)
              for name, body in sections.items()}
    if env_id in parsed:
        return parsed[env_id]
    if "default" in parsed:
        return parsed["default"]
    raise ValueError(f"{file}: no section for {env_id!r} and no 'default' section "
                     f"(sections: {sorted(parsed)})")


def hyperparams_from_record(record: dict[str, Any]) -> Hyperparams:
    """The :class:`Hyperparams` of :meth:`Hyperparams.as_dict` (a model's ``model.json``).

    Validated as a file's section is: an unknown key or activation is a ``ValueError``.

    Examples:
        >>> hp = load_hyperparams("ppo", "pkgym/Vancomycin-v0")
        >>> hyperparams_from_record(hp.as_dict()) == hp
        True
    """
    algo, source = record.get("algo"), str(record.get("source", "model.json"))
    if algo not in ALGORITHMS:
        raise ValueError(f"algo must be one of {ALGORITHMS}, got {algo!r}")
    algo_kwargs = _mapping(source, "algo_kwargs", record.get("algo_kwargs", {}))
    clash = sorted(set(algo_kwargs) & set(SECTION_KEYS))
    if clash:
        raise ValueError(f"{source}: unknown key(s) {[f'algo_kwargs.{k}' for k in clash]}")
    body = {key: record[key] for key in SECTION_KEYS if key in record}
    return _parse_section(str(algo), source, {**body, **algo_kwargs})


def build_policy_kwargs(hp: Hyperparams) -> dict[str, Any]:
    """``policy_kwargs`` ready for SB3 (``activation_fn`` resolved to its ``torch.nn`` class).

    Examples:
        >>> build_policy_kwargs(load_hyperparams("ppo", "pkgym/Warfarin-v0"))["activation_fn"]
        <class 'torch.nn.modules.activation.Tanh'>
    """
    import torch

    classes = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "elu": torch.nn.ELU,
               "leaky_relu": torch.nn.LeakyReLU, "gelu": torch.nn.GELU}
    kwargs = dict(hp.policy_kwargs)
    if "activation_fn" in kwargs:
        kwargs["activation_fn"] = classes[kwargs["activation_fn"]]
    return kwargs


def _read_yaml(file: Path) -> dict[str, Any]:
    """The file's top-level mapping of sections."""
    if not file.is_file():
        raise ValueError(f"hyperparameter file {file} does not exist")
    try:
        sections = yaml.safe_load(file.read_text())
    except yaml.YAMLError as error:
        raise ValueError(f"{file}: not valid YAML ({error})") from None
    if not isinstance(sections, dict) or not sections:
        raise ValueError(f"{file}: expected a mapping of env ids (or 'default') to sections")
    for name, body in sections.items():
        if not isinstance(body, dict):
            raise ValueError(f"{file}: section {name!r} must be a mapping, got {body!r}")
    return sections


def _parse_section(algo: str, source: str, body: dict[str, Any]) -> Hyperparams:
    """Validate one section against the algorithm's and policy's arguments."""
    algorithm = algorithm_class(algo)
    signature = inspect.signature(algorithm.__init__).parameters
    allowed = sorted((set(signature) - {"self", *NOT_FROM_YAML}) | set(SECTION_KEYS))
    _check_keys(source, "", body, allowed)
    algo_kwargs = {key: value for key, value in body.items() if key not in SECTION_KEYS}
    for key, value in algo_kwargs.items():
        _check_value_type(source, key, value, signature[key].default)
    n_envs = body.get("n_envs", 1)
    if isinstance(n_envs, bool) or not isinstance(n_envs, int) or n_envs < 1:
        raise ValueError(f"{source}: n_envs must be an integer >= 1, got {n_envs!r}")
    normalize_reward = body.get("normalize_reward", False)
    if not isinstance(normalize_reward, bool):
        raise ValueError(f"{source}: normalize_reward must be true or false, got "
                         f"{normalize_reward!r}")
    policy = policy_name(algo)
    policy_kwargs = _mapping(source, "policy_kwargs", body.get("policy_kwargs", {}))
    policy_signature = inspect.signature(algorithm.policy_aliases[policy].__init__).parameters
    _check_keys(source, "policy_kwargs.", policy_kwargs,
                sorted(set(policy_signature) - {"self", *POLICY_NOT_FROM_YAML}))
    activation = policy_kwargs.get("activation_fn", "tanh")
    if activation not in ACTIVATIONS:
        raise ValueError(f"{source}: policy_kwargs.activation_fn must be one of {ACTIVATIONS}, "
                         f"got {activation!r}")
    env_kwargs = _mapping(source, "env_kwargs", body.get("env_kwargs", {}))
    _check_action_kind(algo, source, env_kwargs)
    return Hyperparams(algo=algo, source=source, n_envs=n_envs,
                       normalize_reward=normalize_reward, policy=policy,
                       policy_kwargs=policy_kwargs, algo_kwargs=algo_kwargs,
                       env_kwargs=env_kwargs)


def _check_keys(source: str, prefix: str, body: dict[str, Any], allowed: list[str]) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise ValueError(f"{source}: unknown key(s) {[prefix + k for k in unknown]}; allowed: "
                         f"{allowed}")


def _check_value_type(source: str, key: str, value: Any, default: Any) -> None:
    """A number where the algorithm's default is a number (YAML reads ``3e-4`` as a string)."""
    numeric = isinstance(default, int | float) and not isinstance(default, bool)
    if numeric and (isinstance(value, str | bool) or value is None):
        raise ValueError(f"{source}: {key} must be a number, got {value!r} (YAML 1.1 needs a "
                         "dot in exponent notation: write 3.0e-4, not 3e-4)")


def _mapping(source: str, key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{source}: {key} must be a mapping, got {value!r}")
    return dict(value)


def _check_action_kind(algo: str, source: str, env_kwargs: dict[str, Any]) -> None:
    """SAC needs the continuous action Box; DQN the discrete dose levels."""
    continuous = env_kwargs.get("continuous", False)
    if not isinstance(continuous, bool):
        raise ValueError(f"{source}: env_kwargs.continuous must be true or false, got "
                         f"{continuous!r}")
    if algo == "sac" and not continuous:
        raise ValueError(f"{source}: SAC needs continuous actions: set env_kwargs.continuous: "
                         "true")
    if algo == "dqn" and continuous:
        raise ValueError(f"{source}: DQN needs discrete actions: env_kwargs.continuous must be "
                         "false")
