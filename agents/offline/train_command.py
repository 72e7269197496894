"""``pkgym train-offline``: behaviour cloning, CQL or IQL on a pkgym Minari dataset.

:mod:`pkgym.cli` adds it to its parser; it lives here because it runs agents code.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from agents.offline.algorithms import ALGOS


def add_train_offline(commands: argparse._SubParsersAction) -> None:
    """The ``train-offline`` subcommand.

    Examples:
        >>> parser = argparse.ArgumentParser(prog="pkgym")
        >>> add_train_offline(parser.add_subparsers(dest="command"))
        >>> args = parser.parse_args(["train-offline", "--dataset", "d", "--algo", "cql",
        ...                           "--steps", "10", "--out", "o"])
        >>> args.algo, args.seed, args.cql_alpha
        ('cql', 0, 1.0)
    """
    tr = commands.add_parser(
        "train-offline", help="train BC, CQL or IQL on a pkgym Minari dataset (offline RL)",
        description="Learn a dosing policy from a dataset of `pkgym dataset --format minari` "
                    "alone (no env steps) and write OUT/model.pt (weights) with OUT/model.json "
                    "(algorithm, env, features, losses, the dataset's cohort). Evaluate it with "
                    "`pkgym evaluate --policy offline:OUT`; evaluating it on the dataset's own "
                    "patients is refused.")
    tr.add_argument("--dataset", type=Path, required=True,
                    help="dataset directory written by pkgym dataset --format minari")
    tr.add_argument("--algo", required=True, choices=ALGOS,
                    help="bc (behaviour cloning), cql (conservative Q-learning, Kumar et al. "
                         "2020) or iql (implicit Q-learning, Kostrikov et al. 2021)")
    tr.add_argument("--steps", type=int, required=True, help="gradient updates")
    tr.add_argument("--seed", type=int, default=0, help="seed of the run (default 0)")
    tr.add_argument("--out", type=Path, required=True, help="output directory")
    tr.add_argument("--batch-size", type=int, default=256, help="transitions per update (256)")
    tr.add_argument("--cql-alpha", type=float, default=1.0,
                    help="CQL's conservative-penalty weight alpha (default 1.0)")
    tr.add_argument("--iql-expectile", type=float, default=0.7,
                    help="IQL's expectile of V (default 0.7)")
    tr.add_argument("--iql-temperature", type=float, default=3.0,
                    help="IQL's inverse temperature of the advantage weights (default 3.0)")
    tr.add_argument("--checkpoint-freq", type=int, default=1000,
                    help="updates between rewrites of OUT/checkpoint.pt (default 1000; 0 = none)")
    tr.set_defaults(func=_train_offline)


def _train_offline(args: argparse.Namespace) -> int:
    from agents.offline.algorithms import OfflineConfig
    from agents.offline.offline_rl import METADATA_FILE, MODEL_FILE, train_offline_run

    if args.steps < 1 or args.seed < 0:
        raise ValueError(f"--steps must be >= 1 and --seed >= 0, got {args.steps}, {args.seed}")
    config = OfflineConfig(batch_size=args.batch_size, cql_alpha=args.cql_alpha,
                           iql_expectile=args.iql_expectile,
                           iql_temperature=args.iql_temperature)
    meta = train_offline_run(args.dataset, args.algo, args.steps, args.seed, args.out, config,
                             checkpoint_every=args.checkpoint_freq)
    last = ", ".join(f"{k} {v:.4g}" for k, v in meta["losses"][-1].items() if k != "step")
    print(f"trained {args.algo} on {meta['n_transitions']} transitions of {meta['env_id']} for "
          f"{args.steps} updates in {meta['wall_time_s']:.0f} s (last losses: {last})")
    print(f"wrote {args.out / MODEL_FILE}, {args.out / METADATA_FILE}")
    return 0
