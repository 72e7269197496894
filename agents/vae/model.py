"""A VAE that learns a latent patient state from sparse, irregular drug levels.

Encoder q(z | history): each measured level is a token (its normalised log value, its time,
the time since the dose before it, the doses of the ``token_window`` steps before it, the
mean and number of all doses before it), embedded by a shared MLP and pooled by masked mean
and max (unmeasured slots never enter, whatever they hold). The pooled levels, their count,
the context (covariates and labs), the doses given so far and the time give
``(mu, logvar)``; with no level the posterior comes from the covariates and doses alone.

Decoder p(exposure | z, context, regimen): an MLP from z, the context and the dose of every
decision step of the whole horizon to the exposure course on the grid of
:func:`pkgym.wrappers.exposure_grid` (vancomycin ``log(conc + 0.1)``, warfarin ``log INR``,
normalised by the training data's per-point mean and one global SD). Asking it about a
regimen not given (past doses, then a candidate) is how :mod:`agents.vae.mipd` doses.

Loss (beta-VAE, Gaussian likelihood with a learned SD per grid point):
``sum_t [0.5 ((x_t - xhat_t) / sigma_t)^2 + log sigma_t] + beta KL(q(z | h) || N(0, I))``.

Everything the model needs besides its weights (sizes, grid, normalisation) is in
``config``, a JSON-able dict; ``vae.json`` stores it beside the weights in ``vae.pt``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

CONFIG_KEYS = ("env_id", "latent_dim", "hidden", "decoder_hidden", "token_window", "layout",
               "grid_times_h", "exposure_unit", "exposure_offset", "normalisation")
"""Keys every VAE config holds (``scenario_sha256`` and others may be added)."""
LOG_VAR_RANGE = (-12.0, 6.0)
LEVEL_KEYS = ("level_values", "level_times_h", "level_mask")
LOG_FLOOR = 1e-3
"""Levels and exposures are floored here before their log (an INR or level of 0)."""


def _mlp(sizes: list[int], final_activation: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = []
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if k < len(sizes) - 2 or final_activation:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)


def check_config(config: Mapping[str, Any]) -> None:
    """Raise ValueError naming the missing keys of a VAE config.

    Examples:
        >>> check_config({"env_id": "x"})
        Traceback (most recent call last):
        ...
        ValueError: vae_config lacks ['decoder_hidden', ...
    """
    missing = sorted(set(CONFIG_KEYS) - set(config))
    if missing:
        raise ValueError(f"vae_config lacks {missing}; a VAE config holds {list(CONFIG_KEYS)}")


class PatientVAE(nn.Module):
    """Encoder of histories and decoder of exposure courses (see the module doc).

    Attributes:
        config: sizes, grid and normalisation (JSON-able).
        metadata: what training recorded (cohorts, validation curve); empty if untrained.

    Examples:
        >>> from agents.vae.training import tiny_config
        >>> vae = PatientVAE(tiny_config())
        >>> history = {k: torch.zeros(3, *s) for k, s in vae.history_shapes().items()}
        >>> mu, logvar = vae.encode(history)
        >>> mu.shape, vae.decode(mu, history, torch.zeros(3, 14)).shape
        (torch.Size([3, 8]), torch.Size([3, 168]))
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        """Build the networks and the (non-persistent) normalisation buffers from ``config``."""
        super().__init__()
        check_config(config)
        self.config, self.metadata = dict(config), {}
        layout, norm = config["layout"], config["normalisation"]
        latent, hidden, window = (int(config[k]) for k in ("latent_dim", "hidden", "token_window"))
        n_context, n_doses = int(layout["n_context"]), int(layout["n_doses"])
        n_grid = len(config["grid_times_h"])
        self.horizon_h, self.interval_h = float(layout["horizon_h"]), float(layout["interval_h"])
        self.window, self.latent_dim = window, latent
        self.level_offset, self.exposure_offset = float(norm["level_offset"]), \
            float(config["exposure_offset"])
        self.level_mean, self.level_std = float(norm["level_mean"]), float(norm["level_std"])
        self.dose_scale_mg, self.exposure_std = float(norm["dose_scale_mg"]), \
            float(norm["exposure_std"])
        for name in ("context_mean", "context_std", "exposure_mean"):
            self.register_buffer(name, torch.tensor(norm[name], dtype=torch.float32),
                                 persistent=False)
        self.token_net = _mlp([5 + window, hidden, hidden], final_activation=True)
        self.head = _mlp([2 * hidden + 2 + n_context + n_doses, hidden, hidden, 2 * latent])
        decoder_hidden = int(config["decoder_hidden"])
        self.decoder = _mlp([latent + n_context + n_doses, decoder_hidden, decoder_hidden,
                             n_grid])
        self.log_sigma = nn.Parameter(torch.full((n_grid,), float(np.log(0.3))))

    def history_shapes(self) -> dict[str, tuple[int, ...]]:
        """Per-patient shape of each history array."""
        layout = self.config["layout"]
        levels, doses = (int(layout["n_levels"]),), (int(layout["n_doses"]),)
        return {"context": (int(layout["n_context"]),), "level_values": levels,
                "level_times_h": levels, "level_mask": levels, "dose_amounts_mg": doses,
                "dose_times_h": doses, "dose_mask": doses, "time_h": (1,)}

    def _context(self, history: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return (history["context"] - self.context_mean) / self.context_std

    def _given_doses(self, history: Mapping[str, torch.Tensor]) -> torch.Tensor:
        given = history["dose_mask"] > 0
        return torch.where(given, history["dose_amounts_mg"], 0.0) / self.dose_scale_mg

    def level_tokens(self, history: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Features of every level slot, (B, n_levels, 5 + token_window)."""
        mask = history["level_mask"] > 0
        values = torch.where(mask, history["level_values"], 1.0).clamp(min=0.0)
        times = torch.where(mask, history["level_times_h"], 0.0)
        doses, dose_times = self._given_doses(history), history["dose_times_h"]
        before = (dose_times[:, None, :] < times[:, :, None]) & (history["dose_mask"] > 0)[:, None]
        n_before = before.sum(-1)  # given doses form a prefix, so these are doses 0..n-1
        offsets = torch.arange(1, self.window + 1, device=times.device)
        index = n_before[..., None] - offsets  # (B, L, W): the last W doses before each level
        flat = index.clamp(min=0).flatten(1)
        window = torch.where(index >= 0, doses.gather(1, flat).view(index.shape), 0.0)
        last = dose_times.gather(1, (n_before - 1).clamp(min=0))
        since = torch.where(n_before > 0, times - last, self.horizon_h) / self.interval_h
        earlier = (doses[:, None, :] * before).sum(-1) / n_before.clamp(min=1)
        value = (torch.log((values + self.level_offset).clamp(min=LOG_FLOOR)) - self.level_mean) \
            / self.level_std
        return torch.cat([value[..., None], (times / self.horizon_h)[..., None],
                          since.clamp(max=10.0)[..., None], window, earlier[..., None],
                          (n_before / doses.shape[1])[..., None]], dim=-1)

    def encode(self, history: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance of z, each (B, latent_dim)."""
        history = _trim_levels(history)
        mask = (history["level_mask"] > 0)[..., None]
        tokens = self.token_net(self.level_tokens(history))
        count = mask.sum(1).to(tokens.dtype)
        mean = torch.where(mask, tokens, 0.0).sum(1) / count.clamp(min=1.0)
        top = torch.where(mask, tokens, -torch.inf).amax(1)
        top = torch.where(count > 0, top, 0.0)
        features = torch.cat([mean, top, torch.log1p(count), self._context(history),
                              self._given_doses(history), history["time_h"] / self.horizon_h],
                             dim=1)
        mu, logvar = self.head(features).chunk(2, dim=1)
        return mu, logvar.clamp(*LOG_VAR_RANGE)

    def decode(self, z: torch.Tensor, history: Mapping[str, torch.Tensor],
               regimen_mg: torch.Tensor) -> torch.Tensor:
        """Normalised exposure course (B, n_grid) under ``regimen_mg`` (B, n_doses), mg."""
        features = torch.cat([z, self._context(history), regimen_mg / self.dose_scale_mg], dim=1)
        return self.decoder(features)

    def normalise_exposure(self, exposure: torch.Tensor) -> torch.Tensor:
        """Exposure in its unit -> the decoder's normalised log scale."""
        log = torch.log((exposure.clamp(min=0.0) + self.exposure_offset).clamp(min=LOG_FLOOR))
        return (log - self.exposure_mean) / self.exposure_std

    def exposure_from_normalised(self, normalised: torch.Tensor) -> torch.Tensor:
        """The decoder's output -> exposure in its unit (mg/L or INR)."""
        log = normalised * self.exposure_std + self.exposure_mean
        return torch.exp(log) - self.exposure_offset

    def loss(self, history: Mapping[str, torch.Tensor], regimen_mg: torch.Tensor,
             exposure: torch.Tensor, beta: float,
             sample: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(mean loss, mean squared error of the normalised course, mean KL) of a batch."""
        mu, logvar = self.encode(history)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if sample else mu
        error = self.decode(z, history, regimen_mg) - self.normalise_exposure(exposure)
        nll = (0.5 * error**2 * torch.exp(-2.0 * self.log_sigma) + self.log_sigma).sum(1)
        kl = 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar).sum(1)
        return (nll + beta * kl).mean(), (error**2).mean(), kl.mean()


def _trim_levels(history: Mapping[str, torch.Tensor]) -> Mapping[str, torch.Tensor]:
    """The history without the trailing level slots no row has measured (they change nothing)."""
    used = torch.nonzero((history["level_mask"] > 0).any(0))
    keep = int(used.max()) + 1 if used.numel() else 1
    if keep == history["level_mask"].shape[1]:
        return history
    return {key: value[:, :keep] if key in LEVEL_KEYS else value for key, value in history.items()}


@contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one thread inside the block (then restore the previous count).

    The VAE's networks are small: one thread is as fast as several on an idle machine and
    avoids the long stalls of torch's thread pool when the cores are busy (measured 25-100x
    on 2 shared cores).

    Examples:
        >>> before = torch.get_num_threads()
        >>> with single_thread():
        ...     torch.get_num_threads()
        1
        >>> torch.get_num_threads() == before
        True
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def history_tensors(history: Mapping[str, np.ndarray],
                    device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """A batched numpy history as float32 tensors.

    Examples:
        >>> history_tensors({"time_h": np.zeros((2, 1))})["time_h"].dtype
        torch.float32
    """
    return {key: torch.as_tensor(np.asarray(value), dtype=torch.float32, device=device)
            for key, value in history.items()}


def load_vae(path: str | Path) -> PatientVAE:
    """A trained VAE from ``vae.pt`` (or its directory) and the ``vae.json`` beside it.

    Examples:
        >>> load_vae("/nonexistent")
        Traceback (most recent call last):
        ...
        ValueError: no VAE at /nonexistent: expected vae.pt and vae.json there
    """
    weights = Path(path) / "vae.pt" if Path(path).suffix != ".pt" else Path(path)
    meta_path = weights.with_suffix(".json")
    if not weights.is_file() or not meta_path.is_file():
        raise ValueError(f"no VAE at {path}: expected vae.pt and vae.json there")
    saved = json.loads(meta_path.read_text())
    vae = PatientVAE(saved["config"])
    vae.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    vae.metadata = saved.get("metadata", {})
    return vae.eval()
