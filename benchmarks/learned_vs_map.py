"""Issue 25: learned dosing policies against Bayesian MAP dosing, on the same held-out patients.

``python -m benchmarks.learned_vs_map [--out out/learned_vs_map] [--envs ...] [--quick]``
``python -m benchmarks.learned_vs_map --envs pkgym/Warfarin-v0 --methods ... dagger_map_x16``
(opt-in methods, :data:`OPT_IN`, are named), ``... --report-only`` (one report of every cached
table). ``dagger_map_x16_tuned`` first needs the ``pkgym tune`` search of :func:`tune_command`.

For each env and seed 0-2, every method of :data:`METHODS` is trained with ``pkgym train``
(:func:`agents.rl.training.train`, the command printed beside each row) on the env's training
cohort and validated on its validation cohort; then every trained policy, the clinical
protocols, MAP dosing (true prior and, under "misspecification", a wrong prior) and the oracle
are evaluated on one held-out cohort (``EVALUATION`` seed space, shared noise: paired). The
table per env gives each method's mean of the main clinical score (seeds averaged per patient),
its paired 95% bootstrap CI of the difference to MAP with the true prior, the env steps it
consumed (teacher-labelled decisions + RL steps), the training wall time (median and range
over seeds) and the steps to reach 90% of its final validation return. Finished runs and
evaluations are skipped when the command is run again.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import gymnasium as gym
import pandas as pd

import pkgym  # noqa: F401
from agents.policies.registry import make_policy
from agents.rl.train_config import TrainConfig
from agents.rl.training import train
from agents.vae.training import train_vae
from benchmarks.agents_experiment import seed_averaged
from pkgym.envs.base import DosingVectorEnv
from pkgym.evaluation.cohorts import EVALUATION, env_cohort
from pkgym.evaluation.evaluate import evaluate
from pkgym.evaluation.outcomes import outcome_spec
from pkgym.evaluation.report import summarise
from pkgym.io import write_atomic, write_table


@dataclass(frozen=True)
class Method:
    """One learned method: ``pkgym train`` options (timesteps/labels set per env).

    ``tuned``: with the best configuration of ``pkgym tune`` in ``OUT/tune/ENV`` (its
    ``best_hyperparams.yml`` and the best trial's run options; see :func:`tuned_options`).
    """

    algo: str = "ppo"
    encoder: str = "raw"
    method: str = "rl"
    teacher: str | None = None
    label_factor: int = 1
    tuned: bool = False


METHODS = {
    "ppo": Method(),
    "ppo_belief": Method(encoder="belief"),
    "asymmetric_ppo": Method(method="asymmetric"),
    "dagger_map": Method(method="dagger", teacher="map"),
    "dagger_map+ppo": Method(method="dagger+rl", teacher="map"),
    "dagger_map_x4": Method(method="dagger", teacher="map", label_factor=4),
    "dagger_map_x16": Method(method="dagger", teacher="map", label_factor=16),
    "dagger_map_x16_tuned": Method(method="dagger", teacher="map", label_factor=16, tuned=True),
    "dagger_wrong_map+ppo": Method(method="dagger+rl", teacher="map:prior={wrong_prior}"),
}
"""Learned methods: RL on the raw observation, on the belief state, with a privileged critic;
DAgger from MAP; DAgger from MAP then KL-anchored PPO; DAgger from MAP with four and sixteen
times the labels (how imitation scales; run on warfarin only, where 1x fell short); DAgger from the
misspecified clinic's MAP (the env's ``wrong_prior``), then KL-anchored PPO on the true
simulator (opt-in, like the x4 run)."""


@dataclass(frozen=True)
class EnvPlan:
    """Budgets and comparators of one env.

    Attributes:
        rl_steps: env steps of RL from scratch (``ppo``, ``asymmetric_ppo``): enough for the
            learning curve to flatten (see ``steps to 90%``).
        belief_steps: env steps of PPO on the belief state (each step decodes every
            candidate dose, so a step costs more; its curve flattens sooner).
        fine_tune_steps: env steps of the KL-anchored PPO after DAgger.
        labels: teacher-labelled decisions of DAgger.
        baselines: clinical protocols, MAP and the oracle (``pkgym evaluate`` specs).
        wrong_prior: the model MAP doses with under misspecification (truth unchanged).
        vae_patients: training patients of the belief encoder's VAE (0: the env has no
            observed-history adapter, so no VAE and no belief encoder; those methods are skipped).
        score: the column compared with MAP (None: the outcome spec's first score; "return":
            the env's reward, where no single clinical score is the objective).
    """

    rl_steps: int
    belief_steps: int
    fine_tune_steps: int
    labels: int
    baselines: tuple[str, ...]
    wrong_prior: str | None
    vae_patients: int
    score: str | None = None

    def timesteps(self, method: Method) -> int:
        """RL env steps of ``method`` (0 for DAgger alone)."""
        if method.method == "dagger":
            return 0
        if method.method == "dagger+rl":
            return self.fine_tune_steps
        return self.belief_steps if method.encoder == "belief" else self.rl_steps


PLANS = {
    "pkgym/Vancomycin-v0": EnvPlan(1_000_000, 200_000, 200_000, 20_000,
                                   ("label", "trough", "map", "oracle"), "thomson2009", 4000),
    "pkgym/Warfarin-v0": EnvPlan(500_000, 100_000, 100_000, 10_000,
                                 ("aurora", "map", "oracle"), "hamberg2007", 3000),
    "pkgym/Warfarin-v1": EnvPlan(500_000, 100_000, 100_000, 10_000,
                                 ("aurora", "map", "oracle"), "hamberg2007", 3000),
    # the reward trades tumour shrinkage against grade-4 neutropenia (the final tumour size
    # alone ranks full-label dosing first), so policies are compared on it; six decisions
    # per episode; MAP labels cost ~0.07 s each (an NLME fit per decision)
    "pkgym/Chemotherapy-v0": EnvPlan(200_000, 50_000, 50_000, 3_000,
                                     ("label", "map", "oracle"), "friberg2002_emax", 0,
                                     score="return"),
}
OPT_IN = ("dagger_map_x4", "dagger_map_x16", "dagger_map_x16_tuned", "dagger_wrong_map+ppo")
"""Methods run only when named in ``--methods``."""
SEEDS = (0, 1, 2)
N_EVAL_PATIENTS, EVAL_SEED = 500, 0
MAP_NAME = "map_bayesian"


def applicable(env_id: str, names: list[str]) -> list[str]:
    """The methods of ``names`` that ``env_id`` can run (belief encoders need a patient VAE)."""
    return [name for name in names
            if METHODS[name].encoder == "raw" or PLANS[env_id].vae_patients > 0]


def slug(env_id: str) -> str:
    """``pkgym/Vancomycin-v0`` -> ``vancomycin_v0``."""
    return env_id.split("/")[1].replace("-", "_").lower()


TUNE_SPACES = {"pkgym/Warfarin-v0": Path("benchmarks/spaces/warfarin_dagger.yml")}
"""The search spaces of the tuned methods (the tune command: :func:`tune_command`)."""


def tune_command(env_id: str, out: Path) -> str:
    """The ``pkgym tune`` search a tuned method of ``env_id`` takes its configuration from.

    40 000 labels per trial (a quarter of the x16 budget), 8 configurations, seed 0: trained on
    the training cohort, scored on the validation cohort; the test cohort is not touched.
    """
    return (f"pkgym tune --env {env_id} --algo ppo --method dagger --teacher map "
            f"--imitation-labels 40000 --space {TUNE_SPACES[env_id]} --num-samples 8 "
            f"--timesteps 0 --seed 0 --out {out / 'tune' / slug(env_id)}")


def tuned_options(env_id: str, out: Path) -> dict[str, Any]:
    """TrainConfig fields of the best trial of ``OUT/tune/ENV`` (run :func:`tune_command`)."""
    from agents.rl.tuning import RUN_KEYS

    folder = out / "tune" / slug(env_id)
    if not (folder / "best_hyperparams.yml").exists():
        raise ValueError(f"no tuned configuration in {folder}: run `{tune_command(env_id, out)}`")
    trials = pd.read_csv(folder / "tune_results.csv")
    best = trials.loc[trials.score.idxmax()]
    return {"hyperparams_file": folder / "best_hyperparams.yml",
            **{key: best[key].item() for key in RUN_KEYS if key in trials.columns}}


def run_config(env_id: str, name: str, seed: int, out: Path, quick: bool) -> TrainConfig:
    """The ``pkgym train`` run of one (env, method, seed)."""
    plan, method = PLANS[env_id], METHODS[name]
    steps = min(plan.timesteps(method), 2048) if quick else plan.timesteps(method)
    return TrainConfig(
        env_id=env_id, algo=method.algo, encoder=method.encoder, method=method.method,
        teacher=None if method.teacher is None else method.teacher.format(
            wrong_prior=plan.wrong_prior), seed=seed,
        imitation_labels=(500 if quick else plan.labels) * method.label_factor,
        timesteps=steps, vae_path=vae_dir(out, env_id, seed) if method.encoder != "raw" else None,
        out_dir=out / "runs" / slug(env_id) / name / f"seed{seed}",
        eval_freq=1024 if quick else max(20_000, steps // 20), checkpoint_freq=0,
        n_validation_patients=40 if quick else 200, progress_log=True,
        **(tuned_options(env_id, out) if method.tuned else {}))


def command(config: TrainConfig) -> str:
    """The CLI line that reproduces one run."""
    parts = [f"pkgym train --env {config.env_id} --algo {config.algo} --seed {config.seed}",
             f"--timesteps {config.timesteps}", f"--out {config.out_dir}"]
    if config.encoder != "raw":
        parts.append(f"--encoder {config.encoder} --vae {config.vae_path}")
    if config.method != "rl":
        parts.append(f"--method {config.method}")
    if config.teacher:
        parts.append(f"--teacher {config.teacher} --imitation-labels {config.imitation_labels}")
    if config.hyperparams_file is not None:
        parts.append(f"--hyperparams {config.hyperparams_file} --imitation-epochs "
                     f"{config.imitation_epochs} --imitation-learning-rate "
                     f"{config.imitation_learning_rate:.6g}")
    return " ".join(parts) + f" --eval-freq {config.eval_freq} --checkpoint-freq 0"


def vae_dir(out: Path, env_id: str, seed: int) -> Path:
    """The patient VAE of one (env, seed) for the belief encoder."""
    return out / "vae" / slug(env_id) / f"seed{seed}"


def train_all(out: Path, quick: bool, env_ids: list[str], names: list[str]) -> None:
    """Every VAE and every run not yet finished (``runs_ENV.csv``: wall time, steps, command).

    One log per env, so that envs can train in parallel processes.
    """
    for env_id in env_ids:
        log = out / f"runs_{slug(env_id)}.csv"
        rows = pd.read_csv(log).to_dict("records") if log.exists() else []
        for seed in SEEDS:
            for name in applicable(env_id, names):
                vae = vae_dir(out, env_id, seed)
                if METHODS[name].encoder != "raw" and not (vae / "vae.json").exists():
                    train_vae(env_id, PLANS[env_id].vae_patients // (10 if quick else 1), seed,
                              vae, **({"epochs": 2} if quick else {}))
                config = run_config(env_id, name, seed, out, quick)
                if (config.out_dir / "model.json").exists():
                    continue
                result = train(config, make_teacher=make_policy)
                rows.append({"env": env_id, "method": name, "seed": seed,
                             "wall_time_s": result.wall_time_s,
                             "env_steps": int(result.metadata["timesteps"]) + (
                                 config.imitation_labels if config.teacher else 0),
                             "command": command(config)})
                write_table(pd.DataFrame(rows), log)
                print(f"{env_id} {name} seed {seed}: {result.wall_time_s:.0f} s", flush=True)


def evaluate_env(env_id: str, out: Path, names: list[str], n_patients: int,
                 baselines: bool = True) -> pd.DataFrame:
    """Every policy of one env on one held-out cohort (paired): a row per (policy, patient).

    ``baselines=False`` evaluates only the learned ``names`` (to add methods to a cached table:
    the cohort and the noise seeds are the same, so the rows pair with the cached ones).
    """
    plan = PLANS[env_id]
    core = cast(DosingVectorEnv, gym.make_vec(env_id, num_envs=1,
                                              vectorization_mode="vector_entry_point")).core
    specs = [*plan.baselines, *([f"map:prior={plan.wrong_prior}"] if plan.wrong_prior else [])]
    specs = specs if baselines else []
    policies = [make_policy(spec, core) for spec in specs]
    for seed in SEEDS:
        for name in applicable(env_id, names):
            policy = make_policy(f"sb3:{out / 'runs' / slug(env_id) / name / f'seed{seed}'}"
                                 "/model.zip", core)
            policy.name = f"{name}/s{seed}"
            policies.append(policy)
    cohort = env_cohort(cast(Any, core).settings, n_patients, EVAL_SEED, EVALUATION)
    return evaluate(policies, env_id, cohort, EVAL_SEED, progress=True)


def steps_to_90(out: Path, env_id: str, name: str) -> str:
    """Per seed, the first validated step count reaching 90% of the run's final return gain.

    90% of the way from the first validation to the last (returns can be negative, so a
    ratio of returns would mean nothing); ``-`` for runs without an RL learning curve.
    """
    found = []
    for seed in SEEDS:
        path = out / "runs" / slug(env_id) / name / f"seed{seed}" / "learning_curve.csv"
        if not path.exists():
            return "-"
        curve = pd.read_csv(path).sort_values("timesteps")
        if len(curve) < 2:  # DAgger alone: one validation, after imitation
            return "-"
        first, last = curve.mean_return.iloc[0], curve.mean_return.iloc[-1]
        hit = curve[curve.mean_return >= first + 0.9 * (last - first)]
        found.append(int(hit.timesteps.min()))
    return ", ".join(f"{s // 1000}k" for s in found)


def report_env(env_id: str, results: pd.DataFrame, runs: pd.DataFrame, out: Path) -> str:
    """The markdown table of one env."""
    core = cast(DosingVectorEnv, gym.make_vec(env_id, num_envs=1,
                                              vectorization_mode="vector_entry_point")).core
    spec = outcome_spec(core)
    names = {**spec.scores, "return": "return"}
    score = PLANS[env_id].score or next(iter(spec.scores))
    averaged = seed_averaged(results, list(dict.fromkeys([score, "return"])))
    summary = summarise(averaged, MAP_NAME, {score: names[score], "return": "return"})
    wrong = f"{MAP_NAME}[prior={PLANS[env_id].wrong_prior}]"
    versus_wrong = summarise(averaged, wrong, {score: names[score]})
    lines = [f"| {env_id} | {names[score]} | Δ vs MAP [95% CI] | Δ vs MAP, wrong prior "
             "| return | env steps | train wall s, median (range) | steps to 90% |",
             "|---|---|---|---|---|---|---|---|"]
    for policy in summary.index.get_level_values("policy").unique():
        row, ret = summary.loc[(policy, score)], summary.loc[(policy, "return")]
        other = versus_wrong.loc[(policy, score)]
        misspecified = "" if policy in (MAP_NAME, wrong) else (
            f"{other['difference']:+.3f} [{other['diff_low']:+.3f}, {other['diff_high']:+.3f}]")
        mine = runs[(runs.env == env_id) & (runs.method == policy)]
        steps = f"{int(mine.env_steps.mean()):,}" if len(mine) else "-"
        wall = (f"{mine.wall_time_s.median():.0f} ({mine.wall_time_s.min():.0f}-"
                f"{mine.wall_time_s.max():.0f})" if len(mine) else "-")
        delta = "" if policy == MAP_NAME else (
            f"{row['difference']:+.3f} [{row['diff_low']:+.3f}, {row['diff_high']:+.3f}]")
        lines.append(f"| {policy} | {row['mean']:.3f} | {delta} | {misspecified} "
                     f"| {ret['mean']:.1f} | {steps} "
                     f"| {wall} | {steps_to_90(out, env_id, policy) if len(mine) else '-'} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Train (resumably), evaluate; write results.md, results_ENV.csv and runs_ENV.csv."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/learned_vs_map"))
    parser.add_argument("--envs", nargs="+", choices=list(PLANS), default=list(PLANS))
    parser.add_argument("--methods", nargs="+", choices=list(METHODS),
                        default=[name for name in METHODS if name not in OPT_IN])
    parser.add_argument("--quick", action="store_true", help="tiny budgets (a smoke test)")
    parser.add_argument("--train-only", action="store_true", help="stop after training")
    parser.add_argument("--report-only", action="store_true",
                        help="train and evaluate nothing: one report of every cached table")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.report_only:
        args.envs = [e for e in args.envs if (args.out / f"results_{slug(e)}.csv").exists()]
    else:
        train_all(args.out, args.quick, args.envs, args.methods)
    if args.train_only:
        return
    runs = pd.concat([pd.read_csv(args.out / f"runs_{slug(env_id)}.csv")
                      for env_id in args.envs], ignore_index=True)
    sections = []
    for env_id in args.envs:
        cached = args.out / f"results_{slug(env_id)}.csv"
        n = 40 if args.quick else N_EVAL_PATIENTS
        if not cached.exists():
            write_table(evaluate_env(env_id, args.out, args.methods, n), cached)
        done = set(pd.read_csv(cached, usecols=["policy"]).policy)
        missing = [] if args.report_only else [
            name for name in applicable(env_id, args.methods) if f"{name}/s{SEEDS[0]}" not in done]
        if missing:  # methods added since the table was written: evaluate only those
            added = evaluate_env(env_id, args.out, missing, n, baselines=False)
            write_table(pd.concat([pd.read_csv(cached), added], ignore_index=True), cached)
        sections.append(report_env(env_id, pd.read_csv(cached), runs, args.out))
    text = ("# Learned dosing policies vs Bayesian MAP dosing\n\n" + "\n".join(sections) +
            f"\nThis call: {time.perf_counter() - started:.0f} s. Reproduce a run: "
            "runs_ENV.csv, column command.\n")
    write_atomic(args.out / "results.md", lambda tmp: tmp.write_text(text))
    print(text)


if __name__ == "__main__":
    main()
