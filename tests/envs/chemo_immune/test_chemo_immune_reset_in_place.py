"""``pkgym/ChemoImmune-v0``: a reset of every row reuses the records' arrays, same numbers."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import pkgym  # noqa: F401
from pkgym.envs.base import spawn_streams
from pkgym.envs.chemo_immune.core import ChemoImmuneCore
from pkgym.envs.chemo_immune.records import new_records

ENV_ID = "pkgym/ChemoImmune-v0"


def _differing(a: object, b: object) -> list[str]:
    """Record fields whose dtype, shape or bytes differ (parameters by their table)."""
    out = []
    for name in a.__dataclass_fields__:
        x, y = getattr(a, name), getattr(b, name)
        x, y = (x.table, y.table) if name == "params" else (np.asarray(x), np.asarray(y))
        same = (x.dtype == y.dtype and x.shape == y.shape
                and (x.tolist() == y.tolist() if x.dtype == object else x.tobytes() == y.tobytes()))
        if not same:
            out.append(name)
    return out


def test_chemo_immune_reset__in_place_equals_new_records_and_reuses_the_arrays() -> None:
    """After days of treatment, a full reset writes what ``new_records`` builds, in place."""
    n, pinned = 4, [None, {"tumour_at_start": 0.3, "eta_a2": 0.1, "id": 3}, None, None]
    core: ChemoImmuneCore = gym.make_vec(ENV_ID, num_envs=n,
                                         vectorization_mode="vector_entry_point").core
    streams = [spawn_streams(np.random.default_rng(40 + k)) for k in range(n)]
    core.reset_patients(np.arange(n), streams, [None] * n)
    for day in range(3):
        core.step(np.arange(n), np.full(n, 0.1 * (day + 2)))
    course, measured = core.records.course, core.records.measured
    core.reset_patients(np.arange(n), streams, pinned)
    assert core.records.course is course and core.records.measured is measured
    again = [spawn_streams(np.random.default_rng(40 + k)) for k in range(n)]
    core.draw_episodes(again)  # the numbers of the first episode
    draws = core.draw_episodes(again)
    entropy = np.array([slot.seed_entropy for slot in again], dtype=object)
    fresh = new_records(core.settings, draws, [None if p is None else core.pin_patient(p)
                                               for p in pinned], entropy, core.variability)
    assert _differing(core.records, fresh) == []


def test_chemo_immune_reset__assay_normals_day_major_and_drawn_in_place() -> None:
    """The core's assay normals are stored day by day and a full reset draws into them."""
    n = 5
    core: ChemoImmuneCore = gym.make_vec(ENV_ID, num_envs=n,
                                         vectorization_mode="vector_entry_point").core
    normals = core.records.assay_normals
    assert normals.strides[1] > normals.strides[0] == 3 * normals.itemsize
    streams = [spawn_streams(np.random.default_rng(7 + k)) for k in range(n)]
    core.reset_patients(np.arange(n), streams, [None] * n)
    assert core.records.assay_normals is normals
    again = [spawn_streams(np.random.default_rng(7 + k)) for k in range(n)]
    assert core._draw_with_numpy(again)["assay"].tobytes() == normals.tobytes()
