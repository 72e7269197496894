"""How ``pkgym train`` builds what it learns with: the encoder, the env's arguments, imitation.

* :func:`encoder_kwargs`: the features extractor of ``--encoder raw | vae | belief``;
* :func:`imitate`: ``--method dagger`` and ``dagger+rl``, DAgger from a teacher policy
  (:mod:`agents.rl.imitation`) before (or instead of) the RL phase;
* :func:`probe_core`, :func:`training_env_kwargs`: the env the run trains on.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import pandas as pd

from agents.rl.hyperparameters import Hyperparams
from agents.rl.model_metadata import HISTORY_ENCODERS
from agents.rl.train_config import TrainConfig
from pkgym.envs.base import DosingCore


def training_env_kwargs(config: TrainConfig, hp: Hyperparams) -> dict[str, Any]:
    """The env's keyword arguments: the hyperparameter file's, and the scenario file."""
    env_kwargs = dict(hp.env_kwargs)
    if config.scenario is not None:
        env_kwargs["scenario"] = str(config.scenario)
    return env_kwargs


def probe_core(env_id: str, env_kwargs: dict[str, Any]) -> DosingCore:
    """The core of a one-patient vector env (settings, dose levels, outcome spec).

    Examples:
        >>> type(probe_core("pkgym/Vancomycin-v0", {})).__name__
        'VancomycinCore'
    """
    try:
        env = gym.make_vec(env_id, num_envs=1, vectorization_mode="vector_entry_point",
                           **env_kwargs)
    except TypeError as error:
        raise ValueError(f"env_kwargs {sorted(env_kwargs)} do not fit {env_id} ({error})") from None
    return env.unwrapped.core  # type: ignore[attr-defined]


def encoder_kwargs(config: TrainConfig, hp: Hyperparams) -> dict[str, Any]:
    """The policy's features extractor and its arguments for ``config.encoder``."""
    if config.encoder == "raw":
        from agents.rl.encoders import ScaledDictExtractor

        return {"features_extractor_class": ScaledDictExtractor}
    from agents.vae.model import load_vae

    vae_config = dict(load_vae(config.vae_path).config)
    if config.encoder == "vae":
        from agents.rl.encoders import VAEFeaturesExtractor

        return {"features_extractor_class": VAEFeaturesExtractor,
                "features_extractor_kwargs": {"vae_config": vae_config,
                                              "fine_tune": config.fine_tune_encoder}}
    from agents.rl.belief import BeliefFeaturesExtractor, belief_settings

    settings = belief_settings(probe_core(config.env_id, training_env_kwargs(config, hp)))
    return {"features_extractor_class": BeliefFeaturesExtractor,
            "features_extractor_kwargs": {"vae_config": vae_config, **settings}}


def belief_record(config: TrainConfig, hp: Hyperparams) -> dict[str, Any] | None:
    """The belief encoder's forecast settings (``None`` for other encoders)."""
    if config.encoder != "belief":
        return None
    kwargs = dict(encoder_kwargs(config, hp)["features_extractor_kwargs"])
    kwargs.pop("vae_config")
    return kwargs


def imitate(model: Any, config: TrainConfig, env_kwargs: dict[str, Any],
            training: pd.DataFrame, n_envs: int, hp: Hyperparams,
            make_teacher: Any = None) -> pd.DataFrame:
    """DAgger from ``config.teacher`` on the training cohort; ``OUT/imitation.csv``.

    The teacher may be any ``pkgym evaluate`` spec of the env's baselines (``map``,
    ``oracle``, ``map:prior=NAME``); it acts on the raw observation (and reads ``info`` if
    it is the oracle), the student on what its encoder reads.
    """
    from agents.rl.imitation import ImitationConfig, dagger
    from pkgym.io import write_table

    observe: Any = None
    if config.encoder in HISTORY_ENCODERS:
        from pkgym.wrappers.history import observed_history as observe
    table = dagger(model, ImitationConfig(teacher=str(config.teacher),
                                          n_labels=config.imitation_labels,
                                          epochs=config.imitation_epochs,
                                          learning_rate=float(config.imitation_learning_rate)),
                   env_id=config.env_id, env_kwargs=env_kwargs, training=training,
                   seed=config.seed, n_envs=n_envs, observe=observe,
                   gamma=float(hp.algo_kwargs.get("gamma", 0.99)),
                   **({} if make_teacher is None else {"make_teacher": make_teacher}))
    write_table(table, config.out_dir / "imitation.csv")
    return table


def anchored(model: Any, config: TrainConfig) -> Any:
    """The model to fine-tune: anchored at its imitated policy for ``dagger+rl``.

    ``dagger+rl``: an :class:`~agents.rl.anchored_ppo.AnchoredPPO` copy of ``model`` whose
    anchor is its current (imitated) policy; any other method: ``model`` itself.
    """
    if config.method != "dagger+rl":
        return model
    from agents.rl.anchored_ppo import AnchoredPPO

    model = AnchoredPPO.from_model(model, anchor_kl_coef=config.anchor_kl_coef)
    model.set_random_seed(config.seed)
    return model
