"""A small VAE of 0-12 h MPA profiles from limited, irregularly timed samples.

Encoder q(z | samples, dose, covariates): each sample is a token (its log concentration per
1000 mg of the dose it followed, normalised; its ACTUAL time after the dose / 12 h, negative
for a pre-dose C0; a below-LOQ flag; for the hybrid, its log residual against the prior's
fitted prediction), embedded by a shared MLP and pooled by masked mean and max, so sample
times are inputs, not fixed slots, and any number of samples works. The pooled tokens, the
normalised covariates and the log dose give ``(mu, logvar)`` of z.

Decoder p(log profile | z, dose, covariates): Gaussian on the log total MPA at the 121 points
of the 0.1 h grid, with a learned SD per point; its mean is

    log(dose / 1000 mg) + m_t + MLP(z, covariates, log dose)_t              (VAE)
    log f_prior(t; dose) + MLP(z, covariates, log dose)_t                   (hybrid)

where ``m_t`` is the training data's mean log profile per 1000 mg (dose proportionality as a
starting point that the MLP may bend: binding makes MPA slightly nonlinear) and ``f_prior``
the two-compartment prior's MAP-fitted profile (the hybrid models its log residual).

Loss (beta-VAE): ``sum_t [0.5 ((x_t - xhat_t) / sigma_t)^2 + log sigma_t] + beta KL``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["CONFIG_KEYS", "ProfileVAE", "profile_auc"]

CONFIG_KEYS = ("latent_dim", "hidden", "decoder_hidden", "hybrid", "grid_h", "context_names",
               "normalisation")
LOG_FLOOR_MG_PER_L = 1e-3
"""Concentrations are floored here before their log (mg/L)."""
LOG_VAR_RANGE = (-10.0, 4.0)


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if k < len(sizes) - 2:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)


def profile_auc(log_profiles: torch.Tensor, grid_h: torch.Tensor) -> torch.Tensor:
    """Trapezoid AUC of ``exp(log_profiles)`` over ``grid_h``, (...,) mg*h/L.

    Examples:
        >>> grid = torch.linspace(0, 12, 121, dtype=torch.float64)
        >>> float(profile_auc(torch.zeros(1, 121, dtype=torch.float64), grid)[0])
        12.0
    """
    return torch.trapezoid(torch.exp(log_profiles), grid_h, dim=-1)


class ProfileVAE(nn.Module):
    """Encoder of limited samples and decoder of profiles (see the module doc).

    Batches are dicts of tensors: ``context`` (B, C) raw covariates, ``times`` (B, S) h after
    the dose, ``log_conc`` (B, S) log mg/L (floored), ``censored`` (B, S) 1 below the LOQ,
    ``mask`` (B, S), ``log_dose`` (B,) log(mg/1000) of the dose the samples followed, and for
    the hybrid ``prior_sample_log`` (B, S), the prior's fitted log concentration at the samples.

    Examples:
        >>> vae = ProfileVAE(tiny_profile_config())
        >>> batch = {"context": torch.ones(2, 3), "times": torch.zeros(2, 3),
        ...          "log_conc": torch.zeros(2, 3), "censored": torch.zeros(2, 3),
        ...          "mask": torch.ones(2, 3), "log_dose": torch.zeros(2)}
        >>> mu, logvar = vae.encode(batch)
        >>> vae.decode(mu, batch, torch.zeros(2)).shape
        torch.Size([2, 121])
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        """Build the networks and normalisation buffers from ``config`` (JSON-able)."""
        super().__init__()
        missing = sorted(set(CONFIG_KEYS) - set(config))
        if missing:
            raise ValueError(f"profile VAE config lacks {missing}; it holds {list(CONFIG_KEYS)}")
        self.config = dict(config)
        self.metadata: dict[str, Any] = {}
        norm = config["normalisation"]
        latent, hidden, dec = (int(config[k]) for k in ("latent_dim", "hidden", "decoder_hidden"))
        self.hybrid, self.latent_dim = bool(config["hybrid"]), latent
        n_context, n_grid = len(config["context_names"]), len(config["grid_h"])
        for name in ("context_mean", "context_std", "mean_log_profile", "grid_h"):
            source = config["grid_h"] if name == "grid_h" else norm[name]
            self.register_buffer(name, torch.tensor(source, dtype=torch.float32),
                                 persistent=False)
        self.level_mean, self.level_std = float(norm["level_mean"]), float(norm["level_std"])
        self.token_net = _mlp([4 + int(self.hybrid), hidden, hidden])
        self.head = _mlp([2 * hidden + n_context + 1, hidden, 2 * latent])
        self.decoder = _mlp([latent + n_context + 1, dec, dec, n_grid])
        self.log_sigma = nn.Parameter(torch.full((n_grid,), float(np.log(0.3))))

    def _context(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return (batch["context"] - self.context_mean) / self.context_std

    def tokens(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Per-sample features, (B, S, 4 (+1 hybrid))."""
        per_dose = batch["log_conc"] - batch["log_dose"][:, None]
        value = torch.where(batch["censored"] > 0, 0.0,
                            (per_dose - self.level_mean) / self.level_std)
        parts = [value, batch["times"] / 12.0, batch["censored"], batch["times"] < 0]
        if self.hybrid:
            residual = torch.where(batch["censored"] > 0, 0.0,
                                   batch["log_conc"] - batch["prior_sample_log"])
            parts.append(residual / self.level_std)
        return torch.stack([p.to(torch.float32) for p in parts], dim=-1)

    def encode(self, batch: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance of z, each (B, latent_dim)."""
        mask = (batch["mask"] > 0)[..., None]
        tokens = self.token_net(self.tokens(batch))
        count = mask.sum(1).clamp(min=1).to(tokens.dtype)
        mean = torch.where(mask, tokens, 0.0).sum(1) / count
        top = torch.where(mask, tokens, -torch.inf).amax(1)
        top = torch.where(mask.any(1), top, 0.0)
        features = torch.cat([mean, top, self._context(batch), batch["log_dose"][:, None]], 1)
        mu, logvar = self.head(features).chunk(2, dim=1)
        return mu, logvar.clamp(*LOG_VAR_RANGE)

    def decode(self, z: torch.Tensor, batch: Mapping[str, torch.Tensor],
               log_dose: torch.Tensor, prior_log_profile: torch.Tensor | None = None
               ) -> torch.Tensor:
        """Mean log profile (B, G), log mg/L, under the dose ``exp(log_dose) * 1000`` mg."""
        features = torch.cat([z, self._context(batch), log_dose[:, None]], dim=1)
        correction = self.decoder(features)
        if self.hybrid:
            if prior_log_profile is None:
                raise ValueError("the hybrid VAE decodes on top of prior_log_profile (B, G)")
            return prior_log_profile + correction
        return log_dose[:, None] + self.mean_log_profile + correction

    def loss(self, batch: Mapping[str, torch.Tensor], target_log_dose: torch.Tensor,
             target_log_profile: torch.Tensor, beta: float,
             target_prior: torch.Tensor | None = None, sample: bool = True
             ) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean loss, mean squared log error) over a batch of (B, K) target doses.

        ``target_log_dose`` (B, K), ``target_log_profile`` (B, K, G) and for the hybrid
        ``target_prior`` (B, K, G); every target dose is decoded from the same z.
        """
        mu, logvar = self.encode(batch)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if sample else mu
        b, k = target_log_dose.shape
        expanded = {key: value.repeat_interleave(k, 0) for key, value in batch.items()}
        prior = None if target_prior is None else target_prior.reshape(b * k, -1)
        decoded = self.decode(z.repeat_interleave(k, 0), expanded, target_log_dose.reshape(-1),
                              prior)
        error = decoded - target_log_profile.reshape(b * k, -1)
        nll = (0.5 * error**2 * torch.exp(-2.0 * self.log_sigma) + self.log_sigma).sum(1)
        kl = 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar).sum(1)
        return nll.view(b, k).sum(1).mean() + beta * kl.mean(), (error**2).mean()


def tiny_profile_config(hybrid: bool = False) -> dict[str, Any]:
    """An untrained config with unit normalisation (shapes, tests, examples).

    Examples:
        >>> len(tiny_profile_config()["grid_h"])
        121
    """
    grid = np.round(np.arange(0.0, 12.0 + 1e-9, 0.1), 10)
    return {"latent_dim": 4, "hidden": 16, "decoder_hidden": 32, "hybrid": hybrid,
            "grid_h": grid.tolist(),
            "context_names": ["albumin_g_per_l", "creatinine_clearance_ml_per_min",
                              "ciclosporin"],
            "normalisation": {"context_mean": [0.0] * 3, "context_std": [1.0] * 3,
                              "mean_log_profile": [0.0] * grid.size, "level_mean": 0.0,
                              "level_std": 1.0}}
