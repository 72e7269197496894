"""Row chunks on numba's threads: the same numbers as one pass over the ward."""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numba
import numpy as np
import pytest

import pkgym  # noqa: F401
from pkgym.envs.vancomycin import readout
from pkgym.envs.vancomycin.clinic import AucTargetReward

ENV_ID = "pkgym/Vancomycin-v0"


@dataclass(frozen=True, slots=True, kw_only=True)
class _InjectedReward(AucTargetReward):
    """The default reward under another type: the compiled step alone, scored by Python."""


def _rollout(n: int, **kwargs: object) -> list[np.ndarray]:
    """Observations, rewards and two info arrays of a seeded 16-step random rollout."""
    vec = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point", **kwargs)
    vec.action_space.seed(1)
    obs, _ = vec.reset(seed=5)
    out = [np.concatenate([v.reshape(n, -1) for v in obs.values()], axis=1)]
    for _ in range(16):  # through an autoreset
        obs, reward, _, _, info = vec.step(vec.action_space.sample())
        out += [np.concatenate([v.reshape(n, -1) for v in obs.values()], axis=1), reward,
                info["auc24_mg_h_per_l"], info["creatinine_mg_per_dl"]]
    return out


@pytest.mark.parametrize("kwargs", [{}, {"autoreset_mode": "SameStep"},
                                    {"reward_fn": _InjectedReward()}])
def test_vancomycin_ward__row_chunks_give_the_same_numbers(monkeypatch: pytest.MonkeyPatch,
                                                           kwargs: dict) -> None:
    """A ward split in three row chunks is bit-identical to one pass (through an autoreset).

    NEXT_STEP steps a subset of rows at the reset step (the step-and-score kernel, then the
    observation and info kernels); SAME_STEP steps every row (the fused step-and-read kernel);
    an injected reward takes the step alone.
    """
    n = readout.PARALLEL_FROM + 3
    monkeypatch.setattr(readout, "row_chunks", lambda rows: 1)
    serial = _rollout(n, **kwargs)
    monkeypatch.setattr(readout, "row_chunks", lambda rows: 3)
    chunked = _rollout(n, **kwargs)
    for a, b in zip(serial, chunked, strict=True):
        assert np.array_equal(a, b)


def test_row_chunks__one_below_the_threshold_and_at_most_one_per_thread() -> None:
    """Small batches stay on one thread; large ones get at most one chunk per numba thread."""
    assert readout.row_chunks(readout.PARALLEL_FROM - 1) == 1
    big = readout.row_chunks(100 * readout.PARALLEL_FROM)
    assert 1 <= big <= numba.get_num_threads()
