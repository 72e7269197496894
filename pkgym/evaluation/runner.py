"""Run dosing policies on a fixed cohort in the batched env, with identical noise for all.

Every policy sees the same pinned patients, and the same seed gives every env slot the same
assay-noise and clinical-event streams, so differences between policies are paired.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, cast

import gymnasium as gym
import numpy as np
import pandas as pd

from pkgym.envs.base import DosingCore, DosingVectorEnv
from pkgym.evaluation.outcomes import outcome_spec
from pkgym.evaluation.policy import Policy, checked_decisions, patient_of

_STEP_HOOK: ContextVar[Callable[[int], None] | None] = ContextVar("step_hook", default=None)


@contextmanager
def reporting_steps(hook: Callable[[int], None]) -> Iterator[None]:
    """Within the block, :func:`run_policy` calls ``hook(n)`` after each batched step.

    ``n`` is the number of patients that step advanced (a progress bar's unit: patient-steps).

    Examples:
        >>> seen = []
        >>> with reporting_steps(seen.append):
        ...     _STEP_HOOK.get() is not None
        True
        >>> _STEP_HOOK.get() is None
        True
    """
    token = _STEP_HOOK.set(hook)
    try:
        yield
    finally:
        _STEP_HOOK.reset(token)


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
    moved = 0
    while alive.any():
        decisions = checked_decisions(policy.act(obs, info), policy.name, ids)
        actions = _actions(core, decisions, shell.continuous, policy.name, ids)
        moved += _moved(core, decisions, actions, alive, shell.continuous)
        obs, reward, terminated, truncated, info = env.step(actions)
        hook = _STEP_HOOK.get()
        if hook is not None:
            hook(int(alive.sum()))
        total += np.where(alive, reward, 0.0)
        for key in spec.step_metrics:
            steps[key].append(_while_alive(np.asarray(info[key]), alive))
        alive &= ~(terminated | truncated)
    env.close()
    if moved:
        warn_rounded(policy.name, moved, core.dose_levels_mg)
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


def _moved(core: DosingCore, decisions: np.ndarray, actions: np.ndarray, alive: np.ndarray,
           continuous: bool) -> int:
    """How many live decisions the env's actions do not give back exactly (moved to a level).

    The round trip ``decode_actions(encode_decisions(d))`` is the env's own: what a decision
    means (a dose in mg, a trial's next level) is the env's business.
    """
    given = np.asarray(core.decode_actions(actions, continuous, alive.size))
    asked = np.asarray(decisions)
    if given.shape != asked.shape or not np.issubdtype(asked.dtype, np.number):
        return 0
    same = np.isclose(asked.astype(float), given.astype(float))
    if same.ndim > 1:  # a decision of several parts (warfarin: dose and next test day)
        same = same.reshape(same.shape[0], -1).all(axis=1)
    return int(np.sum(alive & ~same))


def warn_rounded(policy_name: str, moved: int, levels_mg: np.ndarray) -> None:
    """Say (a ``UserWarning``) that ``moved`` doses were given as the nearest dose level.

    Examples:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     warn_rounded("mine:f", 3, np.array([0.0, 250.0, 500.0]))
        >>> print(caught[0].message)  # doctest: +NORMALIZE_WHITESPACE
        policy 'mine:f': 3 doses were not among the env's 3 dose levels (0 to 500, in
        the env's dose unit) and were given as the nearest level
    """
    warnings.warn(f"policy {policy_name!r}: {moved} doses were not among the env's "
                  f"{levels_mg.size} dose levels ({levels_mg.min():g} to {levels_mg.max():g}, "
                  "in the env's dose unit) and were given as the nearest level", UserWarning,
                  stacklevel=2)


def _while_alive(values: np.ndarray, alive: np.ndarray) -> np.ndarray:
    """``values`` where the patient's episode is still running, NaN after it ended."""
    if alive.all():
        return values
    return np.where(alive, values.astype(np.float64), np.nan)
