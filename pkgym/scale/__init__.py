"""Scale-out: seeded shards of evaluation, trials and training runs, locally or on Ray."""

from __future__ import annotations

from pkgym.scale.backend import BACKENDS, check_shard_backend, ensure_ray, run_shards

__all__ = ["BACKENDS", "check_shard_backend", "ensure_ray", "run_shards"]
