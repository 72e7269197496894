"""One leaderboard over every registered env: PPO and A2C x 2 seeds (issue 20, item 5).

Run (about 10-25 min on 2 busy cores; reruns skip finished runs and merge into the table)::

    .venv/bin/python -m benchmarks.benchmark_sweep OUT [--timesteps 4096] [--n-patients 30]

which runs ``pkgym benchmark --env <every pkgym/ id> --algo ppo --algo a2c --seed 0
--seed 1 --timesteps 4096 --n-patients 30 --device cpu --out OUT`` and prints
``OUT/leaderboard.md``. A2C is the second algorithm because, like PPO, it acts in the
``Discrete`` dose spaces every env has by default (SAC needs ``continuous=True``, which
Addiction-v0 lacks; DQN works too but is slower per step). ``--skip ID`` leaves envs out.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import gymnasium as gym

import pkgym  # noqa: F401  (registers the envs)


def command(out: Path, timesteps: int, n_patients: int, skip: list[str]) -> list[str]:
    """The ``pkgym benchmark`` command line of the sweep.

    Examples:
        >>> " ".join(command(Path("out"), 64, 5, []))[:40]
        'pkgym benchmark --env pkgym/Vancomycin-v'
    """
    envs = [k for k in gym.registry if k.startswith("pkgym/") and k not in skip]
    return ["pkgym", "benchmark", *(a for e in envs for a in ("--env", e)), "--algo", "ppo",
            "--algo", "a2c", "--seed", "0", "--seed", "1", "--timesteps", str(timesteps),
            "--n-patients", str(n_patients), "--device", "cpu", "--out", str(out)]


def main() -> int:
    """Run the sweep."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--timesteps", type=int, default=4096)
    parser.add_argument("--n-patients", type=int, default=30)
    parser.add_argument("--skip", nargs="*", default=[])
    args = parser.parse_args()
    argv = command(args.out, args.timesteps, args.n_patients, args.skip)
    exe = Path(sys.executable).with_name("pkgym")
    return subprocess.call([str(exe), *argv[1:]])


if __name__ == "__main__":
    raise SystemExit(main())
