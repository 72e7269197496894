"""``pkgym tune`` over learning methods: run options in the space, DAgger trials, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agents.policies.registry import make_policy
from agents.rl.tuning import TuneConfig, best_command, train_config, train_trial, write_outputs

VANCOMYCIN = "pkgym/Vancomycin-v0"
SPACE = {"learning_rate": {"loguniform": [1.0e-4, 1.0e-3]},
         "anchor_kl_coef": {"loguniform": [0.01, 1.0]}}


def _config(tmp_path: Path, **changes: object) -> TuneConfig:
    """A dagger+rl search on vancomycin with a tiny base section."""
    base = tmp_path / "ppo_tiny.yml"
    base.write_text("default:\n  n_envs: 4\n  n_steps: 8\n  batch_size: 16\n"
                    "  policy_kwargs: {net_arch: [16]}\n")
    options: dict = {"env_id": VANCOMYCIN, "algo": "ppo", "space": SPACE, "num_samples": 2,
                     "timesteps": 32, "out_dir": tmp_path / "out", "hyperparams_file": base,
                     "n_training_patients": 8, "n_validation_patients": 2,
                     "method": "dagger+rl", "teacher": "oracle", "imitation_labels": 64,
                     "make_teacher": make_policy}
    return TuneConfig(**{**options, **changes})


def test_run_keys__go_to_the_trainer_not_into_the_section(tmp_path: Path) -> None:
    """anchor_kl_coef is a run option; learning_rate a hyperparameter of the section."""
    config = _config(tmp_path)
    values = {"learning_rate": 3e-4, "anchor_kl_coef": 0.25, "imitation_epochs": 40,
              "imitation_learning_rate": 3e-3}
    folder = tmp_path / "trial"
    from agents.rl.tuning import write_section
    section = yaml.safe_load(write_section(config, values, folder / "hyperparams.yml")
                             .read_text())[VANCOMYCIN]
    assert section["learning_rate"] == 3e-4 and "anchor_kl_coef" not in section
    assert "imitation_epochs" not in section
    run = train_config(config, values, folder)
    assert (run.anchor_kl_coef, run.method, run.teacher, run.imitation_labels) == (
        0.25, "dagger+rl", "oracle", 64)
    assert (run.imitation_epochs, run.imitation_learning_rate) == (40, 3e-3)
    with pytest.raises(ValueError, match="imitation_epochs must be"):
        train_config(config, {**values, "imitation_epochs": 0}, folder)


def test_tune_config__refuses_a_bad_method_before_any_trial(tmp_path: Path) -> None:
    """A method without its teacher, or DAgger with RL steps, fails at configuration."""
    with pytest.raises(ValueError, match="teacher"):
        _config(tmp_path, teacher=None)
    with pytest.raises(ValueError, match="timesteps must be 0"):
        _config(tmp_path, method="dagger", space={"anchor_kl_coef": {"uniform": [0.1, 1.0]}})
    with pytest.raises(ValueError, match="method"):
        _config(tmp_path, method="imitate")


def test_train_trial__dagger_trial_scores_and_best_command_reproduces(tmp_path: Path) -> None:
    """A DAgger trial (oracle teacher, 64 labels) trains, scores, and names its flags."""
    config = _config(tmp_path, method="dagger", timesteps=0,
                     space={"learning_rate": {"loguniform": [1.0e-4, 1.0e-3]}})
    score = train_trial({"learning_rate": 5e-4}, config, tmp_path / "trial")
    assert score == score and (tmp_path / "trial" / "run" / "model.zip").exists()
    written = write_outputs(config, [{"trial": 0, "learning_rate": 5e-4, "score": score}])
    line = (tmp_path / "out" / "best_command.txt").read_text()
    assert len(written) == 3 and "--method dagger --teacher oracle" in line
    assert "--imitation-labels 64" in line and "--timesteps 0" in line
    rl = _config(tmp_path)
    assert "--anchor-kl-coef 0.2" in best_command(
        rl, {"learning_rate": 1e-4, "anchor_kl_coef": 0.2, "score": 1.0})
