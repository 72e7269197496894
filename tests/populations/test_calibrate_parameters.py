"""fit_simulated_moments: indirect inference recovers known parameters; bad inputs are refused."""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.populations.calibrate.parameters import fit_simulated_moments

TRUE = np.array([1.0, -0.5, np.log(0.4)])
"""a, b and log s of the 'real' data: y = a + b x + s e."""
NAMES = ("a", "b", "log_s")


def _statistics(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The auxiliary model: OLS intercept and slope, log residual SD."""
    design = np.column_stack([np.ones_like(x), x])
    coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coefficients
    return np.append(coefficients, np.log(np.sqrt(residual @ residual / (x.size - 2))))


def _standard_errors(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    design = np.column_stack([np.ones_like(x), x])
    variance = np.exp(2 * _statistics(x, y)[-1])
    covariance = variance * np.linalg.inv(design.T @ design)
    return np.append(np.sqrt(np.diag(covariance)), 1.0 / np.sqrt(2.0 * (x.size - 2)))


def _fit(seed: int, n: int = 400, replicates: int = 20):  # noqa: ANN202
    """Real data from TRUE with seed's noise; twins of it with their own fixed normals."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, n)
    y = TRUE[0] + TRUE[1] * x + np.exp(TRUE[2]) * rng.standard_normal(n)
    x_sim = np.tile(x, replicates)
    z = np.random.default_rng(10_000 + seed).standard_normal(x_sim.size)  # common numbers

    def simulate(theta: np.ndarray) -> np.ndarray:
        return _statistics(x_sim, theta[0] + theta[1] * x_sim + np.exp(theta[2]) * z)

    return fit_simulated_moments(simulate, _statistics(x, y), _standard_errors(x, y),
                                 np.zeros(3), names=NAMES)


def test_fit_simulated_moments__recovers_known_parameters_within_three_standard_errors() -> None:
    """The fit converges, matches the statistics and lands within 3 SE of the truth."""
    fit = _fit(seed=1)
    assert fit.converged
    assert np.all(np.abs(fit.theta - TRUE) < 3.0 * fit.standard_errors)
    assert np.all(fit.standard_errors > 0) and np.all(fit.standard_errors < 0.2)
    table = fit.statistics()
    assert table["z"].abs().max() < 1e-6  # exactly identified: every statistic is matched
    assert fit.parameters()["parameter"].tolist() == list(NAMES)


def test_fit_simulated_moments__standard_errors_match_the_sampling_spread() -> None:
    """Over 40 real samples the reported SEs are within a factor 2 of the estimates' SD."""
    fits = [_fit(seed, n=200, replicates=10) for seed in range(40)]
    estimates = np.array([f.theta for f in fits])
    reported = np.array([f.standard_errors for f in fits]).mean(axis=0)
    empirical = estimates.std(axis=0, ddof=1)
    ratio = reported / empirical
    assert np.all((ratio > 0.5) & (ratio < 2.0)), ratio
    assert np.all(np.abs(estimates.mean(axis=0) - TRUE) < 3 * empirical / np.sqrt(40) + 0.02)


def _ok(theta: np.ndarray) -> np.ndarray:
    return np.array([theta[0], theta[0] + theta[1], theta[1]])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"observed": np.zeros(2), "scale": np.ones(2), "theta0": np.zeros(3),
      "names": ("p", "q", "r")}, "cannot be identified"),
    ({"scale": np.array([1.0, 0.0, 1.0])}, "scale"),
    ({"scale": np.array([1.0, -1.0, 1.0])}, "scale"),
    ({"theta0": np.array([2.0, 0.0]), "bounds": ([-1.0, -1.0], [1.0, 1.0])}, "outside its bounds"),
    ({"simulate": lambda t: np.zeros(2)}, "simulate returned"),
    ({"simulate": lambda t: np.array([np.nan, 0.0, 0.0])}, "simulate returned"),
    ({"names": ("p",)}, "theta0"),
    ({"observed": np.array([0.0, np.inf, 0.0])}, "observed"),
])
def test_fit_simulated_moments__refuses_bad_inputs_with_a_clear_message(kwargs: dict,
                                                                       message: str) -> None:
    """More parameters than statistics, bad scales, theta0 off bounds, bad simulations."""
    arguments = {"simulate": _ok, "observed": np.zeros(3), "scale": np.ones(3),
                 "theta0": np.zeros(2), "names": ("p", "q")} | kwargs
    simulate = arguments.pop("simulate")
    observed, scale, theta0 = (arguments.pop(k) for k in ("observed", "scale", "theta0"))
    with pytest.raises(ValueError, match=message):
        fit_simulated_moments(simulate, observed, scale, theta0, **arguments)
