"""Covariate calibration: entropy balancing and raking against known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pkgym.populations.calibrate import (
    CalibrationWeights,
    Marginals,
    entropy_balance,
    marginals_from_table,
    rake,
)

N = 20_000
RACE_SHARES = {"a": 0.5, "b": 0.3, "c": 0.2}
TARGETS = Marginals(shares={"race": {"a": 0.2, "b": 0.5, "c": 0.3}}, means={"age": 65.0})
# Exponential tilt of u = (age - 60) / 12 ~ N(0, 1) by exp(A u + G u^2 + BETA[race]):
# u becomes N(A / (1 - 2G), 1 / (1 - 2G)) and the race shares become p * exp(BETA) / sum.
A, G, BETA = 0.3, -0.1, {"a": 0.0, "b": 0.5, "c": 0.2}


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    """20 000 virtual patients: race (3 levels), sex and age ~ N(60, 12), independent."""
    rng = np.random.default_rng(20240518)
    return pd.DataFrame({
        "id": np.arange(N),
        "race": rng.choice(list(RACE_SHARES), size=N, p=list(RACE_SHARES.values())),
        "sex": rng.choice(["F", "M"], size=N, p=[0.4, 0.6]),
        "age": rng.normal(60.0, 12.0, size=N),
    })


def _tilt(sample: pd.DataFrame) -> np.ndarray:
    u = (sample["age"].to_numpy() - 60.0) / 12.0
    return np.exp(A * u + G * u**2 + sample["race"].map(BETA).to_numpy())


def test_entropy_balance__hits_targets_to_solver_tolerance(sample: pd.DataFrame) -> None:
    """Weighted shares and mean equal targets that differ from the sample's own margins."""
    calibration = entropy_balance(sample, TARGETS)
    table = calibration.achieved(sample, TARGETS)
    np.testing.assert_allclose(table["achieved"], table["target"], atol=1e-6)
    assert np.abs(table["before"] - table["target"]).max() > 0.1
    assert calibration.weights.sum() == pytest.approx(N)


def test_resample__recovers_targets_within_monte_carlo_error(sample: pd.DataFrame) -> None:
    """Drawing 20 000 rows from the weights gives the target margins within 4 SEs."""
    calibration = entropy_balance(sample, TARGETS)
    drawn = calibration.resample(sample, N, np.random.default_rng(7))
    for level, share in TARGETS.shares["race"].items():
        standard_error = np.sqrt(share * (1 - share) / N)
        assert abs((drawn["race"] == level).mean() - share) < 4 * standard_error
    assert abs(drawn["age"].mean() - 65.0) < 4 * drawn["age"].std() / np.sqrt(N)
    assert drawn["id"].tolist() == list(range(N))
    np.testing.assert_array_equal(drawn["age"], sample["age"].to_numpy()[drawn["source_row"]])


def test_entropy_balance__recovers_population_density_ratio(sample: pd.DataFrame) -> None:
    """Targets from the tilted distribution B give weights proportional to dB/dA."""
    shares = {k: p * np.exp(BETA[k]) for k, p in RACE_SHARES.items()}
    total = sum(shares.values())
    variance = 1.0 / (1.0 - 2.0 * G)
    targets = Marginals(shares={"race": {k: v / total for k, v in shares.items()}},
                        means={"age": 60.0 + 12.0 * A * variance},
                        sds={"age": 12.0 * np.sqrt(variance)})
    weights = entropy_balance(sample, targets).weights
    assert np.corrcoef(weights, _tilt(sample))[0, 1] > 0.999


def test_entropy_balance__exact_tilt_of_the_sample(sample: pd.DataFrame) -> None:
    """Targets equal to the sample's own tilted moments give exactly the tilt weights."""
    truth = _tilt(sample)
    truth *= N / truth.sum()
    age = sample["age"].to_numpy()
    mean = np.average(age, weights=truth)
    targets = Marginals(
        shares={"race": {k: truth[sample["race"] == k].sum() / N for k in RACE_SHARES}},
        means={"age": mean}, sds={"age": np.sqrt(np.average((age - mean) ** 2, weights=truth))})
    np.testing.assert_allclose(entropy_balance(sample, targets).weights, truth, rtol=1e-6)


def test_entropy_balance__keeps_base_weights_that_already_fit(sample: pd.DataFrame) -> None:
    """Base weights that already meet the targets come back unchanged (zero divergence)."""
    base = np.where(sample["sex"] == "F", 3.0, 1.0)
    share = base[sample["sex"] == "F"].sum() / base.sum()
    targets = Marginals(shares={"sex": {"F": share, "M": 1 - share}})
    weights = entropy_balance(sample, targets, base_weights=base).weights
    np.testing.assert_allclose(weights, base * N / base.sum(), rtol=1e-9)


def test_rake__agrees_with_entropy_balance_on_categorical_margins(sample: pd.DataFrame) -> None:
    """Raking (IPF) and entropy balancing are the same KL projection for shares only."""
    targets = Marginals(shares={"race": TARGETS.shares["race"], "sex": {"F": 0.5, "M": 0.5}})
    raked = rake(sample, targets, tol=1e-12)
    balanced = entropy_balance(sample, targets, tol=1e-12)
    np.testing.assert_allclose(raked.weights, balanced.weights, rtol=1e-6)
    assert raked.method == "raking" and balanced.method == "entropy balancing"


@pytest.mark.parametrize("method", [entropy_balance, rake])
def test_calibrate__matches_a_joint_margin(sample: pd.DataFrame, method) -> None:
    """A race x sex cross-classified margin is matched cell by cell."""
    cells = {("a", "F"): 0.1, ("a", "M"): 0.1, ("b", "F"): 0.3, ("b", "M"): 0.2,
             ("c", "F"): 0.05, ("c", "M"): 0.25}
    targets = Marginals(shares={("race", "sex"): cells})
    table = method(sample, targets).achieved(sample, targets)
    assert table["level"].tolist() == list(cells)
    np.testing.assert_allclose(table["achieved"], list(cells.values()), atol=1e-6)


@pytest.mark.parametrize("ratio", [2.0, 1.9])
def test_entropy_balance__respects_weight_cap(sample: pd.DataFrame, ratio: float) -> None:
    """With a binding cap the targets are still met and no weight exceeds ratio x mean."""
    assert entropy_balance(sample, TARGETS).weights.max() > ratio
    calibration = entropy_balance(sample, TARGETS, max_weight_ratio=ratio)
    assert calibration.weights.max() <= ratio * (1 + 1e-8)
    table = calibration.achieved(sample, TARGETS)
    np.testing.assert_allclose(table["achieved"], table["target"], atol=1e-6)


def test_effective_sample_size__kish_formula() -> None:
    """Uniform weights give n; (3, 1) gives 16 / 10; (1, 2, 3) gives 36 / 14."""
    assert CalibrationWeights(np.ones(50), "raking", 0).effective_sample_size == 50
    assert CalibrationWeights(np.array([3.0, 1.0]), "raking", 0).effective_sample_size == 1.6
    weights = CalibrationWeights(np.array([1.0, 2.0, 3.0]) / 2, "raking", 0)
    assert weights.effective_sample_size == pytest.approx(36 / 14)
    assert weights.summary() == "ESS 2.6 of 3 (86%), max weight 1.5x mean"


def test_resample__same_seed_same_draw(sample: pd.DataFrame) -> None:
    """The same generator seed gives an identical resample; another seed does not."""
    calibration = entropy_balance(sample, TARGETS)
    first = calibration.resample(sample, 500, np.random.default_rng(3))
    pd.testing.assert_frame_equal(first, calibration.resample(sample, 500,
                                                              np.random.default_rng(3)))
    assert not first.equals(calibration.resample(sample, 500, np.random.default_rng(4)))


def test_marginals_from_table__ignores_missing_per_column() -> None:
    """Each margin uses its own complete rows and reports how many there were."""
    real = pd.DataFrame({"race": ["a", "b", None, "b"], "sex": ["F", "M", "M", None],
                         "age": [50.0, np.nan, 70.0, 90.0]})
    targets = marginals_from_table(real, ["race", ("race", "sex")], ["age"], match_sd=True)
    assert dict(targets.shares["race"]) == pytest.approx({"a": 1 / 3, "b": 2 / 3})
    assert dict(targets.shares[("race", "sex")]) == {("a", "F"): 0.5, ("b", "M"): 0.5}
    assert targets.means["age"] == 70.0
    assert targets.sds["age"] == pytest.approx(np.std([50.0, 70.0, 90.0]))
    assert dict(targets.n_observed) == {"race": 3, ("race", "sex"): 2, "age": 3}


REFUSALS = [
    (Marginals(means={"weight": 70.0}), "column 'weight' is not in the sample"),
    (Marginals(shares={"race": {"a": 0.5, "d": 0.5}}), "level 'b'.*no target share"),
    (Marginals(shares={"race": {"a": 0.4, "b": 0.3, "c": 0.2, "d": 0.1}}),
     "level 'd' of margin 'race' never occurs"),
    (Marginals(means={"age": 500.0}), "mean 500 of column 'age' is infeasible"),
    (Marginals(means={"age": 60.0}, sds={"age": 1e4}), "sd 10000 of column 'age' is infeasible"),
    (Marginals(shares={"race": {"a": 0.2, "b": 0.5, "c": 0.3},
                       ("race", "sex"): {("a", "F"): 0.25, ("a", "M"): 0.25,
                                         ("b", "F"): 0.2, ("b", "M"): 0.2,
                                         ("c", "F"): 0.05, ("c", "M"): 0.05}}),
     "did not converge.*largest gap is margin .*race"),
]


@pytest.mark.parametrize(("targets", "message"), REFUSALS)
def test_entropy_balance__refuses_unreachable_targets(sample: pd.DataFrame, targets: Marginals,
                                                      message: str) -> None:
    """Missing columns/levels, out-of-range or inconsistent targets raise, naming the cause."""
    with pytest.raises(ValueError, match=message):
        entropy_balance(sample, targets, max_iter=50)


@pytest.mark.parametrize(("shares", "message"), [
    ({"a": -0.1, "b": 1.1}, "level 'a' in margin 'race' must be a finite number > 0"),
    ({"a": 0.5, "b": 0.6}, "shares of margin 'race' must sum to 1"),
    ({"a": np.nan, "b": 1.0}, "level 'a' in margin 'race'"),
])
def test_marginals__refuses_bad_shares(shares: dict[str, float], message: str) -> None:
    """Negative, non-finite or non-normalised shares are refused, naming margin and level."""
    with pytest.raises(ValueError, match=message):
        Marginals(shares={"race": shares})


def test_calibrate__refuses_non_finite_values(sample: pd.DataFrame) -> None:
    """Missing sample values, a non-finite target mean and mean targets for rake raise."""
    broken = sample.assign(age=sample["age"].where(sample.index != 5))
    with pytest.raises(ValueError, match="column .age. has missing or infinite values"):
        entropy_balance(broken, TARGETS)
    with pytest.raises(ValueError, match="column 'race'.* missing values"):
        entropy_balance(sample.assign(race=sample["race"].where(sample.index != 5)), TARGETS)
    with pytest.raises(ValueError, match="target mean of column 'age' must be finite"):
        Marginals(means={"age": np.inf})
    with pytest.raises(ValueError, match="column 'age' has a mean target"):
        rake(sample, TARGETS)
    with pytest.raises(ValueError, match="column 'bmi' is not in the real table"):
        marginals_from_table(sample, [], ["bmi"])


@pytest.mark.parametrize("method", [entropy_balance, rake])
def test_calibrate__capped_categorical_margins(sample: pd.DataFrame, method) -> None:
    """Raking with trimming and capped entropy balancing both meet shares and the cap."""
    targets = Marginals(shares={"race": TARGETS.shares["race"], "sex": {"F": 0.5, "M": 0.5}})
    assert method(sample, targets).weights.max() > 2.0
    calibration = method(sample, targets, max_weight_ratio=1.8)
    assert calibration.weights.max() <= 1.8 * (1 + 1e-8)
    table = calibration.achieved(sample, targets)
    np.testing.assert_allclose(table["achieved"], table["target"], atol=1e-6)
