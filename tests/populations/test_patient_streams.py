"""Per-patient streams: bit-exact SeedSequence contract, invariance and independence."""

from __future__ import annotations

import re

import numpy as np
import pytest

from pkgym.populations import (
    STREAM_IDS,
    patient_generators,
    patient_normals,
    patient_seed_sequences,
    patient_uniforms,
    root_seed_sequence,
)

ROOTS = [
    np.random.SeedSequence(0),
    np.random.SeedSequence(12345),
    np.random.SeedSequence(2**127 + 99),
    np.random.SeedSequence([3, 1, 4, 1, 5, 9]),
    np.random.SeedSequence(7, spawn_key=(2, 5)),
    np.random.SeedSequence(11, pool_size=8),
]


def reference_uniform(root: np.random.SeedSequence, k: int, stream: str, j: int) -> float:
    """Draw j of patient k from numpy's own SeedSequence, mapped to (0, 1)."""
    child = np.random.SeedSequence(
        root.entropy, spawn_key=(*root.spawn_key, k, STREAM_IDS[stream], j),
        pool_size=root.pool_size)
    word = int(child.generate_state(1, np.uint64)[0])
    return ((word >> 11) + 0.5) * 2.0**-53


@pytest.mark.parametrize("root", ROOTS, ids=lambda r: repr(r.entropy)[:12])
@pytest.mark.parametrize("stream", sorted(STREAM_IDS))
def test_patient_uniforms__match_numpy_seed_sequence_bit_for_bit(
    root: np.random.SeedSequence, stream: str
) -> None:
    """The vectorised hash equals numpy.random.SeedSequence for every patient and draw."""
    for start in (0, 1000, 2**32 - 3):
        uniforms = patient_uniforms(root, 3, 5, start=start, stream=stream)
        expected = [[reference_uniform(root, start + i, stream, j) for j in range(5)]
                    for i in range(3)]
        np.testing.assert_array_equal(uniforms, expected)


def test_patient_uniforms__reproducible_by_seed() -> None:
    """The same seed gives the same draws; a different seed gives different ones."""
    np.testing.assert_array_equal(patient_uniforms(5, 50, 4), patient_uniforms(5, 50, 4))
    assert not np.allclose(patient_uniforms(5, 50, 4), patient_uniforms(6, 50, 4))


def test_patient_uniforms__patient_k_invariant_to_batch_size_and_start() -> None:
    """Patient k's row is the same in cohorts of 10 and 1000 and with a start offset."""
    small, large = patient_uniforms(9, 10, 3), patient_uniforms(9, 1000, 3)
    np.testing.assert_array_equal(small, large[:10])
    np.testing.assert_array_equal(patient_uniforms(9, 5, 3, start=5), small[5:])


def test_patient_uniforms__prefix_stable_in_draw_count() -> None:
    """Asking for more draws per patient leaves the earlier draws unchanged."""
    np.testing.assert_array_equal(patient_uniforms(1, 20, 2), patient_uniforms(1, 20, 7)[:, :2])


def test_patient_uniforms__streams_independent() -> None:
    """Different streams of the same patients are uncorrelated."""
    draws = {s: patient_uniforms(3, 20_000, 1, stream=s)[:, 0] for s in STREAM_IDS}
    correlation = np.corrcoef(np.stack(list(draws.values())))
    off_diagonal = correlation[~np.eye(len(draws), dtype=bool)]
    assert np.max(np.abs(off_diagonal)) < 0.03


def test_patient_uniforms__uniform_and_uncorrelated_within_patient() -> None:
    """Draws are on (0, 1) with mean 1/2, variance 1/12 and no correlation between draws."""
    uniforms = patient_uniforms(2024, 50_000, 6)
    assert np.all((uniforms > 0) & (uniforms < 1))
    np.testing.assert_allclose(uniforms.mean(axis=0), 0.5, atol=0.006)
    np.testing.assert_allclose(uniforms.var(axis=0), 1 / 12, rtol=0.02)
    correlation = np.corrcoef(uniforms.T)
    assert np.max(np.abs(correlation - np.eye(6))) < 0.02


def test_patient_normals__standard_normal_moments() -> None:
    """Normals from the inverse CDF have mean 0 and sd 1."""
    normals = patient_normals(1, 50_000, 2, stream="bsv")
    np.testing.assert_allclose(normals.mean(axis=0), 0.0, atol=0.02)
    np.testing.assert_allclose(normals.std(axis=0), 1.0, rtol=0.02)


def test_patient_seed_sequences__follow_the_documented_spawn_key() -> None:
    """Patient k's SeedSequence has spawn key (k, stream id) under an int root."""
    sequences = patient_seed_sequences(42, 3, start=10, stream="events")
    assert [s.spawn_key for s in sequences] == [(10, 3), (11, 3), (12, 3)]
    assert all(s.entropy == 42 for s in sequences)


def test_patient_generators__patient_k_invariant_to_batch_size() -> None:
    """Generator k draws the same numbers whether 10 or 100 generators are built."""
    small = [g.normal(size=3) for g in patient_generators(8, 10, stream="residual")]
    large = [g.normal(size=3) for g in patient_generators(8, 100, stream="residual")]
    np.testing.assert_array_equal(small, large[:10])


def test_root_seed_sequence__generator_seed_reproducible() -> None:
    """A Generator seed yields a recorded entropy reproducing the same draws."""
    root = root_seed_sequence(np.random.default_rng(3))
    replay = np.random.SeedSequence(root.entropy)
    np.testing.assert_array_equal(patient_uniforms(root, 4, 2), patient_uniforms(replay, 4, 2))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n": -1}, "n"),
        ({"n": 2.5}, "n"),
        ({"n_draws": -3}, "n_draws"),
        ({"start": -1}, "start"),
        ({"stream": "assay"}, "stream"),
        ({"seed": -4}, "seed"),
        ({"seed": "abc"}, "seed"),
        ({"start": 2**32 - 1, "n": 2}, "start + n"),
    ],
)
def test_patient_uniforms__bad_arguments_raise_naming_them(kwargs: dict, name: str) -> None:
    """Negative counts, unknown streams and bad seeds raise ValueError naming the argument."""
    arguments = {"seed": 1, "n": 3, "n_draws": 2, **kwargs}
    with pytest.raises(ValueError, match=r"\b" + re.escape(name) + " must"):
        patient_uniforms(arguments.pop("seed"), arguments.pop("n"), arguments.pop("n_draws"),
                         **arguments)


def test_patient_generators__bad_stream_raises() -> None:
    """An unknown stream name raises ValueError naming ``stream``."""
    with pytest.raises(ValueError, match="stream"):
        patient_generators(1, 2, stream="noise")
