"""Features extractors that turn pkgym's Dict observations into the policy's input vector.

SB3's default ``CombinedExtractor`` passes Box observations through unscaled; pkgym's
observations mix doses in the thousands of mg with 0/1 masks, so every extractor here scales
each key by its space's upper bound first (a fixed map, saved with the model, no running
statistics to carry between training and evaluation).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor


def observation_scales(space: gym.spaces.Dict) -> dict[str, np.ndarray]:
    """Per-key divisor: the Box's finite upper bound (1 where it is 0 or infinite).

    Examples:
        >>> space = gym.spaces.Dict({"dose": gym.spaces.Box(0.0, 3000.0, (2,))})
        >>> observation_scales(space)["dose"].tolist()
        [3000.0, 3000.0]
    """
    scales = {}
    for key, sub in space.spaces.items():
        if not isinstance(sub, gym.spaces.Box):
            raise ValueError(f"observation key {key!r}: only Box spaces can be scaled, got {sub}")
        high = np.abs(np.broadcast_to(sub.high, sub.shape).astype(np.float64)).ravel()
        scales[key] = np.where(np.isfinite(high) & (high > 0), high, 1.0)
    return scales


class ScaledDictExtractor(BaseFeaturesExtractor):
    """Every key of a Dict observation divided by its upper bound, flattened, concatenated.

    The ``raw`` encoder of ``pkgym train``: the policy sees the current observation only.
    """

    def __init__(self, observation_space: gym.spaces.Dict) -> None:
        """Record the keys (sorted, as SB3 orders Dict spaces) and their scales."""
        scales = observation_scales(observation_space)
        self.keys = sorted(scales)
        super().__init__(observation_space, int(sum(scales[k].size for k in self.keys)))
        for key in self.keys:
            self.register_buffer(f"scale_{key}", torch.as_tensor(scales[key], dtype=torch.float32))

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(batch, features_dim)`` scaled observation."""
        return torch.cat([observations[k].flatten(1) / getattr(self, f"scale_{k}")
                          for k in self.keys], dim=1)


class VAEFeaturesExtractor(BaseFeaturesExtractor):
    """The patient VAE's encoder on the canonical history: what the policy knows of the patient.

    The observation space is the history space of :mod:`pkgym.wrappers.history` (wrap the
    batched env in :class:`~pkgym.wrappers.VectorObservationHistoryWrapper`). The features
    are the posterior mean and SD of the latent patient state, then the scaled current
    observation (every history key divided by its upper bound, flattened, keys sorted):
    ``2 * latent_dim + sum of the history sizes`` values.

    ``fine_tune`` says which loss updates the encoder:

    * ``False`` (frozen): none. Its weights have ``requires_grad=False``, it stays in eval
      mode and runs under ``no_grad``; only the layers after the extractor learn.
    * ``True``: the RL loss, through these features. SB3 backpropagates into whatever
      extractor the loss's network uses: PPO and A2C with the default shared extractor
      update it with the combined policy-gradient, value and entropy loss (separate pi/vf
      extractors each get their own loss); SAC and TD3 update the critic's extractor with the
      critic (Q) loss only, since the actor's optimiser excludes a shared extractor and a
      separate actor extractor (SAC's default) learns from the actor loss alone; DQN with the
      Q loss (SB3 issues #1066, #2006). The decoder is never used, so it never changes.

    Trained weights are copied in after the model is built with :func:`load_vae_weights`;
    the architecture and normalisation come from ``vae_config`` (saved in the SB3 zip with
    the policy kwargs), so the saved model is self-contained.

    Examples:
        >>> import pkgym
        >>> from agents.vae.training import tiny_config
        >>> from pkgym.wrappers import history_space, HistoryLayout
        >>> space = history_space(HistoryLayout(19, 2, 14, 168.0, "mg/L", 12.0))
        >>> extractor = VAEFeaturesExtractor(space, tiny_config(), fine_tune=False)
        >>> extractor.features_dim, any(p.requires_grad for p in extractor.vae.parameters())
        (84, False)
    """

    def __init__(self, observation_space: gym.spaces.Dict, vae_config: dict,
                 fine_tune: bool = False) -> None:
        """Build the VAE from ``vae_config`` (untrained) and check it fits the space."""
        from agents.vae.model import PatientVAE

        vae = PatientVAE(vae_config)
        for key, shape in vae.history_shapes().items():
            sub = observation_space.spaces.get(key)
            if sub is None or tuple(sub.shape) != shape:
                raise ValueError(f"observation_space[{key!r}] must have shape {shape} (the VAE's "
                                 f"history layout), got {None if sub is None else sub.shape}: "
                                 "wrap the env in pkgym.wrappers.VectorObservationHistoryWrapper")
        scales = observation_scales(observation_space)
        keys = sorted(scales)
        super().__init__(observation_space,
                         2 * vae.latent_dim + int(sum(scales[k].size for k in keys)))
        self.keys, self.vae, self.fine_tune = keys, vae, bool(fine_tune)
        for key in keys:
            self.register_buffer(f"scale_{key}", torch.as_tensor(scales[key], dtype=torch.float32))
        if not self.fine_tune:
            self.vae.requires_grad_(False)
            self.vae.eval()

    def train(self, mode: bool = True) -> VAEFeaturesExtractor:
        """Set the training mode; a frozen VAE stays in eval mode."""
        super().train(mode)
        if not self.fine_tune:
            self.vae.eval()
        return self

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(batch, features_dim)``: latent mean, latent SD, scaled observation."""
        with torch.set_grad_enabled(self.fine_tune and torch.is_grad_enabled()):
            mu, logvar = self.vae.encode(observations)
        scaled = [observations[k].flatten(1) / getattr(self, f"scale_{k}") for k in self.keys]
        return torch.cat([mu, torch.exp(0.5 * logvar), *scaled], dim=1)


def vae_policy_kwargs(vae_path: str | Path, fine_tune: bool) -> dict[str, Any]:
    """SB3 ``policy_kwargs`` for a :class:`VAEFeaturesExtractor` built from a trained VAE.

    Examples:
        >>> import tempfile
        >>> from agents.vae.model import PatientVAE
        >>> from agents.vae.training import save_vae, tiny_config
        >>> path = save_vae(PatientVAE(tiny_config()), tempfile.mkdtemp())
        >>> sorted(vae_policy_kwargs(path, fine_tune=True)["features_extractor_kwargs"])
        ['fine_tune', 'vae_config']
    """
    from agents.vae.model import load_vae

    return {"features_extractor_class": VAEFeaturesExtractor,
            "features_extractor_kwargs": {"vae_config": dict(load_vae(vae_path).config),
                                          "fine_tune": bool(fine_tune)}}


def load_vae_weights(model: BaseAlgorithm, vae_path: str | Path) -> int:
    """Copy a trained VAE's weights into every VAE extractor of ``model``'s policy.

    Every :class:`VAEFeaturesExtractor` in the policy gets them: the shared one, or the
    separate pi/vf (PPO, A2C), actor/critic/critic-target (SAC, TD3) or Q/target-Q (DQN)
    extractors. The saved model then holds the weights itself. Each extractor's config
    must equal the VAE's (same env layout, grid and normalisation).

    Returns:
        The number of extractors loaded.

    Examples:
        >>> import tempfile, torch
        >>> from stable_baselines3.common.policies import BasePolicy
        >>> from agents.vae.model import PatientVAE
        >>> from agents.vae.training import save_vae, tiny_config
        >>> path = save_vae(PatientVAE(tiny_config()), tempfile.mkdtemp())
        >>> class Model:  # stands for an SB3 algorithm
        ...     policy = torch.nn.Linear(1, 1)
        >>> load_vae_weights(Model(), path)
        Traceback (most recent call last):
        ...
        ValueError: the model's policy has no VAEFeaturesExtractor ...
    """
    from agents.vae.model import CONFIG_KEYS, load_vae

    trained = load_vae(vae_path)
    extractors = [m for m in model.policy.modules() if isinstance(m, VAEFeaturesExtractor)]
    if not extractors:
        raise ValueError("the model's policy has no VAEFeaturesExtractor (build it with "
                         "policy_kwargs=vae_policy_kwargs(...))")
    for extractor in extractors:
        mismatched = [key for key in CONFIG_KEYS
                      if json.dumps(extractor.vae.config[key], sort_keys=True)
                      != json.dumps(trained.config[key], sort_keys=True)]
        if mismatched:
            raise ValueError(f"the VAE at {vae_path} does not match the policy's extractor "
                             f"config in {mismatched}")
        extractor.vae.load_state_dict(trained.state_dict())
    return len(extractors)
