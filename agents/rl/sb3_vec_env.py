"""The one adapter from pkgym's batched VectorEnv to Stable-Baselines3's VecEnv.

The pkgym env runs in SAME_STEP autoreset mode; its ``info["final_obs"]`` becomes SB3's
``info["terminal_observation"]`` (as ``DummyVecEnv`` does), truncation is reported as
``TimeLimit.truncated``, and a finished slot's ``info`` is its final step's (the new episode's
reset info goes to ``reset_infos``). SB3's VecEnv API stays here, never in ``pkgym/``.

Given a finite training cohort (``patients``), every new episode pins the next patient of a
shuffled pass over the cohort: the env's own autoreset draws a fresh patient, and the adapter
immediately re-resets those slots with ``options={"reset_mask": done, "patients": rows}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvStepReturn


def make_sb3_vec_env(env_id: str, n_envs: int, *, patients: pd.DataFrame | None = None,
                     patient_order_seed: int | None = None, **kwargs: Any) -> PkgymVecEnv:
    """A pkgym vector env of ``n_envs`` patients, ready for ``model.learn``.

    Args:
        env_id: a registered pkgym env id.
        n_envs: patients stepped together.
        patients: a finite cohort (one row per patient) that every episode draws from, in
            shuffled passes; ``None``: the env samples a new patient each episode.
        patient_order_seed: seed of the shuffles (``None``: fresh entropy).
        **kwargs: ``make_vec`` keyword arguments of the env (``scenario``, ``continuous``...).

    Examples:
        >>> import pkgym
        >>> venv = make_sb3_vec_env("pkgym/Vancomycin-v0", 2)
        >>> venv.num_envs, sorted(venv.reset())[:2]
        (2, ['covariates', 'creatinine_clearance_ml_per_min'])
    """
    env = gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="vector_entry_point",
                       autoreset_mode=AutoresetMode.SAME_STEP, **kwargs)
    return PkgymVecEnv(env, patients=patients, patient_order_seed=patient_order_seed)


class PatientCycle:
    """Patients of a finite cohort handed out in passes, each pass in a new shuffled order.

    Examples:
        >>> cycle = PatientCycle(pd.DataFrame({"id": [0, 1, 2]}), seed=0)
        >>> sorted(int(p["id"]) for p in cycle.take(3)), len(cycle.take(4))
        ([0, 1, 2], 4)
    """

    def __init__(self, cohort: pd.DataFrame, seed: int | None) -> None:
        """Hold the cohort's rows (as dicts) and the shuffling Generator."""
        if len(cohort) == 0:
            raise ValueError("patients must hold at least one patient")
        self.rows = cohort.to_dict("records")
        self.rng = np.random.default_rng(seed)
        self.order, self.position = np.zeros(0, dtype=np.int64), 0

    def take(self, n: int) -> list[dict[str, Any]]:
        """The next ``n`` patients (a new shuffled pass starts when one is used up)."""
        out: list[dict[str, Any]] = []
        while len(out) < n:
            if self.position == self.order.size:
                self.order, self.position = self.rng.permutation(len(self.rows)), 0
            stop = min(self.order.size, self.position + n - len(out))
            out.extend(self.rows[i] for i in self.order[self.position:stop])
            self.position = stop
        return out


class PkgymVecEnv(VecEnv):
    """SB3 view of a pkgym :class:`DosingVectorEnv` (which must use SAME_STEP autoreset).

    ``env`` may be a Gymnasium vector observation wrapper around the pkgym env (e.g. the
    observation-history wrapper); terminal observations it leaves untransformed are passed
    through its ``observations`` method.
    """

    def __init__(self, env: gym.vector.VectorEnv, *, patients: pd.DataFrame | None = None,
                 patient_order_seed: int | None = None) -> None:
        """Wrap ``env``; check its autoreset mode; hold the training cohort, if any."""
        if env.metadata.get("autoreset_mode") != AutoresetMode.SAME_STEP:
            raise ValueError("the pkgym vector env must use autoreset_mode=SAME_STEP for SB3")
        self.env = env
        super().__init__(env.num_envs, env.single_observation_space, env.single_action_space)
        self.patients = None if patients is None else PatientCycle(patients, patient_order_seed)
        self._actions: np.ndarray | None = None

    def reset(self) -> dict[str, np.ndarray]:
        """Reset every patient, with the seeds SB3 queued via ``seed()`` (and pinned patients)."""
        seeds = None if all(s is None for s in self._seeds) else [
            int(s) if s is not None else int(np.random.SeedSequence().entropy % 2**31)
            for s in self._seeds]
        options = None if self.patients is None else {
            "patients": self.patients.take(self.num_envs)}
        obs, info = self.env.reset(seed=seeds, options=options)
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
        done = terminated | truncated
        infos = _split_info(_public(info), self.num_envs)
        if done.any():
            rows = np.flatnonzero(done)
            final_info = _public(info["final_info"])
            terminal = self._terminal_observations(info["final_obs"], rows)
            if self.patients is not None:
                obs, info = self.env.reset(options={
                    "reset_mask": done, "patients": self.patients.take(rows.size)})
            new_info = _public(info)
            for i in rows:
                self.reset_infos[i] = _info_row(new_info, i)
                infos[i] = {**_info_row(final_info, i), "terminal_observation": terminal[i],
                            "TimeLimit.truncated": bool(truncated[i] and not terminated[i])}
        return obs, reward.astype(np.float32), done, infos

    def _terminal_observations(self, final_obs: np.ndarray,
                               rows: np.ndarray) -> dict[int, dict[str, np.ndarray]]:
        """Each finished slot's last observation, in this VecEnv's observation space."""
        terminal = {int(i): final_obs[i] for i in rows}
        expected = set(self.observation_space.spaces)  # type: ignore[attr-defined]
        if set(terminal[int(rows[0])]) == expected:
            return terminal
        raw = {key: np.stack([terminal[int(i)][key] for i in rows])
               for key in terminal[int(rows[0])]}
        batch = self.env.observations(raw)  # type: ignore[attr-defined]
        return {int(i): {key: value[j] for key, value in batch.items()}
                for j, i in enumerate(rows)}

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
        """Always False: pkgym vector envs take no single-env Gymnasium wrappers."""
        return [False for _ in self._indices(indices)]

    def _indices(self, indices: VecEnvIndices) -> Iterable[int]:
        if indices is None:
            return range(self.num_envs)
        return [indices] if isinstance(indices, int) else indices


def _public(info: dict[str, Any]) -> dict[str, Any]:
    """The info keys SB3 sees: no Gymnasium masks, no ``final_*`` entries."""
    return {k: v for k, v in info.items() if not k.startswith(("final", "_"))}


def _split_info(info: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """Gymnasium's batched info dict as SB3's list of per-env dicts (masks dropped).

    One-dimensional numeric arrays become Python lists in one C call (``tolist``), which is
    several times faster than converting each env's numpy scalars one by one.

    Examples:
        >>> _split_info({"dose_mg": np.array([250.0, 500.0]), "_dose_mg": np.ones(2, bool)}, 2)
        [{'dose_mg': 250.0}, {'dose_mg': 500.0}]
    """
    columns = {k: v.tolist() if isinstance(v, np.ndarray) and v.ndim == 1 and v.dtype != object
               else v for k, v in info.items() if not k.startswith("_")}
    return [{k: _item(v[i]) for k, v in columns.items()} for i in range(n)]


def _info_row(info: dict[str, Any], i: int) -> dict[str, Any]:
    """Env ``i``'s entries of a batched info dict (masks dropped)."""
    return {k: _item(v[i]) for k, v in info.items() if not k.startswith("_")}


def _item(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
