"""``pkgym dataset``: a policy's episodes on a cohort as a NONMEM-style dataset (pharmpy-ready)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

DEFAULT_PATIENTS = 100


def add_dataset(commands: argparse._SubParsersAction,
                make_policy: Callable[..., Any],
                write_minari: Callable[..., int] | None = None) -> None:
    """The ``dataset`` subcommand: one policy on a cohort, exported NONMEM-style (or Minari).

    ``make_policy`` builds a policy from its spec (``agents.policies.registry.make_policy``,
    handed in by :mod:`pkgym.cli`, so that pkgym never imports agents); ``write_minari``
    runs ``--format minari`` (``agents.offline.commands.run_minari_dataset``, handed in the
    same way; ``None``: the format is refused).

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
                    "units, code tables, the map from ID to the cohort's ids). --format "
                    "minari: an offline-RL dataset instead (Minari's format, one episode per "
                    "patient of a training cohort) from one or a mixture of clinicians made "
                    "stochastic (clinician variability), with each action's behaviour "
                    "probability and the hidden truth in its infos; OUT is then a Minari "
                    "datasets root (MINARI_DATASETS_PATH).")
    ds.add_argument("--env", required=True, help="environment id, e.g. pkgym/Warfarin-v1")
    ds.add_argument("--policy", required=True, metavar="SPEC",
                    help="one of the env's baselines (label, aurora, ...), sb3:PATH.zip or "
                         "module:callable; --format minari: POLICY[,POLICY...], a mixture of "
                         "clinicians (one per patient, equal shares)")
    ds.add_argument("--n-patients", type=int,
                    help=f"cohort size (default {DEFAULT_PATIENTS}); not with --cohort")
    ds.add_argument("--cohort", type=Path,
                    help="a cohort file (.csv or .parquet, one row per patient, 'id' column) "
                         "instead of a sampled cohort")
    ds.add_argument("--seed", type=int, default=0,
                    help="seed of the cohort (evaluation seed space, as pkgym evaluate) and "
                         "of the noise (default 0)")
    ds.add_argument("--scenario", type=Path, help="scenario YAML")
    ds.add_argument("--format", choices=(*FORMATS, "minari"), default="nonmem",
                    help="nonmem: dataset.csv + dataset.datainfo; parquet: dataset.parquet; "
                         "minari: an offline-RL dataset (default nonmem)")
    ds.add_argument("--behaviour-epsilon", type=float, metavar="E",
                    help="--format minari: share of uniformly random decisions, in [0, 1] "
                         "(default 0.1)")
    ds.add_argument("--behaviour-sd-levels", type=float, metavar="SD",
                    help="--format minari: clinician variability, SD in dose levels of a "
                         "discretised normal around the clinician's level, >= 0 (default 0.5)")
    ds.add_argument("--trust-model-file", action="store_true",
                    help="load sb3:PATH.zip files without pkgym's model.json with SB3's own "
                         "loader, which runs code stored in them: only for files you trust")
    ds.add_argument("--out", type=Path, required=True, help="output directory")
    ds.set_defaults(func=partial(run_dataset, make_policy=make_policy,
                                 write_minari=write_minari))


def run_dataset(args: argparse.Namespace, make_policy: Callable[..., Any],
                write_minari: Callable[..., int] | None = None) -> int:
    """Check the flags, build the cohort and policy, run, write; print what was written.

    Raises:
        ValueError: a bad flag (one line naming it), before any output exists.
    """
    if args.format == "minari":
        if write_minari is None:
            raise ValueError("--format minari needs pkgym's agents package (pip install "
                             "'pkgym[offline]')")
        if args.trust_model_file:
            from pkgym.commands.evaluate import trusting

            make_policy = trusting(make_policy)
        return write_minari(args, make_policy)
    for flag in ("behaviour_epsilon", "behaviour_sd_levels"):
        if getattr(args, flag, None) is not None:
            raise ValueError(f"--{flag.replace('_', '-')} applies only with --format minari")
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
