"""DAgger: a teacher policy's decisions imitated by the actor of an SB3 on-policy model.

Dataset Aggregation (Ross, Gordon & Bagnell 2011, "A reduction of imitation learning and
structured prediction to no-regret online learning", AISTATS) in the shape of the paper's
Algorithm 3.1:

1. round 0 rolls out the teacher itself (``beta = 1``); round ``i`` rolls out a mixture that
   follows the teacher with probability ``beta_i = 0.5**i`` and the current student
   otherwise (drawn per patient and step from a seeded Generator);
2. every visited state is labelled with the teacher's action (the teacher acts on the raw
   observation and ``info``, so privileged teachers such as ``oracle`` work; the student only
   ever sees the observation, through ``observe`` when it reads a history);
3. the labels of all rounds are aggregated and the actor is refit by cross-entropy of the
   teacher's action level under the policy's distribution (for a continuous dose, the
   likelihood of the teacher's dose scaled as the env scales it), and optionally the critic by
   mean squared error against the episodes' discounted returns-to-go.

Patients are pinned from the training cohort (shuffled passes, :class:`PatientCycle`), assay
noise seeded from ``seed``: the same seed gives the same weights. One episode in ten (per
round, at least one when the round has two) is held out to measure validation accuracy, by
episode rather than by state because the states of one course are strongly correlated.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd
import torch
from stable_baselines3 import A2C, PPO

import pkgym  # noqa: F401  (registers the environments)
from agents.env_hooks import make_baseline
from agents.rl.imitation_data import (
    Labels,
    MakeTeacher,
    Observe,
    TeacherRollout,
)
from agents.rl.sb3_vec_env import PatientCycle
from pkgym.envs.base import DosingCore


@dataclass(frozen=True, slots=True, kw_only=True)
class ImitationConfig:
    """Settings of :func:`dagger`.

    Attributes:
        teacher: the teacher's spec: one of the env's baselines (``map``, ``oracle``, ...),
            or any policy spec when :func:`dagger` is given ``make_policy`` (``map:prior=...``).
        n_labels: teacher-labelled decisions in all, over all rounds (split evenly).
        n_iterations: DAgger rounds; round ``i`` follows the teacher with probability
            ``0.5**i`` (round 0 is pure behaviour cloning of the teacher's own courses).
        epochs: passes over the aggregated labels after each round.
        batch_size: labels per gradient step.
        learning_rate: Adam's step size (a fresh optimiser; the model's own is untouched).
        value_pretrain: also regress the critic on discounted returns-to-go.

    Examples:
        >>> ImitationConfig(teacher="oracle", n_labels=300).n_iterations
        4
        >>> ImitationConfig(teacher="oracle", epochs=0)
        Traceback (most recent call last):
        ...
        ValueError: epochs must be an integer >= 1, got 0
    """

    teacher: str
    n_labels: int = 20_000
    n_iterations: int = 4
    epochs: int = 20
    batch_size: int = 256
    learning_rate: float = 1e-3
    value_pretrain: bool = True

    def __post_init__(self) -> None:
        """Validate every field (one line naming it and what is allowed)."""
        if not isinstance(self.teacher, str) or not self.teacher:
            raise ValueError(f"teacher must be a policy spec such as 'map' or 'oracle', got "
                             f"{self.teacher!r}")
        for name in ("n_iterations", "epochs", "batch_size"):
            _check_int(name, getattr(self, name), 1)
        _check_int("n_labels", self.n_labels, 10 * self.n_iterations)
        if not isinstance(self.learning_rate, float | int) or not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be a number > 0, got {self.learning_rate!r}")
        if not isinstance(self.value_pretrain, bool):
            raise ValueError(f"value_pretrain must be True or False, got {self.value_pretrain!r}")


def dagger(model: Any, config: ImitationConfig, *, env_id: str, env_kwargs: dict[str, Any],
           training: pd.DataFrame, seed: int, n_envs: int, observe: Observe | None = None,
           gamma: float = 0.99, reward_scale: float = 1.0,
           make_teacher: MakeTeacher = make_baseline) -> pd.DataFrame:
    """Train ``model.policy`` in place to act as ``config.teacher`` does (DAgger).

    Args:
        model: a PPO or A2C model (discrete actions), e.g. from
            :func:`agents.rl.training.new_model`.
        config: the imitation settings.
        env_id: registered pkgym env id.
        env_kwargs: its ``make_vec`` keyword arguments (``scenario``, ...).
        training: the training cohort whose patients the rollouts pin (shuffled passes).
        seed: seeds the patient order, the assay noise, the teacher/student draws, the
            held-out episodes, the minibatches and torch.
        n_envs: patients rolled out together.
        observe: the student's view of the batched observation, e.g.
            :func:`pkgym.wrappers.history.observed_history` for a VAE encoder.
        gamma: discount of the value targets (use the algorithm's).
        reward_scale: factor on the env's rewards in the value targets. 1 keeps clinical
            units; training with ``VecNormalize`` reward scaling makes the critic see scaled
            returns, so pass the scale there (the critic relearns its scale either way).
        make_teacher: builds the teacher (see :data:`MakeTeacher`); an unknown spec fails
            here, before any rollout.

    Returns:
        One row per round: ``round``, ``beta``, ``n_labels_total``, ``train_accuracy``,
        ``validation_accuracy`` (argmax action equals the teacher's), ``cross_entropy``,
        ``value_mse`` (NaN without value pretraining) and ``wall_time_s`` (since the start).
    """
    _check_model(model)
    env = gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="vector_entry_point",
                       **env_kwargs)
    core: DosingCore = env.unwrapped.core  # type: ignore[attr-defined]
    teacher = make_teacher(config.teacher, core)
    started, rng = time.perf_counter(), np.random.default_rng(seed)
    torch.manual_seed(seed)
    rollout = TeacherRollout(env, core, teacher, model, PatientCycle(training, seed), rng, observe)
    optimizer = torch.optim.Adam(model.policy.parameters(), lr=config.learning_rate)
    labels: Labels | None = None
    rows = []
    for round_, quota in enumerate(_quotas(config.n_labels, config.n_iterations)):
        beta = 0.5 ** round_
        new = rollout.collect(quota, beta, gamma, reward_scale)
        labels = new if labels is None else labels.extend(new)
        data = _tensors(model, labels)
        for _ in range(config.epochs):
            _fit_epoch(model, optimizer, data, config, rng)
        rows.append({"round": round_, "beta": beta, "n_labels_total": len(labels),
                     **_scores(model, data, config.value_pretrain),
                     "wall_time_s": time.perf_counter() - started})
    env.close()
    model.policy.set_training_mode(False)
    return pd.DataFrame(rows)


def _check_model(model: Any) -> None:
    """Refuse anything but PPO or A2C with dose levels or one continuous dose (one line)."""
    space = getattr(model, "action_space", None)
    one_dose = isinstance(space, gym.spaces.Box) and space.shape == (1,)
    if not isinstance(model, PPO | A2C) or not (isinstance(space, gym.spaces.Discrete)
                                                or one_dose):
        raise ValueError(f"model must be a PPO or A2C model with a Discrete or a one-dose Box "
                         f"action space, got "
                         f"{type(model).__name__} with {getattr(model, 'action_space', None)}")


def _quotas(n_labels: int, n_rounds: int) -> list[int]:
    """``n_labels`` split over ``n_rounds`` as evenly as integers allow.

    Examples:
        >>> _quotas(10, 3)
        [4, 3, 3]
    """
    base, extra = divmod(n_labels, n_rounds)
    return [base + (i < extra) for i in range(n_rounds)]


def _tensors(model: Any, labels: Labels) -> dict[str, Any]:
    """The labels as tensors on the model's device (observations as SB3 converts them)."""
    observations, _ = model.policy.obs_to_tensor(labels.observations)
    device = model.policy.device
    return {"obs": observations, "actions": torch.as_tensor(labels.actions, device=device),
            "returns": torch.as_tensor(labels.returns, device=device),
            "train": np.flatnonzero(~labels.validation),
            "validation": np.flatnonzero(labels.validation)}


def _fit_epoch(model: Any, optimizer: torch.optim.Optimizer, data: dict[str, Any],
               config: ImitationConfig, rng: np.random.Generator) -> None:
    """One pass over the training labels in shuffled minibatches."""
    policy = model.policy
    policy.set_training_mode(True)
    rows = rng.permutation(data["train"])
    for start in range(0, rows.size, config.batch_size):
        index = torch.as_tensor(rows[start:start + config.batch_size], device=policy.device)
        cross_entropy, value_mse = _losses(model, data, index, config.value_pretrain)
        loss = cross_entropy if value_mse is None else (
            cross_entropy + float(model.vf_coef) * value_mse)
        optimizer.zero_grad()
        loss.backward()  # no norm clipping: the critic's large errors would shrink the actor's
        optimizer.step()


def _losses(model: Any, data: dict[str, Any], index: torch.Tensor,
            value_pretrain: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Cross-entropy of the teacher's actions, and the critic's squared error (or None)."""
    obs = {k: v[index] for k, v in data["obs"].items()}
    distribution = model.policy.get_distribution(obs)
    cross_entropy = -distribution.log_prob(data["actions"][index]).mean()
    if not value_pretrain:
        return cross_entropy, None
    values = model.policy.predict_values(obs).flatten()
    return cross_entropy, torch.nn.functional.mse_loss(values, data["returns"][index])


def _scores(model: Any, data: dict[str, Any], value_pretrain: bool) -> dict[str, float]:
    """Accuracy on the training and held-out labels; losses on the training labels."""
    policy = model.policy
    policy.set_training_mode(False)
    out: dict[str, float] = {}
    with torch.no_grad():
        for name in ("train", "validation"):
            rows = data[name]
            if rows.size == 0:
                out[f"{name}_accuracy"] = float("nan")
                continue
            index = torch.as_tensor(rows, device=policy.device)
            obs = {k: v[index] for k, v in data["obs"].items()}
            chosen = policy.get_distribution(obs).mode()
            out[f"{name}_accuracy"] = _agree(chosen, data["actions"][index])
        index = torch.as_tensor(data["train"], device=policy.device)
        cross_entropy, value_mse = _losses(model, data, index, value_pretrain)
    out["cross_entropy"] = float(cross_entropy)
    out["value_mse"] = float("nan") if value_mse is None else float(value_mse)
    return out


def agreement(model: Any, labels: Labels) -> float:
    """Share of the labelled states where the model's argmax action is the teacher's."""
    _check_model(model)
    data = _tensors(model, labels)
    with torch.no_grad():
        model.policy.set_training_mode(False)
        chosen = model.policy.get_distribution(data["obs"]).mode()
    return _agree(chosen, data["actions"])


def _agree(chosen: torch.Tensor, teacher: torch.Tensor) -> float:
    """Share of decisions equal to the teacher's.

    The same level, or (one continuous dose on [-1, 1]) within :data:`DOSE_TOLERANCE` of the
    teacher's scaled dose.
    """
    if teacher.is_floating_point():
        return float(((chosen.reshape(teacher.shape) - teacher).abs() <= DOSE_TOLERANCE)
                     .float().mean())
    return float((chosen == teacher).float().mean())


DOSE_TOLERANCE = 0.05
"""A continuous dose agrees with the teacher's within 0.05 on the [-1, 1] scale (2.5% of the
dose range; warfarin's 31 tablet levels are 0.067 apart there)."""


def majority_share(labels: Labels) -> float:
    """Share of the teacher's most frequent action: the agreement of a constant guess.

    Examples:
        >>> labels = Labels({"x": np.zeros((4, 1))}, np.array([0, 0, 1, 2]), np.zeros(4),
        ...                 np.arange(4), np.zeros(4, bool))
        >>> majority_share(labels)
        0.5
    """
    _, counts = np.unique(labels.actions, return_counts=True, axis=0)
    return float(counts.max() / len(labels))


def _check_int(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
