"""Sharded trials: ``pkgym trial`` writes identical tables locally, on Ray and unsharded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agents.policies.registry import make_policy
from pkgym.cli import main
from pkgym.scale.evaluation import env_core
from pkgym.scale.trials import simulate_endpoint_pool_sharded, simulate_phase_one_sharded
from pkgym.trials.endpoints import simulate_endpoint_pool
from pkgym.trials.mechanistic import load_trial_scenario
from pkgym.trials.operating_characteristics import simulate_trials
from pkgym.trials.report import make_design

ray = pytest.importorskip("ray")

CLASSIC = Path(__file__).parents[2] / "scenarios" / "dose_finding_classic.yaml"
ENV = "pkgym/Vancomycin-v0"


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    """A local Ray instance with two worker CPUs."""
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _same_files(first: Path, second: Path, names: tuple[str, ...]) -> None:
    """The named files of two output folders are byte-identical."""
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_trial_design__ray_shards_equal_one_local_run(local_ray: Any, tmp_path: Path) -> None:
    """BOIN, 3000 trials: shards of 700 on Ray give the tables of one local 3000-trial shard."""
    common = ["trial", "--design", "boin", "--scenario", str(CLASSIC), "--n-trials", "3000"]
    assert main([*common, "--out", str(tmp_path / "local"), "--shard-size", "3000"]) == 0
    assert main([*common, "--out", str(tmp_path / "ray"), "--backend", "ray",
                 "--shard-size", "700"]) == 0
    _same_files(tmp_path / "local", tmp_path / "ray",
                ("operating_characteristics.csv", "operating_characteristics.md"))


def test_simulate_phase_one_sharded__ray_equals_simulate_trials(local_ray: Any) -> None:
    """Per-trial DLTs, patients and selections on Ray equal one unsharded simulation."""
    scenario, _ = load_trial_scenario(CLASSIC)
    sharded = simulate_phase_one_sharded("crm", scenario, 50, 4, shard_size=13, backend="ray")
    whole = simulate_trials(make_design("crm", scenario), scenario, 50, 4)
    for name in ("patients", "dlts", "selected"):
        np.testing.assert_array_equal(getattr(sharded, name), getattr(whole, name))


def test_trial_arms__ray_shards_equal_one_local_run(local_ray: Any, tmp_path: Path) -> None:
    """Label vs trough, pool 20, 30 trials: shards of 7 on Ray give the unsharded tables."""
    common = ["trial", "--arm", "label", "--arm", "trough", "--env", ENV, "--max-patients", "20",
              "--n-patients", "20", "--n-trials", "30", "--looks", "2", "--seed", "5"]
    assert main([*common, "--out", str(tmp_path / "local")]) == 0
    assert main([*common, "--out", str(tmp_path / "ray"), "--backend", "ray",
                 "--shard-size", "7"]) == 0
    _same_files(tmp_path / "local", tmp_path / "ray",
                ("virtual_trial.csv", "operating_characteristics.csv",
                 "operating_characteristics.md"))


def test_simulate_endpoint_pool_sharded__equals_the_unsharded_pool() -> None:
    """Pool patients in shards of 4 have the outcomes they have in one 10-patient pool."""
    core = env_core(ENV)
    whole = simulate_endpoint_pool(ENV, [make_policy(s, core) for s in ("label", "trough")],
                                   "in_target_range_fraction", 10, 2)
    sharded = simulate_endpoint_pool_sharded(ENV, ("label", "trough"), "in_target_range_fraction",
                                             10, 2, make_policy=make_policy, shard_size=4)
    np.testing.assert_array_equal(sharded.outcomes, whole.outcomes)


def test_simulate_endpoint_pool_sharded__refuses_an_unknown_endpoint() -> None:
    """An endpoint that is not a score of the env is refused before any shard runs."""
    with pytest.raises(ValueError, match="endpoint must be one of"):
        simulate_endpoint_pool_sharded(ENV, ("label", "trough"), "nope", 4, 0,
                                       make_policy=make_policy)
