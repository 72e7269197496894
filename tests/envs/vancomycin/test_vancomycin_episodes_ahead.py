"""A one-patient ward draws episodes ahead in a batch: the same episodes as one at a time."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import pkgym  # noqa: F401

PATIENT = {"age_years": 70, "is_female": 1, "weight_kg": 55, "height_cm": 160,
           "on_dialysis": 0, "serum_creatinine_mg_per_dl": 1.6, "eta_CL": -0.3}


def _flat(obs: dict) -> np.ndarray:
    """One patient's observation as one vector (row 0 of a batch, or a single env's)."""
    return np.concatenate([np.asarray(v).reshape(-1) if np.ndim(v) < 2 else v[0].reshape(-1)
                           for v in obs.values()])


def test_single_env__episodes_drawn_ahead_match_a_two_patient_vector_env() -> None:
    """Ten episodes, a pinned one among them, then a reseed: slot 0 of a vector env agrees."""
    env = gym.make("pkgym/Vancomycin-v0").unwrapped
    vec = gym.make_vec("pkgym/Vancomycin-v0", num_envs=2, vectorization_mode="vector_entry_point")
    rng = np.random.default_rng(0)
    for seed in (7, 8):
        env_obs, _ = env.reset(seed=seed)
        vec_obs, _ = vec.reset(seed=seed)
        for episode in range(10):
            if episode:
                pinned = episode == 4
                env_obs, _ = env.reset(options={"patient": PATIENT} if pinned else None)
                vec_obs, _ = vec.reset(options={"reset_mask": np.array([True, False]),
                                                **({"patients": [PATIENT]} if pinned else {})})
            assert np.array_equal(_flat(env_obs), _flat({k: v[:1] for k, v in vec_obs.items()}))
            for _ in range(14):
                action = int(rng.integers(0, 7))
                env_obs, reward, _, _, info = env.step(action)
                vec_obs, rewards, _, _, infos = vec.step(np.array([action, 0]))
                assert reward == rewards[0]
                assert info["clearance_l_per_h"] == infos["clearance_l_per_h"][0]
                assert np.array_equal(_flat(env_obs),
                                      _flat({k: v[:1] for k, v in vec_obs.items()}))
