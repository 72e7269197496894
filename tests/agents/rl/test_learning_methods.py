"""``pkgym train --method``: each learning method trains a few thousand steps, saves and loads."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

import pkgym  # noqa: F401
from agents.policies.registry import make_policy
from agents.rl.anchored_ppo import AnchoredPPO
from agents.rl.sb3_policy import SB3Policy
from agents.rl.training import train
from tests.agents.training_helpers import TINY_HYPERPARAMS, tiny_config


def _doses(model_path: Path) -> np.ndarray:
    env = gym.make_vec("pkgym/Vancomycin-v0", num_envs=4, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=5)
    policy = SB3Policy(model_path, env.unwrapped.core)
    policy.reset(4)
    return policy.act(obs)


@pytest.mark.parametrize(("method", "extra"), [
    ("dagger", {"timesteps": 0, "teacher": "oracle", "imitation_labels": 256}),
    pytest.param("dagger+rl", {"timesteps": 2048, "teacher": "map:prior=thomson2009",
                               "imitation_labels": 64},
                 marks=pytest.mark.slow),  # the longest; the 10-minute budget
    ("asymmetric", {"timesteps": 2048}),
])
def test_method__trains_saves_and_doses_through_sb3(tmp_path: Path, method: str,
                                                    extra: dict) -> None:
    """DAgger, DAgger + anchored PPO and the asymmetric critic train, save and dose."""
    config = tiny_config(tmp_path, "ppo", method=method, **extra)
    result = train(config, make_teacher=make_policy)
    assert result.metadata["method"] == method
    assert result.metadata["timesteps"] == (0 if method == "dagger" else 2048)
    if method.startswith("dagger"):
        table = pd.read_csv(config.out_dir / "imitation.csv")
        assert table.n_labels_total.iloc[-1] == config.imitation_labels
        assert result.metadata["teacher"] == extra["teacher"]
    assert isinstance(result.model, AnchoredPPO) == (method == "dagger+rl")
    doses = _doses(result.model_path)
    assert doses.shape == (4,) and np.isfinite(doses).all()


def test_dagger__same_seed_same_policy(tmp_path: Path) -> None:
    """Two DAgger runs with one seed give the same weights and the same doses."""
    runs = [train(tiny_config(tmp_path, "ppo", out=f"run{k}", method="dagger", timesteps=0,
                              teacher="oracle", imitation_labels=128)) for k in range(2)]
    np.testing.assert_array_equal(_doses(runs[0].model_path), _doses(runs[1].model_path))
    first, second = (r.model.policy.state_dict() for r in runs)
    assert all(np.array_equal(first[k].numpy(), second[k].numpy()) for k in first)


def test_dagger__unknown_teacher_fails_before_any_rollout(tmp_path: Path) -> None:
    """A teacher that is not one of the env's baselines fails with the list of them."""
    with pytest.raises(ValueError, match="baseline must be one of this env's baselines"):
        train(tiny_config(tmp_path, "ppo", method="dagger", timesteps=0, teacher="nobody"))



def test_dagger__continuous_dose_imitates_the_teacher(tmp_path: Path) -> None:
    """With a Box dose (warfarin's packaged PPO has one), DAgger fits the teacher's dose."""
    hyperparams = tmp_path / "ppo_box.yml"
    hyperparams.write_text("default:\n  " + TINY_HYPERPARAMS["ppo"] +
                           "  env_kwargs: {continuous: true}\n")
    result = train(tiny_config(tmp_path, "ppo", method="dagger", timesteps=0, teacher="oracle",
                               imitation_labels=1200, hyperparams_file=hyperparams,
                               n_training_patients=64))
    table = pd.read_csv(result.model_path.parent / "imitation.csv")
    assert result.model.action_space.shape == (1,)
    # the scaled dose is regressed: the last round agrees far more often than the first
    assert table.train_accuracy.iloc[-1] > table.train_accuracy.iloc[0] + 0.1, table
    assert np.isfinite(_doses(result.model_path)).all()
