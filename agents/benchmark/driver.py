"""``pkgym benchmark``: train RL algorithms on pkgym envs over seeds and rank them.

:func:`run_benchmark` checks every setting before anything trains, evaluates each env's
baselines once on its held-out cohort, trains and evaluates every (env, algorithm, seed) run
(:mod:`agents.benchmark.runs`; settings, references and places in
:mod:`agents.benchmark.runner`) and writes the tables (:mod:`agents.benchmark.tables`). The
leaderboard ranks algorithms by the interquartile mean of the normalised scores over
``(n_runs=seeds, n_tasks=envs)`` with stratified-bootstrap intervals
(:mod:`agents.benchmark.leaderboard`). The runs go one after another in this process or, with
``backend="ray"``, one Ray task each, with the same results.

Outputs (all written atomically; a rerun skips every run whose ``model.zip`` and
``evaluation.csv`` exist, and baselines are evaluated once per env)::

    OUT/benchmark.json              settings every cached result depends on
    OUT/runs/<env>/<algo>/seed<S>/  model.zip, model.json (training), evaluation.csv,
                                    status.json (ok / failed / unsupported, error, time)
    OUT/runs/<env>/baselines/<name>.csv
    OUT/runs.csv                    one row per (env, policy, seed): means with 95% CIs,
                                    status, one-line error and wall time of every run
    OUT/<env>.csv, OUT/<env>.md     per-env table
    OUT/leaderboard.csv, .md        IQM of normalised scores per algorithm (+ baselines)
    OUT/performance_profile.png

One failing run does not stop the sweep: its exception is recorded (``status.json`` and its
row of ``runs.csv``: status ``failed``, the error's last line, wall time) and the other runs
go on; a rerun retries it. An (env, algorithm) pair that cannot work at all (e.g. SAC, which
needs a continuous action space, on ``pkgym/Addiction-v0``, whose action is a choice among
treatments with no continuous variant) is found before anything trains, by building the env
with the algorithm's env settings, and recorded as ``unsupported`` without training.

Reruns merge: ``runs.csv`` keeps the rows of earlier invocations in the same ``OUT`` and the
new rows replace those with the same (env, policy, seed, timesteps) key, so running more envs
or algorithms later adds to one leaderboard instead of overwriting it. The leaderboard is
recomputed over all rows of the merged ``runs.csv``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from agents.benchmark.runner import (
    BENCHMARK_ANCHORS,
    BenchmarkConfig,
    EnvSetup,
    env_setup,
    env_slug,
    one_line,
    references,
    train_config,
)
from agents.benchmark.runs import run_tables
from agents.benchmark.tables import write_outputs
from pkgym.evaluation.evaluate import evaluate
from pkgym.io import write_table, write_text


def _baseline_results(config: BenchmarkConfig, setup: EnvSetup) -> pd.DataFrame:
    """Every baseline's per-patient results on the cohort, cached in ``runs/<env>/baselines``."""
    from agents.policies.registry import make_policy

    tables = []
    folder = Path(config.out_dir) / "runs" / env_slug(setup.env_id) / "baselines"
    for name in setup.baselines:
        path = folder / f"{name}.csv"
        anchor = BENCHMARK_ANCHORS.get(setup.env_id)
        if not path.exists():
            if anchor is not None and name in anchor.names:  # computed, not a policy
                table = anchor.build(name, setup.core, setup.cohort, config.eval_seed,
                                     setup.env_kwargs)
            else:
                policy = make_policy(name, setup.core)
                table = evaluate([policy], setup.env_id, setup.cohort, config.eval_seed,
                                 env_kwargs=setup.env_kwargs)
            write_table(table.assign(policy=name, kind="baseline", seed=-1), path)
        tables.append(_slim(pd.read_csv(path), setup))
    return pd.concat(tables, ignore_index=True)


def check_training(config: BenchmarkConfig) -> dict[tuple[str, str], str]:
    """Build every run's settings now; the (env, algo) pairs whose env cannot be built.

    Training settings and hyperparameter files that are wrong raise here, before anything
    runs. Each (env, algorithm) env is then built as training will build it (the algorithm's
    ``env_kwargs``, e.g. SAC's ``continuous: true``); a pair whose env refuses those settings
    or whose action space the algorithm cannot act in is returned with a one-line reason, to
    be recorded as ``unsupported`` instead of failing minutes into the sweep.

    Examples:
        >>> config = BenchmarkConfig(env_ids=("pkgym/Addiction-v0",), algos=("ppo", "sac"),
        ...                          seeds=(0,), timesteps=64, out_dir=Path("out"))
        >>> check_training(config)
        {('pkgym/Addiction-v0', 'sac'): 'ValueError: pkgym/Addiction-v0 has discrete treatments only (continuous=False)'}
    """  # noqa: E501
    from agents.rl.hyperparameters import load_hyperparams

    unsupported: dict[tuple[str, str], str] = {}
    for env_id in config.env_ids:
        for algo in config.algos:
            train_config(config, env_id, algo, config.seeds[0])
            hp = load_hyperparams(algo, env_id, config.hyperparams_file)
            reason = env_support(env_id, algo, {**hp.env_kwargs, **config.env_kwargs(env_id)})
            if reason is not None:
                unsupported[(env_id, algo)] = reason
    return unsupported


CONTINUOUS_ONLY = ("sac",)
"""Algorithms that act only in a continuous (``Box``) action space."""
DISCRETE_ONLY = ("dqn",)
"""Algorithms that act only in a ``Discrete`` action space."""


def env_support(env_id: str, algo: str, env_kwargs: dict[str, Any]) -> str | None:
    """Why ``algo`` cannot train on ``env_id`` built with ``env_kwargs``; None if it can.

    Examples:
        >>> env_support("pkgym/Vancomycin-v0", "sac", {"continuous": True}) is None
        True
        >>> env_support("pkgym/Vancomycin-v0", "sac", {})
        'sac needs a continuous (Box) action space; pkgym/Vancomycin-v0 has Discrete(13)'
    """
    import gymnasium as gym
    from gymnasium import spaces

    try:
        vec = gym.make_vec(env_id, num_envs=1, vectorization_mode="vector_entry_point",
                           **env_kwargs)
    except (ValueError, TypeError) as error:
        return one_line(error)
    space = vec.single_action_space
    vec.close()
    if algo in CONTINUOUS_ONLY and not isinstance(space, spaces.Box):
        return f"{algo} needs a continuous (Box) action space; {env_id} has {space}"
    if algo in DISCRETE_ONLY and not isinstance(space, spaces.Discrete):
        return f"{algo} needs a Discrete action space; {env_id} has {space}"
    return None


MANIFEST_KEYS = ("n_patients", "eval_seed", "timesteps")


def check_manifest(config: BenchmarkConfig) -> Path:
    """Record (or, on a rerun, check) the settings every cached result depends on.

    Cached runs and baselines are only valid for the same cohort size and seed, training
    budget, scenario files and hyperparameter file (files by their SHA-256, so that one edited
    in place counts as changed); a rerun that changes them must use another ``out_dir``.

    Examples:
        >>> import tempfile
        >>> out = Path(tempfile.mkdtemp())
        >>> def config(n_patients):
        ...     return BenchmarkConfig(env_ids=("pkgym/Vancomycin-v0",), algos=("ppo",),
        ...                            seeds=(0,), timesteps=256, out_dir=out,
        ...                            n_patients=n_patients)
        >>> check_manifest(config(50)).name
        'benchmark.json'
        >>> check_manifest(config(60))
        Traceback (most recent call last):
        ...
        ValueError: out_dir '...' holds results made with other settings (n_patients); use ...
    """
    path = Path(config.out_dir) / "benchmark.json"
    scenarios = {env: (None if (p := config.scenario_by_env.get(env)) is None
                       else hashlib.sha256(p.read_bytes()).hexdigest()) for env in config.env_ids}
    hyperparams = (None if config.hyperparams_file is None
                   else hashlib.sha256(Path(config.hyperparams_file).read_bytes()).hexdigest())
    current = {**{k: getattr(config, k) for k in MANIFEST_KEYS}, "scenarios": scenarios,
               "hyperparams": hyperparams}
    if path.exists():
        saved = json.loads(path.read_text())
        changed = [k for k in MANIFEST_KEYS if saved.get(k) != current[k]]
        changed += ["hyperparams file"] if saved.get("hyperparams") != hyperparams else []
        changed += [f"scenario of {env}" for env, text in scenarios.items()
                    if env in saved.get("scenarios", {}) and saved["scenarios"][env] != text]
        if changed:
            raise ValueError(f"out_dir {str(config.out_dir)!r} holds results made with other "
                             f"settings ({', '.join(changed)}); use another --out")
        current["scenarios"] = {**saved.get("scenarios", {}), **scenarios}
    return write_text(json.dumps(current, indent=2, sort_keys=True), path)


def run_benchmark(config: BenchmarkConfig) -> list[Path]:
    """Train, evaluate and rank every (env, algorithm, seed); the paths of the summaries.

    Every registered env can be benchmarked (ChemoImmune-v0 against its explicit anchors,
    :data:`agents.benchmark.runner.BENCHMARK_ANCHORS`):

    Examples:
        >>> BenchmarkConfig(env_ids=("pkgym/ChemoImmune-v0",), algos=("ppo",), seeds=(0,),
        ...                 timesteps=64, out_dir=Path("out")).env_ids
        ('pkgym/ChemoImmune-v0',)
    """
    unsupported = check_training(config)
    for (env_id, algo), reason in unsupported.items():
        if config.progress:
            tqdm.write(f"unsupported {env_slug(env_id)} {algo}: {reason}")
    check_manifest(config)
    setups = {env_id: env_setup(config, env_id) for env_id in config.env_ids}
    results = {env_id: [_baseline_results(config, setup)] for env_id, setup in
               tqdm(setups.items(), desc="baselines", unit="env", disable=not config.progress)}
    tables, statuses = run_tables(config, unsupported)
    for env_id, runs in tables.items():
        results[env_id] += [_slim(table, setups[env_id]) for table in runs]
    merged = {env_id: pd.concat(parts, ignore_index=True) for env_id, parts in results.items()}
    return write_outputs(merged, config, references(), statuses)


def _slim(table: pd.DataFrame, setup: EnvSetup) -> pd.DataFrame:
    """The columns the summaries use: patient, policy, kind, seed, return, clinical score."""
    columns = ["id", "policy", "kind", "seed", "return", setup.reference.clinical_score]
    return table[columns]
