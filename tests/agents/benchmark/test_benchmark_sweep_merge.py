"""Issue 20 (items 6, 10): failed runs, leaderboard merge, ChemoImmune anchor, rliable stats.

The statistics are checked against rliable's formulas written out in this file.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

from agents.benchmark import runs as runs_module
from agents.benchmark.driver import check_training
from agents.benchmark.runner import BENCHMARK_ANCHORS, BenchmarkConfig, EnvReference, references
from agents.benchmark.tables import write_outputs
from pkgym.evaluation.bootstrap import (
    probability_of_improvement,
    probability_of_improvement_ci,
    stratified_bootstrap_ci,
)
from pkgym.evaluation.metrics import (
    interquartile_mean,
    mean,
    median,
    optimality_gap,
    pooled_median,
)

# ---------------------------------------------------------------- failed runs, sweep goes on


def test_failing_run_is_recorded_and_the_sweep_continues(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that raises gets status 'failed' with its one-line error; the next run still runs."""
    config = BenchmarkConfig(env_ids=("pkgym/Vancomycin-v0",), algos=("ppo",), seeds=(0, 1),
                             timesteps=64, out_dir=tmp_path, n_patients=3, progress=False)
    calls = []

    def fake(task: runs_module.RunTask) -> None:
        calls.append(task.seed)
        if task.seed == 0:
            raise RuntimeError("boom\nsecond line")
        task.folder.mkdir(parents=True, exist_ok=True)
        for name in ("model.zip", "model.json"):
            (task.folder / name).write_bytes(b"x")
        pd.DataFrame({"id": [0], "return": [1.0]}).to_csv(task.folder / "evaluation.csv")

    monkeypatch.setattr(runs_module, "_train_and_evaluate", fake)
    tables, statuses = runs_module.run_tables(config)
    assert calls == [0, 1]
    failed = statuses[("pkgym/Vancomycin-v0", "ppo", 0)]
    assert failed["status"] == "failed" and failed["error"] == "RuntimeError: boom second line"
    assert float(failed["wall_time_s"]) >= 0  # type: ignore[arg-type]
    assert statuses[("pkgym/Vancomycin-v0", "ppo", 1)]["status"] == "ok"
    assert len(tables["pkgym/Vancomycin-v0"]) == 1
    saved = json.loads((tmp_path / "runs/Vancomycin-v0/ppo/seed0/status.json").read_text())
    assert saved["status"] == "failed"


def test_sac_on_addiction_is_found_unsupported_before_training(tmp_path: Path) -> None:
    """SAC needs a Box action; Addiction-v0 has discrete treatments only: caught up front."""
    config = BenchmarkConfig(env_ids=("pkgym/Addiction-v0", "pkgym/Vancomycin-v0"),
                             algos=("ppo", "sac"), seeds=(0,), timesteps=64, out_dir=tmp_path)
    unsupported = check_training(config)
    assert list(unsupported) == [("pkgym/Addiction-v0", "sac")]
    assert "discrete treatments only" in unsupported[("pkgym/Addiction-v0", "sac")]


# ---------------------------------------------------------------- leaderboard merge


def _results(env: str, algos: tuple[str, ...], shift: float) -> pd.DataFrame:
    rows = [("label", "baseline", -1, [0.0, 2.0]), ("oracle", "baseline", -1, [4.0, 6.0])]
    rows += [(a, "algorithm", s, [1.0 + shift + i + s, 3.0 + shift + i])
             for i, a in enumerate(algos) for s in (0, 1)]
    return pd.DataFrame([{"id": k, "policy": p, "kind": kind, "seed": s, "return": r[k],
                          "ttr": 0.5} for p, kind, s, r in rows for k in (0, 1)])


def test_two_partial_runs_merge_into_one_leaderboard(tmp_path: Path) -> None:
    """Env A with ppo, then env B with ppo and a2c (sac failed on B): one table of both."""
    refs = {e: EnvReference("label", "oracle", "ttr") for e in ("pkgym/A-v0", "pkgym/B-v0")}

    def config(envs: tuple[str, ...]) -> SimpleNamespace:
        return SimpleNamespace(env_ids=envs, seeds=(0, 1), reps=20, eval_seed=0,
                               out_dir=tmp_path, timesteps=64, n_patients=2)

    write_outputs({"pkgym/A-v0": _results("A", ("ppo",), 0.0)}, config(("pkgym/A-v0",)),
                  refs)
    first = pd.read_csv(tmp_path / "runs.csv")
    statuses = {("pkgym/B-v0", "sac", s): {"status": "failed", "error": "E: x",
                                           "wall_time_s": 1.0} for s in (0, 1)}
    write_outputs({"pkgym/B-v0": _results("B", ("ppo", "a2c"), 1.0)},
                  config(("pkgym/B-v0",)), refs, statuses)
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert set(runs["env"]) == {"pkgym/A-v0", "pkgym/B-v0"}
    a_rows = runs[runs["env"] == "pkgym/A-v0"].reset_index(drop=True)
    pd.testing.assert_series_equal(a_rows["return"], first["return"], check_names=False)
    board = pd.read_csv(tmp_path / "leaderboard.csv").set_index("policy")
    assert board.loc["ppo", "n_tasks"] == 2 and board.loc["a2c", "n_tasks"] == 1
    assert board.loc["sac", "failed"] == 2 and board.loc["sac", "n_tasks"] == 0
    text = (tmp_path / "leaderboard.md").read_text()
    assert "| sac | algorithm |" in text and "failed" in text
    # Rerunning B replaces B's rows (same key) instead of adding duplicates.
    write_outputs({"pkgym/B-v0": _results("B", ("ppo",), 2.0)}, config(("pkgym/B-v0",)), refs)
    again = pd.read_csv(tmp_path / "runs.csv")
    b_ppo = again[(again["env"] == "pkgym/B-v0") & (again["policy"] == "ppo")]
    assert len(b_ppo) == 2 and len(again[again["policy"] == "a2c"]) == 2


# ---------------------------------------------------------------- ChemoImmune anchor


def test_every_registered_env_has_a_reference_and_chemo_immune_is_accepted(
        tmp_path: Path) -> None:
    """No env is refused up front: ChemoImmune-v0 is anchored (plan only, no training)."""
    ids = [k for k in gym.registry if k.startswith("pkgym/")]
    assert set(ids) <= set(references())
    anchor = BENCHMARK_ANCHORS["pkgym/ChemoImmune-v0"]
    assert (anchor.reference.label, anchor.reference.oracle) == ("no_drug", "best_constant")
    config = BenchmarkConfig(env_ids=("pkgym/ChemoImmune-v0",), algos=("ppo", "a2c"),
                             seeds=(0,), timesteps=64, out_dir=tmp_path)
    assert check_training(config) == {}


def test_chemo_immune_anchor_is_the_per_patient_best_constant() -> None:
    """best_constant >= every constant regimen per patient, and > no drug on average."""
    from agents.policies.chemo_immune.anchor import anchor_table
    from agents.policies.chemo_immune.baselines import ConstantDosePolicy
    from pkgym.evaluation.cohorts import env_cohort
    from pkgym.evaluation.evaluate import evaluate

    core = gym.make("pkgym/ChemoImmune-v0").unwrapped.core  # type: ignore[attr-defined]
    cohort = env_cohort(core.settings, 4, 0)
    best = anchor_table("best_constant", core, cohort, 0)
    none = anchor_table("no_drug", core, cohort, 0)
    full = evaluate([ConstantDosePolicy(1.0)], "pkgym/ChemoImmune-v0", cohort, 0)
    assert (best["return"].to_numpy() >= full["return"].to_numpy()).all()
    assert best["return"].mean() > none["return"].mean()
    assert best["id"].tolist() == cohort["id"].tolist()


# ---------------------------------------------------------------- statistics vs rliable


def _rliable_poi(x: np.ndarray, y: np.ndarray) -> float:
    """Rliable's definition written out: per task P(X>Y) + 0.5 P(X=Y), mean over tasks."""
    per_task = [np.mean([(a > b) + 0.5 * (a == b) for a, b in itertools.product(x[:, m],
                                                                                  y[:, m])])
                for m in range(x.shape[1])]
    return float(np.mean(per_task))


def test_statistics_match_rliable_definitions_on_small_examples() -> None:
    """IQM, median, mean, optimality gap, probability of improvement as rliable defines them."""
    rng = np.random.default_rng(3)
    for _ in range(5):
        scores = rng.integers(-3, 6, size=(5, 4)).astype(float) / 4.0
        flat = np.sort(scores.ravel())  # 20 entries: the middle 50% are entries 5..14
        assert interquartile_mean(scores) == pytest.approx(flat[5:15].mean())
        assert median(scores) == pytest.approx(np.median(scores.mean(axis=0)))
        assert mean(scores) == pytest.approx(np.mean(scores.mean(axis=0)))
        assert optimality_gap(scores) == pytest.approx(
            np.mean([max(1.0 - s, 0.0) for s in scores.ravel()]))
        assert optimality_gap(scores, 0.5) == pytest.approx(0.5 - np.minimum(scores, 0.5).mean())
        other = rng.integers(-3, 6, size=(3, 4)).astype(float) / 4.0
        assert probability_of_improvement(scores, other) == pytest.approx(
            _rliable_poi(scores, other))
    assert pooled_median(np.array([[0.0, 0.0], [10.0, 1.0]])) == 0.5
    assert median(np.array([[0.0, 0.0], [10.0, 1.0]])) == 2.75


def test_probability_of_improvement_is_not_pooled_over_tasks() -> None:
    """Pooling runs across tasks gives another number than rliable's per-task average."""
    x = np.array([[1.0, 10.0], [2.0, 11.0]])
    y = np.array([[0.0, 20.0], [0.5, 21.0]])
    assert probability_of_improvement(x, y) == 0.5  # task 1: 1.0, task 2: 0.0
    assert probability_of_improvement(x.ravel(), y.ravel()) == 0.5 - 0.0  # pooled: 8/16
    x2 = np.array([[1.0, 10.0], [2.0, 30.0]])
    assert probability_of_improvement(x2, y) == pytest.approx(0.75)
    assert probability_of_improvement(x2.ravel(), y.ravel()) == pytest.approx(10 / 16)


def test_intervals_percentile_unchanged_and_bca_offered() -> None:
    """The default percentile interval is as before; BCa (scipy.stats.bootstrap) brackets IQM."""
    scores = np.random.default_rng(0).normal(size=(10, 3))
    point, low, high = stratified_bootstrap_ci(scores, interquartile_mean, reps=300,
                                               rng=np.random.default_rng(1), method="BCa")
    assert low < point < high
    again = stratified_bootstrap_ci(scores, interquartile_mean, reps=300,
                                    rng=np.random.default_rng(1), method="BCa")
    assert again == (point, low, high)
    with pytest.raises(ValueError, match="method must be one of"):
        stratified_bootstrap_ci(scores, mean, reps=10, rng=np.random.default_rng(0),
                                method="basic")
    p, lo, hi = probability_of_improvement_ci(scores + 10.0, scores, reps=100,
                                              rng=np.random.default_rng(0))
    assert p == 1.0 and lo == hi == 1.0
