"""DAgger's data: courses rolled out under a teacher/student mixture, labelled by the teacher.

:class:`TeacherRollout` runs batches of pinned training patients; at each decision the
teacher acts on the raw observation (and ``info``), the behaviour follows it with probability
``beta`` and the student otherwise, and every visited state is labelled with the teacher's
decision (a dose level, or the scaled dose of a continuous action). :class:`Labels` holds the
aggregate with each state's discounted return-to-go and its course, whose tenth is held out
for validation. Used by :func:`agents.rl.imitation.dagger`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd

from agents.env_hooks import make_baseline
from agents.rl.sb3_vec_env import PatientCycle
from pkgym.envs.base import DosingCore
from pkgym.evaluation.policy import Policy

Observe = Callable[[DosingCore, dict[str, np.ndarray]], dict[str, np.ndarray]]
"""What the student sees of the env's batched observation (``None``: the observation)."""
MakeTeacher = Callable[[str, DosingCore], Policy]
"""Builds the teacher from its spec and the rollout env's core: :func:`make_baseline` (the
env's baseline names) by default, or :func:`agents.policies.registry.make_policy` (any policy
spec; handed in by the caller, since ``agents.rl`` must not import ``agents.policies``)."""
VALIDATION_FRACTION = 0.1
"""Share of each round's episodes held out for validation accuracy."""


@dataclass
class Labels:
    """Aggregated teacher labels (one row per visited state).

    Attributes:
        observations: what the student sees, each array (n_labels, ...).
        actions: the teacher's action level, (n_labels,).
        returns: discounted return-to-go from the state (times ``reward_scale``), (n_labels,).
        episodes: the state's course (0, 1, ... in the order rolled out), (n_labels,).
        validation: the state's course is held out, (n_labels,).
    """

    observations: dict[str, np.ndarray]
    actions: np.ndarray
    returns: np.ndarray
    episodes: np.ndarray
    validation: np.ndarray

    def __len__(self) -> int:
        """Number of labels."""
        return int(self.actions.size)

    def extend(self, other: Labels) -> Labels:
        """These labels followed by ``other``'s (whose courses are numbered after these)."""
        if len(self) == 0:
            return other
        first = int(self.episodes.max()) + 1
        return Labels({k: np.concatenate([v, other.observations[k]])
                       for k, v in self.observations.items()},
                      np.concatenate([self.actions, other.actions]),
                      np.concatenate([self.returns, other.returns]),
                      np.concatenate([self.episodes, other.episodes + first]),
                      np.concatenate([self.validation, other.validation]))

    def head(self, n: int) -> Labels:
        """The first ``n`` labels."""
        return Labels({k: v[:n] for k, v in self.observations.items()}, self.actions[:n],
                      self.returns[:n], self.episodes[:n], self.validation[:n])

    def hold_out(self, rng: np.random.Generator) -> Labels:
        """These labels with one course in ten (at least one of two or more) held out."""
        courses = np.unique(self.episodes)
        held = np.zeros(0, dtype=courses.dtype)
        if courses.size >= 2:
            size = max(1, round(VALIDATION_FRACTION * courses.size))
            held = rng.choice(courses, size=size, replace=False)
        return Labels(self.observations, self.actions, self.returns, self.episodes,
                      np.isin(self.episodes, held))


class TeacherRollout:
    """Batches of pinned courses under the teacher/student mixture, labelled by the teacher."""

    def __init__(self, env: Any, core: DosingCore, teacher: Policy, model: Any,
                 patients: PatientCycle, rng: np.random.Generator,
                 observe: Observe | None) -> None:
        """Roll out ``env`` (its core, the teacher, the student ``model``) on ``patients``."""
        self.env, self.core, self.teacher, self.model = env, core, teacher, model
        self.patients, self.rng, self.observe = patients, rng, observe
        self.continuous = isinstance(env.single_action_space, gym.spaces.Box)

    def collect(self, quota: int, beta: float, gamma: float, reward_scale: float) -> Labels:
        """At least ``quota`` labels in whole batches of courses, then the first ``quota``."""
        labels: Labels | None = None
        while labels is None or len(labels) < quota:
            batch = self.batch(beta, gamma, reward_scale)
            labels = batch if labels is None else labels.extend(batch)
        return labels.head(quota).hold_out(self.rng)

    def batch(self, beta: float, gamma: float, reward_scale: float) -> Labels:
        """One course per env slot; labels ordered patient by patient, step by step."""
        n = self.env.num_envs
        seeds = [int(s) for s in self.rng.integers(0, 2**31 - 1, size=n)]
        obs, info = self.env.reset(seed=seeds, options={"patients": self.patients.take(n)})
        self.teacher.reset(n)
        seen, actions, rewards, alive_steps = [], [], [], []
        alive = np.ones(n, dtype=bool)
        while alive.any():
            labels = np.asarray(self.core.encode_decisions(
                np.asarray(self.teacher.act(obs, info)), self.continuous)).reshape(n, -1)
            view = dict(obs) if self.observe is None else self.observe(self.core, dict(obs))
            follow = self.rng.random(n) < beta
            taken = labels if follow.all() else np.where(
                follow[:, None], labels, self._student(view).reshape(n, -1))
            seen.append({k: np.asarray(v).copy() for k, v in view.items()})
            actions.append(labels)
            alive_steps.append(alive.copy())
            obs, reward, terminated, truncated, info = self.env.step(
                taken.astype(np.float32) if self.continuous else taken[:, 0].astype(np.int64))
            rewards.append(np.where(alive, reward, 0.0) * reward_scale)
            alive &= ~(terminated | truncated)
        return self._labels(seen, actions, np.stack(rewards), np.stack(alive_steps), gamma)

    def _student(self, view: dict[str, np.ndarray]) -> np.ndarray:
        """The student's deterministic (argmax) action levels."""
        actions, _ = self.model.policy.predict(view, deterministic=True)
        return np.asarray(actions).reshape(-1)

    def _labels(self, seen: list[dict[str, np.ndarray]], actions: list[np.ndarray],
                rewards: np.ndarray, alive: np.ndarray, gamma: float) -> Labels:
        """Labels of the live (patient, step) pairs, patient by patient (none held out)."""
        returns = returns_to_go(rewards, alive, gamma)  # (steps, n)
        order = np.argwhere(alive.T)  # (labels, 2): patient, step, patient-major
        patient, step = order[:, 0], order[:, 1]
        observations = {k: np.stack([s[k] for s in seen])[step, patient] for k in seen[0]}
        chosen = np.stack(actions)[step, patient]  # (labels, 1): a level or a scaled dose
        chosen = chosen.astype(np.float32) if self.continuous else chosen[:, 0].astype(np.int64)
        return Labels(observations, chosen,
                      returns[step, patient].astype(np.float32), patient,
                      np.zeros(patient.size, dtype=bool))


def returns_to_go(rewards: np.ndarray, alive: np.ndarray, gamma: float) -> np.ndarray:
    """Discounted reward-to-go of every step, (steps, n); zero after an episode ends.

    Examples:
        >>> alive = np.array([[True, True], [True, False]])
        >>> returns_to_go(np.array([[1.0, 2.0], [1.0, 0.0]]), alive, 0.5).tolist()
        [[1.5, 2.0], [1.0, 0.0]]
    """
    out = np.zeros_like(rewards, dtype=np.float64)
    running = np.zeros(rewards.shape[1])
    for t in range(rewards.shape[0] - 1, -1, -1):
        running = np.where(alive[t], rewards[t] + gamma * running, 0.0)
        out[t] = running
    return out


def teacher_labels(teacher: str, *, env_id: str, env_kwargs: dict[str, Any],
                   patients: pd.DataFrame, seed: int, observe: Observe | None = None,
                   make_teacher: MakeTeacher = make_baseline) -> Labels:
    """The teacher's own courses of ``patients`` (one env slot each), labelled by it.

    Noise is seeded from ``seed``; no course is flagged ``validation``.
    """
    env = gym.make_vec(env_id, num_envs=len(patients), vectorization_mode="vector_entry_point",
                       **env_kwargs)
    core: DosingCore = env.unwrapped.core  # type: ignore[attr-defined]
    rollout = TeacherRollout(env, core, make_teacher(teacher, core), None,
                       PatientCycle(patients, seed), np.random.default_rng(seed), observe)
    labels = rollout.batch(1.0, 1.0, 1.0)  # beta = 1: the student is never asked
    env.close()
    return labels
