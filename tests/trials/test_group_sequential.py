"""Group-sequential boundaries against published values and the exact H0 crossing probability.

Published values used:
* rpact (Wassmer & Pahlke), slides "rpact for confirmatory adaptive group sequential designs",
  MCP 2025 (https://rpact-com.github.io/slides-mcp-2025): ``getDesignGroupSequential(typeOfDesign
  = "asOF")``, K = 3 equally spaced, one-sided alpha 0.025: efficacy z 3.710, 2.511, 1.993,
  cumulative alpha spent 0.0001, 0.0060, 0.0250.
* rpact design-specification slides (https://bayer.presentation.2026.rpact.com/parts/
  02_design_specification.html): fractions 0.3, 0.6, 1, one-sided 0.025, asOF: cumulative alpha
  spent < 0.0001, 0.0038, 0.0250.
* Jennison & Turnbull (2000) Table 2.1 / Pocock (1977): K = 5, two-sided 0.05, C_P = 2.413;
  Table 2.3 / O'Brien & Fleming (1979): C_B(5, 0.05) = 2.040, so c_k = 2.040 sqrt(5 / k).
* Lan-DeMets O'Brien-Fleming spending, K = 5, two-sided 0.05 (gsDesign ``sfLDOF``, rpact
  ``asOF``): 4.877, 3.357, 2.680, 2.290, 2.031.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pkgym.trials.group_sequential import (
    constant_boundaries,
    exit_probabilities,
    spending_boundaries,
    spending_function,
    stagewise_p_values,
)

EQUAL_5 = (0.2, 0.4, 0.6, 0.8, 1.0)
EQUAL_3 = (1 / 3, 2 / 3, 1.0)


def test_spending_boundaries__match_rpact_one_sided_k3() -> None:
    """OBF-type spending, K=3, one-sided 0.025: rpact's 3.710, 2.511, 1.993."""
    b = spending_boundaries(EQUAL_3, alpha=0.025, sided=1)
    np.testing.assert_allclose(b.z_bounds, [3.710, 2.511, 1.993], atol=5e-4)
    np.testing.assert_allclose(b.cumulative_alpha(), [0.0001, 0.0060, 0.0250], atol=5e-5)


def test_spending_boundaries__match_rpact_cumulative_alpha_unequal_looks() -> None:
    """Fractions 0.3, 0.6, 1: rpact's cumulative alpha < 0.0001, 0.0038, 0.0250."""
    spent = spending_boundaries((0.3, 0.6, 1.0), alpha=0.025, sided=1).cumulative_alpha()
    assert spent[0] < 0.0001
    np.testing.assert_allclose(spent[1:], [0.0038, 0.0250], atol=5e-5)


def test_spending_boundaries__match_published_k5_two_sided() -> None:
    """OBF-type spending, K=5, two-sided 0.05: 4.877, 3.357, 2.680, 2.290, 2.031."""
    b = spending_boundaries(EQUAL_5, alpha=0.05, sided=2)
    np.testing.assert_allclose(b.z_bounds, [4.877, 3.357, 2.680, 2.290, 2.031], atol=5e-4)


def test_constant_boundaries__match_pocock_and_obrien_fleming_tables() -> None:
    """Classic K=5 two-sided 0.05: Pocock 2.413; O'Brien-Fleming 2.040 sqrt(5/k)."""
    pocock = constant_boundaries(EQUAL_5, 0.05, 2, "pocock")
    obf = constant_boundaries(EQUAL_5, 0.05, 2, "obrien_fleming")
    np.testing.assert_allclose(pocock.z_bounds, [2.413] * 5, atol=5e-4)
    np.testing.assert_allclose(obf.z_bounds, [4.562, 3.226, 2.634, 2.281, 2.040], atol=5e-4)


@pytest.mark.parametrize("spending", ["obrien_fleming", "pocock"])
@pytest.mark.parametrize("sided", [1, 2])
@pytest.mark.parametrize("fractions", [EQUAL_3, (0.25, 0.6, 0.8, 1.0)])
def test_spending_boundaries__spend_exactly_alpha_under_h0(spending: str, sided: int,
                                                           fractions: tuple[float, ...]) -> None:
    """The total crossing probability under H0 equals alpha, and each look its spending."""
    b = spending_boundaries(fractions, alpha=0.05, sided=sided, spending=spending)
    target = spending_function(np.asarray(fractions), 0.05 / sided, spending) * sided
    np.testing.assert_allclose(b.cumulative_alpha(), target, atol=1e-7)
    assert abs(b.cumulative_alpha()[-1] - 0.05) < 1e-4


def test_exit_probabilities__single_look_is_the_normal_tail() -> None:
    """One look at drift 1: P(Z >= 1.96) = 1 - Phi(1.96 - 1)."""
    upper, lower = exit_probabilities((1.959964,), (1.0,), drift=1.0, sided=1)
    assert upper[0] == pytest.approx(stats.norm.sf(0.959964), abs=1e-9) and lower[0] == 0.0


def test_exit_probabilities__match_monte_carlo_brownian_motion() -> None:
    """Exit probabilities under a drift agree with simulated score processes."""
    b = spending_boundaries(EQUAL_3, alpha=0.05, sided=2)
    upper, lower = exit_probabilities(b.z_bounds, b.fractions, drift=2.5, sided=2)
    rng = np.random.default_rng(0)
    t = np.asarray(b.fractions)
    scores = np.cumsum(rng.normal(2.5 * np.diff(t, prepend=0), np.sqrt(np.diff(t, prepend=0)),
                                  size=(200_000, 3)), axis=1)
    crossed = np.abs(scores / np.sqrt(t)) >= np.asarray(b.z_bounds)
    first = np.where(crossed.any(axis=1), crossed.argmax(axis=1), -1)
    simulated = np.array([np.mean(first == k) for k in range(3)])
    np.testing.assert_allclose(upper + lower, simulated, atol=4e-3)


def test_stagewise_p_values__equal_cumulative_alpha_on_the_boundary() -> None:
    """A statistic exactly on look k's boundary has p = alpha spent by look k."""
    b = spending_boundaries(EQUAL_3, alpha=0.05, sided=2)
    p_values = stagewise_p_values(b, np.array([1, 2, 3]), np.asarray(b.z_bounds))
    np.testing.assert_allclose(p_values, b.cumulative_alpha(), atol=1e-9)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"fractions": (0.5, 0.4, 1.0)}, "fractions"), ({"fractions": (0.5, 0.9)}, "fractions"),
    ({"alpha": 0.7}, "alpha"), ({"sided": 3}, "sided"), ({"spending": "linear"}, "spending")])
def test_spending_boundaries__reject_bad_input_naming_the_field(kwargs: dict, field: str) -> None:
    """Bad input fails with a ValueError naming the field."""
    arguments = {"fractions": EQUAL_3, "alpha": 0.05, "sided": 2, "spending": "obrien_fleming"}
    with pytest.raises(ValueError, match=field):
        spending_boundaries(**{**arguments, **kwargs})
