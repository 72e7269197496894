"""The warfarin baselines on 500 held-out virtual patients (issue 5).

Runs the paired evaluation of :mod:`pkgym.evaluation` twice: in ``pkgym/WarfarinPGx-v0``
(genotype observed: every arm) and in ``pkgym/Warfarin-v0`` (no genotype: the clinical arms,
MAP with a genotype-marginal prior, the oracle). Prints the mean and 95% bootstrap interval
of time in range (Rosendaal, true INR), % of days with INR > 4 and < 1.5, events per patient
and INR tests, with the paired difference of TTR to fixed 5 mg daily.
"""

from __future__ import annotations

import time

import gymnasium as gym
import pandas as pd

import pkgym  # noqa: F401
from agents.policies.registry import make_policy
from benchmarks import no_options
from pkgym.evaluation.cohorts import sample_cohort
from pkgym.evaluation.evaluate import evaluate
from pkgym.evaluation.outcomes import outcome_spec
from pkgym.evaluation.report import summarise

COHORT_SEED, NOISE_SEED, N_PATIENTS = 30_000_000, 40_000_000, 500
ARMS = {
    "pkgym/WarfarinPGx-v0": ("fixed_5mg", "aurora", "iwpc_clinical+aurora", "iwpc_pgx+aurora",
                             "iwpc_clinical+intermountain", "iwpc_pgx+intermountain",
                             "eupact_pgx+aurora", "map", "oracle"),
    "pkgym/Warfarin-v0": ("fixed_5mg", "iwpc_clinical+aurora", "map", "oracle"),
}
SHOWN = ("time_in_therapeutic_range", "percent_days_inr_above_4", "percent_days_inr_below_1_5",
         "bleeding_events", "thromboembolic_events", "inr_tests")


def compare(env_id: str, names: tuple[str, ...]) -> pd.DataFrame:
    """Mean [95% CI] of each score per policy, and the TTR difference to fixed 5 mg."""
    core = gym.make(env_id).unwrapped.core
    cohort = sample_cohort(core.settings.population, core.settings.model.variability,
                           N_PATIENTS, COHORT_SEED)
    results = evaluate([make_policy(name, core) for name in names], env_id, cohort, NOISE_SEED)
    summary = summarise(results, "fixed_5mg", outcome_spec(core).scores, seed=NOISE_SEED)
    rows = {}
    for (policy, score), row in summary.iterrows():
        if score in SHOWN:
            rows.setdefault(policy, {})[score] = (
                f"{row['mean']:.3f} [{row['low']:.3f}, {row['high']:.3f}]")
        if score == "time_in_therapeutic_range" and policy != "fixed_5mg":
            rows[policy]["TTR vs fixed 5 mg"] = (
                f"{row['difference']:+.3f} [{row['diff_low']:+.3f}, {row['diff_high']:+.3f}]")
    rows["fixed_5mg"]["TTR vs fixed 5 mg"] = "reference"
    return pd.DataFrame(rows).T


def markdown(table: pd.DataFrame) -> str:
    """A Markdown table of string cells, policies as rows."""
    head = "| policy | " + " | ".join(table.columns) + " |\n|---" * 1 + "|---" * len(
        table.columns) + "|\n"
    return head + "\n".join(f"| {name} | " + " | ".join(str(v) for v in row) + " |"
                             for name, row in table.iterrows())


def main() -> None:
    """Run and print both comparisons."""
    for env_id, names in ARMS.items():
        start = time.perf_counter()
        table = compare(env_id, names)
        print(f"\n{env_id}: {N_PATIENTS} held-out patients, 90 days "
              f"({time.perf_counter() - start:.0f} s; the oracle reads the hidden state)")
        print(markdown(table))


if __name__ == "__main__":
    no_options(__doc__)
    main()
