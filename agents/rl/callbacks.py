"""SB3 callbacks of ``pkgym train``: checkpoints, validation on held-out patients, clinical logs.

Every callback implements ``_on_step`` only and reads nothing from ``self.locals`` beyond
``infos`` and ``dones`` (SB3 #98). Frequencies count env steps (``model.num_timesteps``),
not calls, so they mean the same for any ``n_envs``. Every file is written atomically.
"""

from __future__ import annotations

import pickle
import re
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from stable_baselines3.common.callbacks import BaseCallback

from agents.rl.model_metadata import save_model
from agents.rl.sb3_policy import SB3Policy
from pkgym.envs.base import DosingCore
from pkgym.evaluation.outcomes import outcome_spec
from pkgym.evaluation.runner import run_policy
from pkgym.io import write_atomic, write_table

CHECKPOINT_NAME = re.compile(r"^model_(\d+)_steps\.zip$")
"""File name of a checkpointed model (its env step count inside)."""
CURVE_COLUMNS = ("timesteps", "wall_time_s", "mean_return", "sd_return", "ci95_low_return",
                 "ci95_high_return", "score_name", "mean_score")
"""Columns of ``learning_curve.csv``."""


def save_checkpoint(model: Any, directory: Path, metadata: Mapping[str, Any]) -> Path:
    """Model, metadata, (off-policy) replay buffer and reward statistics at the current step.

    The state files go first and the zip last, so a checkpoint zip on disk is complete; then
    older state files are removed (replay buffers are large: only the newest is kept).

    Returns:
        The checkpoint zip.
    """
    steps = int(model.num_timesteps)
    states = {"replay_buffer": (getattr(model, "replay_buffer", None),
                                getattr(model, "save_replay_buffer", None)),
              "vecnormalize": (model.get_vec_normalize_env(), None)}
    written = []
    for kind, (state, save) in states.items():
        if state is not None:
            written.append(write_atomic(state_path(directory, kind, steps),
                                        lambda tmp, st=state, sv=save: _dump(tmp, st, sv)))
    zip_path = save_model(model, directory / f"model_{steps}_steps.zip", metadata)
    for kind in states:
        for old in directory.glob(f"{kind}_*_steps.pkl"):
            if old not in written:
                old.unlink(missing_ok=True)
    return zip_path


def _dump(tmp: Path, state: Any, save: Any) -> None:
    """Write a state with its own saver (the replay buffer) or pickle it (``VecNormalize``)."""
    with tmp.open("wb") as handle:
        if save is not None:
            save(handle)
        else:
            pickle.dump(state, handle)


def state_path(directory: Path, kind: str, steps: int) -> Path:
    """Where a checkpoint's ``replay_buffer`` or ``vecnormalize`` state at ``steps`` lives.

    Examples:
        >>> state_path(Path("ckpt"), "replay_buffer", 512).name
        'replay_buffer_512_steps.pkl'
    """
    return directory / f"{kind}_{steps}_steps.pkl"


def latest_checkpoint(directory: Path) -> Path | None:
    """The checkpoint zip with the most env steps in ``directory`` (``None``: there is none).

    Examples:
        >>> latest_checkpoint(Path("no/such/dir")) is None
        True
    """
    if not directory.is_dir():
        return None
    found = [(int(m.group(1)), path) for path in directory.iterdir()
             if (m := CHECKPOINT_NAME.match(path.name))]
    return max(found)[1] if found else None


def return_summary(returns: np.ndarray) -> dict[str, float]:
    """Mean, SD and normal-approximation 95% CI of the mean of per-patient returns.

    Examples:
        >>> {k: round(v, 3) for k, v in return_summary(np.array([1.0, 2.0, 3.0])).items()}
        {'mean_return': 2.0, 'sd_return': 1.0, 'ci95_low_return': 0.868, 'ci95_high_return': 3.132}
    """
    mean = float(returns.mean())
    sd = float(returns.std(ddof=1)) if returns.size > 1 else 0.0
    half = 1.96 * sd / float(np.sqrt(returns.size))
    return {"mean_return": mean, "sd_return": sd, "ci95_low_return": mean - half,
            "ci95_high_return": mean + half}


class CheckpointCallback(BaseCallback):
    """Save a checkpoint (:func:`save_checkpoint`) every ``every_steps`` env steps.

    Args:
        every_steps: env steps between checkpoints.
        directory: where they go (``OUT/checkpoints``).
        metadata: the run's description, saved beside each zip.
        start_timesteps: the model's step count when training (re)started.
    """

    def __init__(self, every_steps: int, directory: Path, metadata: Mapping[str, Any],
                 start_timesteps: int = 0) -> None:
        """Remember where and how often to save."""
        super().__init__()
        if every_steps < 1:
            raise ValueError(f"every_steps must be >= 1, got {every_steps}")
        self.every_steps, self.directory, self.metadata = every_steps, directory, metadata
        self.saved_bucket = start_timesteps // every_steps

    def _on_step(self) -> bool:
        bucket = self.num_timesteps // self.every_steps
        if bucket > self.saved_bucket:
            save_checkpoint(self.model, self.directory, self.metadata)
            self.saved_bucket = bucket
        return True


class ValidationCallback(BaseCallback):
    """Every ``every_steps`` env steps, run the current model on the validation cohort.

    The model acts deterministically on the fixed validation patients with fixed noise
    (:func:`pkgym.evaluation.runner.run_policy`, seed ``noise_seed``), so the curve compares
    like with like. Each point is appended to ``OUT/learning_curve.csv``, logged under
    ``validation/``, and the model with the best mean return is saved as
    ``OUT/best_model.zip``.

    Args:
        every_steps: env steps between validations.
        env_id, env_kwargs: the env the model trains on.
        core: that env's core (dose levels, outcome spec).
        cohort: the validation patients.
        noise_seed: root seed of their noise streams.
        out_dir: where ``learning_curve.csv`` and ``best_model.zip`` go.
        metadata: the run's description, saved beside the best model.
        previous: the curve so far (a resumed run continues it), or ``None``.
        start_timesteps: the model's step count when training (re)started.
    """

    def __init__(self, every_steps: int, *, env_id: str, env_kwargs: Mapping[str, Any],
                 core: DosingCore, cohort: pd.DataFrame, noise_seed: int, out_dir: Path,
                 metadata: Mapping[str, Any], previous: pd.DataFrame | None = None,
                 start_timesteps: int = 0) -> None:
        """Remember the cohort, the files and the curve so far."""
        super().__init__()
        if every_steps < 1:
            raise ValueError(f"every_steps must be >= 1, got {every_steps}")
        self.every_steps, self.env_id, self.env_kwargs = every_steps, env_id, dict(env_kwargs)
        self.core, self.cohort, self.noise_seed = core, cohort, noise_seed
        self.out_dir, self.metadata = out_dir, metadata
        self.score_name = next(k for k in outcome_spec(core).scores if k != "return")
        self.rows = [] if previous is None else previous.to_dict("records")
        self.best = max((row["mean_return"] for row in self.rows), default=-np.inf)
        self.done_bucket = start_timesteps // every_steps
        self.started = time.perf_counter() - (self.rows[-1]["wall_time_s"] if self.rows else 0.0)

    def _on_step(self) -> bool:
        bucket = self.num_timesteps // self.every_steps
        if bucket > self.done_bucket:
            self.validate()
            self.done_bucket = bucket
        return True

    def validate(self) -> dict[str, Any]:
        """Evaluate the current model now; record, log and keep the best. Returns the row."""
        policy = SB3Policy.from_model(self.model, self.core, self.metadata)
        table = run_policy(policy, self.env_id, self.cohort, self.noise_seed, self.env_kwargs)
        row = {"timesteps": int(self.model.num_timesteps),
               "wall_time_s": time.perf_counter() - self.started,
               **return_summary(table["return"].to_numpy(dtype=np.float64)),
               "score_name": self.score_name, "mean_score": float(table[self.score_name].mean())}
        self.rows = [r for r in self.rows if r["timesteps"] < row["timesteps"]] + [row]
        write_table(pd.DataFrame(self.rows, columns=list(CURVE_COLUMNS)),
                    self.out_dir / "learning_curve.csv")
        self.logger.record("validation/mean_return", row["mean_return"])
        self.logger.record(f"validation/{self.score_name}", row["mean_score"])
        if row["mean_return"] > self.best:
            self.best = row["mean_return"]
            save_model(self.model, self.out_dir / "best_model.zip", self.metadata)
        return row

    @property
    def last_timesteps(self) -> int | None:
        """Step count of the latest validation (``None``: none yet)."""
        return int(self.rows[-1]["timesteps"]) if self.rows else None


class ProgressLogCallback(BaseCallback):
    """A line on stderr after a rollout, at most every ``every_s`` seconds: steps, time, ETA.

    For output redirected to a log, where SB3's bar does not redraw:
    ``train: 12,288/300,000 steps (4.1%), 45 s, about 17.6 min left``.
    """

    def __init__(self, total_steps: int, start_steps: int = 0, every_s: float = 10.0) -> None:
        """Report towards ``total_steps``, counting from ``start_steps`` (a resumed run)."""
        super().__init__()
        self.total, self.start, self.every_s = int(total_steps), int(start_steps), every_s
        self._t0 = self._last = time.perf_counter()

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        now = time.perf_counter()
        if now - self._last < self.every_s:
            return
        self._last = now
        done, elapsed = self.num_timesteps, now - self._t0
        rate = max(done - self.start, 1) / max(elapsed, 1e-9)
        left = max(self.total - done, 0) / rate
        print(f"train: {done:,}/{self.total:,} steps ({100 * done / self.total:.1f}%), "
              f"{elapsed:.0f} s, about {left / 60:.1f} min left", file=sys.stderr, flush=True)


class ClinicalMetricsCallback(BaseCallback):
    """Log clinical values from the env's ``info`` (SB3 reads them from ``self.locals``).

    Each key's mean over the env slots goes to ``clinical/<key>`` (averaged until the logger
    dumps), and each finished episode's mean of it to ``clinical/episode_<key>``.

    Args:
        keys: numeric per-step ``info`` keys, e.g. ``in_target_range`` and ``dose_mg``.
    """

    def __init__(self, keys: tuple[str, ...]) -> None:
        """Remember the keys; per-slot episode sums start at the first step."""
        super().__init__()
        self.keys = keys
        self.sums: dict[str, np.ndarray] = {}
        self.steps: np.ndarray | None = None

    def _on_step(self) -> bool:
        infos, dones = self.locals["infos"], np.asarray(self.locals["dones"], dtype=bool)
        if self.steps is None or self.steps.size != len(infos):
            self.steps = np.zeros(len(infos))
            self.sums = {key: np.zeros(len(infos)) for key in self.keys}
        self.steps += 1
        for key in self.keys:
            values = np.array([float(info.get(key, np.nan)) for info in infos])
            if np.isfinite(values).any():
                self.logger.record_mean(f"clinical/{key}", float(np.nanmean(values)))
            self.sums[key] += np.nan_to_num(values)
            for i in np.flatnonzero(dones):
                self.logger.record_mean(f"clinical/episode_{key}", self.sums[key][i] /
                                        self.steps[i])
            self.sums[key][dones] = 0.0
        self.steps[dones] = 0
        return True
