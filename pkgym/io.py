"""Atomic file output: a result is either complete on disk or absent, never half-written."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

TABLE_SUFFIXES = (".csv", ".parquet")


def write_atomic(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it into place.

    The rename is atomic on POSIX, so an interrupted run leaves the old file (or none).

    Raises:
        OSError: ``errno.ENOSPC`` naming ``path`` (not the temporary file) when the disk is
            full; the temporary file is removed, as after any other error or a Ctrl-C.

    Examples:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
        >>> write_atomic(target, lambda p: p.write_text("ok")).read_text()
        'ok'
        >>> oct(target.stat().st_mode & 0o044)  # readable by group and others (umask 022)
        '0o44'
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        if tmp.is_file():  # mkstemp makes 0600: give the file the usual umask permissions
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target)) from error
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _umask() -> int:
    """The process's umask (read by setting it and restoring it at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text(text: str, path: str | os.PathLike) -> Path:
    """Write ``text`` atomically as UTF-8 (the one text writer; data first, as ``write_table``).

    Examples:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "oc.md"
        >>> write_text("# OC", target).read_text()
        '# OC'
    """

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    return write_atomic(path, write)


def write_table(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a DataFrame atomically as CSV or Parquet, chosen by the file suffix.

    Examples:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
        >>> _ = write_table(pd.DataFrame({"id": [0]}), target)
        >>> target.read_text().splitlines()
        ['id', '0']
    """
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise ValueError(f"path must end in one of {TABLE_SUFFIXES}, got {str(path)!r}")
    if suffix == ".csv":
        return write_atomic(path, lambda tmp: table.to_csv(tmp, index=False))
    return write_atomic(path, lambda tmp: table.to_parquet(tmp, index=False))
