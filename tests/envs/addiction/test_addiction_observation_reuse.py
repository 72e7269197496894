"""``pkgym/Addiction-v0``: observation arrays reused only once no caller holds them."""

from __future__ import annotations

import weakref

import gymnasium as gym
import numpy as np

import pkgym  # noqa: F401

ENV_ID = "pkgym/Addiction-v0"


def _bytes(observation: dict[str, np.ndarray]) -> dict[str, bytes]:
    return {key: value.tobytes() for key, value in observation.items()}


def test_addiction_observe__held_viewed_and_weakly_held_arrays_never_change() -> None:
    """Held observations keep their values; reused ones equal the model's fresh arrays."""
    vec = gym.make_vec(ENV_ID, num_envs=6, vectorization_mode="vector_entry_point")
    core = vec.unwrapped.core
    vec.reset(seed=3)
    held, frozen = [], []
    actions = np.arange(6) % 7
    for step in range(30):  # through the end of the episodes (24 weeks) and an autoreset
        observation = vec.step(actions)[0]
        fresh = core.observation_model(core.records, core.settings)
        assert _bytes(observation) == _bytes(fresh)
        assert [v.dtype for v in observation.values()] == [v.dtype for v in fresh.values()]
        kind = step % 4
        if kind == 0:
            held.append(observation)  # the whole dict
        elif kind == 1:
            held.append(observation["treatments"][2:])  # a view of one array
        elif kind == 2:
            ref = weakref.ref(observation["urine_tested"])
            held.append(ref)
        else:
            held.append(None)  # dropped: its arrays may come back
        frozen.append(None if kind == 3 else _bytes(observation))
        del observation
    for kept, values in zip(held, frozen, strict=True):
        if isinstance(kept, dict):
            assert _bytes(kept) == values
        elif isinstance(kept, np.ndarray):
            assert kept.tobytes() == np.frombuffer(values["treatments"], np.float32).reshape(
                6, -1)[2:].tobytes()
        elif kept is not None and kept() is not None:
            assert kept().tobytes() == values["urine_tested"]


def test_addiction_observe__dropped_arrays_are_reused() -> None:
    """A dropped observation's arrays are written again (no fresh set every step)."""
    vec = gym.make_vec(ENV_ID, num_envs=4, vectorization_mode="vector_entry_point")
    vec.reset(seed=0)
    first = vec.step(np.zeros(4, dtype=np.int64))[0]
    address = first["reported_use_days"].__array_interface__["data"][0]
    del first
    again = vec.step(np.zeros(4, dtype=np.int64))[0]
    assert again["reported_use_days"].__array_interface__["data"][0] == address
    assert again["week"][:, 0].tolist() == [2.0] * 4
