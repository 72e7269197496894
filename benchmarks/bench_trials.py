"""Virtual trials of vancomycin dosing policies (issue 9): power, type I error, expected N.

One pool of 1 000 evaluation patients is simulated once per policy (label, trough-guided and
MAP on the same pinned patients); every simulated trial draws its patients from that finite
pool without replacement, so the operating characteristics are conditional on this virtual
population. Design: two-sided family-wise alpha 0.05, K = 3 equally spaced looks, Lan-DeMets
O'Brien-Fleming spending, endpoint ``in_target_range_fraction``. Two-arm rows compare MAP with
label; three-arm rows compare trough-guided and MAP each with label (Bonferroni alpha / 2 per
comparison; ``rejection_rate`` is then P(any rejection), ``power_per_arm`` per comparison).
Each design also runs under the null (every arm given label's outcomes): its rejection rate is
the (family-wise) type I error. Run: ``python -m benchmarks.bench_trials [out.csv]``.
"""

from __future__ import annotations

import sys
import time

import gymnasium as gym
import pandas as pd

import pkgym  # noqa: F401
from agents.policies.registry import make_policy
from benchmarks import no_options
from pkgym.io import write_table
from pkgym.trials.endpoints import EndpointPool, simulate_endpoint_pool
from pkgym.trials.virtual_trial import VirtualTrialDesign, simulate_virtual_trials

ENV_ID, ENDPOINT, POOL, TRIALS = "pkgym/Vancomycin-v0", "in_target_range_fraction", 1000, 2000
ARMS = ("label", "trough", "map")
DESIGNS = ((("label", "map"), "equal", 30), (("label", "map"), "equal", 60),
           (("label", "map"), "equal", 120), (("label", "map"), "neyman", 60),
           (ARMS, "equal", 90), (ARMS, "thall_wathen", 90))
"""(arms, allocation, maximum N) of every row."""


def main(argv: list[str] | None = None) -> None:
    """Simulate the pool, then the trials of every design and its null; print a table."""
    argv = sys.argv[1:] if argv is None else argv
    core = gym.make(ENV_ID).unwrapped.core
    start = time.perf_counter()
    pool = simulate_endpoint_pool(ENV_ID, [make_policy(arm, core) for arm in ARMS], ENDPOINT,
                                  POOL, seed=9)
    pool_s = time.perf_counter() - start
    means, sds = pool.outcomes.mean(axis=0), pool.outcomes.std(axis=0, ddof=1)
    print(f"pool of {POOL} patients x {len(ARMS)} policies in {pool_s:.1f} s; {ENDPOINT}: "
          + ", ".join(f"{arm} {m:.3f} (sd {s:.3f})" for arm, m, s in zip(ARMS, means, sds,
                                                                         strict=True)))
    rows = [_row(arms, allocation, n_max, pool, null)
            for arms, allocation, n_max in DESIGNS for null in (False, True)]
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    if argv:
        write_table(table.astype({"stop_probabilities": str, "power_per_arm": str}), argv[0])


def _row(arms: tuple[str, ...], allocation: str, n_max: int, pool: EndpointPool,
         null: bool) -> dict[str, object]:
    """Simulate one design on its arms' columns of the pool (all label's under the null)."""
    columns = [0] * len(arms) if null else [ARMS.index(arm) for arm in arms]
    design = VirtualTrialDesign(env_id=ENV_ID, arms=arms, endpoint=ENDPOINT, max_patients=n_max,
                                allocation=allocation, burn_in=12)
    start = time.perf_counter()
    oc = simulate_virtual_trials(design, EndpointPool(pool.outcomes[:, columns]), TRIALS,
                                 seed=n_max)
    comparison = " & ".join(f"{arm}_vs_label" for arm in arms[1:])
    return {"comparison": "null:" + "_".join(["label"] * len(arms)) if null else comparison,
            "allocation": allocation, "max_n": n_max, "rejection_rate": oc.rejection_rate,
            "se": oc.rejection_rate_se, "power_per_arm": tuple(
                round(p, 4) for p in oc.comparison_rejection_rates),
            "expected_n": oc.expected_n, "expected_n_se": oc.expected_n_se,
            "stop_probabilities": tuple(round(p, 4) for p in oc.stop_probabilities),
            "seconds": time.perf_counter() - start}


if __name__ == "__main__":
    no_options(__doc__)
    main()
