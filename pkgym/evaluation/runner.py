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

from pkgym.envs.base import DosingCore, DosingVectorEnv
from pkgym.evaluation.outcomes import outcome_spec
from pkgym.evaluation.policy import Policy, checked_decisions, patient_of


def run_policy(policy: Policy, env_id: str, cohort: pd.DataFrame, seed: int,
               env_kwargs: Mapping[str, Any] | None = None, *,
               first_row: int = 0) -> pd.DataFrame:
    """One episode per cohort row; one result row per patient.

    Args:
        policy: the policy (decisions, usually doses in mg, from batched observations).
        env_id: a registered pkgym env id.
        cohort: patients to pin, one row each (``id`` column required).
        seed: root seed of the noise streams (slot i uses ``seed + first_row + i``).
        env_kwargs: extra ``make_vec`` keyword arguments (e.g. ``scenario``).
        first_row: index of ``cohort``'s first row in the whole cohort when it is a shard
            (rows ``first_row ..``), so that a row gets the same noise streams in any shard.

    A patient whose episode ended early (terminated) keeps its results: later steps of its
    env slot (a new patient after the autoreset) are NaN in its columns and add no reward.

    The policy's decisions are checked at every step (:func:`~pkgym.evaluation.policy.
    checked_decisions`): ``None``, NaN, infinite or non-real values, the wrong number of
    patients and doses outside the env's range (negative, or above its top dose level) are
    refused with a one-line ``ValueError`` naming the policy and the patient, never clipped.

    Returns:
        Columns ``id``, ``policy``, ``<metric>_<step>`` for each step metric of the env's
        :class:`~pkgym.evaluation.outcomes.OutcomeSpec` and each step (0-based), its score
        columns (e.g. ``in_target_range_fraction`` and ``had_aki`` for vancomycin) and
        ``return``.

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
    if first_row < 0:
        raise ValueError(f"first_row must be >= 0, got {first_row}")
    env = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point",
                       **dict(env_kwargs or {}))
    shell = cast(DosingVectorEnv, env.unwrapped)
    core = shell.core
    seeds: Any = [seed + first_row + i for i in range(n)]  # VectorEnv.reset takes a list
    obs, info = env.reset(seed=seeds, options={"patients": cohort.reset_index(drop=True)})
    policy.reset(n)
    spec = outcome_spec(core)
    first_info = {key: np.asarray(value) for key, value in info.items()}
    ids = cohort["id"].to_numpy()
    columns: dict[str, Any] = {"id": ids, "policy": policy.name}
    steps: dict[str, list[np.ndarray]] = {key: [] for key in spec.step_metrics}
    total, alive = np.zeros(n), np.ones(n, dtype=bool)
    while alive.any():
        decisions = checked_decisions(policy.act(obs, info), policy.name, ids)
        obs, reward, terminated, truncated, info = env.step(
            _actions(core, decisions, shell.continuous, policy.name, ids))
        total += np.where(alive, reward, 0.0)
        for key in spec.step_metrics:
            steps[key].append(_while_alive(np.asarray(info[key]), alive))
        alive &= ~(terminated | truncated)
    env.close()
    table = {key: np.stack(values, axis=1) for key, values in steps.items()}
    for key, values in table.items():
        columns.update({f"{key}_{k}": values[:, k] for k in range(values.shape[1])})
    columns.update(spec.episode_scores(table, first_info))
    columns["return"] = total
    return pd.DataFrame(columns)


def _actions(core: DosingCore, decisions: np.ndarray, continuous: bool, policy_name: str,
             ids: np.ndarray) -> np.ndarray:
    """The env's actions for the decisions; an error naming the policy (and patient) if none."""
    try:
        return core.encode_decisions(decisions, continuous)
    except ValueError as error:
        row = getattr(error, "row", None)
        who = f"policy {policy_name!r}" if row is None else patient_of(policy_name, ids, row)
        raise ValueError(f"{who}: {error}") from None


def _while_alive(values: np.ndarray, alive: np.ndarray) -> np.ndarray:
    """``values`` where the patient's episode is still running, NaN after it ended."""
    if alive.all():
        return values
    return np.where(alive, values.astype(np.float64), np.nan)
