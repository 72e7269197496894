"""Sharded cohort evaluation: the same results table as ``evaluate``, locally or on Ray.

The cohort's rows are split into shards of ``shard_size`` patients. A shard ships only its
description (env id, policy specs, seeds, row range); its worker samples its own slice of the
cohort (patient k is the same in any slice), rebuilds the policies from their specs, runs
:func:`~pkgym.evaluation.evaluate.evaluate` with ``first_row`` so that row k gets the noise
streams it gets in the unsharded run, and writes ``OUT/shards/part-<k>.parquet`` atomically.
A worker thus only ever holds its shard. The driver merges the part files in shard order into
``OUT/results.parquet`` (streamed, one row group per shard) and returns the table
:func:`~pkgym.evaluation.evaluate.evaluate` returns for the whole cohort, identical to the
last digit whatever the backend, the number of workers or the shard size.

A user's cohort file works too: then each shard carries its slice of the DataFrame. A rerun
with the same settings and the same input files reuses the finished part files (an interrupted
run resumes); a shard folder of another run is refused (``OUT/shards/manifest.json``, which
holds the SHA-256 of the scenario, the cohort file and every model file named by a policy spec,
so that a file edited in place makes another run, never a mix of old and new shards). Workers
write the part
files themselves, so on a multi-node cluster ``OUT`` (and any scenario or model file
named by path) must be on a filesystem every node sees, at the same path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

import pkgym
from pkgym.evaluation.cohorts import EVALUATION, check_no_leakage, cohort_root, env_cohort
from pkgym.evaluation.evaluate import evaluate
from pkgym.evaluation.policy import Policy
from pkgym.evaluation.runner import reporting_steps
from pkgym.evaluation.uncertainty import check_replicates, drawn_scenario, replicate_of_rows
from pkgym.io import write_table
from pkgym.scale.backend import run_shards
from pkgym.scale.shards import (
    DEFAULT_SHARD_SIZE,
    claim_folder,
    crash_once_for_tests,
    finished,
    input_hashes,
    merge_parts,
    part_path,
    plan_shards,
    remove_stale_temporaries,
    shard_progress,
    step_progress,
)

MODEL_SPEC_KINDS = ("sb3", "vae_mipd")
"""Policy specs ``KIND:PATH`` whose policy is read from a model file or folder at ``PATH``."""

PolicyFactory = Callable[..., Policy]
"""Builds a policy from its spec: ``make_policy(spec, core, env_id=..., scenario=...)``, as
``agents.policies.registry.make_policy`` does (a module-level function, so that it pickles)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluationShard:
    """One slice of a sharded evaluation: all a worker needs, small and picklable.

    Attributes:
        index: shard number (its part file is ``part-<index>.parquet``).
        env_id: a registered pkgym env id.
        policy_specs: the policies' specs (``label``, ``sb3:PATH.zip``, ...), rebuilt by the
            worker with ``make_policy``.
        make_policy: the policy factory.
        seed: cohort seed and root seed of the noise streams.
        start: first cohort row of the shard.
        stop: one past its last row.
        path: the part file to write.
        scenario: the env's scenario YAML, if any.
        space: the cohort's seed space (``pkgym.evaluation.cohorts.EVALUATION``).
        cohort: a user's cohort rows ``start .. stop-1``; ``None``: the worker samples them.
        parameter_replicates: 0, or the number of parameter-uncertainty replicates the whole
            cohort is split into (:mod:`pkgym.evaluation.uncertainty`).
        n_cohort: rows of the whole cohort (which rows make a replicate).
    """

    index: int
    env_id: str
    policy_specs: tuple[str, ...]
    make_policy: PolicyFactory
    seed: int
    start: int
    stop: int
    path: str
    scenario: str | None = None
    space: int = EVALUATION
    cohort: pd.DataFrame | None = None
    parameter_replicates: int = 0
    n_cohort: int = 0

    @property
    def n_rows(self) -> int:
        """Rows of the shard's part file: one per (policy, patient)."""
        return len(self.policy_specs) * (self.stop - self.start)


def env_kwargs_of(scenario: str | Path | None) -> dict[str, Any]:
    """The ``make_vec`` keyword arguments that select a scenario YAML (none without one).

    Examples:
        >>> env_kwargs_of(None), env_kwargs_of("s.yaml")
        ({}, {'scenario': 's.yaml'})
    """
    return {} if scenario is None else {"scenario": str(scenario)}


def env_core(env_id: str, scenario: Any = None) -> Any:
    """The dosing core of ``env_id`` (its settings, population, outcome spec)."""
    import gymnasium as gym

    from pkgym.envs.base import DosingVectorEnv

    kwargs = {} if scenario is None else {
        "scenario": scenario if not isinstance(scenario, str | Path) else str(scenario)}
    vec = gym.make_vec(env_id, num_envs=1, vectorization_mode="vector_entry_point",
                       **kwargs)  # type: ignore[arg-type]
    core = cast(DosingVectorEnv, vec.unwrapped).core
    vec.close()
    return core


def run_evaluation_shard(shard: EvaluationShard) -> tuple[str, int]:
    """Evaluate the shard's patients; write its part file atomically; return (path, rows)."""
    crash_once_for_tests(shard.index)
    core = env_core(shard.env_id, shard.scenario)
    n = shard.stop - shard.start
    cohort = (env_cohort(cast(Any, core).settings, n, shard.seed, shard.space, start=shard.start)
              if shard.cohort is None else shard.cohort)
    policies = [shard.make_policy(spec, core, env_id=shard.env_id, scenario=shard.scenario)
                for spec in shard.policy_specs]
    if shard.parameter_replicates:
        table = _evaluate_replicates(shard, policies, cohort)
    else:
        table = evaluate(policies, shard.env_id, cohort, shard.seed,
                         env_kwargs=env_kwargs_of(shard.scenario), first_row=shard.start)
    write_table(table, shard.path)
    return shard.path, len(table)


def _evaluate_replicates(shard: EvaluationShard, policies: list[Policy],
                         cohort: pd.DataFrame) -> pd.DataFrame:
    """The shard's rows replicate by replicate, each under its drawn truth (``replicate``).

    The policies keep the published model as their belief; a policy that reads the hidden
    state (an oracle) is rebuilt from each replicate's env, as it knows the true patient.
    """
    labels = replicate_of_rows(shard.start, shard.stop, shard.n_cohort,
                               shard.parameter_replicates)
    blocks = []
    for replicate in np.unique(labels):
        rows = np.flatnonzero(labels == replicate)
        scenario = drawn_scenario(shard.env_id, shard.scenario, shard.seed, int(replicate))
        env_kwargs = {"scenario": scenario}
        truth_core = env_core(shard.env_id, scenario) if any(
            p.reads_hidden_state for p in policies) else None
        used = [shard.make_policy(spec, truth_core, env_id=shard.env_id, scenario=shard.scenario)
                if policy.reads_hidden_state else policy
                for spec, policy in zip(shard.policy_specs, policies, strict=True)]
        block = evaluate(used, shard.env_id, cohort_slice(cohort, int(rows[0]), int(rows[-1]) + 1),
                         shard.seed, env_kwargs=env_kwargs, first_row=shard.start + int(rows[0]))
        block.insert(3, "replicate", int(replicate))
        blocks.append(block)
    table = pd.concat(blocks, ignore_index=True)
    return pd.concat([table[table["policy"] == p.name] for p in policies], ignore_index=True)


def cohort_slice(cohort: pd.DataFrame, start: int, stop: int) -> pd.DataFrame:
    """Rows ``start .. stop-1`` of a cohort, its sampling record (if any) moved along.

    Examples:
        >>> part = cohort_slice(pd.DataFrame({"id": [5, 6, 7]}), 1, 3)
        >>> part["id"].tolist(), part.index.tolist()
        ([6, 7], [0, 1])
    """
    part = cohort.iloc[start:stop].reset_index(drop=True)
    part.attrs = dict(cohort.attrs)
    if "seed_entropy" in part.attrs:
        part.attrs["start"] = int(cohort.attrs.get("start", 0)) + start
    return part


def cohort_fingerprint(cohort: pd.DataFrame) -> str:
    """A short hash of a cohort's contents (the manifest's record of a user's cohort file).

    Examples:
        >>> cohort_fingerprint(pd.DataFrame({"id": [0, 1]})) == cohort_fingerprint(
        ...     pd.DataFrame({"id": [0, 1]}))
        True
    """
    rows = pd.util.hash_pandas_object(cohort, index=False).to_numpy()
    header = ",".join(map(str, cohort.columns)).encode()
    return hashlib.sha256(header + rows.tobytes()).hexdigest()[:16]


def run_inputs(policy_specs: Sequence[str], scenario: str | Path | None = None,
               cohort_file: str | Path | None = None) -> dict[str, str]:
    """The SHA-256 of each file a run reads, by label (the manifest's ``inputs``).

    The files: the scenario, the cohort file, and the model file (or folder) of each policy
    spec of a :data:`MODEL_SPEC_KINDS` kind (``module:callable`` names code, not a file).

    Examples:
        >>> run_inputs(["label", "math:floor"])
        {}
    """
    models = {f"model {spec}": target for spec in policy_specs
              for kind, _, target in [spec.partition(":")] if kind in MODEL_SPEC_KINDS}
    return input_hashes({f"scenario {scenario}": scenario, f"cohort {cohort_file}": cohort_file,
                         **models})


def check_sampled_cohort(policies: Sequence[Policy], n_patients: int, seed: int,
                         space: int = EVALUATION) -> None:
    """Refuse, before any shard runs, a policy trained on patients of the sampled cohort.

    The cohort's identity is known without sampling it (seed, space, rows ``0 .. n-1``), so
    the leakage guard of :func:`~pkgym.evaluation.evaluate.evaluate` runs once on the driver.

    Examples:
        >>> from pkgym.evaluation.cohorts import CohortId
        >>> class Trained:
        ...     training_cohorts = [CohortId(4, (EVALUATION,), 90, 95)]
        >>> check_sampled_cohort([Trained()], 100, seed=4)
        Traceback (most recent call last):
        ...
        pkgym.evaluation.cohorts.LeakageError: evaluation cohort ...
    """
    root = cohort_root(seed, space)
    stub = pd.DataFrame(index=pd.RangeIndex(n_patients))
    stub.attrs.update(seed_entropy=root.entropy, seed_spawn_key=root.spawn_key, start=0)
    for policy in policies:
        check_no_leakage(stub, getattr(policy, "training_cohorts", ()))


def evaluate_sharded(policy_specs: Sequence[str], env_id: str, seed: int,
                     out_dir: str | Path, *, make_policy: PolicyFactory,
                     n_patients: int | None = None, cohort: pd.DataFrame | None = None,
                     scenario: str | Path | None = None, cohort_file: str | Path | None = None,
                     space: int = EVALUATION,
                     shard_size: int = DEFAULT_SHARD_SIZE, backend: str = "local",
                     ray_address: str | None = None, progress: bool = False,
                     parameter_replicates: int = 0) -> pd.DataFrame:
    """Evaluate the policies on a cohort in shards; merge into ``OUT/results.parquet``.

    Args:
        policy_specs: policy specs, with distinct names once built.
        env_id: a registered pkgym env id.
        seed: cohort seed (seed space ``space``) and root seed of the noise streams.
        out_dir: output folder; shards go to ``out_dir/shards``.
        make_policy: the policy factory (e.g. ``agents.policies.registry.make_policy``).
        n_patients: cohort size, sampled by the workers (give this or ``cohort``).
        cohort: a user's cohort (``id`` column), sliced and shipped to the workers.
        scenario: the env's scenario YAML (must be readable by every worker).
        cohort_file: the file ``cohort`` was read from (its SHA-256 goes in the manifest).
        space: seed space of a sampled cohort.
        shard_size: patients per shard (>= 1).
        backend: ``"local"`` or ``"ray"``.
        ray_address: an existing Ray cluster; ``None`` starts a local one.
        progress: show a progress bar over the shards.
        parameter_replicates: 0 (the published truth), or the number of replicates whose
            truth is drawn from its published uncertainty; the results then have a
            ``replicate`` column (:mod:`pkgym.evaluation.uncertainty`).

    Returns:
        The table :func:`~pkgym.evaluation.evaluate.evaluate` returns for the whole cohort.

    Examples:
        >>> import tempfile
        >>> from agents.policies.registry import make_policy
        >>> out = Path(tempfile.mkdtemp())
        >>> table = evaluate_sharded(["label"], "pkgym/Vancomycin-v0", 0, out, n_patients=3,
        ...                          make_policy=make_policy, shard_size=2)
        >>> table["id"].tolist(), sorted(p.name for p in (out / "shards").glob("part-*"))
        ([0, 1, 2], ['part-00000.parquet', 'part-00001.parquet'])
    """
    if (n_patients is None) == (cohort is None):
        raise ValueError("give either n_patients or cohort")
    n_rows = len(cohort) if cohort is not None else cast(int, n_patients)
    if n_rows < 1:
        raise ValueError(f"n_patients must be >= 1, got {n_rows}")
    if parameter_replicates:
        check_replicates(parameter_replicates, n_rows)
        drawn_scenario(env_id, scenario, seed, 0)  # refused here, before any shard, if it cannot
    folder = Path(out_dir) / "shards"
    claim_folder(folder, {
        "kind": "evaluation", "pkgym_version": pkgym.__version__, "env_id": env_id,
        "policies": list(policy_specs), "seed": int(seed), "space": int(space),
        "scenario": None if scenario is None else str(scenario), "n_patients": n_rows,
        "cohort": None if cohort is None else cohort_fingerprint(cohort),
        "shard_size": int(shard_size),
        "make_policy": f"{make_policy.__module__}.{make_policy.__qualname__}",
        "inputs": run_inputs(policy_specs, scenario, cohort_file),
        **({"parameter_replicates": int(parameter_replicates)} if parameter_replicates else {})})
    remove_stale_temporaries(folder)
    shards = [EvaluationShard(
        index=k, env_id=env_id, policy_specs=tuple(policy_specs), make_policy=make_policy,
        seed=int(seed), start=start, stop=stop, path=str(part_path(folder, k)),
        scenario=None if scenario is None else str(scenario), space=space,
        cohort=None if cohort is None else cohort_slice(cohort, start, stop),
        parameter_replicates=int(parameter_replicates), n_cohort=n_rows)
        for k, (start, stop) in enumerate(plan_shards(n_rows, shard_size))]
    todo = [s for s in shards if not finished(Path(s.path), s.n_rows)]
    if todo and backend == "local" and progress:  # progress per batched step, not per shard
        patients = sum(s.stop - s.start for s in todo)
        with step_progress(f"evaluation ({len(policy_specs)} policies x {patients} patients)") \
                as tick, reporting_steps(tick):
            run_shards(run_evaluation_shard, todo, backend=backend, ray_address=ray_address)
    elif todo:  # a finished run is only merged again (no Ray started)
        run_shards(run_evaluation_shard, todo, backend=backend, ray_address=ray_address,
                   progress=shard_progress(f"evaluation ({shard_size} patients/shard)",
                                           progress))
    paths = [Path(s.path) for s in shards]
    merge_parts(paths, Path(out_dir) / "results.parquet")
    return results_table(paths)


def results_table(paths: Sequence[Path]) -> pd.DataFrame:
    """The shards' rows as ``evaluate`` orders them: policy by policy, patients in order.

    A policy's rows are joined across shards first (a column that is boolean in one shard and
    float in another becomes float, as in one unsharded run), then the policies are
    concatenated as :func:`~pkgym.evaluation.evaluate.evaluate` does.
    """
    parts = [pd.read_parquet(path) for path in paths]
    names = list(pd.unique(parts[0]["policy"]))
    return pd.concat([_join([part[part["policy"] == name] for part in parts])
                      for name in names], ignore_index=True)


def _join(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate one policy's shards, promoting bool/int columns that are float elsewhere."""
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    for column in frames[0].columns:
        dtypes = {frame[column].dtype for frame in frames}
        if len(dtypes) > 1 and all(isinstance(d, np.dtype) and (
                np.issubdtype(d, np.number) or d == np.bool_) for d in dtypes):
            frames = [frame.astype({column: np.float64}) for frame in frames]
    return pd.concat(frames, ignore_index=True)
