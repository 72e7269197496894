"""The tables, leaderboard and plot of ``pkgym benchmark`` (see :mod:`agents.benchmark.driver`).

Input: per env, one row per (policy, patient) with columns ``id``, ``policy``, ``kind``
(``"algorithm"`` or ``"baseline"``), ``seed`` (-1 for baselines), ``return`` and the env's
clinical score. Per-run means carry percentile-bootstrap intervals over patients; an
algorithm's mean over seeds carries one over seeds; the leaderboard's IQM one over runs,
stratified by env (:mod:`agents.benchmark.leaderboard`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from agents.benchmark.leaderboard import (
    LEADERBOARD_COLUMNS,
    aggregate_scores,
    leaderboard_markdown,
    plot_performance_profiles,
    profile_band,
    profile_thresholds,
)
from pkgym.evaluation.bootstrap import bootstrap_ci, normalised_scores, performance_profile
from pkgym.io import write_atomic, write_table, write_text

if TYPE_CHECKING:
    from agents.benchmark.runner import BenchmarkConfig, EnvReference

RUN_COLUMNS = ("env", "policy", "kind", "seed", "n_patients", "return", "return_low",
               "return_high", "clinical_score", "clinical", "clinical_low", "clinical_high",
               "normalised_score")


def mean_interval(values: np.ndarray, *, reps: int, rng: np.random.Generator) -> tuple[
        float, float, float]:
    """Mean of the non-NaN values with its 95% percentile-bootstrap interval (NaN if none).

    Examples:
        >>> mean_interval(np.array([1.0, np.nan, 1.0]), reps=10, rng=np.random.default_rng(0))
        (1.0, 1.0, 1.0)
    """
    kept = np.asarray(values, dtype=float)
    kept = kept[~np.isnan(kept)]
    if kept.size == 0:
        return (float("nan"),) * 3
    return bootstrap_ci(kept, np.mean, reps=reps, rng=rng)


def run_summary(results: pd.DataFrame, env_id: str, reference: EnvReference, *, reps: int,
                rng: np.random.Generator) -> pd.DataFrame:
    """One row per run (policy, seed) of one env: means, intervals and normalised score.

    Examples:
        >>> from agents.benchmark.runner import EnvReference
        >>> rows = pd.DataFrame({"id": [0, 1] * 3, "policy": ["label"] * 2 + ["oracle"] * 2
        ...     + ["ppo"] * 2, "kind": ["baseline"] * 4 + ["algorithm"] * 2,
        ...     "seed": [-1] * 4 + [0] * 2, "return": [0.0, 2.0, 4.0, 6.0, 2.0, 4.0],
        ...     "ttr": [0.1, 0.3, 0.9, 0.9, 0.5, 0.5]})
        >>> runs = run_summary(rows, "env", EnvReference("label", "oracle", "ttr"), reps=10,
        ...                    rng=np.random.default_rng(0))
        >>> runs[["policy", "return", "normalised_score"]].to_dict("list")
        {'policy': ['label', 'oracle', 'ppo'], 'return': [1.0, 5.0, 3.0], 'normalised_score': [0.0, 1.0, 0.5]}
    """  # noqa: E501
    rows = []
    for (policy, kind, seed), group in results.groupby(["policy", "kind", "seed"], sort=False):
        ret = mean_interval(group["return"].to_numpy(), reps=reps, rng=rng)
        clinical = mean_interval(group[reference.clinical_score].to_numpy(), reps=reps, rng=rng)
        rows.append([env_id, policy, kind, int(seed), len(group), *ret,
                     reference.clinical_score, *clinical, np.nan])
    runs = pd.DataFrame(rows, columns=list(RUN_COLUMNS))
    returns = runs.set_index("policy")["return"]
    for name in (reference.label, reference.oracle):
        if name not in returns.index:
            raise ValueError(f"{env_id}: the results lack the reference baseline {name!r}")
    runs["normalised_score"] = normalised_scores(runs["return"].to_numpy(),
                                                 returns[reference.label],
                                                 returns[reference.oracle])
    return runs


def algorithm_scores(runs: pd.DataFrame, env_ids: tuple[str, ...],
                     seeds: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Each algorithm's normalised scores with axes ``(n_runs=seeds, n_tasks=envs)``.

    Examples:
        >>> runs = pd.DataFrame({"env": ["a", "a", "b", "b"], "policy": "ppo",
        ...     "kind": "algorithm", "seed": [0, 1, 0, 1], "normalised_score": [1., 2., 3., 4.]})
        >>> algorithm_scores(runs, ("a", "b"), (0, 1))["ppo"].tolist()
        [[1.0, 3.0], [2.0, 4.0]]
    """
    algos = runs[runs["kind"] == "algorithm"]
    out = {}
    for name, group in algos.groupby("policy", sort=False):
        grid = group.pivot_table(index="seed", columns="env", values="normalised_score")
        out[str(name)] = grid.reindex(index=list(seeds), columns=list(env_ids)).to_numpy()
    return out


def baseline_scores(runs: pd.DataFrame, references: Mapping[str, EnvReference], *,
                    drop_references: bool = False) -> dict[str, np.ndarray]:
    """Each baseline's normalised scores, ``(1, n_envs where it ran)``.

    Examples:
        >>> from agents.benchmark.runner import EnvReference
        >>> runs = pd.DataFrame({"env": ["a", "a", "a"], "policy": ["label", "map", "oracle"],
        ...     "kind": "baseline", "normalised_score": [0.0, 0.4, 1.0]})
        >>> refs = {"a": EnvReference("label", "oracle", "x")}
        >>> {k: v.tolist() for k, v in baseline_scores(runs, refs, drop_references=True).items()}
        {'map': [[0.4]]}
    """
    rows = runs[runs["kind"] == "baseline"]
    if drop_references:
        is_reference = [p in (references[e].label, references[e].oracle)
                        for e, p in zip(rows["env"], rows["policy"], strict=True)]
        rows = rows[~np.asarray(is_reference, dtype=bool)]
    return {str(name): group["normalised_score"].to_numpy()[None, :]
            for name, group in rows.groupby("policy", sort=False)}


def leaderboard(runs: pd.DataFrame, config: BenchmarkConfig,
                references: Mapping[str, EnvReference], rng: np.random.Generator
                ) -> pd.DataFrame:
    """Algorithms then baselines: IQM [CI], mean, median; per env mean return and clinical.

    Examples:
        >>> from types import SimpleNamespace
        >>> from agents.benchmark.runner import EnvReference
        >>> runs = pd.DataFrame({"env": "pkgym/A-v0", "policy": ["label", "oracle", "ppo"],
        ...     "kind": ["baseline", "baseline", "algorithm"], "seed": [-1, -1, 0],
        ...     "return": [1.0, 5.0, 4.0], "clinical": [0.2, 0.9, 0.7],
        ...     "normalised_score": [0.0, 1.0, 0.75]})
        >>> config = SimpleNamespace(env_ids=("pkgym/A-v0",), seeds=(0,), reps=10)
        >>> board = leaderboard(runs, config, {"pkgym/A-v0": EnvReference("label", "oracle",
        ...                     "ttr")}, np.random.default_rng(0))
        >>> board[["policy", "kind", "iqm", "A-v0 ttr"]].to_dict("records")[0]
        {'policy': 'ppo', 'kind': 'algorithm', 'iqm': 0.75, 'A-v0 ttr': 0.7}
    """
    table = pd.concat([
        aggregate_scores(algorithm_scores(runs, config.env_ids, config.seeds), reps=config.reps,
                         rng=rng),
        aggregate_scores(baseline_scores(runs, references), reps=config.reps, rng=rng,
                         kind="baseline")], ignore_index=True)
    for env_id in config.env_ids:
        means = runs[runs["env"] == env_id].groupby("policy")[["return", "clinical"]].mean()
        slug = env_id.rsplit("/", 1)[-1]
        table[f"{slug} return"] = table["policy"].map(means["return"])
        table[f"{slug} {references[env_id].clinical_score}"] = table["policy"].map(
            means["clinical"])
    return table


def env_table(runs: pd.DataFrame, *, reps: int, rng: np.random.Generator) -> pd.DataFrame:
    """One env's rows: per algorithm its mean over seeds, then each seed; then baselines.

    Examples:
        >>> runs = pd.DataFrame({"env": "e", "policy": ["ppo", "ppo", "label"],
        ...     "kind": ["algorithm", "algorithm", "baseline"], "seed": [0, 1, -1],
        ...     "n_patients": 5, "return": [1.0, 3.0, 0.0], "return_low": 0.0,
        ...     "return_high": 4.0, "clinical_score": "ttr", "clinical": [0.5, 0.7, 0.1],
        ...     "clinical_low": 0.0, "clinical_high": 1.0, "normalised_score": [0.1, 0.3, 0.0]})
        >>> table = env_table(runs, reps=10, rng=np.random.default_rng(0))
        >>> table[["policy", "seed", "return"]].values.tolist()
        [['ppo', 'mean', 2.0], ['ppo', '0', 1.0], ['ppo', '1', 3.0], ['label', '', 0.0]]
    """
    rows = []
    for _, group in runs[runs["kind"] == "algorithm"].groupby("policy", sort=False):
        mean_row = group.iloc[0].copy()
        for column in ("return", "clinical", "normalised_score"):
            point, low, high = mean_interval(group[column].to_numpy(), reps=reps, rng=rng)
            mean_row[column] = point
            if column != "normalised_score":
                mean_row[f"{column}_low"], mean_row[f"{column}_high"] = low, high
        mean_row["seed"], mean_row["n_patients"] = "mean", group["n_patients"].iloc[0]
        rows += [mean_row, *(r for _, r in group.assign(seed=group["seed"].astype(str))
                             .iterrows())]
    baselines = runs[runs["kind"] == "baseline"].assign(seed="")
    rows += [r for _, r in baselines.iterrows()]
    return pd.DataFrame(rows, columns=list(RUN_COLUMNS)).reset_index(drop=True)


def env_markdown(table: pd.DataFrame, env_id: str, reference: EnvReference) -> str:
    """The per-env table in Markdown.

    Examples:
        >>> from agents.benchmark.runner import EnvReference
        >>> table = pd.DataFrame({"policy": ["label"], "kind": "baseline", "seed": "",
        ...     "n_patients": 5, "return": 1.0, "return_low": 0.5, "return_high": 1.5,
        ...     "clinical": 0.2, "clinical_low": 0.1, "clinical_high": 0.3,
        ...     "normalised_score": 0.0})
        >>> text = env_markdown(table, "pkgym/A-v0", EnvReference("label", "oracle", "ttr"))
        >>> print(text.splitlines()[-1])
        | label | baseline |  | 1.000 [0.500, 1.500] | 0.200 [0.100, 0.300] | 0.000 |
    """
    n_patients = int(table["n_patients"].iloc[0])
    head = (f"# {env_id}\n\nHeld-out cohort of {n_patients} patients. Mean [95% bootstrap CI] "
            f"over patients (algorithm 'mean' rows: over seeds). Normalised score: 0 = "
            f"{reference.label}, 1 = {reference.oracle} (reads the true patient).\n\n"
            f"| policy | kind | seed | return | {reference.clinical_score} | normalised |\n"
            "|---|---|---|---|---|---|\n")
    lines = [f"| {r['policy']} | {r['kind']} | {r['seed']} | "
             f"{r['return']:.3f} [{r['return_low']:.3f}, {r['return_high']:.3f}] | "
             f"{r['clinical']:.3f} [{r['clinical_low']:.3f}, {r['clinical_high']:.3f}] | "
             f"{r['normalised_score']:.3f} |" for _, r in table.iterrows()]
    return head + "\n".join(lines) + "\n"


def write_outputs(results: Mapping[str, pd.DataFrame], config: BenchmarkConfig,
                  references: Mapping[str, EnvReference]) -> list[Path]:
    """Write runs.csv, the per-env tables, the leaderboard and the performance profiles.

    Args:
        results: per env, one row per (policy, patient) (see the module docstring).
        config: the benchmark's settings (envs, seeds, output directory, ``reps``).
        references: each env's label and oracle references and clinical score.

    Returns:
        The paths written.

    Examples:
        >>> import tempfile
        >>> from types import SimpleNamespace
        >>> from agents.benchmark.runner import EnvReference
        >>> rows = pd.DataFrame({"id": [0, 1] * 3, "policy": ["label"] * 2 + ["oracle"] * 2
        ...     + ["ppo"] * 2, "kind": ["baseline"] * 4 + ["algorithm"] * 2,
        ...     "seed": [-1] * 4 + [0] * 2, "return": [0.0, 2.0, 4.0, 6.0, 2.0, 4.0],
        ...     "ttr": [0.1, 0.3, 0.9, 0.9, 0.5, 0.5]})
        >>> config = SimpleNamespace(env_ids=("pkgym/A-v0",), seeds=(0,), reps=10, eval_seed=0,
        ...     out_dir=tempfile.mkdtemp(), timesteps=64, n_patients=2)
        >>> paths = write_outputs({"pkgym/A-v0": rows}, config,
        ...                       {"pkgym/A-v0": EnvReference("label", "oracle", "ttr")})
        >>> [p.name for p in paths]
        ['runs.csv', 'A-v0.csv', 'A-v0.md', 'leaderboard.csv', 'leaderboard.md', 'performance_profile.png']
    """  # noqa: E501
    out, rng = Path(config.out_dir), np.random.default_rng(config.eval_seed)
    runs = pd.concat([run_summary(results[e], e, references[e], reps=config.reps, rng=rng)
                      for e in config.env_ids], ignore_index=True)
    written = [write_table(runs, out / "runs.csv")]
    for env_id in config.env_ids:
        table = env_table(runs[runs["env"] == env_id], reps=config.reps, rng=rng)
        slug = env_id.rsplit("/", 1)[-1]
        written.append(write_table(table, out / f"{slug}.csv"))
        written.append(write_text(env_markdown(table, env_id, references[env_id]),
                                  out / f"{slug}.md"))
    board = leaderboard(runs, config, references, rng)
    extra = tuple(c for c in board.columns if c not in LEADERBOARD_COLUMNS)
    written.append(write_table(board, out / "leaderboard.csv"))
    written.append(write_text(_leaderboard_text(board, config, references, extra),
                              out / "leaderboard.md"))
    written.append(_write_profiles(runs, config, references, rng, out / "performance_profile.png"))
    return written


def _leaderboard_text(board: pd.DataFrame, config: BenchmarkConfig,
                      references: Mapping[str, EnvReference], extra: tuple[str, ...]) -> str:
    refs = "; ".join(f"{e.rsplit('/', 1)[-1]}: 0 = {r.label}, 1 = {r.oracle}"
                     for e, r in references.items())
    return (f"# pkgym benchmark leaderboard\n\n{len(config.seeds)} seed(s) x "
            f"{len(config.env_ids)} env(s), {config.timesteps} training timesteps per run, "
            f"{config.n_patients} held-out patients per env (evaluation seed "
            f"{config.eval_seed}). Score: mean episode return, normalised per env ({refs}). "
            "IQM = interquartile mean over runs x envs with its 95% stratified-bootstrap "
            "interval (runs resampled within each env); baselines run once per env (no "
            "interval). Per-env columns: means over seeds.\n\n"
            + leaderboard_markdown(board, extra))


def _write_profiles(runs: pd.DataFrame, config: BenchmarkConfig,
                    references: Mapping[str, EnvReference], rng: np.random.Generator,
                    path: Path) -> Path:
    algos = algorithm_scores(runs, config.env_ids, config.seeds)
    baselines = baseline_scores(runs, references, drop_references=True)
    tau = profile_thresholds({**algos, **baselines})
    bands = {name: profile_band(s, tau, reps=min(config.reps, 1000), rng=rng)
             for name, s in algos.items()}
    fig = plot_performance_profiles(bands, tau, {name: performance_profile(s, tau)
                                                 for name, s in baselines.items()})
    return write_atomic(path, lambda tmp: fig.savefig(tmp, format="png"))
