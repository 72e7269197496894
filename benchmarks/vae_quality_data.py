"""Held-out decision points and their forecasts for :mod:`benchmarks.vae_quality`.

One batched episode per cohort: each patient is dosed by the env's clinical baseline
(vancomycin ``label``, warfarin ``iwpc_clinical+aurora``) with NEXT_STEP autoreset, so after
the last step the core's records still hold the finished episode and
:func:`pkgym.wrappers.true_exposure` gives every patient's true course. Every observation,
the true clearance (``info["clearance_l_per_h"]``) and the number of measured levels are
kept per decision step.

A decision point with ``c`` measured levels (not counting warfarin's day-0 baseline INR) is
the step at which the ``c``-th level has just arrived; ``c = 0`` is the last step before the
first one (the latest forecast without a level, with nearly the same future as ``c = 1``).
There three forecasts of the whole course are made under the regimen actually given:

* ``vae``: the VAE's latent mean decoded (:class:`agents.vae.model.PatientVAE`);
* ``map``: the Bayesian MAP forecast (:func:`agents.policies.map_forecast.map_forecast`);
* ``population``: the same MAP forecast with the levels removed from the observation (the
  population-typical patient given the covariates and labs; equal to ``map`` at ``c = 0``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import cast

import gymnasium as gym
import numpy as np
import pandas as pd
import torch
from gymnasium.vector import AutoresetMode

import pkgym  # noqa: F401
from agents.policies.map_forecast import map_forecast, map_log_clearance
from agents.policies.registry import make_policy
from agents.vae.model import LOG_FLOOR, PatientVAE, history_tensors, single_thread
from agents.vae.training import EXPOSURE_OFFSETS
from pkgym.envs.base import DosingCore, DosingVectorEnv
from pkgym.wrappers import exposure_grid, observed_history, true_exposure

METHODS = ("vae", "map", "population")
"""The forecasts compared at every decision point."""


@dataclass(frozen=True, slots=True)
class EnvPlan:
    """How one env's held-out patients are dosed, observed and scored.

    Attributes:
        baseline: registry name of the clinician dosing the held-out patients.
        level_counts: measured levels (after ``baseline_levels``) at the decision points.
        baseline_levels: levels every history holds from the start (warfarin: day-0 INR).
        window_h: window of the summary exposure after the decision, h.
        window_label: what the summary exposure is.
    """

    baseline: str
    level_counts: tuple[int, ...]
    baseline_levels: int
    window_h: float
    window_label: str


PLANS = {
    "pkgym/Vancomycin-v0": EnvPlan("label", (0, 1, 2), 0, 24.0, "AUC of the next 24 h"),
    "pkgym/Warfarin-v0": EnvPlan("iwpc_clinical+aurora", (0, 1, 2, 3), 1, 168.0,
                                 "mean INR of the next 7 days"),
}
"""The envs of the benchmark and their plans."""


@dataclass(frozen=True)
class Episode:
    """One finished batched episode of a cohort, kept step by step.

    Attributes:
        core: the batched core (its records hold the finished episode).
        observations: the batched observation at each decision step.  # n_steps x (n, ...)
        log_clearance: true log clearance (L/h) at each decision step.  # (n, n_steps)
        level_counts: measured levels (baseline included) at each step.  # (n, n_steps)
        regimens_mg: the dose given at every step.  # (n, n_steps)
        exposures: the true exposure course on ``grid_h``.  # (n, n_grid)
        grid_h: the exposure grid, h since the first dose.  # (n_grid,)
        unit: ``"mg/L"`` or ``"INR"``.
    """

    core: DosingCore
    observations: list[dict[str, np.ndarray]]
    log_clearance: np.ndarray
    level_counts: np.ndarray
    regimens_mg: np.ndarray
    exposures: np.ndarray
    grid_h: np.ndarray
    unit: str


@dataclass(frozen=True)
class DecisionPoint:
    """Forecasts and probe features of the patients at one level count.

    Attributes:
        n_levels: measured levels (after the baseline ones).
        rows: patients (cohort rows) that reach this point.  # (m,)
        steps: the decision step of each.  # (m,)
        times_h: the decision time, h since the first dose.  # (m,)
        forecasts: exposure course on the grid by method (:data:`METHODS`).  # each (m, n_grid)
        latents: the VAE's latent mean.  # (m, latent_dim)
        map_log_clearance: log of MAP's clearance, L/h.  # (m,)
        context: the history's covariates and labs.  # (m, n_context)
        true_log_clearance: log of the true clearance, L/h.  # (m,)
        history: the canonical histories at the point.  # each (m, ...)
    """

    n_levels: int
    rows: np.ndarray
    steps: np.ndarray
    times_h: np.ndarray
    forecasts: dict[str, np.ndarray]
    latents: np.ndarray
    map_log_clearance: np.ndarray
    context: np.ndarray
    true_log_clearance: np.ndarray
    history: dict[str, np.ndarray]


def plan_of(env_id: str) -> EnvPlan:
    """The plan of ``env_id``; ValueError naming the supported envs otherwise."""
    if env_id not in PLANS:
        raise ValueError(f"env_id must be one of {sorted(PLANS)}, got {env_id!r}")
    return PLANS[env_id]


def simulate_episode(env_id: str, cohort: pd.DataFrame, seed: int) -> Episode:
    """Dose ``cohort`` (one patient per row) by the env's baseline; keep every step."""
    n = len(cohort)
    vec = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point",
                       autoreset_mode=AutoresetMode.NEXT_STEP)
    shell = cast(DosingVectorEnv, vec.unwrapped)
    core = shell.core
    policy = make_policy(plan_of(env_id).baseline, core)
    policy.reset(n)
    obs, info = vec.reset(seed=seed, options={"patients": cohort.reset_index(drop=True)})
    n_steps = observed_history(core, obs)["dose_mask"].shape[1]
    observations, clearances, counts = [], [], []
    for _ in range(n_steps):
        observations.append({key: np.array(value, copy=True) for key, value in obs.items()})
        clearances.append(np.log(np.asarray(info["clearance_l_per_h"], dtype=np.float64)))
        counts.append(observed_history(core, obs)["level_mask"].sum(axis=1))
        doses = np.asarray(policy.act(obs, info), dtype=np.float64)
        obs, _, _, _, info = vec.step(core.encode_decisions(doses, shell.continuous))
    grid_h, unit = exposure_grid(core)
    return Episode(core=core, observations=observations,
                   log_clearance=np.stack(clearances, axis=1),
                   level_counts=np.stack(counts, axis=1).astype(np.int64),
                   regimens_mg=observed_history(core, obs)["dose_amounts_mg"].astype(np.float64),
                   exposures=true_exposure(core), grid_h=grid_h, unit=unit)


def decision_steps(level_counts: np.ndarray, n_levels: int, baseline_levels: int) -> np.ndarray:
    """The decision step of each patient at ``n_levels`` measured levels; -1 if never reached.

    Examples:
        >>> counts = np.array([[0, 0, 1, 2], [0, 1, 1, 1]])
        >>> [decision_steps(counts, c, 0).tolist() for c in (0, 1, 2)]
        [[1, 0], [2, 1], [3, -1]]
    """
    target = baseline_levels + max(n_levels, 1)
    reached = level_counts >= target
    first = np.where(reached.any(axis=1), reached.argmax(axis=1), -1)
    if n_levels == 0:
        return np.where(first >= 1, first - 1, -1)
    return first


def _gather(observations: list[dict[str, np.ndarray]], steps: np.ndarray,
            rows: np.ndarray) -> dict[str, np.ndarray]:
    """The batched observation of patient ``rows[i]`` at step ``steps[i]``."""
    return {key: np.stack([observations[s][key][r] for s, r in zip(steps, rows, strict=True)])
            for key in observations[0]}


def without_levels(observation: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The observation with its measured levels removed (warfarin keeps the day-0 INR).

    Examples:
        >>> obs = {"level_mask": np.ones((1, 2)), "levels_mg_per_l": np.ones((1, 2)),
        ...        "level_times_h": np.ones((1, 2))}
        >>> without_levels(obs)["level_mask"].tolist()
        [[0.0, 0.0]]
    """
    out = {key: np.array(value, copy=True) for key, value in observation.items()}
    if "level_mask" in out:
        for key in ("level_mask", "levels_mg_per_l", "level_times_h"):
            out[key][:] = 0.0
        return out
    keep = np.asarray(out["inr_days"]) <= 0.0
    for key in ("inr_mask", "inr_values", "inr_days"):
        out[key] = np.where(keep, out[key], 0.0).astype(out[key].dtype)
    return out


def _by_step(function: Callable[..., np.ndarray], core: DosingCore,
             observation: dict[str, np.ndarray], steps: np.ndarray,
             *regimen_mg: np.ndarray) -> np.ndarray:
    """``function(core, obs[, regimen])`` on the rows of each decision step, reassembled."""
    parts: dict[int, np.ndarray] = {}
    for step in np.unique(steps):
        rows = np.flatnonzero(steps == step)
        sub = {key: value[rows] for key, value in observation.items()}
        parts[int(step)] = function(core, sub, *(r[rows] for r in regimen_mg))
    first = next(iter(parts.values()))
    out = np.empty((steps.size, *first.shape[1:]), dtype=np.float64)
    for step, value in parts.items():
        out[steps == step] = value
    return out


@torch.no_grad()
def vae_outputs(vae: PatientVAE, history: Mapping[str, np.ndarray],
                regimen_mg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The VAE's decoded course (its unit) under ``regimen_mg`` and latent mean, (m, ...)."""
    with single_thread():
        tensors = history_tensors(history)
        mu, _ = vae.encode(tensors)
        normalised = vae.decode(mu, tensors, torch.as_tensor(regimen_mg, dtype=torch.float32))
        course = vae.exposure_from_normalised(normalised)
    return course.double().numpy(), mu.double().numpy()


def decision_point(vae: PatientVAE, episode: Episode, plan: EnvPlan,
                   n_levels: int) -> DecisionPoint:
    """Forecasts and probe features of every patient at ``n_levels`` measured levels."""
    all_steps = decision_steps(episode.level_counts, n_levels, plan.baseline_levels)
    rows = np.flatnonzero(all_steps >= 0)
    steps, core = all_steps[rows], episode.core
    observation = _gather(episode.observations, steps, rows)
    history = observed_history(core, observation)
    regimen = episode.regimens_mg[rows]
    course, latents = vae_outputs(vae, history, regimen)
    forecasts = {"vae": course,
                 "map": _by_step(map_forecast, core, observation, steps, regimen),
                 "population": _by_step(map_forecast, core, without_levels(observation),
                                        steps, regimen)}
    return DecisionPoint(
        n_levels=n_levels, rows=rows, steps=steps,
        times_h=history["time_h"][:, 0].astype(np.float64), forecasts=forecasts,
        latents=latents, map_log_clearance=_by_step(map_log_clearance, core, observation, steps),
        context=history["context"].astype(np.float64),
        true_log_clearance=episode.log_clearance[rows, steps], history=history)


def log_exposure(exposure: np.ndarray, unit: str) -> np.ndarray:
    """The VAE's log scale: ``log(conc + 0.1)`` (mg/L) or ``log INR``, floored at 1e-3.

    Examples:
        >>> log_exposure(np.array([0.9, -1.0]), "mg/L").round(3).tolist()
        [0.0, -2.303]
    """
    offset = EXPOSURE_OFFSETS[unit]
    return np.log(np.maximum(np.maximum(exposure, 0.0) + offset, LOG_FLOOR))


def future_errors(point: DecisionPoint, episode: Episode,
                  window_h: float) -> dict[str, dict[str, np.ndarray]]:
    """Per-patient errors of each forecast over the grid after the decision.

    Returns:
        ``{method: {"rmse_log": (m,), "rel_error": (m,)}}``: the RMSE of the log exposure
        (:func:`log_exposure`) over every grid time after the decision, and the relative
        error ``(forecast - true) / true`` of the mean exposure over the window
        ``(t, t + window_h]`` (vancomycin: AUC of the next 24 h on the hourly grid).
    """
    truth = episode.exposures[point.rows]
    future = episode.grid_h[None] > point.times_h[:, None] + 1e-6
    window = future & (episode.grid_h[None] <= point.times_h[:, None] + window_h + 1e-6)
    true_log = log_exposure(truth, episode.unit)
    true_window = _masked_mean(truth, window)
    out = {}
    for method, course in point.forecasts.items():
        squared = (log_exposure(course, episode.unit) - true_log) ** 2
        out[method] = {"rmse_log": np.sqrt(_masked_mean(squared, future)),
                       "rel_error": _masked_mean(course, window) / true_window - 1.0}
    return out


def _masked_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Row means of ``values`` over ``mask`` (each row has at least one True)."""
    return np.where(mask, values, 0.0).sum(axis=1) / mask.sum(axis=1)
