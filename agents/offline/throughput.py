"""Dataset-generation throughput: batched :func:`collect_dataset` vs Minari's ``DataCollector``.

Both run the same behaviour policy (:mod:`agents.offline.behaviour`) on the same patients
(training cohort rows pinned, noise seeds ``seed + k``) and write a Minari dataset; the
reference wraps one single env in :class:`minari.DataCollector` (``record_infos=True``: the
env's infos; it does not log the behaviour probabilities) and runs the patients one after
another, as the issue's first trial did. Both give the same episodes
(``tests/agents/test_offline_throughput.py`` checks two patients).

Run: ``python -m agents.offline.throughput [ENV_ID ...]`` (1 000 patients each).
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from agents.offline.behaviour import BehaviourSpec
from agents.offline.dataset import (
    _datasets_root,
    _env_kwargs,
    collect_dataset,
    load_pkgym_dataset,
    make_behaviour,
)
from pkgym.evaluation.cohorts import TRAINING, env_cohort

BEHAVIOURS = {"pkgym/Vancomycin-v0": ("label", "trough"),
              "pkgym/Warfarin-v1": ("iwpc_clinical+aurora", "aurora")}
"""The clinicians of each env's benchmark dataset (our choice: a rule and a titration)."""


def collect_with_data_collector(env_id: str, spec: BehaviourSpec, n_patients: int, seed: int,
                                root: str | Path, *, scenario: Any = None) -> Any:
    """The same episodes through ``DataCollector`` around one single env; the Minari dataset."""
    import minari

    policy = make_behaviour(env_id, spec, scenario=scenario)
    env = gym.make(env_id, **_env_kwargs(scenario))
    cohort = env_cohort(env.unwrapped.core.settings, n_patients, seed,  # type: ignore[attr-defined]
                        TRAINING)
    with _datasets_root(Path(root)):
        collector = minari.DataCollector(env, record_infos=True)
        for k in range(n_patients):
            row = {key: _plain(v) for key, v in cohort.iloc[k].items()}
            obs, info = collector.reset(seed=seed + k, options={"patient": row})
            policy.reset([seed + k])
            done = False
            while not done:
                action, _, _ = policy.act(_batch(obs), _batch(info))
                obs, _, terminated, truncated, info = collector.step(int(action[0]))
                done = terminated or truncated
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            data = collector.create_dataset(f"reference/{env_id.split('/')[-1].lower()}-v0",
                                            algorithm_name="behaviour", author="pkgym")
    collector.close()
    return data


def dataset_throughput(env_id: str, n_patients: int, seed: int) -> dict[str, Any]:
    """Patient-steps per second of :func:`collect_dataset` and of ``DataCollector``, one run.

    Returns:
        ``env_id``, ``n_patients``, ``steps`` and, for ``batched`` and ``data_collector``,
        the wall time (s) and patient-steps/s; ``speedup`` (batched over reference).
    """
    spec = BehaviourSpec(policies=BEHAVIOURS.get(env_id, ("label",)))
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        path = collect_dataset(env_id, spec, n_patients, seed, Path(tmp) / "batched")
        batched_s = time.perf_counter() - start
        steps = load_pkgym_dataset(path)[0].total_steps
        start = time.perf_counter()
        reference = collect_with_data_collector(env_id, spec, n_patients, seed,
                                                Path(tmp) / "reference")
        reference_s = time.perf_counter() - start
    if reference.total_steps != steps:
        raise RuntimeError(f"{env_id}: DataCollector wrote {reference.total_steps} steps, "
                           f"collect_dataset {steps}")
    return {"env_id": env_id, "n_patients": n_patients, "steps": int(steps),
            "batched_s": batched_s, "batched_steps_per_s": steps / batched_s,
            "data_collector_s": reference_s, "data_collector_steps_per_s": steps / reference_s,
            "speedup": reference_s / batched_s}


def _batch(values: dict[str, Any]) -> dict[str, np.ndarray]:
    """A single env's observation or info as a batch of one."""
    return {key: np.asarray(value)[None] for key, value in values.items()}


def _plain(value: Any) -> Any:
    """Numpy scalars as Python numbers."""
    return value.item() if isinstance(value, np.generic) else value


def main(argv: list[str] | None = None) -> None:
    """Print both throughputs for each env (default: vancomycin and warfarin, 1 000 patients)."""
    env_ids = (argv if argv is not None else sys.argv[1:]) or list(BEHAVIOURS)
    for env_id in env_ids:
        row = dataset_throughput(env_id, 1000, 0)
        print(f"{env_id}: {row['n_patients']} patients, {row['steps']} patient-steps; "
              f"collect_dataset {row['batched_s']:.1f} s ({row['batched_steps_per_s']:.0f} "
              f"steps/s); DataCollector {row['data_collector_s']:.1f} s "
              f"({row['data_collector_steps_per_s']:.0f} steps/s); x{row['speedup']:.1f}")


if __name__ == "__main__":
    main()
