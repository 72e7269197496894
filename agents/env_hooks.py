"""How agents find an env's own agent code: its baselines and its hooks, through its spec.

An env's registry entry (:class:`pkgym.envs.registry.EnvSpec`) names its baselines' factory
and its agent hooks as import strings, because pkgym never imports agents; only agents
resolve them, here. The drug-agnostic agents (the policy registry, the MAP forecast, the
VAE's training data and VAE-MIPD) look an env up by its core and never branch on its type.
This module sits beside :mod:`agents.policies` and :mod:`agents.vae` and imports neither, so
that both can read the hooks without a package cycle.

A hooks module (``EnvSpec.agent_hooks``, e.g. :mod:`agents.policies.vancomycin.hooks`)
defines, for the agents that support its env:

* the MAP forecast (:mod:`agents.policies.map_forecast`): ``n_steps(core)``,
  ``steps_taken(core, observation)``, ``exposure_grid_h(core)``,
  ``map_etas(core, observation)``, ``forecast_exposure(core, observation, etas, doses)`` and
  ``map_log_clearance(core, observation, etas)``;
* the VAE's training data (:mod:`agents.vae.data`): ``VAE_BEHAVIOUR``, a :class:`Behaviour`,
  and optionally ``n_steps(core)``, the decisions per episode where they are not one per dose
  slot (``pkgym/Mycophenolate-v0``: one per visit), and, for an env whose decision is more
  than one dose, ``vae_decisions(core, doses, step, rng)``, the decisions (n, ...) that give
  the random regimens' doses (``pkgym/Heparin-v0``: bolus, hold, rate);
* VAE-MIPD (:mod:`agents.vae.mipd`): ``mipd_target(core)``, an :class:`ExposureTarget`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from pkgym.envs.registry import EnvSpec, UnknownEnvError, env_specs, spec_of


@dataclass(frozen=True, slots=True, kw_only=True)
class Behaviour:
    """How the virtual clinicians of one env dose (see :mod:`agents.vae.data`).

    Attributes:
        dose_range_mg: the plausible base doses, drawn log-uniformly.
        change_probability: chance per step that a random regimen changes its dose.
        change_log_sd: SD of the log of the change factor (else a fresh base dose).
        loading_probability: chance that the first dose is 1.5-2x the base dose.
        hold_probability: chance per step of a held dose (0 mg).
        label_policies: registry names of the label-like protocols.
        label_fraction: share of patients dosed by a label-like protocol.
        cut_probability: chance that a decision point is kept.
        measured_cut_probability: the same where a level was just measured, and at step 0.
    """

    dose_range_mg: tuple[float, float]
    change_probability: float
    change_log_sd: float = 0.3
    loading_probability: float = 0.0
    hold_probability: float = 0.0
    label_policies: tuple[str, ...] = ()
    label_fraction: float = 0.25
    cut_probability: float = 0.2
    measured_cut_probability: float = 0.8


@dataclass(frozen=True, slots=True, kw_only=True)
class ExposureTarget:
    """What VAE-MIPD doses to: the decoded exposure over a window ahead, against a target.

    Attributes:
        target: the windowed exposure aimed at (e.g. AUC24 in mg*h/L, or a mean INR).
        window_h: the window ahead, h.
        trapezoid: integrate the course linearly between grid points (else average the
            grid points inside the window).
        scale: factor from the window's mean to the target's quantity (24 h: mean
            concentration to AUC24; 1: a mean).
    """

    target: float
    window_h: float
    trapezoid: bool
    scale: float


def resolve(reference: str | Callable[..., Any]) -> Any:
    """The object an import string ``"package.module:name"`` names (a callable as it is).

    Examples:
        >>> resolve("math:floor")(2.5)
        2
    """
    if not isinstance(reference, str):
        return reference
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


def find_spec(core: Any) -> EnvSpec | None:
    """The registry entry of the env of ``core`` (``None`` for a core of no registered env).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> find_spec(gym.make("pkgym/Addiction-v0").unwrapped.core).env_id
        'pkgym/Addiction-v0'
        >>> find_spec(object()) is None
        True
    """
    try:
        return spec_of(core)
    except UnknownEnvError:
        return None


def agent_hooks(core: Any, purpose: str) -> ModuleType:
    """The hooks module of the env of ``core``; ValueError naming the envs with hooks.

    Args:
        core: the env's core.
        purpose: what needs the hooks, for the error (e.g. ``"the MAP forecast"``).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> agent_hooks(gym.make("pkgym/Warfarin-v0").unwrapped.core, "x").__name__
        'agents.policies.warfarin.hooks'
    """
    spec = find_spec(core)
    if spec is None or spec.agent_hooks is None:
        supported = tuple(s.env_id for s in env_specs() if s.agent_hooks is not None)
        raise ValueError(f"core: {purpose} supports {supported}, got {type(core).__name__}")
    return importlib.import_module(spec.agent_hooks)


def make_baseline(name: str, core: Any) -> Any:
    """The env's baseline policy ``name``, built for ``core`` by its spec's factory.

    Raises:
        ValueError: ``name`` is not one of the env's baselines (the message lists them).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> make_baseline("label", gym.make("pkgym/Vancomycin-v0").unwrapped.core).name
        'label'
    """
    spec = find_spec(core)
    names = () if spec is None or spec.baseline_factory is None else spec.baselines
    if name not in names:
        raise ValueError(f"baseline must be one of this env's baselines {names}, got {name!r}")
    return resolve(spec.baseline_factory)(name, core)  # type: ignore[union-attr]
