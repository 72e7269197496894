"""One-parameter logistic CRM, coherence and escalation limits, and the ``crm:`` spec."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from pkgym.models.dose_toxicity import DoseFindingScenario
from pkgym.trials import CrmDesign, TrialState, simulate_trials
from pkgym.trials.crm_family import (
    CrmRulesDesign,
    LogisticCrmDesign,
    escalation_ceiling,
    logistic_indifference_skeleton,
)
from pkgym.trials.crm_spec import crm_from_spec
from pkgym.trials.report import make_design

TRIALR_SKELETON = (0.05, 0.15, 0.25, 0.4, 0.6)
TRIALR_STATE = ([[0, 2, 2, 2, 0]], [[0, 0, 0, 2, 0]], [3])  # outcomes '2NN 3NN 4TT'


def test_logistic_crm__reproduces_trialr_vignette() -> None:
    """The trialr 0.1.6 vignette A200-CRM, ``fit2`` (logistic, a0 = 3, beta ~ N(0, 1.34)).

    Published posterior means of p_d (Stan, 4000 draws): 0.119 0.235 0.328 0.455 0.624; the
    same vignette's power-model fit (``fit1``), from the same seed, sits as far above the
    exact integral, so the tolerance is its Monte-Carlo error (0.01), not ours.
    """
    design = LogisticCrmDesign(skeleton=TRIALR_SKELETON, target=0.25)
    means, _ = design.posterior(TrialState.from_counts(*TRIALR_STATE))
    np.testing.assert_allclose(means[0], [0.119, 0.235, 0.328, 0.455, 0.624], atol=0.01)
    assert design.next_dose(TrialState.from_counts(*TRIALR_STATE)).tolist() == [1]  # "dose 2"


def test_logistic_crm__plug_in_matches_dfcrm_rule_by_quadrature() -> None:
    """The rule of dfcrm ``crm(model="logistic")``: ptox = p(E[a]), E[a] by adaptive quadrature.

    dfcrm's documented ``crm()`` example data (skeleton 0.05..0.70, target 0.2, ten patients)
    with the logistic model; dfcrm prints no numbers for it, so the check is its rule
    (posterior mean of a by ``integrate``, plug-in estimate) recomputed with scipy.
    """
    skeleton = np.array([0.05, 0.10, 0.20, 0.35, 0.50, 0.70])
    levels = np.array([3, 4, 4, 3, 3, 4, 3, 2, 2, 2]) - 1
    tox = np.array([0, 0, 1, 0, 0, 1, 1, 0, 0, 0])
    labels = np.log(skeleton / (1 - skeleton)) - 3

    def density(a: float, power: int) -> float:
        p = np.exp(-np.logaddexp(0.0, -3 - np.exp(a) * labels[levels]))
        return float(a**power * np.prod(p**tox * (1 - p) ** (1 - tox)) * np.exp(-a**2 / 2.68))

    mean_a = integrate.quad(density, -10, 10, args=(1,))[0] / integrate.quad(
        density, -np.inf, np.inf, args=(0,))[0]
    expected = 1 / (1 + np.exp(-3 - np.exp(mean_a) * labels))
    patients = np.bincount(levels, minlength=6)
    dlts = np.bincount(levels, weights=tox, minlength=6).astype(int)
    design = LogisticCrmDesign(skeleton=tuple(skeleton), target=0.2, estimate="plug_in")
    estimates, _ = design.posterior(TrialState.from_counts([patients], [dlts], [1]))
    np.testing.assert_allclose(estimates[0], expected, atol=1e-6)


def test_logistic_skeleton__neighbours_meet_at_interval_ends() -> None:
    """At each boundary of the logistic parameter adjacent doses have p = target -/+ delta."""
    target, delta, a0 = 0.25, 0.05, 3.0
    skeleton = logistic_indifference_skeleton(target, delta, 3, 6, a0)
    labels = np.log(skeleton / (1 - skeleton)) - a0
    assert skeleton[2] == pytest.approx(target)
    for k in range(1, 6):
        slope = (np.log((target + delta) / (1 - target - delta)) - a0) / labels[k]
        assert 1 / (1 + np.exp(-a0 - slope * labels[k - 1])) == pytest.approx(target - delta)


def test_logistic_crm__bad_intercept_raises() -> None:
    """An intercept below logit(skeleton) makes a dose label positive: rejected, named."""
    with pytest.raises(ValueError, match="intercept"):
        LogisticCrmDesign(skeleton=(0.1, 0.5, 0.97), target=0.25)


def test_escalation_ceiling__limits() -> None:
    """Skip, step and coherence limits; coherence without last_dlts raises."""
    state = TrialState.from_counts([[3, 3, 0, 0, 0]], [[0, 1, 0, 0, 0]], [0], last_dlts=[1])
    assert escalation_ceiling(state).tolist() == [2]
    assert escalation_ceiling(state, skip=2).tolist() == [4]
    assert escalation_ceiling(state, skip=2, max_step=1).tolist() == [1]
    assert escalation_ceiling(state, skip=2, coherence=True).tolist() == [0]
    unknown = TrialState.from_counts([[3, 3, 0, 0, 0]], [[0, 1, 0, 0, 0]], [0])
    with pytest.raises(ValueError, match="last_dlts"):
        escalation_ceiling(unknown, coherence=True)


def _escalations_after_dlt(design: object, scenario: DoseFindingScenario, n_trials: int,
                           seed: int) -> tuple[int, int, int]:
    """Next-dose decisions, those right after a cohort with a DLT, and those that escalate.

    A plain cohort loop that records ``last_dlts`` (as the simulator's cohort step must).
    """
    rng = np.random.default_rng(seed)
    truth = np.asarray(scenario.true_dlt_probabilities)
    state = TrialState.empty(n_trials=n_trials, n_doses=scenario.n_doses, start_level=0)
    decisions = after_dlt = escalated = 0
    for _ in range(scenario.max_cohorts):
        rows = np.flatnonzero(~state.stopped)
        if rows.size == 0:
            break
        levels = state.levels[rows]
        toxicities = rng.binomial(scenario.cohort_size, truth[levels])
        state.patients[rows, levels] += scenario.cohort_size
        state.dlts[rows, levels] += toxicities
        state.last_dlts[rows] = toxicities
        done = design.stop(state) | (state.patients.sum(axis=1) >= scenario.max_sample_size)
        state.stopped[rows] |= done[rows]
        moving = np.flatnonzero(~state.stopped)
        following = design.next_dose(state)[moving]
        hit = state.last_dlts[moving] > 0
        decisions += moving.size
        after_dlt += int(hit.sum())
        escalated += int((hit & (following > state.levels[moving])).sum())
        state.levels[moving] = following
    return decisions, after_dlt, escalated


@pytest.mark.parametrize("model", ["power", "logistic"])
def test_coherence__no_escalation_after_a_dlt(model: str) -> None:
    """Issue 24: with cohorts of 3 the CRM escalates right after a DLT; coherence=1 never.

    Scenario: target 0.3, true rates 0.05/0.10/0.20/0.30/0.50 (a value we choose), 36
    patients; 200 trials.
    """
    scenario = DoseFindingScenario(true_dlt_probabilities=(0.05, 0.1, 0.2, 0.3, 0.5),
                                   target_dlt_rate=0.3)
    plain = crm_from_spec(f"crm:model={model}", scenario)
    coherent = crm_from_spec(f"crm:model={model},coherence=1", scenario)
    _, after, escalated = _escalations_after_dlt(plain, scenario, 200, seed=5)
    assert after > 500 and escalated > 0.05 * after
    _, after, escalated = _escalations_after_dlt(coherent, scenario, 200, seed=5)
    assert after > 500 and escalated == 0


def test_coherence__through_simulate_trials_needs_last_dlts() -> None:
    """Either the simulator records last_dlts (coherent trials run) or coherence refuses."""
    scenario = DoseFindingScenario(true_dlt_probabilities=(0.05, 0.1, 0.2, 0.3, 0.5),
                                   target_dlt_rate=0.3, max_sample_size=12)
    design = crm_from_spec("crm:coherence=1", scenario)
    try:
        results = simulate_trials(design, scenario, 20, seed=1)
    except ValueError as error:
        assert "last_dlts" in str(error)
    else:
        assert np.all(results.patients.sum(axis=1) <= 12)


def test_crm_rules__skip_allows_jumping_an_untried_level() -> None:
    """After 0/9 at dose 0 the model points high: skip=1 allows level 2, default only 1."""
    base = CrmDesign(skeleton=(0.05, 0.12, 0.25, 0.4, 0.55), target=0.25)
    state = TrialState.from_counts([[9, 0, 0, 0, 0]], [[0, 0, 0, 0, 0]], [0])
    assert CrmRulesDesign(base=base).next_dose(state).tolist() == [1]
    assert CrmRulesDesign(base=base, skip=1).next_dose(state).tolist() == [2]


def test_crm_from_spec__plain_crm_is_the_registered_design() -> None:
    """``crm`` and ``crm:model=power`` build exactly ``make_design("crm")``."""
    scenario = DoseFindingScenario(true_dlt_probabilities=(0.05, 0.1, 0.2, 0.3, 0.5),
                                   target_dlt_rate=0.3)
    assert crm_from_spec("crm", scenario) == make_design("crm", scenario)
    assert crm_from_spec("crm:model=power", scenario) == make_design("crm", scenario)


@pytest.mark.parametrize(
    ("spec", "field"),
    [("crm:model=probit", "model"), ("crm:coherence=2", "coherence"),
     ("crm:skip=x", "skip"), ("crm:ewoc=0.3", "ewoc"), ("crm:colour=1", "keys"),
     ("crm:model=blrm,ewoc=1.5", "ewoc"), ("crm:model=logistic,intercept=-5", "intercept")],
)
def test_crm_from_spec__bad_options_raise(spec: str, field: str) -> None:
    """Unknown keys, bad values and keys of another model fail naming the field."""
    scenario = DoseFindingScenario(true_dlt_probabilities=(0.05, 0.1, 0.2, 0.3, 0.5),
                                   target_dlt_rate=0.3)
    with pytest.raises(ValueError, match=field):
        crm_from_spec(spec, scenario)
