"""Issue 19's arena: dosing policies against several truths, with and without parameter uncertainty.

``python -m benchmarks.arena [--out out/arena] [--n-patients 200] [--replicates 20] [--quick]``

For vancomycin (``pkgym/Vancomycin-v0``) and warfarin (``pkgym/Warfarin-v1``):

* **rows**: the clinical baseline (label dosing; the Aurora nomogram and the IWPC clinical
  start), MAP Bayesian dosing with each shipped model as its prior (the one equal to the
  column's truth is the true prior, the others are wrong priors), VAE-MIPD, PPO on the raw
  observation, PPO on the VAE latent, and the oracle (reads the true patient: an upper bound);
* **columns**: the truths (each shipped model), each at its published estimates and with its
  fixed effects drawn from their published uncertainty (``R`` replicates, patients nested);
* **cells**: the primary outcome, mean and paired difference to the clinical baseline with
  its 95% bootstrap interval (two-stage with uncertainty on).

The learned agents (one seed) and the VAE are trained once, on the default truth, and meet
the other truths as a shift (``sb3:...[shifted: ...]``), exactly as a model trained on one
population meets another. Every column uses the same patients (covariates and random effects)
and the same noise, so columns differ only by the truth. Evaluations are sharded into
``--out`` and reused when the command is run again; training is skipped when its model
exists. Writes ``arena.md`` (tables, subgroup table of the best and worst policy, the
intervals' widening, wall time) and ``arena.csv``.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

import pkgym  # noqa: F401
from agents.policies.registry import make_policy
from agents.rl.train_config import TrainConfig
from agents.rl.training import train
from agents.vae.training import train_vae
from pkgym.evaluation.outcomes import outcome_spec
from pkgym.evaluation.report import summarise
from pkgym.evaluation.subgroups import subgroup_table
from pkgym.evaluation.uncertainty import scenario_object
from pkgym.io import write_atomic, write_table
from pkgym.models.uncertainty import uncertain_elements
from pkgym.scale.evaluation import env_core, evaluate_sharded


@dataclass(frozen=True)
class ArenaEnv:
    """One env's arena: truths, clinical baselines, training budget, subgroups."""

    env_id: str
    truths: tuple[str, ...]
    clinical: tuple[str, ...]
    ppo_steps: int
    vae_patients: int
    subgroups: tuple[str, ...]


ENVS = {
    "vancomycin": ArenaEnv("pkgym/Vancomycin-v0", ("goti2018", "thomson2009", "colin2019"),
                           ("label",), 300_000, 4000, ("sex", "age_band", "renal_function")),
    "warfarin": ArenaEnv("pkgym/Warfarin-v1", ("hamberg2010_iwpc", "hamberg2010", "hamberg2007"),
                         ("aurora", "iwpc_clinical+aurora"), 300_000, 3000,
                         ("race", "genotype", "age_band")),
}
SEED = 0


def train_agents(name: str, plan: ArenaEnv, out: Path, quick: bool) -> dict[str, str]:
    """The VAE and the two PPO agents of one env (trained on its default truth), by row."""
    vae_dir = out / "agents" / name / "vae"
    if not (vae_dir / "vae.json").exists():
        train_vae(plan.env_id, plan.vae_patients // (20 if quick else 1), SEED, vae_dir,
                  **({"epochs": 2} if quick else {}))
    specs = {"VAE-MIPD": f"vae_mipd:{vae_dir / 'vae.pt'}"}
    for row, encoder in (("PPO, raw observation", "raw"), ("PPO, VAE latent", "vae")):
        run = out / "agents" / name / f"ppo_{encoder}"
        if not (run / "model.json").exists():
            train(TrainConfig(
                env_id=plan.env_id, algo="ppo", encoder=encoder, seed=SEED,
                timesteps=2048 if quick else plan.ppo_steps, out_dir=run,
                vae_path=vae_dir / "vae.pt" if encoder == "vae" else None,
                eval_freq=0, checkpoint_freq=0, n_validation_patients=20 if quick else 200))
        specs[row] = f"sb3:{run / 'model.zip'}"
    return specs


def policy_rows(plan: ArenaEnv, agents: dict[str, str]) -> dict[str, str]:
    """Row label -> policy spec, in table order."""
    rows = {f"clinical: {c}": c for c in plan.clinical}
    rows.update({f"MAP, prior {t}": f"map:prior={t}" for t in plan.truths})
    return {**rows, **agents, "oracle (upper bound)": "oracle"}


def truth_scenario(plan: ArenaEnv, truth: str, out: Path) -> Path | None:
    """The scenario YAML whose patients follow ``truth`` (``None``: the env's default)."""
    if truth == plan.truths[0]:
        return None
    path = out / "scenarios" / f"{plan.env_id.split('/')[1]}_{truth}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"env: {plan.env_id}\nmodel: {truth}\n")
    return path


def has_uncertainty(plan: ArenaEnv, truth: str) -> bool:
    """Whether the truth's model publishes RSEs (else it has no uncertainty column)."""
    try:
        uncertain_elements(getattr(scenario_object(plan.env_id, None), truth))
    except ValueError:
        return False
    return True


def run_cell(name: str, plan: ArenaEnv, rows: dict[str, str], truth: str, replicates: int,
             out: Path, n_patients: int) -> pd.DataFrame:
    """One column: every row on the same cohort under ``truth``; policy renamed to its row."""
    folder = out / "cells" / name / f"{truth}_r{replicates}"
    results = evaluate_sharded(list(rows.values()), plan.env_id, SEED, folder,
                               make_policy=make_policy, n_patients=n_patients,
                               scenario=truth_scenario(plan, truth, out), shard_size=n_patients,
                               parameter_replicates=replicates, progress=True)
    built = list(pd.unique(results["policy"]))
    return results.assign(policy=results["policy"].map(dict(zip(built, rows, strict=True))))


def cell_text(row: pd.Series, reference: bool) -> str:
    """``mean (Δ diff [low, high])``, or the mean alone for the reference."""
    if reference:
        return f"{row['mean']:.3f}"
    return (f"{row['mean']:.3f} (Δ {row['difference']:+.3f} [{row['diff_low']:+.3f}, "
            f"{row['diff_high']:+.3f}])")


def env_section(name: str, plan: ArenaEnv, cells: dict[tuple[str, int], pd.DataFrame],
                score: str, label: str) -> tuple[str, pd.DataFrame]:
    """The env's arena table, its interval-widening line and the summaries (long form)."""
    reference = f"clinical: {plan.clinical[0]}"
    summaries = []
    for (truth, replicates), results in cells.items():
        summary = summarise(results, reference, {score: label}, seed=SEED).reset_index()
        summaries.append(summary.assign(truth=truth, replicates=replicates))
    long = pd.concat(summaries, ignore_index=True)
    columns = list(cells)
    head = " | ".join(f"{t}{' + uncertainty' if r else ''}" for t, r in columns)
    lines = [f"| {plan.env_id}: {label} | {head} |", "|---|" + "---|" * len(columns)]
    for row in pd.unique(long["policy"]):
        texts = []
        for truth, replicates in columns:
            hit = long[(long.policy == row) & (long.truth == truth)
                       & (long.replicates == replicates)].iloc[0]
            text = cell_text(hit, row == reference)
            texts.append(f"**{text}**" if row == f"MAP, prior {truth}" else text)
        lines.append(f"| {row} | " + " | ".join(texts) + " |")
    width = long.assign(width=long.diff_high - long.diff_low)
    width = width[width.policy != reference]
    ratio = (width[width.replicates > 0].set_index(["truth", "policy"])["width"]
             / width[width.replicates == 0].set_index(["truth", "policy"])["width"]).dropna()
    missing = [t for t in plan.truths if (t, 0) in cells and not any(
        r and truth == t for truth, r in cells)]
    widen = "\nBold: MAP with the true prior."
    if len(ratio):
        widen += (f" With parameter uncertainty on, the paired intervals are "
                  f"{ratio.median():.2f} times as wide (median over rows and truths; range "
                  f"{ratio.min():.2f}-{ratio.max():.2f}).")
    if missing:
        widen += (f" No uncertainty column for {', '.join(missing)}: no published RSEs were "
                  "found.")
    widen += "\n"
    return "\n".join(lines) + "\n" + widen, long


def subgroup_section(plan: ArenaEnv, results: pd.DataFrame, long: pd.DataFrame,
                     score: str) -> str:
    """The subgroup table of the best and the worst policy but the reference and the oracle."""
    reference = f"clinical: {plan.clinical[0]}"
    base = long[(long.truth == plan.truths[0]) & (long.replicates == 0)
                & ~long.policy.str.startswith("oracle") & (long.policy != reference)
                ].set_index("policy")["mean"]
    best, worst = base.idxmax(), base.idxmin()
    keep = results[results.policy.isin({best, worst, reference})]
    covariates = [c for c in results.columns if c in keep.columns]
    table = subgroup_table(keep, list(plan.subgroups), covariates, reference, [score], seed=SEED)
    table = table[table.policy != reference]
    lines = [f"Subgroups under {plan.truths[0]}: best ({best}) and worst ({worst}) policy, "
             f"paired difference to {reference}:\n", "| subgroup | level | n | policy | mean "
             "[95% CI] | Δ [95% CI] |", "|---|---|---|---|---|---|"]
    lines += [f"| {r.subgroup} | {r.level} | {r.n}{' (small)' if r.small else ''} | {r.policy} | "
              f"{r.mean:.3f} [{r.low:.3f}, {r.high:.3f}] | {r.difference:+.3f} "
              f"[{r.diff_low:+.3f}, {r.diff_high:+.3f}] |" for r in table.itertuples()]
    return "\n".join(lines) + "\n"


def run_env(name: str, out: Path, n_patients: int, replicates: int,
            quick: bool) -> tuple[str, pd.DataFrame]:
    """Train, evaluate every column, and write up one env."""
    plan, start = ENVS[name], time.perf_counter()
    rows = policy_rows(plan, train_agents(name, plan, out, quick))
    trained = time.perf_counter()
    spec = outcome_spec(env_core(plan.env_id))
    score = next(iter(spec.scores))
    columns = [(truth, r) for truth in plan.truths
               for r in (0, replicates) if r == 0 or has_uncertainty(plan, truth)]
    cells = {(truth, r): run_cell(name, plan, rows, truth, r, out, n_patients)
             for truth, r in columns}
    table, long = env_section(name, plan, cells, score, spec.scores[score])
    groups = subgroup_section(plan, cells[(plan.truths[0], 0)], long, score)
    clock = (f"\nWall time: training {(trained - start) / 60:.1f} min (0 when reused), "
             f"evaluation {(time.perf_counter() - trained) / 60:.1f} min.\n")
    return f"## {plan.env_id}\n\n{table}\n{groups}{clock}", long.assign(env=plan.env_id)


def main(argv: list[str] | None = None) -> None:
    """Run the arena of every env (resumable) and write arena.md and arena.csv."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/arena"))
    parser.add_argument("--n-patients", type=int, default=200)
    parser.add_argument("--replicates", type=int, default=20,
                        help="parameter-uncertainty replicates (patients nested in them)")
    parser.add_argument("--envs", nargs="+", choices=list(ENVS), default=list(ENVS))
    parser.add_argument("--quick", action="store_true", help="tiny budgets (a smoke test)")
    args = parser.parse_args(argv)
    start, load = time.perf_counter(), os.getloadavg()[0]
    n_patients, replicates = (12, 3) if args.quick else (args.n_patients, args.replicates)
    sections, tables = [], []
    for name in args.envs:
        section, long = run_env(name, args.out, n_patients, replicates, args.quick)
        sections.append(section)
        tables.append(long)
    wall = time.perf_counter() - start
    text = (f"# Arena: truth vs belief\n\n{n_patients} patients per column (seed {SEED}, the "
            f"same patients and noise in every column); uncertainty: {replicates} replicates of "
            f"{n_patients // replicates} patients. Cells: mean (Δ to the first clinical "
            "baseline [paired 95% bootstrap CI]).\n\n" + "\n".join(sections)
            + f"\nWall time in all: {wall / 60:.1f} min (load average {load:.2f} at the start).\n")
    args.out.mkdir(parents=True, exist_ok=True)
    write_table(pd.concat(tables, ignore_index=True), args.out / "arena.csv")
    write_atomic(args.out / "arena.md", lambda tmp: tmp.write_text(text))
    print(text)


if __name__ == "__main__":
    main()
