"""A learned phase I design (PPO on ``pkgym/DoseFinding-v0``) against 3+3, BOIN and CRM.

1. Train PPO (``agents/rl/hyperparams/ppo.yml``) for ``--timesteps`` per seed on random
   pseudo-uniform dose-toxicity curves (Clertant & O'Quigley 2017), 5 levels, target 0.3,
   cohorts of 3, 36 patients; a finished seed is reused (resumable).
2. Random scenarios: every design meets the same held-out curves (EVALUATION seed space) and
   the same DLT uniforms, through the env; paired differences against BOIN with 95% CIs. The
   oracle is the nonparametric optimal benchmark (O'Quigley, Paoletti & Maccario 2002).
   ``ppo_mean`` averages the seeds per trial; the seed with the best final validation return
   (its own VALIDATION trials) is the one a user would deploy.
3. Fixed scenarios (the MTD at each level in turn): operating characteristics of every
   design by :func:`pkgym.trials.simulate_trials`, common random numbers, with MC SEs.

Run: ``python -m benchmarks.learned_design [--out out/learned_design] [--seeds 3]``
(about 5 min of training per seed on 2 cores, then a few minutes of evaluation).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd

import pkgym  # noqa: F401
from agents.policies.registry import make_policy
from agents.rl.train_config import TrainConfig
from agents.rl.training import train
from pkgym.evaluation.cohorts import env_cohort
from pkgym.evaluation.evaluate import evaluate
from pkgym.io import write_table
from pkgym.trials.learned import PolicyDesign
from pkgym.trials.operating_characteristics import operating_characteristics, simulate_trials
from pkgym.trials.report import make_design
from pkgym.trials.scenarios import DoseFindingScenario

ENV_ID = "pkgym/DoseFinding-v0"
FIXED_SCENARIOS = {  # target 0.3; the true MTD moves from level 1 to level 5
    "MTD 1": (0.28, 0.42, 0.55, 0.65, 0.75), "MTD 2": (0.10, 0.30, 0.45, 0.60, 0.70),
    "MTD 3": (0.05, 0.12, 0.30, 0.45, 0.60), "MTD 4": (0.03, 0.07, 0.15, 0.31, 0.47),
    "MTD 5": (0.02, 0.05, 0.08, 0.15, 0.29)}


def train_seeds(out: Path, seeds: int, timesteps: int) -> list[Path]:
    """One PPO design per seed (reused when its ``model.zip`` exists)."""
    paths = []
    for seed in range(seeds):
        run = out / f"ppo_s{seed}"
        if not (run / "model.zip").is_file():
            start = time.perf_counter()
            train(TrainConfig(env_id=ENV_ID, algo="ppo", timesteps=timesteps, seed=seed,
                              out_dir=run, n_training_patients=100_000, progress_bar=False))
            print(f"trained seed {seed} in {time.perf_counter() - start:.0f} s")
        paths.append(run / "model.zip")
    return paths


def random_scenarios(models: list[Path], n_trials: int) -> pd.DataFrame:
    """Per-trial outcomes of every design on one held-out cohort of random curves."""
    core = gym.make(ENV_ID).unwrapped.core
    cohort = env_cohort(core.settings, n_trials, seed=0)
    policies = [make_policy(name, core) for name in ("boin", "crm", "oracle")]
    policies += [make_policy(f"sb3:{path}", core, env_id=ENV_ID) for path in models]
    for policy, path in zip(policies[3:], models, strict=True):
        policy.name = f"ppo_{path.parent.name.rsplit('_', 1)[1]}"
    return evaluate(policies, ENV_ID, cohort, seed=0, progress=True)


def paired_table(results: pd.DataFrame) -> pd.DataFrame:
    """Mean of each score per design, and the learned designs' paired difference to BOIN."""
    scores = ["correct_selection", "no_selection", "above_mtd_fraction", "n_dlts", "return"]
    wide = results.pivot(index="id", columns="policy", values=scores)
    learned = [p for p in results["policy"].unique() if str(p).startswith("ppo")]
    wide[[(s, "ppo_mean") for s in scores]] = np.stack(
        [wide[s][learned].mean(axis=1) for s in scores], axis=1)
    rows = []
    for policy in ["boin", "crm", *learned, "ppo_mean", "oracle"]:
        row: dict[str, object] = {"design": policy}
        for score in scores:
            values = wide[(score, policy)].to_numpy(dtype=float)
            diff = values - wide[(score, "boin")].to_numpy(dtype=float)
            half = 1.96 * diff.std(ddof=1) / np.sqrt(diff.size)
            row[score] = round(float(values.mean()), 4)
            row[f"{score}_vs_boin"] = (f"{diff.mean():+.4f} [{diff.mean() - half:+.4f}, "
                                       f"{diff.mean() + half:+.4f}]")
        rows.append(row)
    return pd.DataFrame(rows)


def fixed_scenarios(models: list[Path], n_trials: int) -> pd.DataFrame:
    """Operating characteristics of 3+3, BOIN, CRM and each learned design per scenario."""
    core = gym.make(ENV_ID).unwrapped.core
    rows = []
    for label, truth in FIXED_SCENARIOS.items():
        scenario = DoseFindingScenario(true_dlt_probabilities=truth, target_dlt_rate=0.3,
                                       max_sample_size=36)
        designs = {name: make_design(name, scenario) for name in ("3+3", "boin", "crm")}
        for path in models:
            policy = make_policy(f"sb3:{path}", core, env_id=ENV_ID)
            designs[f"ppo_{path.parent.name.rsplit('_', 1)[1]}"] = PolicyDesign(policy, scenario)
        for name, design in designs.items():
            oc = operating_characteristics(
                simulate_trials(design, scenario, n_trials, seed=2024), scenario)
            rows.append({"scenario": label, "design": name,
                         "pcs": oc.percent_correct_selection,
                         "pcs_se": oc.percent_correct_selection_se,
                         "no_mtd": oc.no_selection_percent,
                         "above_mtd": oc.percent_treated_above_mtd,
                         "dlts": oc.mean_dlts, "n": oc.mean_sample_size})
    return pd.DataFrame(rows)


def selected_by_validation(models: list[Path]) -> str:
    """The seed whose final validation return (VALIDATION trials, never evaluated) is best."""
    finals = {f"ppo_{path.parent.name.rsplit('_', 1)[1]}":
              float(pd.read_csv(path.parent / "learning_curve.csv")["mean_return"].iloc[-1])
              for path in models}
    return max(finals, key=finals.__getitem__)


def main(argv: list[str] | None = None) -> None:
    """Train, evaluate on random and fixed scenarios, print and write the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/learned_design"))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--timesteps", type=int, default=2_000_000)
    parser.add_argument("--random-trials", type=int, default=4000)
    parser.add_argument("--fixed-trials", type=int, default=4000)
    args = parser.parse_args(argv)
    models = train_seeds(args.out, args.seeds, args.timesteps)
    start = time.perf_counter()
    per_trial = random_scenarios(models, args.random_trials)
    random_table = paired_table(per_trial)
    fixed = fixed_scenarios(models, args.fixed_trials)
    print(f"evaluation: {time.perf_counter() - start:.0f} s")
    write_table(per_trial, args.out / "random_scenarios_trials.csv")
    write_table(random_table, args.out / "random_scenarios.csv")
    write_table(fixed, args.out / "fixed_scenarios.csv")
    print(f"validation selects {selected_by_validation(models)}")
    print(random_table.to_string(index=False))
    print(fixed.pivot(index="design", columns="scenario", values="pcs").round(1).to_string())


if __name__ == "__main__":
    main()
