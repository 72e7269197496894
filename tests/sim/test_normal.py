"""The compiled normal CDF and its inverse, against scipy."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr as scipy_ndtr
from scipy.special import ndtri as scipy_ndtri

from pkgym.populations.distributions import truncated_normal_ppf
from pkgym.sim.normal import ndtr, ndtri, normal_ppf_above


def test_ndtri__matches_scipy_to_1e_12_relative_from_the_far_tails_to_the_centre() -> None:
    """AS241 agrees with scipy.special.ndtri across all three branches and both tails."""
    rng = np.random.default_rng(0)
    probabilities = np.concatenate([
        rng.random(20_000), 10.0 ** -rng.uniform(0, 300, 5_000),
        1.0 - 10.0 ** -rng.uniform(0, 16, 5_000), [0.075, 0.925, 1e-300, 5e-324, 0.5]])
    mine = np.array([ndtri(p) for p in probabilities])
    np.testing.assert_allclose(mine, scipy_ndtri(probabilities), rtol=1e-12, atol=0.0)


def test_ndtri__edges_are_infinite_and_outside_is_nan() -> None:
    """0 and 1 map to -inf and inf; probabilities outside [0, 1] or NaN give NaN."""
    assert ndtri(0.0) == -math.inf and ndtri(1.0) == math.inf
    assert all(math.isnan(ndtri(p)) for p in (-0.1, 1.1, math.nan))


def test_ndtr__matches_scipy_to_1e_12_relative_including_the_lower_tail() -> None:
    """The CDF agrees with scipy.special.ndtr from -37 (5.7e-300) to +9.

    Below -37.5 the results are subnormal, where scipy's erfc underflows to 0 earlier; the
    assay kernel never goes below -1 / proportional_sd (-4.4 for Goti).
    """
    rng = np.random.default_rng(1)
    quantiles = np.concatenate([rng.normal(0.0, 3.0, 20_000), rng.uniform(-37.0, 9.0, 20_000)])
    mine = np.array([ndtr(x) for x in quantiles])
    np.testing.assert_allclose(mine, scipy_ndtr(quantiles), rtol=1e-12, atol=0.0)


def test_normal_ppf_above__matches_the_numpy_truncated_normal_ppf() -> None:
    """The compiled truncated inverse CDF equals truncated_normal_ppf(u, low, inf)."""
    rng = np.random.default_rng(2)
    uniforms, lows = rng.random(5_000), -rng.uniform(0.0, 40.0, 5_000)
    lows[:10] = [-np.inf, 0.0, -0.0, -1e-12, -8.0, -37.0, -0.5, -1.0, -2.0, -3.0]
    mine = np.array([normal_ppf_above(u, low) for u, low in zip(uniforms, lows, strict=True)])
    np.testing.assert_allclose(mine, truncated_normal_ppf(uniforms, lows, np.inf), rtol=1e-12,
                               atol=1e-14)
