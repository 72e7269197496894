"""``pkgym train``: one Stable-Baselines3 agent on one pkgym env, top to bottom (CleanRL style).

1. Hyperparameters: the env's section of ``agents/rl/hyperparams/<algo>.yml`` (RL-Zoo style).
2. Patients: a finite training cohort (TRAINING seed space) that the env cycles through,
   and a fixed validation cohort (VALIDATION seed space) that picks the best model.
3. The batched env behind the SB3 adapter (observation history first for the VAE encoder).
4. The model: new (seeded), or the latest checkpoint of ``OUT/checkpoints`` (``resume``);
   with ``method`` ``dagger`` or ``dagger+rl`` it first imitates a teacher (DAgger,
   ``OUT/imitation.csv``), and ``dagger+rl`` goes on as PPO anchored to the imitated policy.
5. Logs (CSV + TensorBoard in ``OUT/logs``), checkpoints, validation, clinical metrics.
6. ``model.learn``; then ``OUT/model.zip`` + ``OUT/model.json`` (what, how, on whom).

Every file is written atomically; an interrupted run leaves a checkpoint to resume from.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import pandas as pd
import torch
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import configure
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import VecEnv, VecMonitor, VecNormalize

import pkgym  # noqa: F401  (registers the environments)
from agents.rl.callbacks import (
    CheckpointCallback,
    ClinicalMetricsCallback,
    ProgressLogCallback,
    ValidationCallback,
    latest_checkpoint,
    save_checkpoint,
    state_path,
)
from agents.rl.hyperparameters import (
    Hyperparams,
    algorithm_class,
    build_policy_kwargs,
    load_hyperparams,
)
from agents.rl.imitation import MakeTeacher
from agents.rl.learning_methods import (
    anchored,
    belief_record,
    encoder_kwargs,
    imitate,
    probe_core,
    training_env_kwargs,
)
from agents.rl.model_metadata import (
    HISTORY_ENCODERS,
    cohort_record,
    file_sha256,
    library_versions,
    read_metadata,
    save_model,
)
from agents.rl.sb3_vec_env import PkgymVecEnv
from agents.rl.train_config import IMITATING, TrainConfig, TrainResult
from pkgym.envs.base import DosingCore
from pkgym.evaluation.cohorts import TRAINING, VALIDATION, cohort_id, env_cohort
from pkgym.evaluation.outcomes import outcome_spec

RESUME_MUST_MATCH = ("env_id", "algo", "encoder", "method", "teacher", "scenario_sha256",
                     "vae_sha256", "training_cohort", "validation_cohort")
"""Metadata a resumed run must share with its checkpoint."""


def train(config: TrainConfig, *, make_teacher: MakeTeacher | None = None) -> TrainResult:
    """Train one agent (see the module docstring for the steps); write its files.

    ``make_teacher`` builds the teacher of ``dagger``/``dagger+rl`` from its spec (default:
    the env's baselines by name; the CLI hands in
    :func:`agents.policies.registry.make_policy`, which takes any policy spec).

    Examples:
        >>> import tempfile
        >>> result = train(TrainConfig(env_id="pkgym/Vancomycin-v0", algo="a2c", timesteps=56,
        ...                            n_envs=4, n_training_patients=8, eval_freq=0,
        ...                            checkpoint_freq=0, out_dir=tempfile.mkdtemp()))
        >>> result.metadata["timesteps"], result.model_path.name
        (56, 'model.zip')
    """
    started, threads = time.perf_counter(), torch.get_num_threads()
    torch.set_num_threads(config.torch_threads)
    try:
        model, metadata, validator = _train(config, make_teacher)
    finally:
        torch.set_num_threads(threads)
    out = config.out_dir
    return TrainResult(
        model=model, model_path=out / "model.zip", metadata=metadata,
        best_model_path=None if validator is None else out / "best_model.zip",
        learning_curve=None if validator is None else pd.read_csv(out / "learning_curve.csv"),
        wall_time_s=time.perf_counter() - started)


def _train(config: TrainConfig, make_teacher: MakeTeacher | None = None
           ) -> tuple[Any, dict[str, Any], ValidationCallback | None]:
    """The six steps of the module docstring; the model, its metadata and the validator."""
    out = config.out_dir
    _check_out_dir(config)
    # 1. Hyperparameters: the env's YAML section; an explicit n_envs wins.
    hp = load_hyperparams(config.algo, config.env_id, config.hyperparams_file)
    n_envs = config.n_envs or hp.n_envs
    env_kwargs = training_env_kwargs(config, hp)
    # 2. Patients: finite training cohort; fixed validation cohort in its own seed space.
    core = probe_core(config.env_id, env_kwargs)
    settings: Any = core.settings
    training, validation = (
        env_cohort(settings, n, config.seed, space)
        for n, space in ((config.n_training_patients, TRAINING),
                         (config.n_validation_patients, VALIDATION)))
    # 3. The batched env, its slots seeded from the run's seed, patients from the cohort.
    set_random_seed(config.seed)
    venv = make_training_env(config, hp, n_envs, env_kwargs, training)
    # 4. The model: new, or the latest checkpoint (same env, algorithm, encoder, patients).
    metadata = run_metadata(config, hp, n_envs, env_kwargs, training, validation)
    model = resume_model(config, hp, venv, n_envs, metadata) if config.resume else new_model(
        config, hp, venv, n_envs)
    metadata["device"] = str(model.device)
    start = int(model.num_timesteps)
    if config.method in IMITATING and start == 0:  # 4b. Imitate the teacher first.
        imitate(model, config, env_kwargs, training, n_envs, hp, make_teacher)
        model = anchored(model, config)
    # 5. Logs (a resumed run logs beside the first one) and callbacks.
    logs = out / "logs" if start == 0 else out / "logs" / f"resumed_at_{start}_steps"
    model.set_logger(configure(str(logs), ["csv", "tensorboard"] +
                               (["stdout"] if config.verbose else [])))
    callbacks = _callbacks(config, core, validation, env_kwargs, metadata, start)
    validator = next((c for c in callbacks if isinstance(c, ValidationCallback)), None)
    # 6. Learn up to the total step count; validate the final model; save it.
    try:
        _learn(model, config, callbacks, start, metadata)
        if validator is not None and validator.last_timesteps != model.num_timesteps:
            validator.init_callback(model)
            validator.validate()
        model.logger.dump(model.num_timesteps)  # what was recorded since SB3's last dump
    finally:
        model.logger.close()  # the CSV and TensorBoard files, even after Ctrl-C
    save_model(model, out / "model.zip", metadata)
    return model, dict(model.pkgym_metadata), validator


def make_training_env(config: TrainConfig, hp: Hyperparams, n_envs: int,
                      env_kwargs: dict[str, Any], training: pd.DataFrame) -> VecEnv:
    """The SB3 view of ``n_envs`` patients of ``training``, with episode statistics.

    With the VAE encoder the batched env is wrapped to observe the canonical history first;
    with ``normalize_reward`` the rewards SB3 learns from are scaled (episode statistics and
    validation stay in clinical units).
    """
    env = gym.make_vec(config.env_id, num_envs=n_envs, vectorization_mode="vector_entry_point",
                       autoreset_mode=AutoresetMode.SAME_STEP, **env_kwargs)
    if config.encoder in HISTORY_ENCODERS:
        from pkgym.wrappers.history import VectorObservationHistoryWrapper

        env = VectorObservationHistoryWrapper(env)
    adapter: VecEnv = PkgymVecEnv(env, patients=training, patient_order_seed=config.seed)
    if config.method == "asymmetric":  # the critic's "privileged" key, from the infos
        from agents.rl.privileged import PrivilegedObservation

        adapter = PrivilegedObservation(adapter, env.unwrapped.core)
    if not hp.normalize_reward:
        return VecMonitor(adapter)
    gamma = hp.algo_kwargs.get("gamma", 0.99)
    return VecNormalize(VecMonitor(adapter), norm_obs=False, norm_reward=True, gamma=gamma)


def new_model(config: TrainConfig, hp: Hyperparams, venv: VecEnv, n_envs: int) -> Any:
    """A fresh, seeded model with the encoder's features extractor."""
    kwargs = algo_kwargs(hp, n_envs)
    policy_kwargs = {**build_policy_kwargs(hp), **encoder_kwargs(config, hp)}
    policy: Any = hp.policy
    if config.method == "asymmetric":
        from agents.rl.privileged import AsymmetricActorCriticPolicy, asymmetric_policy_kwargs

        policy = AsymmetricActorCriticPolicy
        policy_kwargs = asymmetric_policy_kwargs(policy_kwargs)
    model = algorithm_class(config.algo)(
        policy, venv, policy_kwargs=policy_kwargs, seed=config.seed, device=config.device,
        verbose=int(config.verbose), **kwargs)
    if config.encoder in HISTORY_ENCODERS:
        from agents.rl.encoders import load_vae_weights

        load_vae_weights(model, config.vae_path)
    return model


def algo_kwargs(hp: Hyperparams, n_envs: int) -> dict[str, Any]:
    """The algorithm's arguments for ``n_envs``: a PPO minibatch never exceeds the rollout.

    Examples:
        >>> algo_kwargs(load_hyperparams("ppo", "pkgym/Vancomycin-v0"), 2)["batch_size"]
        128
    """
    kwargs = dict(hp.algo_kwargs)
    if hp.algo in ("ppo", "recurrent_ppo") and "n_steps" in kwargs and "batch_size" in kwargs:
        kwargs["batch_size"] = min(kwargs["batch_size"], kwargs["n_steps"] * n_envs)
    return kwargs


def resume_model(config: TrainConfig, hp: Hyperparams, venv: VecEnv, n_envs: int,
                 metadata: dict[str, Any]) -> Any:
    """The latest checkpoint (model, replay buffer, step count), checked against this run.

    The model is built as :func:`new_model` builds it and the checkpoint's weights, optimiser
    states and counters are put in (:func:`agents.rl.model_loading.restore_checkpoint`):
    nothing of the zip is unpickled.
    """
    from agents.rl.model_loading import restore_checkpoint

    checkpoint = latest_checkpoint(config.out_dir / "checkpoints")
    if checkpoint is None:
        raise ValueError(f"resume: no checkpoint in {config.out_dir / 'checkpoints'} (nothing "
                         "to resume; train without resume first, with checkpoint_freq > 0)")
    saved = read_metadata(checkpoint) or {}
    for key in RESUME_MUST_MATCH:
        if saved.get(key) != metadata.get(key):
            raise ValueError(f"resume: {checkpoint} has {key}={saved.get(key)!r}, this run "
                             f"{metadata.get(key)!r}; resume with the original settings")
    steps = int(saved.get("timesteps", -1))
    if isinstance(venv, VecNormalize):
        venv = VecNormalize.load(str(_state(checkpoint, "vecnormalize", steps)), venv.venv)
    model = restore_checkpoint(anchored(new_model(config, hp, venv, n_envs), config),
                               checkpoint, saved)
    if getattr(model, "replay_buffer", None) is not None:
        model.load_replay_buffer(_state(checkpoint, "replay_buffer", steps))
    model.set_random_seed(config.seed + int(model.num_timesteps))
    return model


def _state(checkpoint: Path, kind: str, steps: int) -> Path:
    """A checkpoint's state file (replay buffer, reward statistics), which must exist."""
    path = state_path(checkpoint.parent, kind, steps)
    if not path.is_file():
        raise ValueError(f"resume: {checkpoint} has no {kind} state ({path.name})")
    return path


def run_metadata(config: TrainConfig, hp: Hyperparams, n_envs: int, env_kwargs: dict[str, Any],
                 training: pd.DataFrame, validation: pd.DataFrame) -> dict[str, Any]:
    """The description saved beside every model zip of the run (``agents.rl.model_metadata``)."""
    versions = library_versions()
    return {
        "env_id": config.env_id, "env_kwargs": env_kwargs,
        "scenario": None if config.scenario is None else str(config.scenario),
        "scenario_sha256": file_sha256(config.scenario), "algo": config.algo,
        "policy": hp.policy, "encoder": config.encoder,
        "fine_tune_encoder": config.fine_tune_encoder, "method": config.method,
        "teacher": config.teacher,
        "imitation_labels": config.imitation_labels if config.method in IMITATING else None,
        "imitation_epochs": config.imitation_epochs if config.method in IMITATING else None,
        "imitation_learning_rate": (config.imitation_learning_rate
                                    if config.method in IMITATING else None),
        "anchor_kl_coef": config.anchor_kl_coef if config.method == "dagger+rl" else None,
        "belief": belief_record(config, hp),
        **vae_record(config),
        "training_cohort": cohort_record(cohort_id(training)),
        "validation_cohort": cohort_record(cohort_id(validation)),
        "seed": config.seed, "n_envs": n_envs, "timesteps_requested": config.timesteps,
        "hyperparams": {**hp.as_dict(), "n_envs": n_envs, "algo_kwargs": algo_kwargs(hp, n_envs)},
        "pkgym_version": versions["pkgym"], "sb3_version": versions["stable-baselines3"],
        "sb3_contrib_version": versions["sb3-contrib"], "torch_version": versions["torch"],
        "gymnasium_version": versions["gymnasium"], "numpy_version": versions["numpy"],
        "python_version": versions["python"]}


def _callbacks(config: TrainConfig, core: DosingCore, validation: pd.DataFrame,
               env_kwargs: dict[str, Any], metadata: dict[str, Any],
               start: int) -> list[BaseCallback]:
    """Clinical metrics always; checkpoints and validation when their frequency is > 0."""
    out = config.out_dir
    callbacks: list[BaseCallback] = [ClinicalMetricsCallback(_clinical_keys(core))]
    if config.progress_log:
        callbacks.append(ProgressLogCallback(config.timesteps, start))
    if config.checkpoint_freq:
        callbacks.append(CheckpointCallback(config.checkpoint_freq, out / "checkpoints",
                                            metadata, start))
    if config.eval_freq:
        callbacks.append(ValidationCallback(
            config.eval_freq, env_id=config.env_id, env_kwargs=env_kwargs, core=core,
            cohort=validation, noise_seed=config.seed, out_dir=out, metadata=metadata,
            previous=_previous_curve(out, start), start_timesteps=start))
    return callbacks


def vae_record(config: TrainConfig) -> dict[str, Any]:
    """The VAE's path, weights hash and cohorts (``None`` for the raw encoder).

    The VAE must have been trained on the same env and scenario as the agent.
    """
    record: dict[str, Any] = dict.fromkeys(
        ("vae_path", "vae_sha256", "vae_config", "vae_training_cohort", "vae_validation_cohort"))
    if config.vae_path is None:
        return record
    from agents.vae.model import load_vae

    vae = load_vae(config.vae_path)
    if vae.metadata.get("env_id", config.env_id) != config.env_id:
        raise ValueError(f"vae_path: the VAE was trained on {vae.metadata['env_id']}, not "
                         f"{config.env_id}")
    if vae.config.get("scenario_sha256") != file_sha256(config.scenario):
        raise ValueError(f"vae_path: the VAE was trained under another scenario than "
                         f"{config.scenario or 'the default one'}")
    weights = config.vae_path / "vae.pt" if config.vae_path.is_dir() else config.vae_path
    record.update(vae_path=str(config.vae_path), vae_sha256=file_sha256(weights),
                  vae_config=dict(vae.config),
                  vae_training_cohort=vae.metadata.get("training_cohort"),
                  vae_validation_cohort=vae.metadata.get("validation_cohort"))
    return record


def _learn(model: Any, config: TrainConfig, callbacks: list[BaseCallback], start: int,
           metadata: dict[str, Any]) -> None:
    """``model.learn`` up to ``config.timesteps``; on Ctrl-C, checkpoint first."""
    remaining = config.timesteps - start
    if remaining <= 0:
        return
    rollout = getattr(model, "n_steps", 0) * model.n_envs  # on-policy: whole rollouts only
    if rollout and remaining % rollout:
        print(f"train: {config.algo} collects {rollout} steps per rollout (n_steps "
              f"{model.n_steps} x {model.n_envs} envs), so it runs "
              f"{start + -(-remaining // rollout) * rollout} steps for --timesteps "
              f"{config.timesteps}", file=sys.stderr)
    try:
        model.learn(remaining, callback=callbacks, reset_num_timesteps=start == 0,
                    progress_bar=config.progress_bar)
    except KeyboardInterrupt:
        path = save_checkpoint(model, config.out_dir / "checkpoints", metadata)
        print(f"interrupted: checkpoint {path}; continue with resume")
        raise


def _check_out_dir(config: TrainConfig) -> None:
    """Refuse to overwrite a finished or checkpointed run unless resuming it."""
    out = config.out_dir
    if config.resume:
        finished = out / "model.json"
        if finished.exists():
            done = int(json.loads(finished.read_text(encoding="utf-8")).get("timesteps", 0))
            if done >= config.timesteps:
                raise ValueError(f"--resume: {out} holds a finished run of {done} steps "
                                 f"(>= --timesteps {config.timesteps}); nothing to resume, "
                                 "and model.zip is kept")
        return
    if (out / "model.zip").exists() or latest_checkpoint(out / "checkpoints") is not None:
        raise ValueError(f"out_dir {out} already holds a training run: resume it or choose "
                         "another out_dir")


def _previous_curve(out: Path, start: int) -> pd.DataFrame | None:
    """The learning curve of a resumed run up to its checkpoint."""
    path = out / "learning_curve.csv"
    if start == 0 or not path.is_file():
        return None
    curve = pd.read_csv(path)
    return curve[curve["timesteps"] <= start]


def _clinical_keys(core: DosingCore) -> tuple[str, ...]:
    """The per-step ``info`` keys the clinical-metrics callback logs."""
    spec = outcome_spec(core)
    return tuple(dict.fromkeys((spec.in_range_key, spec.dose_key, spec.level_key)))
