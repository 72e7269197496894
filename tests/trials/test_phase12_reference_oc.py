"""BOIN12 operating characteristics against an independent R implementation.

No published BOIN12 operating-characteristics table could be retrieved here (Lin et al. 2020's
simulation tables are not in the stored corpus). The reference is the R package
``phase12designs`` (Cao A, GitHub Angela-Cao/phase12designs, commit 6cdcb37, ``oc_boin12``,
written in the style of the BOIN12 authors' simulation code), run locally on 2026-12-07 with
``set.seed(7)``, 10 000 trials per scenario, ``oc_boin12(5, 0.35, 0.25, ncohort = 10,
cohortsize = 3, psafe = 0.95, pfutility = 0.9, prob = ...)`` (utilities 60/40), its result list
extended to return ``sel`` and ``pts``, and ``Iso::ufit`` (not installed) replaced by the same
unimodal fit as :mod:`pkgym.trials.phase12_selection` (increasing up to the mode, decreasing
after). Outcomes independent given the dose in both. Tolerance: 2 points of selection or 3 Monte
Carlo standard errors of the difference of two 10 000-trial estimates, whichever is larger.
"""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.trials.phase12_simulation import (
    Phase12Scenario,
    phase12_operating_characteristics,
    simulate_phase12_trials,
)

R_REFERENCE = {  # name: (p_T, p_E, selection % per dose, mean patients per dose, stop %)
    "A": ((0.05, 0.1, 0.15, 0.3, 0.45), (0.2, 0.35, 0.55, 0.55, 0.55),
          (4.2, 16.1, 51.5, 24.2, 3.9), (4.6, 6.7, 11.0, 5.9, 1.8), 0.07),
    "C": ((0.1, 0.2, 0.3, 0.4, 0.4), (0.4, 0.5, 0.6, 0.6, 0.6),
          (26.1, 34.7, 28.6, 8.5, 2.0), (9.9, 10.1, 7.0, 2.4, 0.6), 0.11),
    "D": ((0.02, 0.05, 0.1, 0.2, 0.4), (0.1, 0.3, 0.5, 0.45, 0.3),
          (1.0, 15.2, 55.7, 26.6, 1.5), (3.5, 5.8, 11.1, 7.2, 2.4), 0.02),
}
N_TRIALS = 10_000


def _scenario(name: str) -> Phase12Scenario:
    tox, eff = R_REFERENCE[name][:2]
    return Phase12Scenario(true_dlt_probabilities=tox, true_efficacy_probabilities=eff,
                           target_dlt_rate=0.35, min_efficacy_rate=0.25, utility_neither=40,
                           utility_both=60, max_sample_size=30)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(R_REFERENCE))
def test_boin12_matches_the_r_reference(name: str) -> None:
    """Selection per dose, patients per dose and early stops agree with phase12designs."""
    scenario = _scenario(name)
    oc = phase12_operating_characteristics(
        simulate_phase12_trials(scenario.design(), scenario, N_TRIALS, seed=2026), scenario)
    selection, patients, stop = (np.asarray(x) for x in R_REFERENCE[name][2:])
    ours = np.asarray(oc["selection_percent"])
    share = selection / 100
    tolerance = np.maximum(2.0, 3 * 100 * np.sqrt(2 * share * (1 - share) / N_TRIALS))
    assert np.all(np.abs(ours - selection) <= tolerance), (ours.round(1), selection)
    np.testing.assert_allclose(oc["mean_patients_per_dose"], patients, atol=0.35)
    assert abs(oc["no_selection_percent"] - stop) < 0.3
    assert scenario.true_obd == 2


def test_reference_scenarios_have_the_obd_the_r_code_uses() -> None:
    """The R code's OBD (max 60 p_E + 40 (1 - p_T) up to the MTD) is level 3 in all three."""
    for name in R_REFERENCE:
        scenario = _scenario(name)
        utility = 60 * np.asarray(scenario.true_efficacy_probabilities) + 40 * (
            1 - np.asarray(scenario.true_dlt_probabilities))
        np.testing.assert_allclose(scenario.true_utilities, utility)
        assert scenario.true_obd == 2
