"""Adaptive trial designs and their operating characteristics (phase I dose finding)."""

from __future__ import annotations

from pkgym.trials.boin import BoinDesign, boin_boundaries, isotonic_rates
from pkgym.trials.crm import CrmDesign, indifference_skeleton
from pkgym.trials.operating_characteristics import (
    OperatingCharacteristics,
    TrialResults,
    operating_characteristics,
    simulate_trials,
)
from pkgym.trials.scenarios import DoseFindingScenario, load_dose_finding_scenario
from pkgym.trials.state import DoseFindingDesign, TrialState
from pkgym.trials.thompson import ThompsonSamplingDesign
from pkgym.trials.three_plus_three import ThreePlusThreeDesign, three_plus_three_exact

__all__ = [
    "BoinDesign",
    "CrmDesign",
    "DoseFindingDesign",
    "DoseFindingScenario",
    "OperatingCharacteristics",
    "ThompsonSamplingDesign",
    "ThreePlusThreeDesign",
    "TrialResults",
    "TrialState",
    "boin_boundaries",
    "indifference_skeleton",
    "isotonic_rates",
    "load_dose_finding_scenario",
    "operating_characteristics",
    "simulate_trials",
    "three_plus_three_exact",
]
