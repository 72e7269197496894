"""One :class:`EnvSpec` per environment: everything downstream code needs to know about it.

Each env package declares its spec(s) beside its code (``SPECS`` in its ``__init__``) and
:mod:`pkgym.envs` registers them on ``import pkgym``. Code outside an env's package never
branches on the type of its core: it looks the env up here, by id (:func:`env_spec`) or by
core (:func:`spec_of`), and reads what it needs from the spec: the outcome spec that
evaluation scores by, the baselines, the benchmark's normalisation reference, the adapters of
the canonical history and the exposure course. Adding an environment is one package and one
:func:`register_env` call; nothing downstream changes.

pkgym never imports ``agents``: a spec names its baselines' factory and its agent hooks as
import strings (``"agents.policies.vancomycin:make_baseline"``) that only ``agents`` resolves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gymnasium.envs.registration import register
from gymnasium.envs.registration import registry as gym_registry

from pkgym.envs.adapters import ExposureAdapter, HistoryAdapter
from pkgym.envs.base import DosingCore
from pkgym.envs.outcomes import OutcomeSpec
from pkgym.populations.cohort import CohortSchema
from pkgym.scenarios import SCENARIO_TYPES

EntryPoint = str | Callable[..., Any]
"""A Gymnasium entry point: ``"module:Class"`` or the callable itself."""
BaselineFactory = Callable[[str, Any], Any]
"""(baseline name, core) -> a policy (:class:`pkgym.evaluation.policy.Policy`)."""


class UnknownEnvError(ValueError):
    """No registered environment has this id, or owns this core."""


@dataclass(frozen=True, slots=True)
class BenchmarkReference:
    """How a benchmark normalises an env's scores: its 0, its 1 and its clinical score.

    Attributes:
        label: baseline scoring 0 (dosing as the drug label says).
        oracle: baseline scoring 1 (reads the true patient: an upper bound).
        clinical_score: the env's main clinical score column (its outcome spec's ``scores``).
        context: further baselines evaluated for context by default.
    """

    label: str
    oracle: str
    clinical_score: str
    context: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvSpec:
    """What downstream code (evaluation, wrappers, agents, benchmark) knows about one env.

    Attributes:
        env_id: the Gymnasium id, e.g. ``pkgym/Vancomycin-v0``.
        entry_point, vector_entry_point: the single and the native vector env (an import
            string ``"module:Class"`` or the class).
        core_type: the env's :class:`~pkgym.envs.base.DosingCore` class; :func:`spec_of`
            finds the spec of a core by it (and its subclasses).
        outcomes: core -> the :class:`~pkgym.envs.outcomes.OutcomeSpec` evaluation records,
            scores and plots by (a function: it may depend on the scenario, as warfarin's
            target range does).
        scenario_type: the scenario dataclass a YAML file of this env fills (``None``: the
            env takes no scenario file).
        cohort_schema: the columns a pinned patient and a cohort file must have (``None``:
            the env has no covariate cohort, e.g. its rows are trials).
        baselines: names of the env's baseline policies.
        baseline_factory: builds a baseline, ``(name, core) -> policy``: the callable, or an
            import string ``"package.module:function"`` resolved lazily by ``agents``.
        reference: the benchmark's normalisation reference (``None``: the env has no
            oracle to normalise against, and is not benchmarked).
        history: the canonical observed history's adapter (``None``: unsupported).
        exposure: the true exposure course's adapter (``None``: unsupported).
        agent_hooks: module of the env's hooks for the model-informed agents (MAP forecast,
            VAE training data, VAE-MIPD targets), e.g. ``"agents.policies.vancomycin.hooks"``;
            ``None``: those agents do not support the env.
        accepts: core -> whether the core is this id's, for ids sharing one core type
            (``pkgym/Warfarin-v0`` and ``pkgym/WarfarinPGx-v0``); ``None``: every core.
    """

    env_id: str
    entry_point: EntryPoint
    vector_entry_point: EntryPoint
    core_type: type[DosingCore]
    outcomes: Callable[[Any], OutcomeSpec]
    scenario_type: type | None = None
    cohort_schema: CohortSchema | None = None
    baselines: tuple[str, ...] = ()
    baseline_factory: str | BaselineFactory | None = None
    reference: BenchmarkReference | None = None
    history: HistoryAdapter | None = None
    exposure: ExposureAdapter | None = None
    agent_hooks: str | None = None
    accepts: Callable[[Any], bool] | None = None

    def __post_init__(self) -> None:
        """Refuse an id without a namespace, a factory-less baseline or a stray reference."""
        if "/" not in self.env_id:
            raise ValueError(f"env_id must be '<namespace>/<Name>-v<N>', got {self.env_id!r}")
        if self.baselines and self.baseline_factory is None:
            raise ValueError(f"{self.env_id}: baselines {self.baselines} need a baseline_factory")
        if self.reference is not None:
            ref = self.reference
            missing = [n for n in (ref.label, ref.oracle, *ref.context) if n not in self.baselines]
            if missing:
                raise ValueError(f"{self.env_id}: reference baselines {missing} are not among "
                                 f"its baselines {self.baselines}")


_SPECS: dict[str, EnvSpec] = {}
_BY_CORE: dict[type, list[EnvSpec]] = {}


def register_env(spec: EnvSpec) -> EnvSpec:
    """Register ``spec`` here and with Gymnasium (and its scenario type); idempotent.

    Registering the same spec again changes nothing; another spec under a registered id is
    refused.

    Examples:
        >>> import pkgym
        >>> spec = env_spec("pkgym/Depression-v0")
        >>> register_env(spec) is spec
        True
    """
    known = _SPECS.get(spec.env_id)
    if known is not None:
        if known != spec:
            raise ValueError(f"{spec.env_id} is already registered with another spec")
        return known
    _SPECS[spec.env_id] = spec
    _BY_CORE.setdefault(spec.core_type, []).append(spec)
    if spec.scenario_type is not None:
        SCENARIO_TYPES[spec.env_id] = spec.scenario_type
    if spec.env_id not in gym_registry:
        # No TimeLimit: the horizon comes from the scenario and each env truncates itself.
        register(id=spec.env_id, entry_point=spec.entry_point,
                 vector_entry_point=spec.vector_entry_point, max_episode_steps=None)
    return spec


def env_specs() -> tuple[EnvSpec, ...]:
    """Every registered spec, in the order of registration.

    Examples:
        >>> import pkgym
        >>> [spec.env_id for spec in env_specs()][:2]
        ['pkgym/Vancomycin-v0', 'pkgym/Warfarin-v0']
    """
    return tuple(_SPECS.values())


def env_spec(env_id: str) -> EnvSpec:
    """The spec registered under ``env_id``; :class:`UnknownEnvError` naming the ids otherwise.

    Examples:
        >>> import pkgym
        >>> env_spec("pkgym/Vancomycin-v0").reference.label
        'label'
    """
    spec = _SPECS.get(env_id)
    if spec is None:
        raise UnknownEnvError(f"unknown env {env_id!r}; registered: {list(_SPECS)}")
    return spec


def spec_of(core: Any) -> EnvSpec:
    """The spec of the env ``core`` belongs to, looked up by the core's class and its bases.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> spec_of(gym.make("pkgym/WarfarinPGx-v0").unwrapped.core).env_id
        'pkgym/WarfarinPGx-v0'
        >>> spec_of(object())
        Traceback (most recent call last):
        ...
        pkgym.envs.registry.UnknownEnvError: object is not the core of a registered env; ...
    """
    candidates = next((_BY_CORE[cls] for cls in type(core).__mro__ if cls in _BY_CORE), [])
    matching = [spec for spec in candidates if spec.accepts is None or spec.accepts(core)]
    if not matching:
        raise UnknownEnvError(f"{type(core).__name__} is not the core of a registered env; "
                              f"registered: {list(_SPECS)}")
    if len(matching) > 1:
        raise UnknownEnvError(f"{type(core).__name__} matches several envs: "
                              f"{[spec.env_id for spec in matching]}")
    return matching[0]
