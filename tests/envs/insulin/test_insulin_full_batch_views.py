"""Insulin-v0's full-batch views: chunked observation and copied info equal the row-wise ones."""

from __future__ import annotations

import gymnasium as gym
import numba
import numpy as np

import pkgym  # noqa: F401
from pkgym.envs.insulin import views
from pkgym.envs.insulin.clinic import (
    OBSERVE_PARALLEL_ROWS,
    SETTINGS_BOUNDS,
    ClinicObservation,
)
from pkgym.envs.insulin.kernel import observe_chunks, observe_rows


def _played(n: int) -> gym.vector.VectorEnv:
    """A vector env of ``n`` patients after 40 random steps (terminations and autoresets)."""
    vec = gym.make_vec("pkgym/Insulin-v0", num_envs=n, vectorization_mode="vector_entry_point")
    vec.action_space.seed(4)
    vec.reset(seed=9)
    for _ in range(40):
        vec.step(vec.action_space.sample())
    return vec


def test_observation__chunks_on_threads_equal_one_serial_pass() -> None:
    """From ``OBSERVE_PARALLEL_ROWS`` rows the chunked pass writes the serial pass's bytes."""
    n = OBSERVE_PARALLEL_ROWS + 37
    core = _played(n).unwrapped.core
    rec, s = core.records, core.settings.scenario
    obs = ClinicObservation()(rec, core.settings)
    args = (rec.step, rec.cgm, rec.iob_u, rec.announced_now_g, rec.pump_settings,
            s.step_minutes, float(s.start_hour))
    serial = {key: np.full_like(value, np.nan) for key, value in obs.items()}
    observe_rows(*args, (600.0, 200.0, 1000.0), SETTINGS_BOUNDS, *serial.values(), 0, n)
    for chunks in (1, 3, 4 * max(numba.get_num_threads(), 2)):
        chunked = {key: np.full_like(value, np.nan) for key, value in obs.items()}
        observe_chunks(chunks, *args, np.array([600.0, 200.0, 1000.0]), SETTINGS_BOUNDS,
                       tuple(chunked.values()))
        for key in obs:
            assert chunked[key].tobytes() == serial[key].tobytes() == obs[key].tobytes(), key


def test_info__every_row_copied_equals_every_row_gathered() -> None:
    """``info(rows=None)`` has the keys, dtypes, C order and values of gathering every row."""
    core = _played(50).unwrapped.core
    copied = views.info(core.records, core.settings)
    gathered = views.info(core.records, core.settings, np.arange(50))
    assert list(copied) == list(gathered)
    for key, value in gathered.items():
        got = copied[key]
        assert got.dtype == value.dtype and got.shape == value.shape, key
        assert got.flags.c_contiguous and got.flags.owndata, key
        assert not any(np.shares_memory(got, getattr(core.records, name))
                       for name in core.records.__dataclass_fields__
                       if isinstance(getattr(core.records, name), np.ndarray)), key
        if value.dtype == object:
            assert got.tolist() == value.tolist(), key
        else:
            assert got.tobytes() == value.tobytes(), key
