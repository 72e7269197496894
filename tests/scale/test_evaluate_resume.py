"""Resuming ``pkgym evaluate``: killed runs resume to the same bytes; edited inputs are refused."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agents.policies.registry import make_policy
from pkgym.cli import main
from pkgym.evaluation.policy import Policy
from pkgym.scale.evaluation import evaluate_sharded
from pkgym.scale.shards import CRASH_MARKER_ENV

ENV = "pkgym/Vancomycin-v0"
SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "vancomycin_adult.yaml"
N, SEED, SHARD = 6, 3, 2
OUTPUTS = ("results.parquet", "results.csv", "summary.csv", "summary.md")


def label_for_any_spec(spec: str, core: Any, **_: Any) -> Policy:
    """A stand-in factory: label dosing, whatever model file the spec names."""
    return make_policy("label", core)


def _evaluate_cli(out: Path, scenario: Path, env: dict[str, str] | None = None
                  ) -> subprocess.CompletedProcess:
    """``pkgym evaluate`` of two policies in shards of two patients, in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "pkgym.cli", "evaluate", "--env", ENV, "--policy", "label",
         "--policy", "trough", "--n-patients", str(N), "--seed", str(SEED), "--scenario",
         str(scenario), "--shard-size", str(SHARD), "--out", str(out)],
        capture_output=True, text=True, check=False, env={**os.environ, **(env or {})})


def test_evaluate__killed_run_resumes_to_byte_identical_results(tmp_path: Path) -> None:
    """Killed in shard 1 (``os._exit``), the rerun reuses shard 0: an uninterrupted run's bytes."""
    scenario = shutil.copy(SCENARIO, tmp_path / "scenario.yaml")
    marker = tmp_path / "crash-once"
    marker.touch()
    killed = _evaluate_cli(tmp_path / "resumed", scenario, {CRASH_MARKER_ENV: str(marker)})
    assert killed.returncode != 0 and not marker.exists()
    shards = tmp_path / "resumed" / "shards"
    assert sorted(p.name for p in shards.iterdir()) == ["manifest.json", "part-00000.parquet"]
    first = (shards / "part-00000.parquet").stat().st_mtime_ns
    stale = shards / ".part-00001.parquet.x1y2.tmp"  # what a worker killed mid-write leaves
    stale.write_bytes(b"PAR1 half")
    resumed = _evaluate_cli(tmp_path / "resumed", scenario)
    assert resumed.returncode == 0, resumed.stderr
    assert not stale.exists()
    assert (shards / "part-00000.parquet").stat().st_mtime_ns == first  # reused, not redone
    whole = _evaluate_cli(tmp_path / "whole", scenario)
    assert whole.returncode == 0, whole.stderr
    for name in OUTPUTS:
        assert ((tmp_path / "resumed" / name).read_bytes()
                == (tmp_path / "whole" / name).read_bytes()), name


def test_evaluate__interrupted_run_leaves_no_half_written_shard_and_resumes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    """Ctrl-C while shard 1 is being written: exit 130, no partial file, same bytes on resume."""
    import pkgym.io
    import pkgym.scale.evaluation as evaluation

    def interrupted_write(table: Any, path: str) -> Path:
        def write(tmp: Path) -> None:
            tmp.write_bytes(b"PAR1 half a shard")
            raise KeyboardInterrupt
        return (pkgym.io.write_atomic(path, write) if path.endswith("part-00001.parquet")
                else pkgym.io.write_table(table, path))

    args = ["evaluate", "--env", ENV, "--policy", "label", "--n-patients", str(N), "--seed",
            str(SEED), "--shard-size", str(SHARD), "--scenario", str(SCENARIO)]
    monkeypatch.setattr(evaluation, "write_table", interrupted_write)
    assert main([*args, "--out", str(tmp_path / "resumed")]) == 130
    err = capsys.readouterr().err  # the progress bar, then one line
    assert err.splitlines()[-1].startswith("pkgym evaluate: interrupted; no file was left "
                                           "half-written; rerun the same command to resume")
    assert "Traceback" not in err
    shards = tmp_path / "resumed" / "shards"
    assert sorted(p.name for p in shards.iterdir()) == ["manifest.json", "part-00000.parquet"]
    monkeypatch.undo()
    assert main([*args, "--out", str(tmp_path / "resumed")]) == 0
    assert main([*args, "--out", str(tmp_path / "whole")]) == 0
    for name in OUTPUTS:
        assert ((tmp_path / "resumed" / name).read_bytes()
                == (tmp_path / "whole" / name).read_bytes()), name


def _sharded(out: Path, specs: list[str], **options: Any) -> Any:
    """Label dosing of a tiny cohort in shards, whatever the specs name."""
    return evaluate_sharded(specs, ENV, SEED, out, make_policy=label_for_any_spec,
                            n_patients=N, shard_size=SHARD, **options)


def test_evaluate__scenario_edited_in_place_is_a_different_run(tmp_path: Path) -> None:
    """Same scenario path, new bytes: refused, naming the scenario; the old bytes resume."""
    scenario = tmp_path / "scenario.yaml"
    original = SCENARIO.read_bytes()
    scenario.write_bytes(original)
    _sharded(tmp_path / "out", ["label"], scenario=scenario)
    part = tmp_path / "out" / "shards" / "part-00000.parquet"
    mtime = part.stat().st_mtime_ns
    scenario.write_bytes(original + b"\n# edited in place\n")
    with pytest.raises(ValueError, match=rf"another run \(scenario {scenario} changed: sha256 "
                                         r"[0-9a-f]{12} there, [0-9a-f]{12} now\)"):
        _sharded(tmp_path / "out", ["label"], scenario=scenario)
    scenario.write_bytes(original)
    _sharded(tmp_path / "out", ["label"], scenario=scenario)
    assert part.stat().st_mtime_ns == mtime


def test_evaluate__model_file_edited_in_place_is_a_different_run(tmp_path: Path) -> None:
    """A model file (``sb3:PATH``, ``vae_mipd:PATH`` folder) rewritten in place: refused."""
    model, vae = tmp_path / "model.zip", tmp_path / "vae"
    model.write_bytes(b"weights v1")
    vae.mkdir()
    (vae / "vae.pt").write_bytes(b"vae v1")
    specs = [f"sb3:{model}"]
    _sharded(tmp_path / "a", specs)
    model.write_bytes(b"weights v2")
    with pytest.raises(ValueError, match=rf"model sb3:{model} changed: sha256"):
        _sharded(tmp_path / "a", specs)
    _sharded(tmp_path / "b", [f"vae_mipd:{vae}"])
    (vae / "vae.pt").write_bytes(b"vae v2")
    with pytest.raises(ValueError, match=rf"model vae_mipd:{vae} changed: sha256"):
        _sharded(tmp_path / "b", [f"vae_mipd:{vae}"])


def test_evaluate__cohort_file_edited_in_place_is_a_different_run(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """``--cohort FILE`` rewritten with other patients: one line naming the file, exit 2."""
    from pkgym.evaluation.cohorts import env_cohort
    from pkgym.scale.evaluation import env_core

    cohort = env_cohort(env_core(ENV).settings, 4, 8)
    path = tmp_path / "cohort.csv"
    cohort.to_csv(path, index=False)
    args = ["evaluate", "--env", ENV, "--policy", "label", "--cohort", str(path),
            "--shard-size", "2", "--quiet", "--out", str(tmp_path / "out")]
    assert main(args) == 0
    cohort.assign(id=cohort["id"] + 100).to_csv(path, index=False)
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cohort {path} changed: sha256" in err
