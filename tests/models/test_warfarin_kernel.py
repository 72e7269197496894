"""Hamberg warfarin day step numerics: propagators against expm, batches, parallel rows."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import pytest
from hamberg_helpers import MODEL_IDS, MODELS, random_patients
from scipy.linalg import expm

import pkgym.models.warfarin_kernel as kernel
from pkgym.models.warfarin import HambergModel, WarfarinParameters
from pkgym.models.warfarin_kernel import (
    advance_days,
    day_constants,
    initial_state,
    pk_matrix,
    propagate,
    simulate_inr,
)

# --- the numerics behind the day step ------------------------------------------------------------


def test_propagate__equals_expm_for_random_pk_matrices() -> None:
    """40 random one- and two-compartment systems at 0-500 h agree with scipy expm to 1e-13."""
    rng, n = np.random.default_rng(5), 40
    two = rng.random(n) < 0.5
    params = WarfarinParameters(
        rng.uniform(0.02, 1.0, n), rng.uniform(5.0, 30.0, n),
        np.where(two, rng.uniform(0.05, 1.0, n), 0.0), np.where(two, rng.uniform(2, 40, n), 0.0),
        *np.ones((4, n)))
    matrices = pk_matrix(params, 2.0)
    times = np.array([0.0, 0.1, 6.0, 24.0, 500.0])
    expected = np.array([[expm(m * t) for t in times] for m in matrices])
    np.testing.assert_allclose(propagate(matrices, times), expected, rtol=0, atol=1e-13)


@pytest.mark.parametrize("gap", [0.0, 1e-12, 1e-9, 1e-7, 1e-5])
def test_propagate__equals_expm_when_ka_equals_an_elimination_rate(gap: float) -> None:
    """Absorption as fast as elimination (CL/V, or 2-cmt beta), up to a gap: still expm (1e-9)."""
    one = np.array([[-2.0, 0, 0], [2.0, -2.0 * (1 + gap), 0], [0, 0, 0]])
    disposition = np.array([[-0.3, 0.05], [0.1, -0.05]])
    beta = -max(np.linalg.eigvals(disposition))
    ka = beta * (1 + gap)
    two = np.zeros((3, 3))
    two[0, 0], two[1, 0], two[1:, 1:] = -ka, ka, disposition
    matrices = np.stack([one, two])
    if gap == 0.0:  # the eigenvectors really are (nearly) dependent
        assert np.all(np.linalg.cond(np.linalg.eig(matrices)[1].real) > 1e8)
    times = np.array([0.0, 0.5, 6.0, 24.0, 100.0])
    expected = np.array([[expm(m * t) for t in times] for m in matrices])
    np.testing.assert_allclose(propagate(matrices, times), expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("model", MODELS, ids=MODEL_IDS)
def test_simulate_inr__batch_of_50_equals_each_patient_alone(model: HambergModel) -> None:
    """50 random patients (genotypes, ages, etas, doses 0-10 mg) as a batch and one by one."""
    rng = np.random.default_rng(11)
    params = random_patients(model, 50, rng)
    doses = rng.choice([0.0, 1.0, 2.5, 5.0, 7.5, 10.0], size=(50, 21))
    inr, conc = simulate_inr(params, model.structure, doses)
    for i in range(50):
        alone_inr, alone_conc = simulate_inr(params.row(i), model.structure, doses[i:i + 1])
        np.testing.assert_allclose(inr[i], alone_inr[0], rtol=0, atol=1e-12)
        np.testing.assert_allclose(conc[i], alone_conc[0], rtol=1e-12, atol=0)


@pytest.mark.parametrize("model", MODELS, ids=MODEL_IDS)
def test_advance_days__parallel_path_equals_serial_path(
        model: HambergModel, monkeypatch: pytest.MonkeyPatch) -> None:
    """PARALLEL_FROM lowered: 51 patients (odd, in two chunks) on two threads match serial."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has a single thread")
    rng = np.random.default_rng(12)
    params = random_patients(model, 51, rng)
    doses = rng.uniform(0.0, 10.0, (51, 21))
    serial = simulate_inr(params, model.structure, doses)
    calls = []

    def spy(*args: Any) -> None:
        calls.append(args[-1])
        parallel(*args)

    parallel, threads = kernel._advance_parallel, numba.get_num_threads()
    monkeypatch.setattr(kernel, "PARALLEL_FROM", 8)
    monkeypatch.setattr(kernel, "_advance_parallel", spy)
    numba.set_num_threads(2)
    try:
        threaded = simulate_inr(params, model.structure, doses)
    finally:
        numba.set_num_threads(threads)
    assert len(calls) == 21 and set(calls) == {2}
    for got, want in zip(threaded, serial, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("model", MODELS, ids=MODEL_IDS)
def test_advance_days__moves_only_the_listed_rows(model: HambergModel) -> None:
    """Doses[k] go to patient rows[k]; the other patients' states are untouched."""
    params = random_patients(model, 5, np.random.default_rng(13))
    constants = day_constants(params, model.structure)
    pk, chains = initial_state(5)
    pk[:, 0], chains[:, :, 0] = 0.25, 0.9
    before = pk.copy(), chains.copy()
    rows, doses = np.array([3, 1]), np.array([[10.0, 5.0], [2.5, 0.0]])
    conc = np.zeros((2, 2))
    advance_days(rows, doses, pk, chains, constants, conc)
    for k, row in enumerate(rows):
        alone_pk, alone_chains = before[0][row:row + 1].copy(), before[1][row:row + 1].copy()
        alone_conc = np.zeros((1, 2))
        advance_days(np.array([0]), doses[k:k + 1], alone_pk, alone_chains,
                     day_constants(params.row(int(row)), model.structure), alone_conc)
        np.testing.assert_allclose(pk[row], alone_pk[0], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(chains[row], alone_chains[0], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(conc[k], alone_conc[0], rtol=1e-13, atol=1e-15)
    untouched = [0, 2, 4]
    np.testing.assert_array_equal(pk[untouched], before[0][untouched])
    np.testing.assert_array_equal(chains[untouched], before[1][untouched])
