"""``pkgym benchmark --backend ray``: the same tables as the local backend; reruns skip runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import agents.benchmark.runs
from agents.benchmark.driver import run_benchmark
from agents.benchmark.runner import BenchmarkConfig, run_directory

ray = pytest.importorskip("ray")

VANCOMYCIN = "pkgym/Vancomycin-v0"
TABLES = ("runs.csv", "Vancomycin-v0.csv", "leaderboard.csv", "leaderboard.md")
RUNS = [(algo, seed) for algo in ("ppo", "a2c") for seed in (0, 1)]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    """A local Ray instance with two worker CPUs (reused if one is already running)."""
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    if started:
        ray.shutdown()


def _config(out: Path, **overrides: Any) -> BenchmarkConfig:
    """Vancomycin, PPO and A2C (256 steps each), two seeds, 8 patients, references only."""
    options: dict[str, Any] = {"env_ids": (VANCOMYCIN,), "algos": ("ppo", "a2c"),
                               "seeds": (0, 1), "timesteps": 256, "out_dir": out,
                               "n_patients": 8, "n_envs": 4, "n_training_patients": 32,
                               "device": "cpu", "baselines": (), "reps": 50, "progress": False}
    return BenchmarkConfig(**{**options, **overrides})


@pytest.fixture(scope="module")
def both_backends(local_ray: Any, tmp_path_factory: pytest.TempPathFactory
                  ) -> tuple[Path, Path]:
    """The tiny benchmark run once in this process and once as Ray tasks."""
    local, remote = tmp_path_factory.mktemp("local"), tmp_path_factory.mktemp("ray")
    run_benchmark(_config(local))
    run_benchmark(_config(remote, backend="ray"))
    return local, remote


def test_run_benchmark__ray_tables_equal_local_tables(both_backends: tuple[Path, Path]) -> None:
    """Every summary table and every run's evaluation is byte-identical across backends."""
    local, remote = both_backends
    for name in TABLES:
        if name == "runs.csv":  # equal but for each run's wall time, which is the clock's
            pd.testing.assert_frame_equal(
                pd.read_csv(remote / name).drop(columns="wall_time_s"),
                pd.read_csv(local / name).drop(columns="wall_time_s"))
            continue
        assert (remote / name).read_bytes() == (local / name).read_bytes(), name
    for algo, seed in RUNS:
        evaluation = Path("evaluation.csv")
        assert ((run_directory(remote, VANCOMYCIN, algo, seed) / evaluation).read_bytes()
                == (run_directory(local, VANCOMYCIN, algo, seed) / evaluation).read_bytes())


def test_run_benchmark__ray_rerun_submits_no_finished_run(
        both_backends: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A rerun on Ray submits only the new seed; finished runs keep their files."""
    _, remote = both_backends
    submitted: list[str] = []
    real = agents.benchmark.runs.run_shards

    def recording(function: Any, tasks: Any, **kwargs: Any) -> Any:
        submitted.extend(task.label for task in tasks)
        return real(function, tasks, **kwargs)

    monkeypatch.setattr(agents.benchmark.runs, "run_shards", recording)
    files = [run_directory(remote, VANCOMYCIN, a, s) / n for a, s in RUNS
             for n in ("model.zip", "evaluation.csv")]
    stamps = [path.stat().st_mtime_ns for path in files]
    run_benchmark(_config(remote, backend="ray"))
    assert submitted == []
    run_benchmark(_config(remote, backend="ray", algos=("ppo",), seeds=(0, 1, 2)))
    assert submitted == ["Vancomycin-v0 ppo seed2"]
    assert [path.stat().st_mtime_ns for path in files] == stamps


def test_benchmark_config__ray_address_needs_ray_backend(tmp_path: Path) -> None:
    """An address without ``backend='ray'`` and unknown backends fail up front."""
    with pytest.raises(ValueError, match="ray_address applies only"):
        _config(tmp_path, ray_address="auto")
    with pytest.raises(ValueError, match="backend must be one of"):
        _config(tmp_path, backend="spark")


SPACE = {"learning_rate": {"loguniform": [1.0e-4, 1.0e-2]}, "n_steps": {"choice": [7, 14]}}


def _search(out: Path, tmp_path: Path, seed: int, dry_run: bool = False) -> Any:
    """Two tiny A2C trials (28 steps: one update; 8 training and 2 validation patients)."""
    from agents.rl.tuning import TuneConfig, propose_trial, run_search, run_trial

    base = tmp_path / "a2c_tiny.yml"
    base.write_text("default:\n  n_envs: 4\n  n_steps: 7\n  policy_kwargs: {net_arch: [32]}\n")
    return run_search(TuneConfig(
        env_id=VANCOMYCIN, algo="a2c", space=SPACE, num_samples=2, timesteps=28, out_dir=out,
        seed=seed, hyperparams_file=base, n_training_patients=8, n_validation_patients=2),
        propose_trial if dry_run else run_trial)


@pytest.mark.slow  # trimmed from the default suite (10-minute budget); -m slow runs it
def test_run_search__same_seed_proposes_same_configurations(local_ray: Any,
                                                             tmp_path: Path) -> None:
    """Two trials write their files; a dry run with the same seed proposes the same values."""
    import yaml

    first = _search(tmp_path / "first", tmp_path, seed=3)
    second = _search(tmp_path / "second", tmp_path, seed=3, dry_run=True)
    assert first["trial"].tolist() == [0, 1] and first["score"].notna().all()
    columns = ["trial", *SPACE]
    assert first[columns].equals(second[columns])
    for name in ("tune_results.csv", "best_hyperparams.yml", "trials/trial_00001/hyperparams.yml"):
        assert (tmp_path / "first" / name).exists(), name
    best = yaml.safe_load((tmp_path / "first/best_hyperparams.yml").read_text())[VANCOMYCIN]
    assert best["n_steps"] in (7, 14) and isinstance(best["n_steps"], int)


@pytest.mark.slow  # trimmed from the default suite (10-minute budget); -m slow runs it
def test_run_search__a_failed_trial_is_a_clear_error_after_writing_the_others(
        local_ray: Any, tmp_path: Path) -> None:
    """Failed trials raise a ValueError naming the first error; the others are written."""
    from agents.rl.tuning import TuneConfig, propose_trial, run_search

    def fail_on_large_steps(values: dict, config: Any) -> dict:
        """A dry run refusing n_steps 14 (defined here: Ray ships it by value)."""
        if values["n_steps"] == 14:
            raise ValueError("n_steps 14 is not allowed here")
        return propose_trial(values, config)

    config = TuneConfig(env_id=VANCOMYCIN, algo="a2c", space=SPACE, num_samples=8,
                        timesteps=28, out_dir=tmp_path / "out", seed=0)  # 5 of 8 draw 14
    with pytest.raises(ValueError, match=r"trial\(s\) failed .* n_steps 14 is not allowed"):
        run_search(config, fail_on_large_steps)
    assert len(pd.read_csv(tmp_path / "out" / "tune_results.csv")) == 3


@pytest.mark.parametrize(("space", "message"), [
    ({"gamma": {"normal": [0.9, 0.1]}}, "must be {uniform"),
    ({"gamma": {"loguniform": [0.0, 0.9]}}, "low > 0"),
    ({"no_such_key": {"choice": [1]}}, "no_such_key"),
])
def test_tune_config__rejects_bad_space(tmp_path: Path, space: Any, message: str) -> None:
    """Unknown distributions, bad bounds and keys the algorithm lacks fail before Ray runs."""
    from agents.rl.tuning import TuneConfig

    with pytest.raises(ValueError, match=message):
        TuneConfig(env_id=VANCOMYCIN, algo="a2c", space=space, num_samples=1, timesteps=8,
                   out_dir=tmp_path)


def test_cli__benchmark_and_tune_take_ray_options(tmp_path: Path) -> None:
    """``pkgym benchmark --backend ray --ray-address`` and ``pkgym tune`` parse."""
    from pkgym.cli import build_parser

    bench = build_parser().parse_args([
        "benchmark", "--envs", VANCOMYCIN, "--algos", "ppo", "--seeds", "0", "--timesteps",
        "8", "--out", str(tmp_path), "--backend", "ray", "--ray-address", "auto"])
    assert (bench.backend, bench.ray_address) == ("ray", "auto")
    tune = build_parser().parse_args([
        "tune", "--env", VANCOMYCIN, "--algo", "a2c", "--space", "s.yml", "--num-samples", "2",
        "--timesteps", "8", "--out", str(tmp_path), "--dry-run"])
    assert (tune.num_samples, tune.dry_run, tune.seed) == (2, True, 0)
