"""A one-patient warfarin clinic draws episodes ahead in a batch: the same as one at a time."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401

PATIENT = {"age_years": 72.0, "is_female": 1.0, "weight_kg": 58.0, "height_cm": 160.0,
           "race": "asian", "cyp2c9": "*1/*3", "vkorc1": "A/A", "amiodarone": 1.0,
           "enzyme_inducer": 0.0, "eta_CL": 0.2}


def _flat(obs: dict, batched: bool) -> np.ndarray:
    """One patient's observation as one vector (row 0 of a batch, or a single env's)."""
    return np.concatenate([np.asarray(v[0] if batched else v).reshape(-1) for v in obs.values()])


@pytest.mark.parametrize("env_id", ["pkgym/Warfarin-v1", "pkgym/WarfarinPGx-v0"])
def test_single_env__episodes_drawn_ahead_match_a_two_patient_vector_env(env_id: str) -> None:
    """Eight episodes, a pinned one among them, then a reseed: slot 0 of a vector env agrees."""
    env = gym.make(env_id).unwrapped
    vec = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point")
    rng, n_actions = np.random.default_rng(0), int(env.action_space.n)
    for seed in (3, 4):
        env_obs, _ = env.reset(seed=seed)
        vec_obs, _ = vec.reset(seed=seed)
        for episode in range(8):
            if episode:
                pinned = episode == 5
                env_obs, _ = env.reset(options={"patient": PATIENT} if pinned else None)
                vec_obs, _ = vec.reset(options={"reset_mask": np.array([True, False]),
                                                **({"patients": [PATIENT]} if pinned else {})})
            assert np.array_equal(_flat(env_obs, False), _flat(vec_obs, True))
            truncated = False
            while not truncated:
                action = int(rng.integers(0, n_actions))
                env_obs, reward, _, truncated, info = env.step(action)
                vec_obs, rewards, _, _, infos = vec.step(np.array([action, 0]))
                assert reward == rewards[0] and info["inr"] == infos["inr"][0]
                assert np.array_equal(_flat(env_obs, False), _flat(vec_obs, True))
