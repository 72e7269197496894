"""Every registered pkgym env, and its native vector env, pickles and deep-copies mid-episode.

A copy taken after ``reset(seed=0)`` and three steps must be a full, independent snapshot:
stepped with the same actions as the original, it gives bit-identical observations, rewards
and episode ends. ``AsyncVectorEnv`` (workers in other processes) must reset and step, and
agree with ``SyncVectorEnv``. Issue 20, item 9: ``types.MappingProxyType`` fields of the
population specs and a lambda in a population's derived covariates used to make 9 of the 10
envs refuse ``pickle`` and ``copy.deepcopy``.
"""

from __future__ import annotations

import copy
import functools
import pickle
import warnings
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401  (registers the envs)
from pkgym.populations.frozen import FrozenMap
from pkgym.populations.population import Population

IDS = sorted(env_id for env_id in gym.registry if env_id.startswith("pkgym/"))
N_ENVS = 3
N_STEPS = 3

COPIERS: dict[str, Callable[[Any], Any]] = {
    "pickle": lambda obj: pickle.loads(pickle.dumps(obj)),  # noqa: S301  (our own bytes)
    "deepcopy": copy.deepcopy,
}


def _make(env_id: str) -> gym.Env:
    """``gym.make(env_id)``, quiet about a v0 that has a v1 beside it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return gym.make(env_id)


def _make_vec(env_id: str) -> gym.vector.VectorEnv:
    """The env's native batched vector env with :data:`N_ENVS` slots."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return gym.make_vec(env_id, num_envs=N_ENVS, vectorization_mode="vector_entry_point")


def _identical(a: Any, b: Any, what: str) -> None:
    """Observations, rewards or flags (arrays, scalars or dicts of them) are bit-identical."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), what
        for key in a:
            _identical(a[key], b[key], f"{what}[{key}]")
        return
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, what
    assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"), what


def _actions(space: gym.Space, seed: int, n: int) -> list[Any]:
    """``n`` actions sampled from ``space`` seeded with ``seed``."""
    space.seed(seed)
    return [space.sample() for _ in range(n)]


def _advance(env: gym.Env | gym.vector.VectorEnv, *, single: bool) -> None:
    """``reset(seed=0)``, then :data:`N_STEPS` seeded random steps (a single env resets at ends)."""
    env.reset(seed=0)
    for action in _actions(env.action_space, 0, N_STEPS):
        _, _, terminated, truncated, _ = env.step(action)
        if single and (terminated or truncated):
            env.reset()


def _assert_same_future(original: Any, twin: Any, *, single: bool) -> None:
    """Stepping both with the same actions gives identical transitions, step by step.

    The two are stepped alternately, so a copy sharing state with the original (its RNG, its
    patients' arrays) would drift from it and fail.
    """
    for step, action in enumerate(_actions(original.action_space, 1, N_STEPS)):
        first, second = original.step(action), twin.step(copy.deepcopy(action))
        for name, a, b in zip(("obs", "reward", "terminated", "truncated"), first, second,
                              strict=False):
            _identical(a, b, f"step {step} {name}")
        if single and (first[2] or first[3]):
            _identical(original.reset()[0], twin.reset()[0], f"reset after step {step}")


@pytest.mark.parametrize("how", sorted(COPIERS))
@pytest.mark.parametrize("env_id", IDS)
def test_env__copy_mid_episode_steps_exactly_as_the_original(env_id: str, how: str) -> None:
    """A pickled or deep-copied env (fresh, and after 3 steps) replays the original's future."""
    fresh = _make(env_id)
    fresh_copy = COPIERS[how](fresh)
    _identical(fresh.reset(seed=0)[0], fresh_copy.reset(seed=0)[0], "reset of a fresh copy")
    env = _make(env_id)
    _advance(env, single=True)
    _assert_same_future(env, COPIERS[how](env), single=True)


@pytest.mark.parametrize("how", sorted(COPIERS))
@pytest.mark.parametrize("env_id", IDS)
def test_vector_env__copy_mid_episode_steps_exactly_as_the_original(env_id: str,
                                                                   how: str) -> None:
    """The native vector env pickles and deep-copies after 3 steps and replays its future."""
    envs = _make_vec(env_id)
    _advance(envs, single=False)
    _assert_same_future(envs, COPIERS[how](envs), single=False)


@pytest.mark.parametrize("env_id", IDS)
def test_async_vector_env__resets_and_steps_as_the_sync_one(env_id: str) -> None:
    """``AsyncVectorEnv`` of 2 workers resets with a seed, steps, and matches ``SyncVectorEnv``."""
    fns = [functools.partial(_make, env_id) for _ in range(2)]
    asynchronous, synchronous = gym.vector.AsyncVectorEnv(fns), gym.vector.SyncVectorEnv(fns)
    try:
        _identical(asynchronous.reset(seed=0)[0], synchronous.reset(seed=0)[0], "reset")
        for step, action in enumerate(_actions(asynchronous.action_space, 0, N_STEPS)):
            for name, a, b in zip(("obs", "reward", "terminated", "truncated"),
                                  asynchronous.step(action), synchronous.step(action),
                                  strict=False):
                _identical(a, b, f"step {step} {name}")
    finally:
        asynchronous.close()
        synchronous.close()


def _population(env_id: str) -> Population | None:
    """The population an env draws its patients from (``core.settings.population``), if any."""
    settings = getattr(getattr(_make(env_id).unwrapped, "core", None), "settings", None)
    population = getattr(settings, "population", None)
    return population if isinstance(population, Population) else None


def test_populations__pickle_and_stay_read_only() -> None:
    """Every env's population round-trips, and its frozen mappings still refuse changes."""
    populations = [p for p in map(_population, IDS) if p is not None]
    # the dose-finding trials have no covariates; Mycophenolate draws its patients from
    # uniforms by functions (pkgym.populations.mycophenolate), Insulin cycles simglucose's 30
    # published patients (or samples Hovorka's model): no Population object
    without = {i for i in IDS if _population(i) is None}
    assert without == {"pkgym/DoseFinding-v0", "pkgym/DoseFindingEffTox-v0",
                       "pkgym/Mycophenolate-v0", "pkgym/Insulin-v0"}
    for population in populations:
        for twin in (pickle.loads(pickle.dumps(population)), copy.deepcopy(population)):  # noqa: S301
            assert twin == population and twin.columns == population.columns
        assert isinstance(population.covariates, FrozenMap)
        with pytest.raises(TypeError):
            population.covariates["extra"] = None  # type: ignore[index]
    frozen = FrozenMap({"a": 1})
    with pytest.raises(AttributeError):
        frozen._data = {}  # type: ignore[misc]
