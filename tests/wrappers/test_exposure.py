"""The true exposure course on its grid: vancomycin hourly concentrations, warfarin INR."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401  (registers the envs)
from pkgym.envs.vancomycin.views import true_profile
from pkgym.wrappers import exposure_grid, true_exposure


def _vector(env_id: str, n: int) -> gym.vector.VectorEnv:
    return gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point")


def test_true_exposure__vancomycin_matches_the_single_row_profile() -> None:
    """The batched hourly course equals true_profile at the same hours to 1e-10."""
    env = _vector("pkgym/Vancomycin-v0", 6)
    env.reset(seed=3)
    rng = np.random.default_rng(1)
    for _ in range(14):
        env.step(rng.integers(0, 13, 6))
    core = env.unwrapped.core
    course = true_exposure(core)
    assert course.shape == (6, 168) and np.isfinite(course).all()
    for row in range(6):
        times, levels = true_profile(core.records, core.settings, row, points_per_step=13)
        hourly = levels.reshape(14, 13)[:, 1:].ravel()  # drop each interval's start point
        np.testing.assert_array_equal(times.reshape(14, 13)[:, 1:].ravel(), np.arange(1, 169))
        np.testing.assert_allclose(course[row], hourly, rtol=0, atol=1e-10)


def test_true_exposure__vancomycin_unreached_hours_are_nan() -> None:
    """Mid-episode, the hours after the steps taken are NaN."""
    env = _vector("pkgym/Vancomycin-v0", 2)
    env.reset(seed=0)
    for _ in range(3):
        env.step(np.array([4, 4]))
    course = true_exposure(env.unwrapped.core)
    assert np.isfinite(course[:, :36]).all() and np.isnan(course[:, 36:]).all()


def test_true_exposure__warfarin_is_info_inr_after_each_step() -> None:
    """Grid entry k is info['inr'] after step k (the morning of day k + 1)."""
    env = _vector("pkgym/Warfarin-v0", 3)
    env.reset(seed=0)
    inrs = []
    for _ in range(90):
        _, _, _, truncated, info = env.step(np.array([6, 10, 16]))
        inrs.append(info["inr"])
    assert truncated.all()
    course = true_exposure(env.unwrapped.core)
    np.testing.assert_array_equal(course, np.stack(inrs, axis=1))
    times, unit = exposure_grid(env.unwrapped.core)
    np.testing.assert_array_equal(times, 24.0 * np.arange(1, 91))
    assert unit == "INR"


def test_exposure_grid__unsupported_env_raises() -> None:
    """Envs without an exposure course are refused, naming the supported ones."""
    core = gym.make("pkgym/Depression-v0").unwrapped.core
    with pytest.raises(ValueError, match="pkgym/Warfarin-v0"):
        true_exposure(core)
