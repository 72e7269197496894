"""Hyperparameter files in RL Baselines3 Zoo's own format: one YAML per algorithm.

``agents/rl/hyperparams/<algo>.yml`` maps env ids (``pkgym/Vancomycin-v0``, ...) and ``default``
(any other env) to a section that ``python -m rl_zoo3.train --conf-file`` reads as it is:

- ``n_timesteps``: the Zoo's training budget (``pkgym train`` takes ``--timesteps``; checked,
  not used);
- ``policy``: ``MultiInputPolicy`` (``MultiInputLstmPolicy`` for ``recurrent_ppo``), since every
  pkgym env observes a ``Dict`` space;
- ``normalize``: ``false``, or ``"{'norm_obs': False, 'norm_reward': True}"`` (reward scaling
  only, what ``pkgym train`` supports: a saved policy must read raw observations);
- ``policy_kwargs``: a Zoo string such as ``"dict(net_arch=[64, 64], activation_fn=nn.Tanh)"``,
  read here by a literal-only parser (:func:`parse_zoo_literal`; nothing is evaluated);
- ``n_envs``, ``env_kwargs`` and the algorithm's own constructor arguments (``learning_rate``,
  ``n_steps``, ``gamma``, ...).

pkgym's earlier keys still load (``normalize_reward: true``, ``policy_kwargs`` as a mapping with
``activation_fn: tanh``): hand-written files, tuning spaces and the ``model.json`` of saved
models use them. Every key is checked against the algorithm's and policy's signatures: a typo
is a ``ValueError`` naming the file, the key and the allowed keys, never a silently ignored
setting.
"""

from __future__ import annotations

import ast
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
ZOO_KEYS = ("n_timesteps", "policy", "normalize")
"""RL Zoo keys of a section that are not constructor arguments (``normalize`` replaces
``normalize_reward``)."""
ACTIVATIONS = ("tanh", "relu", "elu", "leaky_relu", "gelu")
"""Names ``policy_kwargs.activation_fn`` accepts (``torch.nn`` activations)."""
TORCH_ACTIVATIONS = {"Tanh": "tanh", "ReLU": "relu", "ELU": "elu", "LeakyReLU": "leaky_relu",
                     "GELU": "gelu"}
"""``torch.nn`` class names a Zoo ``policy_kwargs`` string may name (``nn.Tanh``), by name."""
NORMALIZE_KEYS = ("norm_obs", "norm_reward")
"""Keys of a ``normalize`` mapping (``VecNormalize`` arguments; both default to true)."""


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


def policy_name(algo: str, observation_space: Any = None) -> str:
    """The SB3 policy for an observation space (an LSTM one for ``recurrent_ppo``).

    ``MultiInputPolicy`` for a ``Dict`` space (every pkgym env; ``None`` means one), else
    ``MlpPolicy``: the Zoo's usual ``MlpPolicy`` cannot read a ``Dict`` observation.

    Examples:
        >>> policy_name("sac")
        'MultiInputPolicy'
        >>> from gymnasium import spaces
        >>> policy_name("recurrent_ppo", spaces.Box(-1, 1, (3,)))
        'MlpLstmPolicy'
    """
    from gymnasium import spaces

    dict_space = observation_space is None or isinstance(observation_space, spaces.Dict)
    kind = "MultiInput" if dict_space else "Mlp"
    return f"{kind}LstmPolicy" if algo == "recurrent_ppo" else f"{kind}Policy"


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
    clash = sorted(set(algo_kwargs) & {*SECTION_KEYS, *ZOO_KEYS})
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
    allowed = sorted((set(signature) - {"self", *NOT_FROM_YAML}) | {*SECTION_KEYS, *ZOO_KEYS})
    _check_keys(source, "", body, allowed)
    algo_kwargs = {key: value for key, value in body.items()
                   if key not in SECTION_KEYS and key not in ZOO_KEYS}
    for key, value in algo_kwargs.items():
        _check_value_type(source, key, value, signature[key].default)
    n_envs = body.get("n_envs", 1)
    if isinstance(n_envs, bool) or not isinstance(n_envs, int) or n_envs < 1:
        raise ValueError(f"{source}: n_envs must be an integer >= 1, got {n_envs!r}")
    _check_n_timesteps(source, body.get("n_timesteps", 1))
    normalize_reward = _normalize_reward(source, body)
    policy = policy_name(algo)
    if body.get("policy", policy) != policy:
        raise ValueError(f"{source}: policy must be {policy!r} (pkgym's observations are Dict "
                         f"spaces), got {body['policy']!r}")
    policy_kwargs = _policy_kwargs(source, body.get("policy_kwargs", {}))
    policy_signature = inspect.signature(algorithm.policy_aliases[policy].__init__).parameters
    _check_keys(source, "policy_kwargs.", policy_kwargs,
                sorted(set(policy_signature) - {"self", *POLICY_NOT_FROM_YAML}))
    activation = policy_kwargs.get("activation_fn", "tanh")
    if activation not in ACTIVATIONS:
        raise ValueError(f"{source}: policy_kwargs.activation_fn must be one of {ACTIVATIONS} "
                         f"(nn.{', nn.'.join(TORCH_ACTIVATIONS)} in a Zoo string), got "
                         f"{activation!r}")
    env_kwargs = _mapping(source, "env_kwargs", body.get("env_kwargs", {}))
    _check_action_kind(algo, source, env_kwargs)
    return Hyperparams(algo=algo, source=source, n_envs=n_envs,
                       normalize_reward=normalize_reward, policy=policy,
                       policy_kwargs=policy_kwargs, algo_kwargs=algo_kwargs,
                       env_kwargs=env_kwargs)


def parse_zoo_literal(text: str) -> Any:
    """A Zoo hyperparameter string (``policy_kwargs``, ``normalize``) read as a literal.

    The RL Zoo ``eval``s these strings; here only literals are read: numbers, strings,
    ``True``/``False``/``None``, lists, tuples (as lists), ``{...}``, ``dict(key=value, ...)``
    and the ``torch.nn`` activations of :data:`TORCH_ACTIVATIONS` (``nn.Tanh``, ``th.nn.ReLU``,
    ``torch.nn.GELU``), which become their names (``"tanh"``). Anything else (a call, a
    variable, an import) is a ``ValueError``; nothing is evaluated.

    Examples:
        >>> parse_zoo_literal("dict(net_arch=dict(pi=[64], vf=[64]), activation_fn=nn.Tanh)")
        {'net_arch': {'pi': [64], 'vf': [64]}, 'activation_fn': 'tanh'}
        >>> parse_zoo_literal("{'norm_obs': False, 'norm_reward': True}")
        {'norm_obs': False, 'norm_reward': True}
        >>> parse_zoo_literal("__import__('os').system('true')")
        Traceback (most recent call last):
        ...
        ValueError: not a literal (only numbers, ...): __import__('os').system('true')
    """
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise ValueError(f"not a Python expression: {text}") from None
    return _literal(tree.body, text)


def _literal(node: ast.AST, text: str) -> Any:
    """One node of :func:`parse_zoo_literal`'s expression."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str | None):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _literal(node.operand, text)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.List | ast.Tuple):
        return [_literal(item, text) for item in node.elts]
    if isinstance(node, ast.Dict) and all(key is not None for key in node.keys):
        keys = [_literal(key, text) for key in node.keys if key is not None]
        if all(isinstance(key, str) for key in keys):
            values = [_literal(value, text) for value in node.values]
            return dict(zip(keys, values, strict=True))
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict"
            and not node.args and all(kw.arg is not None for kw in node.keywords)):
        return {str(kw.arg): _literal(kw.value, text) for kw in node.keywords}
    if isinstance(node, ast.Attribute) and node.attr in TORCH_ACTIVATIONS:
        if ast.unparse(node.value) in ("nn", "th.nn", "torch.nn"):
            return TORCH_ACTIVATIONS[node.attr]
    raise ValueError("not a literal (only numbers, strings, True/False/None, [...], (...), "
                     f"{{...}}, dict(key=value, ...) and nn.<activation>): {text}")


def _zoo_value(source: str, key: str, value: Any) -> Any:
    """A section's value, a Zoo string read by :func:`parse_zoo_literal`."""
    if not isinstance(value, str):
        return value
    try:
        return parse_zoo_literal(value)
    except ValueError as error:
        raise ValueError(f"{source}: {key}: {error}") from None


def _policy_kwargs(source: str, value: Any) -> dict[str, Any]:
    """``policy_kwargs``: a mapping, or a Zoo string (``"dict(..., activation_fn=nn.Tanh)"``)."""
    return _mapping(source, "policy_kwargs", _zoo_value(source, "policy_kwargs", value))


def _normalize_reward(source: str, body: dict[str, Any]) -> bool:
    """Reward scaling from ``normalize`` (the Zoo's key) or ``normalize_reward`` (pkgym's)."""
    if "normalize" in body and "normalize_reward" in body:
        raise ValueError(f"{source}: give normalize (the Zoo's key) or normalize_reward, not both")
    if "normalize" not in body:
        normalize_reward = body.get("normalize_reward", False)
        if not isinstance(normalize_reward, bool):
            raise ValueError(f"{source}: normalize_reward must be true or false, got "
                             f"{normalize_reward!r}")
        return normalize_reward
    value = _zoo_value(source, "normalize", body["normalize"])
    if value is False:
        return False
    settings = {} if value is True else value  # VecNormalize's defaults: both true
    if not isinstance(settings, dict) or set(settings) - set(NORMALIZE_KEYS) or not all(
            isinstance(flag, bool) for flag in settings.values()):
        raise ValueError(f"{source}: normalize must be false or a mapping of {NORMALIZE_KEYS} "
                         f"to true/false, got {body['normalize']!r}")
    if settings.get("norm_obs", True):
        raise ValueError(f"{source}: pkgym train scales rewards only (a saved policy reads raw "
                         "observations): write normalize: \"{'norm_obs': False, "
                         f"'norm_reward': True}}\" or false, got {body['normalize']!r}")
    return bool(settings.get("norm_reward", True))


def _check_n_timesteps(source: str, value: Any) -> None:
    """The Zoo's budget: a whole number >= 1 (``1.0e6`` too; the Zoo takes ``int`` of it)."""
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not whole or value < 1:
        raise ValueError(f"{source}: n_timesteps must be a whole number >= 1, got {value!r}")


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
