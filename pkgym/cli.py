"""The ``pkgym`` command line: parse, call the library, print. Nothing else lives here.

:func:`main` is the one place where a failure becomes a message: one line on stderr and an
exit status (:data:`EXIT_STATUSES`); the traceback only with ``--debug``.
"""

from __future__ import annotations

import argparse
import errno
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from pkgym.commands.dataset import add_dataset
from pkgym.commands.evaluate import add_evaluate
from pkgym.commands.listing import add_list
from pkgym.commands.simulate import add_simulate
from pkgym.commands.trial import add_trial
from pkgym.commands.validate import add_validate


def make_policy(spec: str, core: Any, **kwargs: Any) -> Any:
    """``agents.policies.registry.make_policy``, loaded lazily: the CLI is the door to agents."""
    from agents.policies.registry import make_policy as factory

    return factory(spec, core, **kwargs)


def phase_one_design(spec: str, scenario: Any) -> Any:
    """The design ``--design`` names: a published one, or a learned policy (``kind:target``).

    Module-level so that the shards of ``pkgym trial --design`` can rebuild it in a Ray worker.
    """
    from pkgym.trials.report import DESIGNS, make_design

    if ":" in spec and spec.partition(":")[0] not in DESIGNS:
        # a pkgym/DoseFinding-v0 policy (sb3:PATH.zip, module:callable)
        from agents.policies.dose_finding.baselines import learned_design

        return learned_design(spec, scenario)
    return make_design(spec, scenario)  # a published design, with options (boin:key=value)


EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
EXIT_STATUSES = ("exit status: 0 done; 1 failed (disk full, Ray cluster unreachable, an internal "
                 "error); 2 usage or input error (bad flag, file or value, unknown env id); "
                 "130 interrupted by Ctrl-C (every file written is complete: none is left "
                 "half-written)")
INPUT_ERRORS = (ValueError, FileNotFoundError, IsADirectoryError, NotADirectoryError,
                PermissionError)
"""Errors of the user's input (exit 2): bad values and files. Others exit 1."""


class RayUnavailableError(ConnectionError):
    """``--ray-address`` names no Ray cluster this machine can connect to."""


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit 2), not the usage."""

    def error(self, message: str) -> NoReturn:
        """Print ``PROG: error: MESSAGE`` and exit 2."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``pkgym`` argument parser with every subcommand.

    Examples:
        >>> build_parser().prog
        'pkgym'
    """
    parser = OneLineParser(prog="pkgym", description="Drug-dosing environments.",
                           epilog=EXIT_STATUSES)
    parser.add_argument("--debug", action="store_true",
                        help="on an error, print the Python traceback too")
    parser.add_argument("--version", action="version", version=f"pkgym {_version()}")
    from agents.commands import add_benchmark, add_train, add_train_vae, add_tune
    from agents.offline.commands import run_minari_dataset
    from agents.offline.ope_cli import add_ope
    from agents.offline.train_command import add_train_offline

    commands = parser.add_subparsers(dest="command", required=True)
    add_simulate(commands)
    add_evaluate(commands, make_policy=make_policy)
    add_benchmark(commands)
    add_tune(commands)
    add_train(commands)
    add_train_vae(commands)
    add_train_offline(commands)
    add_trial(commands, make_policy=make_policy, make_design=phase_one_design)
    add_validate(commands)
    add_list(commands, make_policy=make_policy)
    add_dataset(commands, make_policy=make_policy, write_minari=run_minari_dataset)
    add_ope(commands, make_policy=make_policy)
    for command in commands.choices.values():  # --debug also after the subcommand
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="on an error, print the Python traceback too")
    return parser


def _version() -> str:
    """The installed pkgym's version (``0+unknown`` when it is not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pkgym")
    except PackageNotFoundError:
        return "0+unknown"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pkgym`` console script: run one subcommand, return its exit status.

    Every failure is one line on stderr (``pkgym COMMAND: ...``) and a non-zero status
    (:data:`EXIT_STATUSES`); ``--debug`` prints the traceback above it.
    """
    args = build_parser().parse_args(argv)
    try:
        check_before_work(args)
        return args.func(args)
    except (Exception, KeyboardInterrupt) as error:
        status, message = describe_failure(error, args)
        if args.debug:
            traceback.print_exc()
        print(f"pkgym {args.command}: {message}", file=sys.stderr)
        return status


def check_before_work(args: argparse.Namespace) -> None:
    """Refuse an unknown env id, and connect to ``--ray-address``, before any work.

    Raises:
        pkgym.envs.registry.UnknownEnvError: ``--env``/``--envs`` names no registered env
            (the message lists the registered ids).
        RayUnavailableError: no Ray cluster answers at ``--ray-address``.
    """
    from pkgym.envs.registry import UnknownEnvError, env_spec

    env_ids = [("--env", args.env)] if isinstance(getattr(args, "env", None), str) else []
    env_ids += [("--envs", env_id) for env_id in getattr(args, "envs", None) or ()]
    for flag, env_id in env_ids:
        try:
            env_spec(env_id)
        except UnknownEnvError as error:
            raise UnknownEnvError(f"{flag}: {error}") from None
    address = getattr(args, "ray_address", None)
    if address is not None and getattr(args, "backend", None) == "ray":
        from pkgym.scale.backend import ensure_ray

        try:
            ensure_ray(address)
        except ValueError:
            raise
        except Exception as error:  # Ray raises ConnectionError, RuntimeError, TimeoutError
            raise RayUnavailableError(f"cannot connect to the Ray cluster at --ray-address "
                                      f"{address!r}: {_one_line(error)}") from error


def describe_failure(error: BaseException, args: argparse.Namespace) -> tuple[int, str]:
    """The exit status and the one-line message of a failed command.

    Examples:
        >>> import errno
        >>> describe_failure(OSError(errno.ENOSPC, "No space left", "out/a.csv"), None)
        (1, 'error: disk full while writing out/a.csv')
        >>> describe_failure(ValueError("--seed must be >= 0"), None)
        (2, 'error: --seed must be >= 0')
    """
    cause = getattr(error, "cause", None)  # a Ray task's error carries the worker's
    error = cause if isinstance(cause, BaseException) else error
    if isinstance(error, KeyboardInterrupt):
        out = getattr(args, "out", None)
        resume = (f"; rerun the same command to resume from the finished shards in "
                  f"{Path(out) / 'shards'}" if out is not None
                  and (Path(out) / "shards").is_dir() else "")
        return EXIT_INTERRUPTED, f"interrupted; no file was left half-written{resume}"
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return EXIT_FAILURE, f"error: disk full while writing {error.filename or 'the output'}"
    if isinstance(error, RayUnavailableError):
        return EXIT_FAILURE, f"error: {_one_line(error)}"
    if isinstance(error, INPUT_ERRORS):
        return EXIT_USAGE, f"error: {_one_line(error)}"
    return EXIT_FAILURE, (f"error: {type(error).__name__}: {_one_line(error)} (rerun with "
                          f"--debug for the traceback)")


def _one_line(error: BaseException) -> str:
    r"""The error's message on one line (its lines joined), or its type's name.

    Examples:
        >>> _one_line(ValueError("a\n  b"))
        'a b'
    """
    return " ".join(line.strip() for line in str(error).splitlines() if line.strip()) or (
        type(error).__name__)


if __name__ == "__main__":
    sys.exit(main())
