"""Extreme-patient sweep: every env, pinned patients at the edges of what it accepts, 3 dosings.

For each registered env, extreme pinned patients run one full episode through the env's
native vector env under always-max, always-zero and random dosing, and the sweep counts:
patients the env's pinning refuses (a validation error naming the patient: counted, not a
failure), exceptions (at reset or step; a step exception loses its batch), non-finite values (in
observations, rewards and numeric ``info`` arrays) and observations outside the declared
``single_observation_space`` (per patient slot).

Extreme patients: an env with a cohort schema gets every covariate at a bound of its rule,
the low/high combinations enumerated in a seeded order (all of them once ``n`` covers them),
every category of a categorical column in each block of as many patients; every other
patient has its random effects at +-3 SD (random signs), the rest theirs from an ordinary
sampled cohort, like the other columns. An env without a schema (its
rows are its own, :func:`pkgym.evaluation.cohorts.env_cohort`) gets the most extreme of a
large sampled pool: the rows holding each column's minimum and maximum, then the rows
farthest from the pool's median (largest |z|).

    python -m benchmarks.extreme_patients                    # 200 patients per env (minutes)
    python -m benchmarks.extreme_patients --n-patients 10000 # the issue's full sweep
    python -m benchmarks.extreme_patients --env pkgym/Chemotherapy-v0 --n-patients 128
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

DOSINGS = ("max", "zero", "random")
"""Always the highest action, always the lowest, uniformly random."""


@dataclass
class SweepCounts:
    """What one env's sweep saw (per dosing, then summed by :func:`sweep_env`)."""

    patients: int = 0
    refused: int = 0
    patient_steps: int = 0
    exceptions: int = 0
    non_finite: int = 0
    out_of_space: int = 0
    messages: list[str] = field(default_factory=list)

    def add(self, other: SweepCounts) -> None:
        """Add ``other``'s counts and messages into these."""
        for name in ("patients", "refused", "patient_steps", "exceptions", "non_finite",
                     "out_of_space"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for message in other.messages:
            self.note(message)

    def note(self, message: str) -> None:
        """Keep a message (the first few distinct ones)."""
        if len(self.messages) < 12 and message not in self.messages:
            self.messages.append(message)


def _extreme_etas(rows: pd.DataFrame, variability: Any, rng: np.random.Generator) -> None:
    """Every other row's random effects at +-3 SD of the model's omega (signs at random)."""
    sds = np.sqrt(np.diag(np.asarray(variability.omega, dtype=np.float64)))
    for name, sd in zip(variability.eta_columns, sds, strict=True):
        if name in rows.columns:
            signs = rng.choice([-3.0, 3.0], size=len(rows))
            rows.loc[1::2, name] = (signs * sd)[1::2]


def _schema_rows(schema: Any, pool: pd.DataFrame, n: int, rng: np.random.Generator,
                 variability: Any) -> pd.DataFrame:
    """``n`` rows: schema columns at their bounds (combinations), the rest from ``pool``."""
    rows = pool.iloc[np.arange(n) % len(pool)].reset_index(drop=True).copy()
    if variability is not None:
        _extreme_etas(rows, variability, rng)
    numeric = [name for name, rule in schema.columns.items() if rule.allowed is None]
    masks = rng.permutation(2 ** len(numeric)) if len(numeric) <= 16 else None
    for j in range(n):
        mask = int(masks[j % masks.size]) if masks is not None else int(rng.integers(2**62))
        for bit, name in enumerate(numeric):
            rule = schema.columns[name]
            rows.loc[j, name] = rule.high if mask >> bit & 1 else rule.low
    for name, rule in schema.columns.items():
        if rule.allowed is not None:
            blocks = [rng.permutation(len(rule.allowed)) for _ in range(n // len(rule.allowed) + 1)]
            order = np.concatenate(blocks)[:n]
            rows[name] = [rule.allowed[k] for k in order]
    return rows.drop(columns=[c for c in ("bsa_m2",) if c in rows.columns])


def _pool_rows(pool: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` most extreme rows of ``pool``: each column's min and max, then largest |z|."""
    numeric = pool.select_dtypes("number").drop(columns=["id"], errors="ignore")
    picked: list[int] = []
    for name in numeric.columns:
        picked += [int(numeric[name].to_numpy().argmin()), int(numeric[name].to_numpy().argmax())]
    values = numeric.to_numpy(dtype=np.float64)
    spread = np.where(values.std(axis=0) > 0, values.std(axis=0), 1.0)
    z = np.abs(values - np.median(values, axis=0)) / spread
    picked += [int(k) for k in np.argsort(-z.max(axis=1), kind="stable")]
    unique = list(dict.fromkeys(picked))[:n]
    return pool.iloc[unique].reset_index(drop=True)


def extreme_patients(env_id: str, n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` extreme pinnable rows of ``env_id`` (see the module docstring), ids 0..n-1.

    Examples:
        >>> rows = extreme_patients("pkgym/Chemotherapy-v0", 4)
        >>> sorted(set(rows["aag_g_per_l"])) <= [0.1, 5.0], rows["id"].tolist()
        (True, [0, 1, 2, 3])
    """
    import gymnasium as gym

    import pkgym  # noqa: F401  (registers the envs)
    from pkgym.envs.registry import env_spec
    from pkgym.evaluation.cohorts import env_cohort

    spec = env_spec(env_id)
    settings = gym.make(env_id).unwrapped.core.settings  # type: ignore[attr-defined]
    rng = np.random.default_rng(seed)
    if spec.cohort_schema is not None:
        variability = getattr(getattr(settings, "model", None), "variability", None)
        rows = _schema_rows(spec.cohort_schema, env_cohort(settings, min(n, 1000), seed), n, rng,
                            variability)
    else:
        rows = _pool_rows(env_cohort(settings, max(20 * n, 1000), seed), n)
    rows["id"] = np.arange(len(rows))
    return rows


def _actions(space: Any, dosing: str, n: int) -> Any:
    """A batch of ``n`` actions of one dosing (``space``: the single action space)."""
    from gymnasium import spaces

    if dosing == "random":
        return np.stack([space.sample() for _ in range(n)])
    high = dosing == "max"
    if isinstance(space, spaces.Discrete):
        return np.full(n, space.start + (space.n - 1 if high else 0), dtype=np.int64)
    if isinstance(space, spaces.MultiDiscrete):
        return np.tile(space.nvec - 1 if high else np.zeros_like(space.nvec), (n, 1))
    if isinstance(space, spaces.Box):
        return np.tile(space.high if high else space.low, (n, 1))
    raise TypeError(f"no {dosing} dosing for action space {space}")


def _check(counts: SweepCounts, space: Any, obs: dict[str, np.ndarray], arrays: dict[str, Any],
           active: np.ndarray, ids: np.ndarray) -> None:
    """Count non-finite values and out-of-space observations of the ``active`` slots."""
    for key, value in {**{f"obs.{k}": v for k, v in obs.items()}, **arrays}.items():
        array = np.asarray(value)
        if array.dtype.kind != "f" or array.ndim == 0 or array.shape[0] != active.size:
            continue
        bad = ~np.isfinite(array[active]).reshape(int(active.sum()), -1).all(axis=1)
        if bad.any():
            counts.non_finite += int(bad.sum())
            counts.note(f"non-finite {key}: patients {ids[active][bad][:5].tolist()}")
    for key, sub in space.spaces.items():
        array = np.asarray(obs[key])[active]
        low, high = np.broadcast_to(sub.low, array.shape), np.broadcast_to(sub.high, array.shape)
        outside = ((array < low) | (array > high)).reshape(array.shape[0], -1)
        if outside.any():
            bad = outside.any(axis=1)
            counts.out_of_space += int(bad.sum())
            counts.note(f"obs.{key} outside [{sub.low.min()}, {sub.high.max()}]: max "
                        f"{np.nanmax(array):.4g}, min {np.nanmin(array):.4g}, patients "
                        f"{ids[active][bad][:5].tolist()}")


def accepted(env_id: str, rows: pd.DataFrame, counts: SweepCounts) -> pd.DataFrame:
    """The rows the env's own pinning accepts; the others counted as refused (with why).

    A refusal is a validation error naming the patient (e.g. a docetaxel patient whose BSA
    from the schema's height and weight is beyond the PK model's range), not a failure.
    """
    import gymnasium as gym

    core = gym.make(env_id).unwrapped.core  # type: ignore[attr-defined]
    keep = []
    for _, row in rows.iterrows():
        try:
            core.pin_patient(row)
            keep.append(True)
        except ValueError as error:
            keep.append(False)
            counts.refused += 1
            counts.note(f"refused at pinning: {str(error)[:160]}")
    return rows[np.array(keep, dtype=bool)].reset_index(drop=True)


def run_batch(env_id: str, rows: pd.DataFrame, dosing: str, seed: int = 0) -> SweepCounts:
    """One full episode of each pinned row under one dosing, counted (see the module).

    ``rows`` must be rows the env accepts (:func:`accepted`): a refused row fails the reset.
    """
    import gymnasium as gym

    import pkgym  # noqa: F401  (registers the envs)

    counts, n = SweepCounts(patients=len(rows)), len(rows)
    ids = rows["id"].to_numpy()
    env = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point")
    env.action_space.seed(seed)
    space = env.single_observation_space  # type: ignore[attr-defined]
    try:
        obs, info = env.reset(seed=seed, options={"patients": rows})
        active = np.ones(n, dtype=bool)
        _check(counts, space, obs, info, active, ids)
        while active.any():
            obs, reward, terminated, truncated, info = env.step(
                _actions(env.single_action_space, dosing, n))  # type: ignore[attr-defined]
            counts.patient_steps += int(active.sum())
            _check(counts, space, obs, {"reward": reward, **info}, active, ids)
            active &= ~(terminated | truncated)
    except Exception as error:  # noqa: BLE001 - counted and reported, the sweep goes on
        counts.exceptions += 1
        counts.note(f"{type(error).__name__} ({dosing}): {str(error)[:300]}")
    finally:
        env.close()
    return counts


def sweep_env(env_id: str, n: int, batch: int = 256, seed: int = 0,
              dosings: Sequence[str] = DOSINGS) -> SweepCounts:
    """``n`` extreme patients of ``env_id`` under every dosing, in batches of ``batch``.

    ``patients`` counts patient episodes (accepted patients times dosings); ``refused``
    counts patients, once.
    """
    total = SweepCounts()
    rows = accepted(env_id, extreme_patients(env_id, n, seed), total)
    for dosing, start in itertools.product(dosings, range(0, len(rows), batch)):
        part = rows.iloc[start:start + batch].reset_index(drop=True)
        total.add(run_batch(env_id, part, dosing, seed + start))
    return total


def main(argv: list[str] | None = None) -> int:
    """Run the sweep and print one line per env (and its messages); 1 if anything failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-patients", type=int, default=200, help="extreme patients per env")
    parser.add_argument("--batch", type=int, default=256, help="patients per vector env")
    parser.add_argument("--env", action="append", help="env id (repeatable; default: all)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import pkgym  # noqa: F401  (registers the envs)
    from pkgym.envs.registry import env_specs

    env_ids = args.env or [spec.env_id for spec in env_specs()]
    failed, steps, start = False, 0, time.perf_counter()
    print(f"{'env':26s} {'patients':>8s} {'refused':>7s} {'pt-steps':>9s} {'exc':>4s} "
          f"{'nonfin':>7s} {'outside':>7s} {'s':>6s}")
    for env_id in env_ids:
        began = time.perf_counter()
        counts = sweep_env(env_id, args.n_patients, args.batch, args.seed)
        steps += counts.patient_steps
        failed |= bool(counts.exceptions or counts.non_finite or counts.out_of_space)
        print(f"{env_id:26s} {counts.patients:8d} {counts.refused:7d} {counts.patient_steps:9d} "
              f"{counts.exceptions:4d} {counts.non_finite:7d} {counts.out_of_space:7d} "
              f"{time.perf_counter() - began:6.1f}", flush=True)
        for message in counts.messages:
            print(f"    {message}")
    print(f"patient-steps run: {steps} in {time.perf_counter() - start:.0f} s")
    return int(failed)


if __name__ == "__main__":
    raise SystemExit(main())
