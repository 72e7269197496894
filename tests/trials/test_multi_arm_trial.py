"""Multi-arm virtual trials: family-wise error, power, allocation, futility, two-arm parity."""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.trials.allocation import probability_best
from pkgym.trials.endpoints import BernoulliEndpoints, GaussianEndpoints
from pkgym.trials.group_sequential import spending_boundaries
from pkgym.trials.virtual_trial import (
    VirtualTrialDesign,
    run_sequential_trial,
    simulate_virtual_trials,
)
from pkgym.trials.virtual_trial_report import characteristics_table

NULL_3 = GaussianEndpoints((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))


def _design(arms: tuple[str, ...], max_patients: int, **kwargs: object) -> VirtualTrialDesign:
    """A K=3 O'Brien-Fleming design on a synthetic endpoint."""
    return VirtualTrialDesign(env_id="synthetic", arms=arms, endpoint="y",
                              max_patients=max_patients, **kwargs)  # type: ignore[arg-type]


def _two_arm(max_patients: int, **kwargs: object) -> VirtualTrialDesign:
    """A two-arm design, as before multi-arm support."""
    return _design(("a", "b"), max_patients, **kwargs)


def _three_arm(max_patients: int, **kwargs: object) -> VirtualTrialDesign:
    """A control and two experimental arms, blocks of 6."""
    return _design(("control", "low", "high"), max_patients, block_size=6, **kwargs)


# Captured from the two-arm implementation before multi-arm support (300 trials, seed 7):
# (rejection rate, total N, total experimental n, sum of z, sum of ci_low, sum of p-values).
TWO_ARM_REFERENCE = [
    ({"max_patients": 150}, GaussianEndpoints((0.0, 0.4), (1.0, 1.0)),
     (0.7233333333333334, 40150, 20075, 712.329258105384, 12.975959755235746,
      25.4538127937862)),
    ({"max_patients": 200, "allocation": "neyman", "burn_in": 20},
     GaussianEndpoints((0.0, 0.2), (1.0, 3.0)),
     (0.15, 59062, 42810, 213.43590944419714, -111.2752555452233, 125.35337454295507)),
    ({"max_patients": 120, "alternative": "greater", "alpha": 0.025, "spending": "pocock"},
     GaussianEndpoints((0.0, 0.3), (1.0, 1.0)),
     (0.3433333333333333, 32320, 16160, 516.2746291703795, -29.348770333163447,
      34.62491817399177)),
    ({"max_patients": 90, "alternative": "less", "fractions": (0.5, 1.0)},
     BernoulliEndpoints((0.5, 0.3)),
     (0.6066666666666667, 24840, 12439, 583.7331290055292, -125.48446492810722,
      26.024009861073345)),
]


@pytest.mark.parametrize(("kwargs", "source", "expected"), TWO_ARM_REFERENCE)
def test_simulate_virtual_trials__two_arms_reproduce_the_pre_multi_arm_numbers(
        kwargs: dict, source: GaussianEndpoints, expected: tuple) -> None:
    """Same seed, same two-arm design: exactly the numbers of the two-arm-only code."""
    trials = simulate_virtual_trials(_two_arm(**kwargs), source, 300, seed=7).trials
    observed = (trials["rejected"].mean(), trials["n_enrolled"].sum(),
                trials["n_experimental"].sum(), trials["z"].sum(), trials["ci_low"].sum(),
                trials["p_value"].sum())
    assert observed[:3] == expected[:3]
    np.testing.assert_allclose(observed[3:], expected[3:], rtol=1e-12, atol=0)


@pytest.mark.parametrize(("allocation", "futility_z"), [  # two behind -m slow: the budget
    ("equal", None), pytest.param("thall_wathen", None, marks=pytest.mark.slow),
    pytest.param("equal", 0.0, marks=pytest.mark.slow)])
def test_simulate_virtual_trials__family_wise_error_is_at_most_alpha_with_three_arms(
        allocation: str, futility_z: float | None) -> None:
    """4000 trials of three identical arms: any-rejection rate <= alpha + 3 MC SE.

    Without the Bonferroni split the rate is about 0.09, so this test fails if it is lost.
    """
    design = _three_arm(120, allocation=allocation, futility_z=futility_z, burn_in=24)
    oc = simulate_virtual_trials(design, NULL_3, 4000, seed=21)
    assert oc.rejection_rate <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 4000)
    assert oc.rejection_rate >= 0.01  # not vacuous: rejections do happen
    assert oc.rejection_rate >= max(oc.comparison_rejection_rates)


def test_virtual_trial_design__splits_alpha_over_the_comparisons() -> None:
    """Three arms: each comparison's boundaries are the two-arm ones at alpha / 2."""
    bounds = _three_arm(120, alpha=0.05).boundaries()
    reference = spending_boundaries((1 / 3, 2 / 3, 1.0), 0.025, 2, "obrien_fleming")
    np.testing.assert_allclose(bounds.z_bounds, reference.z_bounds, rtol=1e-12)


def test_simulate_virtual_trials__three_arm_power_rises_with_sample_size() -> None:
    """Both effective arms are found more often with more patients."""
    source = GaussianEndpoints((0.0, 0.3, 0.5), (1.0, 1.0, 1.0))
    rates = [simulate_virtual_trials(_three_arm(n), source, 300, seed=2) for n in (60, 180, 420)]
    for j in range(2):
        powers = [oc.comparison_rejection_rates[j] for oc in rates]
        assert powers[0] < powers[1] < powers[2]
    assert rates[2].comparison_rejection_rates[1] > rates[2].comparison_rejection_rates[0]


def test_simulate_virtual_trials__thall_wathen_favours_the_best_arm() -> None:
    """A clearly better arm gets more patients than its rival and than under equal allocation."""
    source = GaussianEndpoints((0.0, 0.0, 0.6), (1.0, 1.0, 1.0))
    design = _three_arm(300, allocation="thall_wathen", burn_in=30, alpha=0.001)
    oc = simulate_virtual_trials(design, source, 60, seed=5)
    control, rival, best = oc.expected_n_per_arm
    assert best > rival + 15
    assert abs(control / oc.expected_n - 1 / 3) < 0.03
    equal = simulate_virtual_trials(_three_arm(300, alpha=0.001), source, 60, seed=5)
    assert best > equal.expected_n_per_arm[2] + 15


def test_simulate_virtual_trials__futility_drops_useless_arms_and_saves_patients() -> None:
    """A null arm is often dropped for futility, an effective one rarely; fewer patients used."""
    source = GaussianEndpoints((0.0, 0.0, 0.8), (1.0, 1.0, 1.0))
    with_futility = simulate_virtual_trials(_three_arm(240, futility_z=0.0), source, 300, 3)
    without = simulate_virtual_trials(_three_arm(240), source, 300, 3)
    trials = with_futility.trials
    assert trials["futile_1"].mean() > 0.4 and trials["futile_2"].mean() < 0.05
    assert not (trials["futile_1"] & trials["rejected_1"]).any()
    assert with_futility.expected_n < without.expected_n
    assert with_futility.comparison_rejection_rates[1] > 0.9


def test_run_sequential_trial__an_arm_that_crosses_is_dropped_and_the_rest_continue() -> None:
    """A huge effect in one arm: it is decided at look 1, the null arm runs to the end."""
    source = GaussianEndpoints((0.0, 5.0, 0.0), (1.0, 1.0, 1.0))
    outcome = run_sequential_trial(_three_arm(180), source, 0)
    strong, null = outcome.comparisons
    assert strong.rejected and strong.decision_look == 1 and null.decision_look == 3
    assert outcome.stopped_look == 3 and outcome.n_enrolled == 180
    assert strong.n_experimental < null.n_experimental
    assert 0.0 <= strong.p_value <= 0.05 and strong.ci_low > 0
    with pytest.raises(ValueError, match="comparisons"):
        _ = outcome.estimate


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"arms": ("control",)}, ["arms", ">= 2"]),
    ({"arms": ("a", "b", "a")}, ["arms", "distinct", "'a'"]),
    ({"arms": ("a", "b", "c"), "allocation": "neyman"}, ["allocation", "'equal'",
                                                         "'thall_wathen'"]),
    ({"futility_z": float("nan")}, ["futility_z", "finite", "None"]),
    ({"allocation": "thompson"}, ["allocation", "'thall_wathen'"]),
    ({"arms": ("a", "b", "c"), "max_patients": 10}, ["max_patients", "per arm"])])
def test_virtual_trial_design__multi_arm_bad_fields_name_the_field_and_allowed_values(
        kwargs: dict, words: list[str]) -> None:
    """Bad arms, allocation or futility bound fail naming the field and what is allowed."""
    arguments = {"arms": ("a", "b"), "max_patients": 60, **kwargs}
    with pytest.raises(ValueError) as error:
        _design(**arguments)
    for word in words:
        assert word in str(error.value)


def test_probability_best__matches_monte_carlo() -> None:
    """Gauss-Hermite P(best) agrees with a million draws to 0.003."""
    means, ses = np.array([0.1, 0.3, 0.2]), np.array([0.2, 0.1, 0.3])
    draws = np.random.default_rng(0).normal(means, ses, size=(1_000_000, 3))
    empirical = np.bincount(draws.argmax(axis=1), minlength=3) / len(draws)
    np.testing.assert_allclose(probability_best(means, ses), empirical, atol=0.003)


def test_characteristics_table__puts_type_one_error_next_to_power() -> None:
    """The report rows: per-comparison rejection, FWER, futility, Ns and stop probabilities."""
    design = _three_arm(90, futility_z=-1.0)
    simulated = simulate_virtual_trials(design, GaussianEndpoints((0.0, 0.0, 1.0), (1.0,) * 3),
                                        100, seed=1)
    null = simulate_virtual_trials(design, NULL_3, 100, seed=1)
    table = characteristics_table(design, simulated, null).set_index("characteristic")
    assert table.loc["reject H0: high vs control", "simulated"] > 0.9
    assert table.loc["reject any (family-wise)", "under_null"] == null.rejection_rate
    assert "dropped for futility: low" in table.index
    stops = table.filter(like="P(stop", axis=0)
    assert stops["simulated"].sum() == pytest.approx(1.0) and len(stops) == 3
