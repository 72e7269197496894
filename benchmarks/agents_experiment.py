"""Issue 8's experiment: learned dosing policies against clinical baselines.

``python -m benchmarks.agents_experiment [--out out/experiments] [--quick]``

On Vancomycin-v0 and Warfarin-v0, for seeds 0, 1, 2: PPO on the raw observation, PPO on the
latent state of a patient VAE (frozen encoder), recurrent PPO, and VAE-MIPD (the same VAE,
dose chosen by decoding each candidate). Every run validates on its own fixed validation
cohort during training (learning curves); then every policy and the env's baselines are
evaluated on one held-out cohort with shared noise (paired). Finished steps are skipped when
the command is run again (evaluations are cached per env). Writes ``results.md``,
``summary.csv``, ``results.csv``, ``learning_curves.csv`` and ``learning_curves.png`` under
``--out``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import gymnasium as gym
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

import pkgym  # noqa: E402, F401
from agents.policies.registry import make_policy  # noqa: E402
from agents.rl.train_config import TrainConfig  # noqa: E402
from agents.rl.training import train  # noqa: E402
from agents.vae.training import train_vae  # noqa: E402
from pkgym.envs.base import DosingVectorEnv  # noqa: E402
from pkgym.evaluation.cohorts import sample_cohort  # noqa: E402
from pkgym.evaluation.evaluate import evaluate  # noqa: E402
from pkgym.evaluation.outcomes import outcome_spec  # noqa: E402
from pkgym.evaluation.report import summarise  # noqa: E402
from pkgym.io import write_atomic, write_table  # noqa: E402


@dataclass(frozen=True)
class EnvPlan:
    """What to run on one env: budget, baselines and the label-dosing reference."""

    timesteps: int
    eval_freq: int
    baselines: tuple[str, ...]
    label: str
    vae_patients: int


PLANS = {
    "pkgym/Vancomycin-v0": EnvPlan(300_000, 25_000, ("label", "trough", "map", "oracle"),
                                   "label", 4000),
    "pkgym/Warfarin-v0": EnvPlan(300_000, 25_000, ("fixed_5mg", "aurora",
                                                   "iwpc_clinical+aurora", "map", "oracle"),
                                 "aurora", 3000),
}
METHODS = {"ppo_raw": ("ppo", "raw"), "ppo_vae": ("ppo", "vae"),
           "recurrent_ppo": ("recurrent_ppo", "raw")}
"""Trained methods: name -> (algorithm, encoder)."""
SEEDS = (0, 1, 2)
N_EVAL_PATIENTS, EVAL_SEED = 500, 0


def slug(env_id: str) -> str:
    """``pkgym/Vancomycin-v0`` -> ``vancomycin``."""
    return env_id.split("/")[1].split("-")[0].lower()


def train_all(out: Path, quick: bool, env_ids: list[str]) -> dict[str, float]:
    """Every VAE and every RL run (skipping finished ones); wall time per step kind."""
    clock: dict[str, float] = {}
    for env_id in env_ids:
        plan = PLANS[env_id]
        for seed in SEEDS:
            vae_dir = out / "vae" / slug(env_id) / f"seed{seed}"
            if not (vae_dir / "vae.json").exists():
                start = time.perf_counter()
                train_vae(env_id, plan.vae_patients // (10 if quick else 1), seed, vae_dir,
                          **({"epochs": 2} if quick else {}))
                clock["vae"] = clock.get("vae", 0.0) + time.perf_counter() - start
            for method, (algo, encoder) in METHODS.items():
                run = out / "runs" / slug(env_id) / method / f"seed{seed}"
                if (run / "model.json").exists():
                    continue
                steps = 2048 if quick else plan.timesteps
                result = train(TrainConfig(
                    env_id=env_id, algo=algo, encoder=encoder, seed=seed, timesteps=steps,
                    vae_path=vae_dir / "vae.pt" if encoder == "vae" else None, out_dir=run,
                    eval_freq=1024 if quick else plan.eval_freq, checkpoint_freq=0,
                    n_validation_patients=50 if quick else 200))
                clock[method] = clock.get(method, 0.0) + result.wall_time_s
                print(f"{env_id} {method} seed {seed}: {result.wall_time_s:.0f} s")
    return clock


def evaluate_env(env_id: str, out: Path, n_patients: int) -> pd.DataFrame:
    """All policies of one env on one held-out cohort (paired), one row per (policy, patient)."""
    plan = PLANS[env_id]
    vec = gym.make_vec(env_id, num_envs=1, vectorization_mode="vector_entry_point")
    core = cast(DosingVectorEnv, vec.unwrapped).core
    settings = cast(Any, core).settings
    policies = [make_policy(name, core) for name in plan.baselines]
    for seed in SEEDS:
        for method in METHODS:
            policy = make_policy(f"sb3:{out / 'runs' / slug(env_id) / method / f'seed{seed}'}"
                                 "/model.zip", core)
            policy.name = f"{method}/s{seed}"
            policies.append(policy)
        mipd = make_policy(f"vae_mipd:{out / 'vae' / slug(env_id) / f'seed{seed}' / 'vae.pt'}",
                           core)
        mipd.name = f"vae_mipd/s{seed}"
        policies.append(mipd)
    cohort = sample_cohort(settings.population, settings.model.variability, n_patients,
                           EVAL_SEED)
    return evaluate(policies, env_id, cohort, EVAL_SEED, progress=True)


def seed_averaged(results: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Each method's per-patient outcome averaged over its training seeds (baselines as is)."""
    method = results["policy"].str.split("/").str[0]
    keep = ["reads_hidden_state", *columns]
    return (results.assign(policy=method).groupby(["policy", "id"], sort=False)[keep]
            .mean().reset_index().assign(reads_hidden_state=lambda t: t.reads_hidden_state > 0))


def learning_curves(out: Path) -> pd.DataFrame:
    """Every run's validation curve, with env, method and seed columns."""
    frames = []
    for env_id in PLANS:
        for method in METHODS:
            for seed in SEEDS:
                path = out / "runs" / slug(env_id) / method / f"seed{seed}" / "learning_curve.csv"
                if path.exists():
                    frames.append(pd.read_csv(path).assign(env=env_id, method=method, seed=seed))
    return pd.concat(frames, ignore_index=True)


def steps_to_reach(curves: pd.DataFrame, env_id: str, method: str, level: float) -> list[Any]:
    """Per seed, the first validated step count with mean return >= ``level`` (None: never)."""
    found = []
    for _, run in curves[(curves.env == env_id) & (curves.method == method)].groupby("seed"):
        hits = run[run.mean_return >= level]
        found.append(int(hits.timesteps.min()) if len(hits) else None)
    return found


def plot_curves(curves: pd.DataFrame, references: dict[str, dict[str, float]], path: Path) -> None:
    """Validation return vs env steps: mean over seeds, band = min..max; baseline lines."""
    fig, axes = plt.subplots(1, len(PLANS), figsize=(6 * len(PLANS), 4), squeeze=False)
    for ax, env_id in zip(axes[0], PLANS, strict=True):
        for method in METHODS:
            runs = curves[(curves.env == env_id) & (curves.method == method)]
            stats = runs.groupby("timesteps").mean_return.agg(["mean", "min", "max"])
            ax.plot(stats.index, stats["mean"], label=method)
            ax.fill_between(stats.index, stats["min"], stats["max"], alpha=0.2)
        for name, value in references[env_id].items():
            ax.axhline(value, ls="--", lw=1, color="grey")
            ax.annotate(name, (0.01, value), xycoords=("axes fraction", "data"), fontsize=8,
                        color="grey", va="bottom")
        ax.set(title=env_id, xlabel="environment steps", ylabel="validation return (mean)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)


def report_env(env_id: str, results: pd.DataFrame, curves: pd.DataFrame) -> tuple[str, Any]:
    """Markdown section and summary table of one env."""
    vec = gym.make_vec(env_id, num_envs=1, vectorization_mode="vector_entry_point")
    spec = outcome_spec(cast(DosingVectorEnv, vec.unwrapped).core)
    scores = {**spec.scores, "return": "return"}
    averaged = seed_averaged(results, list(scores))
    summary = summarise(averaged, PLANS[env_id].label, scores)
    per_seed = results.groupby("policy", sort=False)["return"].mean()
    lines = [f"## {env_id}\n", f"{N_EVAL_PATIENTS} held-out patients; trained methods are "
             "averaged per patient over seeds 0-2 (paired bootstrap 95% CI); Δ vs "
             f"{PLANS[env_id].label}.\n", "| policy | " + " | ".join(scores.values())
             + " | return per seed |", "|---|" + "---|" * (len(scores) + 1)]
    for policy, group in summary.groupby(level="policy", sort=False):
        cells = [f"{r['mean']:.3f} [{r['low']:.3f}, {r['high']:.3f}]; Δ {r['difference']:+.3f} "
                 f"[{r['diff_low']:+.3f}, {r['diff_high']:+.3f}]" for _, r in group.iterrows()]
        seeds = [f"{per_seed[f'{policy}/s{s}']:.2f}" for s in SEEDS if f"{policy}/s{s}"
                 in per_seed.index]
        lines.append(f"| {policy} | " + " | ".join(cells) + f" | {', '.join(seeds) or '-'} |")
    raw_final = curves[(curves.env == env_id) & (curves.method == "ppo_raw")].groupby(
        "seed").apply(lambda run: run.sort_values("timesteps").mean_return.iloc[-1])
    level = float(raw_final.mean())
    lines.append(f"\nRaw PPO's final validation return (mean of seeds): {level:.3f}. Env steps "
                 "each method needed to reach it, per seed:")
    for method in METHODS:
        lines.append(f"- {method}: {steps_to_reach(curves, env_id, method, level)}")
    return "\n".join(lines) + "\n", summary


def main(argv: list[str] | None = None) -> None:
    """Train (resumably), evaluate, write the tables and the learning-curve figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/experiments"))
    parser.add_argument("--quick", action="store_true", help="tiny budgets (a smoke test)")
    parser.add_argument("--envs", nargs="+", choices=list(PLANS), default=list(PLANS),
                        help="train and evaluate these envs only (run envs in parallel "
                             "processes; the report is written once every env is evaluated)")
    parser.add_argument("--train-only", action="store_true", help="stop after training")
    args = parser.parse_args(argv)
    clock = train_all(args.out, args.quick, args.envs)
    if args.train_only:
        return
    n_patients = 40 if args.quick else N_EVAL_PATIENTS
    for env_id in args.envs:
        cached = args.out / f"results_{slug(env_id)}.csv"
        if not cached.exists():
            write_table(evaluate_env(env_id, args.out, n_patients).assign(env=env_id), cached)
    missing = [e for e in PLANS if not (args.out / f"results_{slug(e)}.csv").exists()]
    if missing:
        print(f"evaluated {args.envs}; the report waits for {missing}")
        return
    results = pd.concat([pd.read_csv(args.out / f"results_{slug(e)}.csv") for e in PLANS],
                        ignore_index=True)
    curves = learning_curves(args.out)
    sections, summaries, references = [], [], {}
    for env_id in PLANS:
        section, summary = report_env(env_id, results[results.env == env_id], curves)
        sections.append(section)
        summaries.append(summary.reset_index().assign(env=env_id))
        means = results[results.env == env_id].groupby("policy")["return"].mean()
        references[env_id] = {name: float(means[name]) for name in means.index
                              if name == PLANS[env_id].label or name.startswith(("map", "oracle"))}
    plot_curves(curves, references, args.out / "learning_curves.png")
    write_table(results, args.out / "results.csv")
    write_table(pd.concat(summaries, ignore_index=True), args.out / "summary.csv")
    write_table(curves, args.out / "learning_curves.csv")
    timing = "".join(f"- {k}: {v:.0f} s\n" for k, v in clock.items())
    text = "# Learned dosing policies vs clinical baselines\n\n" + "\n".join(sections) + (
        f"\nTraining wall time this call (2 cores):\n{timing}" if timing else "")
    write_atomic(args.out / "results.md", lambda tmp: tmp.write_text(text))
    print(text)


if __name__ == "__main__":
    main()
