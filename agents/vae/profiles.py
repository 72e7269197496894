"""Train, save, load and query the profile VAE (:mod:`agents.vae.profile_model`).

Reading top to bottom:

1. :func:`profile_inputs`: a batch of limited-sampling visits as the encoder's tensors (and,
   for the hybrid, the two-compartment prior's MAP fit of each visit,
   :func:`hybrid_features`).
2. :func:`train_profile_vae`: normalisation from the training data, Adam on the beta-VAE
   loss over both simulated doses of every patient, the best epoch on a validation split.
3. :class:`ProfilePredictor`: decoded log profiles and trapezoid AUC0-12 (0.1 h grid) at the
   posterior mean for any candidate doses, and 90 % AUC intervals from posterior samples of
   z, widened or narrowed by a scale factor fitted on a calibration split
   (:func:`calibrate_interval_scale`).

Deterministic given the seed (``torch.manual_seed``, a numpy Generator for the splits); torch
runs on one thread (:func:`agents.vae.model.single_thread`).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.vae.model import single_thread
from agents.vae.profile_data import CONTEXT_NAMES, GRID_H, ProfileData
from agents.vae.profile_map import fit_map, predict_steady
from agents.vae.profile_model import LOG_FLOOR_MG_PER_L, ProfileVAE, profile_auc
from agents.vae.profile_priors import LOQ_MG_PER_L, Visits, make_prior
from pkgym.io import write_atomic, write_text

__all__ = ["HybridFeatures", "ProfilePredictor", "calibrate_interval_scale", "hybrid_features",
           "load_profile_vae", "profile_inputs", "save_profile_vae", "train_profile_vae"]

Z90 = 1.6448536269514722
"""Standard normal 95th percentile (two-sided 90 % interval)."""


@dataclass(frozen=True, slots=True, eq=False)
class HybridFeatures:
    """The no-EHC prior's MAP fit of each visit, as the hybrid VAE reads it.

    Attributes:
        sample_log: fitted log total MPA at the sample times.  # (n, S)
        unit_log_profile: fitted log profile per 1000 mg on ``GRID_H`` (the
            two-compartment prior is linear in dose).  # (n, G)
    """

    sample_log: np.ndarray
    unit_log_profile: np.ndarray


def hybrid_features(covariates: dict[str, np.ndarray], doses_mg: np.ndarray,
                    sample_times_h: np.ndarray, concentrations_mg_per_l: np.ndarray,
                    sample_mask: np.ndarray | None = None, iterations: int = 12
                    ) -> HybridFeatures:
    """MAP-fit the two-compartment (no-EHC) prior to steady-state visits (for the hybrid).

    Args:
        covariates: model covariates, each (n,).
        doses_mg: the sampled dose, mg, (n,).
        sample_times_h: times relative to the dose, h (n, S).
        concentrations_mg_per_l: measured, mg/L, 0 below the LOQ (n, S).
        sample_mask: taken samples (default all).
        iterations: LM iterations.
    """
    visits = Visits.steady_state(covariates, doses_mg, sample_times_h, concentrations_mg_per_l,
                                 sample_mask)
    prior = make_prior("no_ehc")
    fit = fit_map(prior, visits, iterations=iterations)
    fitted = prior.sample_concentrations(visits, fit.etas)
    profile, _ = predict_steady(prior, fit.etas, covariates, np.full(len(doses_mg), 1000.0),
                                GRID_H)
    return HybridFeatures(
        sample_log=np.log(np.maximum(np.nan_to_num(fitted, nan=1.0), LOG_FLOOR_MG_PER_L)),
        unit_log_profile=np.log(np.maximum(profile[:, 0], LOG_FLOOR_MG_PER_L)))


def profile_inputs(covariates: dict[str, np.ndarray], doses_mg: np.ndarray,
                   sample_times_h: np.ndarray, concentrations_mg_per_l: np.ndarray,
                   sample_mask: np.ndarray | None = None,
                   hybrid: HybridFeatures | None = None) -> dict[str, torch.Tensor]:
    """The encoder's batch (see :class:`~agents.vae.profile_model.ProfileVAE`).

    Examples:
        >>> b = profile_inputs({"albumin_g_per_l": [38.0], "ciclosporin": [0.0],
        ...     "creatinine_clearance_ml_per_min": [60.0]}, [1000.0], [[-0.1, 0.5, 2.0]],
        ...     [[0.0, 10.0, 5.0]])
        >>> b["censored"].tolist(), b["context"].shape
        ([[1.0, 0.0, 0.0]], torch.Size([1, 3]))
    """
    conc = np.nan_to_num(np.asarray(concentrations_mg_per_l, np.float64), nan=0.0)
    mask = np.ones(conc.shape) if sample_mask is None else np.asarray(sample_mask, np.float64)
    arrays = {"context": np.column_stack([np.asarray(covariates[k], np.float64)
                                          for k in CONTEXT_NAMES]),
              "times": np.asarray(sample_times_h, np.float64),
              "log_conc": np.log(np.maximum(conc, LOG_FLOOR_MG_PER_L)),
              "censored": (conc < LOQ_MG_PER_L).astype(np.float64), "mask": mask,
              "log_dose": np.log(np.asarray(doses_mg, np.float64) / 1000.0)}
    if hybrid is not None:
        arrays["prior_sample_log"] = hybrid.sample_log
    return {k: torch.as_tensor(v, dtype=torch.float32) for k, v in arrays.items()}


def _data_inputs(data: ProfileData, hybrid: HybridFeatures | None) -> dict[str, torch.Tensor]:
    return profile_inputs(data.covariates, data.doses_mg[:, 0], data.sample_times_h,
                          data.concentrations_mg_per_l, None, hybrid)


def _targets(data: ProfileData, hybrid: HybridFeatures | None
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Target log doses (n, 2), log profiles (n, 2, G) and the hybrid's prior (n, 2, G)."""
    log_dose = np.log(data.doses_mg / 1000.0)
    log_profile = np.log(np.maximum(data.profiles_mg_per_l, LOG_FLOOR_MG_PER_L))
    prior = None if hybrid is None else torch.as_tensor(
        hybrid.unit_log_profile[:, None, :] + log_dose[:, :, None], dtype=torch.float32)
    return (torch.as_tensor(log_dose, dtype=torch.float32),
            torch.as_tensor(log_profile, dtype=torch.float32), prior)


def profile_config(data: ProfileData, *, hybrid: bool, latent_dim: int = 6, hidden: int = 64,
                   decoder_hidden: int = 128) -> dict[str, Any]:
    """A config normalised on ``data`` (JSON-able)."""
    context = np.column_stack([data.covariates[k] for k in CONTEXT_NAMES])
    std = context.std(axis=0)
    per_dose = np.log(np.maximum(data.profiles_mg_per_l, LOG_FLOOR_MG_PER_L)) \
        - np.log(data.doses_mg / 1000.0)[:, :, None]
    conc = data.concentrations_mg_per_l
    levels = np.log(conc[conc > 0]) - np.log(np.broadcast_to(data.doses_mg[:, :1], conc.shape)
                                             [conc > 0] / 1000.0)
    return {"latent_dim": int(latent_dim), "hidden": int(hidden),
            "decoder_hidden": int(decoder_hidden), "hybrid": bool(hybrid),
            "grid_h": GRID_H.tolist(), "context_names": list(CONTEXT_NAMES),
            "normalisation": {"context_mean": context.mean(0).tolist(),
                              "context_std": np.where(std > 1e-6, std, 1.0).tolist(),
                              "mean_log_profile": per_dose.reshape(-1, GRID_H.size)
                              .mean(0).tolist(),
                              "level_mean": float(levels.mean()),
                              "level_std": float(max(levels.std(), 1e-3))}}


def train_profile_vae(train: ProfileData, validation: ProfileData, *, hybrid: bool = False,
                      train_hybrid: HybridFeatures | None = None,
                      validation_hybrid: HybridFeatures | None = None, epochs: int = 60,
                      latent_dim: int = 6, beta: float = 1.0, batch_size: int = 128,
                      lr: float = 3e-3, seed: int = 0) -> ProfileVAE:
    """Fit a profile VAE (or the hybrid, given the prior fits of both splits).

    Returns the model at its best validation epoch, with ``metadata`` (curve, best epoch).

    Examples:
        >>> from agents.vae.profile_data import simulate_profiles
        >>> data = simulate_profiles(np.random.default_rng(0), 8)
        >>> vae = train_profile_vae(data.rows(slice(0, 6)), data.rows(slice(6, 8)), epochs=2)
        >>> vae.metadata["best_epoch"] in (1, 2)
        True
    """
    if hybrid and (train_hybrid is None or validation_hybrid is None):
        raise ValueError("hybrid=True needs train_hybrid and validation_hybrid (prior fits)")
    if epochs < 1 or batch_size < 1 or not lr > 0 or beta < 0:
        raise ValueError("epochs and batch_size must be >= 1, lr > 0, beta >= 0")
    torch.manual_seed(seed)
    vae = ProfileVAE(profile_config(train, hybrid=hybrid, latent_dim=latent_dim))
    inputs, targets = _data_inputs(train, train_hybrid), _targets(train, train_hybrid)
    val_inputs, val_targets = (_data_inputs(validation, validation_hybrid),
                               _targets(validation, validation_hybrid))
    optimiser = torch.optim.Adam(vae.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=epochs)
    generator = torch.Generator().manual_seed(seed)
    best, best_loss, curve = copy.deepcopy(vae.state_dict()), np.inf, []
    with single_thread():
        for _ in range(epochs):
            vae.train()
            for rows in torch.randperm(train.n, generator=generator).split(batch_size):
                loss, _ = vae.loss({k: v[rows] for k, v in inputs.items()}, targets[0][rows],
                                   targets[1][rows], beta,
                                   None if targets[2] is None else targets[2][rows])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
            schedule.step()
            vae.eval()
            with torch.no_grad():
                val_loss, mse = vae.loss(val_inputs, *val_targets[:2], beta, val_targets[2],
                                         sample=False)
            curve.append({"validation_loss": float(val_loss), "validation_mse_log": float(mse)})
            if float(val_loss) < best_loss:
                best_loss, best = float(val_loss), copy.deepcopy(vae.state_dict())
    vae.load_state_dict(best)
    vae.metadata = {"curve": curve, "epochs": epochs, "beta": beta, "seed": seed,
                    "best_epoch": int(np.argmin([c["validation_loss"] for c in curve])) + 1,
                    "n_train": train.n, "n_validation": validation.n}
    return vae.eval()


class ProfilePredictor:
    """Decoded profiles, AUCs and AUC intervals of a trained profile VAE.

    Args:
        vae: the trained model.
        interval_scale: factor on the log half-widths of the 90 % intervals (1 = raw;
            fitted on a calibration split by :func:`calibrate_interval_scale`).
    """

    def __init__(self, vae: ProfileVAE, interval_scale: float = 1.0) -> None:
        """Store the model (evaluation mode) and the interval scale."""
        if not interval_scale > 0:
            raise ValueError(f"interval_scale must be > 0, got {interval_scale}")
        self.vae, self.interval_scale = vae.eval(), float(interval_scale)
        self.grid_h = torch.as_tensor(np.asarray(vae.config["grid_h"]), dtype=torch.float64)

    def _decode(self, z: torch.Tensor, batch: dict[str, torch.Tensor], doses_mg: np.ndarray,
                hybrid: HybridFeatures | None) -> torch.Tensor:
        """Log profiles (n, c, G) of z (n, latent) under doses (n, c), mg."""
        n, c = doses_mg.shape
        log_dose = torch.as_tensor(np.log(doses_mg / 1000.0), dtype=torch.float32).reshape(-1)
        expanded = {k: v.repeat_interleave(c, 0) for k, v in batch.items()}
        prior = None if hybrid is None else torch.as_tensor(
            np.repeat(hybrid.unit_log_profile, c, 0), dtype=torch.float32) + log_dose[:, None]
        return self.vae.decode(z.repeat_interleave(c, 0), expanded, log_dose, prior).view(n, c, -1)

    @torch.no_grad()
    def predict(self, batch: dict[str, torch.Tensor], doses_mg: np.ndarray,
                hybrid: HybridFeatures | None = None, prior_only: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """(profiles mg/L (n, c, G), trapezoid AUC0-12 mg*h/L (n, c)) at the posterior mean.

        ``doses_mg`` (n,) or (n, c) candidate doses per patient, mg; ``prior_only`` (n,)
        marks rows decoded at z = 0 (no sample yet). The profile is the
        decoder's median ``exp(mean)``; the AUC integrates its mean concentration
        ``exp(mean + sigma_t^2 / 2)`` (the log-normal mean: the median of an uncertain
        secondary peak would under-count its area).
        """
        doses = np.asarray(doses_mg, np.float64)
        doses = doses[:, None] if doses.ndim == 1 else doses
        with single_thread():
            mu, _ = self.vae.encode(batch)
            if prior_only is not None:  # rows without samples: the prior mean z = 0
                mu = torch.where(torch.as_tensor(prior_only)[:, None], 0.0, mu)
            log_profile = self._decode(mu, batch, doses, hybrid).double()
            half_var = 0.5 * torch.exp(2.0 * self.vae.log_sigma.detach()).double()
        auc = profile_auc(log_profile + half_var, self.grid_h)
        return torch.exp(log_profile).numpy(), auc.numpy()

    @torch.no_grad()
    def auc_interval(self, batch: dict[str, torch.Tensor], doses_mg: np.ndarray,
                     hybrid: HybridFeatures | None = None, *, n_draws: int = 200,
                     seed: int = 0, level: float = 0.9) -> tuple[np.ndarray, ...]:
        """(median, low, high) of AUC0-12 under ``doses_mg`` (n,), each (n,), mg*h/L.

        Quantiles over ``n_draws`` draws: z from its posterior, then the decoder's Gaussian
        noise taken as one shared standard normal times ``sigma_t`` at every grid point (a
        profile-level error: independent noise per point would average out of the AUC);
        the log half-widths around the median are then multiplied by ``interval_scale``.
        """
        doses = np.asarray(doses_mg, np.float64).reshape(-1, 1)
        generator = torch.Generator().manual_seed(seed)
        with single_thread():
            mu, logvar = self.vae.encode(batch)
            sigma, draws = torch.exp(self.vae.log_sigma.detach()), []
            for _ in range(n_draws):
                z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=generator)
                noise = torch.randn((mu.shape[0], 1), generator=generator) * sigma
                log_profile = self._decode(z, batch, doses, hybrid)[:, 0] + noise
                draws.append(profile_auc(log_profile.double(), self.grid_h).numpy())
        log_auc = np.log(np.stack(draws, axis=1))
        tail = 50.0 * (1.0 - level)
        low, mid, high = np.percentile(log_auc, [tail, 50.0, 100.0 - tail], axis=1)
        s = self.interval_scale
        return np.exp(mid), np.exp(mid - s * (mid - low)), np.exp(mid + s * (high - mid))


def calibrate_interval_scale(median: np.ndarray, low: np.ndarray, high: np.ndarray,
                             truth: np.ndarray, level: float = 0.9) -> float:
    """The factor on the log half-widths that makes ``level`` of the intervals cover ``truth``.

    Examples:
        >>> m, t = np.ones(10), np.exp(np.linspace(-1, 1, 10))
        >>> s = calibrate_interval_scale(m, m / np.e, m * np.e, t, level=0.8)
        >>> bool(np.mean((t >= m * np.exp(-s)) & (t <= m * np.exp(s))) >= 0.8)
        True
    """
    log_m, log_t = np.log(median), np.log(truth)
    above = log_t >= log_m
    half = np.where(above, np.log(high) - log_m, log_m - np.log(low))
    needed = np.abs(log_t - log_m) / np.maximum(half, 1e-9)
    return float(np.quantile(needed, level, method="higher"))


def save_profile_vae(vae: ProfileVAE, out_dir: str | Path) -> Path:
    """Write ``profile_vae.pt`` (weights) and ``profile_vae.json`` (config, metadata).

    Examples:
        >>> import tempfile
        >>> from agents.vae.profile_model import tiny_profile_config
        >>> path = save_profile_vae(ProfileVAE(tiny_profile_config()), tempfile.mkdtemp())
        >>> load_profile_vae(path.parent).config["latent_dim"]
        4
    """
    out = Path(out_dir)
    weights = write_atomic(out / "profile_vae.pt", lambda tmp: torch.save(vae.state_dict(), tmp))
    write_text(json.dumps({"config": vae.config, "metadata": vae.metadata}, indent=1),
               out / "profile_vae.json")
    return weights


def load_profile_vae(path: str | Path) -> ProfileVAE:
    """A trained profile VAE from a directory (or its ``profile_vae.pt``).

    Examples:
        >>> load_profile_vae("/nonexistent")
        Traceback (most recent call last):
        ...
        ValueError: no profile VAE at /nonexistent: expected profile_vae.pt and profile_vae.json
    """
    weights = Path(path) / "profile_vae.pt" if Path(path).suffix != ".pt" else Path(path)
    meta = weights.with_suffix(".json")
    if not weights.is_file() or not meta.is_file():
        raise ValueError(f"no profile VAE at {path}: expected profile_vae.pt and profile_vae.json")
    saved = json.loads(meta.read_text())
    vae = ProfileVAE(saved["config"])
    vae.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    vae.metadata = saved.get("metadata", {})
    return vae.eval()
