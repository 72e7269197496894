"""Leaderboard aggregation: normalisation, IQM, stratified intervals, profiles, tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agents.benchmark.leaderboard import (
    ProfileBand,
    aggregate_scores,
    as_run_scores,
    leaderboard_markdown,
    plot_performance_profiles,
    profile_band,
    profile_thresholds,
)
from agents.benchmark.runner import EnvReference
from agents.benchmark.tables import algorithm_scores, baseline_scores, env_table, run_summary
from pkgym.io import write_atomic

REFERENCES = {"A": EnvReference("label", "oracle", "ttr"),
              "B": EnvReference("fixed", "oracle", "ttr")}
# mean return per run: env A label 10, oracle 20; env B label -5, oracle 5
RUN_RETURNS = {("A", "label", -1): 10.0, ("A", "oracle", -1): 20.0, ("A", "map", -1): 18.0,
               ("B", "fixed", -1): -5.0, ("B", "oracle", -1): 5.0, ("B", "map", -1): 0.0}
PPO_RETURNS = {"A": [12.0, 15.0, 20.0, 25.0], "B": [-5.0, 0.0, -10.0, 5.0]}
# normalised: A [0.2, 0.5, 1.0, 1.5], B [0.0, 0.5, -0.5, 1.0]; sorted
# [-0.5, 0, 0.2, 0.5, 0.5, 1.0, 1.0, 1.5]: IQM = mean(0.2, 0.5, 0.5, 1.0) = 0.55


def _patient_rows(env: str) -> pd.DataFrame:
    """Two patients per run, returns mean +- 1, clinical score 0.5."""
    runs = {k[1:]: v for k, v in RUN_RETURNS.items() if k[0] == env}
    runs.update({("ppo", seed): r for seed, r in enumerate(PPO_RETURNS[env])})
    rows = [{"id": i, "policy": policy, "kind": "baseline" if seed < 0 else "algorithm",
             "seed": seed, "return": mean + (2 * i - 1), "ttr": 0.5}
            for (policy, seed), mean in runs.items() for i in (0, 1)]
    return pd.DataFrame(rows)


@pytest.fixture
def runs() -> pd.DataFrame:
    """Per-run summaries of the two-env fixture."""
    rng = np.random.default_rng(0)
    return pd.concat([run_summary(_patient_rows(env), env, REFERENCES[env], reps=50, rng=rng)
                      for env in ("A", "B")], ignore_index=True)


def test_run_summary__label_maps_to_zero_and_oracle_to_one(runs: pd.DataFrame) -> None:
    """Each env's label reference scores 0, its oracle 1, others (return - label) / range."""
    score = runs.set_index(["env", "policy", "seed"])["normalised_score"]
    assert score[("A", "label", -1)] == 0.0 and score[("B", "fixed", -1)] == 0.0
    assert score[("A", "oracle", -1)] == 1.0 and score[("B", "oracle", -1)] == 1.0
    assert score[("A", "map", -1)] == pytest.approx(0.8)
    assert score[("B", "ppo", 2)] == pytest.approx(-0.5)


def test_algorithm_scores__axes_are_seeds_by_envs(runs: pd.DataFrame) -> None:
    """Normalised scores of an algorithm are laid out (n_runs=seeds, n_tasks=envs)."""
    scores = algorithm_scores(runs, ("A", "B"), (0, 1, 2, 3))["ppo"]
    np.testing.assert_allclose(scores, [[0.2, 0.0], [0.5, 0.5], [1.0, -0.5], [1.5, 1.0]])


def test_aggregate_scores__iqm_of_normalised_scores_by_hand(runs: pd.DataFrame) -> None:
    """IQM 0.55, mean 0.525, median 0.525 (rliable's: of the 2 per-env means, 0.8 and 0.25).

    The pooled median of the 8 scores would be 0.5; rliable's aggregate median is the median
    over tasks of each task's mean score.
    """
    scores = algorithm_scores(runs, ("A", "B"), (0, 1, 2, 3))
    row = aggregate_scores(scores, reps=500, rng=np.random.default_rng(1)).iloc[0]
    assert (row["n_runs"], row["n_tasks"]) == (4, 2)
    assert row["iqm"] == pytest.approx(0.55)
    assert row["mean"] == pytest.approx(0.525) and row["median"] == pytest.approx(0.525)
    assert row["iqm_low"] <= row["iqm"] <= row["iqm_high"]
    assert row["iqm_low"] < row["iqm_high"]


def test_aggregate_scores__sorted_best_first_and_intervals_contain_points() -> None:
    """Random scores of three methods: sorted by IQM, each interval around its point."""
    rng = np.random.default_rng(3)
    scores = {name: rng.normal(loc, 0.3, size=(5, 3)) for name, loc in
              (("a", 0.0), ("b", 1.0), ("c", 0.5))}
    table = aggregate_scores(scores, reps=300, rng=np.random.default_rng(4))
    assert table["policy"].tolist() == ["b", "c", "a"]
    assert (table["iqm_low"] <= table["iqm"]).all() and (table["iqm"] <= table["iqm_high"]).all()


def test_aggregate_scores__same_seed_same_table() -> None:
    """Intervals come from the Generator only."""
    scores = {"a": np.random.default_rng(0).normal(size=(4, 2))}
    first, second = (aggregate_scores(scores, reps=100, rng=np.random.default_rng(9))
                     for _ in range(2))
    pd.testing.assert_frame_equal(first, second)


def test_baseline_scores__one_run_per_env_where_it_ran(runs: pd.DataFrame) -> None:
    """A baseline's scores are (1, envs it ran on); references can be left out."""
    scores = baseline_scores(runs, REFERENCES)
    np.testing.assert_allclose(scores["map"], [[0.8, 0.5]])
    assert scores["label"].shape == (1, 1) and scores["oracle"].tolist() == [[1.0, 1.0]]
    assert set(baseline_scores(runs, REFERENCES, drop_references=True)) == {"map"}


@pytest.mark.parametrize("bad", [np.zeros(3), np.zeros((2, 2, 2)), np.array([[np.nan, 1.0]]),
                                 np.zeros((0, 2))])
def test_as_run_scores__rejects_bad_axes_and_values(bad: np.ndarray) -> None:
    """Scores must be finite, non-empty, with axes (n_runs, n_tasks)."""
    with pytest.raises(ValueError, match="scores"):
        as_run_scores(bad)


def test_aggregate_scores__rejects_empty_mapping() -> None:
    """At least one method is needed."""
    with pytest.raises(ValueError, match="at least one method"):
        aggregate_scores({}, rng=np.random.default_rng(0))


def test_profile_band__fractions_by_hand_and_band_contains_them() -> None:
    """Fraction of the 4 scores above tau; the bootstrap band brackets it."""
    scores = np.array([[0.1, 0.9], [0.5, 0.3]])
    tau = np.array([0.0, 0.2, 0.5, 1.0])
    band = profile_band(scores, tau, reps=400, rng=np.random.default_rng(0))
    np.testing.assert_allclose(band.fraction, [1.0, 0.75, 0.25, 0.0])
    assert np.all(band.low <= band.fraction) and np.all(band.fraction <= band.high)
    assert band.low[1] < band.high[1]


def test_profile_thresholds__cover_unit_interval_and_all_scores() -> None:
    """The tau grid spans [min(0, scores), max(1, scores)] with a 5% margin each side."""
    tau = profile_thresholds({"a": np.array([[0.2, 1.7]]), "b": np.array([[-0.3]])}, 11)
    assert tau.size == 11
    np.testing.assert_allclose([tau[0], tau[-1]], [-0.4, 1.8])


def test_plot_performance_profiles__writes_png(tmp_path: Path) -> None:
    """One line per algorithm and baseline; a band per algorithm; the PNG is written."""
    tau = np.linspace(0, 1, 5)
    band = ProfileBand(np.linspace(1, 0, 5), np.linspace(0.9, 0, 5), np.linspace(1, 0.1, 5))
    fig = plot_performance_profiles({"ppo": band, "a2c": band}, tau, {"map": np.ones(5)})
    assert len(fig.axes[0].lines) == 3 + 2  # profiles + the tau = 0 and 1 guides
    assert len(fig.axes[0].collections) == 2
    path = write_atomic(tmp_path / "p.png", lambda tmp: fig.savefig(tmp, format="png"))
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_leaderboard_markdown__single_run_has_no_interval() -> None:
    """Baselines (one run per env) show the point only; missing env cells show a dash."""
    table = pd.DataFrame([
        {"policy": "ppo", "kind": "algorithm", "n_runs": 3, "n_tasks": 2, "iqm": 0.4,
         "iqm_low": 0.1, "iqm_high": 0.6, "mean": 0.4, "median": 0.4, "A return": 1.0},
        {"policy": "map", "kind": "baseline", "n_runs": 1, "n_tasks": 1, "iqm": 0.8,
         "iqm_low": 0.8, "iqm_high": 0.8, "mean": 0.8, "median": 0.8, "A return": np.nan}])
    lines = leaderboard_markdown(table, ("A return",)).splitlines()
    assert lines[2] == "| ppo | algorithm | 3 x 2 | 0.400 [0.100, 0.600] | 0.400 | 0.400 | 1.000 |"
    assert lines[3] == "| map | baseline | 1 x 1 | 0.800 | 0.800 | 0.800 | — |"


def test_env_table__mean_over_seeds_then_seeds_then_baselines(runs: pd.DataFrame) -> None:
    """Per env: the algorithm's mean row (over seeds), its seeds, then the baselines."""
    table = env_table(runs[runs["env"] == "A"], reps=50, rng=np.random.default_rng(0))
    assert table["seed"].tolist() == ["mean", "0", "1", "2", "3", "", "", ""]
    assert table["return"].iloc[0] == pytest.approx(18.0)
    assert table["normalised_score"].iloc[0] == pytest.approx(0.8)
    assert table["return_low"].iloc[0] <= 18.0 <= table["return_high"].iloc[0]
