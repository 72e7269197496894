"""``pkgym/Addiction-v0``: a reset of every row reuses the records' arrays, same numbers."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import pkgym  # noqa: F401
from pkgym.envs.addiction import core as addiction_core
from pkgym.envs.base import spawn_streams

ENV_ID = "pkgym/Addiction-v0"


def _core(n: int) -> addiction_core.AddictionCore:
    return gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point").core


def _same(a: object, b: object) -> list[str]:
    """Record fields whose dtype, shape or bytes differ."""
    out = []
    for name in a.__dataclass_fields__:
        x, y = np.asarray(getattr(a, name)), np.asarray(getattr(b, name))
        same = (x.dtype == y.dtype and x.shape == y.shape
                and (x.tolist() == y.tolist() if x.dtype == object else x.tobytes() == y.tobytes()))
        if not same:
            out.append(name)
    return out


def test_addiction_reset__in_place_equals_fresh_records_and_reuses_the_arrays() -> None:
    """A second full reset, after steps, writes the records a fresh core builds, in place."""
    n, pinned = 5, [None, {"eta_dopamine_surge": 0.3, "id": 4}, None, None, None]
    reused, fresh = _core(n), _core(n)
    streams = [spawn_streams(np.random.default_rng(20 + k)) for k in range(n)]
    reused.reset_patients(np.arange(n), streams, [None] * n)
    reused.step(np.arange(n), np.arange(n, dtype=np.float64) % 7)
    taken, events = reused.records.taken, reused.records.choice_uniforms.base
    assert addiction_core._draw_buffers(reused.records, reused.settings.scenario) is not None
    reused.reset_patients(np.arange(n), streams, pinned)
    assert reused.records.taken is taken and reused.records.choice_uniforms.base is events
    again = [spawn_streams(np.random.default_rng(20 + k)) for k in range(n)]
    for slot in again:  # the numbers of the first episode
        fresh.draw_episodes([slot])
    fresh.reset_patients(np.arange(n), again, pinned)
    assert _same(reused.records, fresh.records) == []


def test_addiction_reset__records_of_other_origin_are_replaced_not_reused() -> None:
    """The placeholder records and a copy whose views lost their base take the fresh path."""
    core = _core(3)
    assert addiction_core._draw_buffers(core.records, core.settings.scenario) is None
    streams = [spawn_streams(np.random.default_rng(k)) for k in range(3)]
    core.reset_patients(np.arange(3), streams, [None] * 3)
    core.records.choice_uniforms = core.records.choice_uniforms.copy()
    assert addiction_core._draw_buffers(core.records, core.settings.scenario) is None
    before = core.records.taken
    core.reset_patients(np.arange(3), streams, [None] * 3)
    assert core.records.taken is not before
