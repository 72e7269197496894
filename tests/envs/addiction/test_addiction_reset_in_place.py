"""``pkgym/Addiction-v0``: a reset of every row reuses the records' arrays, same numbers."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401
from pkgym.envs.addiction import core as addiction_core
from pkgym.envs.base import EpisodeStreams, spawn_streams

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
    taken, choice = reused.records.taken, reused.records.choice_uniforms
    reused.reset_patients(np.arange(n), streams, pinned)
    assert reused.records.taken is taken and reused.records.choice_uniforms is choice
    again = [spawn_streams(np.random.default_rng(20 + k)) for k in range(n)]
    for slot in again:  # the numbers of the first episode
        fresh.draw_episodes([slot])
    fresh.reset_patients(np.arange(n), again, pinned)
    assert _same(reused.records, fresh.records) == []


def test_addiction_reset__an_unpickled_core_resets_in_place_from_its_own_generators() -> None:
    """A pickled copy (patient-major arrays, no cached bit generators) resets as the original."""
    original = _core(3)
    streams = [spawn_streams(np.random.default_rng(k)) for k in range(3)]
    original.reset_patients(np.arange(3), streams, [None] * 3)
    original.step(np.arange(3), np.array([1.0, 4.0, 6.0]))
    copy = pickle.loads(pickle.dumps(original))
    assert copy.records.taken.flags.c_contiguous and not original.records.taken.flags.c_contiguous
    copied_streams = pickle.loads(pickle.dumps(streams))
    original.reset_patients(np.arange(3), streams, [None] * 3)
    copy.reset_patients(np.arange(3), copied_streams, [None] * 3)
    assert _same(original.records, copy.records) == []


def test_addiction_reset__compiled_etas_equal_numpy_etas_and_leave_the_same_streams(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Etas drawn in the kernel equal ``standard_normal(out=...)`` per slot (NUMPY_NORMAL 0)."""
    n = 7
    compiled, numpy_path = _core(n), _core(n)
    first = [spawn_streams(np.random.default_rng(40 + k)) for k in range(n)]
    second = [spawn_streams(np.random.default_rng(40 + k)) for k in range(n)]
    compiled.reset_patients(np.arange(n), first, [None] * n)
    monkeypatch.setattr(addiction_core, "NUMPY_NORMAL", 0)
    numpy_path.reset_patients(np.arange(n), second, [None] * n)
    assert addiction_core.NUMPY_NORMAL == 0 and _same(compiled.records, numpy_path.records) == []
    for a, b in zip(first, second, strict=True):
        assert a.patient.random() == b.patient.random() and a.noise.random() == b.noise.random()


@pytest.mark.parametrize("bit_generator", [np.random.PCG64, np.random.MT19937])
def test_addiction_reset__compiled_draws_equal_the_numpy_draws_of_each_slot(
        bit_generator: type) -> None:
    """A full reset's records equal the numpy template's (inline PCG64 or a called generator)."""
    n = 5

    def streams() -> list[EpisodeStreams]:
        return [EpisodeStreams(*(np.random.Generator(bit_generator(100 * k + j))
                                 for j in range(3)), seed_entropy=k) for k in range(n)]

    compiled, reference = _core(n), _core(n)
    first, second = streams(), streams()
    compiled.reset_patients(np.arange(n), first, [None] * n)
    reference.store_episodes(np.arange(n), reference.build_episodes(
        reference.draw_episodes(second), [None] * n, second))
    assert _same(compiled.records, reference.records) == []
    for a, b in zip(first, second, strict=True):
        assert [a.patient.random(), a.events.random(), a.noise.random()] == [
            b.patient.random(), b.events.random(), b.noise.random()]
