"""The compiled readouts (observation fill and info's metrics) equal numpy, serial or parallel."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from warfarin_helpers import ENV_ID, PGX_ID

import pkgym  # noqa: F401
from pkgym.envs.warfarin import readout
from pkgym.envs.warfarin.clinic import COVARIATE_HIGHS_F32, ClinicObservation
from pkgym.envs.warfarin.kernel import RECORD_ARRAYS
from pkgym.envs.warfarin.views import _flags


def _played(env_id: str, n: int, steps: int, seed: int = 5):  # noqa: ANN202
    """A vector env's core after ``steps`` random steps from a seeded reset."""
    vec = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point")
    vec.action_space.seed(seed)
    vec.reset(seed=seed)
    for _ in range(steps):
        vec.step(vec.action_space.sample())
    return vec.unwrapped.core


def _numpy_fill(records, settings, out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:  # noqa: ANN001
    """The numpy observation fill the compiled pass replaced (the reference)."""
    np.minimum(records.covariates_f32, COVARIATE_HIGHS_F32, out=out["covariates"])
    if settings.genotype_guided:
        np.copyto(out["genotype"], records.genotype_f32)
    for key, kept in (("doses_mg", records.doses_f32), ("inr_days", records.inr_days),
                      ("inr_values", records.inr_values), ("inr_mask", records.inr_mask)):
        np.copyto(out[key], kept)
    day = records.day
    np.copyto(out["day"][:, 0], day, casting="unsafe")
    np.copyto(out["days_since_last_inr"][:, 0], day - records.last_test_day, casting="unsafe")
    np.copyto(out["days_to_next_inr"][:, 0], np.maximum(records.next_test_day - day, 0),
              casting="unsafe")
    return out


def _scramble(records, rng: np.random.Generator) -> None:  # noqa: ANN001
    """Odd values in the observed records: NaN, -0.0, infinities, capped covariates, far days."""
    odd = np.array([np.nan, -0.0, 0.0, np.inf, -np.inf, 1e30, -5.0], np.float32)
    for name in ("covariates_f32", "genotype_f32", "doses_f32", "inr_values"):
        array = getattr(records, name)
        flat = array.reshape(-1)
        picks = rng.integers(0, flat.size, flat.size // 5)
        flat[picks] = rng.choice(odd, picks.size)
    records.covariates_f32[:, 2] = rng.uniform(0, 600, records.day.shape[0])
    for name in ("day", "last_test_day", "next_test_day"):
        getattr(records, name)[:] = rng.integers(-(2**40), 2**40, records.day.shape[0])


@pytest.mark.parametrize("env_id", [ENV_ID, PGX_ID])
@pytest.mark.parametrize("chunks", [1, 3])
def test_fill__equals_numpy_bit_for_bit(env_id: str, chunks: int,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Played and scrambled records: every observation array equals numpy's, bits and dtype."""
    monkeypatch.setattr(readout, "row_chunks", lambda n: chunks)
    core = _played(env_id, 37, 40)
    model, rng = ClinicObservation(), np.random.default_rng(2)
    for scrambled in (False, True):
        if scrambled:
            _scramble(core.records, rng)
        got = model.fill(core.records, core.settings, model.arrays(37, core.settings))
        want = _numpy_fill(core.records, core.settings, model.arrays(37, core.settings))
        assert list(got) == list(want)
        for key, values in want.items():
            assert got[key].dtype == values.dtype == np.float32, key
            assert got[key].tobytes() == values.tobytes(), (key, scrambled)


def test_info_rows__parallel_chunks_equal_the_serial_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every row and a shuffled subset: three parallel chunks give the serial pass's arrays."""
    core = _played(PGX_ID, 53, 95)  # past an autoreset: rows at day 0 and later days
    r, target = core.records, (2.0, 3.0)
    args = (RECORD_ARRAYS(r), target, _flags(r.bleeding), _flags(r.thromboembolism))
    for rows in (np.arange(53), np.random.default_rng(1).permutation(53)[:29]):
        results = []
        for chunks in (1, 3):
            monkeypatch.setattr(readout, "row_chunks", lambda n, chunks=chunks: chunks)
            results.append(readout.info_rows(rows, *args))
        for serial, parallel in zip(*results, strict=True):
            assert serial.dtype == parallel.dtype and serial.tobytes() == parallel.tobytes()
        assert np.array_equal(results[0][0], r.day[rows])
        assert np.array_equal(results[0][9], r.bleeding[rows].sum(axis=1))
