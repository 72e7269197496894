"""Sharded trial simulation: phase I and virtual trials, locally or on Ray, identical results.

Trial k always draws from stream child k of the root seed (``first_trial``), and patient k of
an endpoint pool is the same patient with the same noise in any slice (``start``), so batches
of trials and slices of the pool run as independent shards whose concatenation is exactly the
unsharded result, whatever the backend, the number of workers or the shard size. A shard
ships its description (a design spec rebuilt in the worker, the scenario, seeds, a row range);
only the results come back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from pkgym.scale.backend import run_shards
from pkgym.scale.evaluation import PolicyFactory, env_core, env_kwargs_of
from pkgym.scale.shards import (
    DEFAULT_SHARD_SIZE,
    crash_once_for_tests,
    plan_shards,
    shard_progress,
)
from pkgym.trials.endpoints import EndpointPool, EndpointSource, simulate_endpoint_pool
from pkgym.trials.operating_characteristics import TrialResults, simulate_trials
from pkgym.trials.report import make_design
from pkgym.trials.scenarios import DoseFindingScenario
from pkgym.trials.state import DoseFindingDesign
from pkgym.trials.virtual_trial import (
    VirtualTrialCharacteristics,
    VirtualTrialDesign,
    simulate_trial_rows,
    summarise_virtual_trials,
)

DesignFactory = Callable[[str, DoseFindingScenario], DoseFindingDesign]
"""Builds a phase I design from its spec and scenario (module-level, so that it pickles)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PhaseOneShard:
    """Trials ``first_trial .. first_trial+n_trials-1`` of one phase I design."""

    index: int
    design: str
    scenario: DoseFindingScenario
    make_design: DesignFactory
    seed: int
    first_trial: int
    n_trials: int


def run_phase_one_shard(shard: PhaseOneShard) -> TrialResults:
    """Rebuild the design in the worker and simulate the shard's trials."""
    crash_once_for_tests(shard.index)
    design = shard.make_design(shard.design, shard.scenario)
    return simulate_trials(design, shard.scenario, shard.n_trials, shard.seed,
                           first_trial=shard.first_trial)


def simulate_phase_one_sharded(design: str, scenario: DoseFindingScenario, n_trials: int,
                               seed: int, *, make_design: DesignFactory = make_design,
                               shard_size: int = DEFAULT_SHARD_SIZE, backend: str = "local",
                               ray_address: str | None = None,
                               progress: bool = False) -> TrialResults:
    """``simulate_trials(make_design(design, scenario), scenario, n_trials, seed)`` in shards.

    Args:
        design: the design's spec (e.g. ``"boin"``), rebuilt in each worker.
        scenario: true DLT probabilities and size rules.
        n_trials: number of trials (>= 2).
        seed: root seed (>= 0).
        make_design: the design factory (default :func:`pkgym.trials.report.make_design`).
        shard_size: trials per shard (>= 1).
        backend: ``"local"`` or ``"ray"``.
        ray_address: an existing Ray cluster; ``None`` starts a local one.
        progress: show a progress bar over the shards.

    Examples:
        >>> scenario = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.3, 0.5),
        ...                                target_dlt_rate=0.3)
        >>> a = simulate_phase_one_sharded("boin", scenario, 30, 1, shard_size=7)
        >>> b = simulate_trials(make_design("boin", scenario), scenario, 30, 1)
        >>> bool(np.array_equal(a.selected, b.selected) and np.array_equal(a.dlts, b.dlts))
        True
    """
    if n_trials < 2:
        raise ValueError(f"n_trials must be >= 2, got {n_trials}")
    shards = [PhaseOneShard(index=k, design=design, scenario=scenario, make_design=make_design,
                            seed=seed, first_trial=start, n_trials=stop - start)
              for k, (start, stop) in enumerate(plan_shards(n_trials, shard_size))]
    parts = run_shards(run_phase_one_shard, shards, backend=backend, ray_address=ray_address,
                       progress=shard_progress(f"{design} ({shard_size} trials/shard)", progress))
    return TrialResults(patients=np.concatenate([p.patients for p in parts]),
                        dlts=np.concatenate([p.dlts for p in parts]),
                        selected=np.concatenate([p.selected for p in parts]),
                        seed_entropy=parts[0].seed_entropy)


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolShard:
    """Patients ``start .. stop-1`` of a virtual trial's endpoint pool, under every arm."""

    index: int
    env_id: str
    arms: tuple[str, ...]
    make_policy: PolicyFactory
    endpoint: str
    seed: int
    start: int
    stop: int
    scenario: str | None = None


def run_pool_shard(shard: PoolShard) -> np.ndarray:
    """The shard's endpoints, shape (stop - start, n_arms); one policy per distinct spec."""
    crash_once_for_tests(shard.index)
    core = env_core(shard.env_id, shard.scenario)
    built = {spec: shard.make_policy(spec, core, env_id=shard.env_id, scenario=shard.scenario)
             for spec in dict.fromkeys(shard.arms)}
    pool = simulate_endpoint_pool(shard.env_id, [built[spec] for spec in shard.arms],
                                  shard.endpoint, shard.stop - shard.start, shard.seed,
                                  env_kwargs=env_kwargs_of(shard.scenario), start=shard.start)
    return np.asarray(pool.outcomes)


def simulate_endpoint_pool_sharded(env_id: str, arms: Sequence[str], endpoint: str,
                                   n_patients: int, seed: int, *, make_policy: PolicyFactory,
                                   scenario: str | Path | None = None,
                                   shard_size: int = DEFAULT_SHARD_SIZE,
                                   backend: str = "local", ray_address: str | None = None,
                                   progress: bool = False) -> EndpointPool:
    """:func:`~pkgym.trials.endpoints.simulate_endpoint_pool` of the arms' specs, in shards.

    Args:
        env_id: a registered pkgym env id.
        arms: one policy spec per arm, control first.
        endpoint: a score of the env's outcome spec, or ``"return"``.
        n_patients: pool size (>= 1).
        seed: cohort seed (EVALUATION space) and root seed of the noise streams.
        make_policy: the policy factory (e.g. ``agents.policies.registry.make_policy``).
        scenario: the env's scenario YAML (must be readable by every worker).
        shard_size: patients per shard (>= 1).
        backend: ``"local"`` or ``"ray"``.
        ray_address: an existing Ray cluster; ``None`` starts a local one.
        progress: show a progress bar over the shards.
    """
    from pkgym.evaluation.outcomes import outcome_spec

    allowed = [*outcome_spec(env_core(env_id, scenario)).scores, "return"]
    if endpoint not in allowed:
        raise ValueError(f"endpoint must be one of {allowed}, got {endpoint!r}")
    shards = [PoolShard(index=k, env_id=env_id, arms=tuple(arms), make_policy=make_policy,
                        endpoint=endpoint, seed=seed, start=start, stop=stop,
                        scenario=None if scenario is None else str(scenario))
              for k, (start, stop) in enumerate(plan_shards(n_patients, shard_size))]
    parts = run_shards(run_pool_shard, shards, backend=backend, ray_address=ray_address,
                       progress=shard_progress(f"endpoint pool ({shard_size} patients/shard)",
                                               progress))
    return EndpointPool(np.concatenate(parts))


@dataclass(frozen=True, slots=True, kw_only=True)
class VirtualTrialShard:
    """Trials ``first_trial .. first_trial+n_trials-1`` of a virtual trial design."""

    index: int
    design: VirtualTrialDesign
    source: EndpointSource
    seed: int
    first_trial: int
    n_trials: int


def run_virtual_trial_shard(shard: VirtualTrialShard) -> pd.DataFrame:
    """The shard's trial rows (:func:`~pkgym.trials.virtual_trial.simulate_trial_rows`)."""
    crash_once_for_tests(shard.index)
    return simulate_trial_rows(shard.design, shard.source, shard.n_trials, shard.seed,
                               first_trial=shard.first_trial)


def simulate_virtual_trials_sharded(design: VirtualTrialDesign, source: EndpointSource,
                                    n_trials: int, seed: int, *,
                                    shard_size: int = DEFAULT_SHARD_SIZE,
                                    backend: str = "local", ray_address: str | None = None,
                                    progress: bool = False,
                                    desc: str = "trials") -> VirtualTrialCharacteristics:
    """:func:`~pkgym.trials.virtual_trial.simulate_virtual_trials` in shards of trials.

    Examples:
        >>> from pkgym.trials.endpoints import GaussianEndpoints
        >>> from pkgym.trials.virtual_trial import simulate_virtual_trials
        >>> d = VirtualTrialDesign(env_id="e", arms=("a", "b"), endpoint="y", max_patients=40)
        >>> source = GaussianEndpoints((0.0, 0.5), (1.0, 1.0))
        >>> a = simulate_virtual_trials_sharded(d, source, 9, 2, shard_size=4)
        >>> a.trials.equals(simulate_virtual_trials(d, source, 9, 2).trials)
        True
    """
    if n_trials < 2:
        raise ValueError(f"n_trials must be >= 2, got {n_trials}")
    shards = [VirtualTrialShard(index=k, design=design, source=source, seed=seed,
                                first_trial=start, n_trials=stop - start)
              for k, (start, stop) in enumerate(plan_shards(n_trials, shard_size))]
    parts = run_shards(run_virtual_trial_shard, shards, backend=backend,
                       ray_address=ray_address,
                       progress=shard_progress(f"{desc} ({shard_size} trials/shard)", progress))
    return summarise_virtual_trials(design, pd.concat(cast(list[Any], parts),
                                                      ignore_index=True), seed)
