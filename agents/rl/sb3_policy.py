"""A trained Stable-Baselines3 model as a pkgym :class:`~pkgym.evaluation.policy.Policy`.

``pkgym train`` saves ``model.zip`` with ``model.json`` beside it (:mod:`agents.rl.model_metadata`).
With that description the policy loads the right algorithm (RecurrentPPO included), keeps
one LSTM state per env, feeds a VAE-encoder model the observed history it was trained on,
refuses an env other than the one it was trained on, runs under another scenario with the
same spaces as a *shifted* evaluation (named ``sb3:MODEL[shifted: TRAINED -> EVALUATED]``;
spaces that differ are refused), and exposes the cohorts it saw (``training_cohorts``) so
that :func:`pkgym.evaluation.evaluate.evaluate` runs the leakage guard.

Such a model is rebuilt from its description and only its weights are read
(:mod:`agents.rl.model_loading`): nothing in the zip is unpickled. A zip without a
description that matches it (a foreign SB3 zip) is refused unless ``trust_model_file`` is
given; then SB3's own ``load`` runs (PPO, A2C, DQN, SAC or RecurrentPPO, tried in that order),
which executes code stored in the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from agents.env_hooks import find_spec
from agents.rl.model_loading import (
    TRUST_HINT,
    UntrustedModelError,
    load_model_safely,
    load_model_trusted,
    spaces_under,
)
from agents.rl.model_metadata import (
    HISTORY_ENCODERS,
    file_sha256,
    read_metadata,
    training_cohorts,
)
from pkgym.envs.base import DosingCore


class SB3Policy:
    """A trained SB3 model acting deterministically; its actions become doses through the env.

    Discrete or continuous follows the model's own action space.

    Args:
        path: the model's ``.zip``.
        core: the core of the env it will act in (dose levels, action decoding, history).
        env_id: the evaluated env's id; checked against the model's (when not given, it is
            inferred from ``core`` where unambiguous).
        scenario: the evaluated env's scenario file (``None``: the defaults). Given ``env_id``,
            a file whose SHA-256 is not the training scenario's makes a shifted evaluation
            (``self.shift`` says from what to what); its spaces must be the model's.
        trust_model_file: load a zip without a matching ``model.json`` with SB3's ``load``,
            which runs code stored in the file (``False``: refuse it).

    Raises:
        UntrustedModelError: the zip cannot be loaded without running code from it and
            ``trust_model_file`` is not given.
    """

    reads_hidden_state = False

    def __init__(self, path: str | os.PathLike, core: DosingCore, *, env_id: str | None = None,
                 scenario: str | os.PathLike | None = None,
                 trust_model_file: bool = False) -> None:
        """Load the model (by its description when there is one) and check it fits the env."""
        if not Path(path).is_file():
            raise ValueError(f"sb3:{path}: no such file")
        metadata = read_metadata(path)
        shift = None
        if metadata is not None:
            shift = _check_env(metadata, core, env_id, scenario, explicit=env_id is not None)
        trained_spaces = shift is not None or env_id is None
        model = _load(path, metadata, None if trained_spaces else scenario, trust_model_file)
        name = f"sb3:{model_label(path)}"
        if shift is not None and metadata is not None:
            _check_same_spaces(path, metadata, scenario, model)
            name = f"{name}[shifted: {shift}]"
        self._setup(model, core, metadata, name)
        self.shift = shift

    @classmethod
    def from_model(cls, model: Any, core: DosingCore, metadata: Mapping[str, Any] | None,
                   name: str = "sb3:current") -> SB3Policy:
        """The policy of a model in memory (the validation callback's current model)."""
        policy = cls.__new__(cls)
        policy._setup(model, core, metadata, name)
        return policy

    def _setup(self, model: Any, core: DosingCore, metadata: Mapping[str, Any] | None,
               name: str) -> None:
        self.model, self.core, self.name = model, core, name
        self.metadata = dict(metadata or {})
        self.training_cohorts = (training_cohorts(self.metadata) if metadata is not None
                                 else tuple(getattr(model, "training_cohorts", ())))
        self.continuous = isinstance(model.action_space, spaces.Box)
        self.recurrent = type(model).__name__ == "RecurrentPPO"
        self.uses_history = self.metadata.get("encoder") in HISTORY_ENCODERS
        self._state: Any = None
        self._starts: np.ndarray | None = None
        self.shift: str | None = None

    def reset(self, n_envs: int) -> None:
        """Forget the previous patients: clear the LSTM states of ``n_envs`` new episodes."""
        self._state, self._starts = None, np.ones(n_envs, dtype=bool)

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Deterministic actions for the batch, as the env's decisions (doses in mg)."""
        obs = dict(observation)
        n = len(next(iter(obs.values())))
        if self.uses_history:
            from pkgym.wrappers.history import observed_history

            obs = observed_history(self.core, obs)
        if self.recurrent:
            if self._starts is None or self._starts.shape != (n,):
                self.reset(n)
            actions, self._state = self.model.predict(
                obs, state=self._state, episode_start=self._starts, deterministic=True)
            self._starts = np.zeros(n, dtype=bool)
        else:
            actions, _ = self.model.predict(obs, deterministic=True)
        if self.continuous:
            actions = np.clip(np.asarray(actions, dtype=np.float64).reshape(n), -1.0, 1.0)
        return np.asarray(self.core.decode_actions(actions, self.continuous, n),
                          dtype=np.float64)


def infer_env_id(core: DosingCore) -> str | None:
    """The registered pkgym env id a core belongs to (``None`` for a core of another env).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> infer_env_id(gym.make("pkgym/WarfarinPGx-v0").unwrapped.core)
        'pkgym/WarfarinPGx-v0'
    """
    spec = find_spec(core)
    return None if spec is None else spec.env_id


def model_label(path: str | os.PathLike) -> str:
    """A model's short name: the file's stem, or its run folder's name for ``model.zip``.

    ``pkgym train`` saves every run as ``RUN/model.zip``; naming it by ``RUN`` keeps two runs
    apart in one evaluation.

    Examples:
        >>> model_label("runs/ppo_raw/model.zip"), model_label("tiny.zip")
        ('ppo_raw', 'tiny')
    """
    file = Path(path)
    return file.parent.name if file.stem == "model" and file.parent.name else file.stem


def _check_env(metadata: Mapping[str, Any], core: DosingCore, env_id: str | None,
               scenario: str | os.PathLike | None, explicit: bool) -> str | None:
    """Refuse an env other than the model's; return a scenario shift, else ``None``.

    Given ``env_id``, a scenario other than the training one is a shift, returned as
    ``"TRAINED -> EVALUATED"`` (scenario file names).
    """
    evaluated = env_id if explicit else infer_env_id(core)
    if evaluated is not None and evaluated != metadata["env_id"]:
        raise ValueError(f"the model was trained on {metadata['env_id']}, not {evaluated}: "
                         "evaluate it on the env it was trained on")
    if explicit and file_sha256(scenario) != metadata.get("scenario_sha256"):
        trained = metadata.get("scenario")
        return (f"{Path(trained).name if trained else 'default scenario'} -> "
                f"{Path(scenario).name if scenario else 'default scenario'}")
    return None


def _check_same_spaces(path: str | os.PathLike, metadata: Mapping[str, Any],
                       scenario: str | os.PathLike | None, model: Any) -> None:
    """Refuse a shifted scenario whose observation or action space is not the model's."""
    observation, action = spaces_under(metadata, scenario)
    for kind, given, own in (("observation", observation, model.observation_space),
                             ("action", action, model.action_space)):
        if given != own:
            raise ValueError(f"sb3:{path}: a shifted evaluation needs the model's spaces; under "
                             f"{scenario or 'the default scenario'} the {kind} space differs "
                             f"({_space_difference(given, own)})")


def _space_difference(given: spaces.Space, own: spaces.Space) -> str:
    """Which keys of two Dict spaces differ and how (shapes), or the two spaces in short."""
    if isinstance(given, spaces.Dict) and isinstance(own, spaces.Dict):
        keys = sorted(set(given.spaces) | set(own.spaces))
        return "; ".join(
            f"{key}: {getattr(given.spaces.get(key), 'shape', None)} vs the model's "
            f"{getattr(own.spaces.get(key), 'shape', None)}" for key in keys
            if given.spaces.get(key) != own.spaces.get(key))
    return f"{given} vs the model's {own}"


def _load(path: str | os.PathLike, metadata: Mapping[str, Any] | None,
          scenario: str | os.PathLike | None, trusted: bool) -> Any:
    """The model: rebuilt from its description (weights only), else trusted to SB3's ``load``."""
    if metadata is None:
        if not trusted:
            raise UntrustedModelError(f"sb3:{path}: no model.json beside it (not saved by pkgym "
                                      f"train); {TRUST_HINT}")
        return load_model_trusted(path)
    try:
        return load_model_safely(path, metadata, scenario)
    except UntrustedModelError:
        if not trusted:
            raise
    return load_model_trusted(path, str(metadata["algo"]))
