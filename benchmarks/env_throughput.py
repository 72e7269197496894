"""Throughput of every registered env: single-env steps/s and batched patient-steps/s.

    python -m benchmarks.env_throughput       # about 2 minutes on 2 cores

Each figure is the median of three runs of :mod:`benchmarks.throughput` (the mid-range level
``n // 2`` every step, seeded resets); used to check that refactors leave speed unchanged.
"""

from __future__ import annotations

import statistics

import gymnasium as gym

from benchmarks import no_options
from benchmarks.throughput import batched_steps_per_s, single_env_steps_per_s
from pkgym.envs.registry import env_specs


def _action(env_id: str) -> int:
    """A mid-range discrete action of ``env_id``."""
    return int(gym.make(env_id).action_space.n) // 2


def main(n_patients: int = 1000, repeats: int = 3) -> None:
    """Print the throughput table (markdown)."""
    print(f"| env | single env steps/s | batched patient-steps/s at {n_patients} |")
    print("|---|---|---|")
    for env_id in (spec.env_id for spec in env_specs()):
        action = _action(env_id)
        single = statistics.median(single_env_steps_per_s(env_id, action, 20)
                                   for _ in range(repeats))
        batched = statistics.median(batched_steps_per_s(env_id, action, n_patients, 10)
                                    for _ in range(repeats))
        print(f"| {env_id} | {single:,.0f} | {batched:,.0f} |", flush=True)


if __name__ == "__main__":
    no_options(__doc__)
    main()
