"""``pkgym list``: the env ids, and for one env its baselines, cohort columns and scenario."""

from __future__ import annotations

import argparse
import importlib
import math
import re
from collections.abc import Callable
from functools import partial
from typing import Any


def add_list(commands: argparse._SubParsersAction, *,
             make_policy: Callable[..., Any]) -> None:
    """The ``list`` subcommand."""
    ls = commands.add_parser(
        "list", help="list the env ids; with --env, its baselines and cohort columns",
        description="Without --env: every registered env id with its first docstring line. "
                    "With --env ID: the policies --policy accepts (each baseline as you pass "
                    "it and as results name it), the columns a --cohort file must have (unit "
                    "and allowed range or labels) and the scenario type.")
    ls.add_argument("--env", help="an environment id, e.g. pkgym/Vancomycin-v0")
    ls.set_defaults(func=partial(_list, make_policy=make_policy))


def _list(args: argparse.Namespace, make_policy: Callable[..., Any]) -> int:
    print(env_table() if args.env is None else env_details(args.env, make_policy))
    return 0


def env_table() -> str:
    """One line per registered env: its id and the first line of its docstring.

    Examples:
        >>> "pkgym/Vancomycin-v0" in env_table()
        True
    """
    from pkgym.envs.registry import env_specs

    lines = ["env id                     what it is", "-" * 78]
    for spec in env_specs():
        entry = spec.entry_point
        if isinstance(entry, str):
            module, _, name = entry.partition(":")
            entry = getattr(importlib.import_module(module), name)
        doc = (entry.__doc__ or "").strip().splitlines()
        lines.append(f"{spec.env_id:<26} {_plain(doc[0]) if doc else ''}")
    lines.append("\n`pkgym list --env ID` shows an env's baselines and cohort columns.")
    return "\n".join(lines)


def env_details(env_id: str, make_policy: Callable[..., Any]) -> str:
    """An env's baselines (name passed -> name in results), cohort columns and scenario type."""
    import gymnasium as gym

    from pkgym.envs.registry import env_spec

    spec = env_spec(env_id)
    core = gym.make_vec(env_id, num_envs=1, vectorization_mode="vector_entry_point"
                        ).unwrapped.core  # type: ignore[attr-defined]
    lines = [env_id, "", "policies (--policy): baseline as passed -> as results name it"]
    for name in spec.baselines:
        try:
            reported = make_policy(name, core).name
        except ValueError as error:
            reported = f"(needs more than its name: {str(error).split(' (available')[0]})"
        lines.append(f"  {name:<28} -> {reported}")
    lines += ["  NAME:key=value               a baseline with options (e.g. map:prior=MODEL)",
              "  sb3:PATH.zip                 a model trained by `pkgym train`",
              "  module:callable              your own: a Policy class or f(observation) -> doses",
              ""]
    if spec.cohort_schema is None:
        lines.append("cohort (--cohort): this env has no covariate cohort")
    else:
        lines.append("cohort (--cohort): a .csv or .parquet file, one row per patient, with")
        lines.append("  id                           patient id (any unique value)")
        for column, rule in spec.cohort_schema.columns.items():
            lines.append(f"  {column:<28} {_rule_text(rule)}")
        lines.append("  eta_<name> (optional)        the model's random effects; absent: drawn "
                     "from the patient's noise stream")
        lines.append("  other columns are kept out of the env's rows (e.g. your own labels)")
    scenario = spec.scenario_type.__name__ if spec.scenario_type is not None else "none"
    lines += ["", f"scenario (--scenario YAML): {scenario} fields; `env: {env_id}` first"]
    return "\n".join(lines)


def _plain(text: str) -> str:
    """A docstring line without reST roles and literals.

    Examples:
        >>> _plain("``pkgym/Warfarin-v1``: :class:`WarfarinEnv` with IWPC patients.")
        'pkgym/Warfarin-v1: WarfarinEnv with IWPC patients.'
    """
    return re.sub(r":\w+:`~?([^`]+)`", r"\1", text).replace("``", "")


def _rule_text(rule: Any) -> str:
    """``labels a, b`` or ``numeric [low, high] unit`` (``integer`` where whole numbers).

    Examples:
        >>> from pkgym.populations.cohort import ColumnRule
        >>> _rule_text(ColumnRule(low=20, high=250, unit="kg"))
        'numeric in [20, 250] kg'
        >>> _rule_text(ColumnRule(allowed=("*1/*1", "*1/*2")))
        'one of *1/*1, *1/*2'
    """
    if rule.allowed is not None:
        return "one of " + ", ".join(rule.allowed)
    kind = "integer" if rule.integer else "numeric"
    low = "-inf" if math.isinf(rule.low) else f"{rule.low:g}"
    high = "inf" if math.isinf(rule.high) else f"{rule.high:g}"
    return f"{kind} in [{low}, {high}] {rule.unit}".rstrip()
