"""A pkgym Dict observation as one float vector, for the offline-RL networks.

Each Box key is divided by its space's finite upper bound, as the ``raw`` encoder of
``pkgym train`` does (:func:`agents.rl.encoders.observation_scales`: a fixed map, saved with
the model, no running statistics). Dividing by the bound alone squeezes concentrations (levels
up to 500 mg/L, INRs up to 25) into a sliver near 0 (PPO failed on one env for that reason),
so every key whose bound exceeds 1 also appears on a log scale, ``log1p(x) / log1p(high)``:
a level of 10 mg/L is 0.02 of the bound but 0.39 on the log scale. Masks and 0/1 covariates
(bound 1) appear once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from agents.rl.encoders import observation_scales


@dataclass(frozen=True, slots=True)
class ObservationFeatures:
    """The map from a batched Dict observation to ``(n, n_features)`` float32 features.

    Attributes:
        keys: the observation keys, sorted (as SB3 orders Dict spaces).
        scales: per key, the divisor of each flattened value (its Box's upper bound, 1 where
            that is 0 or infinite).
        log_keys: keys that also appear as ``log1p(x) / log1p(scale)`` (bound above 1).

    Examples:
        >>> space = gym.spaces.Dict({"dose_mg": gym.spaces.Box(0.0, 3000.0, (2,)),
        ...                          "mask": gym.spaces.Box(0.0, 1.0, (1,))})
        >>> features = ObservationFeatures.from_space(space)
        >>> features.n_features, features.log_keys
        (5, ('dose_mg',))
        >>> features({"dose_mg": np.array([[3000.0, 0.0]]), "mask": np.array([[1.0]])}).tolist()
        [[1.0, 0.0, 1.0, 1.0, 0.0]]

    Columns: every key divided by its scale (keys sorted), then the log keys on a log scale.
    """

    keys: tuple[str, ...]
    scales: Mapping[str, np.ndarray]
    log_keys: tuple[str, ...]

    @classmethod
    def from_space(cls, space: gym.spaces.Space) -> ObservationFeatures:
        """The features of an env's (single) Dict observation space."""
        if not isinstance(space, gym.spaces.Dict):
            raise ValueError(f"observation space must be a gymnasium Dict of Boxes, got {space}")
        scales = observation_scales(space)
        keys = tuple(sorted(scales))
        return cls(keys, scales, tuple(k for k in keys if float(np.max(scales[k])) > 1.0))

    @property
    def n_features(self) -> int:
        """Length of the feature vector."""
        return int(sum(self.scales[k].size for k in self.keys)
                   + sum(self.scales[k].size for k in self.log_keys))

    def __call__(self, observation: Mapping[str, Any]) -> np.ndarray:
        """``(n, n_features)`` float32 features of a batched observation (keys ``(n, ...)``)."""
        missing = [k for k in self.keys if k not in observation]
        if missing:
            raise ValueError(f"observation lacks the key(s) {missing}; expected {list(self.keys)}")
        columns = []
        for key in self.keys:
            values = np.asarray(observation[key], dtype=np.float64)
            columns.append(values.reshape(len(values), -1) / self.scales[key])
        for key in self.log_keys:
            values = np.asarray(observation[key], dtype=np.float64)
            clipped = np.maximum(values.reshape(len(values), -1), 0.0)
            columns.append(np.log1p(clipped) / np.log1p(self.scales[key]))
        return np.concatenate(columns, axis=1).astype(np.float32)

    def record(self) -> dict[str, Any]:
        """JSON-ready fields (saved beside a trained model)."""
        return {"keys": list(self.keys), "log_keys": list(self.log_keys),
                "scales": {k: self.scales[k].tolist() for k in self.keys}}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ObservationFeatures:
        """The features of a :meth:`record`.

        Examples:
            >>> space = gym.spaces.Dict({"x": gym.spaces.Box(0.0, 5.0, (1,))})
            >>> f = ObservationFeatures.from_space(space)
            >>> ObservationFeatures.from_record(f.record()).record() == f.record()
            True
        """
        scales = {k: np.asarray(v, dtype=np.float64) for k, v in record["scales"].items()}
        return cls(tuple(record["keys"]), scales, tuple(record["log_keys"]))
