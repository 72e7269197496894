"""Offline RL and off-policy evaluation with the simulator as ground truth (issue 23).

    python -m benchmarks.offline --out OUT                 # vancomycin and warfarin v1
    python -m benchmarks.offline --quick --out OUT         # a smoke run (minutes)

Three stages per env, each written to ``OUT/`` as CSV and summarised in ``OUT/report.md``:

1. **Throughput** (``throughput.csv``): :func:`agents.offline.dataset.collect_dataset` against
   Minari's ``DataCollector`` on one single env, the same stochastic clinicians on the same
   patients, in one run (:func:`agents.offline.throughput.dataset_throughput`).
2. **OPE vs truth** (``ope.csv``, ``ope_summary.csv``): for each dataset size, a dataset of the
   env's stochastic clinicians (:data:`agents.offline.throughput.BEHAVIOURS`, default epsilon
   and SD), then every estimator for every target policy next to the policy's true value on
   the same patients (:func:`agents.offline.ope_cli.run_ope_benchmark`). Summary per estimator
   and size: mean absolute error over the targets, the share of 95 % CIs covering the truth,
   Spearman's rank correlation of estimates with truths, and the same for the targets IS can
   reach (the stochastic behaviour itself). MAP (a fit per patient per decision) is a target
   only up to ``--map-max`` patients.
3. **Offline RL** (``offline_rl.csv``, ``offline_rl_paired.csv``): BC, CQL and IQL trained on
   the dataset of ``--train-size`` patients (training seed space), ``--seeds`` seeds each, then
   evaluated by the paired harness (:func:`pkgym.scale.evaluation.evaluate_sharded`, what
   ``pkgym evaluate`` runs) on ``--eval-patients`` EVALUATION-cohort patients beside the
   clinicians (deterministic), MAP and the oracle: mean [95 % CI] per policy and the paired
   difference of each learned policy to the first clinician and to MAP. The leakage guard
   applies: the models carry the dataset's cohort and evaluation refuses it.

Wall times of every stage go in the CSVs; the load average is printed at the start and end.
"""

# lines: three stages (throughput, OPE, offline RL) and their report in one readable script

from __future__ import annotations

import argparse
import shutil
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agents.offline.behaviour import BehaviourSpec
from agents.offline.dataset import collect_dataset, dataset_id_for
from agents.offline.ope_cli import DEFAULT_ESTIMATORS, ope_table
from agents.offline.throughput import BEHAVIOURS, dataset_throughput
from agents.policies.registry import make_policy
from pkgym.evaluation.bootstrap import bootstrap_ci, paired_difference_ci
from pkgym.scale.evaluation import evaluate_sharded

TARGETS = {"pkgym/Vancomycin-v0": ("behaviour", "label", "trough", "map"),
           "pkgym/Warfarin-v1": ("behaviour", "iwpc_clinical+aurora", "aurora",
                                 "iwpc_clinical+intermountain", "fixed_5mg", "map")}
"""Target policies of the OPE stage (our choice: the behaviour itself, its clinicians as
deterministic rules, another clinical rule where the env has one, and MAP)."""
SCORES = {"pkgym/Vancomycin-v0": ("in_target_range_fraction", "return"),
          "pkgym/Warfarin-v1": ("time_in_therapeutic_range", "return")}
"""Per env, the clinical score and the return reported in the offline-RL stage."""
ALGOS = ("bc", "cql", "iql")
EXPENSIVE = ("map",)
"""Targets fitted per patient per decision: run only on datasets up to ``--map-max``."""


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages (``/proc/loadavg``)."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def dataset_path(root: Path, env_id: str, size: int, seed: int) -> Path:
    """Where the benchmark's dataset of ``size`` patients of ``env_id`` lives (made once)."""
    spec = BehaviourSpec(policies=BEHAVIOURS[env_id])
    out = root / "datasets" / f"{env_id.split('/')[-1]}-n{size}-s{seed}"
    path = out / dataset_id_for(env_id, spec)
    if not path.exists():
        if out.exists():  # a run cut off before the rename left nothing usable
            shutil.rmtree(out)
        collect_dataset(env_id, spec, size, seed, out)
    return path


def ope_stage(env_id: str, sizes: Sequence[int], seed: int, root: Path, *, map_max: int,
              reps: int) -> pd.DataFrame:
    """OPE rows (estimate, CI, truth, error) for every target, estimator and dataset size."""
    frames = []
    for size in sizes:
        started = time.perf_counter()
        path = dataset_path(root, env_id, size, seed)
        made = time.perf_counter()
        targets = [t for t in TARGETS[env_id] if size <= map_max or t not in EXPENSIVE]
        table, _ = ope_table(path, targets, DEFAULT_ESTIMATORS, reps=reps, seed=seed,
                             make_policy=make_policy)
        table.insert(0, "env_id", env_id)
        table.insert(1, "n_patients", size)
        table["dataset_s"], table["ope_s"] = made - started, time.perf_counter() - made
        frames.append(table)
        print(f"  OPE {env_id} n={size}: dataset {made - started:.0f} s, estimates and truths "
              f"{time.perf_counter() - made:.0f} s ({len(targets)} targets)", flush=True)
    return pd.concat(frames, ignore_index=True)


def _spearman(group: pd.DataFrame) -> float:
    if group["estimate"].isna().any() or group["policy"].nunique() < 3:
        return float("nan")
    return float(group["estimate"].rank().corr(group["true_value"].rank()))


def ope_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per env, size and estimator: |error| over targets, CI coverage, Spearman, undefined.

    ``abs_error`` and ``relative_abs_error`` (|error| / |truth|) are means over the targets
    with a defined estimate; ``undefined`` counts targets whose estimate is NaN (weighted IS
    with no episode of positive weight); ``behaviour_abs_error`` is the error for the
    behaviour policy itself (the case importance sampling is built for).
    """
    rows = []
    for (env_id, size, estimator), group in table.groupby(["env_id", "n_patients", "estimator"],
                                                           sort=False):
        defined = group[group["estimate"].notna()]
        behaviour = group[group["policy"] == "behaviour"]
        rows.append({"env_id": env_id, "n_patients": size, "estimator": estimator,
                     "targets": len(group), "undefined": int(group["estimate"].isna().sum()),
                     "abs_error": float(defined["error"].abs().mean()),
                     "relative_abs_error": float((defined["error"].abs()
                                                  / defined["true_value"].abs()).mean()),
                     "coverage": float(defined["covered"].mean()),
                     "spearman": _spearman(group),
                     "behaviour_abs_error": float(behaviour["error"].abs().iloc[0])
                     if len(behaviour) else float("nan"),
                     "ope_s": float(group["ope_s"].iloc[0])})
    return pd.DataFrame(rows)


def train_models(env_id: str, dataset: Path, root: Path, *, algos: Sequence[str],
                 seeds: Sequence[int], steps: int) -> list[dict[str, Any]]:
    """Train each algorithm with each seed on ``dataset``; one record per model."""
    from agents.offline.offline_rl import MODEL_FILE, train_offline_run

    records = []
    for algo in algos:
        for seed in seeds:
            out = root / "models" / env_id.split("/")[-1] / f"{algo}-s{seed}"
            if (out / MODEL_FILE).exists():
                shutil.rmtree(out)  # a model of an earlier run: retrain with this run's settings
            meta = train_offline_run(dataset, algo, steps, seed, out, checkpoint_every=0)
            records.append({"env_id": env_id, "algo": algo, "seed": seed, "path": str(out),
                            "steps": steps, "n_transitions": meta["n_transitions"],
                            "train_s": meta["wall_time_s"]})
            print(f"  trained {algo} seed {seed} on {meta['n_transitions']} transitions: "
                  f"{meta['wall_time_s']:.0f} s", flush=True)
    return records


def offline_rl_stage(env_id: str, dataset: Path, root: Path, *, algos: Sequence[str],
                     seeds: Sequence[int], steps: int, n_patients: int, eval_seed: int,
                     reps: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-policy means and paired differences of the learned policies (module docstring)."""
    models = train_models(env_id, dataset, root, algos=algos, seeds=seeds, steps=steps)
    clinicians = list(BEHAVIOURS[env_id])
    specs = clinicians + ["map", "oracle"] + [f"offline:{m['path']}" for m in models]
    out = root / "evaluation" / env_id.split("/")[-1]
    if (out / "shards").exists():  # models were retrained: earlier shards are stale
        shutil.rmtree(out / "shards")
    started = time.perf_counter()
    results = evaluate_sharded(specs, env_id, eval_seed, out, make_policy=make_policy,
                               n_patients=n_patients)
    evaluate_s = time.perf_counter() - started
    names = list(pd.unique(results["policy"]))
    learned = names[len(clinicians) + 2:]
    references = [names[0], names[len(clinicians)]]  # the first clinician, MAP (map_bayesian)
    per_policy = {name: group.sort_values("id") for name, group in
                  results.groupby("policy", sort=False)}
    means, paired = [], []
    for score in SCORES[env_id]:
        for name in names:
            values = per_policy[name][score].to_numpy(np.float64)
            mean, low, high = bootstrap_ci(values, np.mean, reps=reps,
                                           rng=np.random.default_rng(eval_seed))
            record = next((m for m in models if name == _learned_name(m, learned)), None)
            means.append({"env_id": env_id, "policy": name, "score": score, "mean": mean,
                          "low": low, "high": high, "n_patients": len(values),
                          "algo": record["algo"] if record else "",
                          "seed": record["seed"] if record else -1,
                          "train_s": record["train_s"] if record else float("nan"),
                          "evaluate_s": evaluate_s})
            if name not in learned:
                continue
            for reference in references:
                pair = {name: values,
                        reference: per_policy[reference][score].to_numpy(np.float64)}
                d, d_low, d_high = paired_difference_ci(
                    pair, reference, np.mean, reps=reps,
                    rng=np.random.default_rng(eval_seed))[name]
                paired.append({"env_id": env_id, "policy": name, "score": score,
                               "reference": reference, "difference": d, "low": d_low,
                               "high": d_high})
    return pd.DataFrame(means), pd.DataFrame(paired)


def _earlier(path: Path) -> pd.DataFrame:
    """The CSV an earlier run wrote at ``path`` (empty if none)."""
    return pd.read_csv(path) if path.exists() else pd.DataFrame()


def _learned_name(model: dict[str, Any], learned: Sequence[str]) -> str | None:
    """The results' name of a trained model (``offline:ALGO:FOLDER``, as OfflinePolicy names it)."""
    name = f"offline:{model['algo']}:{Path(model['path']).name}"
    return name if name in learned else None


def _cell(mean: float, low: float, high: float, digits: int = 3, sign: str = "") -> str:
    return f"{mean:{sign}.{digits}f} [{low:{sign}.{digits}f}, {high:{sign}.{digits}f}]"


def report(throughput: pd.DataFrame, ope: pd.DataFrame, summary: pd.DataFrame,
           means: pd.DataFrame, paired: pd.DataFrame, loads: tuple[str, str],
           wall_s: float) -> str:
    """The benchmark's tables as markdown."""
    lines = ["# Offline RL and OPE with the simulator as ground truth", "",
             f"Load average at start {loads[0]}, at end {loads[1]}; {wall_s:.0f} s in all.", ""]
    if len(throughput):
        lines += ["## Dataset generation (patient-steps/s)", "",
                  "| env | patients | patient-steps | collect_dataset | DataCollector "
                  "(single env) | speed-up |", "|---|---|---|---|---|---|"]
        lines += [f"| {r.env_id} | {r.n_patients} | {r.steps} | {r.batched_steps_per_s:,.0f} "
                  f"({r.batched_s:.1f} s) | {r.data_collector_steps_per_s:,.0f} "
                  f"({r.data_collector_s:.1f} s) | x{r.speedup:.1f} |"
                  for r in throughput.itertuples()]
        lines.append("")
    if len(summary):
        lines += ["## OPE error vs truth, per estimator and dataset size", "",
                  "| env | patients | estimator | mean abs error | mean rel. error | CI "
                  "coverage | Spearman | undefined | behaviour's abs error |",
                  "|---|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r.env_id} | {r.n_patients} | {r.estimator} | {r.abs_error:.3f} | "
                  f"{r.relative_abs_error:.2f} | {r.coverage:.2f} | {r.spearman:.2f} | "
                  f"{r.undefined}/{r.targets} | {r.behaviour_abs_error:.3f} |"
                  for r in summary.itertuples()]
        lines += ["", "## OPE estimates beside the truth", "",
                  "| env | patients | policy | true value | " + " | ".join(DEFAULT_ESTIMATORS)
                  + " |", "|---|---|---|---|" + "---|" * len(DEFAULT_ESTIMATORS)]
        for (env_id, size, policy), group in ope.groupby(["env_id", "n_patients", "policy"],
                                                         sort=False):
            by = group.set_index("estimator")
            lines.append(f"| {env_id} | {size} | {policy} | {by['true_value'].iloc[0]:.2f} | "
                         + " | ".join(f"{by.loc[e, 'estimate']:.2f}" for e in DEFAULT_ESTIMATORS)
                         + " |")
        lines.append("")
    if len(means):
        lines += ["## Offline RL against the clinicians and MAP (held-out patients)", ""]
        for (env_id, score), group in means.groupby(["env_id", "score"], sort=False):
            lines += [f"{env_id}, {score}, {int(group['n_patients'].iloc[0])} EVALUATION "
                      f"patients (evaluation {group['evaluate_s'].iloc[0]:.0f} s):", "",
                      "| policy | mean [95% CI] | vs clinician | vs MAP | training s |",
                      "|---|---|---|---|---|"]
            for r in group.itertuples():
                diffs = paired[(paired["env_id"] == env_id) & (paired["score"] == score)
                               & (paired["policy"] == r.policy)]
                cells = [_cell(d.difference, d.low, d.high, sign="+")
                         for d in diffs.itertuples()] or ["", ""]
                train = "" if np.isnan(r.train_s) else f"{r.train_s:.0f}"
                lines.append(f"| {r.policy} | {_cell(r.mean, r.low, r.high)} | "
                             + " | ".join(cells) + f" | {train} |")
            lines.append("")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Run the stages and write ``OUT/report.md`` and the CSVs."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--envs", default=",".join(TARGETS),
                        help="comma-separated env ids (default vancomycin v0, warfarin v1)")
    parser.add_argument("--sizes", default="1000,10000",
                        help="dataset sizes in patients for OPE (default 1000,10000)")
    parser.add_argument("--map-max", type=int, default=1000,
                        help="largest dataset on which MAP is a target (default 1000)")
    parser.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples")
    parser.add_argument("--train-size", type=int, default=10000,
                        help="patients of the offline-RL training dataset (default 10000)")
    parser.add_argument("--algos", default=",".join(ALGOS), help="offline algorithms")
    parser.add_argument("--seeds", default="0,1,2", help="training seeds")
    parser.add_argument("--steps", type=int, default=20000, help="gradient updates per model")
    parser.add_argument("--eval-patients", type=int, default=500,
                        help="EVALUATION-cohort patients for the learned policies")
    parser.add_argument("--seed", type=int, default=0, help="dataset and evaluation seed")
    parser.add_argument("--throughput-patients", type=int, default=1000,
                        help="patients of the throughput comparison (0: skip)")
    parser.add_argument("--skip", default="", help="stages to skip: throughput,ope,offline_rl")
    parser.add_argument("--quick", action="store_true", help="a smoke run of every stage")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    args = parser.parse_args(argv)
    # weighted IS with no episode of positive weight is NaN by definition: no warning each time
    warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
    warnings.filterwarnings("ignore", "Degrees of freedom", RuntimeWarning)
    envs = [e for e in args.envs.split(",") if e]
    unknown = [e for e in envs if e not in TARGETS]
    if unknown:
        raise SystemExit(f"--envs: {unknown} not among {list(TARGETS)}")
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.quick:
        sizes, args.train_size, args.steps, args.eval_patients = [16], 16, 50, 6
        args.bootstrap, args.throughput_patients, args.map_max = 20, 4, 16
        args.seeds = "0"
    seeds = [int(s) for s in args.seeds.split(",") if s]
    algos = [a for a in args.algos.split(",") if a]
    skip = set(args.skip.split(",")) - {""}
    args.out.mkdir(parents=True, exist_ok=True)
    start_load, started = load_average(), time.perf_counter()
    print(f"load average at start: {start_load}", flush=True)
    # a skipped stage's table from an earlier run into the same OUT, if there is one
    throughput, ope, means, paired = (_earlier(args.out / name) for name in (
        "throughput.csv", "ope.csv", "offline_rl.csv", "offline_rl_paired.csv"))
    if "throughput" not in skip and args.throughput_patients > 0:
        throughput = pd.DataFrame([dataset_throughput(e, args.throughput_patients, args.seed)
                                   for e in envs])
        throughput.to_csv(args.out / "throughput.csv", index=False)
    if "ope" not in skip:
        ope = pd.concat([ope_stage(e, sizes, args.seed, args.out, map_max=args.map_max,
                                   reps=args.bootstrap) for e in envs], ignore_index=True)
        ope.to_csv(args.out / "ope.csv", index=False)
    summary = ope_summary(ope) if len(ope) else pd.DataFrame()
    summary.to_csv(args.out / "ope_summary.csv", index=False)
    if "offline_rl" not in skip:
        frames = [offline_rl_stage(e, dataset_path(args.out, e, args.train_size, args.seed),
                                   args.out, algos=algos, seeds=seeds, steps=args.steps,
                                   n_patients=args.eval_patients, eval_seed=args.seed,
                                   reps=max(args.bootstrap, 200)) for e in envs]
        means = pd.concat([f[0] for f in frames], ignore_index=True)
        paired = pd.concat([f[1] for f in frames], ignore_index=True)
        means.to_csv(args.out / "offline_rl.csv", index=False)
        paired.to_csv(args.out / "offline_rl_paired.csv", index=False)
    text = report(throughput, ope, summary, means, paired, (start_load, load_average()),
                  time.perf_counter() - started)
    (args.out / "report.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
