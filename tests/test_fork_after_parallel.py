"""A process that ran a parallel kernel can still fork (AsyncVectorEnv, multiprocessing)."""

from __future__ import annotations

import os

import gymnasium as gym
import numpy as np

import pkgym  # noqa: F401


def test_fork__after_a_parallel_warfarin_day_the_child_runs_it_again() -> None:
    """GNU OpenMP would terminate the child; pkgym asks numba for a fork-safe layer."""
    vec = gym.make_vec("pkgym/Warfarin-v1", num_envs=4096, vectorization_mode="vector_entry_point")
    vec.reset(seed=0)
    vec.step(np.full(4096, 5))
    pid = os.fork()
    if pid == 0:  # the child: step the inherited env again, exit 0 only if it worked
        code = 1
        try:
            vec.step(np.full(4096, 5))
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
