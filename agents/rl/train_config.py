"""Options of ``pkgym train`` (:class:`TrainConfig`) and what a run gives (:class:`TrainResult`).

Every field is validated when the config is built, so a bad option fails before any env or
model exists, with the field's name and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import pkgym  # noqa: F401  (registers the environments)
from agents.rl.hyperparameters import ALGORITHMS
from pkgym.envs.registry import env_specs

ENCODERS = ("raw", "vae")
"""Observation encoders: the scaled current observation, or the VAE's patient latent."""
DEVICES = ("auto", "cpu", "cuda")
"""Torch devices (``cuda:N`` also accepted); ``auto`` is CUDA when present."""

@dataclass(frozen=True, slots=True, kw_only=True)
class TrainConfig:
    """One training run (the ``pkgym train`` options).

    Attributes:
        env_id: registered pkgym env id, e.g. ``pkgym/Vancomycin-v0``.
        algo: one of ``ppo``, ``a2c``, ``dqn``, ``sac``, ``recurrent_ppo``.
        timesteps: total env steps to train for (a resumed run trains up to this total).
        out_dir: where the model, logs, checkpoints and learning curve go.
        seed: seeds the model, the env slots, the cohorts and the patient order.
        n_envs: patients stepped together (``None``: the hyperparameter file's).
        encoder: ``raw`` (scaled observation) or ``vae`` (latent of a trained patient VAE).
        vae_path: the trained VAE (required iff ``encoder == "vae"``).
        fine_tune_encoder: let the RL loss update the VAE encoder (``vae`` only).
        scenario: scenario YAML of the env (``None``: its defaults).
        hyperparams_file: YAML in the format of ``agents/rl/hyperparams`` (``None``: packaged).
        n_training_patients: size of the finite training cohort.
        n_validation_patients: size of the validation cohort.
        eval_freq: env steps between validations (0: none).
        checkpoint_freq: env steps between checkpoints (0: none).
        resume: continue from the latest checkpoint in ``out_dir/checkpoints``.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        progress_bar: show SB3's progress bar.
        progress_log: print a progress line on stderr after rollouts, at most every 10 s
            (for logs, where a bar does not redraw).
        verbose: also log to stdout.
        torch_threads: torch CPU threads during the run (1 is fastest for these small
            networks: batches of a few patients gain nothing from threads, and busy cores
            make every call wait for them).
    """

    env_id: str
    algo: str
    timesteps: int
    out_dir: Path
    seed: int = 0
    n_envs: int | None = None
    encoder: str = "raw"
    vae_path: Path | None = None
    fine_tune_encoder: bool = False
    scenario: Path | None = None
    hyperparams_file: Path | None = None
    n_training_patients: int = 10_000
    n_validation_patients: int = 200
    eval_freq: int = 25_000
    checkpoint_freq: int = 50_000
    resume: bool = False
    device: str = "auto"
    progress_bar: bool = False
    progress_log: bool = False
    verbose: bool = False
    torch_threads: int = 1

    def __post_init__(self) -> None:
        """Validate every field; paths become ``Path`` objects."""
        for name in ("out_dir", "vae_path", "scenario", "hyperparams_file"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Path(value))
        pkgym_ids = [spec.env_id for spec in env_specs()]
        if self.env_id not in pkgym_ids:
            raise ValueError(f"env_id must be a registered pkgym env {pkgym_ids}, got "
                             f"{self.env_id!r}")
        _check_choice("algo", self.algo, ALGORITHMS)
        _check_choice("encoder", self.encoder, ENCODERS)
        _check_int("timesteps", self.timesteps, 1)
        _check_int("seed", self.seed, 0)
        if self.n_envs is not None:
            _check_int("n_envs", self.n_envs, 1)
        for name, low in (("n_training_patients", 1), ("n_validation_patients", 2),
                          ("eval_freq", 0), ("checkpoint_freq", 0), ("torch_threads", 1)):
            _check_int(name, getattr(self, name), low)
        for name in ("fine_tune_encoder", "resume", "progress_bar", "progress_log", "verbose"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        self._check_paths()
        if self.device not in DEVICES and not self.device.startswith("cuda:"):
            raise ValueError(f"device must be one of {DEVICES} or 'cuda:N', got {self.device!r}")

    def _check_paths(self) -> None:
        if (self.encoder == "vae") != (self.vae_path is not None):
            raise ValueError("vae_path is required with encoder='vae' and only then, got "
                             f"encoder={self.encoder!r}, vae_path={self.vae_path}")
        if self.fine_tune_encoder and self.encoder != "vae":
            raise ValueError("fine_tune_encoder applies to encoder='vae' only")
        for name in ("vae_path", "scenario", "hyperparams_file"):
            path = getattr(self, name)
            if path is not None and not path.exists():
                raise ValueError(f"{name}: {path} does not exist")


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainResult:
    """What a training run wrote.

    Attributes:
        model: the trained model, its training env still attached.
        model_path: ``OUT/model.zip`` (its description is ``OUT/model.json``).
        best_model_path: ``OUT/best_model.zip`` (``None`` without validation).
        metadata: the description saved beside the model.
        learning_curve: the validation curve (``None`` without validation).
        wall_time_s: seconds the call took.
    """

    model: Any
    model_path: Path
    best_model_path: Path | None
    metadata: dict[str, Any]
    learning_curve: pd.DataFrame | None
    wall_time_s: float


def _check_int(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
