"""Adaptive trial designs and their operating characteristics.

Phase I dose finding, and group-sequential virtual trials of dosing policies (issue 9).
"""

from __future__ import annotations

from pkgym.trials.allocation import probability_best
from pkgym.trials.boin import BoinDesign, boin_boundaries, isotonic_rates
from pkgym.trials.crm import CrmDesign, indifference_skeleton
from pkgym.trials.endpoints import (
    BernoulliEndpoints,
    EndpointPool,
    EndpointSource,
    GaussianEndpoints,
    simulate_endpoint_pool,
)
from pkgym.trials.group_sequential import (
    GroupSequentialBoundaries,
    constant_boundaries,
    exit_probabilities,
    spending_boundaries,
    spending_function,
    stagewise_p_values,
)
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
from pkgym.trials.virtual_trial import (
    ComparisonOutcome,
    TrialOutcome,
    VirtualTrialCharacteristics,
    VirtualTrialDesign,
    run_sequential_trial,
    run_virtual_trial,
    simulate_virtual_trials,
)

__all__ = [
    "BernoulliEndpoints",
    "BoinDesign",
    "ComparisonOutcome",
    "CrmDesign",
    "DoseFindingDesign",
    "DoseFindingScenario",
    "EndpointPool",
    "EndpointSource",
    "GaussianEndpoints",
    "GroupSequentialBoundaries",
    "OperatingCharacteristics",
    "ThompsonSamplingDesign",
    "ThreePlusThreeDesign",
    "TrialOutcome",
    "TrialResults",
    "TrialState",
    "VirtualTrialCharacteristics",
    "VirtualTrialDesign",
    "boin_boundaries",
    "constant_boundaries",
    "exit_probabilities",
    "indifference_skeleton",
    "isotonic_rates",
    "load_dose_finding_scenario",
    "operating_characteristics",
    "probability_best",
    "run_sequential_trial",
    "run_virtual_trial",
    "simulate_endpoint_pool",
    "simulate_trials",
    "simulate_virtual_trials",
    "spending_boundaries",
    "spending_function",
    "stagewise_p_values",
    "three_plus_three_exact",
]
