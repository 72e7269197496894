"""The ``pkgym`` command line: parse, call the library, print. Nothing else lives here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from pkgym.io import write_atomic, write_table
from pkgym.models.catalogue import MODEL_NAMES, cohort_model
from pkgym.simulate import (
    Regimen,
    fixed_covariates,
    output_times,
    parse_assignments,
    simulate_profiles,
)
from pkgym.simulate_warfarin import (
    DailyRegimen,
    parse_warfarin_covariates,
    plot_inr,
    simulate_warfarin,
    warfarin_cohort,
    warfarin_setting,
)


def _add_simulate(commands: argparse._SubParsersAction) -> None:
    sim = commands.add_parser(
        "simulate", help="concentration-time profiles (warfarin: INR courses) of a typical "
                         "patient or a virtual cohort",
        description="Simulate a regimen; write a CSV/Parquet table or a PNG with percentile bands "
                    "(warfarin: one row per patient per morning, INR and S-warfarin).")
    sim.add_argument("model", choices=(*MODEL_NAMES, "warfarin"), help="model name")
    sim.add_argument("--param", action="append", metavar="NAME=VALUE",
                     help="model parameter, e.g. CL=4.5 (L/h), V1=30 (L); repeatable")
    sim.add_argument("--dose", type=float, help="dose, mg (default 1000; warfarin 5, racemic)")
    sim.add_argument("--every", type=float,
                     help="dosing interval, h (default 12; warfarin: 24, the only value)")
    sim.add_argument("--n-doses", type=int,
                     help="number of doses (default 14; warfarin: days, default 30)")
    sim.add_argument("--infusion-hours", type=float,
                     help="infusion duration, h (0 = bolus; default 0)")
    sim.add_argument("--route", choices=("iv", "oral"),
                     help="route (default iv; warfarin: oral, the only value)")
    sim.add_argument("--covariate", action="append", metavar="NAME=VALUE",
                     help="fix a covariate for every patient, e.g. weight_kg=80 or, for "
                          "warfarin, cyp2c9=*1/*3, vkorc1=G/A, age_years=72; repeatable")
    who = sim.add_mutually_exclusive_group()
    who.add_argument("--typical", action="store_true",
                     help="the typical patient (default; warfarin: 60 y, CYP2C9 *1/*1, "
                          "VKORC1 G/G)")
    who.add_argument("--n", type=int, help="number of virtual patients to sample")
    sim.add_argument("--seed", type=int, default=0, help="cohort seed (default 0)")
    sim.add_argument("--until", type=float,
                     help="last output time, h (default 168; not for warfarin)")
    sim.add_argument("--step", type=float, help="output step, h (default 1; not for warfarin)")
    sim.add_argument("--scenario", type=Path,
                     help="scenario YAML (vancomycin, warfarin): population and model parameters")
    sim.add_argument("--out", type=Path, required=True, help="output .csv, .parquet or .png")
    sim.set_defaults(func=_simulate)


PK_DEFAULTS = {"dose": 1000.0, "every": 12.0, "n_doses": 14, "infusion_hours": 0.0,
               "route": "iv", "until": 168.0, "step": 1.0}
"""Defaults of the concentration models' regimen options (warfarin has its own)."""


def _simulate(args: argparse.Namespace) -> int:
    if args.model == "warfarin":
        return _simulate_warfarin(args)
    for name, value in PK_DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    model = _model(args)
    cohort = model.typical_cohort() if args.n is None else model.sample_cohort(args.n, args.seed)
    cohort = fixed_covariates(cohort, parse_assignments(args.covariate, "--covariate"))
    regimen = Regimen(dose_mg=args.dose, every_h=args.every, n_doses=args.n_doses,
                      infusion_h=args.infusion_hours, route=args.route)
    times = output_times(args.until, args.step)
    table = simulate_profiles(cohort, model.to_params, regimen, times)
    if args.out.suffix.lower() == ".png":
        _write_plot(table, args, len(cohort))
    else:
        write_table(table, args.out)
    print(f"wrote {args.out} ({len(cohort)} patient(s), {len(times)} times)")
    return 0


def _model(args: argparse.Namespace):  # noqa: ANN202
    """The named model, or the drug model of a scenario file."""
    if args.scenario is None:
        return cohort_model(args.model, parse_assignments(args.param, "--param"))
    if args.model != "vancomycin":
        raise ValueError(f"--scenario applies to drug models (vancomycin, warfarin), not "
                         f"{args.model}")
    from pkgym.envs.vancomycin import ENV_ID
    from pkgym.envs.vancomycin_ward import POPULATIONS, resolve_scenario
    from pkgym.models.catalogue import vancomycin_model

    scenario = resolve_scenario(args.scenario, ENV_ID)
    return vancomycin_model(scenario.model, POPULATIONS[scenario.population])


def _write_plot(table, args: argparse.Namespace, n: int) -> None:  # noqa: ANN001
    from pkgym.evaluation.plots import plot_profiles

    values = table["conc_mg_per_l"].to_numpy().reshape(n, -1)
    who = "typical patient" if n == 1 else f"{n} virtual patients, seed {args.seed}"
    fig = plot_profiles(table["time_h"].to_numpy()[: values.shape[1]], values,
                        ylabel="concentration (mg/L)",
                        title=f"{args.model}: {args.dose:g} mg every {args.every:g} h ({who})")
    write_atomic(args.out, lambda tmp: fig.savefig(tmp, format="png"))


def _simulate_warfarin(args: argparse.Namespace) -> int:
    """Daily doses of warfarin; one row per patient per morning (``pkgym.simulate_warfarin``)."""
    _check_warfarin_options(args)
    setting = warfarin_setting(args.scenario)
    regimen = DailyRegimen(dose_mg=5.0 if args.dose is None else args.dose,
                           n_days=30 if args.n_doses is None else args.n_doses)
    cohort = warfarin_cohort(setting.model, n=args.n, seed=args.seed,
                             population=setting.population,
                             covariates=parse_warfarin_covariates(args.covariate))
    table = simulate_warfarin(cohort, setting.model, regimen)
    if args.out.suffix.lower() == ".png":
        who = "typical patient" if args.n is None else f"{args.n} patients, seed {args.seed}"
        fig = plot_inr(table, target_inr=setting.target_inr,
                       title=f"warfarin: {regimen.dose_mg:g} mg daily ({who})")
        write_atomic(args.out, lambda tmp: fig.savefig(tmp, format="png"))
    else:
        write_table(table, args.out)
    print(f"wrote {args.out} ({len(cohort)} patient(s), {regimen.n_days + 1} mornings)")
    return 0


def _check_warfarin_options(args: argparse.Namespace) -> None:
    """Reject the options that do not apply to once-daily oral warfarin."""
    if args.param:
        raise ValueError("--param does not apply to warfarin; change the Hamberg parameters "
                         "in a scenario file (--scenario)")
    if args.every not in (None, 24.0):
        raise ValueError(f"--every must be 24 for warfarin (one dose each morning), got "
                         f"{args.every:g}")
    if args.route not in (None, "oral") or args.infusion_hours:
        raise ValueError("--route/--infusion-hours: warfarin is oral only (route 'oral', "
                         "no infusion)")
    if args.until is not None or args.step is not None:
        raise ValueError("--until/--step do not apply to warfarin (one row per morning); "
                         "set the number of days with --n-doses")


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    ev = commands.add_parser(
        "evaluate", help="paired evaluation of dosing policies on a held-out cohort",
        description="Run policies on the same held-out patients with the same noise; write "
                    "results.csv, summary.csv, summary.md and report.html.")
    ev.add_argument("--env", required=True, help="environment id, e.g. pkgym/Vancomycin-v0")
    ev.add_argument("--policy", action="append", required=True, metavar="NAME",
                    help="label, trough, map, oracle, sb3:PATH.zip or module:callable")
    ev.add_argument("--n-patients", type=int, help="cohort size (default 500)")
    ev.add_argument("--cohort", type=Path,
                    help="a cohort file (.csv or .parquet, one row per patient, 'id' column) "
                         "instead of a sampled cohort")
    ev.add_argument("--seed", type=int, default=0,
                    help="seed of the evaluation cohort (evaluation seed space) and its noise")
    ev.add_argument("--scenario", type=Path, help="scenario YAML")
    ev.add_argument("--reference", help="policy the differences refer to (default: the first)")
    ev.add_argument("--out", type=Path, required=True, help="output directory")
    _add_scale_options(ev, "patients")
    ev.set_defaults(func=_evaluate)


def _add_scale_options(parser: argparse.ArgumentParser, unit: str) -> None:
    """``--backend``, ``--ray-address`` and ``--shard-size`` of ``evaluate`` and ``trial``."""
    parser.add_argument("--backend", choices=("local", "ray"), default="local",
                        help="local: shards one after another here; ray: one Ray task per "
                             "shard, identical results (default local)")
    parser.add_argument("--ray-address", metavar="ADDRESS",
                        help="existing Ray cluster: 'auto' (from a node of it) or "
                             "'ray://HEAD:10001' (default: start a local Ray)")
    parser.add_argument("--shard-size", type=int, default=1000,
                        help=f"{unit} per shard (default 1000); results do not depend on it")


def _check_scale_options(args: argparse.Namespace) -> None:
    """Refuse a shard size below 1, or ``--ray-address`` without ``--backend ray``."""
    if args.shard_size < 1:
        raise ValueError(f"--shard-size must be >= 1, got {args.shard_size}")
    if args.ray_address is not None and args.backend != "ray":
        raise ValueError("--ray-address applies only with --backend ray")


def _scale_options(args: argparse.Namespace) -> dict[str, Any]:
    """The sharding keyword arguments of ``pkgym.scale`` from the flags."""
    return {"shard_size": args.shard_size, "backend": args.backend,
            "ray_address": args.ray_address, "progress": True}


def _read_cohort(path: Path) -> Any:
    """A user's cohort file (``--cohort``), CSV or Parquet, with an ``id`` column."""
    import pandas as pd

    if path.suffix.lower() not in (".csv", ".parquet") or not path.is_file():
        raise ValueError(f"--cohort must be an existing .csv or .parquet file, got {path}")
    cohort = pd.read_csv(path) if path.suffix.lower() == ".csv" else pd.read_parquet(path)
    if "id" not in cohort.columns or len(cohort) == 0 or not cohort["id"].is_unique:
        raise ValueError(f"--cohort {path} must have rows and a unique 'id' column")
    return cohort


def _evaluate(args: argparse.Namespace) -> int:
    from agents.registry import make_policy
    from pkgym.evaluation.outcomes import outcome_spec
    from pkgym.evaluation.report import summarise, summary_markdown, write_report
    from pkgym.scale.evaluation import check_sampled_cohort, env_core, evaluate_sharded

    _check_scale_options(args)
    cohort, n_patients = _evaluation_cohort(args)
    core = env_core(args.env, args.scenario)
    policies = [make_policy(spec, core, env_id=args.env, scenario=args.scenario)
                for spec in args.policy]
    names = [policy.name for policy in policies]
    if len(set(names)) != len(names):
        raise ValueError(f"--policy: the policies must have distinct names, got {names}")
    if cohort is None:
        check_sampled_cohort(policies, n_patients, args.seed)
    results = evaluate_sharded(args.policy, args.env, args.seed, args.out,
                               make_policy=make_policy, scenario=args.scenario, cohort=cohort,
                               n_patients=None if cohort is not None else n_patients,
                               **_scale_options(args))
    reference = args.reference or policies[0].name
    spec = outcome_spec(core)
    summary = summarise(results, reference, spec.scores, seed=args.seed)
    markdown = summary_markdown(summary, reference, n_patients)
    written = [*write_report(results, summary, markdown, args.out, spec),
               args.out / "results.parquet", args.out / "shards"]
    print(markdown)
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _evaluation_cohort(args: argparse.Namespace) -> tuple[Any, int]:
    """The user's ``--cohort`` file (or ``None``: sample one) and the number of patients."""
    if args.cohort is None:
        n_patients = 500 if args.n_patients is None else args.n_patients
        if n_patients < 1:
            raise ValueError(f"--n-patients must be >= 1, got {n_patients}")
        return None, n_patients
    if args.n_patients is not None:
        raise ValueError("--n-patients does not apply with --cohort (the file sets the cohort)")
    cohort = _read_cohort(args.cohort)
    return cohort, len(cohort)


def _add_benchmark(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser(
        "benchmark", help="train RL algorithms on envs over seeds; leaderboard of normalised "
                          "scores",
        description="Train every algorithm on every env once per seed, evaluate the models and "
                    "the env's baselines on one held-out cohort, and write per-env tables, a "
                    "leaderboard (IQM of scores normalised to label dosing = 0 and oracle = 1, "
                    "95% stratified-bootstrap CIs) and performance profiles. Rerunning skips "
                    "finished runs.")
    bench.add_argument("--envs", nargs="+", required=True, metavar="ID",
                       help="environment ids, e.g. pkgym/Vancomycin-v0 pkgym/Warfarin-v0")
    bench.add_argument("--algos", nargs="+", required=True, metavar="ALGO",
                       help="RL algorithms, e.g. ppo a2c dqn")
    bench.add_argument("--seeds", nargs="+", type=int, required=True, metavar="S",
                       help="training seeds (one run per env, algorithm and seed)")
    bench.add_argument("--timesteps", type=int, required=True, help="training steps per run")
    bench.add_argument("--out", type=Path, required=True, help="output directory")
    bench.add_argument("--n-patients", type=int, default=200,
                       help="held-out evaluation cohort size per env (default 200)")
    bench.add_argument("--eval-seed", type=int, default=0,
                       help="seed of the evaluation cohorts (evaluation seed space) and noise")
    bench.add_argument("--scenario", nargs="+", type=Path, default=[], metavar="YAML",
                       help="scenario files; each applies to the env its 'env' key names")
    bench.add_argument("--baselines", nargs="*", metavar="NAME",
                       help="context baselines for every env (default: each env's own); the "
                            "label and oracle references always run")
    bench.add_argument("--n-envs", type=int, help="parallel training envs per run")
    bench.add_argument("--n-training-patients", type=int,
                       help="training cohort size per run (default: the trainer's)")
    bench.add_argument("--hyperparams", type=Path, help="hyperparameter YAML for training")
    bench.add_argument("--device", default="auto", help="torch device: auto, cpu, cuda")
    bench.add_argument("--backend", choices=("local", "ray"), default="local",
                       help="local: runs one after another here; ray: one Ray task per run, "
                            "same results (default local)")
    bench.add_argument("--ray-address", metavar="ADDR",
                       help="existing Ray cluster ('auto', 'ray://host:10001'; default: a "
                            "local Ray). Runs return their model and evaluation to OUT; input "
                            "files must exist at the same paths on every node")
    bench.set_defaults(func=_benchmark)


def _benchmark(args: argparse.Namespace) -> int:
    from agents.benchmark import BenchmarkConfig, run_benchmark

    config = BenchmarkConfig(
        env_ids=tuple(args.envs), algos=tuple(args.algos), seeds=tuple(args.seeds),
        timesteps=args.timesteps, out_dir=args.out, n_patients=args.n_patients,
        eval_seed=args.eval_seed, scenarios=tuple(args.scenario),
        baselines=None if args.baselines is None else tuple(args.baselines),
        n_envs=args.n_envs, n_training_patients=args.n_training_patients,
        hyperparams_file=args.hyperparams, device=args.device, backend=args.backend,
        ray_address=args.ray_address)
    written = run_benchmark(config)
    print((args.out / "leaderboard.md").read_text(encoding="utf-8"))
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _add_tune(commands: argparse._SubParsersAction) -> None:
    tune = commands.add_parser(
        "tune", help="seeded hyperparameter search with Ray Tune",
        description="Sample hyperparameters from a YAML search space (each key of the "
                    "algorithm's section: {uniform: [lo, hi]}, {loguniform: [lo, hi]} or "
                    "{choice: [...]}), train one run per sample and score it by its best "
                    "validation return; write OUT/tune_results.csv and "
                    "OUT/best_hyperparams.yml. The same seed proposes the same samples.")
    tune.add_argument("--env", required=True, help="environment id, e.g. pkgym/Vancomycin-v0")
    tune.add_argument("--algo", required=True, help="ppo, a2c, dqn, sac or recurrent_ppo")
    tune.add_argument("--space", type=Path, required=True, help="search-space YAML")
    tune.add_argument("--num-samples", type=int, required=True, help="number of trials")
    tune.add_argument("--timesteps", type=int, required=True, help="training steps per trial")
    tune.add_argument("--out", type=Path, required=True, help="output directory")
    tune.add_argument("--seed", type=int, default=0, help="search and training seed (default 0)")
    tune.add_argument("--eval-freq", type=int, default=0,
                      help="env steps between validations (default 0: the final model only)")
    tune.add_argument("--hyperparams", type=Path,
                      help="base hyperparameter YAML (default: the packaged file)")
    tune.add_argument("--n-training-patients", type=int,
                      help="training cohort size per trial (default: the trainer's)")
    tune.add_argument("--n-validation-patients", type=int, default=200,
                      help="validation cohort scoring each trial (default 200)")
    tune.add_argument("--ray-address", metavar="ADDR",
                      help="existing Ray cluster ('auto', 'ray://host:10001'; default: local)")
    tune.add_argument("--dry-run", action="store_true",
                      help="only write the configurations the seed proposes; train nothing")
    tune.set_defaults(func=_tune)


def _tune(args: argparse.Namespace) -> int:
    from agents.tuning import TuneConfig, propose_trial, read_space, run_search, run_trial

    config = TuneConfig(
        env_id=args.env, algo=args.algo, space=read_space(args.space),
        num_samples=args.num_samples, timesteps=args.timesteps, out_dir=args.out,
        seed=args.seed, eval_freq=args.eval_freq, hyperparams_file=args.hyperparams,
        n_training_patients=args.n_training_patients,
        n_validation_patients=args.n_validation_patients, ray_address=args.ray_address)
    table = run_search(config, propose_trial if args.dry_run else run_trial)
    print(table.to_string(index=False))
    print(f"wrote {args.out / 'tune_results.csv'}" +
          ("" if args.dry_run else f", {args.out / 'best_hyperparams.yml'}"))
    return 0


def _add_train(commands: argparse._SubParsersAction) -> None:
    tr = commands.add_parser(
        "train", help="train a Stable-Baselines3 agent on a pkgym env",
        description="Train PPO, A2C, DQN, SAC or recurrent PPO on a finite training cohort, "
                    "validate on held-out patients, checkpoint, and write OUT/model.zip with "
                    "OUT/model.json (env, scenario, cohorts, versions).")
    tr.add_argument("--env", required=True, help="environment id, e.g. pkgym/Vancomycin-v0")
    tr.add_argument("--scenario", type=Path, help="scenario YAML of the env")
    tr.add_argument("--algo", required=True, help="ppo, a2c, dqn, sac or recurrent_ppo")
    tr.add_argument("--timesteps", type=int, required=True, help="total env steps")
    tr.add_argument("--seed", type=int, default=0, help="seed of the run (default 0)")
    tr.add_argument("--n-envs", type=int, help="parallel patients (default: the hyperparams')")
    tr.add_argument("--encoder", default="raw", help="raw (default) or vae")
    tr.add_argument("--vae", type=Path, help="trained VAE (with --encoder vae)")
    tr.add_argument("--fine-tune-encoder", action="store_true",
                    help="let the RL loss update the VAE encoder")
    tr.add_argument("--out", type=Path, required=True, help="output directory")
    tr.add_argument("--resume", action="store_true",
                    help="continue from the latest checkpoint in OUT/checkpoints")
    tr.add_argument("--eval-freq", type=int,
                    help="env steps between validations (default 25000; 0 = none)")
    tr.add_argument("--n-validation", type=int, help="validation patients (default 200)")
    tr.add_argument("--n-training-patients", type=int,
                    help="training cohort size (default 10000)")
    tr.add_argument("--checkpoint-freq", type=int,
                    help="env steps between checkpoints (default 50000; 0 = none)")
    tr.add_argument("--hyperparams", type=Path,
                    help="hyperparameter YAML (default: agents/hyperparams/ALGO.yml)")
    tr.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    tr.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    tr.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    from agents.training import TrainConfig, train

    optional = {"n_envs": args.n_envs, "eval_freq": args.eval_freq,
                "n_validation_patients": args.n_validation,
                "n_training_patients": args.n_training_patients,
                "checkpoint_freq": args.checkpoint_freq}
    config = TrainConfig(
        env_id=args.env, algo=args.algo, timesteps=args.timesteps, seed=args.seed,
        encoder=args.encoder, vae_path=args.vae, fine_tune_encoder=args.fine_tune_encoder,
        scenario=args.scenario, out_dir=args.out, hyperparams_file=args.hyperparams,
        resume=args.resume, device=args.device, progress_bar=not args.no_progress,
        **{key: value for key, value in optional.items() if value is not None})
    result = train(config)
    print(f"trained {args.algo} on {args.env} for {result.metadata['timesteps']} steps in "
          f"{result.wall_time_s:.0f} s")
    if result.learning_curve is not None:
        last = result.learning_curve.iloc[-1]
        print(f"validation at {last['timesteps']} steps: mean return {last['mean_return']:.3f} "
              f"(95% CI {last['ci95_low_return']:.3f} to {last['ci95_high_return']:.3f}), "
              f"{last['score_name']} {last['mean_score']:.3f}")
    written = [result.model_path, result.model_path.with_suffix(".json")]
    if result.best_model_path is not None:
        written += [result.best_model_path, args.out / "learning_curve.csv"]
    written += [args.out / "logs"] + ([args.out / "checkpoints"]
                                       if (args.out / "checkpoints").is_dir() else [])
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _add_train_vae(commands: argparse._SubParsersAction) -> None:
    tv = commands.add_parser(
        "train-vae", help="train the patient VAE (latent state from sparse drug levels)",
        description="Simulate a training cohort under diverse regimens, fit the VAE that encodes "
                    "observed histories and decodes exposure courses, validate on held-out "
                    "patients and write OUT/vae.pt with OUT/vae.json.")
    tv.add_argument("--env", required=True,
                    help="pkgym/Vancomycin-v0, pkgym/Warfarin-v0 or pkgym/WarfarinPGx-v0")
    tv.add_argument("--n-patients", type=int, required=True,
                    help="training patients (vancomycin: 4000 take about 25 s)")
    tv.add_argument("--seed", type=int, default=0, help="seed of cohorts and fit (default 0)")
    tv.add_argument("--scenario", type=Path, help="scenario YAML of the env")
    tv.add_argument("--epochs", type=int, default=40, help="training epochs (default 40)")
    tv.add_argument("--latent-dim", type=int, default=8, help="latent dimensions (default 8)")
    tv.add_argument("--beta", type=float, default=1.0, help="KL weight (default 1)")
    tv.add_argument("--out", type=Path, required=True, help="output directory")
    tv.set_defaults(func=_train_vae)


def _train_vae(args: argparse.Namespace) -> int:
    from agents.vae import load_vae
    from agents.vae_training import train_vae

    path = train_vae(args.env, args.n_patients, args.seed, args.out, scenario=args.scenario,
                     epochs=args.epochs, latent_dim=args.latent_dim, beta=args.beta)
    meta = load_vae(path).metadata
    scores = meta["validation"]
    by_levels = ", ".join(f"{k}: {v:.3f}" for k, v in scores["rmse_log_by_levels"].items())
    print(f"trained the VAE in {meta['train_seconds']:.0f} s (best epoch {meta['best_epoch']}); "
          f"held-out RMSE of the log exposure {scores['rmse_log']:.3f} (by measured levels "
          f"{by_levels})")
    print(f"wrote {path}, {path.with_suffix('.json')}")
    return 0


def _add_trial(commands: argparse._SubParsersAction) -> None:
    trial = commands.add_parser(
        "trial", help="operating characteristics of a phase I dose-finding design, or of a "
                      "virtual group-sequential trial of dosing policies",
        description="Phase I (--design): simulate many trials of one dose-finding design under "
                    "a scenario; write operating_characteristics.csv/.md and selection.png. "
                    "Virtual trial (--arms): simulate every arm's policy on one pool of "
                    "evaluation patients, then many group-sequential trials (arm 0 the "
                    "control, each other arm compared with it, Bonferroni-split alpha), as "
                    "simulated and under the null; write virtual_trial.csv, "
                    "operating_characteristics.csv/.md and power.png.")
    mode = trial.add_mutually_exclusive_group(required=True)
    mode.add_argument("--design", help="phase I design: 3+3, crm, boin, thompson, or a "
                      "learned one: a pkgym/DoseFinding-v0 policy spec (sb3:PATH.zip, ...)")
    mode.add_argument("--arms", metavar="SPEC,SPEC[,...]",
                      help="virtual trial arms, control first: policy specs as for "
                           "`pkgym evaluate --policy` (label, trough, map, sb3:PATH.zip, ...)")
    trial.add_argument("--scenario", type=Path,
                       help="with --design: dose-finding scenario YAML (required, e.g. "
                            "scenarios/dose_finding_classic.yaml); with --arms: env scenario YAML")
    trial.add_argument("--n-trials", type=int,
                       help="simulated trials (>= 2; default 10000 with --design, 2000 with "
                            "--arms)")
    trial.add_argument("--seed", type=int, default=0, help="root seed (>= 0; default 0)")
    trial.add_argument("--out", type=Path, required=True, help="output folder")
    arms = trial.add_argument_group("virtual trial (--arms) options")
    arms.add_argument("--env", help="environment id, e.g. pkgym/Vancomycin-v0 (required)")
    arms.add_argument("--endpoint", help="score compared (default: the env's first score, "
                                         "e.g. in_target_range_fraction, "
                                         "time_in_therapeutic_range)")
    arms.add_argument("--max-patients", type=int, help="maximum total sample size (required)")
    arms.add_argument("--looks", type=int, help="equally spaced analyses (default 3)")
    arms.add_argument("--alpha", type=float, help="family-wise type I error (default 0.05)")
    arms.add_argument("--alternative", choices=ALTERNATIVES, help="default two-sided")
    arms.add_argument("--spending", choices=SPENDING_FUNCTIONS, help="default obrien_fleming")
    arms.add_argument("--allocation", choices=ALLOCATIONS,
                      help="equal (default), neyman (two arms) or thall_wathen")
    arms.add_argument("--futility-z", type=float,
                      help="non-binding futility: drop an arm whose z is below this at an "
                           "interim look (default: none)")
    arms.add_argument("--pool", type=int, help="patients simulated per arm (default 1000)")
    _add_scale_options(trial, "trials (and, with --arms, pool patients)")
    trial.set_defaults(func=_trial)


ALTERNATIVES = ("two-sided", "greater", "less")
SPENDING_FUNCTIONS = ("obrien_fleming", "pocock")
ALLOCATIONS = ("equal", "neyman", "thall_wathen")
"""Choices of the virtual trial flags (checked against pkgym.trials in the tests)."""

VIRTUAL_TRIAL_DEFAULTS = {"looks": 3, "alpha": 0.05, "alternative": "two-sided",
                          "spending": "obrien_fleming", "allocation": "equal", "pool": 1000,
                          "n_trials": 2000}
"""Defaults of the ``--arms`` options."""


def _trial(args: argparse.Namespace) -> int:
    """Dispatch to the phase I or the virtual-trial mode, after checking the flags fit it."""
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    _check_scale_options(args)
    arms_only = [f"--{name.replace('_', '-')}" for name in
                 ("env", "endpoint", "max_patients", "looks", "alpha", "alternative",
                  "spending", "allocation", "futility_z", "pool")
                 if getattr(args, name) is not None]
    if args.design is not None:
        if arms_only:
            raise ValueError(f"{', '.join(arms_only)} apply only with --arms, not --design")
        if args.scenario is None:
            raise ValueError("--scenario (a dose-finding scenario YAML) is required with "
                             "--design")
        return _phase_one_trial(args)
    for flag, value in (("--env", args.env), ("--max-patients", args.max_patients)):
        if value is None:
            raise ValueError(f"{flag} is required with --arms")
    for name, value in VIRTUAL_TRIAL_DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return _virtual_trial(args)


def _virtual_trial(args: argparse.Namespace) -> int:
    """Simulate the endpoint pool, the trials as simulated and under the null; write, print."""
    from pkgym.scale.trials import simulate_endpoint_pool_sharded, simulate_virtual_trials_sharded
    from pkgym.trials.virtual_trial_report import null_pool, write_virtual_trial_report

    design, core = _virtual_trial_design(args)
    if args.pool < args.max_patients:
        raise ValueError(f"--pool must be >= --max-patients ({args.max_patients}), got "
                         f"{args.pool}")
    if args.n_trials < 2:
        raise ValueError(f"--n-trials must be >= 2, got {args.n_trials}")
    from agents.registry import make_policy

    for spec in design.arms:  # refuse a bad spec before any shard runs
        make_policy(spec, core, env_id=args.env, scenario=args.scenario)
    pool = simulate_endpoint_pool_sharded(args.env, design.arms, design.endpoint, args.pool,
                                          args.seed, make_policy=make_policy,
                                          scenario=args.scenario, **_scale_options(args))
    simulated, null = (simulate_virtual_trials_sharded(design, source, args.n_trials, args.seed,
                                                       desc=f"trials ({name})",
                                                       **_scale_options(args))
                       for name, source in (("as simulated", pool), ("null", null_pool(pool))))
    title = (f"{' vs '.join(design.arms)} on {args.env}: {design.endpoint}, N max "
             f"{design.max_patients}, {args.looks} looks, {design.allocation} allocation "
             f"(pool {args.pool}, seed {args.seed})")
    markdown, written = write_virtual_trial_report(design, simulated, null, title, args.out)
    print(markdown, end="")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _virtual_trial_design(args: argparse.Namespace):  # noqa: ANN202
    """The design the flags describe, and the env's core (to build the policies)."""
    import gymnasium as gym

    from pkgym.envs.base import DosingVectorEnv
    from pkgym.evaluation.outcomes import outcome_spec
    from pkgym.trials.virtual_trial import VirtualTrialDesign

    specs = tuple(spec.strip() for spec in args.arms.split(","))
    if len(specs) < 2 or not all(specs):
        raise ValueError(f"--arms must list >= 2 comma-separated policy specs, control first, "
                         f"got {args.arms!r}")
    if args.looks < 1:
        raise ValueError(f"--looks must be >= 1, got {args.looks}")
    env_kwargs = {} if args.scenario is None else {"scenario": str(args.scenario)}
    vec = gym.make_vec(args.env, num_envs=1, vectorization_mode="vector_entry_point",
                       **env_kwargs)  # type: ignore[arg-type]
    core = cast(DosingVectorEnv, vec.unwrapped).core
    vec.close()
    endpoint = args.endpoint or next(iter(outcome_spec(core).scores))
    design = VirtualTrialDesign(
        env_id=args.env, arms=specs, endpoint=endpoint, max_patients=args.max_patients,
        fractions=tuple((k + 1) / args.looks for k in range(args.looks)), alpha=args.alpha,
        alternative=args.alternative, spending=args.spending, allocation=args.allocation,
        futility_z=args.futility_z)
    return design, core


def _phase_one_trial(args: argparse.Namespace) -> int:
    """Operating characteristics of one phase I design under a dose-finding scenario."""
    from pkgym.scale.trials import simulate_phase_one_sharded
    from pkgym.trials.mechanistic import load_trial_scenario
    from pkgym.trials.operating_characteristics import operating_characteristics
    from pkgym.trials.report import markdown_report, per_dose_table, plot_selection, write_text

    scenario, doses = load_trial_scenario(args.scenario)
    phase_one_design(args.design, scenario)  # refuse a bad design before any shard runs
    n_trials = 10000 if args.n_trials is None else args.n_trials
    results = simulate_phase_one_sharded(args.design, scenario, n_trials, args.seed,
                                         make_design=phase_one_design, **_scale_options(args))
    oc = operating_characteristics(results, scenario)
    table = per_dose_table(oc, scenario, doses)
    title = f"{args.design} on {args.scenario.stem} (seed {args.seed})"
    markdown = markdown_report(table, oc, title)
    written = [write_table(table, args.out / "operating_characteristics.csv"),
               write_text(markdown, args.out / "operating_characteristics.md"),
               plot_selection(table, scenario, title, args.out / "selection.png")]
    print(markdown, end="")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def phase_one_design(spec: str, scenario: Any) -> Any:
    """The phase I design ``--design`` names: a published one, or a learned policy (``a:b``).

    Module-level so that the shards of ``pkgym trial --design`` can rebuild it in a worker.
    """
    from pkgym.trials.report import make_design

    if ":" in spec:  # a learned design: a pkgym/DoseFinding-v0 policy
        from agents.dose_finding_baselines import learned_design

        return learned_design(spec, scenario)
    return make_design(spec, scenario)


def build_parser() -> argparse.ArgumentParser:
    """The ``pkgym`` argument parser with every subcommand.

    Examples:
        >>> build_parser().prog
        'pkgym'
    """
    parser = argparse.ArgumentParser(prog="pkgym", description="Drug-dosing environments.")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_simulate(commands)
    _add_evaluate(commands)
    _add_benchmark(commands)
    _add_tune(commands)
    _add_train(commands)
    _add_train_vae(commands)
    _add_trial(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pkgym`` console script; bad input exits 2 with a one-line error."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as error:
        print(f"pkgym {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
