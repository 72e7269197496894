# lines: the core's template (reset hooks, views) and the two Gymnasium shells around it
"""The shells every pkgym dosing environment shares: one patient or N, over one batched core.

A drug-specific :class:`DosingCore` owns the physics and the bookkeeping of N patients.
:class:`DosingEnv` runs it with N = 1 and :class:`DosingVectorEnv` with N = num_envs, so the
two give identical trajectories for the same seeds (slot i of a vector env reset with seed
s is the single env reset with seed s + i, as in Gymnasium's vector envs). Injected
strategies (population, reward function, observation model) follow Jumanji's pattern.
"""

from __future__ import annotations

import gc
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import pandas as pd
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pkgym.envs.actions import actions_to_doses, doses_to_actions, make_action_space
from pkgym.envs.ahead import EpisodesAhead, next_episode_of_one, take_row
from pkgym.sim.batch import write_rows

RESET_OPTIONS = ("patient",)
"""Keys ``reset(options=...)`` accepts in a single env."""
VECTOR_RESET_OPTIONS = ("reset_mask", "patients")
"""Keys ``reset(options=...)`` accepts in a vector env."""


class RewardFn(ABC):
    """Maps one step's clinical outcome of every patient to a reward, shape (n,)."""

    @abstractmethod
    def __call__(self, outcome: Any, doses_mg: np.ndarray) -> np.ndarray:
        """Reward of each patient for the step that produced ``outcome``."""


class ObservationModel(ABC):
    """Maps the records of every patient to the batched observation dict."""

    @abstractmethod
    def space(self, settings: Any) -> spaces.Dict:
        """Observation space of one patient under the env's ``settings``."""

    @abstractmethod
    def __call__(self, records: Any, settings: Any) -> dict[str, np.ndarray]:
        """The batched observation."""


class DosingCore(ABC):
    """The batched, drug-specific part of an environment: N patients advanced together.

    Attributes:
        n_patients: batch size N.
        observation_space: the observation space of ONE patient (a ``spaces.Dict``).
        dose_levels_mg: doses of the discrete action levels.
        records, settings: the batched records and the env's settings, which the injected
            ``observation_model`` and the drug's ``views`` module read.
        observation_model: the injected :class:`ObservationModel`.
        views: a module with ``render_text``, ``render_figure`` and ``episode_dataset``, each
            ``(records, settings, row)``: the drug's presentation of one patient.
    """

    n_patients: int
    observation_space: spaces.Dict
    dose_levels_mg: np.ndarray
    records: Any
    settings: Any
    observation_model: ObservationModel
    views: ModuleType

    draws_ahead: bool = False
    _ahead: EpisodesAhead | None = None
    """True for a core that draws every random number of an episode at its reset: with one
    patient it then builds its next episodes ahead in a batch (:mod:`pkgym.envs.ahead`)."""

    def attach_clinic(self, n_patients: int, settings: Any, reward_fn: RewardFn,
                      observation_model: ObservationModel,
                      dose_levels_mg: np.ndarray | None = None) -> None:
        """Check N; keep the settings, strategies, dose levels and observation space.

        The dose levels default to ``settings.dose_levels_mg``; the reward and observation
        model are the injected strategies; the space is one patient's.
        """
        if n_patients < 1:
            raise ValueError(f"n_patients must be >= 1, got {n_patients}")
        self.n_patients, self.settings = int(n_patients), settings
        self.reward_fn, self.observation_model = reward_fn, observation_model
        self.dose_levels_mg = (settings.dose_levels_mg if dose_levels_mg is None
                               else dose_levels_mg)
        self.observation_space = observation_model.space(settings)

    def reset_patients(self, rows: np.ndarray, streams: Sequence[EpisodeStreams],
                       patients: Sequence[Mapping[str, Any] | None]) -> None:
        """Start new episodes for ``rows``: new (or pinned) patients drawn from their streams.

        The template every drug core fills in: :meth:`draw_episodes` takes the slots'
        random numbers (by default :meth:`episode_draws` slot by slot), :meth:`build_episodes`
        builds their records (pinned patients validated by :meth:`pin_patient`, records by
        :meth:`new_records`), written into ``rows`` in place.
        """
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return
        if self.n_patients == 1 and self.draws_ahead:
            self._ahead, self.records = next_episode_of_one(
                self._ahead, streams[0], patients[0], self.draw_episodes,
                self.build_episodes, self.take_episode)
            return
        part = self.build_episodes(self.draw_episodes(streams), patients, streams)
        self.store_episodes(rows, part)

    def store_episodes(self, rows: np.ndarray, part: Any) -> None:
        """Put new episodes' records ``part`` in ``rows``: a whole batch swapped, else in place."""
        if rows.size == self.n_patients and np.array_equal(rows, np.arange(self.n_patients)):
            self.records = part
        else:
            write_rows(self.records, rows, part)

    def draw_episodes(self, streams: Sequence[EpisodeStreams]) -> dict[str, np.ndarray]:
        """Every slot's episode random numbers, slot k in row k (default: stacked per slot)."""
        per_slot = [self.episode_draws(slot) for slot in streams]
        return {key: np.stack([d[key] for d in per_slot]) for key in per_slot[0]}

    def build_episodes(self, draws: dict[str, np.ndarray],
                       patients: Sequence[Mapping[str, Any] | None],
                       streams: Sequence[EpisodeStreams]) -> Any:
        """Records of fresh episodes from their draws (pinned patients checked first)."""
        pinned = [None if p is None else self.pin_patient(p) for p in patients]
        entropy = np.array([slot.seed_entropy for slot in streams], dtype=object)
        return self.new_records(draws, pinned, entropy)

    def take_episode(self, records: Any, row: int) -> Any:
        """Row ``row`` of batched records as a batch of one (episodes drawn ahead)."""
        return take_row(records, row)

    def episode_draws(self, streams: EpisodeStreams) -> dict[str, np.ndarray]:
        """All of one episode's random numbers, from one slot's three streams."""
        raise NotImplementedError(f"{type(self).__name__} must define episode_draws")

    def pin_patient(self, patient: Mapping[str, Any]) -> dict[str, Any]:
        """A pinned patient's validated fields (covariates, etas, id)."""
        raise NotImplementedError(f"{type(self).__name__} must define pin_patient")

    def new_records(self, draws: dict[str, np.ndarray], pinned: list[dict[str, Any] | None],
                    seed_entropy: np.ndarray) -> Any:
        """Records of fresh episodes for the drawn (or pinned) patients."""
        raise NotImplementedError(f"{type(self).__name__} must define new_records")

    @abstractmethod
    def step(self, rows: np.ndarray, doses_mg: np.ndarray) -> tuple[np.ndarray, ...]:
        """Advance ``rows`` one decision step; return (reward, terminated, truncated) for them."""

    def step_one(self, decisions: np.ndarray) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """Step the one patient of a single env: (observation, reward, terminated, truncated, info).

        By default :meth:`step` of row 0, then :meth:`observe_row` and :meth:`info_row`; a core
        may give the same values in fewer calls.
        """
        reward, terminated, truncated = self.step(np.array([0]), decisions)
        return (self.observe_row(0), float(reward[0]), bool(terminated[0]), bool(truncated[0]),
                self.info_row(0))

    def observe(self) -> dict[str, np.ndarray]:
        """Batched observation of all patients (float32), by the injected observation model."""
        return self.observation_model(self.records, self.settings)

    @abstractmethod
    def info(self) -> dict[str, np.ndarray]:
        """Batched clinical metrics and true (hidden) parameters of all patients."""

    def observe_row(self, row: int) -> dict[str, Any]:
        """One patient's observation (default: its row of :meth:`observe`)."""
        return _unbatch(self.observe(), row)

    def info_row(self, row: int) -> dict[str, Any]:
        """One patient's info with plain Python values (default: its row of :meth:`info`)."""
        return _unbatch(self.info(), row)

    def action_space(self, continuous: bool) -> spaces.Space:
        """The action space of one patient (default: the dose levels, or a Box)."""
        return make_action_space(self.dose_levels_mg, continuous)

    def decode_actions(self, actions: Any, continuous: bool, n: int) -> np.ndarray:
        """The decisions (default: doses in mg, shape (n,)) that a batch of actions asks for."""
        return actions_to_doses(actions, self.dose_levels_mg, continuous, n)

    def encode_decisions(self, decisions: np.ndarray, continuous: bool) -> np.ndarray:
        """The actions that give ``decisions`` (a policy's output; default: doses in mg)."""
        return doses_to_actions(decisions, self.dose_levels_mg, continuous)

    def render_text(self, row: int) -> str:
        """One patient's state as text."""
        return self.views.render_text(self.records, self.settings, row)

    def render_figure(self, row: int) -> Figure:
        """One patient's course as a matplotlib figure."""
        return self.views.render_figure(self.records, self.settings, row)

    def episode_dataset(self, row: int) -> pd.DataFrame:
        """One patient's episode as a NONMEM-style dataset."""
        return self.views.episode_dataset(self.records, self.settings, row)



@dataclass(frozen=True, slots=True)
class EpisodeStreams:
    """The three independent random streams of one env slot (STYLE 14).

    Spawned from the slot's ``np_random`` when it is seeded, then drawn from episode after
    episode: ``patient`` (covariates, random effects), ``noise`` (assay error) and ``events``
    (clinical events). Toggling assay noise therefore never changes which patients come.

    Attributes:
        patient, noise, events: the generators.
        seed_entropy: entropy of the slot's root seed (recorded in ``info``).
    """

    patient: np.random.Generator
    noise: np.random.Generator
    events: np.random.Generator
    seed_entropy: int | Sequence[int] | None


DrawPlan = Sequence[tuple[str, str, str, tuple[int, ...]]]
"""An episode's draws: ``(key, stream, "random" | "standard_normal", shape)`` in draw order."""


def draw_into(streams: Sequence[EpisodeStreams], plan: DrawPlan) -> dict[str, np.ndarray]:
    """Every slot's draws of ``plan``, slot k in row k, each slot drawing in plan order.

    Examples:
        >>> streams = [spawn_streams(np.random.default_rng(s)) for s in (0, 1)]
        >>> out = draw_into(streams, [("u", "patient", "random", (3,)),
        ...                           ("z", "noise", "standard_normal", (2,))])
        >>> out["u"].shape, out["z"].shape
        ((2, 3), (2, 2))
    """
    out = {key: np.empty((len(streams), *shape)) for key, _, _, shape in plan}
    for k, slot in enumerate(streams):
        for key, stream, method, _ in plan:
            getattr(getattr(slot, stream), method)(out=out[key][k])
    return out


def spawn_streams(rng: np.random.Generator) -> EpisodeStreams:
    """Three child streams of a slot's ``np_random`` via ``SeedSequence.spawn``.

    Examples:
        >>> a = spawn_streams(np.random.default_rng(3))
        >>> b = spawn_streams(np.random.default_rng(3))
        >>> bool(a.noise.random() == b.noise.random()), a.seed_entropy
        (True, 3)
    """
    seed_seq = rng.bit_generator.seed_seq
    if not isinstance(seed_seq, np.random.SeedSequence):
        seed_seq = np.random.SeedSequence(int(rng.integers(0, 2**63 - 1)))
    patient, noise, events = (np.random.default_rng(child) for child in seed_seq.spawn(3))
    return EpisodeStreams(patient, noise, events, seed_seq.entropy)


def _unbatch(tree: Mapping[str, Any], row: int = 0) -> dict[str, Any]:
    """One row of a batched dict, with numpy scalars as plain Python values."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        item = value[row]
        out[key] = item.item() if isinstance(item, np.generic) else item
    return out


class DosingEnv(gym.Env[dict, Any]):
    """One patient: the batched core with N = 1 (see :class:`DosingCore`)."""

    metadata: dict[str, Any] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 2}

    def __init__(self, core: DosingCore, *, continuous: bool = False,
                 render_mode: str | None = None) -> None:
        """Wrap ``core`` (built for one patient)."""
        if core.n_patients != 1:
            raise ValueError(f"a single env needs a core of 1 patient, got {core.n_patients}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or "
                             f"None, got {render_mode!r}")
        self.core, self.continuous, self.render_mode = core, continuous, render_mode
        self.observation_space = core.observation_space
        self.action_space = core.action_space(continuous)
        self._streams: EpisodeStreams | None = None
        self._streams_of: np.random.Generator | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):  # noqa: ANN201
        """Draw a new patient (or the one pinned by ``options={"patient": row}``)."""
        super().reset(seed=seed)
        unknown = sorted(set(options or {}) - set(RESET_OPTIONS))
        if unknown:
            raise ValueError(f"unknown reset option(s) {unknown}; allowed: {RESET_OPTIONS}")
        patient = (options or {}).get("patient")
        if self._streams is None or seed is not None or self._streams_of is not self.np_random:
            self._streams, self._streams_of = spawn_streams(self.np_random), self.np_random
        self.core.reset_patients(np.array([0]), [self._streams], [patient])
        return self.core.observe_row(0), self.core.info_row(0)

    def step(self, action: Any):  # noqa: ANN201
        """Give the dose of ``action`` and advance one decision step."""
        return self.core.step_one(self.core.decode_actions(action, self.continuous, 1))

    def render(self) -> str | np.ndarray | None:
        """Text (``ansi``) or an RGB image (``rgb_array``) of the patient's course."""
        if self.render_mode == "ansi":
            return self.core.render_text(0)
        if self.render_mode == "rgb_array":
            return figure_to_rgb(self.core.render_figure(0))
        return None

    def episode_dataset(self) -> pd.DataFrame:
        """The episode so far as a NONMEM-style dataset (ID, TIME, AMT, RATE, DV, ...).

        A quick look at one slot (a drawn patient has ``ID`` -1). For a dataset to fit a
        model to, use ``pkgym dataset`` or :func:`pkgym.datasets.policy_dataset`: IDs 1..N,
        numeric code tables, every measurement kind, no patient lost at an autoreset.
        """
        return self.core.episode_dataset(0)


def figure_to_rgb(figure: Figure) -> np.ndarray:
    """Render a matplotlib figure to an (H, W, 3) uint8 array (Agg, no pyplot).

    Examples:
        >>> figure_to_rgb(Figure(figsize=(2, 1), dpi=50)).shape
        (50, 100, 3)
    """
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


class DosingVectorEnv(VectorEnv):
    """N patients stepped in one call of the batched core (a native Gymnasium VectorEnv).

    ``autoreset_mode`` is ``NEXT_STEP`` (Gymnasium's default: a finished patient is replaced
    at the following ``step``, whose action it ignores) or ``SAME_STEP`` (replaced at once;
    the final observation and info go to ``info["final_obs"]`` and ``info["final_info"]``).
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 2}

    def __init__(self, core: DosingCore, *, continuous: bool = False,
                 render_mode: str | None = None,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP) -> None:
        """Wrap ``core`` (built for ``num_envs`` patients)."""
        mode = AutoresetMode(autoreset_mode)
        if mode not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
            raise ValueError(f"autoreset_mode must be NEXT_STEP or SAME_STEP, got {mode}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None")
        self.core, self.continuous, self.render_mode = core, continuous, render_mode
        self.num_envs = core.n_patients
        self.metadata = {**self.metadata, "autoreset_mode": mode}
        self.single_observation_space = core.observation_space
        self.single_action_space = core.action_space(continuous)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._streams = [spawn_streams(seeding.np_random()[0]) for _ in range(self.num_envs)]
        self._done = np.zeros(self.num_envs, dtype=bool)
        self._every_row = np.arange(self.num_envs)  # the rows a step of every patient steps
        self._every_row.flags.writeable = False

    def reset(self, *, seed: int | Sequence[int] | None = None,  # noqa: ANN201
              options: dict[str, Any] | None = None):
        """Reset all patients, or ``options["reset_mask"]``; pin ``options["patients"]``."""
        options = dict(options or {})
        unknown = sorted(set(options) - set(VECTOR_RESET_OPTIONS))
        if unknown:
            raise ValueError(f"unknown reset option(s) {unknown}; allowed: {VECTOR_RESET_OPTIONS}")
        mask = np.asarray(options.get("reset_mask", np.ones(self.num_envs, bool)), dtype=bool)
        if mask.shape != (self.num_envs,):
            raise ValueError(f"reset_mask must have shape ({self.num_envs},), got {mask.shape}")
        rows = np.flatnonzero(mask)
        seeds = [seed + i for i in range(self.num_envs)] if isinstance(seed, int) else seed
        if seeds is not None:
            if len(seeds) != self.num_envs:
                raise ValueError(f"seed must be an int or {self.num_envs} ints, got {seed!r}")
            with _collector_paused():  # ~10^5 new objects that all live on
                for i in rows:
                    self._streams[i] = spawn_streams(seeding.np_random(seeds[int(i)])[0])
        self._reset_rows(rows, _patients_for(options.get("patients"), rows, self.num_envs))
        return self.core.observe(), _with_masks(self.core.info())

    def _reset_rows(self, rows: np.ndarray, patients: Sequence[Mapping[str, Any] | None]) -> None:
        streams = self._streams
        self.core.reset_patients(rows, [streams[i] for i in rows.tolist()], patients)
        self._done[rows] = False

    def step(self, actions: Any):  # noqa: ANN201
        """Advance every patient one decision step, autoresetting finished ones."""
        doses = self.core.decode_actions(actions, self.continuous, self.num_envs)
        n = self.num_envs
        if self.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP and self._done.any():
            stepped = np.flatnonzero(~self._done)
            self._reset_rows(np.flatnonzero(self._done), [None] * int(self._done.sum()))
        else:
            stepped = self._every_row
        if stepped.size == n:  # every patient: plain copies, no gather and scatter
            reward, terminated, truncated = np.empty(n), np.empty(n, bool), np.empty(n, bool)
            reward[:], terminated[:], truncated[:] = self.core.step(stepped, doses.copy())
        else:
            reward, terminated, truncated = np.zeros(n), np.zeros(n, bool), np.zeros(n, bool)
            if stepped.size:
                out = self.core.step(stepped, doses[stepped])
                reward[stepped], terminated[stepped], truncated[stepped] = out
        info = _with_masks(self.core.info())
        done = terminated | truncated
        if self.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP and done.any():
            info = self._same_step_reset(done, info)
        else:
            self._done = done
        return self.core.observe(), reward, terminated, truncated, info

    def _same_step_reset(self, done: np.ndarray, final_info: dict[str, Any]) -> dict[str, Any]:
        """Reset finished patients now; keep their last observation and info (Gymnasium layout)."""
        observation = self.core.observe()
        final_obs = np.full(self.num_envs, None, dtype=object)
        for i in np.flatnonzero(done):
            final_obs[i] = {key: value[i] for key, value in observation.items()}
        rows = np.flatnonzero(done)
        self._reset_rows(rows, [None] * rows.size)
        info = _with_masks(self.core.info())
        final_info = {k: v for k, v in final_info.items() if not k.startswith("_")}
        info.update(final_obs=final_obs, _final_obs=done.copy(),
                    final_info=_with_masks(final_info, done), _final_info=done.copy())
        return info

    def render(self) -> tuple | None:
        """One text or RGB frame per patient, like Gymnasium's SyncVectorEnv."""
        if self.render_mode == "ansi":
            return tuple(self.core.render_text(i) for i in range(self.num_envs))
        if self.render_mode == "rgb_array":
            return tuple(figure_to_rgb(self.core.render_figure(i)) for i in range(self.num_envs))
        return None

    def episode_dataset(self) -> pd.DataFrame:
        """Every patient's episode so far as one NONMEM-style dataset (slots, see above).

        For a dataset to fit a model to, use :func:`pkgym.datasets.policy_dataset`.
        """
        return pd.concat([self.core.episode_dataset(i) for i in range(self.num_envs)],
                         ignore_index=True)


def _with_masks(info: dict[str, np.ndarray], mask: np.ndarray | None = None) -> dict[str, Any]:
    """Gymnasium's vector info layout: each key paired with a boolean mask ``_key``.

    Every mask is its own writable array (a row of one block allocated for all of them: one
    allocation, not one copy per key).
    """
    n = len(next(iter(info.values())))
    present = np.ones(n, dtype=bool) if mask is None else mask
    out: dict[str, Any] = dict(info)
    out.update(zip([f"_{key}" for key in info],
                   np.broadcast_to(present, (len(info), n)).copy(), strict=True))
    return out


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused (if it ran) while the block runs.

    For a reseed of many slots: each slot's streams are about ten new objects that all stay
    alive, so the collector's passes over them free nothing, and with the previous streams
    still held by a core (:class:`pkgym.envs.slots.SlotAddresses`) they took about a quarter
    of a reseed of 10^4 slots.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _patients_for(patients: Any, rows: np.ndarray, n: int) -> list[Mapping[str, Any] | None]:
    """Pinned patients for the reset rows: a DataFrame or a sequence with one entry per row."""
    if patients is None:
        return [None] * rows.size
    if isinstance(patients, pd.DataFrame):
        patients = [row for _, row in patients.iterrows()]
    if len(patients) != rows.size:
        raise ValueError(f"options['patients'] must have one entry per reset env ({rows.size} of "
                         f"{n}), got {len(patients)}")
    return list(patients)


CoreFactory = Callable[..., DosingCore]
"""``(n_patients, scenario, reward_fn, observation_model) -> core``: how a scenario-configured
env builds its clinic (a scenario dataclass, a YAML path or None for the defaults)."""


class ScenarioEnv(DosingEnv):
    """One patient of a clinic built by the package's ``make_core`` from a scenario.

    The shell of every env configured by a scenario alone (its card lists the arguments);
    a subclass sets ``make_core = staticmethod(_core)``.
    """

    make_core: ClassVar[CoreFactory]

    def __init__(self, scenario: Any = None, *, reward_fn: RewardFn | None = None,
                 observation_model: ObservationModel | None = None, continuous: bool = False,
                 render_mode: str | None = None) -> None:
        """Build the clinic from ``scenario`` and the injected strategies (see the env card)."""
        super().__init__(type(self).make_core(1, scenario, reward_fn, observation_model),
                         continuous=continuous, render_mode=render_mode)


class ScenarioVectorEnv(DosingVectorEnv):
    """``num_envs`` patients of the clinic a :class:`ScenarioEnv` builds, in one batch."""

    make_core: ClassVar[CoreFactory]

    def __init__(self, num_envs: int = 1, scenario: Any = None, *,
                 reward_fn: RewardFn | None = None,
                 observation_model: ObservationModel | None = None, continuous: bool = False,
                 render_mode: str | None = None,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP) -> None:
        """Build ``num_envs`` patients of the same clinic."""
        super().__init__(type(self).make_core(num_envs, scenario, reward_fn, observation_model),
                         continuous=continuous, render_mode=render_mode,
                         autoreset_mode=autoreset_mode)
