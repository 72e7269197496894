"""The canonical observed history and its single and vector wrappers."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode

import pkgym  # noqa: F401  (registers the envs)
from agents.rl.sb3_vec_env import PkgymVecEnv
from pkgym.wrappers import (
    HISTORY_KEYS,
    ObservationHistoryWrapper,
    VectorObservationHistoryWrapper,
    history_layout,
    history_space,
    observed_history,
)

VANCOMYCIN, WARFARIN = "pkgym/Vancomycin-v0", "pkgym/Warfarin-v0"


def _vector(env_id: str, n: int,
            mode: AutoresetMode = AutoresetMode.NEXT_STEP) -> gym.vector.VectorEnv:
    return gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point",
                        autoreset_mode=mode)


def test_observed_history__vancomycin_shapes_masks_and_times() -> None:
    """After 5 q12h doses: 5 dose slots given at 0..48 h, trough and peak of dose 4 measured."""
    env = _vector(VANCOMYCIN, 3)
    obs, _ = env.reset(seed=0)
    for _ in range(5):
        obs, *_ = env.step(np.array([4, 6, 8]))
    history = observed_history(env.unwrapped.core, obs)
    assert list(history) == list(HISTORY_KEYS)
    shapes = {key: value.shape for key, value in history.items()}
    assert shapes == {"context": (3, 19), "level_values": (3, 2), "level_times_h": (3, 2),
                      "level_mask": (3, 2), "dose_amounts_mg": (3, 14), "dose_times_h": (3, 14),
                      "dose_mask": (3, 14), "time_h": (3, 1)}
    assert all(value.dtype == np.float32 for value in history.values())
    np.testing.assert_array_equal(history["dose_mask"][0], [1] * 5 + [0] * 9)
    np.testing.assert_array_equal(history["dose_times_h"][0], np.arange(14) * 12.0)
    np.testing.assert_array_equal(history["dose_amounts_mg"][:, 0], [1000.0, 1500.0, 2000.0])
    np.testing.assert_array_equal(history["time_h"][:, 0], [60.0, 60.0, 60.0])
    np.testing.assert_array_equal(history["level_mask"], np.ones((3, 2)))
    assert np.all((history["level_times_h"] > 35.0) & (history["level_times_h"] < 48.0))
    np.testing.assert_array_equal(history["level_values"], obs["levels_mg_per_l"])
    np.testing.assert_array_equal(history["context"][:, :5], obs["covariates"])


def test_observed_history__unmeasured_level_is_masked() -> None:
    """Before the 3rd interval ends no level is measured: every level slot is masked and zero."""
    env = _vector(VANCOMYCIN, 2)
    obs, _ = env.reset(seed=1)
    for _ in range(2):
        obs, *_ = env.step(np.array([4, 4]))
    history = observed_history(env.unwrapped.core, obs)
    assert not history["level_mask"].any()
    assert not history["level_values"].any() and not history["level_times_h"].any()
    obs, *_ = env.step(np.array([4, 4]))  # the trough 30 min before dose 4 (35.5 h)
    np.testing.assert_array_equal(observed_history(env.unwrapped.core, obs)["level_mask"],
                                  [[1, 0], [1, 0]])


def test_observed_history__warfarin_levels_are_inr_by_day() -> None:
    """Warfarin: INR values with times 24 * day, doses given before today's morning."""
    env = _vector(WARFARIN, 2)
    obs, _ = env.reset(seed=0)
    for _ in range(6):
        obs, *_ = env.step(np.array([10, 14]))
    history = observed_history(env.unwrapped.core, obs)
    mask = history["level_mask"][0] > 0
    np.testing.assert_array_equal(history["level_times_h"][0, mask], [0.0, 72.0, 120.0])
    np.testing.assert_array_equal(history["level_values"][0, mask], obs["inr_values"][0, :3])
    np.testing.assert_array_equal(history["dose_mask"][1], [1] * 6 + [0] * 84)
    np.testing.assert_array_equal(history["dose_amounts_mg"][1, :6], [7.0] * 6)
    assert history["time_h"][0, 0] == 144.0 and history["context"].shape == (2, 10)


def test_history_layout__unsupported_env_raises_naming_the_supported() -> None:
    """An env without a canonical history is refused with the supported ids in the message."""
    core = gym.make("pkgym/Depression-v0").unwrapped.core
    with pytest.raises(ValueError, match="pkgym/Vancomycin-v0"):
        history_layout(core)


def test_history_space__contains_every_history_of_an_episode() -> None:
    """Each history of a random episode lies in the history space."""
    env = _vector(VANCOMYCIN, 4)
    core = env.unwrapped.core
    space = history_space(history_layout(core))
    obs, _ = env.reset(seed=2)
    rng = np.random.default_rng(0)
    for _ in range(14):
        history = observed_history(core, obs)
        for i in range(4):
            assert space.contains({key: value[i] for key, value in history.items()})
        obs, *_ = env.step(rng.integers(0, 13, 4))


@pytest.mark.parametrize("env_id", [VANCOMYCIN, WARFARIN])
def test_observation_history_wrapper__passes_the_env_checker(env_id: str) -> None:
    """Gymnasium's checker passes the wrapped single env (warning only that it is wrapped)."""
    with warnings.catch_warnings():  # gym.make says a v0 with a v1 beside it is out of date
        warnings.simplefilter("ignore", DeprecationWarning)
        env = gym.make(env_id).unwrapped
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(ObservationHistoryWrapper(env))
    # ResourceWarnings come from whatever the garbage collector finalises meanwhile, not the env
    assert [str(w.message) for w in caught if "wrapper applied" not in str(w.message)
            and not issubclass(w.category, ResourceWarning)] == []


def test_observation_history_wrapper__single_equals_vector_row() -> None:
    """A single env's history equals row 0 of the batched history for the same seed."""
    single = ObservationHistoryWrapper(gym.make(VANCOMYCIN))
    vector = VectorObservationHistoryWrapper(_vector(VANCOMYCIN, 1))
    a, _ = single.reset(seed=5)
    b, _ = vector.reset(seed=5)
    for _ in range(6):
        a, *_ = single.step(5)
        b, *_ = vector.step(np.array([5]))
    for key in HISTORY_KEYS:
        np.testing.assert_array_equal(a[key], b[key][0], err_msg=key)


def test_vector_history_wrapper__same_step_maps_final_obs() -> None:
    """SAME_STEP: the terminal observation in info['final_obs'] is a history too."""
    env = VectorObservationHistoryWrapper(_vector(VANCOMYCIN, 2, AutoresetMode.SAME_STEP))
    assert env.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    obs, _ = env.reset(seed=0)
    for _ in range(14):
        obs, _, _, truncated, info = env.step(np.array([4, 4]))
    assert truncated.all() and info["_final_obs"].all()
    final = info["final_obs"][0]
    assert set(final) == set(HISTORY_KEYS) and final["time_h"][0] == 168.0
    assert final["dose_mask"].all() and obs["time_h"][0, 0] == 0.0  # already reset
    assert env.single_observation_space.contains(final)


def test_vector_history_wrapper__is_accepted_by_the_sb3_adapter() -> None:
    """The SB3 adapter takes the wrapped SAME_STEP env and reports history terminal obs."""
    venv = PkgymVecEnv(VectorObservationHistoryWrapper(
        _vector(VANCOMYCIN, 2, AutoresetMode.SAME_STEP)))
    assert sorted(venv.reset()) == sorted(HISTORY_KEYS)
    for _ in range(14):
        _, _, dones, infos = venv.step(np.array([4, 4]))
    assert dones.all() and set(infos[0]["terminal_observation"]) == set(HISTORY_KEYS)
