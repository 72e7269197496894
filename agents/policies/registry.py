"""Policies by name for ``pkgym evaluate``: baselines, SB3 models and user callables.

* ``label``, ``trough``, ``map``, ``oracle``: the vancomycin baselines.
* ``fixed_5mg``, ``aurora``, ``iwpc_clinical+aurora``, ``iwpc_pgx+aurora``, ... (the Ravvaz
  2017 protocol arms of :func:`agents.policies.warfarin.protocols.ravvaz_arms`), ``map``,
  ``oracle``:
  the warfarin baselines.
* ``constant``, ``threshold``: the ``pkgym/ChemoImmune-v0`` baselines
  (:mod:`agents.policies.chemo_immune.baselines`).
* ``none``, ``fixed``, ``stepped_care``, ``oracle``: the ``pkgym/Depression-v0`` baselines
  (:mod:`agents.policies.depression.baselines`).
* ``none``, ``naltrexone_50mg``, ``stepped_care``, ``oracle``: the ``pkgym/Addiction-v0``
  baselines (:mod:`agents.policies.addiction.baselines`).
* ``boin``, ``crm``, ``oracle``: the ``pkgym/DoseFinding-v0`` baselines (phase I designs as the
  env's policy, and the nonparametric optimal benchmark;
  :mod:`agents.policies.dose_finding.baselines`).
* ``sb3:PATH.zip``: a Stable-Baselines3 model (:class:`agents.rl.sb3_policy.SB3Policy`); its
  actions become doses through the env.
* ``vae_mipd:PATH``: precision dosing with a trained patient VAE (``vae.pt`` or its
  directory; :class:`agents.vae.mipd.VAEMIPDPolicy`), vancomycin and warfarin.
* ``module:callable``: a class (instantiated without arguments) satisfying
  :class:`pkgym.evaluation.policy.Policy`, or a function ``f(observation) -> doses_mg``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from agents.policies.dose_finding.baselines import DOSE_FINDING_BASELINES
from agents.rl.sb3_policy import SB3Policy
from pkgym.envs.base import DosingCore
from pkgym.evaluation.policy import Policy

BASELINES = ("label", "trough", "map", "oracle")
CHEMOTHERAPY_BASELINES = ("label", "map", "oracle", "fixed_100")
WARFARIN_BASELINES = ("fixed_5mg", "aurora", "iwpc_clinical+aurora", "iwpc_pgx+aurora",
                      "iwpc_clinical+intermountain", "iwpc_pgx+intermountain",
                      "eupact_pgx+aurora", "eupact_pgx+intermountain", "map", "oracle")
CHEMO_IMMUNE_BASELINES = ("constant", "threshold")
ADDICTION_BASELINES = ("none", "naltrexone_50mg", "stepped_care", "oracle")
DEPRESSION_BASELINES = ("none", "fixed", "stepped_care", "oracle")


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
        """The function's doses as float64 mg, one per env (a scalar is given to everyone)."""
        n = len(next(iter(observation.values())))
        return np.broadcast_to(np.asarray(self.function(observation), dtype=np.float64),
                               (n,)).copy()


def make_policy(spec: str, core: DosingCore, *, env_id: str | None = None,
                scenario: str | os.PathLike | None = None) -> Policy:
    """The policy named by ``spec`` (see the module docstring).

    ``env_id`` and ``scenario`` name the env the policy will act in; an ``sb3:`` model trained
    by ``pkgym train`` refuses another env or scenario (:class:`agents.rl.sb3_policy.SB3Policy`).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> core = gym.make("pkgym/Vancomycin-v0").unwrapped.core
        >>> make_policy("map", core).name
        'map_bayesian'
        >>> make_policy("math:floor", core).name
        'math:floor'
    """
    names, factory = _env_baselines(core)
    if spec in names:
        return factory(spec, core)
    kind, sep, target = spec.partition(":")
    if not sep or not target:
        raise ValueError(f"policy must be one of this env's baselines {names}, 'sb3:PATH.zip' or "
                         f"'module:callable', got {spec!r}")
    if kind == "sb3":
        return SB3Policy(target, core, env_id=env_id, scenario=scenario)
    if kind == "vae_mipd":
        from agents.vae.mipd import VAEMIPDPolicy

        return VAEMIPDPolicy(target, core, env_id=env_id, scenario=scenario)
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


def _env_baselines(core: DosingCore) -> tuple[tuple[str, ...], Callable[[str, Any], Policy]]:
    """The baseline names of the env's core type, and the factory that builds them."""
    from pkgym.envs.addiction.core import AddictionCore
    from pkgym.envs.chemo_immune.core import ChemoImmuneCore
    from pkgym.envs.chemotherapy.core import ChemotherapyCore
    from pkgym.envs.depression.core import DepressionCore
    from pkgym.envs.dose_finding.core import DoseFindingCore
    from pkgym.envs.vancomycin.core import VancomycinCore
    from pkgym.envs.warfarin.core import WarfarinCore

    table: tuple[tuple[type, tuple[str, ...], Callable[[str, Any], Policy]], ...] = (
        (VancomycinCore, BASELINES, _baseline),
        (WarfarinCore, WARFARIN_BASELINES, _warfarin_baseline),
        (ChemotherapyCore, CHEMOTHERAPY_BASELINES, _chemotherapy_baseline),
        (ChemoImmuneCore, CHEMO_IMMUNE_BASELINES, _chemo_immune_baseline),
        (DepressionCore, DEPRESSION_BASELINES, _depression_baseline),
        (AddictionCore, ADDICTION_BASELINES, _addiction_baseline),
        (DoseFindingCore, DOSE_FINDING_BASELINES, _dose_finding_baseline))
    for core_type, names, factory in table:
        if isinstance(core, core_type):
            return names, factory
    return (), _baseline


def _baseline(name: str, core: DosingCore) -> Policy:
    """A vancomycin baseline built for the env's interval, infusion limits, model and doses."""
    from agents.policies.vancomycin.baselines import LabelDosingPolicy, TroughGuidedPolicy
    from agents.policies.vancomycin.map import MapBayesianPolicy
    from agents.policies.vancomycin.oracle import OraclePolicy

    settings: Any = getattr(core, "settings", None)
    if settings is None or not hasattr(settings, "config"):
        raise ValueError(f"the {name!r} baseline doses vancomycin; this env has no vancomycin "
                         "ward settings")
    config = settings.config
    limits = {"max_infusion_rate_mg_per_h": config.max_infusion_rate_mg_per_h,
              "min_infusion_h": config.min_infusion_h}
    factories: dict[str, Callable[[], Policy]] = {
        "label": lambda: LabelDosingPolicy(config.interval_h),
        "trough": lambda: TroughGuidedPolicy(config.interval_h),
        "map": lambda: MapBayesianPolicy(settings.model, config.interval_h,
                                         settings.dose_levels_mg, **limits),
        "oracle": lambda: OraclePolicy(config.interval_h, settings.dose_levels_mg, **limits)}
    return factories[name]()


def _warfarin_baseline(name: str, core: Any) -> Policy:
    """A warfarin baseline built for the env's model, dose levels and test-day choice."""
    from agents.policies.warfarin.map import WarfarinMapPolicy
    from agents.policies.warfarin.mpc import WarfarinOraclePolicy
    from agents.policies.warfarin.protocols import ravvaz_arms

    settings = core.settings
    scenario, chooses = settings.scenario, settings.chooses_test_days
    target = sum(scenario.target_inr) / 2.0
    if name == "map":
        return WarfarinMapPolicy(scenario.hamberg, core.dose_levels_mg, target_inr=target,
                                 inr_log_sd=max(scenario.assay_log_sd, 0.02),
                                 test_every_days=7 if chooses else None)
    if name == "oracle":
        return WarfarinOraclePolicy(scenario.hamberg.structure, core.dose_levels_mg,
                                    target_inr=target, test_every_days=28 if chooses else None)
    arms = ravvaz_arms(chooses, include_pharmacogenetic=settings.genotype_guided)
    if name not in arms:
        raise ValueError(f"{name!r} reads the genotype: use pkgym/WarfarinPGx-v0 (available "
                         f"here: {sorted(arms)})")
    return arms[name]


def _chemo_immune_baseline(name: str, core: Any) -> Policy:
    """A ChemoImmune baseline: the maximum dose every day, or the normal-cell threshold rule.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> core = gym.make("pkgym/ChemoImmune-v0").unwrapped.core
        >>> _chemo_immune_baseline("threshold", core).floor
        0.75
    """
    from agents.policies.chemo_immune.baselines import ConstantDosePolicy, ThresholdPolicy

    full = float(core.dose_levels_mg.max())
    if name == "constant":
        return ConstantDosePolicy(full)
    return ThresholdPolicy(core.settings.scenario.normal_cell_floor, full_dose=full)


def _chemotherapy_baseline(name: str, core: Any) -> Policy:
    """A docetaxel baseline built for the env's dose levels, label dose and delay option."""
    from agents.policies.chemotherapy.baselines import (
        ChemoOraclePolicy,
        FixedPercentPolicy,
        LabelRulesPolicy,
    )
    from agents.policies.chemotherapy.map import ChemoMapPolicy

    scenario, delay = core.settings.scenario, core.settings.allow_delay
    levels = np.asarray(scenario.dose_levels_percent)
    factories: dict[str, Callable[[], Policy]] = {
        "label": lambda: LabelRulesPolicy(levels, scenario.lab_days, allow_delay=delay),
        "map": lambda: ChemoMapPolicy(scenario, allow_delay=delay),
        "oracle": lambda: ChemoOraclePolicy(levels, scenario.label_dose_mg_per_m2,
                                            scenario.pk.infusion_h, scenario.cycle_days,
                                            allow_delay=delay),
        "fixed_100": lambda: FixedPercentPolicy(100.0, allow_delay=delay)}
    return factories[name]()


def _depression_baseline(name: str, core: Any) -> Policy:
    """An escitalopram baseline built for the env's dose levels, horizon, model and reward.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> core = gym.make("pkgym/Depression-v0").unwrapped.core
        >>> _depression_baseline("stepped_care", core).levels.tolist()
        [0.0, 5.0, 10.0, 15.0, 20.0]
    """
    from agents.policies.depression.baselines import (
        DepressionOraclePolicy,
        FixedDosePolicy,
        NoTreatmentPolicy,
        SteppedCarePolicy,
    )

    scenario = core.settings.scenario
    factories: dict[str, Callable[[], Policy]] = {
        "none": NoTreatmentPolicy, "fixed": lambda: FixedDosePolicy(10.0),
        "stepped_care": lambda: SteppedCarePolicy(core.dose_levels_mg),
        "oracle": lambda: DepressionOraclePolicy(core.dose_levels_mg, scenario.n_weeks,
                                                 scenario.model, scenario.reward)}
    return factories[name]()


def _addiction_baseline(name: str, core: Any) -> Policy:
    """An Addiction-v0 baseline: no treatment, naltrexone 50 mg, stepped care, or the oracle.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> core = gym.make("pkgym/Addiction-v0").unwrapped.core
        >>> _addiction_baseline("stepped_care", core).step_after
        2
    """
    from agents.policies.addiction.baselines import (
        AddictionOraclePolicy,
        FixedTreatmentPolicy,
        SteppedCarePolicy,
    )

    factories: dict[str, Callable[[], Policy]] = {
        "none": lambda: FixedTreatmentPolicy(0),
        "naltrexone_50mg": lambda: FixedTreatmentPolicy(2),
        "stepped_care": lambda: SteppedCarePolicy(),
        "oracle": lambda: AddictionOraclePolicy(core.settings.scenario)}
    return factories[name]()


def _dose_finding_baseline(name: str, core: Any) -> Policy:
    """BOIN or CRM acting as the ``pkgym/DoseFinding-v0`` policy, for the env's trial size."""
    from agents.policies.dose_finding.baselines import dose_finding_baseline

    return dose_finding_baseline(name, core.settings)
