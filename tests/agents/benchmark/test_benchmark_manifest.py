"""The benchmark's manifest (benchmark.json) knows its input files by content, not by path."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.benchmark.driver import check_manifest
from agents.benchmark.runner import BenchmarkConfig


def _config(out: Path, hyperparams: Path | None) -> BenchmarkConfig:
    """A one-run benchmark of PPO on vancomycin writing to ``out``."""
    return BenchmarkConfig(env_ids=("pkgym/Vancomycin-v0",), algos=("ppo",), seeds=(0,),
                           timesteps=256, out_dir=out, n_patients=20,
                           hyperparams_file=hyperparams)


def test_benchmark__hyperparams_file_edited_in_place_is_refused(tmp_path: Path) -> None:
    """Same hyperparameter path, new bytes: cached runs do not hold; the same bytes do."""
    hyperparams = tmp_path / "hyperparams.yml"
    hyperparams.write_text("pkgym/Vancomycin-v0:\n  n_steps: 64\n", encoding="utf-8")
    out = tmp_path / "out"
    check_manifest(_config(out, hyperparams))
    check_manifest(_config(out, hyperparams))
    hyperparams.write_text("pkgym/Vancomycin-v0:\n  n_steps: 128\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"other settings \(hyperparams file\); use another"):
        check_manifest(_config(out, hyperparams))
    check_manifest(_config(tmp_path / "plain", None))
    check_manifest(_config(tmp_path / "plain", None))
