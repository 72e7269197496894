"""Paired evaluation throughput: 1 000 patients x the four vancomycin baselines (issue 4).

Target: under 60 s on 2 cores (excluding MAP if MAP dominates; its share is reported).
"""

from __future__ import annotations

import time

import gymnasium as gym

import pkgym  # noqa: F401
from agents.policies.registry import BASELINES, make_policy
from benchmarks import no_options
from pkgym.evaluation.cohorts import sample_cohort
from pkgym.evaluation.runner import run_policy
from pkgym.models.vancomycin import Goti2018
from pkgym.populations.vancomycin import ADULT_INPATIENTS

ENV_ID, N_PATIENTS = "pkgym/Vancomycin-v0", 1000


def main() -> None:
    """Time each baseline on the same 1 000-patient cohort and print the total."""
    core = gym.make(ENV_ID).unwrapped.core
    cohort = sample_cohort(ADULT_INPATIENTS, Goti2018().variability, N_PATIENTS, seed=1)
    seconds = {}
    for name in BASELINES:
        start = time.perf_counter()
        run_policy(make_policy(name, core), ENV_ID, cohort, seed=1)
        seconds[name] = time.perf_counter() - start
    total = sum(seconds.values())
    print(f"\nEvaluation of {N_PATIENTS} patients x {len(BASELINES)} baselines: {total:.1f} s")
    for name, value in seconds.items():
        print(f"  {name:<8}{value:7.1f} s ({value / total:.0%})")


if __name__ == "__main__":
    no_options(__doc__)
    main()
