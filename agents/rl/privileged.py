"""Asymmetric actor-critic: a critic that sees the hidden patient, an actor that does not.

Pinto et al. 2018 ("Asymmetric Actor Critic for Image-Based Robot Learning", RSS) train the
critic on the simulator's full state and the actor on the observation only. The critic is
needed only to train, so the trained policy still doses from what a clinic knows, and
``pkgym evaluate`` judges it like any other clinic-side policy; a better-informed critic
just gives the actor lower-variance advantages.

Three pieces (``pkgym train --method asymmetric``):

1. :func:`privileged_state`: the hidden patient from the env's ``info`` (its true
   parameters and exact exposures), as the env's agent hooks list them in
   ``PRIVILEGED_KEYS`` (``info`` key -> ``"log"`` | ``"log1p"`` | ``"raw"``);
2. :class:`PrivilegedObservation`: an SB3 ``VecEnvWrapper`` adding it to the observation as
   key ``"privileged"`` (the new patient's at an automatic reset; the finished patient's in
   ``terminal_observation``);
3. :class:`AsymmetricActorCriticPolicy`: separate extractors; the actor's is the configured
   one on the observation without ``"privileged"``, the critic's the same plus the
   privileged vector standardised online (:class:`RunningStandardizer`: running mean and
   variance, updated on the critic's training batches, saved with the weights). The actor
   never reads ``"privileged"``; missing at evaluation, it is filled with zeros.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.policies import MultiInputActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, MlpExtractor
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn
from torch import nn

from agents.env_hooks import find_spec
from pkgym.envs.base import spawn_streams
from pkgym.envs.registry import env_specs

PRIVILEGED_KEY = "privileged"
"""The observation key of the hidden patient state (critic only)."""
METHOD = "asymmetric"
"""``model.json``'s ``method`` of a model trained with this critic."""
TRANSFORMS = ("log", "log1p", "raw")
"""How an ``info`` value enters the privileged vector: log (positive quantities, floored at
:data:`LOG_FLOOR`), log(1 + x) (non-negative ones that may be 0), or as it is."""
LOG_FLOOR = 1e-12
"""Smallest value a ``"log"`` key takes before the log (keeps a zero finite)."""
CLIP = 10.0
"""The standardised privileged values are clipped to ``[-CLIP, CLIP]`` (as VecNormalize)."""


def privileged_keys(core: Any) -> dict[str, str]:
    """The env's ``PRIVILEGED_KEYS`` (``info`` key -> transform), from its agent hooks.

    Raises:
        ValueError: the env has none (the message names it and the envs that have one).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> list(privileged_keys(gym.make("pkgym/Vancomycin-v0").unwrapped.core))[:2]
        ['clearance_l_per_h', 'central_volume_l']
    """
    spec = find_spec(core)
    keys = _hooks_keys(spec)
    if keys is None:
        name = type(core).__name__ if spec is None else spec.env_id
        supported = tuple(s.env_id for s in env_specs() if _hooks_keys(s) is not None)
        raise ValueError(f"env {name} has no privileged state for the asymmetric critic "
                         f"(PRIVILEGED_KEYS in its agent hooks); envs with one: {supported}")
    for key, transform in keys.items():
        if transform not in TRANSFORMS:
            raise ValueError(f"PRIVILEGED_KEYS[{key!r}] of {spec.env_id} must be one of "  # type: ignore[union-attr]
                             f"{TRANSFORMS}, got {transform!r}")
    return dict(keys)


def _hooks_keys(spec: Any) -> Mapping[str, str] | None:
    if spec is None or spec.agent_hooks is None:
        return None
    return getattr(importlib.import_module(spec.agent_hooks), "PRIVILEGED_KEYS", None)


def privileged_state(core: Any, info: Mapping[str, Any]) -> np.ndarray:
    """The hidden patient state, (n, k) float32, from a batched ``info`` (reset or step).

    Each key's values are flattened per patient (e.g. warfarin's PK amounts, 3 each) and
    transformed as the env's ``PRIVILEGED_KEYS`` say; keys in that order.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> venv = gym.make_vec("pkgym/Vancomycin-v0", num_envs=2,
        ...                     vectorization_mode="vector_entry_point")
        >>> _, info = venv.reset(seed=0)
        >>> state = privileged_state(venv.unwrapped.core, info)
        >>> state.shape, state.dtype, bool(np.isclose(state[0, 0],
        ...                                            np.log(info["clearance_l_per_h"][0])))
        ((2, 10), dtype('float32'), True)
    """
    columns = []
    for key, transform in privileged_keys(core).items():
        if key not in info:
            raise ValueError(f"info has no {key!r}, which the env's PRIVILEGED_KEYS name")
        values = np.asarray(info[key], dtype=np.float64)
        values = values.reshape(values.shape[0], -1)
        if transform == "log":
            values = np.log(np.maximum(values, LOG_FLOOR))
        elif transform == "log1p":
            values = np.log1p(np.maximum(values, 0.0))
        columns.append(values)
    return np.concatenate(columns, axis=1).astype(np.float32)


def privileged_rows(core: Any, infos: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """:func:`privileged_state` of SB3's per-env info dicts, (len(infos), k) float32."""
    keys = privileged_keys(core)
    batched = {key: np.stack([np.asarray(info[key], dtype=np.float64) for info in infos])
               for key in keys if all(key in info for info in infos)}
    return privileged_state(core, batched)


def privileged_dim(core: Any) -> int:
    """k, the privileged vector's size: read from a copy of ``core`` reset with seed 0.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> privileged_dim(gym.make("pkgym/Warfarin-v1").unwrapped.core)
        22
    """
    probe = copy.deepcopy(core)
    rows = np.arange(probe.n_patients)
    probe.reset_patients(rows, [spawn_streams(np.random.default_rng(0)) for _ in rows],
                         [None] * rows.size)
    return int(privileged_state(probe, probe.info()).shape[1])


def with_privileged_space(observation_space: spaces.Dict, core: Any) -> spaces.Dict:
    """``observation_space`` plus ``"privileged"``: an unbounded float32 Box of k values."""
    if PRIVILEGED_KEY in observation_space.spaces:
        raise ValueError(f"observation_space already has a {PRIVILEGED_KEY!r} key")
    box = spaces.Box(-np.inf, np.inf, (privileged_dim(core),), np.float32)
    return spaces.Dict({**observation_space.spaces, PRIVILEGED_KEY: box})


def actor_space(observation_space: spaces.Dict) -> spaces.Dict:
    """``observation_space`` without ``"privileged"`` (what the actor and a clinic see)."""
    return spaces.Dict({k: v for k, v in observation_space.spaces.items() if k != PRIVILEGED_KEY})


def is_asymmetric(metadata: Mapping[str, Any] | None) -> bool:
    """Whether a ``model.json`` describes a model trained with the asymmetric critic.

    Examples:
        >>> is_asymmetric({"method": "asymmetric"}), is_asymmetric({"method": "rl"})
        (True, False)
    """
    return metadata is not None and metadata.get("method") == METHOD


class PrivilegedObservation(VecEnvWrapper):
    """Adds the hidden patient state (:func:`privileged_state`) as observation ``"privileged"``.

    Put it right around the :class:`~agents.rl.sb3_vec_env.PkgymVecEnv` adapter, under
    ``VecMonitor`` and ``VecNormalize``. A finished slot's observation is the next patient's,
    so is its privileged state (from ``reset_infos``); its ``terminal_observation`` gets the
    finished patient's (from its final ``info``), for PPO's bootstrap at truncation.

    Args:
        venv: the SB3 vector env (its infos carry the env's ``info`` keys).
        core: the env's core (which keys, and k).
    """

    def __init__(self, venv: VecEnv, core: Any) -> None:
        """Extend the observation space by ``"privileged"`` (k from a probe of ``core``)."""
        if not isinstance(venv.observation_space, spaces.Dict):
            raise ValueError(f"venv must have a Dict observation space, got "
                             f"{venv.observation_space}")
        self.core = core
        super().__init__(venv, observation_space=with_privileged_space(venv.observation_space,
                                                                       core))

    def reset(self) -> dict[str, np.ndarray]:
        """Reset; the privileged state comes from the reset infos."""
        obs = self.venv.reset()
        self.reset_infos = list(self.venv.reset_infos)
        return {**obs, PRIVILEGED_KEY: privileged_rows(self.core, self.reset_infos)}

    def step_wait(self) -> VecEnvStepReturn:
        """Step; new patients' state from ``reset_infos``, the others' from the step infos."""
        obs, rewards, dones, infos = self.venv.step_wait()
        self.reset_infos = list(self.venv.reset_infos)
        rows = [self.reset_infos[i] if done else info
                for i, (done, info) in enumerate(zip(dones, infos, strict=True))]
        obs = {**obs, PRIVILEGED_KEY: privileged_rows(self.core, rows)}
        finished = [i for i, done in enumerate(dones) if done]
        if finished:
            final = privileged_rows(self.core, [infos[i] for i in finished])
            infos = list(infos)
            for j, i in enumerate(finished):
                terminal = {**infos[i]["terminal_observation"], PRIVILEGED_KEY: final[j]}
                infos[i] = {**infos[i], "terminal_observation": terminal}
        return obs, rewards, dones, infos


class RunningStandardizer(nn.Module):
    """``(x - mean) / sd`` with a running mean and variance over every training batch seen.

    In training mode each batch first updates the statistics (parallel Welford merge, as
    SB3's ``RunningMeanStd``), then is standardised; in eval mode (rollouts, prediction)
    the statistics stay fixed. They are buffers, so they are saved with the weights. Before
    any update the values pass as they are (mean 0, variance 1). Output clipped to
    ``[-CLIP, CLIP]``.

    Examples:
        >>> standardizer = RunningStandardizer(1)
        >>> _ = standardizer(torch.tensor([[1.0], [3.0]]))
        >>> standardizer.mean.tolist(), standardizer.var.tolist()
        ([2.0], [1.0])
    """

    def __init__(self, size: int, epsilon: float = 1e-8) -> None:
        """Statistics of ``size`` features; ``epsilon`` keeps a constant feature finite."""
        super().__init__()
        self.epsilon = epsilon
        self.register_buffer("mean", torch.zeros(size))
        self.register_buffer("var", torch.ones(size))
        self.register_buffer("count", torch.zeros(()))

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        """``(batch, size)`` standardised values (updating the statistics when training)."""
        if self.training and values.shape[0] > 0:
            self._update(values.detach())
        scaled = (values - self.mean) / torch.sqrt(self.var + self.epsilon)
        return scaled.clamp(-CLIP, CLIP)

    def _update(self, batch: torch.Tensor) -> None:
        n = float(batch.shape[0])
        batch_mean, batch_var = batch.mean(dim=0), batch.var(dim=0, unbiased=False)
        total = self.count + n
        delta = batch_mean - self.mean
        if float(self.count) == 0.0:
            self.mean.copy_(batch_mean)
            self.var.copy_(batch_var)
        else:
            self.mean.add_(delta * n / total)
            self.var.copy_((self.var * self.count + batch_var * n
                            + delta**2 * self.count * n / total) / total)
        self.count.copy_(total)


class ObservationOnlyExtractor(BaseFeaturesExtractor):
    """A features extractor fed the observation without ``"privileged"`` (the actor's).

    Dropping the key here makes the actor exactly blind to it, whatever ``base`` reads.
    """

    def __init__(self, base: BaseFeaturesExtractor) -> None:
        """Wrap ``base`` (built on the observation space without ``"privileged"``)."""
        super().__init__(base._observation_space, base.features_dim)
        self.base = base

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        """``base``'s features of the observation without ``"privileged"``."""
        return self.base({k: v for k, v in observations.items() if k != PRIVILEGED_KEY})


class PrivilegedCriticExtractor(BaseFeaturesExtractor):
    """The critic's features: the observation's (``base``), then the standardised hidden state.

    ``features_dim`` is ``base.features_dim + k``.
    """

    def __init__(self, base: BaseFeaturesExtractor, privileged_size: int) -> None:
        """Wrap ``base`` and a :class:`RunningStandardizer` of ``privileged_size`` values."""
        super().__init__(base._observation_space, base.features_dim + privileged_size)
        self.base = base
        self.standardizer = RunningStandardizer(privileged_size)

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(batch, features_dim)``: observation features, standardised privileged state."""
        privileged = observations[PRIVILEGED_KEY].flatten(1).float()
        return torch.cat([self.base(observations), self.standardizer(privileged)], dim=1)


class AsymmetricMlpExtractor(nn.Module):
    """SB3's policy and value MLPs (``net_arch``) on inputs of different sizes."""

    def __init__(self, actor_dim: int, critic_dim: int, net_arch: Any,
                 activation_fn: type[nn.Module], device: torch.device | str) -> None:
        """The actor's MLP on ``actor_dim`` features, the critic's on ``critic_dim``."""
        super().__init__()
        actor = MlpExtractor(actor_dim, net_arch, activation_fn, device)
        critic = MlpExtractor(critic_dim, net_arch, activation_fn, device)
        self.policy_net, self.value_net = actor.policy_net, critic.value_net
        self.latent_dim_pi, self.latent_dim_vf = actor.latent_dim_pi, critic.latent_dim_vf

    def forward(self, features: tuple[torch.Tensor, torch.Tensor]
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Latents of the (actor, critic) features."""
        return self.forward_actor(features[0]), self.forward_critic(features[1])

    def forward_actor(self, features: torch.Tensor) -> torch.Tensor:
        """The actor's latent."""
        return self.policy_net(features)

    def forward_critic(self, features: torch.Tensor) -> torch.Tensor:
        """The critic's latent."""
        return self.value_net(features)


class AsymmetricActorCriticPolicy(MultiInputActorCriticPolicy):
    """PPO/A2C policy whose critic also sees ``"privileged"`` and whose actor never does.

    The observation space must hold ``"privileged"`` (:class:`PrivilegedObservation`).
    The configured ``features_extractor_class`` is built twice on the space without it: the
    actor's (:class:`ObservationOnlyExtractor`) and the critic's, extended by the
    standardised privileged vector (:class:`PrivilegedCriticExtractor`). Extractors are
    never shared (``share_features_extractor=False``), so each learns from its own loss.
    """

    def __init__(self, observation_space: spaces.Dict, action_space: spaces.Space,
                 lr_schedule: Any, **kwargs: Any) -> None:
        """Check the space and the kwargs; build as SB3 does, with separate extractors."""
        if not isinstance(observation_space, spaces.Dict) or \
                PRIVILEGED_KEY not in observation_space.spaces:
            raise ValueError(f"observation_space must be a Dict with a {PRIVILEGED_KEY!r} key "
                             "(wrap the env in PrivilegedObservation)")
        if kwargs.get("share_features_extractor", False):
            raise ValueError("share_features_extractor must be False for the asymmetric critic")
        kwargs["share_features_extractor"] = False
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def make_features_extractor(self) -> BaseFeaturesExtractor:
        """The configured extractor on the observation without ``"privileged"``."""
        base = self.features_extractor_class(actor_space(self.observation_space),
                                             **self.features_extractor_kwargs)
        return ObservationOnlyExtractor(base)

    def _build(self, lr_schedule: Any) -> None:
        """Give the critic its privileged extractor, then build the networks as SB3 does."""
        size = int(np.prod(self.observation_space.spaces[PRIVILEGED_KEY].shape))
        self.vf_features_extractor = PrivilegedCriticExtractor(self.vf_features_extractor, size)
        super()._build(lr_schedule)

    def _build_mlp_extractor(self) -> None:
        self.mlp_extractor = AsymmetricMlpExtractor(  # type: ignore[assignment]
            self.features_dim, self.vf_features_extractor.features_dim, self.net_arch,
            self.activation_fn, self.device)

    def obs_to_tensor(self, observation: Any) -> tuple[Any, bool]:
        """As SB3's, a missing ``"privileged"`` (a clinic's observation) filled with zeros."""
        if isinstance(observation, dict) and PRIVILEGED_KEY not in observation:
            observation = {**observation, PRIVILEGED_KEY: self._zeros_like(observation)}
        return super().obs_to_tensor(observation)

    def _zeros_like(self, observation: Mapping[str, Any]) -> np.ndarray:
        """Zeros for ``"privileged"``, batched as the other keys are."""
        space = self.observation_space.spaces[PRIVILEGED_KEY]
        key = next(k for k in observation if k in self.observation_space.spaces)
        own_shape = self.observation_space.spaces[key].shape
        value = np.asarray(observation[key])
        batch = () if value.shape == own_shape else value.shape[:1]
        return np.zeros(batch + space.shape, dtype=np.float32)


def asymmetric_policy_kwargs(base_policy_kwargs: dict[str, Any]) -> dict[str, Any]:
    """``policy_kwargs`` for :class:`AsymmetricActorCriticPolicy` from the run's own.

    The extractor, its kwargs and ``net_arch`` stay as configured (the actor and the critic
    each get one); extractors are not shared.

    Raises:
        ValueError: ``base_policy_kwargs`` asks for a shared extractor.

    Examples:
        >>> asymmetric_policy_kwargs({"net_arch": [64]})
        {'net_arch': [64], 'share_features_extractor': False}
    """
    if base_policy_kwargs.get("share_features_extractor", False):
        raise ValueError("policy_kwargs.share_features_extractor must be False (or unset) for "
                         "the asymmetric critic, got True")
    return {**base_policy_kwargs, "share_features_extractor": False}
