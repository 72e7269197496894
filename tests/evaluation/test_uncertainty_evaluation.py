"""Patients nested in parameter-uncertainty replicates: draws, sharding, intervals, the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pkgym  # noqa: F401
from agents.policies.registry import make_policy
from pkgym import cli
from pkgym.evaluation.bootstrap import bootstrap_ci, resample_indices
from pkgym.evaluation.report import summarise
from pkgym.evaluation.uncertainty import drawn_scenario, scenario_object
from pkgym.scale.evaluation import evaluate_sharded

WARFARIN = "pkgym/Warfarin-v0"


def test_drawn_scenario__only_the_truth_moves_and_replicates_are_fixed() -> None:
    """Replicate r is one draw of the named model; other parameter sets stay published."""
    published = scenario_object(WARFARIN, None)
    one = drawn_scenario(WARFARIN, None, seed=0, replicate=1)
    assert one.hamberg2010 != published.hamberg2010
    assert one.hamberg2007 == published.hamberg2007 and one.population == published.population
    assert one == drawn_scenario(WARFARIN, None, seed=0, replicate=1)
    assert one != drawn_scenario(WARFARIN, None, seed=1, replicate=1)


def test_drawn_scenario__an_env_without_a_named_truth_is_refused() -> None:
    """The dose-finding env names no model: one line saying why."""
    with pytest.raises(ValueError, match="names no truth model"):
        drawn_scenario("pkgym/DoseFinding-v0", None, seed=0, replicate=0)


def test_sharded_replicates__same_rows_whatever_the_shards(tmp_path: Path) -> None:
    """Rows carry their replicate (k * R // n); shard size changes nothing; truths differ."""
    kwargs = {"n_patients": 6, "make_policy": make_policy, "parameter_replicates": 3}
    one = evaluate_sharded(["fixed_5mg"], WARFARIN, 0, tmp_path / "a", shard_size=6, **kwargs)
    many = evaluate_sharded(["fixed_5mg"], WARFARIN, 0, tmp_path / "b", shard_size=4, **kwargs)
    pd.testing.assert_frame_equal(one, many)
    assert one["replicate"].tolist() == [0, 0, 1, 1, 2, 2]
    plain = evaluate_sharded(["fixed_5mg"], WARFARIN, 0, tmp_path / "c", n_patients=6,
                             make_policy=make_policy)
    assert "replicate" not in plain.columns
    assert not np.allclose(one["return"], plain["return"])  # the drawn truths dose differently


def test_resample_indices__clusters_are_drawn_whole_then_patients_within() -> None:
    """Each drawn cluster contributes as many patients as it has, all from itself."""
    clusters = np.repeat([0, 1, 2, 3], [3, 3, 2, 2])
    for index in resample_indices(10, 100, np.random.default_rng(0), clusters):
        drawn = clusters[index]
        counts = pd.Series(drawn).value_counts()
        assert all(count % {0: 3, 1: 3, 2: 2, 3: 2}[label] == 0 for label, count in
                   counts.items())


def test_nested_interval__wider_when_replicates_differ() -> None:
    """Between-replicate spread widens the interval of the mean; none, and it does not."""
    rng = np.random.default_rng(1)
    clusters = np.repeat(np.arange(10), 20)
    shifted = rng.normal(size=200) + np.repeat(rng.normal(scale=2.0, size=10), 20)
    plain = bootstrap_ci(shifted, np.mean, reps=500, rng=np.random.default_rng(2))
    nested = bootstrap_ci(shifted, np.mean, reps=500, rng=np.random.default_rng(2),
                          clusters=clusters)
    assert nested[2] - nested[1] > 2 * (plain[2] - plain[1])
    results = pd.DataFrame({"policy": "a", "id": np.arange(200), "reads_hidden_state": False,
                            "replicate": clusters, "score": shifted})
    summary = summarise(results, "a", {"score": "score"}, reps=500, seed=2)
    assert summary.loc[("a", "score"), "high"] - summary.loc[("a", "score"), "low"] > \
        2 * (plain[2] - plain[1])


def test_cli__parameter_uncertainty_prints_truth_and_beliefs(tmp_path: Path) -> None:
    """The summary names the truth, the replicates and what each policy believes."""
    out = tmp_path / "out"
    status = cli.main(["evaluate", "--env", WARFARIN, "--policy", "fixed_5mg", "--policy",
                       "aurora", "--n-patients", "6", "--parameter-uncertainty", "3",
                       "--out", str(out)])
    assert status == 0
    summary = (out / "summary.md").read_text()
    assert "Truth: hamberg2010 (Hamberg2010), fixed effects drawn" in summary
    assert "- aurora: model-free" in summary
    assert pd.read_csv(out / "results.csv")["replicate"].tolist() == [0, 0, 1, 1, 2, 2] * 2


def test_cli__more_replicates_than_patients_is_refused_before_work(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One line naming the allowed range; no output folder."""
    status = cli.main(["evaluate", "--env", WARFARIN, "--policy", "fixed_5mg", "--n-patients",
                       "3", "--parameter-uncertainty", "5", "--out", str(tmp_path / "out")])
    assert status == 2 and "replicates must be in 2..n_patients (3)" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
