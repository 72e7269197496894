"""Offline RL on a pkgym dataset, top to bottom: episodes -> transitions -> updates -> model.

``pkgym train-offline`` calls :func:`train_offline_run`; the pieces (:func:`transitions_from_
episodes`, :func:`train_learner`, :func:`save_offline_model`) serve tests and the benchmark.
The model is ``OUT/model.pt`` (weights only: a state dict, loaded with
``torch.load(weights_only=True)``) with ``OUT/model.json`` beside it (algorithm, env,
features, hyperparameters, losses, and the dataset's cohort as ``training_cohort`` so that the
leakage guard refuses evaluating it on the dataset's patients). Both are written atomically,
the JSON first, and a checkpoint ``OUT/checkpoint.pt`` (weights and step) is rewritten every
``checkpoint_every`` updates, so an interrupted run leaves complete files.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.offline.algorithms import ALGOS, Batch, OfflineConfig, make_learner
from agents.offline.features import ObservationFeatures
from pkgym.io import write_atomic, write_text

MODEL_FILE, METADATA_FILE, CHECKPOINT_FILE = "model.pt", "model.json", "checkpoint.pt"
DEFAULT_CONFIG = OfflineConfig()


@dataclass(frozen=True, slots=True)
class Transitions:
    """All transitions of a dataset as arrays (one row per decision).

    Attributes:
        observations: ``(n, d)`` float32 features of the state acted in.
        actions: ``(n,)`` int64 level indices the behaviour chose.
        rewards: ``(n,)`` float32 rewards.
        next_observations: ``(n, d)`` float32 features of the next state.
        dones: ``(n,)`` float32, 1.0 where the episode ended (terminated, or the env's
            horizon: the treatment course is over and nothing follows).
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_observations: np.ndarray
    dones: np.ndarray

    def sample(self, rng: np.random.Generator, size: int) -> Batch:
        """A batch of ``size`` transitions drawn uniformly with replacement."""
        rows = rng.integers(0, len(self.actions), size)
        return Batch(*(torch.as_tensor(a[rows]) for a in (
            self.observations, self.actions, self.rewards, self.next_observations, self.dones)))


def transitions_from_episodes(episodes: Iterable[Any],
                              features: ObservationFeatures) -> Transitions:
    """Flatten Minari episodes into transitions.

    Each episode is Minari's ``EpisodeData``: Dict ``observations`` of ``T + 1`` rows, then
    ``actions``, ``rewards``, ``terminations`` and ``truncations`` of ``T``.
    """
    parts: list[tuple[np.ndarray, ...]] = []
    for episode in episodes:
        obs = features(episode.observations)  # (T + 1, d)
        steps = len(episode.actions)
        done = np.zeros(steps, dtype=np.float32)
        done[-1] = 1.0  # termination or the horizon's truncation: the course is over
        done[np.asarray(episode.terminations, dtype=bool)] = 1.0
        parts.append((obs[:-1], np.asarray(episode.actions, dtype=np.int64).reshape(steps),
                      np.asarray(episode.rewards, dtype=np.float32), obs[1:], done))
    if not parts:
        raise ValueError("dataset has no episodes")
    return Transitions(*(np.concatenate(column) for column in zip(*parts, strict=True)))


def train_learner(transitions: Transitions, algo: str, n_actions: int, steps: int, seed: int,
                  config: OfflineConfig = DEFAULT_CONFIG, *, out: Path | None = None,
                  checkpoint_every: int = 0) -> tuple[torch.nn.Module, list[dict[str, float]]]:
    """Train ``algo`` for ``steps`` updates on uniformly sampled batches.

    Returns:
        The learner and its losses, averaged every ``max(1, steps // 20)`` updates.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    torch.manual_seed(seed)  # an agents entry point: seeds the networks' initialisation
    rng = np.random.default_rng(seed)
    learner = make_learner(algo, transitions.observations.shape[1], n_actions, config)
    every, log, window = max(1, steps // 20), [], []
    for step in range(1, steps + 1):
        window.append(learner.update(transitions.sample(rng, config.batch_size)))
        if step % every == 0 or step == steps:
            log.append({"step": step, **{k: float(np.mean([w[k] for w in window]))
                                         for k in window[0]}})
            window = []
        if out is not None and checkpoint_every and step % checkpoint_every == 0:
            _save_weights({"step": step, "state_dict": learner.state_dict()},
                          out / CHECKPOINT_FILE)
    return learner, log


def save_offline_model(learner: torch.nn.Module, out: Path,
                       metadata: Mapping[str, Any]) -> Path:
    """Write ``OUT/model.json`` then ``OUT/model.pt`` (state dict), atomically; the .pt path."""
    write_text(json.dumps(dict(metadata), indent=2, sort_keys=True) + "\n", out / METADATA_FILE)
    return _save_weights(learner.state_dict(), out / MODEL_FILE)


def _save_weights(state: Any, path: Path) -> Path:
    return write_atomic(path, lambda tmp: torch.save(state, tmp))


def train_offline_run(dataset_dir: str | os.PathLike, algo: str, steps: int, seed: int,
                      out: str | os.PathLike, config: OfflineConfig = DEFAULT_CONFIG,
                      checkpoint_every: int = 1000) -> dict[str, Any]:
    """Train ``algo`` on a pkgym Minari dataset and save the model; its metadata.

    Raises:
        ValueError: an unknown ``algo``, ``steps < 1`` or a directory that is no pkgym dataset.
    """
    from agents.offline.dataset import load_pkgym_dataset

    if algo not in ALGOS:
        raise ValueError(f"--algo must be one of {', '.join(ALGOS)}, got {algo!r}")
    started = time.perf_counter()
    torch.set_num_threads(1)  # small networks: one thread beats two that contend (measured)
    dataset, meta = load_pkgym_dataset(dataset_dir)
    env = dataset.recover_environment()
    features = ObservationFeatures.from_space(env.observation_space)
    n_actions = int(env.action_space.n)
    transitions = transitions_from_episodes(dataset.iterate_episodes(), features)
    out_dir = Path(out)
    learner, log = train_learner(transitions, algo, n_actions, steps, seed, config,
                                 out=out_dir, checkpoint_every=checkpoint_every)
    metadata = {"algo": algo, "env_id": str(meta["env_id"]), "steps": steps, "seed": seed,
                "n_actions": n_actions, "features": features.record(), "config": asdict(config),
                "dataset": str(Path(dataset_dir).resolve()), "n_transitions": len(
                    transitions.actions), "training_cohort": dataset_cohort_record(meta),
                "losses": log, "wall_time_s": time.perf_counter() - started}
    save_offline_model(learner, out_dir, metadata)
    return metadata


def dataset_cohort_record(meta: Mapping[str, Any]) -> dict[str, Any] | None:
    """The dataset's cohort identity (a :func:`agents.rl.model_metadata.cohort_record`).

    The dataset's patients are the model's training patients: the leakage guard reads this.
    """
    for key in ("training_cohort", "cohort"):
        record = meta.get(key)
        if isinstance(record, Mapping) and "seed_entropy" in record:
            return dict(record)
    return None
