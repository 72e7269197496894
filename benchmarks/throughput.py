"""Throughput of any registered pkgym env: single-env steps/s and batched patient-steps/s."""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym
import numpy as np

import pkgym  # noqa: F401


def single_env_steps_per_s(env_id: str, action: Any, episodes: int) -> float:
    """Steps per second of one env playing ``action`` for whole episodes (resets included)."""
    env = gym.make(env_id).unwrapped
    env.reset(seed=0)
    env.step(action)  # compile before timing
    start, steps = time.perf_counter(), 0
    for episode in range(episodes):
        env.reset(seed=episode)
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(action)
            steps, done = steps + 1, terminated or truncated
    return steps / (time.perf_counter() - start)


def batched_steps_per_s(env_id: str, action: int, n: int, steps: int) -> float:
    """Patient-steps per second of the native vector env at ``n`` patients."""
    vec = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point")
    vec.reset(seed=0)
    start = time.perf_counter()
    for _ in range(steps):
        vec.step(np.full(n, action))
    return n * steps / (time.perf_counter() - start)
