"""Compiled draws of the dose-toxicity generator: the same numbers as numpy, in the same order."""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.models import dose_toxicity
from pkgym.models.dose_toxicity import RandomDoseToxicity, closest_level, closest_levels
from pkgym.sim.bitgen import bitgen_addresses, draw_levels, fill_uniforms

GENERATORS = [
    RandomDoseToxicity(),
    RandomDoseToxicity(n_doses=2, target_dlt_rate=0.05),
    RandomDoseToxicity(n_doses=12, target_dlt_rate=0.2, rounds_per_bound=3),
    RandomDoseToxicity(n_doses=8, target_dlt_rate=0.25, rounds_per_bound=40),
]


def _states(rngs: list[np.random.Generator]) -> list[dict]:
    return [rng.bit_generator.state for rng in rngs]


@pytest.mark.parametrize("model", GENERATORS)
def test_sample_each__is_one_sample_per_generator_and_leaves_the_same_states(
        model: RandomDoseToxicity) -> None:
    """Row i is sample(rngs[i], 1)[0], and every generator ends in the same state."""
    reference = [np.random.default_rng(seed) for seed in range(400)]
    expected = np.array([model.sample(rng, 1)[0] for rng in reference])
    rngs = [np.random.default_rng(seed) for seed in range(400)]
    np.testing.assert_array_equal(model.sample_each(rngs), expected)
    assert _states(rngs) == _states(reference)


def test_sample_each__a_generator_listed_twice_draws_in_list_order() -> None:
    """Two rows from one generator are its first and second curve, as one call each gives."""
    model, shared = RandomDoseToxicity(), np.random.default_rng(5)
    reference = np.random.default_rng(5)
    expected = np.array([model.sample(reference, 1)[0] for _ in range(2)])
    np.testing.assert_array_equal(model.sample_each([shared, shared]), expected)
    assert shared.bit_generator.state == reference.bit_generator.state


def test_sample_each__impossible_settings_fail_after_max_rounds() -> None:
    """A curve still rejected after max_rounds draws ends in the same clear error."""
    with pytest.raises(RuntimeError, match="rejected after 1 rounds"):
        RandomDoseToxicity(max_rounds=1).sample_each(
            [np.random.default_rng(seed) for seed in range(200)])


@pytest.mark.parametrize("n_levels", [2, 3, 5, 7, 50, 1000, 2**20 + 3, 2**31 + 5, 2**32 - 1])
def test_draw_levels__is_rng_integers_even_between_other_draws(n_levels: int) -> None:
    """Each level is rng.integers(0, n_levels); interleaved 64-bit draws stay in step."""
    reference = [np.random.default_rng(seed) for seed in range(300)]
    rngs = [np.random.default_rng(seed) for seed in range(300)]
    addresses = bitgen_addresses(rngs)
    for _ in range(4):
        expected = [rng.integers(0, n_levels) for rng in reference]
        assert draw_levels(addresses, n_levels).tolist() == expected
        for rng in reference + rngs:
            rng.random()
    assert _states(rngs) == _states(reference)


def test_fill_uniforms__is_rng_random_into_each_row() -> None:
    """Rows listed are filled as rng.random(out=row) would; the others are untouched."""
    reference = [np.random.default_rng(seed) for seed in range(6)]
    rngs = [np.random.default_rng(seed) for seed in range(6)]
    out = np.full((6, 4, 3), -1.0)
    fill_uniforms(bitgen_addresses(rngs), np.array([0, 2, 5]), out)
    for i in (0, 2, 5):
        np.testing.assert_array_equal(out[i], reference[i].random((4, 3)))
    assert np.all(out[[1, 3, 4]] == -1.0)
    assert _states(rngs) == _states(reference)


def test_closest_level__matches_closest_levels_with_ties() -> None:
    """The compiled row rule picks the numpy rule's level, ties to the lower one."""
    rng = np.random.default_rng(0)
    curves = np.vstack([np.sort(rng.random((500, 5)), axis=1), [[0.3] * 5, [0.2, 0.4] * 2
                                                                + [0.5]]])
    scratch = np.empty(5)
    got = [closest_level(curve, 0.3, scratch) for curve in curves]
    assert got == closest_levels(curves, 0.3).tolist()


def test_sample_each__without_numpys_beta_samples_one_curve_per_generator(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Where numpy exports no random_beta, each row is one sample() call (the same curves)."""
    model = RandomDoseToxicity()
    expected = model.sample_each([np.random.default_rng(seed) for seed in range(20)])
    monkeypatch.setattr(dose_toxicity, "NUMPY_BETA", 0)
    got = model.sample_each([np.random.default_rng(seed) for seed in range(20)])
    np.testing.assert_array_equal(got, expected)
    assert model.sample_each([]).shape == (0, 5)
