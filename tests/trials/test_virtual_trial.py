"""Virtual trials: error rates with injectable synthetic endpoints, and a real vancomycin trial."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401  (registers the envs)
from agents.policies.registry import make_policy
from pkgym.trials.endpoints import (
    BernoulliEndpoints,
    EndpointPool,
    GaussianEndpoints,
    simulate_endpoint_pool,
)
from pkgym.trials.group_sequential import exit_probabilities
from pkgym.trials.virtual_trial import (
    VirtualTrialDesign,
    run_virtual_trial,
    simulate_virtual_trials,
)

VANCOMYCIN = "pkgym/Vancomycin-v0"


def _design(max_patients: int, **kwargs: object) -> VirtualTrialDesign:
    """A K=3 O'Brien-Fleming design on a synthetic endpoint."""
    return VirtualTrialDesign(env_id="synthetic", arms=("control", "experimental"),
                              endpoint="y", max_patients=max_patients, **kwargs)  # type: ignore


def _within_mc(rate: float, expected: float, n_trials: int, slack: float = 0.0) -> bool:
    """|rate - expected| within 3.5 Monte-Carlo SEs (plus a small model-error slack)."""
    se = np.sqrt(expected * (1 - expected) / n_trials)
    return abs(rate - expected) <= 3.5 * se + slack


@pytest.mark.parametrize(("alternative", "allocation"), [
    ("two-sided", "equal"), ("greater", "equal"),
    pytest.param("two-sided", "neyman", marks=pytest.mark.slow)])  # the 10-minute budget
def test_simulate_virtual_trials__type_one_error_is_nominal_under_identical_arms(
        alternative: str, allocation: str) -> None:
    """2000 null Gaussian trials reject at alpha within Monte-Carlo error."""
    alpha = 0.05 if alternative == "two-sided" else 0.025
    design = _design(240, alpha=alpha, alternative=alternative, allocation=allocation)
    oc = simulate_virtual_trials(design, GaussianEndpoints((1.0, 1.0), (1.0, 1.0)), 2000, seed=11)
    assert _within_mc(oc.rejection_rate, alpha, 2000)
    assert oc.expected_n > 0.98 * 240  # OBF rarely stops early under H0


def test_simulate_virtual_trials__type_one_error_is_nominal_for_a_binary_endpoint() -> None:
    """Null Bernoulli(0.3) trials reject at the two-sided 5% level."""
    oc = simulate_virtual_trials(_design(300), BernoulliEndpoints((0.3, 0.3)), 2000, seed=5)
    assert _within_mc(oc.rejection_rate, 0.05, 2000)


def test_simulate_virtual_trials__power_matches_the_exact_recursion() -> None:
    """Gaussian effect 0.4 sd, N=150: simulated power and stopping match the canonical law."""
    design = _design(150)
    oc = simulate_virtual_trials(design, GaussianEndpoints((0.0, 0.4), (1.0, 1.0)), 1500, seed=3)
    bounds = design.boundaries()
    drift = 0.4 / np.sqrt(4.0 / 150)  # E[Z_K]: effect / sqrt(sigma^2 (1/n_C + 1/n_E))
    upper, lower = exit_probabilities(bounds.z_bounds, bounds.fractions, drift, 2)
    assert _within_mc(oc.rejection_rate, float(np.sum(upper + lower)), 1500, slack=0.01)
    exact_n = 150 - 50 * (upper + lower)[0] - 50 * np.sum((upper + lower)[:2])
    assert abs(oc.expected_n - exact_n) < 4 * oc.expected_n_se + 1.5


def test_simulate_virtual_trials__power_rises_with_sample_size() -> None:
    """More patients, more power, for the same effect."""
    source = GaussianEndpoints((0.0, 0.3), (1.0, 1.0))
    powers = [simulate_virtual_trials(_design(n), source, 400, seed=2).rejection_rate
              for n in (60, 150, 400)]
    assert powers[0] < powers[1] < powers[2]


def test_simulate_virtual_trials__neyman_allocation_favours_the_more_variable_arm() -> None:
    """With sds 1 and 3 the experimental arm gets about 3/4 of the patients after burn-in."""
    design = _design(200, allocation="neyman", burn_in=20)
    oc = simulate_virtual_trials(design, GaussianEndpoints((0.0, 0.0), (1.0, 3.0)), 50, seed=4)
    share = oc.trials["n_experimental"].sum() / oc.trials["n_enrolled"].sum()
    assert 0.68 < share < 0.8


def test_endpoint_pool__draws_patients_without_replacement() -> None:
    """Drawing the whole pool returns each patient exactly once."""
    pool = EndpointPool(np.arange(20.0).reshape(10, 2))
    rows = pool(10, np.random.default_rng(0))
    assert sorted(rows[:, 0].tolist()) == list(np.arange(0.0, 20.0, 2.0))
    with pytest.raises(ValueError, match="pool size"):
        pool(11, np.random.default_rng(0))


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"allocation": "thompson"}, "allocation"), ({"alternative": "better"}, "alternative"),
    ({"spending": "linear"}, "spending"), ({"allocation_bounds": (0.6, 0.9)}, "allocation_bounds"),
    ({"max_patients": 6}, "max_patients")])
def test_virtual_trial_design__rejects_bad_fields(kwargs: dict, field: str) -> None:
    """Bad design fields fail with a ValueError naming the field."""
    arguments = {"max_patients": 60, **kwargs}
    with pytest.raises(ValueError, match=field):
        _design(**arguments)


def test_simulate_endpoint_pool__rejects_an_unknown_endpoint() -> None:
    """An endpoint that is not a score column names the allowed ones."""
    core = gym.make(VANCOMYCIN).unwrapped.core  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="in_target_range_fraction"):
        simulate_endpoint_pool(VANCOMYCIN, [make_policy("label", core)] * 2, "auc", 3, seed=0)


@pytest.mark.slow  # trimmed from the default suite (10-minute budget); -m slow runs it
def test_run_virtual_trial__map_versus_label_on_vancomycin_runs_end_to_end() -> None:
    """A tiny MAP-vs-label trial on real simulated patients gives a consistent outcome."""
    core = gym.make(VANCOMYCIN).unwrapped.core  # type: ignore[attr-defined]
    design = VirtualTrialDesign(env_id=VANCOMYCIN, arms=("label", "map"),
                                endpoint="in_target_range_fraction", max_patients=24)
    policies = [make_policy("label", core), make_policy("map", core)]
    outcome = run_virtual_trial(design, policies, seed=0)
    assert outcome.n_enrolled in design.look_sizes.tolist()
    assert sum(outcome.n_per_arm) == outcome.n_enrolled
    assert outcome.ci_low <= outcome.estimate <= outcome.ci_high
    assert 0.0 <= outcome.p_value <= 1.0
    assert -1.0 <= outcome.estimate <= 1.0
