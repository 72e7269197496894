"""Row chunks of a large batch run side by side: a GIL-free compiled kernel on every core.

A compiled kernel that loops over patients independently (``numba.njit(nogil=True)``) gives
the same numbers whether it sees all N patients at once or N / k patients in each of k
threads: every patient's arithmetic is unchanged, only which core does it. :func:`map_row_chunks`
splits rows ``0..n`` into contiguous chunks (slices of the batched arrays are views, so the
kernel writes in place as before) and runs them in a process-wide thread pool, or directly
when the batch is small or one core is available.

The number of threads is the usable cores (``os.sched_getaffinity``), capped by the
environment variable ``PKGYM_NUM_THREADS`` (``1`` switches threading off) and by
``n // MIN_ROWS_PER_THREAD`` (a chunk smaller than that costs more to hand over than it saves).
The pool is rebuilt in a forked child (threads do not survive ``fork``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

MIN_ROWS_PER_THREAD = 2048
"""Rows below which a chunk is not worth a thread."""

_pool: ThreadPoolExecutor | None = None


def usable_cores() -> int:
    """Cores this process may run on, capped by ``PKGYM_NUM_THREADS`` when it is set.

    Examples:
        >>> usable_cores() >= 1
        True
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    limit = os.environ.get("PKGYM_NUM_THREADS", "").strip()
    if limit:
        if not limit.isdigit() or int(limit) < 1:
            raise ValueError(f"PKGYM_NUM_THREADS must be a positive integer, got {limit!r}")
        cores = min(cores or 1, int(limit))
    return max(1, cores or 1)


def chunk_bounds(n_rows: int, n_chunks: int) -> list[tuple[int, int]]:
    """Contiguous ``(start, stop)`` row ranges covering ``0..n_rows``, as even as possible.

    Examples:
        >>> chunk_bounds(10, 3)
        [(0, 3), (3, 6), (6, 10)]
    """
    n_chunks = max(1, min(n_chunks, n_rows))
    edges = [n_rows * i // n_chunks for i in range(n_chunks + 1)]
    return list(zip(edges[:-1], edges[1:], strict=True))


def map_row_chunks(run: Callable[[int, int], None], n_rows: int) -> None:
    """Call ``run(start, stop)`` over chunks covering rows ``0..n_rows``, in threads if it pays.

    ``run`` must touch only its own rows (and release the GIL to gain anything: a
    ``numba.njit(nogil=True)`` kernel on row slices). Exceptions are raised here.

    Examples:
        >>> seen = []
        >>> map_row_chunks(lambda a, b: seen.append((a, b)), 5)
        >>> seen
        [(0, 5)]
    """
    k = 1 if n_rows < 2 * MIN_ROWS_PER_THREAD else min(usable_cores(),
                                                      n_rows // MIN_ROWS_PER_THREAD)
    if k <= 1:
        run(0, n_rows)
        return
    *others, (start, stop) = chunk_bounds(n_rows, k)
    futures = [_executor().submit(run, a, b) for a, b in others]
    try:
        run(start, stop)  # the calling thread takes the last chunk itself
    finally:
        for future in futures:
            future.result()


def slice_rows(tree: Any, start: int, stop: int) -> Any:
    """Rows ``start:stop`` of every array in nested tuples of per-patient arrays (views).

    Examples:
        >>> import numpy as np
        >>> slice_rows((np.arange(4), (np.zeros((4, 2)),)), 1, 3)[1][0].shape
        (2, 2)
    """
    if isinstance(tree, tuple):
        return tuple(slice_rows(item, start, stop) for item in tree)
    return tree[start:stop]


def _executor() -> ThreadPoolExecutor:
    """The process-wide pool (created on first use)."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=usable_cores(), thread_name_prefix="pkgym-rows")
    return _pool


def _forget_pool() -> None:
    """In a forked child the parent's threads are gone: start a new pool when needed."""
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)
