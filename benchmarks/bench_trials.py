"""Virtual trials of MAP vs label vancomycin dosing (issue 9): power, type I error, expected N.

One pool of 1 000 evaluation patients is simulated once per policy (label and MAP on the same
pinned patients); every simulated trial draws its patients from that finite pool without
replacement, so the operating characteristics are conditional on this virtual population.
Design: two-sided alpha 0.05, K = 3 equally spaced looks, Lan-DeMets O'Brien-Fleming spending,
endpoint ``in_target_range_fraction``. Run: ``python -m benchmarks.bench_trials [out.csv]``.
"""

from __future__ import annotations

import sys
import time

import gymnasium as gym
import pandas as pd

import pkgym  # noqa: F401
from agents.registry import make_policy
from pkgym.io import write_table
from pkgym.trials.endpoints import EndpointPool, simulate_endpoint_pool
from pkgym.trials.virtual_trial import VirtualTrialDesign, simulate_virtual_trials

ENV_ID, ENDPOINT, POOL, TRIALS = "pkgym/Vancomycin-v0", "in_target_range_fraction", 1000, 2000


def main(argv: list[str] | None = None) -> None:
    """Simulate the pool, then the trials at three maximum sample sizes; print a table."""
    argv = sys.argv[1:] if argv is None else argv
    core = gym.make(ENV_ID).unwrapped.core
    label, map_policy = make_policy("label", core), make_policy("map", core)
    start = time.perf_counter()
    pool = simulate_endpoint_pool(ENV_ID, [label, map_policy], ENDPOINT, POOL, seed=9)
    pool_s = time.perf_counter() - start
    null = EndpointPool(pool.outcomes[:, [0, 0]])  # label vs label: the same potential outcome
    means, sds = pool.outcomes.mean(axis=0), pool.outcomes.std(axis=0, ddof=1)
    print(f"pool of {POOL} patients in {pool_s:.1f} s; {ENDPOINT}: label {means[0]:.3f} "
          f"(sd {sds[0]:.3f}), MAP {means[1]:.3f} (sd {sds[1]:.3f})")
    rows = []
    for allocation, n_max in (("equal", 30), ("equal", 60), ("equal", 120), ("neyman", 60)):
        design = VirtualTrialDesign(env_id=ENV_ID, arms=("label", "map"), endpoint=ENDPOINT,
                                    max_patients=n_max, allocation=allocation, burn_in=12)
        for comparison, source in (("map_vs_label", pool), ("label_vs_label", null)):
            start = time.perf_counter()
            oc = simulate_virtual_trials(design, source, TRIALS, seed=n_max)
            rows.append({"comparison": comparison, "allocation": allocation, "max_n": n_max,
                         "rejection_rate": oc.rejection_rate, "se": oc.rejection_rate_se,
                         "expected_n": oc.expected_n, "expected_n_se": oc.expected_n_se,
                         "stop_probabilities": oc.stop_probabilities,
                         "seconds": time.perf_counter() - start})
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    if argv:
        write_table(table.astype({"stop_probabilities": str}), argv[0])


if __name__ == "__main__":
    main()
