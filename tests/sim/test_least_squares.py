"""The batched Levenberg-Marquardt of every MAP policy: scipy's optimum, batch independence."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import least_squares

from pkgym.sim.least_squares import levenberg_marquardt

TIMES_H = np.array([0.5, 1.0, 2.0, 4.0, 8.0, 12.0])
TRUE = np.array([[np.log(10.0), np.log(0.3)], [np.log(4.0), np.log(0.05)],
                 [np.log(25.0), np.log(1.2)]])
"""log amplitude and log rate of three patients' mono-exponential decays."""
PRIOR_SD = 2.0


def _observations() -> np.ndarray:
    """Each patient's decay at ``TIMES_H`` with a fixed multiplicative error."""
    noise = np.array([0.03, -0.05, 0.02, 0.04, -0.01, 0.05])
    return np.exp(TRUE[:, :1]) * np.exp(-np.exp(TRUE[:, 1:]) * TIMES_H) * np.exp(noise)


def _residuals_of(observations: np.ndarray):  # noqa: ANN202
    """Log-scale data residuals and a weak prior on both parameters (a MAP objective)."""

    def residuals(x: np.ndarray) -> np.ndarray:
        y = np.repeat(observations, x.shape[0] // observations.shape[0], axis=0)
        predicted = x[:, :1] - np.exp(x[:, 1:]) * TIMES_H
        return np.column_stack([(np.log(y) - predicted) / 0.1, x / PRIOR_SD])

    return residuals


def test_levenberg_marquardt__reaches_scipy_least_squares_optimum_per_patient() -> None:
    """Every patient's fit matches scipy.optimize.least_squares on its own objective."""
    observations = _observations()
    fitted = levenberg_marquardt(_residuals_of(observations), np.zeros((3, 2)), iterations=40,
                                 step=1e-7)
    for i in range(3):
        alone = _residuals_of(observations[i:i + 1])
        reference = least_squares(lambda x, alone=alone: alone(x[None])[0], np.zeros(2),
                                  xtol=1e-14, ftol=1e-14, gtol=1e-14).x
        np.testing.assert_allclose(fitted[i], reference, atol=1e-6)
    assert np.abs(fitted - TRUE).max() < 0.1  # near the truth: the data pulled the estimate


def test_levenberg_marquardt__a_patient_is_the_same_alone_or_in_a_batch() -> None:
    """Per-patient damping: a row of a batch fit equals that patient fitted alone, bit for bit."""
    observations = _observations()
    batch = levenberg_marquardt(_residuals_of(observations), np.zeros((3, 2)), iterations=6,
                                step=1e-4)
    for i in range(3):
        alone = levenberg_marquardt(_residuals_of(observations[i:i + 1]), np.zeros((1, 2)),
                                    iterations=6, step=1e-4)
        np.testing.assert_array_equal(batch[i], alone[0])


def test_levenberg_marquardt__leaves_x0_untouched_and_never_raises_the_cost() -> None:
    """The start is copied, and the cost after any number of iterations is at most the start's."""
    observations = _observations()
    residuals = _residuals_of(observations)
    x0 = np.full((3, 2), 0.5)
    costs = [(residuals(levenberg_marquardt(residuals, x0, iterations=n, step=1e-4)) ** 2)
             .sum(axis=1) for n in (0, 1, 3, 10)]
    np.testing.assert_array_equal(x0, 0.5)
    assert all(np.all(later <= earlier) for earlier, later in zip(costs, costs[1:], strict=False))
    assert np.all(costs[-1] < 0.5 * costs[0])


@pytest.mark.parametrize("iterations", [0, 2])
def test_levenberg_marquardt__returns_float64_of_the_start_shape(iterations: int) -> None:
    """The result has x0's shape, float64, whatever the number of iterations."""
    out = levenberg_marquardt(_residuals_of(_observations()), [[0, 0], [1, 1], [2, 2]],
                              iterations=iterations, step=1e-4)
    assert out.shape == (3, 2) and out.dtype == np.float64
