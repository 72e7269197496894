"""pkgym/Propofol-v0's histories stored step by step: the same values as C-order records."""

from __future__ import annotations

import copy
import dataclasses

import gymnasium as gym
import numpy as np

import pkgym  # noqa: F401
from pkgym.envs.propofol.clinic import COVARIATE_HIGHS
from pkgym.envs.propofol.kernel import OBSERVE_BLOCK, observe_rows
from pkgym.sim.layout import step_major

HISTORIES = ("states", "rates", "bis_true", "bis_measured", "noise")


def _played(n: int, steps: int, seed: int = 3) -> object:
    """A vector env of ``n`` patients after ``steps`` random steps (autoresets included)."""
    vec = gym.make_vec("pkgym/Propofol-v0", num_envs=n, vectorization_mode="vector_entry_point")
    vec.action_space.seed(seed)
    vec.reset(seed=seed)
    for _ in range(steps):
        vec.step(vec.action_space.sample())
    return vec


def _c_order(records: object) -> object:
    """The records with every array a C-order copy (the layout before step-major storage)."""
    return dataclasses.replace(records, **{
        f.name: np.ascontiguousarray(getattr(records, f.name))
        for f in dataclasses.fields(records) if isinstance(getattr(records, f.name), np.ndarray)})


def _observe_reference(bis_measured: np.ndarray, rate_log: np.ndarray, step: np.ndarray,
                       n_hist: int, top: float) -> tuple[np.ndarray, ...]:
    """The history part of the observation, row by row in Python (0 before the start)."""
    n = step.size
    bis, mask, rates = (np.zeros((n, n_hist), np.float32) for _ in range(3))
    for p in range(n):
        for j in range(n_hist):
            sample = int(step[p]) + 1 - n_hist + j
            if sample >= 0:
                bis[p, j], mask[p, j] = bis_measured[p, sample], 1.0
            if sample >= 1:
                rates[p, j] = min(max(rate_log[p, sample - 1], 0.0), top)
    return bis, mask, rates


def test_step_major_layout_and_values() -> None:
    """step_major: zeros, shape (n, steps, ...) over a (steps, n, ...) buffer."""
    a = step_major(5, (7, 4))
    assert a.shape == (5, 7, 4) and a.base is not None and a.base.shape == (7, 5, 4)
    assert a.strides == (32, 160, 8) and not a.any()
    core = _played(3, 2).unwrapped.core
    for name in HISTORIES:
        array = getattr(core.records, name)
        assert array.strides[0] < array.strides[1], name  # step-major in a built batch


def test_observation_and_info_equal_c_order_records() -> None:
    """Observation and info of played step-major records equal those of C-order copies."""
    vec = _played(OBSERVE_BLOCK * 2 + 5, 40)
    core = vec.unwrapped.core
    c_order = copy.copy(core)
    c_order.records = _c_order(core.records)
    assert core.records.states.strides != c_order.records.states.strides
    for key, value in core.observe().items():
        expected = c_order.observe()[key]
        assert value.dtype == expected.dtype and value.tobytes() == expected.tobytes(), key
    info, expected_info = core.info(), c_order.info()
    assert info.keys() == expected_info.keys()
    for key, value in info.items():
        assert np.array_equal(value, expected_info[key]), key


def test_observe_rows_equals_reference_at_scattered_steps() -> None:
    """Blocked observation equals the row-by-row reference at steps 0..end, in any order."""
    rng = np.random.default_rng(11)
    n, n_steps, n_hist, top = OBSERVE_BLOCK * 3 + 7, 180, 30, 160.0
    bis_measured = step_major(n, (n_steps + 1,))
    bis_measured[...] = rng.uniform(-10.0, 110.0, (n, n_steps + 1))
    rates = step_major(n, (n_steps,))
    rates[...] = rng.uniform(-20.0, 200.0, (n, n_steps))
    step = rng.integers(0, n_steps + 1, n)
    step[:40] = np.arange(40)  # every start-of-episode window
    covariates = rng.uniform(0.0, 300.0, (n, 5))
    got = observe_rows(bis_measured, rates, covariates, step, n_hist, top, 1 / 6, 30.0,
                       COVARIATE_HIGHS)
    for value, expected in zip(got[:3], _observe_reference(bis_measured, rates, step, n_hist,
                                                           top), strict=True):
        assert value.tobytes() == expected.tobytes()
    c_order = observe_rows(np.ascontiguousarray(bis_measured), np.ascontiguousarray(rates),
                           covariates, step, n_hist, top, 1 / 6, 30.0, COVARIATE_HIGHS)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(got, c_order, strict=True))
