"""Discrete-action offline RL in torch: behaviour cloning, CQL and IQL, each as in its paper.

The issue asked for d3rlpy's implementations; every d3rlpy 2.x pins an old gymnasium
(2.8.1: ``gymnasium==1.0.0`` and ``gym>=0.26``) while pkgym needs gymnasium 1.4, so it cannot
be installed beside pkgym (nor SCOPE-RL, which requires it). The three algorithms are small,
so they are written here, one class each, reading top to bottom:

* :class:`BehaviourCloning`: a classifier of the dataset's actions (cross-entropy).
* :class:`DiscreteCQL`: conservative Q-learning, Kumar et al. 2020, "Conservative Q-Learning
  for Offline Reinforcement Learning" (NeurIPS), CQL(H) for discrete actions (their eq. 4 with
  the logsumexp regulariser; their Atari experiments build it on QR-DQN, d3rlpy's
  ``DiscreteCQL`` on double DQN, as here): the double-DQN TD loss plus
  ``alpha * (logsumexp_a Q(s, a) - Q(s, a_data))``, which pushes down the Q of actions the
  data did not take.
* :class:`DiscreteIQL`: implicit Q-learning, Kostrikov, Nair & Levine 2021, "Offline
  Reinforcement Learning with Implicit Q-Learning" (ICLR 2022): V by expectile regression on
  the target Q of the data's actions (their eq. 5), Q by TD on V (eq. 6), and the policy by
  advantage-weighted regression, ``exp(temperature * (Q - V))`` clipped at 100 (eq. 7).

Every learner sees :class:`Batch` es of flattened observations
(:mod:`agents.offline.features`) and acts greedily: the argmax of its logits (BC, IQL's
policy) or of Q (CQL). The end of an episode (termination, or the env's horizon, which ends
the treatment course) has no value after it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

ALGOS = ("bc", "cql", "iql")


@dataclass(frozen=True, slots=True)
class OfflineConfig:
    """Hyperparameters of the three learners (values ours unless a paper is named).

    Attributes:
        hidden: units of each of the two hidden layers (ReLU).
        learning_rate: Adam step size (3e-4, IQL's Table 3 value, for every network).
        batch_size: transitions per update.
        gamma: discount per decision step (0.99; the episodes are 14 vancomycin doses or 90
            warfarin days, so later outcomes keep most of their weight).
        tau: Polyak rate of the target networks (0.005, IQL's value).
        cql_alpha: CQL's weight of the conservative penalty (1.0: d3rlpy's DiscreteCQL
            default; Kumar et al. 2020 use 0.5-4 on Atari).
        iql_expectile: IQL's expectile of V (0.7: Kostrikov et al. 2021 on MuJoCo tasks).
        iql_temperature: IQL's inverse temperature of the advantage weights (3.0: Kostrikov
            et al. 2021 on MuJoCo tasks).
    """

    hidden: int = 256
    learning_rate: float = 3e-4
    batch_size: int = 256
    gamma: float = 0.99
    tau: float = 0.005
    cql_alpha: float = 1.0
    iql_expectile: float = 0.7
    iql_temperature: float = 3.0

    def __post_init__(self) -> None:
        """Refuse values outside each field's range."""
        if not 0.0 <= self.gamma <= 1.0 or not 0.0 < self.tau <= 1.0:
            raise ValueError(f"gamma must be in [0, 1] and tau in (0, 1], got {self.gamma}, "
                             f"{self.tau}")
        if not 0.0 < self.iql_expectile < 1.0:
            raise ValueError(f"iql_expectile must be in (0, 1), got {self.iql_expectile}")
        if min(self.hidden, self.batch_size) < 1 or min(self.learning_rate, self.cql_alpha,
                                                        self.iql_temperature) < 0:
            raise ValueError("hidden and batch_size must be >= 1; learning_rate, cql_alpha and "
                             "iql_temperature >= 0")


@dataclass(frozen=True, slots=True)
class Batch:
    """Transitions as tensors.

    Features ``(b, d)``, actions ``(b,)`` long, rewards ``(b,)``, next features ``(b, d)``,
    dones ``(b,)`` (1.0 where nothing follows).
    """

    observations: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_observations: torch.Tensor
    dones: torch.Tensor


def mlp(n_in: int, n_out: int, hidden: int) -> nn.Sequential:
    """Two hidden ReLU layers of ``hidden`` units."""
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                         nn.ReLU(), nn.Linear(hidden, n_out))


def soft_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """``target <- (1 - tau) * target + tau * source``, parameter by parameter."""
    with torch.no_grad():
        for t, s in zip(target.parameters(), source.parameters(), strict=True):
            t.mul_(1.0 - tau).add_(s, alpha=tau)


class BehaviourCloning(nn.Module):
    """Behaviour cloning: maximise the log-likelihood of the dataset's actions."""

    def __init__(self, n_features: int, n_actions: int, config: OfflineConfig) -> None:
        """The logits network and its optimiser."""
        super().__init__()
        self.policy = mlp(n_features, n_actions, config.hidden)
        self.optimiser = torch.optim.Adam(self.policy.parameters(), lr=config.learning_rate)

    def update(self, batch: Batch) -> dict[str, float]:
        """One cross-entropy step."""
        loss = F.cross_entropy(self.policy(batch.observations), batch.actions)
        self.optimiser.zero_grad()
        loss.backward()
        self.optimiser.step()
        return {"loss": loss.item()}

    def scores(self, features: torch.Tensor) -> torch.Tensor:
        """``(b, n_actions)`` logits; the greedy action is their argmax."""
        return self.policy(features)


class DiscreteCQL(nn.Module):
    """CQL(H) on double DQN (Kumar et al. 2020, eq. 4), alpha = ``config.cql_alpha``."""

    def __init__(self, n_features: int, n_actions: int, config: OfflineConfig) -> None:
        """Q network, its Polyak target and the optimiser."""
        super().__init__()
        self.config = config
        self.q = mlp(n_features, n_actions, config.hidden)
        self.q_target = mlp(n_features, n_actions, config.hidden)
        self.q_target.load_state_dict(self.q.state_dict())
        self.q_target.requires_grad_(False)
        self.optimiser = torch.optim.Adam(self.q.parameters(), lr=config.learning_rate)

    def update(self, batch: Batch) -> dict[str, float]:
        """One step of TD loss + alpha * conservative penalty."""
        with torch.no_grad():  # double DQN: the online net picks, the target net values
            next_actions = self.q(batch.next_observations).argmax(dim=1, keepdim=True)
            next_q = self.q_target(batch.next_observations).gather(1, next_actions).squeeze(1)
            target = batch.rewards + self.config.gamma * (1.0 - batch.dones) * next_q
        q_all = self.q(batch.observations)
        q_data = q_all.gather(1, batch.actions[:, None]).squeeze(1)
        td_loss = F.mse_loss(q_data, target)
        penalty = (torch.logsumexp(q_all, dim=1) - q_data).mean()
        loss = td_loss + self.config.cql_alpha * penalty
        self.optimiser.zero_grad()
        loss.backward()
        self.optimiser.step()
        soft_update(self.q_target, self.q, self.config.tau)
        return {"td_loss": td_loss.item(), "cql_penalty": penalty.item()}

    def scores(self, features: torch.Tensor) -> torch.Tensor:
        """``(b, n_actions)`` Q values; the greedy action is their argmax."""
        return self.q(features)


class DiscreteIQL(nn.Module):
    """IQL (Kostrikov et al. 2021): expectile V, Q by TD on V, policy by AWR.

    Twin Q networks with Polyak targets, their minimum valuing the data's actions (as in the
    paper's implementation).
    """

    def __init__(self, n_features: int, n_actions: int, config: OfflineConfig) -> None:
        """Twin Q with targets, V, the policy's logits and one optimiser each."""
        super().__init__()
        self.config = config
        self.q1, self.q2 = (mlp(n_features, n_actions, config.hidden) for _ in range(2))
        self.q1_target, self.q2_target = (mlp(n_features, n_actions, config.hidden)
                                          for _ in range(2))
        for target, source in ((self.q1_target, self.q1), (self.q2_target, self.q2)):
            target.load_state_dict(source.state_dict())
            target.requires_grad_(False)
        self.v = mlp(n_features, 1, config.hidden)
        self.policy = mlp(n_features, n_actions, config.hidden)
        lr = config.learning_rate
        self.q_optimiser = torch.optim.Adam([*self.q1.parameters(), *self.q2.parameters()], lr=lr)
        self.v_optimiser = torch.optim.Adam(self.v.parameters(), lr=lr)
        self.policy_optimiser = torch.optim.Adam(self.policy.parameters(), lr=lr)

    def update(self, batch: Batch) -> dict[str, float]:
        """One step of each of the three losses (V, then Q, then the policy)."""
        actions = batch.actions[:, None]
        with torch.no_grad():
            q_target = torch.minimum(self.q1_target(batch.observations).gather(1, actions),
                                     self.q2_target(batch.observations).gather(1, actions))
        advantage = q_target.squeeze(1) - self.v(batch.observations).squeeze(1)
        weight = torch.abs(self.config.iql_expectile - (advantage < 0).float())  # eq. 5
        v_loss = (weight * advantage**2).mean()
        self._step(self.v_optimiser, v_loss)

        with torch.no_grad():  # eq. 6: Q regresses on r + gamma * V(s')
            next_v = self.v(batch.next_observations).squeeze(1)
            target = batch.rewards + self.config.gamma * (1.0 - batch.dones) * next_v
        q_loss = (F.mse_loss(self.q1(batch.observations).gather(1, actions).squeeze(1), target)
                  + F.mse_loss(self.q2(batch.observations).gather(1, actions).squeeze(1), target))
        self._step(self.q_optimiser, q_loss)
        soft_update(self.q1_target, self.q1, self.config.tau)
        soft_update(self.q2_target, self.q2, self.config.tau)

        with torch.no_grad():  # eq. 7: advantage-weighted regression, weights clipped at 100
            weights = torch.exp(self.config.iql_temperature * advantage.detach()).clamp(max=100.0)
        log_probs = F.log_softmax(self.policy(batch.observations), dim=1).gather(1, actions)
        policy_loss = -(weights * log_probs.squeeze(1)).mean()
        self._step(self.policy_optimiser, policy_loss)
        return {"v_loss": v_loss.item(), "q_loss": q_loss.item(),
                "policy_loss": policy_loss.item()}

    @staticmethod
    def _step(optimiser: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    def scores(self, features: torch.Tensor) -> torch.Tensor:
        """``(b, n_actions)`` policy logits; the greedy action is their argmax."""
        return self.policy(features)


LEARNERS: dict[str, type[BehaviourCloning] | type[DiscreteCQL] | type[DiscreteIQL]] = {
    "bc": BehaviourCloning, "cql": DiscreteCQL, "iql": DiscreteIQL}


def make_learner(algo: str, n_features: int, n_actions: int,
                 config: OfflineConfig) -> BehaviourCloning | DiscreteCQL | DiscreteIQL:
    """The learner of ``algo`` (``bc``, ``cql`` or ``iql``), untrained.

    Examples:
        >>> learner = make_learner("cql", 4, 3, OfflineConfig(hidden=8))
        >>> tuple(learner.scores(torch.zeros(2, 4)).shape)
        (2, 3)
    """
    if algo not in LEARNERS:
        raise ValueError(f"algo must be one of {ALGOS}, got {algo!r}")
    return LEARNERS[algo](n_features, n_actions, config)


def greedy_actions(learner: nn.Module, features: np.ndarray) -> np.ndarray:
    """Greedy action indices ``(n,)`` int64 for ``(n, d)`` features."""
    with torch.no_grad():
        scores = learner.scores(torch.as_tensor(features, dtype=torch.float32))  # type: ignore[operator]
    return scores.argmax(dim=1).numpy().astype(np.int64)
