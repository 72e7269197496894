"""Propofol policies for ``pkgym/Propofol-v0``: TCI (open loop, titrated), PID, MAP, oracle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pkgym.envs.propofol import ENV_ID
from pkgym.envs.registry import env_spec
from pkgym.evaluation.policy import Policy

BASELINES = env_spec(ENV_ID).baselines
"""The baseline names :func:`make_baseline` builds (the env's registry entry lists them)."""


def make_baseline(name: str, core: Any, **options: str) -> Policy:
    """A propofol baseline built for the env's step and top rate.

    * ``tci_marsh``, ``tci_schnider``, ``tci_eleveld``: effect-site TCI pumps whose belief
      is Marsh (modified, ke0 1.2 /min), Schnider or Eleveld's typical patient
      (:mod:`.tci`);
    * ``pid``: PID on the monitor's BIS (:class:`.baselines.PidPolicy`);
    * ``map``: TCI on the posterior mode of ke0 and Ce50 given the BIS so far (:mod:`.map`);
    * ``oracle``: TCI on the true patient (reads ``info``);
    * ``tci_marsh_titrated``, ``tci_schnider_titrated``, ``tci_eleveld_titrated``: the same
      pumps with the target titrated to the monitor's BIS as anaesthetists do
      (:mod:`.titrated`), options ``review_s``, ``step_ug_per_ml``, ``window_s``
      (``tci_eleveld_titrated:review_s=180,step_ug_per_ml=0.3``).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> core = gym.make("pkgym/Propofol-v0").unwrapped.core
        >>> make_baseline("tci_schnider", core).name
        'tci_schnider'
        >>> make_baseline("tci_eleveld_titrated", core, review_s="180").name
        'tci_eleveld_titrated[review_s=180]'
    """
    from agents.policies.propofol.baselines import OraclePolicy, PidPolicy, TciPolicy
    from agents.policies.propofol.map import MapTciPolicy

    scenario = core.settings.scenario
    step, top = scenario.step_min, float(core.dose_levels_mg.max())
    def tci(belief: str) -> Callable[[], Policy]:
        return lambda: TciPolicy(belief, step, top)

    factories: dict[str, Callable[[], Policy]] = {
        "tci_marsh": tci("marsh"), "tci_schnider": tci("schnider"),
        "tci_eleveld": tci("eleveld"), "pid": lambda: PidPolicy(step, top),
        "map": lambda: MapTciPolicy(step, top, scenario.n_steps),
        "oracle": lambda: OraclePolicy(step, top)}
    for belief in ("marsh", "schnider", "eleveld"):
        factories[f"tci_{belief}_titrated"] = _titrated(belief, step, top, options)
    if name not in factories:
        raise ValueError(f"baseline must be one of {tuple(factories)}, got {name!r}")
    if options and not name.endswith("_titrated"):
        raise ValueError(f"{name!r} takes no options: only the *_titrated TCI pumps do, got "
                         f"{sorted(options)}")
    return factories[name]()


def _titrated(belief: str, step: float, top: float, options: dict[str, str]
              ) -> Callable[[], Policy]:
    """A factory of the titrated ``belief`` pump with these (validated on build) options."""
    from agents.policies.propofol.titrated import TitratedTciPolicy, titration_options

    def build() -> Policy:
        values = titration_options(**options)
        label = ",".join(f"{key}={value}" for key, value in options.items())
        return TitratedTciPolicy(belief, step, top, **values,
                                 label=f"[{label}]" if label else "")

    return build
