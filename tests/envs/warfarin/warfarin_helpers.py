"""Shared pieces of the warfarin env tests: ids, an eventful clinic and a fixed-action rollout."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from pkgym.envs.warfarin.clinic import EventHazards

ENV_ID = "pkgym/Warfarin-v0"
PGX_ID = "pkgym/WarfarinPGx-v0"
EVENTFUL = EventHazards(bleeding_per_year_in_range=15.0, thromboembolism_per_year_in_range=15.0)
"""Event rates high enough that a 90-day episode holds a few events of each kind."""
ETAS = ("eta_CL", "eta_V", "eta_EC50")


def rollout(env: gym.Env, seed: int, actions: np.ndarray, options: dict | None = None) -> list:
    """Observations, rewards and infos of one episode with fixed actions."""
    obs, info = env.reset(seed=seed, options=options)
    trace = [(obs, 0.0, info)]
    for action in actions:
        obs, reward, _, _, info = env.step(action)
        trace.append((obs, reward, info))
    return trace
