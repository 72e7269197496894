"""OPE against the simulator's truth: logged episodes, target policies, true values, tables.

A target policy is one of the project's policy specs (``label``, ``map``, ``sb3:PATH.zip``, ...;
:func:`agents.policies.registry.make_policy`) or any object with ``probabilities(observation,
info) -> (n, n_levels)`` (a stochastic policy, e.g. a behaviour policy). Its probabilities at
the logged states (:func:`target_probabilities`): a deterministic policy puts probability 1 on
the level its dose maps to; every policy is reset once and stepped through the episodes in
order, all episodes at once by step index, so policies that keep state (MAP dosing, trough
nomograms) see each patient's history as they would in the clinic.

Its TRUE value (:func:`true_returns`) is its mean return on the same patients: a vector env
seeded with the dataset's per-patient seeds (patient k of a dataset seeded ``s`` is the env
seeded ``s + k``: same covariates, random effects, assay noise and clinical events).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast, runtime_checkable

import gymnasium as gym
import numpy as np
import pandas as pd
from scipy import stats

from agents.offline.ope import NEEDS_Q, OPEInputs, check_estimators, estimate_with_ci, ratios_of
from agents.offline.ope_fqe import cross_fitted_q, fit_fqe, flatten_observations, q_inputs
from pkgym.envs.base import DosingCore, DosingVectorEnv
from pkgym.evaluation.policy import Policy, checked_decisions


@runtime_checkable
class StochasticPolicy(Protocol):
    """A policy that gives a distribution over the env's dose levels."""

    name: str

    def reset(self, n_envs: int) -> None:
        """Forget the previous patients."""

    def probabilities(self, observation: Mapping[str, np.ndarray],
                      info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """``(n_envs, n_levels)`` action probabilities (rows sum to 1)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LoggedEpisodes:
    """Episodes of one dataset, padded to a common horizon (patients first, then steps).

    Attributes:
        env_id: the env that generated them.
        observations: key -> ``(n, horizon + 1, ...)`` (the last observation repeated after an
            episode's end).
        infos: key -> ``(n, horizon + 1, ...)`` numeric infos at each observation.
        actions: ``(n, horizon)`` logged level indices (0 after the end).
        rewards: ``(n, horizon)`` rewards (0 after the end).
        mask: ``(n, horizon)`` True where the step happened.
        behaviour_probabilities: ``(n, horizon, n_levels)`` logged pi_b.
        seeds: ``(n,)`` each patient's env seed.
        env_kwargs: ``make_vec`` keyword arguments (e.g. ``scenario``).
        patients: the pinned patients (one cohort row each, reset's ``options["patients"]``),
            or None for patients drawn from the seeds.
    """

    env_id: str
    observations: dict[str, np.ndarray]
    infos: dict[str, np.ndarray]
    actions: np.ndarray
    rewards: np.ndarray
    mask: np.ndarray
    behaviour_probabilities: np.ndarray
    seeds: np.ndarray
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    patients: pd.DataFrame | None = None

    @property
    def returns(self) -> np.ndarray:
        """Each episode's undiscounted return, ``(n,)``."""
        return np.where(self.mask, self.rewards, 0.0).sum(axis=1)


def _step(arrays: Mapping[str, np.ndarray], t: int) -> dict[str, np.ndarray]:
    return {key: value[:, t] for key, value in arrays.items()}


def target_probabilities(policy: Policy | StochasticPolicy, episodes: LoggedEpisodes,
                         core: DosingCore) -> np.ndarray:
    """pi_e at every logged state, ``(n, horizon, n_levels)`` (one-hot for a deterministic one).

    The policy is reset for all episodes and stepped through them by step index with the
    logged observations and infos (module docstring).
    """
    n, horizon = episodes.actions.shape
    n_levels = episodes.behaviour_probabilities.shape[2]
    probabilities = np.zeros((n, horizon, n_levels))
    policy.reset(n)
    for t in range(horizon):
        obs, info = _step(episodes.observations, t), _step(episodes.infos, t)
        if isinstance(policy, StochasticPolicy):
            probabilities[:, t] = np.asarray(policy.probabilities(obs, info), dtype=np.float64)
            continue
        decisions = checked_decisions(policy.act(obs, info), policy.name, n)
        levels = np.asarray(core.encode_decisions(decisions, False), dtype=np.int64)
        probabilities[np.arange(n), t, levels] = 1.0
    return probabilities


def true_returns(policy: Policy | StochasticPolicy, episodes: LoggedEpisodes, *,
                 rng: np.random.Generator) -> np.ndarray:
    """The policy's return on each logged patient in the simulator, ``(n,)``.

    Same env, same per-patient seeds (so the same patients and noise streams); a stochastic
    policy's levels are drawn from its probabilities with ``rng``.
    """
    n = episodes.seeds.size
    env = gym.make_vec(episodes.env_id, num_envs=n, vectorization_mode="vector_entry_point",
                       **episodes.env_kwargs)
    core = cast(DosingVectorEnv, env.unwrapped).core
    seeds: Any = [int(s) for s in episodes.seeds]  # VectorEnv.reset takes a list
    options = None if episodes.patients is None else {"patients": episodes.patients}
    obs, info = env.reset(seed=seeds, options=options)
    policy.reset(n)
    total, alive = np.zeros(n), np.ones(n, dtype=bool)
    while alive.any():
        if isinstance(policy, StochasticPolicy):
            p = np.asarray(policy.probabilities(obs, info), dtype=np.float64)
            u = rng.random((n, 1))
            actions = np.minimum((np.cumsum(p, axis=1) < u).sum(axis=1), p.shape[1] - 1)
        else:
            decisions = checked_decisions(policy.act(obs, info), policy.name, n)
            actions = np.asarray(core.encode_decisions(decisions, False))
        obs, reward, terminated, truncated, info = env.step(actions)
        total += np.where(alive, reward, 0.0)
        alive &= ~(terminated | truncated)
    env.close()
    return total


def ope_inputs(episodes: LoggedEpisodes, target: np.ndarray, estimators: Sequence[str], *,
               rng: np.random.Generator) -> dict[str, OPEInputs]:
    """The estimators' inputs; FQE on all episodes, DR/WDR on a 2-fold cross-fitted Q."""
    ratios = ratios_of(target, episodes.behaviour_probabilities, episodes.actions,
                       episodes.mask)
    base = OPEInputs(rewards=episodes.rewards, mask=episodes.mask, ratios=ratios)
    out = {name: base for name in estimators if name not in NEEDS_Q}
    if not any(name in NEEDS_Q for name in estimators):
        return out
    states = flatten_observations(episodes.observations)
    args = (states, episodes.actions, episodes.rewards, episodes.mask, target)
    for name in estimators:
        if name == "fqe":
            q = fit_fqe(*args)
        elif name in NEEDS_Q:
            q = cross_fitted_q(*args, rng=rng)
        else:
            continue
        q_taken, v_states = q_inputs(q, episodes.actions, target)
        out[name] = OPEInputs(rewards=episodes.rewards, mask=episodes.mask, ratios=ratios,
                              q_taken=q_taken, v_states=v_states)
    return out


def evaluate_targets(episodes: LoggedEpisodes, policies: Mapping[str, Policy | StochasticPolicy],
                     core: DosingCore, *, estimators: Sequence[str], reps: int,
                     seed: int) -> pd.DataFrame:
    """One row per (policy, estimator): estimate, CI, SE, true value and error.

    Columns: ``policy``, ``estimator``, ``estimate``, ``ci_low``, ``ci_high``, ``se``,
    ``true_value`` (the simulator's mean return on the same patients), ``true_se``,
    ``error`` (estimate - truth), ``covered`` (truth inside the CI), ``n_episodes``.
    """
    check_estimators(tuple(estimators))
    rng = np.random.default_rng(seed)
    rows = []
    for name, policy in policies.items():
        target = target_probabilities(policy, episodes, core)
        truth = true_returns(policy, episodes, rng=rng)
        inputs = ope_inputs(episodes, target, estimators, rng=rng)
        for estimator in estimators:
            point, low, high, se = estimate_with_ci(inputs[estimator], estimator, reps=reps,
                                                    rng=rng)
            rows.append({"policy": name, "estimator": estimator, "estimate": point,
                         "ci_low": low, "ci_high": high, "se": se,
                         "true_value": float(truth.mean()),
                         "true_se": float(truth.std(ddof=1) / np.sqrt(truth.size)),
                         "error": point - float(truth.mean()),
                         "covered": bool(low <= truth.mean() <= high),
                         "n_episodes": int(episodes.seeds.size)})
    return pd.DataFrame(rows)


def rank_correlations(table: pd.DataFrame) -> pd.DataFrame:
    """Per estimator, Spearman's rank correlation of estimates vs true values across policies.

    Examples:
        >>> t = pd.DataFrame({"estimator": ["is"] * 3, "estimate": [1.0, 2.0, 3.0],
        ...                   "true_value": [10.0, 30.0, 20.0]})
        >>> rank_correlations(t)["spearman"].round(2).tolist()
        [0.5]
    """
    rows = []
    for estimator, group in table.groupby("estimator", sort=False):
        rho = (float(stats.spearmanr(group["estimate"], group["true_value"]).statistic)
               if len(group) >= 3 else float("nan"))
        rows.append({"estimator": estimator, "spearman": rho, "n_policies": len(group)})
    return pd.DataFrame(rows)


class BehaviourTarget:
    """The dataset's own behaviour policy as a target (:class:`StochasticPolicy`).

    Wraps :class:`agents.offline.behaviour.BehaviourPolicy`; its clinicians are assigned to
    the patients by their seeds, as when the dataset was written.
    """

    reads_hidden_state = False

    def __init__(self, behaviour: Any, seeds: np.ndarray, name: str = "behaviour") -> None:
        """Keep the behaviour policy and the patients' seeds."""
        self.behaviour, self.seeds, self.name = behaviour, [int(s) for s in seeds], name

    def reset(self, n_envs: int) -> None:
        """Assign the clinicians again (same seeds, same assignment)."""
        if n_envs != len(self.seeds):
            raise ValueError(f"behaviour target: {n_envs} envs, {len(self.seeds)} seeds")
        self.behaviour.reset(self.seeds)

    def probabilities(self, observation: Mapping[str, np.ndarray],
                      info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """The behaviour distribution ``(n, n_levels)``."""
        return np.asarray(self.behaviour.act(observation, info or {})[1], dtype=np.float64)


def load_episodes(path: Any) -> tuple[LoggedEpisodes, dict[str, Any]]:
    """A ``pkgym dataset --format minari`` dataset as padded episodes, and its metadata.

    Reads it through Minari (:func:`agents.offline.dataset.load_pkgym_dataset`); the
    behaviour probabilities of step t are the logged ``infos`` row t (its last row, after the
    final step, is NaN); each episode's seed and pinned patient come from Minari's episode
    metadata.
    """
    from agents.offline.dataset import load_pkgym_dataset

    data, meta = load_pkgym_dataset(path)
    episodes = list(data.iterate_episodes())
    extra = list(data.storage.get_episode_metadata(range(len(episodes))))
    horizon = max(len(e.actions) for e in episodes)
    n = len(episodes)

    def padded(values: np.ndarray, length: int) -> np.ndarray:  # repeat the last row
        return np.concatenate([values, np.repeat(values[-1:], length - len(values), 0)])
    observations = {k: np.stack([padded(np.asarray(e.observations[k]), horizon + 1)
                                 for e in episodes]) for k in episodes[0].observations}
    infos = {k: np.stack([padded(np.asarray(e.infos[k]), horizon + 1) for e in episodes])
             for k, v in episodes[0].infos.items() if np.asarray(v).ndim >= 1}
    mask = np.zeros((n, horizon), dtype=bool)
    actions, rewards = np.zeros((n, horizon), dtype=np.int64), np.zeros((n, horizon))
    for i, e in enumerate(episodes):
        steps = len(e.actions)
        mask[i, :steps], actions[i, :steps], rewards[i, :steps] = True, e.actions, e.rewards
    probabilities = np.nan_to_num(infos["behaviour_probabilities"][:, :horizon], nan=1.0)
    patients = pd.DataFrame([dict(m["options"]["patient"]) for m in extra])
    scenario = meta.get("scenario")
    return LoggedEpisodes(
        env_id=meta["env_id"], observations=observations, infos=infos, actions=actions,
        rewards=rewards, mask=mask, behaviour_probabilities=probabilities,
        seeds=np.array([int(m["seed"]) for m in extra]), patients=patients,
        env_kwargs={} if scenario is None else {"scenario": scenario}), meta
