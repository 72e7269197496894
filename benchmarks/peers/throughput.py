"""Throughput of the peer simulators anesthesim and hemosim; run inside ``.venv-peers``.

    .venv-peers/bin/python benchmarks/peers/throughput.py [--n-vector 1000] [--repeats 3]

Prints one JSON object per peer env (one line each) with the same figures that
``benchmarks.acute_care_throughput`` measures for pkgym's envs, measured the same way:

* ``single``: steps/s of one unwrapped env playing seeded random actions for whole episodes,
  resets included (seeded once, then ``reset()`` per episode);
* ``vector``: patient-steps/s of Gymnasium's ``SyncVectorEnv`` over ``n_vector`` copies (the
  peers have no batched env of their own), over one episode's steps (at least 50) with
  autoresets;
* ``step_minutes``: simulated minutes per step (read from the peer's own env), so that
  figures can also be compared as simulated hours per second;
* ``checker``: Gymnasium's ``check_env`` on the unwrapped env: ``"pass"`` or the first error or
  warning it raised.

It imports no pkgym code (pkgym's venv never installs the peers).
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import statistics
import time
import warnings
from collections.abc import Callable

import gymnasium as gym
import numpy as np
from gymnasium.utils.env_checker import check_env

PEERS: dict[str, tuple[str, Callable[[gym.Env], float]]] = {
    # anesthesim registers its envs when asked; its step is ``dt`` minutes (0.5 by default)
    "anesthesim/PropofolControl-v0": ("anesthesim.envs", lambda env: float(env.dt)),
    # hemosim registers on import; decisions every STEP_HOURS (6) hours
    "hemosim/HeparinInfusion-v0": (
        "hemosim.envs",
        lambda env: 60.0 * importlib.import_module(
            "hemosim.envs.heparin_infusion").STEP_HOURS),
}
"""Peer env id -> (module that registers it, simulated minutes per step)."""


def _register(module: str) -> None:
    registered = importlib.import_module(module)
    if hasattr(registered, "register_envs"):
        registered.register_envs()


def single_steps_per_s(env_id: str, min_steps: int = 3_000, seed: int = 0) -> float:
    """Steps/s of one unwrapped env over whole seeded random episodes, resets included.

    Seeded once, as a training loop does; every later episode is a plain ``reset()``. One
    step before timing warms caches (and compiles pkgym's kernels). Also
    :func:`benchmarks.env_throughput.single_env_steps_per_s`, which times pkgym's envs.
    """
    env = gym.make(env_id).unwrapped
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(64)]
    env.reset(seed=seed)
    env.step(actions[0])
    env.reset(seed=seed)
    start, steps = time.perf_counter(), 0
    while steps < min_steps:
        if steps:
            env.reset()
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(actions[steps % len(actions)])
            steps, done = steps + 1, terminated or truncated
    return steps / (time.perf_counter() - start)


def vector_steps_per_s(env_id: str, n: int, n_steps: int, seed: int = 0) -> float:
    """Patient-steps/s of ``SyncVectorEnv`` over ``n`` copies, ``n_steps`` autoresetting steps."""
    vec = gym.vector.SyncVectorEnv([lambda: gym.make(env_id) for _ in range(n)])
    vec.action_space.seed(seed)
    actions = [vec.action_space.sample() for _ in range(8)]
    vec.reset(seed=seed)
    start = time.perf_counter()
    for step in range(n_steps):
        vec.step(actions[step % len(actions)])
    elapsed = time.perf_counter() - start
    vec.close()
    return n * n_steps / elapsed


def episode_steps(env_id: str, seed: int = 0) -> int:
    """Steps of the longest of 4 seeded random episodes (capped at 400)."""
    env = gym.make(env_id).unwrapped
    env.action_space.seed(seed)
    longest = 0
    for episode in range(4):
        env.reset(seed=seed + episode)
        steps, done = 0, False
        while not done and steps < 400:
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            steps, done = steps + 1, terminated or truncated
        longest = max(longest, steps)
    return longest


def checker(env_id: str) -> str:
    """``"pass"``, or the first error or warning of Gymnasium's env checker."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            check_env(gym.make(env_id).unwrapped, skip_render_check=True)
        except Exception as error:  # noqa: BLE001 - reported, not handled
            text = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).splitlines()[0]  # no colours
            return f"{type(error).__name__}: {text[:120]}"
    return "pass"


def main() -> None:
    """One JSON line per peer env."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-vector", type=int, default=1000)
    parser.add_argument("--min-steps", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    np.seterr(all="ignore")
    for env_id, (module, step_minutes) in PEERS.items():
        _register(module)
        steps = episode_steps(env_id)
        single = statistics.median(single_steps_per_s(env_id, args.min_steps)
                                   for _ in range(args.repeats))
        vector = statistics.median(vector_steps_per_s(env_id, args.n_vector, max(steps + 1, 50))
                                   for _ in range(args.repeats))
        print(json.dumps({"env": env_id, "episode_steps": steps,
                          "step_minutes": step_minutes(gym.make(env_id).unwrapped),
                          "single": single, "n_vector": args.n_vector, "vector": vector,
                          "checker": checker(env_id)}), flush=True)


if __name__ == "__main__":
    main()
