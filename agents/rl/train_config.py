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

ENCODERS = ("raw", "vae", "belief")
"""Observation encoders: the scaled current observation, the VAE's patient latent, or the
belief state (latent and each candidate dose's forecast exposure, :mod:`agents.rl.belief`)."""
METHODS = ("rl", "dagger", "dagger+rl", "asymmetric")
"""How the policy learns: RL alone; DAgger from a teacher (:mod:`agents.rl.imitation`);
DAgger, then PPO anchored to the imitated policy by a KL term
(:mod:`agents.rl.anchored_ppo`); PPO/A2C with a critic that sees the hidden patient
(:mod:`agents.rl.privileged`)."""
IMITATING = ("dagger", "dagger+rl")
"""Methods that learn from a teacher policy first."""
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
        method: one of :data:`METHODS` (``rl``: the algorithm alone).
        teacher: the policy imitated by ``dagger`` and ``dagger+rl`` (a ``pkgym evaluate``
            spec of the env's baselines: ``map``, ``oracle``, ``vae_mipd:PATH``, ...).
        imitation_labels: teacher-labelled decisions of DAgger, over all its rounds.
        imitation_epochs: DAgger's passes over the aggregated labels after each round.
        imitation_learning_rate: DAgger's Adam step size.
        anchor_kl_coef: weight of KL(imitated policy || policy) in ``dagger+rl``'s PPO loss.
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
    method: str = "rl"
    teacher: str | None = None
    imitation_labels: int = 20_000
    imitation_epochs: int = 20
    imitation_learning_rate: float = 1e-3
    anchor_kl_coef: float = 0.1
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
        _check_choice("method", self.method, METHODS)
        _check_int("timesteps", self.timesteps, 0 if self.method == "dagger" else 1)
        self._check_method()
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

    def _check_method(self) -> None:
        if self.method == "dagger" and self.timesteps != 0:
            raise ValueError(f"timesteps must be 0 with method='dagger' (it has no RL phase; "
                             f"its budget is imitation_labels), got {self.timesteps}")
        if self.method != "rl" and self.algo not in ("ppo", "a2c"):
            raise ValueError(f"method {self.method!r} needs algo 'ppo' or 'a2c' (a discrete "
                             f"actor-critic), got {self.algo!r}")
        if self.method == "dagger+rl" and self.algo != "ppo":
            raise ValueError(f"method 'dagger+rl' fine-tunes with PPO: algo must be 'ppo', "
                             f"got {self.algo!r}")
        if (self.method in IMITATING) != (self.teacher is not None):
            raise ValueError(f"teacher is required with method in {IMITATING} and only then, "
                             f"got method={self.method!r}, teacher={self.teacher!r}")
        _check_int("imitation_labels", self.imitation_labels, 1)
        _check_int("imitation_epochs", self.imitation_epochs, 1)
        if not (isinstance(self.imitation_learning_rate, float | int) and
                0.0 < float(self.imitation_learning_rate) < float("inf")):
            raise ValueError(f"imitation_learning_rate must be a finite number > 0, got "
                             f"{self.imitation_learning_rate!r}")
        if not (isinstance(self.anchor_kl_coef, float | int) and
                0.0 <= float(self.anchor_kl_coef) < float("inf")):
            raise ValueError(f"anchor_kl_coef must be a finite number >= 0, got "
                             f"{self.anchor_kl_coef!r}")

    def _check_paths(self) -> None:
        if (self.encoder in ("vae", "belief")) != (self.vae_path is not None):
            raise ValueError("vae_path is required with encoder 'vae' or 'belief' and only "
                             f"then, got encoder={self.encoder!r}, vae_path={self.vae_path}")
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
