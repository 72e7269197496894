"""How ``pkgym`` fails: one line on stderr, a named exit status, a traceback only with --debug."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import pkgym.io
import pkgym.scale.evaluation as evaluation
from pkgym.cli import main

ENV = "pkgym/Vancomycin-v0"


def evaluate_args(out: Path, *extra: str) -> list[str]:
    """``pkgym evaluate`` of label dosing on three patients, writing to ``out``."""
    return ["evaluate", "--env", ENV, "--policy", "label", "--n-patients", "3", "--quiet",
            "--out", str(out), *extra]


def raising(error: BaseException) -> Any:
    """A stand-in for a library function that raises ``error``."""
    def function(*_: Any, **__: Any) -> Any:
        raise error
    return function


def last_line(err: str) -> str:
    """The message under any progress bar (stderr's last line)."""
    return err.splitlines()[-1]


@pytest.mark.parametrize("args", [
    ["evaluate", "--env", "pkgym/Vancomicin-v0", "--policy", "label"],
    ["trial", "--arm", "label", "--arm", "map", "--env", "Vancomycin-v0", "--max-patients", "30"],
])
def test_cli__unknown_env_id_is_one_line_exit_2_before_any_work(
        args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    """A typo in the env id: exit 2, one line listing the registered ids; no env is built."""
    import gymnasium

    monkeypatch.setattr(gymnasium, "make_vec", raising(AssertionError("work started")))
    assert main([*args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"error: --env: unknown env {args[args.index('--env') + 1]!r}; registered: [" in err
    assert "'pkgym/Vancomycin-v0'" in err and "'pkgym/DoseFinding-v0'" in err
    assert not (tmp_path / "out").exists()


def test_cli__keyboard_interrupt_exits_130_without_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    """Ctrl-C during a command: exit 130 and one line."""
    monkeypatch.setattr(evaluation, "evaluate_sharded", raising(KeyboardInterrupt()))
    assert main(evaluate_args(tmp_path)) == 130
    err = capsys.readouterr().err
    assert err == "pkgym evaluate: interrupted; no file was left half-written\n"


def default_sigint() -> None:
    """Give a child process the default SIGINT disposition.

    A shell without job control starts background commands (``cmd &``, ``nohup``) with SIGINT
    ignored, and the ignored disposition is inherited through pytest into its children; a
    Python started that way installs no KeyboardInterrupt handler and never sees the signal.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_cli__sigint_exits_130_without_traceback(tmp_path: Path) -> None:
    """A real SIGINT to a running ``pkgym evaluate``: exit 130, no traceback, no partial file."""
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "pkgym.cli", *evaluate_args(out, "--shard-size", "1"),
         "--n-patients", "20000"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        preexec_fn=default_sigint)
    try:  # 20 000 one-patient shards: seconds of work left when the first one is written
        for _ in range(1200):  # the first shard file shows the run is under way
            if (out / "shards" / "part-00000.parquet").exists() or process.poll() is not None:
                break
            time.sleep(0.1)
        assert process.poll() is None, "the run ended before the signal could interrupt it"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err and last_line(err).startswith("pkgym evaluate: interrupted")
    shards = sorted(p.name for p in (out / "shards").iterdir())
    assert all(name == "manifest.json" or name.startswith("part-") for name in shards), shards


def test_cli__full_disk_is_a_named_one_line_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    """``ENOSPC`` while a shard is written: exit 1, one line naming the file; nothing partial."""
    def full_disk(table: Any, path: str) -> Path:
        def write(tmp: Path) -> None:
            tmp.write_bytes(b"PAR1 half")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return pkgym.io.write_atomic(path, write)

    monkeypatch.setattr(evaluation, "write_table", full_disk)
    assert main(evaluate_args(tmp_path)) == 1
    err = capsys.readouterr().err
    shards = tmp_path / "shards"
    assert last_line(err) == ("pkgym evaluate: error: disk full while writing "
                              f"{shards / 'part-00000.parquet'}")
    assert "Traceback" not in err
    assert [p.name for p in shards.iterdir()] == ["manifest.json"]


def test_cli__debug_shows_the_traceback(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """``--debug``, before or after the subcommand, adds the traceback above the same line."""
    args = evaluate_args(tmp_path, "--shard-size", "0")
    message = "pkgym evaluate: error: --shard-size must be >= 1, got 0"
    assert main(args) == 2
    assert capsys.readouterr().err == message + "\n"
    for debug in (["--debug", *args], [*args, "--debug"]):
        assert main(debug) == 2
        err = capsys.readouterr().err
        assert err.startswith("Traceback (most recent call last):") and last_line(err) == message


def test_cli__unexpected_error_is_one_line_exit_1(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    """A bug's exception: exit 1 and one line naming its type and pointing to --debug."""
    monkeypatch.setattr(evaluation, "evaluate_sharded", raising(RuntimeError("boom\n  at x")))
    assert main(evaluate_args(tmp_path)) == 1
    assert capsys.readouterr().err == ("pkgym evaluate: error: RuntimeError: boom at x (rerun "
                                       "with --debug for the traceback)\n")


def test_cli__usage_error_is_one_line_exit_2(capsys: pytest.CaptureFixture) -> None:
    """A missing required flag (argparse's own error): one line, not the usage text."""
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", "--env", ENV, "--out", "x"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == ("pkgym evaluate: error: the following arguments are "
                                       "required: --policy (see pkgym evaluate --help)\n")


def test_cli__ray_address_without_a_cluster_is_one_line_before_any_work(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    """``--ray-address auto`` with no cluster: exit 1 and one line, before any env is built."""
    import gymnasium

    import pkgym.scale.backend as backend

    monkeypatch.setattr(gymnasium, "make_vec", raising(AssertionError("work started")))
    monkeypatch.setattr(backend, "ensure_ray", raising(ConnectionError(
        "Could not find any running Ray instance.\nPlease specify the one to connect to.")))
    args = evaluate_args(tmp_path / "out", "--backend", "ray", "--ray-address", "auto")
    assert main(args) == 1
    assert capsys.readouterr().err == (
        "pkgym evaluate: error: cannot connect to the Ray cluster at --ray-address 'auto': "
        "Could not find any running Ray instance. Please specify the one to connect to.\n")
    assert not (tmp_path / "out").exists()


def test_cli__ray_address_auto_without_a_cluster_for_real(tmp_path: Path) -> None:
    """The same with Ray itself, in a subprocess: one line, within seconds."""
    pytest.importorskip("ray")
    if os.environ.get("RAY_ADDRESS") or Path("/tmp/ray/ray_current_cluster").exists():
        pytest.skip("a Ray cluster may be running here")
    result = subprocess.run(
        [sys.executable, "-m", "pkgym.cli",
         *evaluate_args(tmp_path / "out", "--backend", "ray", "--ray-address", "auto")],
        capture_output=True, text=True, check=False, timeout=120)
    if "Connecting to existing Ray cluster" in result.stderr:  # another test's, started meanwhile
        pytest.skip("a Ray cluster started by a concurrent test was found")
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("\n") == 1 and "cannot connect to the Ray cluster" in result.stderr
    assert not (tmp_path / "out").exists()


def test_run_shards__ctrl_c_on_ray_cancels_the_shards(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while waiting on Ray: every shard is cancelled (no force), then the interrupt."""
    import pkgym.scale.backend as backend

    class FakeRay:
        cancelled: list[int] = []

        def remote(self, **_: Any) -> Any:
            return lambda function: type("Remote", (), {"remote": staticmethod(lambda t: t)})

        def get(self, ref: int) -> int:
            if ref == 1:
                raise KeyboardInterrupt
            return ref

        def cancel(self, ref: int) -> None:
            self.cancelled.append(ref)

    monkeypatch.setattr(backend, "ensure_ray", lambda address=None: FakeRay())
    with pytest.raises(KeyboardInterrupt):
        backend.run_shards(abs, [0, 1, 2], backend="ray")
    assert FakeRay.cancelled == [0, 1, 2]
