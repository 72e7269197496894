"""The four vancomycin baselines on 500 held-out virtual adult inpatients (issue 3).

Prints probability of target attainment (AUC24 400-600) at the end of day 2 and day 7, the
mean |AUC24 - 500| over the seven daily AUC24 values, the AKI rate and the mean return.
The cohort comes from the evaluation seed space (``pkgym.evaluation.cohorts``), which no
training cohort can share.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pandas as pd

import pkgym  # noqa: F401
from agents.policies.registry import BASELINES, make_policy
from benchmarks import no_options
from pkgym.evaluation.cohorts import sample_cohort
from pkgym.evaluation.evaluate import evaluate
from pkgym.models.vancomycin import Goti2018
from pkgym.populations.vancomycin import ADULT_INPATIENTS

ENV_ID = "pkgym/Vancomycin-v0"
COHORT_SEED, NOISE_SEED, N_PATIENTS = 10_000_000, 20_000_000, 500
SCENARIO = "scenarios/vancomycin_adult.yaml"


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """One row per policy: day-2 and day-7 attainment, |AUC24 - 500|, AKI rate, return."""
    daily = [f"auc24_mg_h_per_l_{step}" for step in range(1, 14, 2)]  # end of days 1..7
    rows = []
    for name, group in results.groupby("policy", sort=False):
        rows.append({
            "policy": name,
            "PTA day 2": group["in_target_range_3"].mean(),
            "PTA day 7": group["in_target_range_13"].mean(),
            "mean |AUC24-500|": np.abs(group[daily].to_numpy() - 500.0).mean(),
            "AKI rate": group["had_aki"].mean(),
            "mean return": group["return"].mean(),
        })
    return pd.DataFrame(rows).set_index("policy")


def main() -> None:
    """Run and print the comparison table."""
    cohort = sample_cohort(ADULT_INPATIENTS, Goti2018().variability, N_PATIENTS, COHORT_SEED)
    core = gym.make(ENV_ID, scenario=SCENARIO).unwrapped.core
    policies = [make_policy(name, core) for name in BASELINES]
    results = evaluate(policies, ENV_ID, cohort, NOISE_SEED, env_kwargs={"scenario": SCENARIO})
    table = summarise(results)
    print(f"\nVancomycin baselines, {N_PATIENTS} held-out adult inpatients "
          "(oracle reads hidden state: an upper bound)")
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    no_options(__doc__)
    main()
