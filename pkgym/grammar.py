"""One grammar for every subcommand, and the old spellings kept one release as aliases.

The grammar: a cohort size is ``--n-patients``; a list is a repeated flag (``--policy A
--policy B``, ``--env A --env B``); a policy is named in results as it was passed. An old
spelling (``simulate --n``, ``trial --pool``, ``trial --arms A,B``, ``benchmark --envs A B``,
``train --n-validation``, ...) still works for one release and prints one line on stderr
naming its replacement (:func:`deprecated`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

REMOVED_IN = "0.3.0"
"""The release that drops the deprecated spellings."""


def deprecated(new: str, *, extend: bool = False,
               split: Callable[[str], list[str]] | None = None) -> type[argparse.Action]:
    """An argparse action for an old spelling: warn once on stderr, then store like ``new``.

    Args:
        new: the flag that replaces it (named in the warning).
        extend: add the values to the list of the new (repeated) flag instead of storing.
        split: turn the one string value into a list first (e.g. a comma-separated list).

    Examples:
        >>> parser = argparse.ArgumentParser(prog="pkgym simulate")
        >>> _ = parser.add_argument("--n-patients", type=int)
        >>> _ = parser.add_argument("--n", dest="n_patients", type=int,
        ...                         action=deprecated("--n-patients"), help=argparse.SUPPRESS)
        >>> import contextlib, io
        >>> with contextlib.redirect_stderr(io.StringIO()) as err:
        ...     parser.parse_args(["--n", "5"]).n_patients
        5
        >>> err.getvalue().strip()
        'pkgym simulate: --n is deprecated (removed in 0.3.0); use --n-patients'
    """

    class Deprecated(argparse.Action):
        def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                     values: Any, option_string: str | None = None) -> None:
            print(f"{parser.prog}: {option_string} is deprecated (removed in {REMOVED_IN}); "
                  f"use {new}", file=sys.stderr)
            if split is not None:
                values = split(values)
            if extend:
                current = list(getattr(namespace, self.dest, None) or [])
                values = current + list(values if isinstance(values, list | tuple) else [values])
            setattr(namespace, self.dest, values)

    return Deprecated


def comma_list(text: str) -> list[str]:
    """``"a, b,c"`` as ``["a", "b", "c"]`` (the old comma-separated lists).

    Examples:
        >>> comma_list("label, map")
        ['label', 'map']
    """
    return [part.strip() for part in text.split(",") if part.strip()]


def require(args: argparse.Namespace, dest: str, flag: str) -> Sequence[Any]:
    """The non-empty list ``args.<dest>``; a one-line ValueError naming ``flag`` if empty.

    For repeated flags that replace a required list flag (either spelling may supply it, so
    argparse cannot require one of them).

    Examples:
        >>> require(argparse.Namespace(envs=["pkgym/Vancomycin-v0"]), "envs", "--env")
        ['pkgym/Vancomycin-v0']
        >>> require(argparse.Namespace(envs=None), "envs", "--env")
        Traceback (most recent call last):
        ...
        ValueError: --env is required (repeat it for several values)
    """
    values = getattr(args, dest, None)
    if not values:
        raise ValueError(f"{flag} is required (repeat it for several values)")
    return list(values)
