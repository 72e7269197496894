"""Between-subject variability: omega recovery, patient invariance, omega builders, validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pkgym.populations import BetweenSubjectVariability, omega_from_cv, omega_from_variances


def test_sample_etas__empirical_covariance_recovers_full_omega(
    correlated_bsv: BetweenSubjectVariability, full_omega: np.ndarray
) -> None:
    """With 20 000 patients every element of the eta covariance is within 5 % of omega."""
    etas = correlated_bsv.sample_etas(123, 20_000)
    empirical = np.cov(etas.to_numpy(), rowvar=False)
    np.testing.assert_allclose(empirical, full_omega, rtol=0.05)
    np.testing.assert_allclose(etas.mean().to_numpy(), 0.0, atol=0.01)


def test_sample_etas__reproducible_and_invariant_to_batch_size(
    correlated_bsv: BetweenSubjectVariability,
) -> None:
    """Same seed, same etas; patient k identical for n=10, n=1000 and with a start offset."""
    small = correlated_bsv.sample_etas(5, 10)
    pd.testing.assert_frame_equal(small, correlated_bsv.sample_etas(5, 10))
    pd.testing.assert_frame_equal(small, correlated_bsv.sample_etas(5, 1000).iloc[:10])
    offset = correlated_bsv.sample_etas(5, 5, start=5)
    np.testing.assert_array_equal(offset.to_numpy(), small.to_numpy()[5:])
    assert small.attrs["seed_entropy"] == 5
    assert list(small.columns) == ["eta_cl", "eta_v", "eta_ka"]


def test_sample_etas__singular_omega_with_fixed_eta() -> None:
    """A zero-variance eta (fixed) stays 0 while the others keep their variance."""
    bsv = BetweenSubjectVariability(names=("cl", "v"), omega=np.diag([0.09, 0.0]))
    etas = bsv.sample_etas(1, 20_000)
    assert np.all(etas["eta_v"] == 0.0)
    assert abs(etas["eta_cl"].var() / 0.09 - 1.0) < 0.05


def test_individual_parameters__typical_times_exp_eta(
    correlated_bsv: BetweenSubjectVariability,
) -> None:
    """Each parameter is typical * exp(eta); typical values may be per patient; extras pass."""
    etas = correlated_bsv.sample_etas(2, 4)
    typical = {"cl": np.array([1.0, 2.0, 3.0, 4.0]), "v": 50.0, "ka": 1.2, "f": 0.8}
    params = correlated_bsv.individual_parameters(typical, etas)
    np.testing.assert_allclose(params["cl"], typical["cl"] * np.exp(etas["eta_cl"]))
    np.testing.assert_allclose(params["v"], 50.0 * np.exp(etas["eta_v"]))
    np.testing.assert_array_equal(params["f"], np.full(4, 0.8))


def test_omega_from_cv__log_normal_variances_and_covariances() -> None:
    """Variances are log(1+CV^2) and covariances r * sqrt(w_i w_j)."""
    omega = omega_from_cv([0.3, 0.5], [[1.0, -0.4], [-0.4, 1.0]])
    w1, w2 = np.log1p(0.09), np.log1p(0.25)
    np.testing.assert_allclose(omega, [[w1, -0.4 * np.sqrt(w1 * w2)],
                                       [-0.4 * np.sqrt(w1 * w2), w2]])
    np.testing.assert_allclose(omega_from_variances([0.1, 0.2]), np.diag([0.1, 0.2]))


NOT_PSD = np.array([[1.0, 0.9, 0.9], [0.9, 1.0, -0.9], [0.9, -0.9, 1.0]])


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: BetweenSubjectVariability(names=("a", "b"), omega=NOT_PSD[:2, :2] - 2 * np.eye(2)),
         "omega"),
        (lambda: BetweenSubjectVariability(names=("a", "b", "c"), omega=NOT_PSD), "omega"),
        (lambda: BetweenSubjectVariability(names=("a", "b"), omega=[[1.0, 0.2], [0.1, 1.0]]),
         "omega"),
        (lambda: BetweenSubjectVariability(names=("a", "b"), omega=np.eye(3)), "omega"),
        (lambda: BetweenSubjectVariability(names=("a", "b"), omega=[[np.nan, 0], [0, 1]]),
         "omega"),
        (lambda: BetweenSubjectVariability(names=("a", "a"), omega=np.eye(2)), "names"),
        (lambda: omega_from_variances([-0.1, 0.2]), "variances"),
        (lambda: omega_from_variances([0.1, 0.2], np.eye(3)), "correlation"),
        (lambda: omega_from_variances([0.1, 0.2], [[1.0, 1.5], [1.5, 1.0]]), "correlation"),
        (lambda: omega_from_variances([0.1, 0.2, 0.3], NOT_PSD), "correlation"),
        (lambda: omega_from_cv([0.3, np.nan]), "cvs"),
    ],
)
def test_variability__bad_input_raises_naming_argument(call: object, name: str) -> None:
    """Non-PSD, asymmetric, mis-shaped or NaN omega and bad names raise ValueError."""
    with pytest.raises(ValueError, match=name):
        call()


@pytest.mark.parametrize(
    ("arguments", "name"),
    [
        ({"n": -1}, "n"),
        ({"start": -2}, "start"),
        ({"seed": -1}, "seed"),
    ],
)
def test_sample_etas__bad_arguments_raise_naming_them(
    correlated_bsv: BetweenSubjectVariability, arguments: dict, name: str
) -> None:
    """Negative n, negative start and negative seeds raise ValueError naming the argument."""
    kwargs = {"seed": 1, "n": 3, **arguments}
    with pytest.raises(ValueError, match=rf"\b{name} must"):
        correlated_bsv.sample_etas(kwargs.pop("seed"), kwargs.pop("n"), **kwargs)


@pytest.mark.parametrize(
    ("typical", "etas", "name"),
    [
        ({"cl": 1.0, "v": 1.0}, np.zeros((2, 3)), "typical"),
        ({"cl": -1.0, "v": 1.0, "ka": 1.0}, np.zeros((2, 3)), "typical"),
        ({"cl": [1.0, 2.0, 3.0], "v": 1.0, "ka": 1.0}, np.zeros((2, 3)), "typical"),
        ({"cl": 1.0, "v": 1.0, "ka": 1.0}, np.zeros((2, 2)), "etas"),
        ({"cl": 1.0, "v": 1.0, "ka": 1.0}, np.full((2, 3), np.nan), "etas"),
        ({"cl": 1.0, "v": 1.0, "ka": 1.0}, pd.DataFrame({"eta_cl": [0.0]}), "etas"),
    ],
)
def test_individual_parameters__bad_input_raises_naming_argument(
    correlated_bsv: BetweenSubjectVariability, typical: dict, etas: object, name: str
) -> None:
    """Missing/negative/mis-shaped typical values and bad etas raise ValueError."""
    with pytest.raises(ValueError, match=name):
        correlated_bsv.individual_parameters(typical, etas)
