"""The SB3 adapter: SB3's VecEnv contract on top of the batched pkgym env."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from stable_baselines3 import PPO

import pkgym  # noqa: F401
from agents.rl.sb3_vec_env import PatientCycle, make_sb3_vec_env


def test_pkgym_vec_env__terminal_observation_and_clinical_info_reach_sb3() -> None:
    """At truncation SB3 sees done, TimeLimit.truncated and the terminal observation."""
    venv = make_sb3_vec_env("pkgym/Vancomycin-v0", 3)
    venv.seed(5)
    obs = venv.reset()
    assert obs["time_h"].shape == (3, 1)
    for _ in range(14):
        obs, rewards, dones, infos = venv.step(np.full(3, 4))
    assert dones.all() and rewards.dtype == np.float32
    assert infos[0]["TimeLimit.truncated"] and infos[0]["terminal_observation"]["time_h"][0] == 168
    assert obs["time_h"][:, 0].tolist() == [0.0, 0.0, 0.0]
    assert "auc24_mg_h_per_l" in infos[1]


def test_pkgym_vec_env__seeded_reset_is_reproducible() -> None:
    """``seed(s)`` then ``reset()`` gives the same patients twice."""
    first, second = make_sb3_vec_env("pkgym/Vancomycin-v0", 2), make_sb3_vec_env(
        "pkgym/Vancomycin-v0", 2)
    first.seed(3)
    second.seed(3)
    np.testing.assert_array_equal(first.reset()["covariates"], second.reset()["covariates"])


@pytest.mark.slow
def test_pkgym_vec_env__ppo_learns_on_the_batched_env_reproducibly() -> None:
    """PPO trains on the adapter (tiny budget); the same seed gives the same policy."""
    params = []
    for _ in range(2):
        venv = make_sb3_vec_env("pkgym/Vancomycin-v0", 4)
        model = PPO("MultiInputPolicy", venv, n_steps=32, batch_size=64, seed=1, device="cpu")
        model.learn(256)
        params.append(torch.nn.utils.parameters_to_vector(model.policy.parameters()))
    assert torch.equal(params[0], params[1])


@pytest.mark.parametrize(("env_id", "kwargs"), [
    ("pkgym/Warfarin-v0", {}), ("pkgym/WarfarinPGx-v0", {"choose_test_days": True}),
    ("pkgym/Chemotherapy-v0", {"allow_delay": True}), ("pkgym/ChemoImmune-v0", {}),
    ("pkgym/Addiction-v0", {}), ("pkgym/Depression-v0", {})])
def test_make_sb3_vec_env__ppo_trains_on_every_environment(env_id: str, kwargs: dict) -> None:
    """PPO collects rollouts and updates on each batched env (Dict observations, any action)."""
    venv = make_sb3_vec_env(env_id, 4, **kwargs)
    venv.seed(0)
    model = PPO("MultiInputPolicy", venv, n_steps=16, batch_size=32, n_epochs=1, seed=0,
                device="cpu")
    model.learn(64)
    assert model.num_timesteps >= 64
    actions, _ = model.predict(venv.reset(), deterministic=True)
    assert venv.action_space.contains(actions[0])


def _training_cohort(n: int, seed: int = 0) -> pd.DataFrame:
    from pkgym.evaluation.cohorts import TRAINING, sample_cohort
    from pkgym.models.vancomycin import Goti2018
    from pkgym.populations.vancomycin import ADULT_INPATIENTS

    return sample_cohort(ADULT_INPATIENTS, Goti2018().variability, n, seed, TRAINING)


def test_patient_cycle__each_pass_is_a_shuffled_permutation_of_the_cohort() -> None:
    """Every pass hands out each patient once, in a seeded, pass-specific order."""
    cycle = PatientCycle(pd.DataFrame({"id": np.arange(5)}), seed=3)
    passes = [[int(p["id"]) for p in cycle.take(5)] for _ in range(3)]
    assert all(sorted(p) == [0, 1, 2, 3, 4] for p in passes) and passes[0] != passes[1]
    again = PatientCycle(pd.DataFrame({"id": np.arange(5)}), seed=3)
    assert [int(p["id"]) for p in again.take(7)] == passes[0] + passes[1][:2]


def test_pkgym_vec_env__pinned_patients_come_from_the_cohort_after_every_autoreset() -> None:
    """Resets and SAME_STEP autoresets pin the next cohort patients; SB3 sees the final step."""
    cohort = _training_cohort(5)
    venv = make_sb3_vec_env("pkgym/Vancomycin-v0", 3, patients=cohort, patient_order_seed=1)
    venv.seed(0)
    first = venv.reset()
    order = [int(p["id"]) for p in PatientCycle(cohort, seed=1).take(6)]
    assert [info["patient_id"] for info in venv.reset_infos] == order[:3]
    ages = cohort.set_index("id").loc[order[:3], "age_years"].to_numpy()
    np.testing.assert_allclose(first["covariates"][:, 0], ages, rtol=1e-6)
    for _ in range(14):
        obs, _, dones, infos = venv.step(np.full(3, 4))
    assert dones.all()
    assert [info["patient_id"] for info in venv.reset_infos] == order[3:6]
    assert [info["patient_id"] for info in infos] == order[:3]  # the finished patients
    assert all(info["time_h"] == 168.0 and info["TimeLimit.truncated"] for info in infos)
    terminal = infos[0]["terminal_observation"]
    assert terminal["time_h"][0] == 168.0 and terminal["doses_mg"].tolist() == [1000.0] * 14
    assert obs["time_h"][:, 0].tolist() == [0.0, 0.0, 0.0]
    ages = cohort.set_index("id").loc[order[3:6], "age_years"].to_numpy()
    np.testing.assert_allclose(obs["covariates"][:, 0], ages, rtol=1e-6)
    assert obs["doses_mg"].sum() == 0.0


def test_pkgym_vec_env__pinned_training_is_reproducible() -> None:
    """The same seeds give the same patients, observations and rewards, episode after episode."""
    runs = []
    for _ in range(2):
        venv = make_sb3_vec_env("pkgym/Vancomycin-v0", 2, patients=_training_cohort(3),
                                patient_order_seed=4)
        venv.seed(2)
        venv.reset()
        steps = [venv.step(np.array([3, 6])) for _ in range(30)]
        runs.append((np.stack([s[0]["levels_mg_per_l"] for s in steps]),
                     np.stack([s[1] for s in steps])))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
