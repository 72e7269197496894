"""The ``pkgym`` command line: parse, call the library, print. Nothing else lives here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from pkgym.commands.evaluate import add_evaluate
from pkgym.commands.simulate import add_simulate
from pkgym.commands.trial import add_trial


def make_policy(spec: str, core: Any, **kwargs: Any) -> Any:
    """``agents.policies.registry.make_policy``, loaded lazily: the CLI is the door to agents."""
    from agents.policies.registry import make_policy as factory

    return factory(spec, core, **kwargs)


def phase_one_design(spec: str, scenario: Any) -> Any:
    """The design ``--design`` names: a published one, or a learned policy (``kind:target``).

    Module-level so that the shards of ``pkgym trial --design`` can rebuild it in a Ray worker.
    """
    if ":" in spec:  # a pkgym/DoseFinding-v0 policy (sb3:PATH.zip, module:callable)
        from agents.policies.dose_finding.baselines import learned_design

        return learned_design(spec, scenario)
    from pkgym.trials.report import make_design

    return make_design(spec, scenario)


def build_parser() -> argparse.ArgumentParser:
    """The ``pkgym`` argument parser with every subcommand.

    Examples:
        >>> build_parser().prog
        'pkgym'
    """
    parser = argparse.ArgumentParser(prog="pkgym", description="Drug-dosing environments.")
    from agents.commands import add_benchmark, add_train, add_train_vae, add_tune

    commands = parser.add_subparsers(dest="command", required=True)
    add_simulate(commands)
    add_evaluate(commands, make_policy=make_policy)
    add_benchmark(commands)
    add_tune(commands)
    add_train(commands)
    add_train_vae(commands)
    add_trial(commands, make_policy=make_policy, make_design=phase_one_design)
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
