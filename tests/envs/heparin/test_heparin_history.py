"""pkgym/Heparin-v0 in the canonical history and the exposure course; its VAE and VAE encoder."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401  (registers the envs)
from pkgym.wrappers import (
    ObservationHistoryWrapper,
    exposure_grid,
    history_env_ids,
    history_layout,
    observed_history,
    true_exposure,
)

ENV_ID = "pkgym/Heparin-v0"
ACTIONS = (np.array([2 * 41 + 18, 18, 3 * 41 + 10]), np.array([20, 1 * 41 + 16, 25]),
           np.array([21, 19, 0]), np.array([22, 40, 18]))
"""Raschke's start, no bolus at 18 U/kg/h, a held start at 10; then rates and a re-bolus."""


def _vec(n: int = 3) -> gym.vector.VectorEnv:
    return gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point")


def test_history__levels_and_doses_are_what_the_observation_shows() -> None:
    """Measured aPTTs (control at 0 h) every 6 h, mean rates per interval, masks, clock."""
    env = _vec()
    core = env.unwrapped.core
    assert ENV_ID in history_env_ids()
    obs, _ = env.reset(seed=3)
    for k, action in enumerate(ACTIONS, start=1):
        obs, *_ = env.step(action)
        history = observed_history(core, obs)
        mask = history["level_mask"] > 0
        assert mask.sum(axis=1).tolist() == [k + 1] * 3
        np.testing.assert_array_equal(history["level_values"][mask], obs["aptt_s"][mask])
        np.testing.assert_array_equal(history["level_times_h"][:, :k + 1],
                                      np.tile(6.0 * np.arange(k + 1), (3, 1)))
        assert history["time_h"][:, 0].tolist() == [6.0 * k] * 3
        assert history["dose_mask"].sum(axis=1).tolist() == [k] * 3
    decisions = core.decode_actions(ACTIONS[0], False, 3)  # (bolus, hold, rate)
    expected = (decisions[:, 0] + decisions[:, 2] * (6.0 - decisions[:, 1])) / 6.0
    np.testing.assert_allclose(history["dose_amounts_mg"][:, 0], expected, rtol=1e-6)
    assert history["dose_amounts_mg"][0, 0] == pytest.approx(80.0 / 6.0 + 18.0)
    layout = history_layout(core)
    assert (layout.n_context, layout.n_levels, layout.n_doses, layout.level_unit) == (
        7, 13, 12, "s")
    assert layout.max_dose_mg == pytest.approx(80.0 / 6.0 + 40.0)


def test_history_wrapper__single_env_observations_lie_in_the_history_space() -> None:
    """The single-env wrapper's observations belong to its space over a whole episode."""
    env = ObservationHistoryWrapper(gym.make(ENV_ID))
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    done = False
    while not done:
        obs, _, terminated, truncated, _ = env.step(2 * 41 + 18)
        assert env.observation_space.contains(obs)
        done = terminated or truncated
    assert obs["dose_mask"].sum() == 12 and obs["level_mask"].sum() == 13


def test_exposure__hourly_course_equals_info_true_aptt_at_each_decision() -> None:
    """The course at 6 (k + 1) h is info's true aPTT after step k; NaN beyond the episode."""
    env = _vec()
    core = env.unwrapped.core
    times, unit = exposure_grid(core)
    assert unit == "s" and times[[0, -1]].tolist() == [1.0, 72.0] and times.size == 72
    env.reset(seed=5)
    assert np.isnan(true_exposure(core)).all()
    for k, action in enumerate(ACTIONS):
        *_, info = env.step(action)
        course = true_exposure(core)
        np.testing.assert_allclose(course[:, 6 * (k + 1) - 1], info["aptt_s"], rtol=1e-12)
        assert np.isfinite(course[:, :6 * (k + 1)]).all()
        assert np.isnan(course[:, 6 * (k + 1):]).all()
    assert (course[:, :24] >= core.records.baseline_aptt_s[:, None] - 1e-9).all()


def test_privileged_keys__the_critic_sees_true_cl_v_slope_and_state() -> None:
    """The asymmetric critic's vector: log CL, V, slope from info's model_params, in order."""
    from agents.rl.privileged import privileged_state

    env = _vec(2)
    _, info = env.reset(seed=0)
    *_, info = env.step(ACTIONS[0][:2])
    state = privileged_state(env.unwrapped.core, info)
    assert state.shape == (2, 6)
    np.testing.assert_allclose(state[:, :3], np.log(info["model_params"]), rtol=1e-6)


@pytest.fixture(scope="module")
def heparin_vae(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny heparin VAE: 16 training patients, 8 held out, 2 epochs."""
    from agents.vae.training import train_vae

    return train_vae(ENV_ID, 16, 0, tmp_path_factory.mktemp("vae"), epochs=2,
                     n_validation_patients=8, progress=False)


def test_train_vae__tiny_budget_trains_and_reloads(heparin_vae: Path) -> None:
    """vae.pt and vae.json are written; the reloaded VAE keeps the heparin layout and scores."""
    from agents.vae.training import load_vae

    vae = load_vae(heparin_vae)
    meta = json.loads(heparin_vae.with_name("vae.json").read_text())["metadata"]
    assert meta["env_id"] == ENV_ID and len(meta["validation_curve"]) == 2
    assert vae.config["exposure_unit"] == "s" and vae.config["layout"]["n_doses"] == 12
    assert np.isfinite(vae.metadata["validation"]["rmse_log"])
    assert vae.metadata["n_training_samples"] > 16


@pytest.mark.parametrize("encoder", ["vae", "belief"])
def test_train__history_encoder_on_heparin_trains_and_loads_back(
        tmp_path: Path, heparin_vae: Path, encoder: str) -> None:
    """PPO with the heparin VAE encoder (or its belief): the zip reloads and doses alike."""
    from agents.policies.registry import make_policy
    from agents.rl.sb3_policy import SB3Policy
    from agents.rl.train_config import TrainConfig
    from agents.rl.training import train

    hyperparams = tmp_path / "ppo_tiny.yml"
    hyperparams.write_text("default:\n  n_envs: 4\n  n_steps: 32\n  batch_size: 64\n"
                           "  n_epochs: 1\n  policy_kwargs: {net_arch: [32]}\n")
    result = train(TrainConfig(
        env_id=ENV_ID, algo="ppo", timesteps=2048, seed=0, out_dir=tmp_path / "run",
        hyperparams_file=hyperparams, n_training_patients=16, n_validation_patients=6,
        eval_freq=0, checkpoint_freq=0, device="cpu", encoder=encoder, vae_path=heparin_vae))
    assert result.metadata["encoder"] == encoder and result.metadata["timesteps"] >= 2048
    core = gym.make_vec(ENV_ID, num_envs=1, vectorization_mode="vector_entry_point").unwrapped.core
    loaded = make_policy(f"sb3:{result.model_path}", core, env_id=ENV_ID)
    in_memory = SB3Policy.from_model(result.model, core, result.metadata)
    assert loaded.uses_history
    env = _vec(2)
    obs, info = env.reset(seed=0)
    for _ in range(3):
        actions = [np.asarray(p.act(obs, info)) for p in (loaded, in_memory)]
        np.testing.assert_array_equal(actions[0], actions[1])
        obs, *_, info = env.step(core.encode_decisions(actions[0], False))
