"""Shard plans, run manifests, progress bars and the streaming Parquet merge of shard files.

A sharded run splits rows ``0 .. n-1`` (patients or trials) into consecutive slices of
``shard_size``; every slice is a seeded shard whose rows equal the unsharded run's rows, so the
plan changes where work runs, never what it computes. Shards that write files write them
atomically under ``OUT/shards/``, beside a ``manifest.json`` of the run's settings and of the
SHA-256 of every file the run reads (``inputs``): a rerun reuses the finished files of the same
run and refuses a folder that holds another run's, including the same paths edited in place.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from pkgym.io import write_atomic, write_text

ResultT = TypeVar("ResultT")

DEFAULT_SHARD_SIZE = 1000
"""Patients (or trials) per shard when none is given."""

MANIFEST = "manifest.json"
"""The run's settings, in the shard folder."""


def plan_shards(n_rows: int, shard_size: int) -> list[tuple[int, int]]:
    """Consecutive ``[start, stop)`` row ranges of at most ``shard_size`` rows covering ``n_rows``.

    Examples:
        >>> plan_shards(12, 5)
        [(0, 5), (5, 10), (10, 12)]
    """
    if n_rows < 1:
        raise ValueError(f"n_rows must be >= 1, got {n_rows}")
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    return [(start, min(start + shard_size, n_rows)) for start in range(0, n_rows, shard_size)]


def shard_progress(desc: str, enabled: bool = True
                   ) -> Callable[[Iterator[ResultT], int], Iterator[ResultT]] | None:
    """A ``run_shards`` progress wrapper: a tqdm bar over the shards on stderr (or none).

    Examples:
        >>> shard_progress("x", enabled=False) is None
        True
    """
    if not enabled:
        return None
    from tqdm.auto import tqdm

    def bar(results: Iterator[ResultT], total: int) -> Iterator[ResultT]:
        return iter(tqdm(results, total=total, unit="shard", desc=desc, file=sys.stderr))
    return bar


@contextmanager
def step_progress(desc: str) -> Iterator[Callable[[int], None]]:
    """A tqdm counter of patient-steps on stderr; yields its ``update`` (for a step hook).

    It moves with every batched step, so a long shard shows progress; on a terminal it
    redraws at most twice a second, into a log (stderr not a terminal) every 10 s.

    Examples:
        >>> import io, contextlib
        >>> with contextlib.redirect_stderr(io.StringIO()):
        ...     with step_progress("x") as tick:
        ...         tick(5)
    """
    from tqdm.auto import tqdm

    interval = 0.5 if sys.stderr.isatty() else 10.0
    bar = tqdm(desc=desc, unit=" patient-steps", file=sys.stderr, mininterval=interval,
               maxinterval=interval, unit_scale=True)
    try:
        yield bar.update
    finally:
        bar.close()


def part_path(folder: Path, index: int) -> Path:
    """``folder/part-<index>.parquet``, zero-padded so that names sort in shard order.

    Examples:
        >>> part_path(Path("out/shards"), 7).name
        'part-00007.parquet'
    """
    return folder / f"part-{index:05d}.parquet"


def content_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, or of a folder's files (their relative names and bytes).

    Examples:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "a.txt").write_text("a")
        >>> content_sha256(folder / "a.txt")[:12]
        'ca978112ca1b'
        >>> content_sha256(folder) == content_sha256(folder)
        True
    """
    path = Path(path)
    digest = hashlib.sha256()
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
            digest.update(content_sha256(file).encode())
        return digest.hexdigest()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_hashes(files: Mapping[str, str | Path | None]) -> dict[str, str]:
    """``{label: content_sha256(path)}`` of the named input files (``None`` paths left out).

    Examples:
        >>> input_hashes({"scenario": None})
        {}
    """
    return {label: content_sha256(path) for label, path in files.items() if path is not None}


def _differences(found: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    """What differs between two manifests, one phrase per setting or changed input file."""
    diffs = []
    for key in sorted(set(found) | set(wanted), key=str):
        old, new = found.get(key), wanted.get(key)
        if old == new:
            continue
        if key == "inputs" and isinstance(old, dict) and isinstance(new, dict):
            edited = [f"{label} changed: sha256 {old[label][:12]} there, {new[label][:12]} now"
                      for label in sorted(set(old) & set(new)) if old[label] != new[label]]
            if edited or set(old) != set(new):  # another path shows under its own setting
                diffs += edited
                continue
        diffs.append(f"{key}: {old!r} there, {new!r} now")
    return diffs


def claim_folder(folder: Path, settings: Mapping[str, Any]) -> None:
    """Write ``folder/manifest.json``, or check that the one there records the same settings.

    ``settings`` may hold ``inputs``, the :func:`input_hashes` of the files the run reads: a
    file edited in place makes another run, refused like any other change of settings.

    Raises:
        ValueError: the folder holds the shards of a run with other settings or inputs (naming
            them).

    Examples:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> claim_folder(folder, {"seed": 0}); claim_folder(folder, {"seed": 0})
        >>> claim_folder(folder, {"seed": 1})
        Traceback (most recent call last):
        ...
        ValueError: ... holds the shards of another run (seed: 0 there, 1 now); ...
        >>> claim_folder(folder / "b", {"inputs": {"scenario s.yaml": "ab" * 32}})
        >>> claim_folder(folder / "b", {"inputs": {"scenario s.yaml": "cd" * 32}})
        Traceback (most recent call last):
        ...
        ValueError: ... (scenario s.yaml changed: sha256 abababababab there, cdcdcdcdcdcd now); ...
    """
    manifest = folder / MANIFEST
    wanted = json.loads(json.dumps(dict(settings)))  # normalised as it is stored
    if manifest.exists():
        found = json.loads(manifest.read_text(encoding="utf-8"))
        if found != wanted:
            diffs = ", ".join(_differences(found, wanted))
            raise ValueError(f"{folder} holds the shards of another run ({diffs}); use another "
                             f"output folder or delete {folder}")
        return
    write_text(json.dumps(wanted, indent=2, sort_keys=True), manifest)


def remove_stale_temporaries(folder: Path) -> None:
    """Delete the temporary part files a killed worker left (``.part-*.tmp``; never read).

    Examples:
        >>> remove_stale_temporaries(Path("no/such/folder"))
    """
    for stale in folder.glob(".part-*.tmp"):
        stale.unlink(missing_ok=True)


def finished(path: Path, n_rows: int) -> bool:
    """Whether ``path`` is a complete shard file of ``n_rows`` rows (files are atomic).

    Examples:
        >>> finished(Path("no/such/part.parquet"), 3)
        False
    """
    if not path.is_file():
        return False
    try:
        return pq.read_metadata(path).num_rows == n_rows
    except (OSError, pa.ArrowException):
        return False


def common_schema(paths: Sequence[Path]) -> pa.Schema:
    """The shard files' common schema, for writing them into one file.

    A column that is boolean or integer in some shards and float in others becomes float64
    (a shard where an episode ended early holds NaN there).
    """
    schemas = [pq.read_schema(path).remove_metadata() for path in paths]
    fields = []
    for k, field in enumerate(schemas[0]):
        types = {schema.field(k).type for schema in schemas}
        if len(types) > 1 and all(pa.types.is_floating(t) or pa.types.is_integer(t)
                                  or pa.types.is_boolean(t) for t in types):
            field = field.with_type(pa.float64())
        elif len(types) > 1:
            raise ValueError(f"shard files disagree on the type of column {field.name!r}: "
                             f"{sorted(map(str, types))}")
        fields.append(field)
    return pa.schema(fields)


def merge_parts(paths: Sequence[Path], target: Path) -> Path:
    """Stream the shard files, in order, into one Parquet file: one row group per shard.

    Only one shard is in memory at a time; the file is written atomically.

    Examples:
        >>> import tempfile, pandas as pd
        >>> folder = Path(tempfile.mkdtemp())
        >>> parts = [folder / "a.parquet", folder / "b.parquet"]
        >>> pd.DataFrame({"x": [True]}).to_parquet(parts[0])
        >>> pd.DataFrame({"x": [0.5]}).to_parquet(parts[1])
        >>> merged = merge_parts(parts, folder / "all.parquet")
        >>> pq.read_metadata(merged).num_row_groups, pd.read_parquet(merged)["x"].tolist()
        (2, [1.0, 0.5])
    """
    schema = common_schema(paths)

    def write(tmp: Path) -> None:
        with pq.ParquetWriter(tmp, schema) as writer:
            for path in paths:
                table = pq.read_table(path).replace_schema_metadata(None).cast(schema)
                writer.write_table(table, row_group_size=max(table.num_rows, 1))
    return write_atomic(target, write)


CRASH_MARKER_ENV = "PKGYM_TEST_CRASH_MARKER"
"""Test hook, unset in normal use: while the file this names exists, the worker of shard 1
deletes it and kills its own process (``os._exit(1)``), as a crashed node would. A test arms
the hook by creating the file and checks that Ray retried the shard (the retry finds no file
and runs normally) and that no row was lost or duplicated."""


def crash_once_for_tests(index: int) -> None:
    """Die once in shard 1 when the :data:`CRASH_MARKER_ENV` file exists (consuming it).

    Examples:
        >>> crash_once_for_tests(1)  # the hook is not armed: nothing happens
    """
    import os

    marker = os.environ.get(CRASH_MARKER_ENV)
    if index != 1 or not marker:
        return
    try:
        os.unlink(marker)  # exactly one attempt wins the file and dies
    except FileNotFoundError:
        return
    os._exit(1)
