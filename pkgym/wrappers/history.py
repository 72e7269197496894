"""The canonical observed history: what the clinic knows, in one drug-agnostic layout.

Every supported env's observation already holds the whole observed history with masks;
:func:`observed_history` rewrites it as the same eight float32 arrays for every drug, so a
history encoder (the VAE of :mod:`agents.vae.model`) needs no per-drug code. What differs
between drugs (the context keys, the level key and unit, the time now) is the env's
:class:`~pkgym.envs.adapters.HistoryAdapter`, in its package and named by its registry
entry; an env without one (:func:`history_env_ids` lists those with one) is refused.

| key | shape | meaning |
|---|---|---|
| ``context`` | (n_context,) | covariates and other labs (vancomycin: creatinine and CrCL by day, |
| | | 0 until measured; warfarin: covariates, plus the genotype in WarfarinPGx) |
| ``level_values`` | (n_levels,) | measured levels (vancomycin mg/L; warfarin INR), 0 if none |
| ``level_times_h`` | (n_levels,) | their times since the first dose, h (warfarin: 24 * day) |
| ``level_mask`` | (n_levels,) | 1 where the level has been measured |
| ``dose_amounts_mg`` | (n_doses,) | dose given at each decision step, 0 for steps to come |
| | | (heparin: the interval's mean rate, U/kg/h, its adapter's ``read_doses``) |
| ``dose_times_h`` | (n_doses,) | each step's dose time, h (``k * interval_h``) |
| ``dose_mask`` | (n_doses,) | 1 for doses already given (including a dose of 0 mg) |
| ``time_h`` | (1,) | time since the first dose, h |

:class:`ObservationHistoryWrapper` and :class:`VectorObservationHistoryWrapper` give it as
the observation of a single or a vector env.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorObservationWrapper, VectorWrapper
from gymnasium.vector.utils import batch_space

from pkgym.envs.adapters import HistoryAdapter
from pkgym.envs.base import DosingCore
from pkgym.envs.registry import UnknownEnvError, env_specs, spec_of
from pkgym.units import HOURS_PER_DAY

HISTORY_KEYS = ("context", "level_values", "level_times_h", "level_mask",
                "dose_amounts_mg", "dose_times_h", "dose_mask", "time_h")
"""The keys of the canonical history, in order."""


@dataclass(frozen=True, slots=True)
class HistoryLayout:
    """Sizes, units and bounds of one env's canonical history.

    Attributes:
        n_context: length of ``context``.
        n_levels: number of level slots.
        n_doses: number of decision steps (dose slots).
        horizon_h: length of an episode, h (``n_doses * interval_h``).
        level_unit: ``"mg/L"`` (vancomycin) or ``"INR"`` (warfarin).
        interval_h: time between decision steps, h.
        context_highs: upper bound of each context entry (empty: unbounded).
        level_high: upper bound of a measured level, in ``level_unit``.
        max_dose_mg: largest dose of one step, mg.
    """

    n_context: int
    n_levels: int
    n_doses: int
    horizon_h: float
    level_unit: str
    interval_h: float = HOURS_PER_DAY
    context_highs: tuple[float, ...] = ()
    level_high: float = float("inf")
    max_dose_mg: float = float("inf")


def history_env_ids() -> tuple[str, ...]:
    """The registered envs whose observation maps to the canonical history.

    Examples:
        >>> history_env_ids()
        ('pkgym/Vancomycin-v0', 'pkgym/Warfarin-v0', 'pkgym/WarfarinPGx-v0', 'pkgym/Warfarin-v1',
         'pkgym/WarfarinPGx-v1', 'pkgym/Mycophenolate-v0', 'pkgym/Heparin-v0')
    """
    return tuple(spec.env_id for spec in env_specs() if spec.history is not None)


def history_adapter(core: DosingCore) -> HistoryAdapter:
    """The history adapter of the env of ``core``; ValueError naming the supported envs."""
    try:
        adapter = spec_of(core).history
    except UnknownEnvError:
        adapter = None
    if adapter is None:
        raise ValueError(f"the observed history supports the envs {history_env_ids()}; got a "
                         f"{type(core).__name__}")
    return adapter


def _context_keys(core: DosingCore, adapter: HistoryAdapter) -> tuple[str, ...]:
    """The observation keys that make ``context`` (those the env's space holds)."""
    return tuple(key for key in adapter.context_keys if key in core.observation_space.spaces)


def history_layout(core: DosingCore) -> HistoryLayout:
    """The canonical history's layout for the env of ``core``.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> core = gym.make("pkgym/Vancomycin-v0").unwrapped.core
        >>> layout = history_layout(core)
        >>> layout.n_context, layout.n_levels, layout.n_doses, layout.horizon_h
        (19, 2, 14, 168.0)
        >>> history_layout(gym.make("pkgym/Warfarin-v0").unwrapped.core).level_unit
        'INR'
    """
    adapter = history_adapter(core)
    keys = _context_keys(core, adapter)
    space = {key: cast(gym.spaces.Box, sub) for key, sub in core.observation_space.spaces.items()}
    highs = np.concatenate([np.asarray(space[k].high, dtype=np.float64).ravel() for k in keys])
    interval, unit, level_key = adapter.interval_h(core), adapter.level_unit, adapter.level_key
    n_doses = int(space[adapter.dose_key].shape[0])
    max_dose = (float(np.max(space[adapter.dose_key].high)) if adapter.max_dose is None
                else float(adapter.max_dose(core)))
    return HistoryLayout(
        n_context=int(highs.size), n_levels=int(space[level_key].shape[0]), n_doses=n_doses,
        horizon_h=float(n_doses * interval), level_unit=unit, interval_h=float(interval),
        context_highs=tuple(float(h) for h in highs),
        level_high=float(np.max(space[level_key].high)), max_dose_mg=max_dose)


def history_space(layout: HistoryLayout) -> gym.spaces.Dict:
    """The Dict space (float32 Boxes, lower bound 0) of one patient's canonical history.

    Examples:
        >>> space = history_space(HistoryLayout(3, 2, 14, 168.0, "mg/L"))
        >>> sorted(space.spaces) == sorted(HISTORY_KEYS), space["dose_mask"].shape
        (True, (14,))
    """
    def box(size: int, high: float | np.ndarray) -> gym.spaces.Box:
        return gym.spaces.Box(0.0, np.broadcast_to(np.float32(high), (size,)), dtype=np.float32)

    context_high: float | np.ndarray = (np.asarray(layout.context_highs, dtype=np.float32)
                                        if layout.context_highs else float("inf"))
    horizon = layout.horizon_h
    return gym.spaces.Dict({
        "context": box(layout.n_context, context_high),
        "level_values": box(layout.n_levels, layout.level_high),
        "level_times_h": box(layout.n_levels, horizon),
        "level_mask": box(layout.n_levels, 1.0),
        "dose_amounts_mg": box(layout.n_doses, layout.max_dose_mg),
        "dose_times_h": box(layout.n_doses, horizon),
        "dose_mask": box(layout.n_doses, 1.0),
        "time_h": box(1, horizon)})


def observed_history(core: DosingCore,
                     observation: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The canonical history of a batched observation (pure: reads only ``observation``).

    Args:
        core: the env's core (for its adapter, interval and keys; its state is not read).
        observation: the env's batched observation, each array (n, ...).

    Returns:
        The arrays of :data:`HISTORY_KEYS`, float32, each (n, ...).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make_vec("pkgym/Vancomycin-v0", num_envs=2,
        ...                    vectorization_mode="vector_entry_point")
        >>> obs, _ = env.reset(seed=0)
        >>> obs, *_ = env.step(np.array([4, 4]))
        >>> history = observed_history(env.unwrapped.core, obs)
        >>> history["dose_mask"][0, :3].tolist(), history["dose_amounts_mg"][0, 0].item()
        ([1.0, 0.0, 0.0], 1000.0)
    """
    adapter = history_adapter(core)
    keys = _context_keys(core, adapter)
    context = np.concatenate([np.asarray(observation[k], dtype=np.float32) for k in keys], axis=1)
    interval = adapter.interval_h(core)
    time, values, times, mask = adapter.read_levels(core, observation)
    mask = np.asarray(mask, dtype=np.float32)
    doses = np.asarray(observation[adapter.dose_key] if adapter.read_doses is None
                       else adapter.read_doses(core, observation), dtype=np.float32)
    steps = np.arange(doses.shape[1])
    dose_times = np.broadcast_to((steps * interval).astype(np.float32), doses.shape)
    given = ((steps + 0.5) * interval < time).astype(np.float32)  # dose k given iff k < step
    return {"context": context, "level_values": np.asarray(values, np.float32) * mask,
            "level_times_h": np.asarray(times, np.float32) * mask, "level_mask": mask,
            "dose_amounts_mg": doses * given, "dose_times_h": dose_times.copy(),
            "dose_mask": given, "time_h": time.reshape(-1, 1)}


def _core_of(env: Any) -> DosingCore:
    """The batched core behind a pkgym env (single or vector, possibly wrapped)."""
    core = getattr(env.unwrapped, "core", None)
    try:
        spec_of(core)
    except UnknownEnvError:
        raise ValueError(f"the history wrappers need a pkgym env ({history_env_ids()}), got "
                         f"{env.unwrapped!r}") from None
    return cast(DosingCore, core)


class ObservationHistoryWrapper(gym.ObservationWrapper[dict, Any, dict],
                                gym.utils.RecordConstructorArgs):
    """A single pkgym env whose observation is the canonical history (see the module doc).

    Examples:
        >>> import pkgym
        >>> env = ObservationHistoryWrapper(gym.make("pkgym/Warfarin-v0"))
        >>> obs, _ = env.reset(seed=0)
        >>> obs["level_mask"][:2].tolist(), obs["time_h"].tolist()
        ([1.0, 0.0], [0.0])
    """

    def __init__(self, env: gym.Env) -> None:
        """Wrap ``env`` (one of :func:`history_env_ids`)."""
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.ObservationWrapper.__init__(self, env)
        self.core = _core_of(env)
        self.layout = history_layout(self.core)
        self.observation_space = history_space(self.layout)

    def observation(self, observation: dict) -> dict:
        """The history of one patient (the observation as a batch of one)."""
        batched = {key: np.asarray(value)[None] for key, value in observation.items()}
        return {key: value[0] for key, value in observed_history(self.core, batched).items()}


class VectorObservationHistoryWrapper(VectorObservationWrapper):
    """A pkgym vector env whose observations are canonical histories (batched).

    Works in both of pkgym's autoreset modes. Gymnasium's ``VectorObservationWrapper``
    refuses ``SAME_STEP`` because it cannot see ``info["final_obs"]``; this wrapper maps the
    terminal observations there too (one dict per finished env), so the wrapped env can go
    to SB3 through :mod:`agents.rl.sb3_vec_env`. ``metadata`` (with ``autoreset_mode``) is the
    wrapped env's.

    Examples:
        >>> import pkgym
        >>> vec = gym.make_vec("pkgym/Vancomycin-v0", num_envs=3,
        ...                    vectorization_mode="vector_entry_point", autoreset_mode="SameStep")
        >>> env = VectorObservationHistoryWrapper(vec)
        >>> obs, _ = env.reset(seed=0)
        >>> obs["context"].shape, env.metadata["autoreset_mode"].value
        ((3, 19), 'SameStep')
    """

    def __init__(self, env: gym.vector.VectorEnv) -> None:
        """Wrap ``env`` (one of :func:`history_env_ids`, NEXT_STEP or SAME_STEP autoreset)."""
        VectorWrapper.__init__(self, env)  # the base class's check would refuse SAME_STEP
        mode = env.metadata.get("autoreset_mode")
        if mode not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
            raise ValueError(f"autoreset_mode must be NEXT_STEP or SAME_STEP, got {mode}")
        self.core = _core_of(env)
        self.layout = history_layout(self.core)
        self.single_observation_space = history_space(self.layout)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)

    def observations(self, observations: dict) -> dict:
        """The batched histories."""
        return observed_history(self.core, observations)

    def step(self, actions: Any) -> tuple[dict, Any, Any, Any, dict[str, Any]]:
        """Step the env; map the observation and, in SAME_STEP mode, ``info["final_obs"]``."""
        observations, rewards, terminations, truncations, infos = self.env.step(actions)
        if "final_obs" in infos:
            final = np.full(self.num_envs, None, dtype=object)
            for i, single in enumerate(infos["final_obs"]):
                if single is not None:
                    batched = {key: np.asarray(value)[None] for key, value in single.items()}
                    final[i] = {key: value[0] for key, value in
                                observed_history(self.core, batched).items()}
            infos = {**infos, "final_obs": final}
        return self.observations(observations), rewards, terminations, truncations, infos
