"""``pkgym dataset --format minari``: an offline-RL dataset of stochastic clinicians.

:mod:`pkgym.commands.dataset` parses the flags and hands ``--format minari`` to
:func:`run_minari_dataset` (injected by :mod:`pkgym.cli`, since pkgym never imports agents).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from agents.offline.behaviour import DEFAULT_EPSILON, DEFAULT_SD_LEVELS

DEFAULT_PATIENTS = 100


def split_policies(text: str) -> tuple[str, ...]:
    """``POLICY[,POLICY...]`` as policy specs; ``key=value`` pieces stay with their policy.

    Examples:
        >>> split_policies("label,trough")
        ('label', 'trough')
        >>> split_policies("map:prior=a,sigma=b,aurora")
        ('map:prior=a,sigma=b', 'aurora')
    """
    specs: list[str] = []
    for piece in (p.strip() for p in text.split(",")):
        if specs and "=" in piece and ":" not in piece:
            specs[-1] += "," + piece  # an option of the previous policy (NAME:key=value,...)
        else:
            specs.append(piece)
    if any(not spec for spec in specs):
        raise ValueError(f"--policy: an empty name in {text!r} (POLICY[,POLICY...])")
    return tuple(specs)


def check_minari_flags(args: argparse.Namespace) -> tuple[Any, int]:
    """The behaviour spec and cohort size of the flags; one-line errors naming the flag.

    Examples:
        >>> args = argparse.Namespace(policy="label,trough", n_patients=None, seed=0,
        ...     cohort=None, behaviour_epsilon=None, behaviour_sd_levels=0.0)
        >>> spec, n = check_minari_flags(args)
        >>> spec.policies, spec.epsilon, spec.sd_levels, n
        (('label', 'trough'), 0.1, 0.0, 100)
    """
    from agents.offline.behaviour import BehaviourSpec

    if args.cohort is not None:
        raise ValueError("--cohort does not apply with --format minari (its patients come "
                         "from the training seed space: --n-patients and --seed)")
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    n = DEFAULT_PATIENTS if args.n_patients is None else args.n_patients
    if n < 1:
        raise ValueError(f"--n-patients must be >= 1, got {n}")
    epsilon = DEFAULT_EPSILON if args.behaviour_epsilon is None else args.behaviour_epsilon
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"--behaviour-epsilon must be in [0, 1], got {epsilon}")
    sd = DEFAULT_SD_LEVELS if args.behaviour_sd_levels is None else args.behaviour_sd_levels
    if not sd >= 0.0 or sd == float("inf"):
        raise ValueError(f"--behaviour-sd-levels must be a finite number >= 0, got {sd}")
    policies = split_policies(args.policy)
    return BehaviourSpec(policies=policies, epsilon=epsilon, sd_levels=sd), n


def run_minari_dataset(args: argparse.Namespace, make_policy: Callable[..., Any]) -> int:
    """Check the flags, write the dataset atomically, print what was written.

    Raises:
        ValueError: a bad flag (one line naming it), before any output exists.
    """
    from agents.offline.dataset import collect_dataset, dataset_id_for

    spec, n = check_minari_flags(args)
    progress = _progress if sys.stderr.isatty() else None
    path = collect_dataset(args.env, spec, n, args.seed, args.out, scenario=args.scenario,
                           progress=progress, make_policy=make_policy)
    if progress is not None:
        print(file=sys.stderr)
    dataset_id = dataset_id_for(args.env, spec)
    print(f"{n} patients of {args.env} (training seed space, seed {args.seed}), behaviour "
          f"{'+'.join(spec.policies)} (epsilon {spec.epsilon}, sd {spec.sd_levels} levels)")
    print(f"wrote {path}")
    print(f"load: MINARI_DATASETS_PATH={args.out} python -c \"import minari; "
          f"d = minari.load_dataset('{dataset_id}')\"")
    return 0


def _progress(done: int, total: int) -> None:
    """One progress line on stderr (rewritten in place)."""
    print(f"\r{done}/{total} patients", end="", file=sys.stderr, flush=True)
