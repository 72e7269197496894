"""Running ``pkgym`` in the test's own process (no interpreter start-up per call)."""

from __future__ import annotations

import pytest


def run_in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """``pkgym ARGS`` through :func:`pkgym.cli.main` here: (exit status, stderr)."""
    from pkgym.cli import main

    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as exit_:  # argparse's own usage errors
        code = int(exit_.code or 0)
    return code, capsys.readouterr().err
