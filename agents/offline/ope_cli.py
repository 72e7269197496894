"""``pkgym ope``: off-policy estimates of target policies from a Minari dataset, beside the truth.

Also :func:`run_ope_benchmark` (OPE error vs truth per estimator and dataset size) for
``benchmarks/offline.py``.
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import pandas as pd

from agents.offline.ope import ESTIMATORS, check_estimators
from agents.offline.ope_run import (
    BehaviourTarget,
    LoggedEpisodes,
    evaluate_targets,
    load_episodes,
    rank_correlations,
)

DEFAULT_ESTIMATORS = ("is", "wis", "pdis", "wpdis", "dr", "wdr", "fqe")


def add_ope(commands: argparse._SubParsersAction, *, make_policy: Callable[..., Any]) -> None:
    """The ``ope`` subcommand.

    Examples:
        >>> parser = argparse.ArgumentParser(prog="pkgym")
        >>> add_ope(parser.add_subparsers(dest="command"), make_policy=lambda *a, **k: None)
        >>> args = parser.parse_args(["ope", "--dataset", "d", "--policy", "map", "--out", "o"])
        >>> args.policy, args.estimator, args.bootstrap
        (['map'], None, 1000)
    """
    ope = commands.add_parser(
        "ope", help="off-policy estimates of policies' values from a dataset, with the truth",
        description="Estimate each target policy's mean return from a `pkgym dataset --format "
                    "minari` dataset (importance sampling, doubly robust, fitted Q "
                    "evaluation; bootstrap CIs over episodes) and compare with its true "
                    "value: the policy run in the simulator on the same patients and noise. "
                    "Writes ope.csv, ope.md and rank.csv to --out.")
    ope.add_argument("--dataset", type=Path, required=True, help="the dataset's directory")
    ope.add_argument("--policy", action="append", required=True, metavar="SPEC",
                     help="target policy (repeat): one of the env's baselines, sb3:PATH.zip, "
                          "module:callable, or 'behaviour' (the dataset's own)")
    ope.add_argument("--estimator", action="append", choices=list(ESTIMATORS),
                     help=f"estimator (repeat; default all: {', '.join(DEFAULT_ESTIMATORS)})")
    ope.add_argument("--bootstrap", type=int, default=1000,
                     help="bootstrap resamples of episodes for the CIs (default 1000)")
    ope.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default 0)")
    ope.add_argument("--out", type=Path, required=True, help="output directory")
    ope.set_defaults(func=functools.partial(run_ope, make_policy=make_policy))


def make_targets(specs: Sequence[str], episodes: LoggedEpisodes, meta: dict[str, Any],
                 make_policy: Callable[..., Any]) -> tuple[dict[str, Any], Any]:
    """Target policies by spec, and the env core they act through.

    ``make_policy`` is ``agents.policies.registry.make_policy`` (handed in by the caller:
    the registry loads ``offline:`` policies from this package, so no import back).
    """
    from agents.offline.behaviour import BehaviourSpec
    from agents.offline.dataset import make_behaviour

    env = gym.make_vec(episodes.env_id, num_envs=1, vectorization_mode="vector_entry_point",
                       **episodes.env_kwargs)
    core = env.unwrapped.core  # type: ignore[attr-defined]
    env.close()
    scenario = episodes.env_kwargs.get("scenario")
    targets: dict[str, Any] = {}
    for spec in specs:
        if spec == "behaviour":
            record = meta["behaviour"]
            behaviour = make_behaviour(episodes.env_id, BehaviourSpec(
                policies=tuple(record["policies"]), weights=tuple(record["weights"]),
                epsilon=record["epsilon"], sd_levels=record["sd_levels"]), scenario=scenario)
            targets[spec] = BehaviourTarget(behaviour, episodes.seeds)
        else:
            targets[spec] = make_policy(spec, core, env_id=episodes.env_id, scenario=scenario)
    return targets, core


def ope_table(dataset: Path, specs: Sequence[str], estimators: Sequence[str], *,
              reps: int, seed: int,
              make_policy: Callable[..., Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The OPE table (one row per policy and estimator) and the rank correlations."""
    if reps < 2:
        raise ValueError(f"--bootstrap must be >= 2, got {reps}")
    if len(set(specs)) != len(specs):
        raise ValueError(f"--policy: each policy once, got {list(specs)}")
    check_estimators(tuple(estimators))
    episodes, meta = load_episodes(dataset)
    targets, core = make_targets(specs, episodes, meta, make_policy)
    table = evaluate_targets(episodes, targets, core, estimators=estimators, reps=reps,
                             seed=seed)
    return table, rank_correlations(table)


def run_ope(args: argparse.Namespace, *, make_policy: Callable[..., Any]) -> int:
    """Estimate, compare with the truth, write ``ope.csv``, ``ope.md`` and ``rank.csv``."""
    estimators = tuple(args.estimator or DEFAULT_ESTIMATORS)
    table, ranks = ope_table(args.dataset, args.policy, estimators, reps=args.bootstrap,
                             seed=args.seed, make_policy=make_policy)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "ope.csv", index=False)
    ranks.to_csv(args.out / "rank.csv", index=False)
    text = markdown(table, ranks)
    (args.out / "ope.md").write_text(text)
    print(text)
    return 0


def markdown(table: pd.DataFrame, ranks: pd.DataFrame) -> str:
    """The table as markdown: estimate [CI] vs truth, error, and Spearman per estimator."""
    lines = ["| policy | estimator | estimate [95% CI] | true value | error |",
             "|---|---|---|---|---|"]
    for row in table.itertuples():
        lines.append(f"| {row.policy} | {row.estimator} | {row.estimate:.3f} "
                     f"[{row.ci_low:.3f}, {row.ci_high:.3f}] | {row.true_value:.3f} "
                     f"| {row.error:+.3f} |")
    lines += ["", "| estimator | Spearman (estimate vs truth) | policies |", "|---|---|---|"]
    lines += [f"| {r.estimator} | {r.spearman:.2f} | {r.n_policies} |"
              for r in ranks.itertuples()]
    return "\n".join(lines) + "\n"


def run_ope_benchmark(env_id: str, sizes: Sequence[int], policies: Sequence[str], seed: int, *,
                      out_dir: str | Path, estimators: Sequence[str] = DEFAULT_ESTIMATORS,
                      behaviour: Sequence[str] = ("label",), reps: int = 200,
                      make_policy: Callable[..., Any]) -> list[dict]:
    """OPE error vs truth per estimator, target policy and dataset size (patients).

    For each size, a dataset of the stochastic clinician(s) ``behaviour`` (default epsilon and
    SD) is written under ``out_dir`` and every policy is estimated and run for its truth.

    Returns:
        Rows of :func:`agents.offline.ope_run.evaluate_targets` with ``env_id``,
        ``n_patients``, ``dataset_s`` and ``ope_s`` (wall times) added.
    """
    from agents.offline.behaviour import BehaviourSpec
    from agents.offline.dataset import collect_dataset

    rows: list[dict] = []
    for size in sizes:
        start = time.perf_counter()
        path = collect_dataset(env_id, BehaviourSpec(policies=tuple(behaviour)), int(size),
                               seed, Path(out_dir) / f"n{size}")
        made = time.perf_counter()
        table, _ = ope_table(path, policies, estimators, reps=reps, seed=seed,
                             make_policy=make_policy)
        table.insert(0, "env_id", env_id)
        table.insert(1, "n_patients", int(size))
        table["dataset_s"], table["ope_s"] = made - start, time.perf_counter() - made
        rows += table.to_dict("records")
    return rows
