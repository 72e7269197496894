"""Scale-out: cohort-evaluation throughput locally and on Ray, a cluster projection, sweeps.

``python -m benchmarks.bench_scale``. Three measurements:

1. Evaluation of a vancomycin cohort (4 000 patients, label dosing, shards of 500 through
   :func:`pkgym.scale.run_shards` and :func:`pkgym.scale.evaluation.run_evaluation_shard`)
   with the local backend and with Ray on 1 and 2 worker CPUs: patients per second.
2. The cost model behind a cluster projection, each term measured here: Ray start-up, the
   first shard on a fresh worker (imports), the per-task scheduling overhead (empty tasks),
   and the per-shard cost (local run / shards). Then, for ``S`` shards on ``W`` workers,
   ``time ~ start-up + warm-up + ceil(S / W) x (per-shard + per-task)``, printed for
   W = 8, 32, 128 (one node's numbers: a cluster adds network and object-store costs that
   are small for shards that return a path and a row count).
3. A tiny benchmark sweep (PPO and A2C x Vancomycin x 2 seeds, 2048 steps each), local
   vs Ray with 2 workers (new workers, which import torch first, then warm ones): the
   sweep's speed-up, Ray's start-up apart.

The machine's other load skews every number; the load average is printed beside them.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agents.policies.registry import make_policy
from benchmarks import no_options
from pkgym.scale.backend import run_shards
from pkgym.scale.evaluation import EvaluationShard, run_evaluation_shard
from pkgym.scale.shards import plan_shards

ENV_ID, N_PATIENTS, SHARD_SIZE, SEED = "pkgym/Vancomycin-v0", 4000, 500, 1
WORKERS = (8, 32, 128)
PROJECTED_PATIENTS = (4000, 1_000_000)


def shards(folder: Path) -> list[EvaluationShard]:
    """The cohort's shards, each writing its part file into ``folder``."""
    return [EvaluationShard(index=k, env_id=ENV_ID, policy_specs=("label",),
                            make_policy=make_policy, seed=SEED, start=start, stop=stop,
                            path=str(folder / f"part-{k:05d}.parquet"))
            for k, (start, stop) in enumerate(plan_shards(N_PATIENTS, SHARD_SIZE))]


def _nothing(task: int) -> int:
    """An empty task: what Ray's scheduling alone costs."""
    return task


def timed(function: Callable[[], Any]) -> float:
    """Wall seconds of ``function()``."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def evaluation_seconds(backend: str, repeats: int = 3) -> float:
    """Best-of-``repeats`` seconds to evaluate the cohort with ``backend`` (Ray initialised)."""
    best = math.inf
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            best = min(best, timed(lambda: run_shards(
                run_evaluation_shard, shards(Path(folder)), backend=backend)))
    return best


def ray_costs(workers: int) -> dict[str, float]:
    """Start-up, warm-up (first shard per worker), per-task overhead and the cohort's time."""
    import ray  # the [ray] extra; the rest of `python -m benchmarks` runs without it

    costs = {"startup_s": timed(lambda: ray.init(num_cpus=workers, include_dashboard=False,
                                                 log_to_driver=False))}
    with tempfile.TemporaryDirectory() as folder:
        warm = shards(Path(folder))[:workers]
        costs["warmup_s"] = timed(lambda: run_shards(run_evaluation_shard, warm, backend="ray"))
    costs["per_task_s"] = timed(lambda: run_shards(_nothing, list(range(200)), backend="ray")) / 200
    costs["cohort_s"] = evaluation_seconds("ray")
    ray.shutdown()
    return costs


def projection(per_shard_s: float, overhead_s: float, per_task_s: float) -> list[str]:
    """Projected patients/s for :data:`PROJECTED_PATIENTS` on :data:`WORKERS` workers."""
    lines = [f"{'patients':>10} {'workers':>8} {'shards':>7} {'time_s':>9} {'patients/s':>11}"]
    for n in PROJECTED_PATIENTS:
        n_shards = math.ceil(n / SHARD_SIZE)
        for workers in WORKERS:
            seconds = overhead_s + math.ceil(n_shards / workers) * (per_shard_s + per_task_s)
            lines.append(f"{n:>10} {workers:>8} {n_shards:>7} {seconds:>9.1f} "
                         f"{n / seconds:>11.0f}")
    return lines


def evaluation_report() -> list[str]:
    """Measure local, Ray x1 and Ray x2; the throughput table and the projection."""
    n_shards = len(plan_shards(N_PATIENTS, SHARD_SIZE))
    local_s = evaluation_seconds("local")
    ray_runs = {workers: ray_costs(workers) for workers in (1, 2)}
    lines = [f"Evaluation: {N_PATIENTS} patients, label dosing, {n_shards} shards of "
             f"{SHARD_SIZE} (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)",
             f"{'backend':<10} {'seconds':>8} {'patients/s':>11}",
             f"{'local':<10} {local_s:>8.1f} {N_PATIENTS / local_s:>11.0f}"]
    lines += [f"{f'ray x{w}':<10} {c['cohort_s']:>8.1f} {N_PATIENTS / c['cohort_s']:>11.0f}"
              for w, c in ray_runs.items()]
    per_shard_s, two = local_s / n_shards, ray_runs[2]
    overhead_s = two["startup_s"] + two["warmup_s"]
    lines += ["", f"per-shard cost {per_shard_s:.2f} s ({SHARD_SIZE} patients); Ray start-up "
              f"{two['startup_s']:.1f} s; worker warm-up (first shard, imports) "
              f"{two['warmup_s']:.1f} s; per-task overhead {1000 * two['per_task_s']:.1f} ms",
              "projection: time ~ start-up + warm-up + ceil(shards / W) x (per-shard + "
              "per-task)", *projection(per_shard_s, overhead_s, two["per_task_s"])]
    return lines


def sweep_report(timesteps: int = 2048) -> list[str]:
    """A tiny benchmark sweep, local vs Ray with 2 workers; the speed-up of its runs."""
    import ray

    seconds = {"local": sweep_seconds("local", timesteps)}
    startup_s = timed(lambda: ray.init(num_cpus=2, include_dashboard=False,
                                       log_to_driver=False))
    seconds["ray, new workers"] = sweep_seconds("ray", timesteps)
    seconds["ray, warm workers"] = sweep_seconds("ray", timesteps)
    ray.shutdown()
    lines = ["", f"Benchmark sweep: PPO, A2C x Vancomycin x seeds 0, 1 ({timesteps} steps, "
                 f"50 patients; load average {os.getloadavg()[0]:.1f}); Ray start-up "
                 f"{startup_s:.1f} s", f"{'backend':<20} {'seconds':>8} {'speed-up':>9}"]
    return lines + [f"{name:<20} {value:>8.1f} {seconds['local'] / value:>8.2f}x"
                    for name, value in seconds.items()]


def sweep_seconds(backend: str, timesteps: int) -> float:
    """Seconds of the sweep's four runs (training + evaluation) on ``backend``."""
    from agents.benchmark.runner import BenchmarkConfig
    from agents.benchmark.runs import run_tables

    with tempfile.TemporaryDirectory() as folder:
        config = BenchmarkConfig(
            env_ids=(ENV_ID,), algos=("ppo", "a2c"), seeds=(0, 1), timesteps=timesteps,
            out_dir=Path(folder), n_patients=50, n_envs=4, n_training_patients=64,
            device="cpu", baselines=(), progress=False, backend=backend)
        return timed(lambda: run_tables(config))


def main() -> None:
    """Print the evaluation throughput table, the projection and the sweep speed-up."""
    try:
        import ray  # noqa: F401
    except ImportError:
        print("bench_scale skipped: Ray is not installed (pip install -e '.[ray]')")
        return
    print("\n".join(["", *evaluation_report(), *sweep_report()]))


if __name__ == "__main__":
    no_options(__doc__)
    main()
