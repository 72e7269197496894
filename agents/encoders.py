"""Features extractors that turn pkgym's Dict observations into the policy's input vector.

SB3's default ``CombinedExtractor`` passes Box observations through unscaled; pkgym's
observations mix doses in the thousands of mg with 0/1 masks, so every extractor here scales
each key by its space's upper bound first (a fixed map, saved with the model, no running
statistics to carry between training and evaluation).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
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
