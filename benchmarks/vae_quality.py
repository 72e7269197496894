"""Quality of the patient VAE on held-out patients, against the Bayesian MAP forecast (issue 8).

``python -m benchmarks.vae_quality [--vae-vancomycin PATH] [--vae-warfarin PATH]
[--n-patients 300] [--out DIR]``

For each env, the held-out cohort (EVALUATION seed space, seed ``COHORT_SEED``) is dosed by a
clinical baseline and observed at decision points with 0, 1, 2 (vancomycin) or 0..3
(warfarin, after the day-0 INR) measured levels (:mod:`benchmarks.vae_quality_data`).

1. Future exposure: the VAE's decoded course (latent mean, regimen actually given), the MAP
   forecast and the population-typical forecast (MAP without levels) against the true
   course, over the grid after the decision: each patient's RMSE of the log exposure
   (``log(conc + 0.1)``, ``log INR``) and |relative error| of the next-24-h AUC
   (vancomycin) or next-7-day mean INR (warfarin). Means with 95% bootstrap CIs over
   patients, and the paired VAE - MAP difference.
2. Linear probe of the true log clearance at the decision point, fitted on a separate
   probe-training cohort (EVALUATION seed space, seed ``PROBE_SEED``: disjoint patients) and
   scored (out-of-sample R^2, bootstrap CI) on the held-out cohort: from the VAE's latent
   mean (alone, and with the covariates and labs), from MAP's log clearance (1-D) and from
   the covariates and labs alone.

Writes ``vae_quality.md``, ``vae_quality.csv`` and ``vae_quality.png`` (true vs VAE vs MAP
course of three patients per env at one level) under ``--out``, atomically. With no VAE
path given, a VAE is trained with the default budget (4000 patients, seed 0) into the out
dir (reused when one with that budget is there).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd

from agents.vae.model import PatientVAE, load_vae
from agents.vae.training import train_vae
from benchmarks.vae_quality_data import (
    METHODS,
    DecisionPoint,
    Episode,
    decision_point,
    future_errors,
    plan_of,
    simulate_episode,
)
from benchmarks.vae_quality_report import markdown, plot_examples
from pkgym.evaluation.bootstrap import bootstrap_ci, paired_difference_ci
from pkgym.evaluation.cohorts import sample_cohort
from pkgym.evaluation.metrics import mean
from pkgym.io import write_atomic, write_table

COHORT_SEED, PROBE_SEED, NOISE_SEED = 10_000_000, 10_000_001, 20_000_000
"""Held-out cohort, probe-training cohort (both EVALUATION seed space) and env noise seeds."""
DEFAULT_VAE_PATIENTS, REPS = 4000, 2000
PROBES = ("vae_latent", "vae_latent+covariates", "map_log_cl", "covariates")
"""Probe inputs: the VAE's latent mean (alone; with the context), MAP's log clearance, the
history's context (covariates and labs). The decoder reads the context itself, so the latent
need only carry what the context does not: ``vae_latent+covariates`` shows what it adds."""


@dataclass(frozen=True)
class EnvResult:
    """One env's scores (long table) and what the report plots."""

    env_id: str
    table: pd.DataFrame
    episode: Episode
    points: list[DecisionPoint]


def _interval_rows(env_id: str, point: DecisionPoint, metric: str,
                   scores: dict[str, np.ndarray], rng: np.random.Generator,
                   reps: int) -> list[dict]:
    """Mean and CI of each method's scores, then the paired ``vae - map`` difference."""
    base = {"env_id": env_id, "n_levels": point.n_levels, "metric": metric,
            "decision_h": float(np.median(point.times_h)), "n_patients": point.rows.size}
    rows = [{**base, "method": name, **_interval(bootstrap_ci(s, mean, reps=reps, rng=rng))}
            for name, s in scores.items()]
    differences = paired_difference_ci({"vae": scores["vae"], "map": scores["map"]}, "map",
                                       mean, reps=reps, rng=rng)
    rows.append({**base, "method": "vae-map", **_interval(differences["vae"])})
    return rows


def _interval(interval: tuple[float, float, float]) -> dict[str, float]:
    return dict(zip(("point", "low", "high"), interval, strict=True))


def forecast_rows(env_id: str, points: list[DecisionPoint], episode: Episode,
                  rng: np.random.Generator, reps: int = REPS) -> list[dict]:
    """Rows of table 1: log-RMSE, |relative error| and bias of the window exposure."""
    window_h = plan_of(env_id).window_h
    rows: list[dict] = []
    for point in points:
        errors = future_errors(point, episode, window_h)
        for metric, transform in (("rmse_log", lambda e: e["rmse_log"]),
                                  ("abs_rel_error", lambda e: np.abs(e["rel_error"])),
                                  ("rel_error", lambda e: e["rel_error"])):
            scores = {method: transform(errors[method]) for method in METHODS}
            rows.extend(_interval_rows(env_id, point, metric, scores, rng, reps))
    return rows


def _features(point: DecisionPoint, probe: str) -> np.ndarray:
    """The probe's input at a decision point, (m, k)."""
    return {"vae_latent": point.latents, "map_log_cl": point.map_log_clearance[:, None],
            "covariates": point.context,
            "vae_latent+covariates": np.column_stack([point.latents, point.context])}[probe]


def probe_predictions(train: DecisionPoint, test: DecisionPoint, probe: str) -> np.ndarray:
    """Least-squares linear probe fitted on ``train``, predicting ``test``'s log clearance.

    Examples:
        >>> from types import SimpleNamespace as P
        >>> x = np.arange(6.0)[:, None]
        >>> train = P(map_log_clearance=x[:, 0], true_log_clearance=2 * x[:, 0] + 1)
        >>> probe_predictions(train, P(map_log_clearance=np.array([10.0])), "map_log_cl")
        array([21.])
    """
    def design(point: DecisionPoint) -> np.ndarray:
        x = _features(point, probe)
        return np.column_stack([x, np.ones(len(x))])

    coef, *_ = np.linalg.lstsq(design(train), train.true_log_clearance, rcond=None)
    return design(test) @ coef


def out_of_sample_r2(pairs: np.ndarray) -> float:
    """R^2 ``1 - SSE / SST`` of predictions (column 0) of the targets (column 1).

    Examples:
        >>> out_of_sample_r2(np.array([[1.0, 1.0], [2.0, 3.0], [3.0, 2.0]]))
        0.0
    """
    residual = pairs[:, 1] - pairs[:, 0]
    total = pairs[:, 1] - pairs[:, 1].mean()
    return float(1.0 - (residual**2).sum() / max((total**2).sum(), 1e-12))


def probe_rows(env_id: str, train: list[DecisionPoint], test: list[DecisionPoint],
               rng: np.random.Generator, reps: int = REPS) -> list[dict]:
    """Rows of table 2: held-out R^2 of each probe by level count (bootstrap CI)."""
    rows = []
    for fit, score in zip(train, test, strict=True):
        for probe in PROBES:
            pairs = np.column_stack([probe_predictions(fit, score, probe),
                                     score.true_log_clearance])
            rows.append({"env_id": env_id, "n_levels": score.n_levels, "metric": "probe_r2",
                         "decision_h": float(np.median(score.times_h)),
                         "n_patients": score.rows.size, "method": probe,
                         **_interval(bootstrap_ci(pairs, out_of_sample_r2, reps=reps,
                                                  rng=rng))})
    return rows


def _points(vae: PatientVAE, env_id: str, n_patients: int,
            cohort_seed: int) -> tuple[Episode, list[DecisionPoint]]:
    """Simulate one cohort and build its decision points."""
    core_settings = _settings(env_id)
    cohort = sample_cohort(core_settings.population, core_settings.model.variability,
                           n_patients, cohort_seed)
    episode = simulate_episode(env_id, cohort, NOISE_SEED + cohort_seed)
    plan = plan_of(env_id)
    return episode, [decision_point(vae, episode, plan, c) for c in plan.level_counts]


def _settings(env_id: str) -> Any:
    """The settings of ``env_id``'s core (``population`` and ``model.variability``)."""
    return gym.make(env_id).unwrapped.core.settings


def evaluate_env(env_id: str, vae_path: str | Path, n_patients: int, seed: int = 0,
                 reps: int = REPS) -> EnvResult:
    """Both tables' rows for one env (``seed`` and ``reps``: the bootstrap's).

    Examples:
        >>> evaluate_env("pkgym/Pendulum-v1", "vae.pt", 10)
        Traceback (most recent call last):
        ...
        ValueError: env_id must be one of ['pkgym/Vancomycin-v0', 'pkgym/Warfarin-v0'], ...
    """
    plan_of(env_id)
    vae = load_vae(vae_path)
    if vae.config["env_id"] != env_id:
        raise ValueError(f"vae_path: the VAE at {vae_path} was trained on "
                         f"{vae.config['env_id']}, not {env_id}")
    episode, points = _points(vae, env_id, n_patients, COHORT_SEED)
    _, probe_points = _points(vae, env_id, n_patients, PROBE_SEED)
    rng = np.random.default_rng(seed)
    rows = (forecast_rows(env_id, points, episode, rng, reps)
            + probe_rows(env_id, probe_points, points, rng, reps))
    return EnvResult(env_id, pd.DataFrame(rows), episode, points)


def default_vae(env_id: str, out: Path) -> Path:
    """A VAE of the default budget in ``out`` (trained unless one is already there)."""
    directory = out / f"vae_{env_id.split('/')[1].split('-')[0].lower()}"
    if (directory / "vae.pt").exists():
        metadata = load_vae(directory).metadata
        if (metadata.get("env_id"), metadata.get("n_patients"), metadata.get("seed")) == (
                env_id, DEFAULT_VAE_PATIENTS, 0):
            print(f"reusing the VAE in {directory}")
            return directory / "vae.pt"
    return train_vae(env_id, DEFAULT_VAE_PATIENTS, 0, directory)


def write_report(results: Sequence[EnvResult], out: Path, seconds: float) -> str:
    """Write the markdown, CSV and figure under ``out``; return the markdown."""
    text = markdown(results, seconds)
    write_atomic(out / "vae_quality.md", lambda tmp: tmp.write_text(text))
    write_table(pd.concat([r.table for r in results], ignore_index=True),
                out / "vae_quality.csv")
    plot_examples(results, out / "vae_quality.png")
    return text


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vae-vancomycin", type=Path, default=None,
                        help="vae.pt of a Vancomycin-v0 VAE (default: train one into --out)")
    parser.add_argument("--vae-warfarin", type=Path, default=None,
                        help="vae.pt of a Warfarin-v0 VAE (default: train one into --out)")
    parser.add_argument("--n-patients", type=int, default=300,
                        help="held-out patients per env (and as many probe-training ones)")
    parser.add_argument("--out", type=Path, default=Path("out/vae_quality"))
    args = parser.parse_args(argv)
    if args.n_patients < 4:
        parser.error(f"--n-patients must be >= 4, got {args.n_patients}")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Run both envs, write the report and print it."""
    args = parse_args(argv)
    started = time.perf_counter()
    paths = {"pkgym/Vancomycin-v0": args.vae_vancomycin, "pkgym/Warfarin-v0": args.vae_warfarin}
    results = [evaluate_env(env_id, path or default_vae(env_id, args.out), args.n_patients)
               for env_id, path in paths.items()]
    print(write_report(results, args.out, time.perf_counter() - started))


if __name__ == "__main__":
    main()
