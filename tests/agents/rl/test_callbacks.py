"""Callbacks of ``pkgym train``: validation curve and best model, checkpoints, clinical logs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from training_helpers import tiny_config

from agents.rl.callbacks import CURVE_COLUMNS, latest_checkpoint
from agents.rl.training import train


def test_validation_callback__writes_the_curve_and_keeps_the_best_model(tmp_path: Path) -> None:
    """Every 64 env steps (and at the end) a row per validation; the best model is saved."""
    result = train(tiny_config(tmp_path, "ppo", timesteps=160, eval_freq=64))
    curve = pd.read_csv(tmp_path / "run" / "learning_curve.csv")
    assert tuple(curve.columns) == CURVE_COLUMNS
    assert curve["timesteps"].tolist() == [64, 128, 192]  # PPO rollouts are 64 steps long
    assert (curve["ci95_low_return"] <= curve["mean_return"]).all()
    assert (curve["mean_return"] <= curve["ci95_high_return"]).all()
    assert set(curve["score_name"]) == {"in_target_range_fraction"}
    assert curve["mean_score"].between(0, 1).all()
    pd.testing.assert_frame_equal(result.learning_curve, curve)
    best = json.loads((tmp_path / "run" / "best_model.json").read_text())
    assert best["timesteps"] == int(curve.loc[curve["mean_return"].idxmax(), "timesteps"])
    assert result.best_model_path is not None and result.best_model_path.is_file()
    progress = pd.read_csv(tmp_path / "run" / "logs" / "progress.csv")
    assert "validation/mean_return" in progress.columns
    assert "validation/in_target_range_fraction" in progress.columns


def test_validation_callback__is_deterministic_for_a_fixed_model(tmp_path: Path) -> None:
    """Two identical runs give identical validation curves (fixed patients and noise)."""
    curves = [train(tiny_config(tmp_path, "ppo", out=name, eval_freq=64)).learning_curve
              for name in ("a", "b")]
    assert curves[0] is not None and curves[1] is not None
    pd.testing.assert_frame_equal(curves[0].drop(columns="wall_time_s"),
                                  curves[1].drop(columns="wall_time_s"))


def test_checkpoint_callback__saves_at_env_step_multiples_with_metadata(tmp_path: Path) -> None:
    """Checkpoints every 48 env steps (4 envs); each zip has its JSON; newest buffer only."""
    train(tiny_config(tmp_path, "dqn", checkpoint_freq=48))
    folder = tmp_path / "run" / "checkpoints"
    zips = sorted(p.name for p in folder.glob("*.zip"))
    assert zips == ["model_48_steps.zip", "model_96_steps.zip"]
    assert json.loads((folder / "model_96_steps.json").read_text())["timesteps"] == 96
    assert [p.name for p in folder.glob("*.pkl")] == ["replay_buffer_96_steps.pkl"]
    assert latest_checkpoint(folder) == folder / "model_96_steps.zip"


def test_latest_checkpoint__orders_by_step_count_not_by_name(tmp_path: Path) -> None:
    """``model_1000_steps`` is later than ``model_999_steps``; other files are ignored."""
    for name in ("model_999_steps.zip", "model_1000_steps.zip", "model_2000_steps.json",
                 "best_model.zip"):
        (tmp_path / name).write_text("")
    assert latest_checkpoint(tmp_path) == tmp_path / "model_1000_steps.zip"


def test_clinical_metrics_callback__logs_in_range_share_and_dose(tmp_path: Path) -> None:
    """The env's in-range key and dose reach the logger, per step and per finished episode."""
    train(tiny_config(tmp_path, "a2c", timesteps=112))
    progress = pd.read_csv(tmp_path / "run" / "logs" / "progress.csv")
    for column in ("clinical/in_target_range", "clinical/dose_mg",
                   "clinical/episode_in_target_range"):
        assert column in progress.columns
    assert progress["clinical/in_target_range"].between(0, 1).all()
    assert progress["clinical/dose_mg"].between(0, 3000).all()
