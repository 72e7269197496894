"""Sharded evaluation: identical tables locally, on Ray, unsharded; retries; resumable runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from agents.policies.registry import make_policy
from pkgym.cli import main
from pkgym.evaluation.cohorts import env_cohort
from pkgym.evaluation.evaluate import evaluate
from pkgym.scale.evaluation import env_core, evaluate_sharded
from pkgym.scale.shards import CRASH_MARKER_ENV

ray = pytest.importorskip("ray")

ENV = "pkgym/Vancomycin-v0"
POLICIES = ("label", "trough")
N, SEED, SHARD = 12, 3, 5


@pytest.fixture(scope="module")
def crash_marker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The file that, while it exists, makes the worker of shard 1 die once."""
    return tmp_path_factory.mktemp("hook") / "crash-once"


@pytest.fixture(scope="module")
def local_ray(crash_marker: Path) -> Iterator[Any]:
    """A local Ray instance with two worker CPUs whose workers see the crash hook."""
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {CRASH_MARKER_ENV: str(crash_marker)}})
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def unsharded() -> pd.DataFrame:
    """``evaluate`` on the whole cohort, as ``pkgym evaluate`` ran before sharding."""
    core = env_core(ENV)
    cohort = env_cohort(core.settings, N, SEED)
    return evaluate([make_policy(spec, core, env_id=ENV) for spec in POLICIES], ENV, cohort,
                    SEED)


def _sharded(out: Path, **options: Any) -> pd.DataFrame:
    """The tiny cohort evaluated in shards of five patients."""
    return evaluate_sharded(POLICIES, ENV, SEED, out, make_policy=make_policy,
                            n_patients=N, **{"shard_size": SHARD, **options})


def test_evaluate_sharded__local_and_ray_equal_unsharded(
        local_ray: Any, unsharded: pd.DataFrame, tmp_path: Path) -> None:
    """Shards of 5 give, locally and on Ray, exactly the unsharded table; one row group each."""
    local = _sharded(tmp_path / "local")
    remote = _sharded(tmp_path / "ray", backend="ray")
    pd.testing.assert_frame_equal(local, unsharded, check_exact=True)
    pd.testing.assert_frame_equal(remote, unsharded, check_exact=True)
    merged = tmp_path / "ray" / "results.parquet"
    assert pq.read_metadata(merged).num_row_groups == 3
    assert sorted(pd.read_parquet(merged)["id"]) == sorted(unsharded["id"])


def test_evaluate_cli__ray_shards_write_the_unsharded_files(local_ray: Any,
                                                             tmp_path: Path) -> None:
    """``pkgym evaluate`` on one local shard and on Ray in shards of 5: identical files."""
    common = ["evaluate", "--env", ENV, "--policy", "label", "--policy", "trough",
              "--n-patients", str(N), "--seed", str(SEED)]
    assert main([*common, "--out", str(tmp_path / "local")]) == 0
    assert main([*common, "--out", str(tmp_path / "ray"), "--backend", "ray",
                 "--shard-size", str(SHARD)]) == 0
    for name in ("results.csv", "summary.csv", "summary.md"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()


def test_evaluate_sharded__dead_worker_is_retried(local_ray: Any, unsharded: pd.DataFrame,
                                                   crash_marker: Path, tmp_path: Path) -> None:
    """The worker of shard 1 dies once; Ray retries it; no row is lost or duplicated."""
    crash_marker.touch()
    remote = _sharded(tmp_path, backend="ray")
    assert not crash_marker.exists()  # the hook fired: a worker died
    pd.testing.assert_frame_equal(remote, unsharded, check_exact=True)
    for _, group in remote.groupby("policy"):
        assert group["id"].tolist() == list(range(N))


def test_evaluate_sharded__rerun_recomputes_only_a_lost_shard(unsharded: pd.DataFrame,
                                                              tmp_path: Path) -> None:
    """A deleted part file is recomputed, the others reused, and the table is unchanged."""
    _sharded(tmp_path)
    parts = sorted((tmp_path / "shards").glob("part-*.parquet"))
    parts[1].unlink()
    kept = {path: path.stat().st_mtime_ns for path in (parts[0], parts[2])}
    again = _sharded(tmp_path)
    pd.testing.assert_frame_equal(again, unsharded, check_exact=True)
    assert parts[1].exists()
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in kept.items())


def test_evaluate_sharded__refuses_the_shards_of_another_run(tmp_path: Path) -> None:
    """Shards written with one seed are not reused, or mixed, by a run with another seed."""
    _sharded(tmp_path)
    with pytest.raises(ValueError, match=r"another run \(seed: 3 there, 4 now\)"):
        evaluate_sharded(POLICIES, ENV, SEED + 1, tmp_path, make_policy=make_policy,
                         n_patients=N, shard_size=SHARD)


def test_evaluate_sharded__user_cohort_file_is_sliced(tmp_path: Path) -> None:
    """A user's cohort (no sampling record) in shards equals ``evaluate`` on the whole file."""
    core = env_core(ENV)
    cohort = env_cohort(core.settings, 7, 11)
    cohort.attrs.clear()
    cohort["id"] = cohort["id"] + 100
    whole = evaluate([make_policy("label", core)], ENV, cohort, 2)
    sharded = evaluate_sharded(["label"], ENV, 2, tmp_path, make_policy=make_policy,
                               cohort=cohort, shard_size=3)
    pd.testing.assert_frame_equal(sharded, whole, check_exact=True)


def test_evaluate_cli__bad_scale_flags_name_the_flag(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    """A shard size below 1, or a Ray address without the Ray backend, exits 2 naming it."""
    common = ["evaluate", "--env", ENV, "--policy", "label", "--out", str(tmp_path)]
    assert main([*common, "--shard-size", "0"]) == 2
    assert "--shard-size must be >= 1" in capsys.readouterr().err
    assert main([*common, "--ray-address", "auto"]) == 2
    assert "--ray-address applies only with --backend ray" in capsys.readouterr().err


@pytest.mark.parametrize("env_id", [ENV, "pkgym/DoseFinding-v0"])
def test_env_cohort__a_slice_equals_those_rows_of_the_whole_cohort(env_id: str) -> None:
    """Rows 3..6 sampled alone (``start=3``) equal rows 3..6 of a 9-row cohort."""
    settings = env_core(env_id).settings
    whole = env_cohort(settings, 9, 5)
    part = env_cohort(settings, 4, 5, start=3)
    pd.testing.assert_frame_equal(part, whole.iloc[3:7].reset_index(drop=True), check_exact=True)
    assert part.attrs["start"] == 3


def test_evaluate_cli__cohort_file_in_shards_equals_one_shard(tmp_path: Path) -> None:
    """``--cohort FILE`` in shards of 2 writes the results of one shard."""
    cohort = env_cohort(env_core(ENV).settings, 5, 8)
    cohort.to_csv(tmp_path / "cohort.csv", index=False)
    common = ["evaluate", "--env", ENV, "--policy", "label", "--cohort",
              str(tmp_path / "cohort.csv"), "--seed", "1"]
    assert main([*common, "--out", str(tmp_path / "one")]) == 0
    assert main([*common, "--out", str(tmp_path / "many"), "--shard-size", "2"]) == 0
    assert ((tmp_path / "one" / "results.csv").read_bytes()
            == (tmp_path / "many" / "results.csv").read_bytes())


def test_results_table__a_column_boolean_in_one_shard_and_float_in_another_is_float(
        tmp_path: Path) -> None:
    """An episode that ended early makes a step column float in its shard only; joined: float."""
    from pkgym.scale.evaluation import results_table

    shards = [pd.DataFrame({"id": [0], "policy": "a", "aki_3": [True]}),
              pd.DataFrame({"id": [1], "policy": "a", "aki_3": [float("nan")]})]
    paths = [tmp_path / f"part-{k}.parquet" for k in range(2)]
    for shard, path in zip(shards, paths, strict=True):
        shard.to_parquet(path, index=False)
    table = results_table(paths)
    assert table["aki_3"].dtype == "float64"
    assert table["aki_3"].tolist()[0] == 1.0 and table["id"].tolist() == [0, 1]
