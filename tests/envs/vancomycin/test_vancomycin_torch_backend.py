"""``backend="torch"`` of ``pkgym/Vancomycin-v0`` gives the numpy backend's episodes (CPU)."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import pkgym  # noqa: F401

ENV_ID = "pkgym/Vancomycin-v0"
N_PATIENTS, N_STEPS = 64, 14


def _rollout(backend: str, actions: np.ndarray, **kwargs: object) -> list[tuple]:
    """Reset with seed 3 and play ``actions`` (n_steps, n); every step's returns."""
    vec = gym.make_vec(ENV_ID, num_envs=N_PATIENTS, vectorization_mode="vector_entry_point",
                       backend=backend, **kwargs)
    steps = [vec.reset(seed=3)]
    steps += [vec.step(action) for action in actions]
    vec.close()
    return steps


def _assert_same_info(info: dict, reference: dict) -> None:
    """Float64 values within 1e-10 (absolute and relative); everything else identical."""
    assert sorted(info) == sorted(reference)
    for key, expected in reference.items():
        actual = np.asarray(info[key])
        expected = np.asarray(expected)
        if expected.dtype == np.float64:
            np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-10, err_msg=key)
        else:
            np.testing.assert_array_equal(actual, expected, err_msg=key)


def _assert_same_observation(obs: dict, reference: dict) -> None:
    """Float32 observations equal or one float32 ulp apart."""
    for key, expected in reference.items():
        assert obs[key].dtype == expected.dtype == np.float32
        np.testing.assert_array_max_ulp(obs[key], expected, maxulp=1)


@pytest.mark.parametrize("scenario", [None, "scenarios/vancomycin_renal_impairment.yaml"])
def test_vancomycin_vector_env__torch_backend_matches_numpy_over_a_course(scenario) -> None:  # noqa: ANN001
    """64 patients, 14 random doses: infos and rewards to 1e-10, flags identical, obs 1 ulp."""
    actions = np.random.default_rng(5).integers(0, 13, size=(N_STEPS, N_PATIENTS))
    reference = _rollout("numpy", actions, scenario=scenario)
    result = _rollout("torch", actions, scenario=scenario, device="cpu")
    _assert_same_observation(result[0][0], reference[0][0])
    _assert_same_info(result[0][1], reference[0][1])
    for (obs, reward, terminated, truncated, info), expected in zip(
            result[1:], reference[1:], strict=True):
        _assert_same_observation(obs, expected[0])
        np.testing.assert_allclose(reward, expected[1], rtol=1e-10, atol=1e-10)
        np.testing.assert_array_equal(terminated, expected[2])
        np.testing.assert_array_equal(truncated, expected[3])
        _assert_same_info(info, expected[4])
    assert np.all(reference[-1][3])  # the course ran to its end
    assert np.any(reference[-1][4]["had_aki"]) or np.ptp(reference[-1][1]) > 0  # not trivial


def test_vancomycin_env__torch_backend_passes_both_env_checkers_without_warnings() -> None:
    """The single env with backend="torch" passes Gymnasium's and SB3's check_env silently."""
    env = gym.make(ENV_ID, backend="torch", device="cpu")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
        sb3_check_env(gym.make(ENV_ID, backend="torch", device="cpu").unwrapped)
    assert not caught, [str(w.message) for w in caught]
    assert env.unwrapped.core.backend == "torch" and env.unwrapped.core.device == "cpu"


def test_vancomycin_env__rejects_a_bad_backend_or_a_device_without_torch() -> None:
    """A bad backend names the allowed values; device is an error on the numpy backend."""
    with pytest.raises(ValueError, match=r"backend must be one of \('numpy', 'torch'\)"):
        gym.make(ENV_ID, backend="tensorflow")
    with pytest.raises(ValueError, match=r"backend must be one of"):
        gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="vector_entry_point",
                     backend="cuda")
    with pytest.raises(ValueError, match="device applies to"):
        gym.make(ENV_ID, device="cpu")
