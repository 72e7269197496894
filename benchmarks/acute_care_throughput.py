"""Acute-care infusions side by side: Propofol-v0 and Heparin-v0 against anesthesim and hemosim.

    bash benchmarks/peers/setup_venv.sh          # once: the peers in their own venv
    python -m benchmarks.acute_care_throughput [--out out/acute_care_throughput]

One run, one table: for each env, the single env's steps/s (whole seeded random episodes,
resets included), the batched figure (pkgym: its native vector env at 1 000 and 10 000
patients; the peers: Gymnasium's ``SyncVectorEnv`` over 1 000 copies, as they have no batched
env), simulated hours per second at the largest batch, and whether Gymnasium's env checker
passes. pkgym's figures come from :mod:`benchmarks.env_throughput` (the same functions that
time every registered env); the peers' from ``benchmarks/peers/throughput.py``, run in
``.venv-peers``. The load average is printed before and after (time on a quiet machine).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import pandas as pd

import pkgym  # noqa: F401
from benchmarks.env_throughput import (
    batched_steps_per_s,
    horizon,
    load_average,
    single_env_steps_per_s,
)
from benchmarks.peers.throughput import checker
from pkgym.io import write_atomic, write_table

ROOT = Path(__file__).resolve().parents[1]
PEERS_VENV = ROOT / ".venv-peers"
PKGYM_ENVS = {"pkgym/Propofol-v0": 10 / 60, "pkgym/Heparin-v0": 6 * 60.0}
"""pkgym env -> simulated minutes per step (each env card's decision interval)."""
SIZES = (1_000, 10_000)


def pkgym_rows(repeats: int) -> list[dict]:
    """One row per (pkgym env, batch size)."""
    rows = []
    for env_id, minutes in PKGYM_ENVS.items():
        steps = horizon(env_id)
        single = statistics.median(single_env_steps_per_s(env_id) for _ in range(repeats))
        for n in SIZES:
            batched = statistics.median(
                batched_steps_per_s(env_id, n, stepping_only=False, episode_steps=steps)
                for _ in range(repeats))
            rows.append({"env": env_id, "episode_steps": steps, "step_minutes": minutes,
                         "single": single, "batch": f"native vector env, N={n}",
                         "batched": batched, "checker": checker(env_id)})
    return rows


def peer_rows(repeats: int) -> list[dict]:
    """One row per peer env, measured in ``.venv-peers`` (none when it is missing)."""
    python = PEERS_VENV / "bin" / "python"
    if not python.exists():
        print(f"no {PEERS_VENV}: run `bash benchmarks/peers/setup_venv.sh` to time the peers",
              file=sys.stderr)
        return []
    done = subprocess.run(  # noqa: S603 - our own script in our own venv
        [str(python), str(ROOT / "benchmarks" / "peers" / "throughput.py"),
         "--n-vector", str(SIZES[0]), "--repeats", str(repeats)],
        capture_output=True, text=True, check=True)
    rows = []
    for line in done.stdout.splitlines():
        peer = json.loads(line)
        rows.append({"env": peer["env"], "episode_steps": peer["episode_steps"],
                     "step_minutes": peer["step_minutes"], "single": peer["single"],
                     "batch": f"SyncVectorEnv, N={peer['n_vector']}",
                     "batched": peer["vector"], "checker": peer["checker"]})
    return rows


def table(rows: list[dict]) -> str:
    """The markdown table of :func:`pkgym_rows` and :func:`peer_rows`."""
    lines = ["| env | step | episode steps (random actions) | single env steps/s | batched "
             "| patient-steps/s | simulated patient-hours/s | Gymnasium checker |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        step = (f"{row['step_minutes'] * 60:.0f} s" if row["step_minutes"] < 1
                else f"{row['step_minutes'] / 60:g} h" if row["step_minutes"] >= 60
                else f"{row['step_minutes']:g} min")
        hours = row["batched"] * row["step_minutes"] / 60
        lines.append(f"| {row['env']} | {step} | {row['episode_steps']} | {row['single']:,.0f} "
                     f"| {row['batch']} "
                     f"| {row['batched']:,.0f} | {hours:,.0f} | {row['checker']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Time pkgym's and the peers' envs; print and write the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/acute_care_throughput"))
    parser.add_argument("--repeats", type=int, default=3, help="timings per figure (median)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    before = load_average()
    rows = pkgym_rows(args.repeats) + peer_rows(args.repeats)
    text = (f"load average before: {before}, after: {load_average()}\n\n" + table(rows))
    args.out.mkdir(parents=True, exist_ok=True)
    write_table(pd.DataFrame(rows), args.out / "throughput.csv")
    write_atomic(args.out / "throughput.md", lambda tmp: tmp.write_text(text))
    print(text)


if __name__ == "__main__":
    main()
