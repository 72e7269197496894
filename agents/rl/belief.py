"""Belief-state inputs: the policy sees what a precision-dosing engine believes of the patient.

A partially observed dosing problem becomes (nearly) fully observed when the agent is given
a sufficient statistic of its belief about the patient instead of the raw history (the
belief-MDP view of a POMDP, Kaelbling, Littman & Cassandra 1998, Artif Intell 101:99; used
for RL as "belief-state" or "posterior sampling"-free inputs, e.g. Igl et al. 2018, ICML,
"Deep variational reinforcement learning for POMDPs"). Here the belief is the patient VAE's
posterior (:mod:`agents.vae.model`), summarised two ways:

* the posterior mean and SD of the latent patient state (what ``--encoder vae`` gives), and
* the **forecast exposure of each candidate dose**: the decoded exposure over the env's
  target window (vancomycin AUC24, warfarin mean INR of the week) if that dose were given
  from now on, as ``log(forecast / target)`` clipped to ``[-CLIP, CLIP]`` (0: on target).
  This is exactly what VAE-MIPD (:class:`agents.vae.mipd.VAEMIPDPolicy`) ranks doses by, so
  the policy can learn "the dose whose forecast is on target" as one comparison and then
  improve on it (weigh toxicity, anticipate renal change, hedge under uncertainty).

Then the scaled canonical history, as :class:`~agents.rl.encoders.VAEFeaturesExtractor`.
The VAE is frozen: only the policy's layers learn. ``pkgym train --encoder belief --vae DIR``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from agents.rl.encoders import VAEFeaturesExtractor
from agents.vae.mipd import window_weights

CLIP = 3.0
"""Forecast-to-target log ratios are clipped to +-3 (a factor of 20 off target)."""


class BeliefFeaturesExtractor(VAEFeaturesExtractor):
    """Latent mean and SD, per-candidate forecast log(exposure / target), scaled history.

    Args:
        observation_space: the canonical history space (:mod:`pkgym.wrappers.history`).
        vae_config: the trained VAE's config (its weights are loaded after the model is built,
            :func:`agents.rl.encoders.load_vae_weights`).
        candidates_mg: the env's dose levels, mg.
        target: the exposure aimed at (VAE-MIPD's target: AUC24 mg*h/L or INR).
        window_h, trapezoid, scale: the target window (:func:`agents.vae.mipd.window_weights`).

    Examples:
        >>> from agents.vae.training import tiny_config
        >>> from pkgym.wrappers import history_space, HistoryLayout
        >>> space = history_space(HistoryLayout(19, 2, 14, 168.0, "mg/L", 12.0))
        >>> extractor = BeliefFeaturesExtractor(space, tiny_config(), candidates_mg=[0, 500],
        ...                                     target=500.0, window_h=24.0)
        >>> extractor.features_dim - VAEFeaturesExtractor(space, tiny_config()).features_dim
        2
    """

    def __init__(self, observation_space: gym.spaces.Dict, vae_config: dict, *,
                 candidates_mg: Sequence[float], target: float, window_h: float,
                 trapezoid: bool = True, scale: float = 1.0) -> None:
        """Build the frozen VAE and the forecast's settings; check them."""
        super().__init__(observation_space, vae_config, fine_tune=False)
        candidates = np.sort(np.asarray(candidates_mg, dtype=np.float64))
        if candidates.ndim != 1 or candidates.size < 2 or not np.all(np.isfinite(candidates)):
            raise ValueError(f"candidates_mg must be >= 2 finite dose levels, got {candidates_mg}")
        if not (np.isfinite(target) and target > 0 and window_h > 0):
            raise ValueError(f"target and window_h must be > 0, got {target}, {window_h}")
        self.candidates_mg, self.target = candidates, float(target)
        self.window_h, self.trapezoid, self.scale = float(window_h), bool(trapezoid), float(scale)
        self.grid_times_h = np.asarray(vae_config["grid_times_h"], dtype=np.float64)
        self._features_dim += candidates.size

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(batch, features_dim)``: latent mean and SD, forecasts, scaled observation."""
        base = super().forward(observations)
        return torch.cat([base, self.forecast_log_ratio(observations)], dim=1)

    @torch.no_grad()
    def forecast_log_ratio(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(batch, n_candidates)``: clipped log(forecast exposure / target) of each dose."""
        mu, _ = self.vae.encode(observations)
        n, m = mu.shape[0], self.candidates_mg.size
        given = observations["dose_mask"] > 0  # (n, K)
        candidates = torch.as_tensor(self.candidates_mg, dtype=mu.dtype, device=mu.device)
        regimens = torch.where(given[:, None, :], observations["dose_amounts_mg"][:, None, :],
                               candidates[None, :, None])  # (n, m, K)
        context = {"context": observations["context"].repeat_interleave(m, dim=0)}
        decoded = self.vae.decode(mu.repeat_interleave(m, dim=0), context,
                                  regimens.reshape(n * m, -1))
        courses = self.vae.exposure_from_normalised(decoded).reshape(n, m, -1)
        courses = torch.cat([torch.zeros_like(courses[:, :, :1]), courses], dim=2)
        now_h = observations["time_h"][:, 0].detach().cpu().numpy().astype(np.float64)
        weights = torch.as_tensor(window_weights(self.grid_times_h, now_h, self.window_h,
                                                 self.trapezoid), dtype=mu.dtype,
                                  device=mu.device)
        exposure = torch.einsum("nmt,nt->nm", courses, weights) * self.scale
        ratio = torch.log(exposure.clamp(min=1e-6) / self.target)
        return ratio.clamp(-CLIP, CLIP)


def belief_settings(core: Any) -> dict[str, Any]:
    """The forecast's settings for an env (its dose levels and VAE-MIPD target), JSON-able.

    Raises:
        ValueError: (one line) the env has no VAE-MIPD target (no ``mipd_target`` hook).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make_vec("pkgym/Vancomycin-v0", num_envs=1,
        ...                    vectorization_mode="vector_entry_point")
        >>> settings = belief_settings(env.unwrapped.core)
        >>> settings["target"], settings["window_h"], len(settings["candidates_mg"])
        (500.0, 24.0, 13)
    """
    from agents.env_hooks import agent_hooks

    try:
        aim = agent_hooks(core, "the belief encoder").mipd_target(core)
    except (ValueError, AttributeError) as error:
        raise ValueError(f"encoder 'belief' needs an env with a VAE-MIPD target ({error})"
                         ) from None
    return {"candidates_mg": [float(d) for d in np.sort(np.asarray(core.dose_levels_mg))],
            "target": float(aim.target), "window_h": float(aim.window_h),
            "trapezoid": bool(aim.trapezoid), "scale": float(aim.scale)}
