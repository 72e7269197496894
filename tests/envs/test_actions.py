"""Non-real actions are refused by every env's action validator (issue 17, defect 10).

Complex numbers (even with a zero imaginary part), booleans, objects and strings are no
actions: single and vector envs, continuous and discrete, refuse them with one line naming
the action and the allowed values.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401  (registers the envs)
from pkgym.envs.registry import env_specs

ALL_IDS = [spec.env_id for spec in env_specs() if spec.env_id.startswith("pkgym/")]
"""pkgym's own envs (not the test-only toy env, registered when the contract tests collect)."""


def _continuous_ids() -> list[str]:
    """Every pkgym env id that has a continuous variant (``continuous=True``)."""
    ids = []
    for env_id in ALL_IDS:
        try:
            gym.make(env_id, continuous=True)
        except (TypeError, ValueError):
            continue
        ids.append(env_id)
    return ids


CONTINUOUS_IDS = _continuous_ids()


def _assert_refused(env: Any, action: Any, allowed: str) -> None:
    with pytest.raises(ValueError, match="action") as error:
        env.step(action)
    message = str(error.value)
    assert "\n" not in message and allowed in message, message


def test_actions__every_continuous_variant_is_covered() -> None:
    """Fourteen envs have a Box variant: warfarin's v0 and v1 count apart, addiction has none."""
    assert len(CONTINUOUS_IDS) == 14 and "pkgym/Addiction-v0" not in CONTINUOUS_IDS
    assert {"pkgym/Insulin-v0", "pkgym/Heparin-v0", "pkgym/Propofol-v0"} <= set(CONTINUOUS_IDS)
    assert {"pkgym/Mycophenolate-v0", "pkgym/DoseFindingEffTox-v0"} <= set(CONTINUOUS_IDS)
    assert {"pkgym/Warfarin-v1", "pkgym/WarfarinPGx-v1"} <= set(CONTINUOUS_IDS)


@pytest.mark.parametrize("env_id", CONTINUOUS_IDS)
@pytest.mark.parametrize("action", [np.array([0.5 + 0j]), np.array([0.5 + 1j]),
                                    np.array([True]), np.array([0.5], dtype=object),
                                    np.array(["0.5"]), [0.5 + 0j]],
                         ids=["complex-real", "complex", "bool", "object", "str", "list-complex"])
def test_actions__complex_continuous_actions_are_refused(env_id: str, action: Any) -> None:
    """A single continuous env refuses complex (and bool, object, str) actions in one line."""
    env = gym.make(env_id, continuous=True).unwrapped
    env.reset(seed=0)
    _assert_refused(env, action, "real number(s) in [-1, 1]")
    env.step(np.zeros(env.action_space.shape, dtype=np.float32))  # the env is still usable


@pytest.mark.parametrize("env_id", CONTINUOUS_IDS)
def test_actions__complex_continuous_actions_are_refused_by_vector_envs(env_id: str) -> None:
    """A native vector env refuses a batch of complex actions; a real batch still steps."""
    env = gym.make_vec(env_id, num_envs=3, vectorization_mode="vector_entry_point",
                       continuous=True)
    env.reset(seed=0)
    _assert_refused(env, np.zeros((3, 1), dtype=np.complex64), "3 real number(s) in [-1, 1]")
    env.step(np.zeros(env.action_space.shape, dtype=np.float32))


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_actions__non_integer_discrete_actions_are_refused(env_id: str) -> None:
    """Discrete envs refuse complex, bool, object and str levels in one line naming the range."""
    env = gym.make(env_id).unwrapped
    env.reset(seed=0)
    space = env.action_space
    assert isinstance(space, gym.spaces.Discrete)
    allowed = f"0..{int(space.n) - 1}"
    for action in (np.array(1 + 0j), np.array(True), np.array([1], dtype=object),
                   np.array(["1"])):
        _assert_refused(env, action, allowed)
    vec = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point")
    vec.reset(seed=0)
    _assert_refused(vec, np.array([1 + 0j, 0j]), allowed)
    _assert_refused(vec, np.arange(200), allowed)  # a long batch still gives one line


@pytest.mark.parametrize(("env_id", "kwargs"), [("pkgym/Warfarin-v0", {"choose_test_days": True}),
                                                ("pkgym/Chemotherapy-v0", {"allow_delay": True})])
def test_actions__complex_action_pairs_are_refused(env_id: str, kwargs: dict) -> None:
    """MultiDiscrete variants (dose level + a second choice) refuse complex pairs too."""
    env = gym.make(env_id, **kwargs).unwrapped
    env.reset(seed=0)
    _assert_refused(env, np.array([1 + 0j, 0j]), "integer pair(s)")
    if env_id == "pkgym/Warfarin-v0":  # a long batch of bad pairs still gives one line
        vec = gym.make_vec(env_id, num_envs=200, vectorization_mode="vector_entry_point",
                           **kwargs)
        vec.reset(seed=0)
        _assert_refused(vec, np.zeros((200, 2)), "integer pair(s)")
