"""``pkgym evaluate``: policies on a held-out cohort, locally or in shards on Ray."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any


def add_evaluate(commands: argparse._SubParsersAction, *,
                 make_policy: Callable[..., Any]) -> None:
    """The ``evaluate`` subcommand: policies on a held-out cohort.

    ``make_policy`` builds a policy from its spec (``agents.policies.registry.make_policy``, handed
    in
    by :mod:`pkgym.cli`, so that pkgym never imports agents).
    """
    ev = commands.add_parser(
        "evaluate", help="paired evaluation of dosing policies on a held-out cohort",
        description="Run policies on the same held-out patients with the same noise; write "
                    "results.csv, summary.csv, summary.md and report.html.")
    ev.add_argument("--env", required=True,
                    help="environment id, e.g. pkgym/Vancomycin-v0 (`pkgym list` shows all)")
    ev.add_argument("--policy", action="append", required=True, metavar="NAME",
                    help="repeat it: a baseline of the env (`pkgym list --env ID` shows them), "
                         "NAME:key=value (e.g. map:prior=MODEL), sb3:PATH.zip, vae_mipd:PATH "
                         "or module:callable (a Policy class or f(observation) -> doses)")
    ev.add_argument("--n-patients", type=int, help="cohort size (default 500)")
    ev.add_argument("--cohort", type=Path,
                    help="a cohort file (.csv or .parquet, one row per patient, 'id' column) "
                         "instead of a sampled cohort; columns the env does not use are "
                         "ignored; patients without eta_* columns get random effects drawn "
                         "(eta_* = 0: the typical patient)")
    ev.add_argument("--seed", type=int, default=0,
                    help="seed of the evaluation cohort (evaluation seed space) and its noise")
    ev.add_argument("--scenario", type=Path, help="scenario YAML")
    ev.add_argument("--reference", help="policy the differences refer to (default: the first)")
    ev.add_argument("--by", action="append", metavar="COLUMN",
                    help="also summarise by this subgroup (repeatable): a covariate of the "
                         "env's cohort (race, cyp2c9, on_dialysis, ...) or a derived band: sex, "
                         "age_band, bmi_class, renal_function, genotype; writes "
                         "subgroups.csv/.md and a forest plot in report.html")
    ev.add_argument("--parameter-uncertainty", type=int, default=0, metavar="REPLICATES",
                    help="split the cohort into this many replicates, each with the truth's "
                         "fixed effects drawn from their published uncertainty; intervals "
                         "then resample replicates, then patients (default 0: the published "
                         "estimates)")
    ev.add_argument("--trust-model-file", action="store_true",
                    help="load sb3:PATH.zip files without pkgym's model.json with SB3's own "
                         "loader, which runs code stored in them: only for files you trust")
    ev.add_argument("--out", type=Path, required=True, help="output directory")
    add_scale_options(ev, "patients")
    ev.set_defaults(func=partial(_evaluate, make_policy=make_policy))


def add_scale_options(parser: argparse.ArgumentParser, unit: str) -> None:
    """``--backend``, ``--ray-address`` and ``--shard-size`` of ``evaluate`` and ``trial``."""
    parser.add_argument("--backend", choices=("local", "ray"), default="local",
                        help="local: shards one after another here; ray: one Ray task per "
                             "shard, identical results (default local)")
    parser.add_argument("--ray-address", metavar="ADDRESS",
                        help="existing Ray cluster: 'auto' (from a node of it) or "
                             "'ray://HEAD:10001' (default: start a local Ray)")
    parser.add_argument("--shard-size", type=int, default=1000,
                        help=f"{unit} per shard (default 1000); results do not depend on it")
    parser.add_argument("--quiet", action="store_true",
                        help="no start line and no progress on stderr (results still printed)")


def check_scale_options(args: argparse.Namespace) -> None:
    """Refuse a shard size below 1, or ``--ray-address`` without ``--backend ray``."""
    if args.shard_size < 1:
        raise ValueError(f"--shard-size must be >= 1, got {args.shard_size}")
    if args.ray_address is not None and args.backend != "ray":
        raise ValueError("--ray-address applies only with --backend ray")


def scale_options(args: argparse.Namespace) -> dict[str, Any]:
    """The sharding keyword arguments of ``pkgym.scale`` from the flags."""
    return {"shard_size": args.shard_size, "backend": args.backend,
            "ray_address": args.ray_address, "progress": not args.quiet}


def _evaluate(args: argparse.Namespace, make_policy: Callable[..., Any]) -> int:
    """Sample (or read) the cohort, run the policies in shards, summarise and write."""
    from pkgym.evaluation.cohort_file import restore_ids
    from pkgym.evaluation.outcomes import outcome_spec
    from pkgym.evaluation.report import ReportHeader, summarise, summary_markdown, write_report
    from pkgym.evaluation.uncertainty import check_replicates, drawn_scenario, evaluation_context
    from pkgym.scale.evaluation import check_sampled_cohort, env_core, evaluate_sharded

    check_scale_options(args)
    if args.trust_model_file:
        make_policy = trusting(make_policy)
    core = env_core(args.env, args.scenario)
    covariates = check_subgroups(args.env, args.by or [])
    cohort, n_patients = _evaluation_cohort(args, core)  # validated before any output exists
    policies = [make_policy(spec, core, env_id=args.env, scenario=args.scenario)
                for spec in args.policy]
    names = [policy.name for policy in policies]
    if len(set(names)) != len(names):
        raise ValueError(f"--policy: the policies must have distinct names, got {names}")
    if cohort is None:
        check_sampled_cohort(policies, n_patients, args.seed)
    if args.parameter_uncertainty:
        check_replicates(args.parameter_uncertainty, n_patients)
        drawn_scenario(args.env, args.scenario, args.seed, 0)  # refused before any output
    if not args.quiet:
        print(f"pkgym evaluate: {len(policies)} policies x {n_patients} patients on {args.env} "
              f"(seed {args.seed}, {args.backend}); progress below in patient-steps "
              "(one per patient per decision)", file=sys.stderr)
    results = evaluate_sharded(args.policy, args.env, args.seed, args.out,
                               make_policy=make_policy, scenario=args.scenario,
                               cohort=None if cohort is None else cohort.patients,
                               cohort_file=args.cohort,
                               n_patients=None if cohort is not None else n_patients,
                               parameter_replicates=args.parameter_uncertainty,
                               **scale_options(args))
    if cohort is not None:  # text ids (P001): the env pinned row positions
        results = restore_ids(results, cohort, args.out / "results.parquet")
    reference = args.reference or policies[0].name
    spec = outcome_spec(core)
    summary = summarise(results, reference, spec.scores, seed=args.seed)
    context = evaluation_context(args.env, args.scenario, policies, args.parameter_uncertainty)
    markdown = summary_markdown(summary, reference, n_patients, context)
    figures: list[Any] = []
    written_subgroups: list[Path] = []
    if args.by:
        figures, written_subgroups = write_subgroups(results, args.by, covariates, reference,
                                                     args, spec)
    header = ReportHeader(env_id=args.env, scenario=args.scenario, seed=args.seed,
                          n_patients=n_patients, cohort_file=args.cohort,
                          replicates=args.parameter_uncertainty, context=context,
                          reference=reference)
    written = [*write_report(results, summary, markdown, args.out, spec, figures,
                             header=header),
               *written_subgroups, args.out / "results.parquet", args.out / "shards"]
    print(markdown)
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def check_subgroups(env_id: str, by: list[str]) -> list[str]:
    """The env's cohort columns, after checking every ``--by`` can be formed from them.

    Raises:
        ValueError: a ``--by`` is neither a categorical cohort column (labels or whole
            numbers) nor a band derivable from the cohort's columns.
    """
    from pkgym.envs.registry import env_spec
    from pkgym.evaluation.subgroups import subgroup_names

    schema = env_spec(env_id).cohort_schema
    columns = {} if schema is None else dict(schema.columns)
    categorical = [name for name, rule in columns.items() if rule.allowed or rule.integer]
    allowed = subgroup_names(list(columns), categorical)
    unknown = [name for name in by if name not in allowed]
    if unknown:
        raise ValueError(f"--by: {unknown} cannot be formed for {env_id}; allowed: {allowed}")
    return list(columns)


def write_subgroups(results: Any, by: list[str], covariates: list[str], reference: str,
                    args: argparse.Namespace, spec: Any) -> tuple[list[Any], list[Path]]:
    """subgroups.csv and .md, and the forest plot of the env's first score."""
    from pkgym.evaluation.subgroups import forest_figure, subgroup_table
    from pkgym.io import write_table, write_text

    table = subgroup_table(results, by, covariates, reference, list(spec.scores), seed=args.seed)
    first = next(iter(spec.scores))
    figure = forest_figure(table, first, spec.scores[first], reference)
    lines = ["| subgroup | level | n | policy | score | mean [95% CI] | difference [95% CI] |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r.subgroup} | {r.level} | {r.n}{' (small)' if r.small else ''} | "
              f"{r.policy} | {r.score} | {r.mean:.3f} [{r.low:.3f}, {r.high:.3f}] | "
              f"{r.difference:+.3f} [{r.diff_low:+.3f}, {r.diff_high:+.3f}] |"
              for r in table.itertuples()]
    return ([("Subgroups: paired differences", figure)],
            [write_table(table, args.out / "subgroups.csv"),
             write_text("\n".join(lines) + "\n", args.out / "subgroups.md")])


def _evaluation_cohort(args: argparse.Namespace, core: Any) -> tuple[Any, int]:
    """The user's ``--cohort`` file, validated (or ``None``: sample one); the patient count.

    The file is read by :func:`pkgym.evaluation.cohort_file.read_cohort_file`: every bad
    cell named by row, line and column, before the output folder exists.
    """
    from pkgym.evaluation.cohort_file import read_cohort_file

    if args.cohort is None:
        n_patients = 500 if args.n_patients is None else args.n_patients
        if n_patients < 1:
            raise ValueError(f"--n-patients must be >= 1, got {n_patients}")
        return None, n_patients
    if args.n_patients is not None:
        raise ValueError("--n-patients does not apply with --cohort (the file sets the cohort)")
    cohort = read_cohort_file(args.cohort, args.env, core)
    return cohort, len(cohort.patients)


def trusting(make_policy: Callable[..., Any]) -> Callable[..., Any]:
    """``make_policy`` with ``trust_model_file=True`` (``--trust-model-file``); it pickles.

    Examples:
        >>> def make(spec, core, **kwargs):
        ...     return kwargs
        >>> trusting(make)("sb3:model.zip", None), trusting(make).__qualname__
        ({'trust_model_file': True}, 'make[trust_model_file]')
    """
    factory = partial(make_policy, trust_model_file=True)
    factory.__module__ = make_policy.__module__  # type: ignore[attr-defined]
    factory.__qualname__ = f"{make_policy.__qualname__}[trust_model_file]"  # type: ignore[attr-defined]
    return factory
