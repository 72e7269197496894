"""``pkgym/Depression-v0`` throughput: single-env steps/s and batched patient-weeks/s.

One step is a week: seven daily escitalopram doses (exact one-compartment PK, effect
compartment) and a 300-trial probabilistic reward task session of the Huys 2013 learner
(compiled with numba). No numeric target was set (issue 7).
"""

from __future__ import annotations

from benchmarks import no_options
from benchmarks.throughput import batched_steps_per_s, single_env_steps_per_s

ENV_ID = "pkgym/Depression-v0"
TEN_MG = 2
"""Discrete action of escitalopram 10 mg a day."""


def main() -> None:
    """Print the figures."""
    print("\nDepression-v0")
    single = single_env_steps_per_s(ENV_ID, TEN_MG, episodes=50)
    print(f"single env: {single:,.0f} steps/s (one week each)")
    batched = batched_steps_per_s(ENV_ID, TEN_MG, n=10_000, steps=6)
    print(f"vector env, 10 000 patients: {batched:,.0f} patient-weeks/s")


if __name__ == "__main__":
    no_options(__doc__)
    main()
