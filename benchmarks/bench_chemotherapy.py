"""Chemotherapy throughput (``Chemotherapy-v0``, ``ChemoImmune-v0``) and the docetaxel baselines.

One step is a 21-day cycle of the joint PK / neutrophil / tumour ODE, integrated per patient
by a compiled Dormand-Prince (rtol 1e-7). No numeric target was set (issue 6); the figures
are reported in cycles and in patient-days.
"""

from __future__ import annotations

import time

import gymnasium as gym

import pkgym  # noqa: F401
from agents.policies.registry import CHEMOTHERAPY_BASELINES, make_policy
from benchmarks import no_options
from benchmarks.throughput import batched_steps_per_s, single_env_steps_per_s
from pkgym.evaluation.cohorts import sample_cohort
from pkgym.evaluation.evaluate import evaluate
from pkgym.evaluation.outcomes import outcome_spec
from pkgym.evaluation.report import summarise

ENV_ID = "pkgym/Chemotherapy-v0"
IMMUNE_ID = "pkgym/ChemoImmune-v0"
FULL_IMMUNE_DOSE = 10
"""Discrete action of the full daily infusion (level 1.0) in ChemoImmune-v0."""
FULL_DOSE = 3
"""Discrete action of 100% of the label dose."""
COHORT_SEED, NOISE_SEED, N_PATIENTS = 50_000_000, 60_000_000, 500


def baselines_table() -> str:
    """Mean [95% CI] of each score per baseline on held-out patients."""
    core = gym.make(ENV_ID).unwrapped.core
    cohort = sample_cohort(core.settings.population, core.settings.model.variability,
                           N_PATIENTS, COHORT_SEED)
    policies = [make_policy(name, core) for name in CHEMOTHERAPY_BASELINES]
    results = evaluate(policies, ENV_ID, cohort, NOISE_SEED)
    summary = summarise(results, "fixed_100", outcome_spec(core).scores, seed=NOISE_SEED)
    lines = ["| policy | score | mean [95% CI] |", "|---|---|---|"]
    for (policy, _score), row in summary.iterrows():
        lines.append(f"| {policy} | {row['label']} | {row['mean']:.3f} "
                     f"[{row['low']:.3f}, {row['high']:.3f}] |")
    return "\n".join(lines)


def main() -> None:
    """Print the figures."""
    print("\nChemotherapy-v0")
    single = single_env_steps_per_s(ENV_ID, FULL_DOSE, episodes=40)
    print(f"single env: {single:,.0f} cycles/s ({21 * single:,.0f} patient-days/s)")
    batched = batched_steps_per_s(ENV_ID, FULL_DOSE, n=10_000, steps=3)
    print(f"vector env, 10 000 patients: {batched:,.0f} patient-cycles/s "
          f"({21 * batched:,.0f} patient-days/s)")
    single = single_env_steps_per_s(IMMUNE_ID, FULL_IMMUNE_DOSE, episodes=5)
    batched = batched_steps_per_s(IMMUNE_ID, FULL_IMMUNE_DOSE, n=10_000, steps=20)
    print(f"\nChemoImmune-v0\nsingle env: {single:,.0f} steps/s (one day each); vector env, "
          f"10 000 patients: {batched:,.0f} patient-days/s")
    start = time.perf_counter()
    table = baselines_table()
    print(f"\nbaselines on {N_PATIENTS} held-out patients ({time.perf_counter() - start:.0f} s; "
          "the oracle reads the hidden state)")
    print(table)


if __name__ == "__main__":
    no_options(__doc__)
    main()
