"""The fused PRT sessions equal :func:`simulate_prt` on :func:`session_uniforms`, exactly."""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.models.depression import (
    ProbabilisticRewardTask,
    session_uniforms,
    simulate_hashed_prt,
    simulate_prt,
)


@pytest.mark.parametrize(("n", "n_trials", "initial_q"), [(1, 300, 0.0), (13, 40, 0.3),
                                                          (100, 300, -0.2), (613, 100, 0.0)])
def test_simulate_hashed_prt__equals_simulate_prt_on_session_uniforms(
        n: int, n_trials: int, initial_q: float) -> None:
    """Random learners and seeds, blocks full and partial, serial and threaded: same counts."""
    rng = np.random.default_rng(n)
    seeds = rng.integers(0, 2**63, size=n, dtype=np.uint64)
    rho, epsilon, gamma = rng.random(n) * 2, rng.uniform(0.01, 1.0, n), rng.normal(0, 2, n)
    task = ProbabilisticRewardTask(n_trials=n_trials, p_reward_rich=0.8, p_reward_lean=0.2)
    expected = simulate_prt(rho, epsilon, gamma, session_uniforms(seeds, n_trials), task,
                            initial_q)
    assert np.array_equal(simulate_hashed_prt(rho, epsilon, gamma, seeds, task, initial_q),
                          expected)


def test_simulate_hashed_prt__bad_input_raises() -> None:
    """Mismatched lengths and out-of-range learners fail, as in simulate_prt."""
    seeds = np.arange(2, dtype=np.uint64)
    with pytest.raises(ValueError, match="seed"):
        simulate_hashed_prt(np.ones(3), np.full(3, 0.1), np.ones(3), seeds)
    with pytest.raises(ValueError, match="learning_rate"):
        simulate_hashed_prt(np.ones(2), np.array([0.1, 1.5]), np.ones(2), seeds)
