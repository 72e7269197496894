"""The fast paths of the warfarin day constants give the reference's bits exactly."""

from __future__ import annotations

import numpy as np
import pytest
from hamberg_helpers import MODEL_IDS, MODELS, random_patients

import pkgym.models.warfarin_kernel as kernel
from pkgym.models.warfarin import Hamberg2010, HambergModel, diagonal_variability
from pkgym.models.warfarin_kernel import DayQuadrature, day_constants


def test_modal_products__bit_identical_to_einsum() -> None:
    """The compiled V diag(g) V^-1 products equal numpy's einsum bit for bit (1-500 patients)."""
    rng = np.random.default_rng(3)
    for n, times in ((1, 36), (7, 36), (500, 36), (4, 1)):
        vectors, inverse = rng.standard_normal((n, 3, 3)), rng.standard_normal((n, 3, 3))
        growth = np.exp(3.0 * rng.standard_normal((n, times, 3)))
        out = np.empty((n, times, 3, 3))
        kernel._modal_products(vectors, growth, inverse, out)
        expected = np.einsum("nij,ntj,njk->ntik", vectors, growth, inverse)
        assert np.array_equal(out, expected)


@pytest.mark.parametrize("model", MODELS, ids=MODEL_IDS)
def test_day_constants__a_patient_is_the_same_alone_or_in_a_batch(model: HambergModel) -> None:
    """Each patient's constants computed alone equal its row of a 60-patient batch exactly.

    Hamberg 2010 (one MTT for all) takes the shared-chain path, Hamberg 2007 (IIV on MTT)
    the per-patient one.
    """
    params = random_patients(model, 60, np.random.default_rng(8))
    batch = day_constants(params, model.structure)
    for i in (0, 17, 59):
        alone = day_constants(params.row(i), model.structure)
        for name in batch._fields:
            if name != "chain_lengths":
                assert np.array_equal(getattr(batch, name)[i], getattr(alone, name)[0]), name


def test_chain_constants__shared_path_equals_per_patient_path() -> None:
    """Equal MTTs: the cached, repeated constants equal those computed patient by patient."""
    model = Hamberg2010()
    params = random_patients(model, 9, np.random.default_rng(2))
    quadrature = DayQuadrature(nodes_per_panel=4)
    nodes, weights = quadrature.nodes_and_weights()
    lengths = np.array(model.structure.chain_lengths)
    shared = kernel._chain_constants(params, lengths, nodes, weights, quadrature)
    each = kernel._chain_terms(params.mtt1_h, params.mtt2_h, lengths, nodes, weights)
    for i in range(9):
        alone = kernel._chain_terms(params.mtt1_h[i:i + 1], params.mtt2_h[i:i + 1], lengths,
                                    nodes, weights)
        for whole, part, batch in zip(shared, alone, each, strict=True):
            assert whole.flags.c_contiguous and whole.flags.writeable
            assert np.array_equal(whole[i], part[0]) and np.array_equal(batch[i], part[0])


def test_variability__built_once_per_set_of_variances() -> None:
    """The model's variability is one cached object, equal to a freshly built one."""
    model = Hamberg2010()
    assert model.variability is model.variability
    assert np.array_equal(model.variability.omega, np.diag([0.089, 0.054, 0.34]))
    assert diagonal_variability(("A",), (0.1,)) is not diagonal_variability(("A",), (0.2,))


def test_advance_days__one_shared_chain_set_equals_per_patient_sets() -> None:
    """Chain constants given once (leading axis 1) step 30 patients exactly as n copies do."""
    model = Hamberg2010()
    params = random_patients(model, 30, np.random.default_rng(6))
    full = day_constants(params, model.structure)
    shared = day_constants(params, model.structure, shared_views=True)
    assert shared.chain_weights.shape[0] == 1 and full.chain_weights.shape[0] == 30
    doses = np.random.default_rng(1).uniform(0, 15, (30, 1))
    runs = []
    for constants in (full, shared):
        pk, chains = kernel.initial_state(30)
        for _ in range(10):
            concentrations = np.empty((30, 1))
            kernel.advance_days(np.arange(30), doses, pk, chains, constants, concentrations)
        runs.append((pk, chains, concentrations))
    for a, b in zip(*runs, strict=True):
        assert np.array_equal(a, b)


def _pk_matrices(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random 1- and 2-compartment PK matrices, some with ka equal to CL/V (ill-posed)."""
    matrix = np.zeros((n, 3, 3))
    ka, k10 = rng.uniform(0.2, 3.0, n), rng.uniform(0.005, 0.5, n)
    k12, k21 = rng.uniform(0.0, 0.3, n) * (rng.random(n) < 0.5), rng.uniform(0.01, 0.2, n)
    k10[::7] = ka[::7]  # eigenvectors nearly dependent: the expm path
    k21[k12 == 0.0] = 0.0
    matrix[:, 0, 0], matrix[:, 1, 0] = -ka, ka
    matrix[:, 1, 1], matrix[:, 1, 2] = -(k10 + k12), k21
    matrix[:, 2, 1], matrix[:, 2, 2] = k12, -k21
    return matrix


def test_day_propagators__bit_identical_to_propagate() -> None:
    """The entries the day reads equal ``propagate``'s, bit for bit, ill-posed rows included."""
    rng = np.random.default_rng(21)
    _, _, times = kernel._quadrature_rule(DayQuadrature())
    for n in (1, 8, 300):
        matrix, inverse_volume = _pk_matrices(rng, n), 1.0 / rng.uniform(5.0, 20.0, n)
        full = kernel.propagate(matrix, times)
        step, nodes = kernel._day_propagators(matrix, times, inverse_volume)
        assert np.array_equal(step, full[:, -1])
        assert np.array_equal(nodes, full[:, :-1, 1, :] * inverse_volume[:, None, None])


def test_modes__well_posed_exactly_where_the_condition_number_is_below_1e8() -> None:
    """The norm bound skips the SVD only where it proves the answer (near-singular rows too)."""
    rng = np.random.default_rng(5)
    matrix = _pk_matrices(rng, 400)
    matrix[1::9, 1, 1] = matrix[1::9, 0, 0] * (1.0 + 10.0 ** -rng.uniform(3, 12, 45))
    vectors, _, _, well_posed = kernel._modes(matrix, np.array([1.0]))
    expected = np.linalg.cond(np.linalg.eig(matrix)[1].real) < 1e8
    assert np.array_equal(well_posed, expected)
    assert expected.any() and not expected.all()
