"""Row chunks in threads: the same numbers as one pass, for the kernels that use them."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401
from pkgym.sim import threads
from pkgym.sim.threads import chunk_bounds, map_row_chunks, usable_cores


def test_chunk_bounds__cover_every_row_once() -> None:
    """The chunks are contiguous, ordered and cover every row exactly once."""
    for n in (1, 7, 4096, 10_001):
        for k in (1, 2, 3, 8):
            bounds = chunk_bounds(n, k)
            rows = np.concatenate([np.arange(a, b) for a, b in bounds])
            assert np.array_equal(rows, np.arange(n))


def test_map_row_chunks__raises_a_chunks_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """An error in any chunk reaches the caller."""
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)

    def run(start: int, stop: int) -> None:
        if start == 0:
            raise ValueError("bad patient")

    with pytest.raises(ValueError, match="bad patient"):
        map_row_chunks(run, 2 * threads.MIN_ROWS_PER_THREAD)


def test_usable_cores__refuses_a_bad_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """PKGYM_NUM_THREADS must be a positive integer; 1 switches threads off."""
    monkeypatch.setenv("PKGYM_NUM_THREADS", "two")
    with pytest.raises(ValueError, match="PKGYM_NUM_THREADS"):
        usable_cores()
    monkeypatch.setenv("PKGYM_NUM_THREADS", "1")
    assert usable_cores() == 1


def _rollout(env_id: str, n: int) -> list[np.ndarray]:
    """Observations, rewards and two info arrays of a seeded 16-step random rollout."""
    vec = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point")
    vec.action_space.seed(1)
    obs, _ = vec.reset(seed=5)
    out = [np.concatenate([v.reshape(n, -1) for v in obs.values()], axis=1)]
    for _ in range(16):  # through an autoreset
        obs, reward, _, _, info = vec.step(vec.action_space.sample())
        out += [np.concatenate([v.reshape(n, -1) for v in obs.values()], axis=1), reward,
                info["auc24_mg_h_per_l"], info["creatinine_mg_per_dl"]]
    return out


def test_vancomycin_ward__threads_give_the_same_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ward split over threads is bit-identical to one pass (through an autoreset)."""
    n = 2 * threads.MIN_ROWS_PER_THREAD + 3
    monkeypatch.setattr(threads, "usable_cores", lambda: 1)
    serial = _rollout("pkgym/Vancomycin-v0", n)
    monkeypatch.setattr(threads, "usable_cores", lambda: 3)
    chunked = _rollout("pkgym/Vancomycin-v0", n)
    for a, b in zip(serial, chunked, strict=True):
        assert np.array_equal(a, b)
