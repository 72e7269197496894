"""Run independent, seeded shards of work locally or as Ray tasks, with identical results.

A shard is a picklable task description (a cohort slice, a batch of trials, one training
run) whose result depends only on the task, never on where or when it runs; the shards'
results come back in task order whatever the backend and the number of workers. On Ray a
shard whose worker dies is retried (``max_retries``), and a retried shard recomputes the
same result, so no row is lost or duplicated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

TaskT = TypeVar("TaskT")
ResultT = TypeVar("ResultT")

BACKENDS = ("local", "ray")
"""Names accepted by :func:`run_shards` and the CLI's ``--backend``."""


def check_shard_backend(backend: str, ray_address: str | None = None) -> None:
    """Refuse an unknown backend, or ``ray_address`` without ``--backend ray``.

    Examples:
        >>> check_shard_backend("local")
        >>> check_shard_backend("spark")
        Traceback (most recent call last):
        ...
        ValueError: backend must be one of ('local', 'ray'), got 'spark'
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if ray_address is not None and backend != "ray":
        raise ValueError("ray_address applies only with backend 'ray'")


def ensure_ray(ray_address: str | None = None, num_cpus: int | None = None) -> Any:
    """The ``ray`` module, connected to a cluster or to a new local instance.

    ``ray_address`` names the cluster (``"auto"``: the one running here); without it a local
    instance with ``num_cpus`` CPUs starts, unless one is already running in this process.
    """
    try:
        import ray
    except ImportError:
        raise ValueError("backend 'ray' needs Ray: pip install 'pkgym[ray]'") from None
    if not ray.is_initialized():
        ray.init(address=ray_address, num_cpus=None if ray_address else num_cpus,
                 include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    return ray


def run_shards(function: Callable[[TaskT], ResultT], tasks: Sequence[TaskT], *,
               backend: str = "local", ray_address: str | None = None,
               max_retries: int = 3, num_cpus_per_task: float = 1.0,
               progress: Callable[[Iterator[ResultT], int], Iterator[ResultT]] | None = None,
               ) -> list[ResultT]:
    """``[function(task) for task in tasks]``, locally in order or as Ray tasks.

    Args:
        function: a module-level (picklable) function of one task.
        tasks: the shards, each picklable.
        backend: ``"local"`` (this process, one shard after another) or ``"ray"``.
        ray_address: an existing Ray cluster (``"auto"`` or ``"ray://host:10001"``);
            ``None`` starts a local instance if none is running.
        max_retries: Ray re-runs a shard whose worker process died up to this many times.
        num_cpus_per_task: CPUs Ray reserves per shard.
        progress: wraps the stream of results (e.g. a tqdm bar); receives the iterator
            and the number of shards.

    Examples:
        >>> run_shards(abs, [-2, 3, -4])
        [2, 3, 4]
    """
    check_shard_backend(backend, ray_address)
    results = (_local(function, tasks) if backend == "local"
               else _ray(function, tasks, ray_address, max_retries, num_cpus_per_task))
    if progress is not None:
        results = progress(results, len(tasks))
    return list(results)


def _local(function: Callable[[TaskT], ResultT], tasks: Sequence[TaskT]) -> Iterator[ResultT]:
    """One shard after another in this process."""
    for task in tasks:
        yield function(task)


def _ray(function: Callable[[TaskT], ResultT], tasks: Sequence[TaskT], ray_address: str | None,
         max_retries: int, num_cpus: float) -> Iterator[ResultT]:
    """All shards submitted at once; results yielded in task order as they complete.

    On Ctrl-C the shards still running are cancelled (a ``KeyboardInterrupt`` in each, so
    that an atomic write in progress removes its temporary file) before the interrupt goes on.
    """
    ray = ensure_ray(ray_address)
    remote = ray.remote(max_retries=max_retries, num_cpus=num_cpus)(function)
    refs = [remote.remote(task) for task in tasks]
    try:
        for ref in refs:
            yield ray.get(ref)
    except KeyboardInterrupt:
        for ref in refs:
            ray.cancel(ref)
        raise
