"""``pkgym/Vancomycin-v0`` throughput and the MAP baseline's decision time.

Targets (issue 3): >= 20 000 single-env steps/s, >= 2 000 000 batched patient-steps/s at
10 000 patients, MAP < 50 ms per decision.
"""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np

import pkgym  # noqa: F401
from benchmarks import no_options

ENV_ID = "pkgym/Vancomycin-v0"


def single_env_steps_per_s(episodes: int = 200) -> tuple[float, float]:
    """Steps per second of one env: stepping only, and with a reset every 14 steps."""
    env = gym.make(ENV_ID).unwrapped
    env.reset(seed=0)
    stepping = resetting = 0.0
    for _ in range(episodes):
        start = time.perf_counter()
        env.reset()
        resetting += time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(14):
            env.step(4)
        stepping += time.perf_counter() - start
    steps = 14 * episodes
    return steps / stepping, steps / (stepping + resetting)


def batched_patient_steps_per_s(n: int = 10_000, episodes: int = 3) -> tuple[float, float]:
    """Patient-steps per second of the vector env: stepping only, and with its autoresets."""
    vec = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point")
    actions = np.full(n, 4)
    vec.reset(seed=0)
    stepping = total = 0.0
    for episode in range(episodes):
        for step in range(15 if episode else 14):  # later episodes start with the autoreset
            start = time.perf_counter()
            vec.step(actions)
            elapsed = time.perf_counter() - start
            total += elapsed
            stepping += 0.0 if (episode and step == 0) else elapsed
    steps = 14 * episodes * n
    return steps / stepping, steps / total


def map_decision_ms(patients: int = 20) -> tuple[float, float]:
    """Median and 95th percentile of the MAP policy's time per decision (ms)."""
    from agents.policies.vancomycin.map import MapBayesianPolicy

    vec = gym.make_vec(ENV_ID, num_envs=1, vectorization_mode="vector_entry_point")
    policy, times = MapBayesianPolicy(), []
    for seed in range(patients):
        obs, info = vec.reset(seed=seed)
        policy.reset(1)
        for _ in range(14):
            start = time.perf_counter()
            dose = policy.act(obs, info)
            times.append(time.perf_counter() - start)
            action = np.abs(vec.unwrapped.core.dose_levels_mg - dose[0]).argmin()
            obs, _, _, _, info = vec.step(np.array([action]))
    return 1e3 * float(np.median(times)), 1e3 * float(np.percentile(times, 95))


def main() -> None:
    """Print the figures."""
    only, with_reset = single_env_steps_per_s()
    print("\nVancomycin-v0")
    print(f"single env: {only:,.0f} steps/s stepping, {with_reset:,.0f} steps/s with resets")
    only, with_reset = batched_patient_steps_per_s()
    print(f"vector env, 10 000 patients: {only:,.0f} patient-steps/s stepping, "
          f"{with_reset:,.0f} with autoresets")
    median, p95 = map_decision_ms()
    print(f"MAP Bayesian decision: median {median:.1f} ms, 95th percentile {p95:.1f} ms")


if __name__ == "__main__":
    no_options(__doc__)
    main()
