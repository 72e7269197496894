"""Train the patient VAE (:mod:`agents.vae.model`) on simulated patients, reading top to bottom.

1. Sample the training cohort (patients ``0 .. n-1`` of the TRAINING seed space at ``seed``)
   and a validation cohort (the next patients of the same root: disjoint, recorded).
2. Simulate both under diverse regimens (:func:`agents.vae.data.simulate_vae_data`).
3. Fit the normalisation on the training data, then Adam on the beta-VAE loss; after each
   epoch score the validation data (posterior mean, no sampling) and keep the best epoch.
4. Write ``vae.pt`` (weights) and ``vae.json`` (config, normalisation, grid, cohorts, the
   validation curve and the held-out error by number of measured levels), atomically.

Deterministic given the seed: numpy Generators for the data, ``torch.manual_seed`` and
torch's deterministic algorithms for the fit.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import gymnasium as gym
import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from agents.vae.data import VAEData, simulate_vae_data
from agents.vae.model import LOG_FLOOR, PatientVAE, history_tensors, load_vae, single_thread
from pkgym.envs.base import DosingCore, DosingVectorEnv
from pkgym.evaluation.cohorts import TRAINING, cohort_id, env_cohort
from pkgym.io import write_atomic, write_text
from pkgym.wrappers import exposure_grid, history_layout

__all__ = ["evaluate_vae", "load_vae", "tiny_config", "train_vae", "vae_config"]
EXPOSURE_OFFSETS = {"mg/L": 0.1, "INR": 0.0, "s": 0.0}
"""Added before the log: vancomycin ``log(conc + 0.1)``, warfarin ``log INR``, heparin
``log aPTT``."""
TOKEN_WINDOWS = {"mg/L": 4, "INR": 14, "s": 2}
"""Doses before each level that its token carries (48 h of q12h vancomycin, 2 warfarin weeks,
12 h of heparin: its half-life is about an hour)."""
EVALUATION_BATCH = 2048
WINDOWS_H = {"mg/L": 24.0, "INR": 168.0, "s": 6.0}
"""Windows of the mean-exposure error: a day of vancomycin (AUC24 / 24 h), a warfarin week, a
heparin interval (6 h)."""


def _env_core(env_id: str, env_kwargs: Mapping[str, Any]) -> DosingCore:
    env = gym.make_vec(env_id, num_envs=1, vectorization_mode="vector_entry_point",
                       **dict(env_kwargs))
    return cast(DosingVectorEnv, env.unwrapped).core


def _cohort(core: DosingCore, n: int, seed: int, start: int) -> pd.DataFrame:
    """Patients ``start .. start+n-1`` of the TRAINING seed space at ``seed`` (env_cohort)."""
    return env_cohort(cast(Any, core).settings, n, seed, TRAINING, start=start)


def vae_config(env_id: str, core: DosingCore, data: VAEData, *, latent_dim: int = 8,
               hidden: int = 64, decoder_hidden: int = 128) -> dict[str, Any]:
    """The config of a VAE for ``core``'s env, normalised on ``data`` (JSON-able).

    Examples:
        >>> tiny_config()["layout"]["n_doses"], tiny_config()["exposure_unit"]
        (14, 'mg/L')
    """
    layout = history_layout(core)
    times, unit = exposure_grid(core)
    offset = EXPOSURE_OFFSETS[unit]
    context = data.histories["context"].astype(np.float64)
    mask = data.histories["level_mask"] > 0
    levels = np.log(np.maximum(data.histories["level_values"][mask].astype(np.float64) + offset,
                               LOG_FLOOR))
    log_exposure = np.log(np.maximum(np.nan_to_num(data.exposures.astype(np.float64)) + offset,
                                     LOG_FLOOR))
    std = context.std(axis=0)
    return {
        "env_id": env_id, "latent_dim": int(latent_dim), "hidden": int(hidden),
        "decoder_hidden": int(decoder_hidden), "token_window": TOKEN_WINDOWS[unit],
        "layout": dataclasses.asdict(layout), "grid_times_h": times.tolist(),
        "exposure_unit": unit, "exposure_offset": offset,
        "normalisation": {
            "context_mean": context.mean(axis=0).tolist(),
            "context_std": np.where(std > 1e-6, std, 1.0).tolist(),
            "level_offset": offset,
            "level_mean": float(levels.mean()) if levels.size else 0.0,
            "level_std": float(max(levels.std(), 1e-3)) if levels.size else 1.0,
            "dose_scale_mg": float(layout.max_dose_mg),
            "exposure_mean": log_exposure.mean(axis=0).tolist(),
            "exposure_std": float(max(log_exposure.std(), 1e-3))}}


def tiny_config(env_id: str = "pkgym/Vancomycin-v0", latent_dim: int = 8) -> dict[str, Any]:
    """An untrained config with unit normalisation (for shapes, tests and examples).

    Examples:
        >>> tiny_config("pkgym/Warfarin-v0")["layout"]["n_levels"]
        90
    """
    core = _env_core(env_id, {})
    layout, (times, unit) = history_layout(core), exposure_grid(core)
    return {"env_id": env_id, "latent_dim": latent_dim, "hidden": 32, "decoder_hidden": 64,
            "token_window": TOKEN_WINDOWS[unit], "layout": dataclasses.asdict(layout),
            "grid_times_h": times.tolist(), "exposure_unit": unit,
            "exposure_offset": EXPOSURE_OFFSETS[unit],
            "normalisation": {"context_mean": [0.0] * layout.n_context,
                              "context_std": [1.0] * layout.n_context,
                              "level_offset": EXPOSURE_OFFSETS[unit], "level_mean": 0.0,
                              "level_std": 1.0, "dose_scale_mg": layout.max_dose_mg,
                              "exposure_mean": [0.0] * times.size, "exposure_std": 1.0}}


def _tensors(data: VAEData) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """Histories, regimens (mg) and exposures of every sample, as tensors."""
    rows = data.patient_index
    return (history_tensors(data.histories),
            torch.as_tensor(data.regimens_mg[rows], dtype=torch.float32),
            torch.as_tensor(np.nan_to_num(data.exposures[rows]), dtype=torch.float32))


def _epoch(vae: PatientVAE, tensors: tuple, beta: float, batch_size: int,
           optimiser: torch.optim.Optimizer, generator: torch.Generator) -> float:
    """One pass of Adam over shuffled minibatches; the mean training loss."""
    history, regimen, exposure = tensors
    order = torch.randperm(regimen.shape[0], generator=generator)
    losses = []
    vae.train()
    for start in range(0, order.numel(), batch_size):
        rows = order[start:start + batch_size]
        loss, _, _ = vae.loss({k: v[rows] for k, v in history.items()}, regimen[rows],
                              exposure[rows], beta)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    return float(np.mean(losses))


@torch.no_grad()
def evaluate_vae(vae: PatientVAE, data: VAEData, beta: float = 1.0) -> dict[str, Any]:
    """Held-out scores at the posterior mean: loss, RMSE (log units), RMSE by measured levels.

    ``rmse_log`` is the root mean squared error of ``log(conc + 0.1)`` (vancomycin) or
    ``log INR`` (warfarin) over the whole grid; ``rmse_log_by_levels`` splits it by the
    number of levels measured at the cut; ``log_det_by_levels`` is the mean log-determinant
    of the posterior covariance (sum of log-variances; lower = more certain) by the same
    split; ``rmse_log_window_mean`` is the error of the log mean exposure per window (a day of
    vancomycin: log AUC24; a week of warfarin); ``probe_log_clearance_r2`` is the R^2 of a
    linear probe from the latent mean to the true log clearance.

    Examples:
        >>> import pkgym
        >>> from agents.vae.data import simulate_vae_data
        >>> core = _env_core("pkgym/Vancomycin-v0", {})
        >>> data = simulate_vae_data("pkgym/Vancomycin-v0", _cohort(core, 4, 0, 0),
        ...                          np.random.default_rng(0))
        >>> scores = evaluate_vae(PatientVAE(tiny_config()), data)
        >>> scores["rmse_log"] > 0, sorted(scores["rmse_log_by_levels"])
        (True, [0, 1, 2])
    """
    vae.eval()
    history, regimen, exposure = _tensors(data)
    losses, errors, log_vars, latents, window_errors = [], [], [], [], []
    for start in range(0, regimen.shape[0], EVALUATION_BATCH):
        rows = slice(start, start + EVALUATION_BATCH)
        part = {key: value[rows] for key, value in history.items()}
        loss, _, _ = vae.loss(part, regimen[rows], exposure[rows], beta, sample=False)
        mu, logvar = vae.encode(part)
        error = (vae.decode(mu, part, regimen[rows]) - vae.normalise_exposure(exposure[rows]))
        losses.append(float(loss) * mu.shape[0])
        errors.append(((error * vae.exposure_std) ** 2).mean(1).numpy())
        window_errors.append(_window_log_error(vae, mu, part, regimen[rows], exposure[rows]))
        log_vars.append(logvar.sum(1).numpy())
        latents.append(mu.numpy())
    per_sample, log_var = np.concatenate(errors), np.concatenate(log_vars)
    counts = data.histories["level_mask"].sum(axis=1).astype(int)
    return {"loss": sum(losses) / regimen.shape[0], "rmse_log": float(np.sqrt(per_sample.mean())),
            "rmse_log_by_levels": {int(c): float(np.sqrt(per_sample[counts == c].mean()))
                                   for c in np.unique(counts)},
            "log_det_by_levels": {int(c): float(log_var[counts == c].mean())
                                  for c in np.unique(counts)},
            "rmse_log_window_mean": float(np.sqrt(np.mean(np.concatenate(window_errors)**2))),
            "window_h": WINDOWS_H[vae.config["exposure_unit"]],
            "probe_log_clearance_r2": _probe_r2(np.concatenate(latents), data.log_clearance)}


def _window_log_error(vae: PatientVAE, mu: torch.Tensor, history: dict[str, torch.Tensor],
                      regimen: torch.Tensor, exposure: torch.Tensor) -> np.ndarray:
    """Errors of the log of the mean exposure over consecutive windows (vancomycin: AUC24/24)."""
    grid = np.asarray(vae.config["grid_times_h"])
    per_window = int(np.sum(grid <= grid[0] + WINDOWS_H[vae.config["exposure_unit"]] - 1e-9))
    n_windows = grid.size // per_window
    predicted = vae.exposure_from_normalised(vae.decode(mu, history, regimen))
    means = [x[:, :n_windows * per_window].reshape(len(x), n_windows, per_window).mean(-1)
             for x in (predicted, exposure)]
    return (torch.log(means[0] + 1e-3) - torch.log(means[1] + 1e-3)).flatten().numpy()


def _probe_r2(latents: np.ndarray, target: np.ndarray) -> float:
    """R^2 of a least-squares linear probe from the latent means to ``target``."""
    design = np.column_stack([latents, np.ones(len(latents))])
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    residual = target - design @ coef
    return float(1.0 - residual.var() / max(target.var(), 1e-12))


def _scenario_sha256(scenario: str | Path | None) -> str | None:
    return None if scenario is None else hashlib.sha256(Path(scenario).read_bytes()).hexdigest()


def _check_arguments(n_patients: int, epochs: int, latent_dim: int, beta: float,
                     batch_size: int, lr: float) -> None:
    checks = {"n_patients": (n_patients, n_patients >= 2, ">= 2"),
              "epochs": (epochs, epochs >= 1, ">= 1"),
              "latent_dim": (latent_dim, latent_dim >= 1, ">= 1"),
              "beta": (beta, beta >= 0, ">= 0"),
              "batch_size": (batch_size, batch_size >= 1, ">= 1"),
              "lr": (lr, lr > 0, "> 0")}
    for name, (value, ok, allowed) in checks.items():
        if not ok:
            raise ValueError(f"{name} must be {allowed}, got {value}")


def train_vae(env_id: str, n_patients: int, seed: int, out_dir: str | Path, *,
              scenario: str | Path | None = None, epochs: int = 40, latent_dim: int = 8,
              beta: float = 1.0, batch_size: int = 256, lr: float = 2e-3,
              n_validation_patients: int | None = None, progress: bool = True) -> Path:
    """Simulate, fit and save a patient VAE; return the path of ``vae.pt``.

    Args:
        env_id: an env with the canonical history (:func:`pkgym.wrappers.history_env_ids`).
        n_patients: training patients (each gives several histories).
        seed: seed of the cohorts (TRAINING seed space), the regimens and the fit.
        out_dir: directory for ``vae.pt`` and ``vae.json``.
        scenario: scenario YAML of the env (its SHA-256 is recorded).
        epochs: passes over the training histories.
        latent_dim: dimensions of the latent patient state.
        beta: weight of the KL term of the loss.
        batch_size: histories per Adam step.
        lr: Adam's initial learning rate (cosine-annealed to 0).
        n_validation_patients: held-out patients (default ``max(50, n_patients // 5)``).
        progress: show a progress bar over epochs.

    Examples:
        >>> import tempfile, pkgym
        >>> path = train_vae("pkgym/Vancomycin-v0", 16, 0, tempfile.mkdtemp(), epochs=1,
        ...                  n_validation_patients=8, progress=False)
        >>> path.name, load_vae(path).metadata["best_epoch"]
        ('vae.pt', 1)
    """
    _check_arguments(n_patients, epochs, latent_dim, beta, batch_size, lr)
    n_val = max(50, n_patients // 5) if n_validation_patients is None else n_validation_patients
    env_kwargs = {} if scenario is None else {"scenario": str(scenario)}
    started = time.perf_counter()
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    try:
        core = _env_core(env_id, env_kwargs)
        history_layout(core)  # ValueError naming the supported envs for any other
        train_cohort, val_cohort = (_cohort(core, n_patients, seed, 0),
                                    _cohort(core, n_val, seed, n_patients))
        train_rng, val_rng = (np.random.default_rng(s) for s in
                              np.random.SeedSequence(seed).spawn(2))
        train = simulate_vae_data(env_id, train_cohort, train_rng, env_kwargs=env_kwargs)
        validation = simulate_vae_data(env_id, val_cohort, val_rng, env_kwargs=env_kwargs)
        vae = PatientVAE(vae_config(env_id, core, train, latent_dim=latent_dim))
        vae.config["scenario_sha256"] = _scenario_sha256(scenario)
        vae.config["scenario"] = None if scenario is None else str(scenario)
        with single_thread():
            curve = _fit(vae, train, validation, epochs=epochs, beta=beta,
                         batch_size=batch_size, lr=lr, seed=seed, progress=progress)
            scores = evaluate_vae(vae, validation, beta)
    finally:
        torch.use_deterministic_algorithms(deterministic)
    best = int(np.argmin([row["validation_loss"] for row in curve]))
    vae.metadata = {
        "env_id": env_id, "seed": seed, "n_patients": n_patients, "epochs": epochs,
        "beta": beta, "batch_size": batch_size, "lr": lr, "best_epoch": best + 1,
        "training_cohort": dataclasses.asdict(cohort_id(train_cohort)),
        "validation_cohort": dataclasses.asdict(cohort_id(val_cohort)),
        "n_training_samples": train.n_samples, "n_validation_samples": validation.n_samples,
        "validation_curve": curve, "validation": scores,
        "train_seconds": round(time.perf_counter() - started, 2),
        "torch_version": torch.__version__}
    return save_vae(vae, out_dir)


def _fit(vae: PatientVAE, train: VAEData, validation: VAEData, *, epochs: int, beta: float,
         batch_size: int, lr: float, seed: int, progress: bool) -> list[dict[str, float]]:
    """Adam epochs; ``vae`` ends with the weights of the best validation epoch."""
    optimiser = torch.optim.Adam(vae.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=epochs)
    generator = torch.Generator().manual_seed(seed)
    tensors, curve = _tensors(train), []
    best_state, best_loss = copy.deepcopy(vae.state_dict()), np.inf
    bar = tqdm(range(epochs), desc="VAE epochs", disable=not progress)
    for _ in bar:
        train_loss = _epoch(vae, tensors, beta, batch_size, optimiser, generator)
        schedule.step()
        scores = evaluate_vae(vae, validation, beta)
        curve.append({"train_loss": train_loss, "validation_loss": scores["loss"],
                      "validation_rmse_log": scores["rmse_log"]})
        bar.set_postfix(val_loss=f"{scores['loss']:.2f}", rmse=f"{scores['rmse_log']:.3f}")
        if scores["loss"] < best_loss:
            best_loss, best_state = scores["loss"], copy.deepcopy(vae.state_dict())
    vae.load_state_dict(best_state)
    return curve


def save_vae(vae: PatientVAE, out_dir: str | Path) -> Path:
    """Write ``vae.pt`` (state dict) and ``vae.json`` (config, metadata) atomically.

    Examples:
        >>> import tempfile
        >>> path = save_vae(PatientVAE(tiny_config()), tempfile.mkdtemp())
        >>> load_vae(path).config["latent_dim"]
        8
    """
    out = Path(out_dir)
    weights = write_atomic(out / "vae.pt", lambda tmp: torch.save(vae.state_dict(), tmp))
    text = json.dumps({"config": vae.config, "metadata": vae.metadata}, indent=1)
    write_text(text, out / "vae.json")
    return weights
