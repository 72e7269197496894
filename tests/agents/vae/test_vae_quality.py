"""Tests of the VAE quality benchmark (benchmarks/vae_quality.py) on a few patients."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.vae_quality import evaluate_env, write_report
from benchmarks.vae_quality_data import decision_steps

ENV_ID = "pkgym/Vancomycin-v0"


def test_decision_steps__zero_levels_is_the_step_before_the_first() -> None:
    """0 levels: the step before the first level; a count never reached gives -1."""
    counts = np.array([[1, 1, 2, 3], [1, 2, 2, 2]])  # a baseline level from the start
    assert decision_steps(counts, 0, 1).tolist() == [1, 0]
    assert decision_steps(counts, 2, 1).tolist() == [3, -1]


def test_evaluate_env__scores_every_level_count_and_writes_the_report(
        tiny_vae_path: Path, tmp_path: Path) -> None:
    """Ten vancomycin patients: levels 0-2 at 24/36/48 h, MAP = population at 0, files out."""
    result = evaluate_env(ENV_ID, tiny_vae_path, 10, reps=50)
    table = result.table
    assert sorted(table.n_levels.unique()) == [0, 1, 2]
    assert table.groupby("n_levels").decision_h.first().tolist() == [24.0, 36.0, 48.0]
    rmse = table[table.metric == "rmse_log"].set_index(["n_levels", "method"]).point
    assert rmse[(0, "map")] == pytest.approx(rmse[(0, "population")])
    assert rmse[(2, "map")] < rmse[(2, "population")]  # two levels beat the prior
    assert set(table[table.metric == "probe_r2"].method) == {
        "vae_latent", "vae_latent+covariates", "map_log_cl", "covariates"}
    assert np.isfinite(table[["point", "low", "high"]].to_numpy()).all()
    text = write_report([result], tmp_path, 1.0)
    assert "| 2 | 48 | 10 |" in text
    assert {p.name for p in tmp_path.iterdir()} == {"vae_quality.md", "vae_quality.csv",
                                                     "vae_quality.png"}
