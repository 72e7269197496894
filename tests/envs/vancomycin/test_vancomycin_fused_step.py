"""The fused compiled step of ``pkgym/Vancomycin-v0`` against the generic, unfused paths."""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

import pkgym  # noqa: F401
from pkgym.envs.base import DosingCore
from pkgym.envs.vancomycin.clinic import AucTargetReward, WardObservation

ENV_ID = "pkgym/Vancomycin-v0"


@dataclass(frozen=True, slots=True, kw_only=True)
class _SameReward(AucTargetReward):
    """The default reward under another type: scored by Python after the compiled step."""


class _SameObservation(WardObservation):
    """The default observation under another type: read by the batched observation model."""


def _assert_same_step(fast: tuple, slow: tuple) -> None:
    """Two single-env step results agree: arrays bit for bit, numbers with their Python types."""
    (obs_a, *scalars_a, info_a), (obs_b, *scalars_b, info_b) = fast, slow
    assert list(obs_a) == list(obs_b)
    for key, value in obs_a.items():
        assert value.dtype == obs_b[key].dtype and np.array_equal(value, obs_b[key]), key
    assert scalars_a == scalars_b and [type(v) for v in scalars_a] == [type(v) for v in scalars_b]
    assert list(info_a) == list(info_b)
    for key, value in info_a.items():
        assert value == info_b[key] and type(value) is type(info_b[key]), key


def test_single_env_step__equals_step_then_observe_row_then_info_row(rng) -> None:  # noqa: ANN001
    """The one-call step gives what the generic composition of the core's calls gives."""
    fast = gym.make(ENV_ID, scenario="scenarios/vancomycin_renal_impairment.yaml").unwrapped
    slow = gym.make(ENV_ID, scenario="scenarios/vancomycin_renal_impairment.yaml").unwrapped
    fast.reset(seed=5)
    slow.reset(seed=5)
    for episode in range(3):
        if episode:
            fast.reset()
            slow.reset()
        for action in rng.integers(0, 13, size=14).tolist():
            decisions = slow.core.decode_actions(action, False, 1)
            _assert_same_step(fast.step(action), DosingCore.step_one(slow.core, decisions))


def test_injected_reward_and_observation__match_the_compiled_defaults(rng) -> None:  # noqa: ANN001
    """Strategies of another type take the Python paths and give the same numbers."""
    fast = gym.make(ENV_ID).unwrapped
    slow = gym.make(ENV_ID, reward_fn=_SameReward(),
                    observation_model=_SameObservation()).unwrapped
    assert slow.core._weights is None and not slow.core._observed_as_ward
    fast.reset(seed=2)
    slow.reset(seed=2)
    for action in rng.integers(0, 13, size=14).tolist():
        _assert_same_step(fast.step(action), slow.step(action))


def test_vector_env_reward__is_the_reward_function_of_the_step_metrics(rng) -> None:  # noqa: ANN001
    """The reward scored in the compiled pass equals ``AucTargetReward`` on the records."""
    vec = gym.make_vec(ENV_ID, num_envs=40, vectorization_mode="vector_entry_point")
    core = vec.unwrapped.core
    vec.reset(seed=9)
    for _ in range(14):
        actions = rng.integers(0, 13, size=40)
        _, reward, _, _, _ = vec.step(actions)
        expected = AucTargetReward()(core.records.metrics, core.dose_levels_mg[actions])
        assert np.array_equal(reward, expected)


def test_vector_env_step__observation_and_info_read_with_the_step_equal_fresh_reads(
        rng) -> None:  # noqa: ANN001
    """What the fused pass hands out equals the observation and info read again afterwards."""
    vec = gym.make_vec(ENV_ID, num_envs=5000, vectorization_mode="vector_entry_point")
    core = vec.unwrapped.core
    vec.reset(seed=4)
    for _ in range(16):  # past the horizon: autoresets (partial steps) come in between
        obs, _, _, _, info = vec.step(rng.integers(0, 13, size=5000))
        again_obs, again_info = core.observe(), core.info()
        for key, value in again_obs.items():
            assert np.array_equal(obs[key], value), key
        for key, value in again_info.items():
            assert np.array_equal(info[key], value) and info[key].dtype == value.dtype, key
