"""The four vancomycin baselines on 500 held-out virtual adult inpatients (issue 3).

Prints probability of target attainment (AUC24 400-600) at the end of day 2 and day 7, the
mean |AUC24 - 500| over the seven daily AUC24 values, the AKI rate and the mean return.
The cohort's seed (10 000 000) lies outside the seeds used for training and tests.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import pkgym  # noqa: F401
from agents.baselines import LabelDosingPolicy, TroughGuidedPolicy
from agents.mipd import MapBayesianPolicy
from agents.oracle import OraclePolicy
from pkgym.evaluation.runner import run_policy
from pkgym.models.vancomycin import Goti2018
from pkgym.populations.vancomycin import ADULT_INPATIENTS

COHORT_SEED, NOISE_SEED, N_PATIENTS = 10_000_000, 20_000_000, 500
SCENARIO = "scenarios/vancomycin_adult.yaml"


def held_out_cohort(n: int = N_PATIENTS) -> pd.DataFrame:
    """Covariates and Goti random effects of the held-out patients."""
    covariates = ADULT_INPATIENTS.sample(n, COHORT_SEED)
    etas = Goti2018().variability.sample_etas(COHORT_SEED, n)
    return pd.concat([covariates, etas], axis=1)


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
    cohort = held_out_cohort()
    policies = [LabelDosingPolicy(), TroughGuidedPolicy(), MapBayesianPolicy(), OraclePolicy()]
    results = pd.concat([run_policy(p, "pkgym/Vancomycin-v0", cohort, NOISE_SEED,
                                    {"scenario": SCENARIO}) for p in policies])
    table = summarise(results)
    print(f"\nVancomycin baselines, {N_PATIENTS} held-out adult inpatients "
          "(oracle reads hidden state: an upper bound)")
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
