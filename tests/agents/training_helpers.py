"""Tiny training runs shared by the training and callback tests (budgets of a few hundred steps)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agents.rl.train_config import TrainConfig

ENV_ID = "pkgym/Vancomycin-v0"

TINY_HYPERPARAMS = {
    "ppo": "n_envs: 4\n  normalize_reward: true\n  n_steps: 16\n  batch_size: 32\n"
           "  n_epochs: 2\n  policy_kwargs: {net_arch: [32]}\n",
    "a2c": "n_envs: 4\n  n_steps: 7\n  policy_kwargs: {net_arch: [32]}\n",
    "dqn": "n_envs: 4\n  buffer_size: 1000\n  learning_starts: 32\n  batch_size: 32\n"
           "  target_update_interval: 64\n  policy_kwargs: {net_arch: [32]}\n",
    "sac": "n_envs: 4\n  buffer_size: 1000\n  learning_starts: 32\n  batch_size: 32\n"
           "  policy_kwargs: {net_arch: [32]}\n  env_kwargs: {continuous: true}\n",
    "recurrent_ppo": "n_envs: 4\n  n_steps: 16\n  batch_size: 32\n  n_epochs: 2\n"
                     "  policy_kwargs: {net_arch: [32], lstm_hidden_size: 8}\n",
}
"""The ``default`` section of a tiny hyperparameter file per algorithm."""


def tiny_config(tmp_path: Path, algo: str, out: str = "run", **overrides: Any) -> TrainConfig:
    """A :class:`TrainConfig` that trains for 128 steps with tiny networks and cohorts."""
    hyperparams = tmp_path / f"{algo}_tiny.yml"
    if not hyperparams.exists():
        hyperparams.write_text("default:\n  " + TINY_HYPERPARAMS[algo])
    options: dict[str, Any] = {
        "env_id": ENV_ID, "algo": algo, "timesteps": 128, "seed": 0,
        "out_dir": tmp_path / out, "hyperparams_file": hyperparams, "n_training_patients": 16,
        "n_validation_patients": 6, "eval_freq": 0, "checkpoint_freq": 0, "device": "cpu"}
    return TrainConfig(**{**options, **overrides})
