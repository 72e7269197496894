"""``pkgym/Addiction-v0`` throughput: single-env weeks/s and batched patient-weeks/s.

One step is a week: 7 days of treatment PK, a softmax choice and two TD updates per patient.
Resets (180 burn-in days each) are timed apart from steps.
"""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np

import pkgym  # noqa: F401
from benchmarks import no_options

ENV_ID = "pkgym/Addiction-v0"
NALTREXONE_50 = 2


def single_env_steps_per_s(episodes: int = 20) -> tuple[float, float]:
    """Steps per second of one env (resets excluded) and resets per second."""
    env = gym.make(ENV_ID).unwrapped
    stepping = resetting = 0.0
    steps = 0
    for episode in range(episodes):
        start = time.perf_counter()
        env.reset(seed=episode)
        resetting += time.perf_counter() - start
        done, start = False, time.perf_counter()
        while not done:
            _, _, terminated, truncated, _ = env.step(NALTREXONE_50)
            steps, done = steps + 1, terminated or truncated
        stepping += time.perf_counter() - start
    return steps / stepping, episodes / resetting


def batched_patient_weeks_per_s(n: int = 10_000, steps: int = 10) -> tuple[float, float]:
    """Patient-weeks per second of the vector env at ``n`` patients, and its reset time (s)."""
    vec = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point")
    start = time.perf_counter()
    vec.reset(seed=0)
    reset_s = time.perf_counter() - start
    actions = np.full(n, NALTREXONE_50)
    start = time.perf_counter()
    for _ in range(steps):
        vec.step(actions)
    return n * steps / (time.perf_counter() - start), reset_s


def main() -> None:
    """Print the throughput figures."""
    single, resets = single_env_steps_per_s()
    batched, reset_s = batched_patient_weeks_per_s()
    print(f"{ENV_ID}: single env {single:,.0f} weeks/s ({resets:,.0f} resets/s); "
          f"batched 10 000 patients {batched:,.0f} patient-weeks/s (reset {reset_s:.2f} s)")


if __name__ == "__main__":
    no_options(__doc__)
    main()
