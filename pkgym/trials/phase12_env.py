"""A phase I/II trial scenario as a ``pkgym/DoseFindingEffTox-v0`` scenario (fixed truth).

The env sits below the trials layer, so a :class:`Phase12Scenario`, such as the docetaxel
mechanistic truth of :func:`pkgym.trials.efficacy_toxicity.phase12_scenario`, reaches it as
its truth table, size rules, phi_T, phi_E and utilities, converted here.
"""

from __future__ import annotations

from pkgym.envs.dose_finding_efftox.clinic import DoseFindingEffToxScenario
from pkgym.trials.phase12_simulation import Phase12Scenario


def efftox_env_scenario(scenario: Phase12Scenario) -> DoseFindingEffToxScenario:
    """The env scenario with ``scenario``'s truth table (its joint probabilities included).

    Examples:
        >>> s = Phase12Scenario(true_dlt_probabilities=(0.05, 0.1, 0.3),
        ...                     true_efficacy_probabilities=(0.2, 0.5, 0.5))
        >>> env = efftox_env_scenario(s)
        >>> env.n_doses, env.true_joint_probabilities == tuple(s.joint.tolist())
        (3, True)
    """
    return DoseFindingEffToxScenario(
        n_doses=scenario.n_doses, target_dlt_rate=scenario.target_dlt_rate,
        min_efficacy_rate=scenario.min_efficacy_rate, utility_neither=scenario.utility_neither,
        utility_both=scenario.utility_both, cohort_size=scenario.cohort_size,
        max_sample_size=scenario.max_sample_size, start_level=scenario.start_level,
        true_dlt_probabilities=scenario.true_dlt_probabilities,
        true_efficacy_probabilities=scenario.true_efficacy_probabilities,
        true_joint_probabilities=tuple(scenario.joint.tolist()))
