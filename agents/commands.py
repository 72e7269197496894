"""``pkgym train``, ``train-vae``, ``benchmark`` and ``tune``: the agents' subcommands.

:mod:`pkgym.cli` adds them to its parser; they live here because they run agents code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pkgym.grammar import deprecated, require


def add_benchmark(commands: argparse._SubParsersAction) -> None:
    """The ``benchmark`` subcommand: algorithms x envs x seeds against baselines."""
    bench = commands.add_parser(
        "benchmark", help="train RL algorithms on envs over seeds; leaderboard of normalised "
                          "scores",
        description="Train every algorithm on every env once per seed, evaluate the models and "
                    "the env's baselines on one held-out cohort, and write per-env tables, a "
                    "leaderboard (IQM of scores normalised to label dosing = 0 and oracle = 1, "
                    "95% stratified-bootstrap CIs) and performance profiles. Rerunning skips "
                    "finished runs.")
    bench.add_argument("--env", dest="envs", action="append", metavar="ID",
                       help="environment id (repeat it), e.g. --env pkgym/Vancomycin-v0 --env "
                            "pkgym/Warfarin-v1; `pkgym list` shows them (required)")
    bench.add_argument("--algo", dest="algos", action="append", metavar="ALGO",
                       help="RL algorithm (repeat it), e.g. --algo ppo --algo a2c (required)")
    bench.add_argument("--seed", dest="seeds", action="append", type=int, metavar="S",
                       help="training seed (repeat it; one run per env, algorithm and seed; "
                            "required)")
    for old, new, kind in (("--envs", "--env", str), ("--algos", "--algo", str),
                           ("--seeds", "--seed", int)):
        bench.add_argument(old, dest=new.lstrip("-") + "s", nargs="+", type=kind,
                           action=deprecated(f"{new} (repeated)", extend=True),
                           help=argparse.SUPPRESS)
    bench.add_argument("--timesteps", type=int, required=True, help="training steps per run")
    bench.add_argument("--out", type=Path, required=True, help="output directory")
    bench.add_argument("--n-patients", type=int, default=200,
                       help="held-out evaluation cohort size per env (default 200)")
    bench.add_argument("--eval-seed", type=int, default=0,
                       help="seed of the evaluation cohorts (evaluation seed space) and noise")
    bench.add_argument("--scenario", action="extend", nargs="+", type=Path, default=[],
                       metavar="YAML", help="scenario file (repeatable); each applies to the "
                                            "env its 'env' key names")
    bench.add_argument("--baseline", dest="baselines", action="append", metavar="NAME",
                       help="context baseline for every env (repeatable; default: each env's "
                            "own); the normalisation references always run")
    bench.add_argument("--no-baselines", dest="baselines", action="store_const", const=[],
                       help="no context baselines (only the normalisation references)")
    bench.add_argument("--baselines", dest="baselines", nargs="*",
                       action=deprecated("--baseline (repeated)", extend=True),
                       help=argparse.SUPPRESS)
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
    from agents.benchmark.driver import run_benchmark
    from agents.benchmark.runner import BenchmarkConfig

    envs, algos, seeds = (require(args, dest, flag) for dest, flag in (
        ("envs", "--env"), ("algos", "--algo"), ("seeds", "--seed")))
    config = BenchmarkConfig(
        env_ids=tuple(envs), algos=tuple(algos), seeds=tuple(seeds),
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


def add_tune(commands: argparse._SubParsersAction) -> None:
    """The ``tune`` subcommand: a seeded Ray Tune search over hyperparameters."""
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
    tune.add_argument("--method", default="rl",
                      help="learning method of every trial, as pkgym train's (default rl); the "
                           "space may then hold anchor_kl_coef, imitation_labels, "
                           "imitation_epochs and imitation_learning_rate too")
    tune.add_argument("--teacher", help="policy to imitate (dagger, dagger+rl): map, oracle, ...")
    tune.add_argument("--imitation-labels", type=int,
                      help="teacher-labelled decisions of DAgger (default: the trainer's)")
    tune.add_argument("--dry-run", action="store_true",
                      help="only write the configurations the seed proposes; train nothing")
    tune.set_defaults(func=_tune)


def _tune(args: argparse.Namespace) -> int:
    from agents.policies.registry import make_policy
    from agents.rl.tuning import TuneConfig, propose_trial, read_space, run_search, run_trial

    config = TuneConfig(
        env_id=args.env, algo=args.algo, space=read_space(args.space),
        num_samples=args.num_samples, timesteps=args.timesteps, out_dir=args.out,
        seed=args.seed, eval_freq=args.eval_freq, hyperparams_file=args.hyperparams,
        n_training_patients=args.n_training_patients,
        n_validation_patients=args.n_validation_patients, ray_address=args.ray_address,
        method=args.method, teacher=args.teacher, imitation_labels=args.imitation_labels,
        make_teacher=make_policy)
    table = run_search(config, propose_trial if args.dry_run else run_trial)
    print(table.to_string(index=False))
    print(f"wrote {args.out / 'tune_results.csv'}" + ("" if args.dry_run else
          f", {args.out / 'best_hyperparams.yml'}, {args.out / 'best_command.txt'}"))
    return 0


def add_train(commands: argparse._SubParsersAction) -> None:
    """The ``train`` subcommand: one Stable-Baselines3 agent on an env."""
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
    tr.add_argument("--encoder", default="raw",
                    help="raw (default), vae (the VAE's latent) or belief (latent and each "
                         "candidate dose's forecast exposure)")
    tr.add_argument("--vae", type=Path, help="trained VAE (with --encoder vae or belief)")
    tr.add_argument("--method", default="rl",
                    help="rl (default: the algorithm alone), dagger (imitate --teacher; "
                         "--timesteps 0), dagger+rl (imitate, then PPO anchored to it by a "
                         "KL term) or asymmetric (the critic sees the hidden patient)")
    tr.add_argument("--teacher", help="policy to imitate (dagger, dagger+rl): map, oracle, "
                                      "vae_mipd:PATH, ... (pkgym list --env ID)")
    tr.add_argument("--imitation-labels", type=int,
                    help="teacher-labelled decisions of DAgger (default 20000)")
    tr.add_argument("--imitation-epochs", type=int,
                    help="DAgger's passes over its labels after each round (default 20)")
    tr.add_argument("--imitation-learning-rate", type=float,
                    help="DAgger's Adam step size (default 0.001)")
    tr.add_argument("--anchor-kl-coef", type=float,
                    help="weight of the KL to the imitated policy in dagger+rl (default 0.1)")
    tr.add_argument("--fine-tune-encoder", action="store_true",
                    help="let the RL loss update the VAE encoder")
    tr.add_argument("--out", type=Path, required=True, help="output directory")
    tr.add_argument("--resume", action="store_true",
                    help="continue from the latest checkpoint in OUT/checkpoints")
    tr.add_argument("--eval-freq", type=int,
                    help="env steps between validations (default 25000; 0 = none)")
    tr.add_argument("--n-validation-patients", type=int,
                    help="validation patients (default 200)")
    tr.add_argument("--n-validation", dest="n_validation_patients", type=int,
                    action=deprecated("--n-validation-patients"), help=argparse.SUPPRESS)
    tr.add_argument("--n-training-patients", type=int,
                    help="training cohort size (default 10000)")
    tr.add_argument("--checkpoint-freq", type=int,
                    help="env steps between checkpoints (default 50000; 0 = none)")
    tr.add_argument("--hyperparams", type=Path,
                    help="hyperparameter YAML (default: agents/rl/hyperparams/ALGO.yml)")
    tr.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    tr.add_argument("--no-progress", action="store_true",
                    help="no progress bar (a log still gets a progress line every 10 s)")
    tr.add_argument("--quiet", action="store_true",
                    help="no progress bar and no progress lines on stderr")
    tr.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    from agents.rl.training import TrainConfig, train

    optional = {"n_envs": args.n_envs, "eval_freq": args.eval_freq,
                "n_validation_patients": args.n_validation_patients,
                "n_training_patients": args.n_training_patients,
                "checkpoint_freq": args.checkpoint_freq,
                "imitation_labels": args.imitation_labels, "anchor_kl_coef": args.anchor_kl_coef,
                "imitation_epochs": args.imitation_epochs,
                "imitation_learning_rate": args.imitation_learning_rate}
    bar = sys.stderr.isatty() and not (args.no_progress or args.quiet)  # else log lines
    config = TrainConfig(
        env_id=args.env, algo=args.algo, timesteps=args.timesteps, seed=args.seed,
        encoder=args.encoder, vae_path=args.vae, fine_tune_encoder=args.fine_tune_encoder,
        method=args.method, teacher=args.teacher,
        scenario=args.scenario, out_dir=args.out, hyperparams_file=args.hyperparams,
        resume=args.resume, device=args.device, progress_bar=bar,
        progress_log=not args.quiet and not bar,
        **{key: value for key, value in optional.items() if value is not None})
    from agents.policies.registry import make_policy

    result = train(config, make_teacher=make_policy)
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


def add_train_vae(commands: argparse._SubParsersAction) -> None:
    """The ``train-vae`` subcommand: the patient VAE."""
    tv = commands.add_parser(
        "train-vae", help="train the patient VAE (latent state from sparse drug levels)",
        description="Simulate a training cohort under diverse regimens, fit the VAE that encodes "
                    "observed histories and decodes exposure courses, validate on held-out "
                    "patients and write OUT/vae.pt with OUT/vae.json.")
    tv.add_argument("--env", required=True,
                    help="an env with a canonical history: pkgym/Vancomycin-v0, "
                         "pkgym/Warfarin-v0, pkgym/WarfarinPGx-v0, pkgym/Mycophenolate-v0 or "
                         "pkgym/Heparin-v0")
    tv.add_argument("--n-patients", type=int, required=True,
                    help="training patients (vancomycin: 4000 take 40-100 s on 2 cores)")
    tv.add_argument("--seed", type=int, default=0, help="seed of cohorts and fit (default 0)")
    tv.add_argument("--scenario", type=Path, help="scenario YAML of the env")
    tv.add_argument("--epochs", type=int, default=40, help="training epochs (default 40)")
    tv.add_argument("--latent-dim", type=int, default=8, help="latent dimensions (default 8)")
    tv.add_argument("--beta", type=float, default=1.0, help="KL weight (default 1)")
    tv.add_argument("--out", type=Path, required=True, help="output directory")
    tv.set_defaults(func=_train_vae)


def _train_vae(args: argparse.Namespace) -> int:
    from agents.vae.model import load_vae
    from agents.vae.training import train_vae

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
