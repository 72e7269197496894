"""Throughput of every registered env: one env, and the native vector env at 1 to 10^5 patients.

    python -m benchmarks.env_throughput                    # every env, N = 1 ... 10^5
    python -m benchmarks.env_throughput --env pkgym/Vancomycin-v0 --n-patients 10000

Random actions (seeded), the median of ``--repeats`` timings, the load average printed first
and last. Three figures per env and batch size:

* **single env steps/s**: one ``gym.make`` env playing whole episodes, resets included
  (seeded once, then ``reset()`` per episode);
* **stepping only**: patient-steps/s of the vector env over the first steps after a reset
  (at most ``horizon - 1``, so no patient of a fixed-horizon env is reset while timed);
* **with autoresets**: patient-steps/s over the steps that take every patient through the
  end of its episode and into the next (Gymnasium's NEXT_STEP autoreset), so the cost of a
  reset is counted at the rate an env really pays it.

The cost per patient (microseconds per patient-step with autoresets) is the figure that should
fall or stay flat as N grows.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Sequence

import gymnasium as gym
import numpy as np

import pkgym  # noqa: F401
from benchmarks.peers.throughput import single_steps_per_s as single_env_steps_per_s
from pkgym.envs.registry import env_specs

DEFAULT_SIZES = (1, 10, 100, 1_000, 10_000, 100_000)
MAX_STEPS = 400
"""Cap on the steps of one autoreset timing (an env whose episodes never end in time)."""


def _actions(space: gym.Space, n_steps: int, seed: int) -> list[np.ndarray]:
    """``n_steps`` seeded batched random actions for a batched action space."""
    space.seed(seed)
    pool = [np.asarray(space.sample()) for _ in range(min(n_steps, 8))]
    return [pool[i % len(pool)] for i in range(n_steps)]


def horizon(env_id: str, seed: int = 0) -> int:
    """Steps of one episode under random actions (the longest of 8 seeded episodes)."""
    env = gym.make(env_id).unwrapped
    env.action_space.seed(seed)
    longest = 0
    for episode in range(8):
        env.reset(seed=seed + episode)
        steps, done = 0, False
        while not done and steps < MAX_STEPS:
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            steps, done = steps + 1, terminated or truncated
        longest = max(longest, steps)
    return longest


def batched_steps_per_s(env_id: str, n: int, *, stepping_only: bool, episode_steps: int,
                        seed: int = 0, after_steps: int = 0) -> float:
    """Patient-steps/s of the native vector env at ``n`` patients (see the module docstring).

    ``after_steps``: untimed steps between the reset and the timed ones (stepping only).
    """
    vec = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point")
    n_steps = max(1, min(10, episode_steps - 1 - after_steps)) if stepping_only else min(
        episode_steps + 1, MAX_STEPS)
    actions = _actions(vec.action_space, n_steps + 1, seed)
    vec.reset(seed=seed)
    vec.step(actions[-1])  # compile and warm caches before timing
    vec.reset(seed=seed)
    for k in range(after_steps if stepping_only else 0):
        vec.step(actions[k % len(actions)])
    start = time.perf_counter()
    for action in actions[:n_steps]:
        vec.step(action)
    elapsed = time.perf_counter() - start
    vec.close()
    return n * n_steps / elapsed


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages (``/proc/loadavg``), printed beside timings."""
    with open("/proc/loadavg", encoding="ascii") as handle:
        return " ".join(handle.read().split()[:3])


def main(argv: Sequence[str] | None = None) -> None:
    """Print the throughput table (markdown)."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", action="append", default=None,
                        help="env id (repeatable; default: every registered env)")
    parser.add_argument("--n-patients", action="append", type=int, default=None,
                        help=f"batch size (repeatable; default: {DEFAULT_SIZES})")
    parser.add_argument("--repeats", type=int, default=3, help="timings per figure (median)")
    parser.add_argument("--after-steps", type=int, default=0,
                        help="stepping only: untimed steps after the reset (default 0: the first "
                        "steps are timed, writing into fresh records)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message=".*is out of date.*")  # v0 ids are timed too
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    if args.after_steps < 0:
        parser.error(f"--after-steps must be >= 0, got {args.after_steps}")
    sizes = tuple(args.n_patients or DEFAULT_SIZES)
    bad = [n for n in sizes if n < 1]
    if bad:
        parser.error(f"--n-patients must be >= 1, got {bad[0]}")
    known = [spec.env_id for spec in env_specs()]
    unknown = sorted(set(args.env or ()) - set(known))
    if unknown:
        parser.error(f"unknown --env {unknown[0]!r}; registered: {', '.join(known)}")
    env_ids = [e for e in known if e in (args.env or known)]
    print(f"load average at start: {load_average()}", flush=True)
    print("| env | episode steps | single env steps/s | N | stepping only | with autoresets "
          "| us per patient-step |")
    print("|---|---|---|---|---|---|---|", flush=True)
    for env_id in env_ids:
        steps = horizon(env_id)
        single = statistics.median(single_env_steps_per_s(env_id) for _ in range(args.repeats))
        for k, n in enumerate(sizes):
            only = statistics.median(
                batched_steps_per_s(env_id, n, stepping_only=True, episode_steps=steps,
                                    after_steps=args.after_steps)
                for _ in range(args.repeats))
            auto = statistics.median(
                batched_steps_per_s(env_id, n, stepping_only=False, episode_steps=steps)
                for _ in range(args.repeats))
            first = (f"{env_id} | {steps} | {single:,.0f}" if k == 0 else " | | ")
            print(f"| {first} | {n:,} | {only:,.0f} | {auto:,.0f} | {1e6 / auto:.3g} |",
                  flush=True)
    print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
