"""Policies by name for ``pkgym evaluate``: baselines, SB3 models and user callables.

* Each env's baselines, by the names its registry entry lists
  (:attr:`pkgym.envs.registry.EnvSpec.baselines`), built by the factory it names: for the
  built-in envs ``make_baseline`` of the drug's package under :mod:`agents.policies`, e.g.

  * ``label``, ``trough``, ``map``, ``oracle``: the vancomycin baselines.
  * ``fixed_5mg``, ``aurora``, ``iwpc_clinical+aurora``, ``iwpc_pgx+aurora``, ... (the Ravvaz
    2017 protocol arms of :func:`agents.policies.warfarin.protocols.ravvaz_arms`), ``map``,
    ``oracle``: the warfarin baselines.
  * ``constant``, ``threshold``: the ``pkgym/ChemoImmune-v0`` baselines.
  * ``none``, ``fixed``, ``stepped_care``, ``oracle``: the ``pkgym/Depression-v0`` baselines.
  * ``none``, ``naltrexone_50mg``, ``stepped_care``, ``oracle``: the ``pkgym/Addiction-v0``
    baselines.
  * ``boin``, ``crm``, ``oracle``: the ``pkgym/DoseFinding-v0`` baselines (phase I designs as
    the env's policy, and the nonparametric optimal benchmark).

* ``NAME:key=value[,key=value]``: a baseline with options, where its env's factory takes
  them: ``map:prior=MODEL`` doses warfarin, vancomycin or docetaxel with another of the
  scenario's models as prior (the truth stays the scenario's; ``make_baseline`` of
  :mod:`agents.policies.warfarin`, :mod:`agents.policies.vancomycin` and
  :mod:`agents.policies.chemotherapy`).
* ``sb3:PATH.zip``: a Stable-Baselines3 model (:class:`agents.rl.sb3_policy.SB3Policy`); its
  actions become doses through the env.
* ``offline:DIR``: a behaviour-cloning, CQL or IQL model of ``pkgym train-offline``
  (:class:`agents.offline.offline_policy.OfflinePolicy`).
* ``vae_mipd:PATH``: precision dosing with a trained patient VAE (``vae.pt`` or its
  directory; :class:`agents.vae.mipd.VAEMIPDPolicy`), vancomycin and warfarin.
* ``module:callable``: a class (instantiated without arguments) satisfying
  :class:`pkgym.evaluation.policy.Policy`, or a function ``f(observation) -> doses_mg``.
  ``module`` is imported from the current directory too (as ``python -m`` would).
* The name a policy reports in results (``map_bayesian``, ``trough_guided``,
  ``map_bayesian[prior=thomson2009]``) is accepted back as its spec.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import numpy as np

from agents.env_hooks import find_spec, resolve
from agents.rl.sb3_policy import SB3Policy
from pkgym.envs.base import DosingCore
from pkgym.envs.registry import env_spec
from pkgym.evaluation.policy import Policy, checked_decisions

P = TypeVar("P")
_LEGACY_BASELINES = {"BASELINES": "pkgym/Vancomycin-v0",
                     "CHEMOTHERAPY_BASELINES": "pkgym/Chemotherapy-v0",
                     "WARFARIN_BASELINES": "pkgym/Warfarin-v0",
                     "CHEMO_IMMUNE_BASELINES": "pkgym/ChemoImmune-v0",
                     "ADDICTION_BASELINES": "pkgym/Addiction-v0",
                     "DEPRESSION_BASELINES": "pkgym/Depression-v0",
                     "DOSE_FINDING_BASELINES": "pkgym/DoseFinding-v0"}
"""Names this module once defined, now each env's ``EnvSpec.baselines``."""


def __getattr__(name: str) -> tuple[str, ...]:
    """``BASELINES``, ``WARFARIN_BASELINES``, ...: the baseline names of an env's spec.

    Examples:
        >>> from agents.policies import registry
        >>> registry.BASELINES
        ('label', 'trough', 'map', 'oracle')
    """
    if name in _LEGACY_BASELINES:
        return env_spec(_LEGACY_BASELINES[name]).baselines
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class CallablePolicy:
    """A plain function of the batched observation, returning doses in mg."""

    reads_hidden_state = False

    def __init__(self, name: str, function: Callable[[Mapping[str, np.ndarray]], Any]) -> None:
        """Wrap ``function`` under ``name``."""
        self.name, self.function = name, function

    def reset(self, n_envs: int) -> None:
        """Stateless: nothing to forget."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """The function's doses as float64 mg, one per env (a scalar is given to everyone).

        ``None``, NaN, infinite or non-real doses are refused with an error naming the policy
        (:func:`pkgym.evaluation.policy.checked_decisions`).
        """
        n = len(next(iter(observation.values())))
        return checked_decisions(self.function(observation), self.name, n)


def make_policy(spec: str, core: DosingCore, *, env_id: str | None = None,
                scenario: str | os.PathLike | None = None,
                trust_model_file: bool = False) -> Policy:
    """The policy named by ``spec`` (see the module docstring).

    ``env_id`` and ``scenario`` name the env the policy will act in; an ``sb3:`` model trained
    by ``pkgym train`` refuses another env or scenario (:class:`agents.rl.sb3_policy.SB3Policy`).
    It loads without unpickling anything; an ``sb3:`` zip without pkgym's ``model.json`` is
    refused unless ``trust_model_file`` (SB3's ``load`` then runs code stored in the file).
    ``module:callable`` imports and runs Python code.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> core = gym.make("pkgym/Vancomycin-v0").unwrapped.core
        >>> make_policy("map", core).name
        'map_bayesian'
        >>> make_policy("map_bayesian[prior=thomson2009]", core).name  # a result's name
        'map_bayesian[prior=thomson2009]'
        >>> make_policy("math:floor", core).name
        'math:floor'
    """
    names, factory = _env_baselines(core)
    if spec in names:
        return factory(spec, core)
    kind, sep, target = spec.partition(":")
    if kind in names and target:  # a baseline with options, never a module of that name
        return _baseline_with_options(spec, kind, target, core, factory)
    if not sep and names:  # a result's name given back (map_bayesian[prior=x], trough_guided)
        named = _from_result_name(spec, names, core, factory)
        if named is not None:
            return named
    if not sep or not target:
        raise ValueError(f"policy must be one of this env's baselines {names}, 'sb3:PATH.zip' or "
                         f"'module:callable', got {spec!r}")
    if kind == "sb3":
        return SB3Policy(target, core, env_id=env_id, scenario=scenario,
                         trust_model_file=trust_model_file)
    if kind == "offline":  # a model of pkgym train-offline (its folder or model.pt)
        from agents.offline.offline_policy import OfflinePolicy

        return OfflinePolicy(target, core, env_id=env_id)
    if kind == "vae_mipd":
        from agents.vae.mipd import VAEMIPDPolicy

        return VAEMIPDPolicy(target, core, env_id=env_id, scenario=scenario)
    if os.getcwd() not in sys.path and "" not in sys.path:  # as `python -m` would find it
        sys.path.append(os.getcwd())
    try:
        obj = getattr(importlib.import_module(kind), target)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"policy {spec!r}: cannot import {target} from {kind} ({error})") from None
    if isinstance(obj, type):
        policy = obj()
        if not isinstance(policy, Policy):
            raise ValueError(f"policy {spec!r}: {target} lacks name/reads_hidden_state/reset/act")
        return policy
    if callable(obj):
        return CallablePolicy(spec, obj)
    raise ValueError(f"policy {spec!r}: {target} is neither a class nor a function")


def _from_result_name(spec: str, names: tuple[str, ...], core: DosingCore,
                      factory: Callable[..., Policy]) -> Policy | None:
    """The baseline whose results are named ``spec`` (``NAME`` or ``NAME[key=value,...]``).

    So that a name read in ``results.csv`` can be passed back to ``--policy``; ``None`` if no
    baseline of the env reports under it.
    """
    base, bracket, rest = spec.partition("[")
    if bracket and not rest.endswith("]"):
        return None
    for name in names:
        policy = factory(name, core)
        if policy.name == base:
            return policy if not bracket else _baseline_with_options(
                f"{name}:{rest[:-1]}", name, rest[:-1], core, factory)
    return None


def _baseline_with_options(spec: str, name: str, text: str, core: DosingCore,
                           factory: Callable[..., Policy]) -> Policy:
    """A baseline built with ``key=value[,key=value]`` options (e.g. ``map:prior=hamberg2007``).

    Options the env's baseline does not take are refused with one line naming them.
    """
    options: dict[str, str] = {}
    for item in text.split(","):
        key, equals, value = (part.strip() for part in item.partition("="))
        if not (key and equals and value) or key in options:
            raise ValueError(f"policy {spec!r}: options are key=value pairs separated by commas, "
                             f"each key once, got {item!r}")
        options[key] = value
    try:
        return factory(name, core, **options)
    except TypeError:
        raise ValueError(f"policy {spec!r}: this env's baseline {name!r} takes no option(s) "
                         f"{sorted(options)}") from None


def _env_baselines(core: DosingCore) -> tuple[tuple[str, ...], Callable[[str, Any], Policy]]:
    """The baseline names of the env of ``core`` (its spec's), and the factory that builds them."""
    spec = find_spec(core)
    if spec is None or spec.baseline_factory is None:
        return (), _no_baselines
    return spec.baselines, resolve(spec.baseline_factory)


def _no_baselines(name: str, core: Any) -> Policy:
    """The factory of an env without baselines: there is nothing to build."""
    raise ValueError(f"{type(core).__name__} has no baselines")


def make_typed_policy(spec: str, core: DosingCore, kind: type[P]) -> P:
    """The policy named by ``spec`` (:func:`make_policy`), refused unless it is a ``kind``.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> from agents.policies.vancomycin.map import MapBayesianPolicy
        >>> core = gym.make("pkgym/Vancomycin-v0").unwrapped.core
        >>> make_typed_policy("map", core, MapBayesianPolicy).name
        'map_bayesian'
    """
    policy = make_policy(spec, core)
    if not isinstance(policy, kind):
        raise ValueError(f"core: its {spec!r} policy is {type(policy).__name__}, not "
                         f"{kind.__name__}")
    return policy
