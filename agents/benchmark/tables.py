# lines: the benchmark's tables, leaderboard and profile share one normalisation; split only with it
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
STATUS_COLUMNS = ("timesteps", "status", "error", "wall_time_s")
"""Columns ``runs.csv`` adds to :data:`RUN_COLUMNS`: the training budget (0 for baselines),
``ok`` / ``failed`` / ``unsupported``, the one-line error, the run's wall time (s)."""
RUN_KEY = ("env", "policy", "seed", "timesteps")
"""The key of a ``runs.csv`` row: a rerun's row replaces the earlier row with the same key."""


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


def complete_scores(runs: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each algorithm's ``(n_runs, n_tasks)`` scores over the envs where all its seeds scored.

    An env where one of the algorithm's runs failed (or was not run for every seed the
    algorithm has) leaves the aggregate, so the array stays rectangular as rliable's
    estimators need; the leaderboard counts the failed runs beside it. An algorithm with no
    such env is absent.

    Examples:
        >>> runs = pd.DataFrame({"env": ["a", "a", "b", "b"], "policy": "ppo",
        ...     "kind": "algorithm", "seed": [0, 1, 0, 1], "status": ["ok"] * 3 + ["failed"],
        ...     "normalised_score": [1., 2., 3., np.nan]})
        >>> complete_scores(runs)["ppo"].tolist()
        [[1.0], [2.0]]
    """
    algos = runs[(runs["kind"] == "algorithm")]
    out = {}
    for name, group in algos.groupby("policy", sort=False):
        envs = list(dict.fromkeys(group["env"]))
        seeds = sorted(set(group["seed"].astype(int)))
        grid = group.pivot_table(index="seed", columns="env", values="normalised_score",
                                 dropna=False).reindex(index=seeds, columns=envs)
        grid = grid.loc[:, grid.notna().all(axis=0)]
        if grid.shape[1] > 0:
            out[str(name)] = grid.to_numpy(dtype=float)
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

    The envs and seeds are those of ``runs`` (all rows of a merged ``runs.csv``); each
    algorithm's IQM covers the envs where all its runs scored (:func:`complete_scores`), and
    ``failed`` counts its runs that did not (failed or unsupported).

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
    runs = _with_status(runs)
    algos = complete_scores(runs)
    parts = [aggregate_scores(algos, reps=config.reps, rng=rng)] if algos else []
    lost = [str(p) for p in dict.fromkeys(runs.loc[runs["kind"] == "algorithm", "policy"])
            if str(p) not in algos]
    if lost:  # every run failed: a row without scores
        parts.append(pd.DataFrame({"policy": lost, "kind": "algorithm", "n_runs": 0,
                                   "n_tasks": 0}, columns=list(LEADERBOARD_COLUMNS)))
    ok = runs[runs["status"] == "ok"]
    parts.append(aggregate_scores(baseline_scores(ok, references), reps=config.reps, rng=rng,
                                  kind="baseline"))
    table = pd.concat(parts, ignore_index=True)
    not_ok = runs[(runs["kind"] == "algorithm") & (runs["status"] != "ok")]
    table.insert(len(LEADERBOARD_COLUMNS), "failed",
                 table["policy"].map(not_ok.groupby("policy").size()).fillna(0).astype(int))
    for env_id in dict.fromkeys(runs["env"]):
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


def _with_status(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with the :data:`STATUS_COLUMNS` (rows without them: finished, ``ok``)."""
    runs = runs.copy()
    defaults: dict[str, object] = {"timesteps": 0, "status": "ok", "error": "",
                                   "wall_time_s": np.nan}
    for column, value in defaults.items():
        if column not in runs.columns:
            runs[column] = value
        else:
            runs[column] = (runs[column].astype(object).fillna(value) if column == "error"
                            else runs[column].fillna(value))
    return runs


def status_rows(statuses: Mapping[tuple[str, str, int], Mapping[str, object]],
                references: Mapping[str, EnvReference], timesteps: int) -> pd.DataFrame:
    """The ``runs.csv`` rows of runs that did not finish: status and error, no scores.

    Examples:
        >>> from agents.benchmark.runner import EnvReference
        >>> rows = status_rows({("e", "sac", 0): {"status": "failed", "error": "E: x",
        ...     "wall_time_s": 2.0}}, {"e": EnvReference("l", "o", "ttr")}, 64)
        >>> rows[["policy", "seed", "status", "error", "normalised_score"]].values.tolist()
        [['sac', 0, 'failed', 'E: x', nan]]
    """
    rows = [{"env": env, "policy": algo, "kind": "algorithm", "seed": int(seed),
             "n_patients": 0, "clinical_score": references[env].clinical_score,
             "timesteps": int(timesteps), **dict(status)}
            for (env, algo, seed), status in statuses.items() if status["status"] != "ok"]
    columns = list(RUN_COLUMNS + STATUS_COLUMNS)
    return pd.DataFrame(rows, columns=columns).astype({"normalised_score": float})


def merge_runs(previous: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    """``previous`` rows (an earlier ``runs.csv``) updated by ``new`` on :data:`RUN_KEY`.

    Rows of ``new`` replace the previous rows with the same key; the others stay, so a rerun
    with other envs or algorithms adds to the table. Envs keep their first appearance's order.

    Examples:
        >>> old = pd.DataFrame({"env": ["a", "a"], "policy": ["ppo", "a2c"], "seed": 0,
        ...                     "timesteps": 64, "return": [1.0, 2.0]})
        >>> new = pd.DataFrame({"env": ["a", "b"], "policy": ["ppo", "ppo"], "seed": 0,
        ...                     "timesteps": 64, "return": [5.0, 7.0]})
        >>> merge_runs(old, new)[["env", "policy", "return"]].values.tolist()
        [['a', 'a2c', 2.0], ['a', 'ppo', 5.0], ['b', 'ppo', 7.0]]
    """
    if previous is None or previous.empty:
        return new.reset_index(drop=True)
    previous = _with_status(previous)
    new = _with_status(new)

    def keys(frame: pd.DataFrame) -> pd.Series:
        return frame[list(RUN_KEY)].astype(str).agg("|".join, axis=1)

    kept = previous[~keys(previous).isin(set(keys(new)))]
    merged = pd.concat([kept, new], ignore_index=True)
    order = {env: i for i, env in enumerate(dict.fromkeys(merged["env"]))}
    rank = merged["env"].map(order)
    return merged.iloc[np.argsort(rank.to_numpy(), kind="stable")].reset_index(drop=True)


def write_outputs(results: Mapping[str, pd.DataFrame], config: BenchmarkConfig,
                  references: Mapping[str, EnvReference],
                  statuses: Mapping[tuple[str, str, int], Mapping[str, object]] | None = None
                  ) -> list[Path]:
    """Write runs.csv (merged), the per-env tables, the leaderboard and the profiles.

    ``runs.csv`` already in ``config.out_dir`` (an earlier invocation, perhaps with other
    envs or algorithms) is merged with this one's rows (:func:`merge_runs`); the leaderboard
    and profiles cover every row of the merged table, the per-env tables this run's envs.

    Args:
        results: per env, one row per (policy, patient) (see the module docstring).
        config: the benchmark's settings (envs, seeds, output directory, ``reps``).
        references: the label and oracle references and clinical score of each env in the
            merged table (at least ``config.env_ids``).
        statuses: each run's ``status.json`` by (env, algorithm, seed); runs not ``ok`` get
            a row without scores. None: every run finished.

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
    statuses = dict(statuses or {})
    runs["timesteps"] = np.where(runs["kind"] == "algorithm", int(config.timesteps), 0)
    runs["status"], runs["error"] = "ok", ""
    runs["wall_time_s"] = [
        float(statuses.get((e, p, int(s)), {}).get("wall_time_s", np.nan))  # type: ignore[arg-type]
        if k == "algorithm" else np.nan
        for e, p, k, s in zip(runs["env"], runs["policy"], runs["kind"], runs["seed"],
                              strict=True)]
    failed = status_rows(statuses, references, config.timesteps)
    runs = pd.concat([runs, failed], ignore_index=True) if len(failed) else runs
    previous = pd.read_csv(out / "runs.csv", keep_default_na=False,
                           na_values=[""]) if (out / "runs.csv").exists() else None
    runs = merge_runs(previous, runs)
    runs["error"] = runs["error"].fillna("")
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
    written.append(write_text(_leaderboard_text(board, runs, config, references, extra),
                              out / "leaderboard.md"))
    written.append(_write_profiles(runs, config, references, rng, out / "performance_profile.png"))
    return written


def _leaderboard_text(board: pd.DataFrame, runs: pd.DataFrame, config: BenchmarkConfig,
                      references: Mapping[str, EnvReference], extra: tuple[str, ...]) -> str:
    envs = list(dict.fromkeys(runs["env"]))
    algo_rows = runs[runs["kind"] == "algorithm"]
    seeds = sorted(set(algo_rows["seed"].astype(int)))
    budgets = sorted(set(algo_rows["timesteps"].astype(int)))
    refs = "; ".join(f"{e.rsplit('/', 1)[-1]}: 0 = {references[e].label}, 1 = "
                     f"{references[e].oracle}" for e in envs)
    anchors = (" ChemoImmune-v0 has no oracle policy: its anchors are computed on the same "
               "patients (0 = no drug, 1 = each patient's best constant regimen over the dose "
               "grid, in hindsight; agents.policies.chemo_immune.anchor)."
               if "pkgym/ChemoImmune-v0" in envs else "")
    return (f"# pkgym benchmark leaderboard\n\n{len(seeds)} seed(s) x "
            f"{len(envs)} env(s), {', '.join(map(str, budgets))} training timesteps per run, "
            f"{config.n_patients} held-out patients per env (evaluation seed "
            f"{config.eval_seed}). Score: mean episode return, normalised per env ({refs})."
            f"{anchors} IQM = interquartile mean over runs x envs with its 95% "
            "stratified-bootstrap interval (runs resampled within each env); median = median "
            "over envs of the per-env mean score (rliable's aggregate_median); an algorithm's "
            "aggregates cover the envs where all its runs finished; 'failed' counts its runs "
            "that failed or were unsupported (runs.csv has the error). Baselines run once per "
            "env (no interval). Per-env columns: means over seeds ('failed': no run of the "
            "algorithm finished on that env).\n\n"
            + leaderboard_markdown(_failed_cells(board, runs, references), extra))


def _failed_cells(board: pd.DataFrame, runs: pd.DataFrame,
                  references: Mapping[str, EnvReference]) -> pd.DataFrame:
    """``board`` for display: a per-env cell of an algorithm with no finished run: 'failed'."""
    shown = board.copy()
    algo_rows = runs[runs["kind"] == "algorithm"]
    for (env, policy), group in algo_rows.groupby(["env", "policy"], sort=False):
        if (group["status"] != "ok").all():
            slug = str(env).rsplit("/", 1)[-1]
            for column in (f"{slug} return", f"{slug} {references[str(env)].clinical_score}"):
                if column in shown.columns:
                    shown[column] = shown[column].astype(object)
                    shown.loc[shown["policy"] == policy, column] = "failed"
    return shown


def _write_profiles(runs: pd.DataFrame, config: BenchmarkConfig,
                    references: Mapping[str, EnvReference], rng: np.random.Generator,
                    path: Path) -> Path:
    algos = complete_scores(runs)
    baselines = baseline_scores(runs[runs["status"] == "ok"], references, drop_references=True)
    tau = profile_thresholds({**algos, **baselines})
    bands = {name: profile_band(s, tau, reps=min(config.reps, 1000), rng=rng)
             for name, s in algos.items()}
    fig = plot_performance_profiles(bands, tau, {name: performance_profile(s, tau)
                                                 for name, s in baselines.items()})
    return write_atomic(path, lambda tmp: fig.savefig(tmp, format="png"))
