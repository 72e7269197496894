"""``pkgym dataset``: a policy's episodes on a cohort as a NONMEM-style dataset (pharmpy-ready)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

DEFAULT_PATIENTS = 100


def add_dataset(commands: argparse._SubParsersAction,
                make_policy: Callable[..., Any]) -> None:
    """The ``dataset`` subcommand: one policy on a cohort, exported NONMEM-style.

    ``make_policy`` builds a policy from its spec (``agents.policies.registry.make_policy``,
    handed in by :mod:`pkgym.cli`, so that pkgym never imports agents).

    Examples:
        >>> import argparse
        >>> parser = argparse.ArgumentParser(prog="pkgym")
        >>> add_dataset(parser.add_subparsers(dest="command"), make_policy=print)
        >>> args = parser.parse_args(["dataset", "--env", "pkgym/Warfarin-v1", "--policy",
        ...                           "aurora", "--out", "d"])
        >>> args.format, args.seed, args.n_patients
        ('nonmem', 0, None)
    """
    from pkgym.datasets import FORMATS

    ds = commands.add_parser(
        "dataset", help="a policy's episodes on a cohort as a NONMEM-style dataset",
        description="Run one policy on a cohort (sampled as pkgym evaluate samples it, or a "
                    "cohort file) and write every patient's doses and measurements: "
                    "dataset.csv and pharmpy's dataset.datainfo (--format nonmem) or "
                    "dataset.parquet, with dataset.json and dataset.md (column meanings, "
                    "units, code tables, the map from ID to the cohort's ids).")
    ds.add_argument("--env", required=True, help="environment id, e.g. pkgym/Warfarin-v1")
    ds.add_argument("--policy", required=True, metavar="SPEC",
                    help="one of the env's baselines (label, aurora, ...), sb3:PATH.zip or "
                         "module:callable")
    ds.add_argument("--n-patients", type=int,
                    help=f"cohort size (default {DEFAULT_PATIENTS}); not with --cohort")
    ds.add_argument("--cohort", type=Path,
                    help="a cohort file (.csv or .parquet, one row per patient, 'id' column) "
                         "instead of a sampled cohort")
    ds.add_argument("--seed", type=int, default=0,
                    help="seed of the cohort (evaluation seed space, as pkgym evaluate) and "
                         "of the noise (default 0)")
    ds.add_argument("--scenario", type=Path, help="scenario YAML")
    ds.add_argument("--format", choices=FORMATS, default="nonmem",
                    help="nonmem: dataset.csv + dataset.datainfo; parquet: dataset.parquet "
                         "(default nonmem)")
    ds.add_argument("--trust-model-file", action="store_true",
                    help="load sb3:PATH.zip files without pkgym's model.json with SB3's own "
                         "loader, which runs code stored in them: only for files you trust")
    ds.add_argument("--out", type=Path, required=True, help="output directory")
    ds.set_defaults(func=partial(run_dataset, make_policy=make_policy))


def run_dataset(args: argparse.Namespace, make_policy: Callable[..., Any]) -> int:
    """Check the flags, build the cohort and policy, run, write; print what was written.

    Raises:
        ValueError: a bad flag (one line naming it), before any output exists.
    """
    from pkgym.commands.evaluate import trusting
    from pkgym.datasets import check_format, policy_dataset, sampled_cohort, write_dataset
    from pkgym.evaluation.cohort_file import read_cohort_file
    from pkgym.scale.evaluation import env_core

    check_format(args.format)
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    if args.cohort is not None and args.n_patients is not None:
        raise ValueError("--n-patients does not apply with --cohort (the file sets the cohort)")
    if args.n_patients is not None and args.n_patients < 1:
        raise ValueError(f"--n-patients must be >= 1, got {args.n_patients}")
    if args.trust_model_file:
        make_policy = trusting(make_policy)
    core = env_core(args.env, args.scenario)
    ids = None
    if args.cohort is not None:
        cohort_file = read_cohort_file(args.cohort, args.env, core)
        cohort, ids = cohort_file.patients, list(cohort_file.ids)
    else:
        n = DEFAULT_PATIENTS if args.n_patients is None else args.n_patients
        cohort = sampled_cohort(args.env, n, args.seed, args.scenario)
    policy = make_policy(args.policy, core, env_id=args.env, scenario=args.scenario)
    dataset = policy_dataset(args.env, policy, cohort, args.seed, scenario=args.scenario,
                             ids=ids)
    dataset.header.update(scenario=None if args.scenario is None else str(args.scenario),
                          cohort=None if args.cohort is None else str(args.cohort))
    written = write_dataset(dataset, args.out, args.format)
    table = dataset.table
    print(f"{table['ID'].nunique()} patients, {int((table['EVID'] == 1).sum())} doses, "
          f"{int((table['EVID'] == 0).sum())} observations ({args.env}, policy "
          f"{policy.name})")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
