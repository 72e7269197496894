"""Chemotherapy dosing policies: baselines, and MAP dosing and oracles where the drug has them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pkgym.envs.chemotherapy import ENV_ID
from pkgym.envs.registry import env_spec
from pkgym.evaluation.policy import Policy

BASELINES = env_spec(ENV_ID).baselines
"""The baseline names :func:`make_baseline` builds (the env's registry entry lists them)."""


def make_baseline(name: str, core: Any) -> Policy:
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
