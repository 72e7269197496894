"""The ``pkgym`` command line: parse, call the library, print. Nothing else lives here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pkgym.commands.evaluate import add_evaluate
from pkgym.commands.simulate import add_simulate
from pkgym.commands.training import add_benchmark, add_train, add_train_vae, add_tune
from pkgym.commands.trial import add_trial


def build_parser() -> argparse.ArgumentParser:
    """The ``pkgym`` argument parser with every subcommand.

    Examples:
        >>> build_parser().prog
        'pkgym'
    """
    parser = argparse.ArgumentParser(prog="pkgym", description="Drug-dosing environments.")
    commands = parser.add_subparsers(dest="command", required=True)
    add_simulate(commands)
    add_evaluate(commands)
    add_benchmark(commands)
    add_tune(commands)
    add_train(commands)
    add_train_vae(commands)
    add_trial(commands)
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
