"""``pkgym/Depression-v0`` throughput: single-env steps/s and batched patient-weeks/s.

One step is a week: seven daily escitalopram doses (exact one-compartment PK, effect
compartment) and a 300-trial probabilistic reward task session of the Huys 2013 learner
(compiled with numba). No numeric target was set (issue 7).
"""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np

import pkgym  # noqa: F401

ENV_ID = "pkgym/Depression-v0"
TEN_MG = 2
"""Discrete action of escitalopram 10 mg a day."""


def single_env_steps_per_s(episodes: int = 50) -> float:
    """Weekly steps per second of one env (resets included)."""
    env = gym.make(ENV_ID).unwrapped
    env.reset(seed=0)
    env.step(TEN_MG)  # compile before timing
    start, steps = time.perf_counter(), 0
    for episode in range(episodes):
        env.reset(seed=episode)
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(TEN_MG)
            steps, done = steps + 1, terminated or truncated
    return steps / (time.perf_counter() - start)


def batched_weeks_per_s(n: int = 10_000, steps: int = 6) -> float:
    """Patient-weeks per second of the vector env at ``n`` patients."""
    vec = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point")
    vec.reset(seed=0)
    start = time.perf_counter()
    for _ in range(steps):
        vec.step(np.full(n, TEN_MG))
    return n * steps / (time.perf_counter() - start)


def main() -> None:
    """Print the figures."""
    print("\nDepression-v0")
    print(f"single env: {single_env_steps_per_s():,.0f} steps/s (one week each)")
    print(f"vector env, 10 000 patients: {batched_weeks_per_s():,.0f} patient-weeks/s")


if __name__ == "__main__":
    main()
