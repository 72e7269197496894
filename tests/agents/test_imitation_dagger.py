"""``agents.rl.imitation``: DAgger from the vancomycin oracle into a PPO/A2C actor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from stable_baselines3 import DQN
from training_helpers import ENV_ID, tiny_config

import agents.rl.imitation_data as imitation_data
from agents.policies.registry import make_policy
from agents.rl.anchored_ppo import AnchoredPPO
from agents.rl.hyperparameters import load_hyperparams
from agents.rl.imitation import (
    ImitationConfig,
    agreement,
    dagger,
    majority_share,
)
from agents.rl.imitation_data import teacher_labels
from agents.rl.sb3_vec_env import make_sb3_vec_env
from agents.rl.train_config import TrainConfig
from agents.rl.training import make_training_env, new_model, probe_core
from pkgym.evaluation.cohorts import TRAINING, VALIDATION, env_cohort
from pkgym.wrappers.history import observed_history

N_LEVELS = 13
"""Vancomycin's dose levels (0 to 3000 mg by 250): uniform chance is 1/13."""


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def cohorts() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A training cohort and a disjoint held-out cohort (validation seed space)."""
    settings = probe_core(ENV_ID, {}).settings
    return env_cohort(settings, 200, 0, TRAINING), env_cohort(settings, 48, 0, VALIDATION)


@pytest.fixture(scope="module")
def held_out(cohorts: tuple[pd.DataFrame, pd.DataFrame]) -> imitation_data.Labels:
    """The oracle's own courses of the held-out cohort, labelled by it."""
    return teacher_labels("oracle", env_id=ENV_ID, env_kwargs={}, patients=cohorts[1], seed=7)


def _model(tmp_path: Path, training: pd.DataFrame, algo: str = "ppo",
           packaged: bool = False) -> Any:
    """A fresh model as ``pkgym train`` builds it (tiny networks, or the packaged ones)."""
    config = (TrainConfig(env_id=ENV_ID, algo=algo, timesteps=64, out_dir=tmp_path / "run",
                          n_envs=4, device="cpu") if packaged
              else tiny_config(tmp_path, algo, n_envs=4))
    hp = load_hyperparams(algo, ENV_ID, config.hyperparams_file)
    return new_model(config, hp, make_training_env(config, hp, 4, {}, training), 4)


def _dagger(model: Any, training: pd.DataFrame, n_labels: int, seed: int = 0,
            observe: Any = None, **options: Any) -> pd.DataFrame:
    config = ImitationConfig(teacher="oracle", n_labels=n_labels, **options)
    return dagger(model, config, env_id=ENV_ID, env_kwargs={}, training=training, seed=seed,
                  n_envs=8, gamma=0.98, observe=observe)


def test_dagger__accuracy_rises_above_chance(tmp_path: Path, cohorts: Any,
                                             held_out: imitation_data.Labels) -> None:
    """400 oracle labels: the actor beats chance (1/13 and the majority dose) and its start."""
    model = _model(tmp_path, cohorts[0])
    before = agreement(model, held_out)
    table = _dagger(model, cohorts[0], 400, epochs=40, learning_rate=3e-3)
    chance = max(1 / N_LEVELS, majority_share(held_out))  # 0.27: the oracle's commonest dose
    assert table["round"].tolist() == [0, 1, 2, 3]
    assert table["beta"].tolist() == [1.0, 0.5, 0.25, 0.125]
    assert table["n_labels_total"].tolist() == [100, 200, 300, 400]
    assert table["train_accuracy"].iloc[-1] > chance + 0.15
    assert table["validation_accuracy"].notna().all()
    assert agreement(model, held_out) > before + 0.1


def test_dagger__same_seed_same_weights(tmp_path: Path, cohorts: Any) -> None:
    """Two A2C students from the same start and seed end with identical weights and tables."""
    results = []
    for _ in range(2):
        model = _model(tmp_path, cohorts[0], algo="a2c")
        table = _dagger(model, cohorts[0], 120, seed=3, n_iterations=2, epochs=3)
        results.append((torch.nn.utils.parameters_to_vector(model.policy.parameters()),
                        table.drop(columns="wall_time_s")))
    assert torch.equal(results[0][0], results[1][0])
    pd.testing.assert_frame_equal(results[0][1], results[1][1])
    model = _model(tmp_path, cohorts[0], algo="a2c")
    _dagger(model, cohorts[0], 120, seed=4, n_iterations=2, epochs=3)
    assert not torch.equal(results[0][0],
                           torch.nn.utils.parameters_to_vector(model.policy.parameters()))


def test_dagger__refuses_other_algorithms(cohorts: Any) -> None:
    """DQN is refused with one line (PPO/A2C with levels or one continuous dose are taken)."""
    discrete = make_sb3_vec_env(ENV_ID, 2)
    model = DQN("MultiInputPolicy", discrete, buffer_size=100, device="cpu")
    with pytest.raises(ValueError, match=r"^model must be a PPO or A2C model with a "
                                         r"Discrete or a one-dose Box action space, got DQN"):
        _dagger(model, cohorts[0], 100)


def test_dagger__bad_teacher_refused_before_rollout(tmp_path: Path, cohorts: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown teacher fails when it is built, before any course is rolled out."""
    def no_rollout(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("rolled out")

    monkeypatch.setattr(imitation_data.TeacherRollout, "batch", no_rollout)
    model = _model(tmp_path, cohorts[0])
    with pytest.raises(ValueError, match="baseline must be one of this env's baselines"):
        dagger(model, ImitationConfig(teacher="nonsense", n_labels=100), env_id=ENV_ID,
               env_kwargs={}, training=cohorts[0], seed=0, n_envs=2)
    with pytest.raises(ValueError, match="policy must be one of this env's baselines"):
        dagger(model, ImitationConfig(teacher="nonsense", n_labels=100), env_id=ENV_ID,
               env_kwargs={}, training=cohorts[0], seed=0, n_envs=2, make_teacher=make_policy)


def test_dagger__make_policy_teacher_with_options(tmp_path: Path, cohorts: Any) -> None:
    """Given make_policy, any policy spec teaches (here MAP dosing under another prior)."""
    model = _model(tmp_path, cohorts[0])
    table = dagger(model, ImitationConfig(teacher="map:prior=thomson2009", n_labels=40,
                                          n_iterations=1, epochs=1),
                   env_id=ENV_ID, env_kwargs={}, training=cohorts[0], seed=0, n_envs=3,
                   make_teacher=make_policy)
    assert table["n_labels_total"].tolist() == [40]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("teacher", "", "teacher must be a policy spec"),
    ("n_labels", 30, "n_labels must be an integer >= 40"),
    ("batch_size", 0, "batch_size must be an integer >= 1"),
    ("learning_rate", -1.0, "learning_rate must be a number > 0"),
    ("value_pretrain", 1, "value_pretrain must be True or False"),
])
def test_imitation_config__refuses_bad_fields(field: str, value: Any, message: str) -> None:
    """Each bad field fails with one line naming it."""
    options = {"teacher": "oracle", field: value}
    with pytest.raises(ValueError, match=message):
        ImitationConfig(**options)


def test_dagger__3000_labels_agree_with_oracle_on_held_out_patients(
        tmp_path: Path, cohorts: Any, held_out: imitation_data.Labels) -> None:
    """3000 labels: on unseen patients the student picks the oracle's dose far more often.

    Far more often than before training and than the oracle's commonest dose, with the
    packaged network (measured over seeds 0-3: 0.43-0.52, vs 0.01 untrained, 0.27 majority).
    """
    model = _model(tmp_path, cohorts[0], packaged=True)
    before = agreement(model, held_out)
    table = _dagger(model, cohorts[0], 3000)
    after = agreement(model, held_out)
    assert after > max(before + 0.25, majority_share(held_out) + 0.1), (before, after)
    assert np.isfinite(table["value_mse"]).all()


def test_dagger__vae_student_reads_observed_history(tmp_path: Path, cohorts: Any,
                                                   tiny_vae_path: Path) -> None:
    """A VAE-encoder student learns from the observed history, the teacher from the raw env.

    The teacher reads the raw observation and info; the accuracy ends above uniform chance.
    """
    config = tiny_config(tmp_path, "ppo", n_envs=4, encoder="vae", vae_path=tiny_vae_path)
    hp = load_hyperparams("ppo", ENV_ID, config.hyperparams_file)
    model = new_model(config, hp, make_training_env(config, hp, 4, {}, cohorts[0]), 4)
    table = _dagger(model, cohorts[0], 200, n_iterations=2, epochs=10, learning_rate=3e-3,
                    observe=observed_history)
    assert table["n_labels_total"].tolist() == [100, 200]
    assert table["train_accuracy"].iloc[-1] > 1 / N_LEVELS


def test_dagger__then_anchored_ppo(tmp_path: Path, cohorts: Any) -> None:
    """The ``dagger+ppo`` chain: imitate, anchor, fine-tune; the anchor is the imitated actor."""
    model = _model(tmp_path, cohorts[0])
    _dagger(model, cohorts[0], 100, n_iterations=1, epochs=5)
    imitated = torch.nn.utils.parameters_to_vector(model.policy.parameters()).detach()
    anchored = AnchoredPPO.from_model(model, anchor_kl_coef=1.0).learn(128)
    assert torch.equal(
        torch.nn.utils.parameters_to_vector(anchored.anchor_policy.parameters()), imitated)
    assert not torch.equal(
        torch.nn.utils.parameters_to_vector(anchored.policy.parameters()), imitated)
