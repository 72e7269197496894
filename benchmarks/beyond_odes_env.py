"""The env stage of :mod:`benchmarks.beyond_odes`: the trained VAEs dosing whole episodes.

The benchmark's own stages score one visit. This stage runs the project's paired evaluation
harness (:func:`pkgym.scale.evaluation.evaluate_sharded`, what ``pkgym evaluate`` runs) on
``pkgym/Mycophenolate-v0``: every policy meets the same held-out patients (the EVALUATION
cohort at ``seed``) with the same assay noise, over whole episodes (six visits, recovering
covariates). Policies: ``fixed``, ``protocol``, ``map`` (MAP with the true EHC prior),
``map_no_ehc`` (the two-compartment prior without EHC), ``vae`` and ``vae_hybrid`` (the
benchmark's trained models, ``vae:path=OUT/vae`` and ``vae:path=OUT/hybrid``) and ``oracle``,
each built by :func:`agents.policies.registry.make_policy` as ``pkgym evaluate`` builds it.

Reported, with 95 % percentile bootstrap CIs over patients (the harness's estimators,
:func:`pkgym.evaluation.bootstrap.bootstrap_ci` and
:func:`~pkgym.evaluation.bootstrap.paired_difference_ci`, patients resampled jointly):
(1) per policy, the mean share of days with AUC0-12 in 30-60 mg*h/L, daily rejection
probability, share of toxic days (AUC0-12 > 60) and return; (2) the paired differences of
:data:`COMPARISONS` on days in target and return; (3) the fraction of the map_no_ehc -> map gap
in days in target closed by ``vae`` and ``vae_hybrid``; (4) days in target by ciclosporin
(:func:`pkgym.evaluation.subgroups.subgroup_table`, ``--by ciclosporin``).
"""

from __future__ import annotations

import math
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agents.policies.registry import make_policy
from pkgym.commands.evaluate import check_subgroups
from pkgym.evaluation.bootstrap import bootstrap_ci, paired_difference_ci
from pkgym.evaluation.report import summarise
from pkgym.evaluation.subgroups import subgroup_table
from pkgym.scale.evaluation import evaluate_sharded

ENV_ID = "pkgym/Mycophenolate-v0"
SCORES = {"days_in_target_fraction": "days with AUC0-12 in 30-60",
          "mean_rejection_probability": "mean daily rejection probability",
          "toxic_day_fraction": "days with AUC0-12 > 60",
          "return": "return"}
"""The env's per-patient scores reported (column -> label)."""
COMPARISONS = (("vae", "map_no_ehc"), ("vae_hybrid", "map_no_ehc"), ("vae", "map"),
               ("vae_hybrid", "map"), ("map", "map_no_ehc"), ("vae", "protocol"),
               ("vae_hybrid", "vae"))
"""Paired differences reported, (policy, reference): policy - reference."""
PAIRED_SCORES = ("days_in_target_fraction", "return")
REFERENCE = "map_no_ehc"
SUBGROUP = "ciclosporin"
LEVEL_NAMES = {0.0: "tacrolimus (ciclosporin 0: EHC active)",
               1.0: "ciclosporin (1: EHC abolished)"}
"""Names of the ciclosporin levels (the subgroup table holds them as text, ``"0.0"``)."""


def policy_specs(model_dir: str | Path) -> list[str]:
    """The policy specs, in table order, with the VAEs saved under ``model_dir``.

    Examples:
        >>> policy_specs("BO")[4:6]
        ['vae:path=BO/vae', 'vae:path=BO/hybrid']
    """
    model_dir = Path(model_dir)
    return ["fixed", "protocol", "map", "map_no_ehc", f"vae:path={model_dir / 'vae'}",
            f"vae:path={model_dir / 'hybrid'}", "oracle"]


def _per_policy(results: pd.DataFrame, column: str) -> dict[str, np.ndarray]:
    """Each policy's scores in ``column``, patients in id order (paired across policies)."""
    return {name: group.sort_values("id")[column].to_numpy(np.float64)
            for name, group in results.groupby("policy", sort=False)}


def paired_differences(results: pd.DataFrame, *, reps: int, seed: int
                       ) -> dict[str, dict[str, tuple[float, float, float]]]:
    """Per score, ``"a - b"`` -> (mean difference, low, high), patients resampled jointly."""
    out: dict[str, dict[str, tuple[float, float, float]]] = {}
    for column in PAIRED_SCORES:
        scores = _per_policy(results, column)
        out[column] = {}
        for policy, reference in COMPARISONS:
            rng = np.random.default_rng(seed)
            pair = {policy: scores[policy], reference: scores[reference]}
            out[column][f"{policy} - {reference}"] = paired_difference_ci(
                pair, reference, np.mean, reps=reps, rng=rng)[policy]
    return out


def _gap_fraction(columns: np.ndarray) -> float:
    """The share of the gap closed: (method - no_ehc) / (map - no_ehc) of the column means.

    ``columns`` is ``(n_patients, 3)``: map_no_ehc, map, method. NaN where the gap is 0.
    """
    means = columns.mean(axis=0)
    gap = means[1] - means[0]
    return float((means[2] - means[0]) / gap) if gap != 0 else float("nan")


def gap_closed(results: pd.DataFrame, *, reps: int, seed: int
               ) -> dict[str, tuple[float, float, float]]:
    """Share of the map_no_ehc -> map gap in days in target closed by each VAE (paired CI)."""
    scores = _per_policy(results, "days_in_target_fraction")
    return {name: bootstrap_ci(np.column_stack([scores["map_no_ehc"], scores["map"],
                                                scores[name]]),
                               _gap_fraction, reps=reps, rng=np.random.default_rng(seed))
            for name in ("vae", "vae_hybrid")}


def _summary_dict(summary: pd.DataFrame) -> dict[str, dict[str, list[float]]]:
    """Per policy, score -> [mean, low, high] (JSON-able)."""
    return {policy: {score: [float(r["mean"]), float(r["low"]), float(r["high"])]
                     for score, r in group.droplevel("policy").iterrows()}
            for policy, group in summary.groupby(level="policy", sort=False)}


def _by_subgroup(results: pd.DataFrame, *, reps: int, seed: int) -> list[dict[str, Any]]:
    """Days in target by ciclosporin: level, n, policy, mean/CI, difference to map_no_ehc."""
    covariates = check_subgroups(ENV_ID, [SUBGROUP])
    table = subgroup_table(results, [SUBGROUP], covariates, REFERENCE,
                           ["days_in_target_fraction"], seed=seed, reps=reps)
    keep = ["level", "n", "policy", "mean", "low", "high", "difference", "diff_low",
            "diff_high"]
    return [{k: (v if isinstance(v, str) else float(v)) for k, v in row.items()}
            for row in table[keep].to_dict("records")]


def run_env_stage(model_dir: str | Path, out_dir: str | Path, *, n_patients: int, seed: int,
                  reps: int = 2000, progress: bool = False) -> dict[str, Any]:
    """Evaluate every policy on ``n_patients`` EVALUATION-cohort patients; the JSON-able results.

    Args:
        model_dir: the folder holding the trained ``vae`` and ``hybrid`` (the benchmark's OUT).
        out_dir: where the harness writes ``results.parquet`` and its shards.
        n_patients: patients of the evaluation cohort (>= 1).
        seed: cohort seed (evaluation seed space), noise streams and bootstrap.
        reps: bootstrap resamples.
        progress: show the harness's progress bar.
    """
    if n_patients < 1:
        raise ValueError(f"n_patients must be >= 1, got {n_patients}")
    started = time.perf_counter()
    shards = Path(out_dir) / "shards"
    if shards.exists():  # the VAEs were retrained: earlier shards are not this run's
        shutil.rmtree(shards)
    results = evaluate_sharded(policy_specs(model_dir), ENV_ID, seed, out_dir,
                               make_policy=make_policy, n_patients=n_patients,
                               progress=progress)
    evaluated = time.perf_counter() - started
    summary = summarise(results, REFERENCE, SCORES, reps=reps, seed=seed)
    return {"env_id": ENV_ID, "n_patients": n_patients, "seed": seed,
            "policies": list(pd.unique(results["policy"])),
            "summary": _summary_dict(summary),
            "paired": paired_differences(results, reps=reps, seed=seed),
            "gap_closed_days_in_target": gap_closed(results, reps=reps, seed=seed),
            "by_ciclosporin": _by_subgroup(results, reps=reps, seed=seed),
            "timings_s": {"evaluate_s": evaluated,
                          "env_stage_s": time.perf_counter() - started}}


def _ci(x: tuple[float, float, float] | list[float], digits: int = 3, sign: str = "") -> str:
    return f"{x[0]:{sign}.{digits}f} [{x[1]:{sign}.{digits}f}, {x[2]:{sign}.{digits}f}]"


def env_markdown(env: dict[str, Any]) -> str:
    """The env stage's four tables as markdown."""
    lines = [f"Env stage: {env['env_id']}, {env['n_patients']} EVALUATION-cohort patients "
             f"(seed {env['seed']}), whole episodes; mean [95 % bootstrap CI]; "
             f"{env['timings_s']['env_stage_s']:.0f} s.", "",
             "| policy | " + " | ".join(SCORES.values()) + " |",
             "|---|" + "---|" * len(SCORES)]
    lines += [f"| {p} | " + " | ".join(_ci(s[c]) for c in SCORES) + " |"
              for p, s in env["summary"].items()]
    lines += ["", "| paired difference | days in target | return |", "|---|---|---|"]
    paired = env["paired"]
    lines += [f"| {pair} | {_ci(d, sign='+')} | {_ci(paired['return'][pair], sign='+')} |"
              for pair, d in paired["days_in_target_fraction"].items()]
    lines += ["", "| method | fraction of the map_no_ehc -> map gap closed (days in target) |",
              "|---|---|"]
    lines += [f"| {m} | {_ci(g, 2)} |" for m, g in env["gap_closed_days_in_target"].items()]
    lines += ["", "Fraction: (method - map_no_ehc) / (map - map_no_ehc) of the mean share of "
              "days in target" + ("; a nan bound: some resamples had no gap."
                                  if any(math.isnan(x) for g in env["gap_closed_days_in_target"]
                                         .values() for x in g) else ".")]
    rows = env["by_ciclosporin"]
    levels = sorted({r["level"] for r in rows})
    heads = [f"{LEVEL_NAMES.get(float(lv), lv)}, "
             f"n={next(r['n'] for r in rows if r['level'] == lv):.0f}" for lv in levels]
    lines += ["", f"Days in target by ciclosporin; Δ = paired difference to {REFERENCE}.", "",
              "| policy | " + " | ".join(heads) + " |", "|---|" + "---|" * len(levels)]
    for policy in env["policies"]:
        cells = [next(f"{r['mean']:.3f} [{r['low']:.3f}, {r['high']:.3f}]; Δ "
                      f"{r['difference']:+.3f} [{r['diff_low']:+.3f}, {r['diff_high']:+.3f}]"
                      for r in rows if r["level"] == lv and r["policy"] == policy)
                 for lv in levels]
        lines.append(f"| {policy} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
