"""Run dosing policies on a fixed cohort in the batched env, with identical noise for all.

Every policy sees the same pinned patients, and the same seed gives every env slot the same
assay-noise and clinical-event streams, so differences between policies are paired.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import gymnasium as gym
import numpy as np
import pandas as pd

from pkgym.envs.base import DosingVectorEnv, doses_to_actions
from pkgym.evaluation.policy import Policy

STEP_METRICS = ("auc24_mg_h_per_l", "in_target_range", "aki", "dose_mg",
                "concentration_mg_per_l")
"""Per-step ``info`` keys recorded by :func:`run_policy` (as ``<key>_<step>`` columns)."""


def run_policy(policy: Policy, env_id: str, cohort: pd.DataFrame, seed: int,
               env_kwargs: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One episode per cohort row; one result row per patient.

    Args:
        policy: the policy (doses in mg from batched observations).
        env_id: a registered pkgym env id.
        cohort: patients to pin, one row each (``id`` column required).
        seed: root seed of the noise streams (slot i uses ``seed + i``).
        env_kwargs: extra ``make_vec`` keyword arguments (e.g. ``scenario``).

    Returns:
        Columns ``id``, ``policy``, ``<metric>_<step>`` for each of :data:`STEP_METRICS` and
        each step (0-based), ``return``, ``had_aki`` and ``in_target_range_fraction`` (the
        share of steps ending with AUC24 in range).

    Examples:
        >>> import pkgym
        >>> from pkgym.populations.vancomycin import ADULT_INPATIENTS
        >>> class Fixed:
        ...     name, reads_hidden_state = "1 g", False
        ...     def reset(self, n_envs): self.n = n_envs
        ...     def act(self, observation, info=None): return np.full(self.n, 1000.0)
        >>> table = run_policy(Fixed(), "pkgym/Vancomycin-v0", ADULT_INPATIENTS.sample(3, 0), 1)
        >>> table.shape, table["dose_mg_0"].tolist()
        ((3, 75), [1000.0, 1000.0, 1000.0])
    """
    if "id" not in cohort.columns or len(cohort) == 0:
        raise ValueError("cohort must be a non-empty DataFrame with an 'id' column")
    n = len(cohort)
    env = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point",
                       **dict(env_kwargs or {}))
    shell = cast(DosingVectorEnv, env.unwrapped)
    core = shell.core
    obs, info = env.reset(seed=seed, options={"patients": cohort.reset_index(drop=True)})
    policy.reset(n)
    columns: dict[str, Any] = {"id": cohort["id"].to_numpy(), "policy": policy.name}
    total, done, step = np.zeros(n), np.zeros(n, dtype=bool), 0
    while not done.all():
        doses = np.asarray(policy.act(obs, info), dtype=np.float64)
        actions = doses_to_actions(doses, core.dose_levels_mg, shell.continuous)
        obs, reward, terminated, truncated, info = env.step(actions)
        total += reward
        done = terminated | truncated
        for key in STEP_METRICS:
            columns[f"{key}_{step}"] = np.asarray(info[key])
        step += 1
    columns.update({"return": total, "had_aki": np.asarray(info["had_aki"]),
                    "in_target_range_fraction": np.mean(
                        [columns[f"in_target_range_{k}"] for k in range(step)], axis=0)})
    env.close()
    return pd.DataFrame(columns)
