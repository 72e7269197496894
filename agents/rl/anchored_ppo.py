"""PPO with a KL penalty towards a frozen anchor policy: imitation first, then improvement.

After behaviour cloning or DAgger (:mod:`agents.rl.imitation`) the policy is frozen as the
anchor (:meth:`AnchoredPPO.set_anchor`) and PPO fine-tunes it with the extra loss term

    anchor_kl_coef * mean over the minibatch of KL(pi_anchor(.|s) || pi(.|s)),

which keeps the fine-tuned policy near the teacher's behaviour where the reward does not
argue otherwise. This is the KL-regularised fine-tuning of Baker et al. 2022 ("Video
PreTraining (VPT): learning to act by watching unlabeled online videos", NeurIPS, section
"RL fine-tuning": a KL loss to the frozen pretrained policy, its coefficient decayed), in the
line of demonstration-augmented policy gradient (Rajeswaran et al. 2018, "Learning complex
dexterous manipulation with deep reinforcement learning and demonstrations", RSS), whose
auxiliary imitation term also decays. ``anchor_kl_decay`` multiplies the coefficient after
every update (1: constant); the coefficient of an update follows from the step count
(:attr:`AnchoredPPO.anchor_kl_coef_now`), so a resumed run continues the decay.

:meth:`AnchoredPPO.train` is written out (CleanRL style) rather than inherited: the clipped
surrogate, the value loss (with SB3's ``clip_range_vf`` semantics), the entropy bonus, the
anchor term, gradient-norm clipping and the ``target_kl`` early stop, logging SB3's PPO keys
and ``train/anchor_kl`` (and ``train/anchor_kl_coef``). Without an anchor, or with a
coefficient of 0, its loss is PPO's term for term.

The anchor is saved with the model (``anchor_policy.pth`` in the zip, beside ``policy.pth``)
and restored by ``AnchoredPPO.load``. pkgym's safe loader
(:func:`agents.rl.model_loading.load_model_safely`) reads ``policy.pth`` only, so a saved
model whose ``model.json`` says ``algo: ppo`` evaluates as a plain PPO policy.
"""

from __future__ import annotations

import copy
import io
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.buffers import RolloutBufferSamples
from stable_baselines3.common.utils import explained_variance
from torch.nn import functional as F  # noqa: N812


class AnchoredPPO(PPO):
    """SB3's PPO plus ``anchor_kl_coef * KL(pi_anchor || pi)`` (see the module docstring).

    Args:
        *args: PPO's positional arguments (policy, env).
        anchor_kl_coef: weight of the KL term (0: plain PPO).
        anchor_kl_decay: factor on the weight after every update, in (0, 1] (1: constant).
        **kwargs: PPO's keyword arguments.

    Examples:
        >>> import gymnasium as gym
        >>> model = AnchoredPPO("MlpPolicy", gym.make("CartPole-v1"), n_steps=64, batch_size=32,
        ...                     n_epochs=1, anchor_kl_coef=1.0, seed=0)
        >>> model.set_anchor().learn(64).anchor_kl_coef_now
        1.0
    """

    def __init__(self, *args: Any, anchor_kl_coef: float = 0.0, anchor_kl_decay: float = 1.0,
                 **kwargs: Any) -> None:
        """Check the anchor settings; build PPO (no anchor until :meth:`set_anchor`)."""
        if not isinstance(anchor_kl_coef, float | int) or not anchor_kl_coef >= 0:
            raise ValueError(f"anchor_kl_coef must be a number >= 0, got {anchor_kl_coef!r}")
        if not isinstance(anchor_kl_decay, float | int) or not 0 < anchor_kl_decay <= 1:
            raise ValueError(f"anchor_kl_decay must be a number in (0, 1], got "
                             f"{anchor_kl_decay!r}")
        self.anchor_kl_coef = float(anchor_kl_coef)
        self.anchor_kl_decay = float(anchor_kl_decay)
        self.has_anchor = False
        self.anchor_policy: Any = None
        super().__init__(*args, **kwargs)

    @classmethod
    def from_model(cls, model: PPO, *, anchor_kl_coef: float, anchor_kl_decay: float = 1.0,
                   env: Any = None) -> AnchoredPPO:
        """An AnchoredPPO with ``model``'s settings, weights and env, anchored at its policy.

        The copy goes through SB3's own save and load in memory (nothing foreign is
        unpickled); set the logger again before ``learn``.
        """
        buffer = io.BytesIO()
        model.save(buffer)
        buffer.seek(0)
        anchored = cls.load(buffer, env=env if env is not None else model.get_env(),
                            device=model.device, anchor_kl_coef=float(anchor_kl_coef),
                            anchor_kl_decay=float(anchor_kl_decay))
        return anchored.set_anchor()

    @property
    def anchor_kl_coef_now(self) -> float:
        """The KL weight of the update at this step count: decayed once per earlier update.

        ``anchor_kl_coef * anchor_kl_decay ** (rollouts collected - 1)``: the first update uses
        ``anchor_kl_coef``.
        """
        rollouts = self.num_timesteps // max(1, self.n_steps * self.n_envs)
        return self.anchor_kl_coef * self.anchor_kl_decay ** max(0, rollouts - 1)

    def set_anchor(self) -> AnchoredPPO:
        """Freeze a copy of the current policy as the anchor; returns ``self``."""
        anchor = copy.deepcopy(self.policy)
        anchor.optimizer = None  # the anchor never learns
        anchor.set_training_mode(False)
        for parameter in anchor.parameters():
            parameter.requires_grad_(False)
        self.anchor_policy, self.has_anchor = anchor, True
        return self

    def _setup_model(self) -> None:
        """PPO's setup; a loaded model that had an anchor gets one (weights loaded next)."""
        super()._setup_model()
        if getattr(self, "has_anchor", False):
            self.set_anchor()

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        """PPO's state dicts, plus the anchor's when there is one."""
        state_dicts, variables = super()._get_torch_save_params()
        return state_dicts + (["anchor_policy"] if self.has_anchor else []), variables

    def _excluded_save_params(self) -> list[str]:
        """Never pickle the anchor into the zip's ``data`` (its weights are a state dict)."""
        return [*super()._excluded_save_params(), "anchor_policy"]

    def minibatch_loss(self, batch: RolloutBufferSamples, clip_range: float,
                       clip_range_vf: float | None) -> tuple[torch.Tensor, dict[str, Any]]:
        """The loss of one minibatch and its parts (for logging and tests).

        PPO's (Schulman et al. 2017, eqs. 7 and 9): ``-min(r A, clip(r, 1 +- eps) A)`` with
        ``r = pi(a|s) / pi_old(a|s)`` and minibatch-normalised advantages, plus ``vf_coef``
        times the squared error of the (optionally clipped) value, plus ``ent_coef`` times
        the negative entropy; then ``anchor_kl_coef_now`` times the mean KL to the anchor.
        """
        actions = batch.actions
        if isinstance(self.action_space, spaces.Discrete):
            actions = actions.long().flatten()
        values, log_prob, entropy = self.policy.evaluate_actions(batch.observations, actions)
        values = values.flatten()
        advantages = batch.advantages
        if self.normalize_advantage and len(advantages) > 1:
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        ratio = torch.exp(log_prob - batch.old_log_prob)
        surrogate = torch.min(advantages * ratio,
                              advantages * torch.clamp(ratio, 1 - clip_range, 1 + clip_range))
        policy_loss = -surrogate.mean()
        if clip_range_vf is not None:  # the value moves at most clip_range_vf from the old one
            values = batch.old_values + torch.clamp(values - batch.old_values,
                                                    -clip_range_vf, clip_range_vf)
        value_loss = F.mse_loss(batch.returns, values)
        entropy_loss = -torch.mean(-log_prob) if entropy is None else -torch.mean(entropy)
        loss = policy_loss + self.ent_coef * entropy_loss + self.vf_coef * value_loss
        penalised = self.anchor_kl_coef_now > 0
        with torch.set_grad_enabled(penalised and torch.is_grad_enabled()):
            anchor_kl = self._anchor_kl(batch.observations)
        if anchor_kl is not None and penalised:
            loss = loss + self.anchor_kl_coef_now * anchor_kl
        with torch.no_grad():
            log_ratio = log_prob - batch.old_log_prob
            approx_kl = torch.mean(torch.exp(log_ratio) - 1 - log_ratio).cpu().numpy()
            clipped = torch.mean((torch.abs(ratio - 1) > clip_range).float()).item()
        return loss, {"policy_loss": policy_loss.item(), "value_loss": value_loss.item(),
                      "entropy_loss": entropy_loss.item(), "approx_kl": approx_kl,
                      "clip_fraction": clipped,
                      "anchor_kl": None if anchor_kl is None else anchor_kl.item()}

    def _anchor_kl(self, observations: Any) -> torch.Tensor | None:
        """Mean ``KL(pi_anchor(.|s) || pi(.|s))`` over the states (``None`` without anchor)."""
        if not self.has_anchor:
            return None
        with torch.no_grad():
            anchor = self.anchor_policy.get_distribution(observations).distribution
        current = self.policy.get_distribution(observations).distribution
        kl = torch.distributions.kl_divergence(anchor, current)
        return (kl.sum(dim=-1) if kl.dim() > 1 else kl).mean()

    def train(self) -> None:
        """``n_epochs`` passes over the rollout in minibatches (early stop on ``target_kl``)."""
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        progress = self._current_progress_remaining
        clip_range = self.clip_range(progress)  # type: ignore[operator]
        clip_range_vf = (None if self.clip_range_vf is None
                         else self.clip_range_vf(progress))  # type: ignore[operator]
        logs: dict[str, list[Any]] = {}
        loss = torch.zeros(())
        for epoch in range(self.n_epochs):
            logs["approx_kl"] = []  # SB3 logs the last epoch's
            stop = False
            for batch in self.rollout_buffer.get(self.batch_size):
                loss, parts = self.minibatch_loss(batch, clip_range, clip_range_vf)
                for key, value in parts.items():
                    logs.setdefault(key, []).append(value)
                if self.target_kl is not None and parts["approx_kl"] > 1.5 * self.target_kl:
                    stop = True
                    if self.verbose >= 1:
                        print(f"Early stopping at step {epoch} due to reaching max kl: "
                              f"{parts['approx_kl']:.2f}")
                    break
                self.policy.optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
                self.policy.optimizer.step()
            self._n_updates += 1
            if stop:
                break
        self._log_train(logs, loss, clip_range, clip_range_vf)

    def _log_train(self, logs: dict[str, list[Any]], loss: torch.Tensor, clip_range: float,
                   clip_range_vf: float | None) -> None:
        """SB3's PPO keys, plus the anchor's KL and coefficient."""
        record = self.logger.record
        for key, name in (("entropy_loss", "entropy_loss"), ("policy_gradient_loss",
                          "policy_loss"), ("value_loss", "value_loss"),
                          ("approx_kl", "approx_kl"), ("clip_fraction", "clip_fraction")):
            record(f"train/{key}", np.mean(logs.get(name, [np.nan])))
        record("train/loss", loss.item())
        record("train/explained_variance", explained_variance(
            self.rollout_buffer.values.flatten(), self.rollout_buffer.returns.flatten()))
        if hasattr(self.policy, "log_std"):
            record("train/std", torch.exp(self.policy.log_std).mean().item())
        record("train/n_updates", self._n_updates, exclude="tensorboard")
        record("train/clip_range", clip_range)
        if clip_range_vf is not None:
            record("train/clip_range_vf", clip_range_vf)
        if self.has_anchor:
            record("train/anchor_kl", float(np.mean(logs.get("anchor_kl", [np.nan]))))
            record("train/anchor_kl_coef", self.anchor_kl_coef_now)
