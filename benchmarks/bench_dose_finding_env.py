"""``pkgym/DoseFinding-v0`` throughput: trial-cohorts per second of the native vector env.

One step treats one cohort of every trial (DLT draws, counts, reward) or ends it; finished
trials are autoreset (a fresh random dose-toxicity curve each). Actions are pre-drawn random
dose levels (never "stop"), so every trial runs its 12 cohorts. Also times
:func:`pkgym.trials.simulate_trials` with BOIN for scale. No numeric target was set.
Run: ``python -m benchmarks.bench_dose_finding_env``.
"""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np
import pandas as pd

import pkgym  # noqa: F401
from benchmarks import no_options
from pkgym.trials import BoinDesign, DoseFindingScenario, simulate_trials

ENV_ID = "pkgym/DoseFinding-v0"
SIZES, STEPS = (1, 1000, 10_000), 48
"""Trials per vector env, and steps timed (four 12-cohort trials per slot)."""


def vector_steps_per_s(n: int, steps: int = STEPS) -> tuple[float, float]:
    """(env steps/s, trial-cohorts/s) of ``n`` trials under random level actions."""
    vec = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point")
    actions = np.random.default_rng(0).integers(0, 5, size=(steps, n))
    vec.reset(seed=0)
    vec.step(actions[0])  # warm up
    start = time.perf_counter()
    for step in range(steps):
        vec.step(actions[step])
    seconds = time.perf_counter() - start
    return steps / seconds, n * steps / seconds


def boin_trials_per_s(n: int) -> float:
    """Whole BOIN trials per second of ``simulate_trials`` (same size rules, fixed truth)."""
    scenario = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.25, 0.4, 0.55, 0.7),
                                   target_dlt_rate=0.3)
    start = time.perf_counter()
    simulate_trials(BoinDesign(target=0.3), scenario, n, seed=0)
    return n / (time.perf_counter() - start)


def main() -> None:
    """Print the table."""
    rows = []
    for n in SIZES:
        calls, cohorts = vector_steps_per_s(n)
        rows.append({"trials": n, "vec.step calls/s": calls, "trial-cohorts/s": cohorts,
                     "trials/s (12 cohorts)": cohorts / 12})
    print("\nDoseFinding-v0 (vector env, random levels, autoreset)")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f"{x:,.0f}"))
    print(f"reference: simulate_trials(BOIN), 10 000 trials: {boin_trials_per_s(10_000):,.0f} "
          f"trials/s")


if __name__ == "__main__":
    no_options(__doc__)
    main()
