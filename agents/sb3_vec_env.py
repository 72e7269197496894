"""The one adapter from pkgym's batched VectorEnv to Stable-Baselines3's VecEnv.

The pkgym env runs in SAME_STEP autoreset mode; its ``info["final_obs"]`` becomes SB3's
``info["terminal_observation"]`` (as ``DummyVecEnv`` does) and truncation is reported as
``TimeLimit.truncated``. SB3's VecEnv API stays here, never in ``pkgym/``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvStepReturn

from pkgym.envs.base import DosingVectorEnv


def make_sb3_vec_env(env_id: str, n_envs: int, **kwargs: Any) -> PkgymVecEnv:
    """A pkgym vector env of ``n_envs`` patients, ready for ``model.learn``.

    Examples:
        >>> import pkgym
        >>> venv = make_sb3_vec_env("pkgym/Vancomycin-v0", 2)
        >>> venv.num_envs, sorted(venv.reset())[:2]
        (2, ['covariates', 'creatinine_clearance_ml_per_min'])
    """
    env = gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="vector_entry_point",
                       autoreset_mode=AutoresetMode.SAME_STEP, **kwargs)
    return PkgymVecEnv(env)


class PkgymVecEnv(VecEnv):
    """SB3 view of a pkgym :class:`DosingVectorEnv` (which must use SAME_STEP autoreset)."""

    def __init__(self, env: DosingVectorEnv) -> None:
        """Wrap ``env``; check its autoreset mode."""
        if env.metadata.get("autoreset_mode") != AutoresetMode.SAME_STEP:
            raise ValueError("the pkgym vector env must use autoreset_mode=SAME_STEP for SB3")
        self.env = env
        super().__init__(env.num_envs, env.single_observation_space, env.single_action_space)
        self._actions: np.ndarray | None = None

    def reset(self) -> dict[str, np.ndarray]:
        """Reset every patient, with the seeds and options SB3 queued via ``seed()``."""
        seeds = None if all(s is None for s in self._seeds) else [
            int(s) if s is not None else int(np.random.SeedSequence().entropy % 2**31)
            for s in self._seeds]
        obs, info = self.env.reset(seed=seeds)
        self.reset_infos = _split_info(info, self.num_envs)
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        """Remember the actions for ``step_wait``."""
        self._actions = np.asarray(actions)

    def step_wait(self) -> VecEnvStepReturn:
        """Step all patients; finished ones are already replaced (SAME_STEP)."""
        actions = self._actions
        if isinstance(self.action_space, gym.spaces.Discrete):
            actions = actions.reshape(self.num_envs).astype(np.int64)
        obs, reward, terminated, truncated, info = self.env.step(actions)
        infos = _split_info({k: v for k, v in info.items() if not k.startswith(("final", "_"))},
                            self.num_envs)
        for i in np.flatnonzero(terminated | truncated):
            infos[i]["terminal_observation"] = info["final_obs"][i]
            infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
        return obs, reward.astype(np.float32), terminated | truncated, infos

    def close(self) -> None:
        """Close the underlying env."""
        self.env.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """The attribute of the (shared) env, once per requested index."""
        return [getattr(self.env, attr_name) for _ in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set an attribute on the shared env."""
        setattr(self.env, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None,
                   **method_kwargs: Any) -> list[Any]:
        """Call a method of the shared env once per requested index."""
        method = getattr(self.env, method_name)
        return [method(*method_args, **method_kwargs) for _ in self._indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper],
                       indices: VecEnvIndices = None) -> list[bool]:
        """Always False: pkgym vector envs take no Gymnasium wrappers."""
        return [False for _ in self._indices(indices)]

    def _indices(self, indices: VecEnvIndices) -> Iterable[int]:
        if indices is None:
            return range(self.num_envs)
        return [indices] if isinstance(indices, int) else indices


def _split_info(info: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """Gymnasium's batched info dict as SB3's list of per-env dicts (masks dropped)."""
    keys = [k for k in info if not k.startswith("_")]
    return [{k: _item(info[k][i]) for k in keys} for i in range(n)]


def _item(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value

