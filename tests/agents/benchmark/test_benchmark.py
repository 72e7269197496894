"""``pkgym benchmark``: validation, resumability, atomic outputs and a tiny real run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import agents.rl.training
from agents.benchmark.driver import check_manifest, run_benchmark
from agents.benchmark.runner import BenchmarkConfig, run_directory

VANCOMYCIN = "pkgym/Vancomycin-v0"
OUTPUTS = ("benchmark.json", "runs.csv", "Vancomycin-v0.csv", "Vancomycin-v0.md",
           "leaderboard.csv", "leaderboard.md", "performance_profile.png")


REAL_TRAIN = agents.rl.training.train


class CountingTrainer:
    """Wraps the real ``agents.rl.training.train``: counts calls, can interrupt one run."""

    def __init__(self, interrupt_seed: int | None = None) -> None:
        """Interrupt (as Ctrl-C would) when asked to train ``interrupt_seed``."""
        self.calls: list[tuple[str, str, int]] = []
        self.interrupt_seed = interrupt_seed

    def __call__(self, config: Any) -> Any:
        """Record the run, then train it for real (or raise KeyboardInterrupt)."""
        self.calls.append((config.env_id, config.algo, config.seed))
        if config.seed == self.interrupt_seed:
            raise KeyboardInterrupt
        return REAL_TRAIN(config)


def _config(out: Path, **overrides: Any) -> BenchmarkConfig:
    """Vancomycin, PPO (one 256-step rollout), two seeds, 8 patients, references only."""
    options: dict[str, Any] = {"env_ids": (VANCOMYCIN,), "algos": ("ppo",), "seeds": (0, 1),
                               "timesteps": 256, "out_dir": out, "n_patients": 8,
                               "n_envs": 4, "n_training_patients": 32, "device": "cpu",
                               "baselines": (), "reps": 50, "progress": False}
    return BenchmarkConfig(**{**options, **overrides})


@pytest.fixture
def trainer(monkeypatch: pytest.MonkeyPatch) -> CountingTrainer:
    """The counting stand-in, patched into ``agents.rl.training``."""
    fake = CountingTrainer()
    monkeypatch.setattr(agents.rl.training, "train", fake)
    return fake


@pytest.mark.slow  # trimmed from the default suite (10-minute budget); -m slow runs it
def test_run_benchmark__second_call_skips_finished_runs(tmp_path: Path,
                                                        trainer: CountingTrainer) -> None:
    """Finished runs are neither retrained nor re-evaluated; baselines are cached per env."""
    run_benchmark(_config(tmp_path))
    assert trainer.calls == [(VANCOMYCIN, "ppo", 0), (VANCOMYCIN, "ppo", 1)]
    assert all((tmp_path / name).exists() for name in OUTPUTS)
    cached = [tmp_path / "runs/Vancomycin-v0/baselines/label.csv",
              run_directory(tmp_path, VANCOMYCIN, "ppo", 0) / "evaluation.csv"]
    stamps = [path.stat().st_mtime_ns for path in cached]
    board = pd.read_csv(tmp_path / "leaderboard.csv")
    run_benchmark(_config(tmp_path))
    assert len(trainer.calls) == 2
    assert [path.stat().st_mtime_ns for path in cached] == stamps
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "leaderboard.csv"), board)


def test_run_benchmark__trained_model_without_evaluation_is_evaluated_not_retrained(
        tmp_path: Path, trainer: CountingTrainer) -> None:
    """A run interrupted after training only needs its evaluation."""
    run_benchmark(_config(tmp_path, seeds=(0,)))
    results = run_directory(tmp_path, VANCOMYCIN, "ppo", 0) / "evaluation.csv"
    first = pd.read_csv(results)
    results.unlink()
    run_benchmark(_config(tmp_path, seeds=(0,)))
    assert len(trainer.calls) == 1
    pd.testing.assert_frame_equal(pd.read_csv(results), first)


def test_run_benchmark__interrupted_run_leaves_no_half_written_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while training seed 1 keeps seed 0's files, writes nothing partial; resume works."""
    monkeypatch.setattr(agents.rl.training, "train", CountingTrainer(interrupt_seed=1))
    with pytest.raises(KeyboardInterrupt):
        run_benchmark(_config(tmp_path))
    assert (run_directory(tmp_path, VANCOMYCIN, "ppo", 0) / "evaluation.csv").exists()
    assert not run_directory(tmp_path, VANCOMYCIN, "ppo", 1).exists()
    assert not (tmp_path / "leaderboard.csv").exists()
    assert not list(tmp_path.rglob("*.tmp"))
    resumed = CountingTrainer()
    monkeypatch.setattr(agents.rl.training, "train", resumed)
    run_benchmark(_config(tmp_path))
    assert resumed.calls == [(VANCOMYCIN, "ppo", 1)]
    assert len(pd.read_csv(tmp_path / "Vancomycin-v0.csv")) == 1 + 2 + 2  # mean, seeds, refs


def test_run_benchmark__changed_cohort_settings_are_refused(tmp_path: Path,
                                                            trainer: CountingTrainer) -> None:
    """Cached results only hold for the same cohort size, seed and budget; more seeds are fine."""
    check_manifest(_config(tmp_path, seeds=(0,)))
    check_manifest(_config(tmp_path, seeds=(0, 5)))
    for change in ({"n_patients": 9}, {"eval_seed": 1}, {"timesteps": 512}):
        with pytest.raises(ValueError, match=f"{next(iter(change))}.*use another --out"):
            run_benchmark(_config(tmp_path, **change))
    assert trainer.calls == []


def test_run_benchmark__tables_hold_algorithms_and_baselines(tmp_path: Path,
                                                             trainer: CountingTrainer) -> None:
    """The per-env table and the leaderboard hold PPO and every baseline; refs are 0 and 1."""
    run_benchmark(_config(tmp_path, seeds=(0,), baselines=("trough",)))
    table = pd.read_csv(tmp_path / "Vancomycin-v0.csv")
    assert table["policy"].tolist() == ["ppo", "ppo", "label", "oracle", "trough"]
    scores = table.set_index("policy")["normalised_score"]
    assert (scores["label"], scores["oracle"]) == (0.0, 1.0)
    board = pd.read_csv(tmp_path / "leaderboard.csv")
    assert board.loc[board["kind"] == "algorithm", "policy"].tolist() == ["ppo"]
    assert {"Vancomycin-v0 return", "Vancomycin-v0 in_target_range_fraction"} <= set(board)
    assert "trough" in (tmp_path / "leaderboard.md").read_text()


@pytest.mark.parametrize(("overrides", "message"), [
    ({"env_ids": ("pkgym/Nope-v0",)}, "env_ids must be .*pkgym/Vancomycin-v0"),
    ({"algos": ("alphazero",)}, "algos must be .*ppo"),
    ({"algos": ("ppo", "ppo")}, "algos must be distinct"),
    ({"seeds": ()}, "seeds must be"), ({"seeds": (-1,)}, "seeds must be"),
    ({"timesteps": 0}, "timesteps must be >= 1"), ({"n_patients": 0}, "n_patients"),
])
def test_benchmark_config__rejects_bad_input(tmp_path: Path, overrides: dict[str, Any],
                                             message: str) -> None:
    """Unknown envs or algorithms and bad numbers fail up front."""
    with pytest.raises(ValueError, match=message):
        _config(tmp_path, **overrides)


def test_benchmark_config__scenario_must_name_a_benchmarked_env(tmp_path: Path) -> None:
    """A scenario applies to the env its 'env' key names, which must be benchmarked."""
    config = _config(tmp_path, scenarios=(Path("scenarios/vancomycin_renal_impairment.yaml"),))
    assert config.env_kwargs(VANCOMYCIN) == {"scenario": "scenarios/vancomycin_renal_impairment"
                                                         ".yaml"}
    with pytest.raises(ValueError, match="scenarios: .*warfarin_us_clinic.yaml"):
        _config(tmp_path, scenarios=(Path("scenarios/warfarin_us_clinic.yaml"),))


def test_run_benchmark__unknown_baseline_fails_before_training(tmp_path: Path,
                                                               trainer: CountingTrainer) -> None:
    """Baselines run first, so a bad name costs no training time."""
    with pytest.raises(ValueError, match="policy must be one of this env's baselines"):
        run_benchmark(_config(tmp_path, baselines=("nomogram",)))
    assert trainer.calls == []


def test_run_benchmark__tiny_real_run_writes_every_file(tmp_path: Path) -> None:
    """Real training (PPO, 256 steps, 2 seeds) and evaluation on 20 patients end to end."""
    config = _config(tmp_path, timesteps=256, n_patients=20, baselines=None, reps=200)
    written = run_benchmark(config)
    assert {p.name for p in written} >= set(OUTPUTS) - {"benchmark.json"}
    for seed in (0, 1):
        folder = run_directory(tmp_path, VANCOMYCIN, "ppo", seed)
        assert (folder / "model.zip").exists() and (folder / "evaluation.csv").exists()
    board = pd.read_csv(tmp_path / "leaderboard.csv").set_index("policy")
    assert board.loc["ppo", "n_runs"] == 2 and board.loc["oracle", "iqm"] == 1.0
    assert board.loc["ppo", "iqm_low"] <= board.loc["ppo", "iqm"] <= board.loc["ppo", "iqm_high"]
    assert {"map", "trough"} <= set(board.index)
