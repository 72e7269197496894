"""Two-parameter BLRM with escalation with overdose control (EWOC)."""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.models.dose_toxicity import DoseFindingScenario
from pkgym.trials import TrialState, simulate_trials
from pkgym.trials.crm_blrm import BlrmDesign
from pkgym.trials.crm_spec import crm_from_spec

CRMPACK_DOSES = np.array([1, 3, 9, 20, 30, 45, 60, 80, 100.0])
CRMPACK_STAGES = [  # (patients, DLTs) per dose after each analysis of the vignette
    ([1, 1, 1, 1, 0, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0, 0, 0]),
    ([1, 1, 1, 4, 0, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0, 0, 0]),
    ([1, 1, 1, 4, 3, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0, 0, 0]),
    ([1, 1, 1, 4, 6, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0, 0, 0]),
    ([1, 1, 1, 4, 6, 3, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0, 0, 0]),
    ([1, 1, 1, 4, 6, 6, 0, 0, 0], [0, 0, 0, 1, 0, 2, 0, 0, 0]),
]
CRMPACK_TARGET = [  # Pr(p in [0.2, 0.35)), crmPack 2.0.1 "Trial Analysis" tables (MCMC)
    [0.024, 0.061, 0.151, 0.317, 0.361, 0.231, 0.152, 0.067, 0.043],
    [0.002, 0.015, 0.073, 0.261, 0.357, 0.332, 0.256, 0.127, 0.073],
    [0.001, 0.008, 0.023, 0.104, 0.257, 0.438, 0.310, 0.205, 0.111],
    [0.003, 0.003, 0.006, 0.059, 0.231, 0.393, 0.385, 0.200, 0.138],
    [0.000, 0.001, 0.006, 0.024, 0.111, 0.381, 0.409, 0.250, 0.173],
    [0.000, 0.001, 0.013, 0.083, 0.275, 0.565, 0.339, 0.122, 0.037],
]
CRMPACK_OVERDOSE = [  # Pr(p >= 0.35), same tables
    [0.009, 0.022, 0.068, 0.200, 0.393, 0.690, 0.826, 0.926, 0.953],
    [0.001, 0.001, 0.009, 0.071, 0.206, 0.477, 0.669, 0.848, 0.917],
    [0.000, 0.000, 0.006, 0.025, 0.063, 0.270, 0.586, 0.763, 0.874],
    [0.000, 0.000, 0.000, 0.003, 0.014, 0.198, 0.473, 0.738, 0.841],
    [0.000, 0.000, 0.000, 0.003, 0.005, 0.076, 0.361, 0.665, 0.787],
    [0.000, 0.000, 0.000, 0.000, 0.024, 0.201, 0.613, 0.869, 0.957],
]
CRMPACK_NEXT = [20, 30, 30, 45, 45, 45]  # nextBest() after each analysis, same vignette


def _crmpack_design() -> BlrmDesign:
    """The design of crmPack's vignettes "Trial Definition" and "Trial Analysis".

    ``LogisticLogNormal(mean = c(-0.85, 1), cov = [1, -0.5; -0.5, 1], ref_dose = 56)`` with
    ``NextBestNCRM(target = c(0.2, 0.35), overdose = c(0.35, 1), max_overdose_prob = 0.25)``
    (the vignette's code; its formula display shows mean 0).
    """
    return BlrmDesign(log_dose_ratios=tuple(np.log(CRMPACK_DOSES / 56)), prior_mean=(-0.85, 1.0),
                      prior_sd=(1.0, 1.0), prior_correlation=-0.5, target_interval=(0.2, 0.35))


def _stages() -> TrialState:
    """The six analyses of the crmPack vignette as six trials."""
    return TrialState.from_counts([s[0] for s in CRMPACK_STAGES], [s[1] for s in CRMPACK_STAGES],
                                  [3, 3, 4, 4, 5, 5])


def test_blrm__reproduces_crmpack_trial_analysis_vignette() -> None:
    """The crmPack 2.0.1 vignette "Trial Analysis" (openpharma.github.io/crmPack, v2.0.1).

    Its interval probabilities come from 1000 MCMC draws (burn-in 100, thinning 2); an
    earlier build of the same vignette printed 27% instead of 32% for Pr(target) at dose 20
    after four patients, so MCMC error reaches ~0.05: tolerance 0.06. Next doses agree at
    analyses 2-6 (crmPack's relative-increment limit equals our no-skipping ceiling at every
    analysis). At analysis 1 Pr(p_20 >= 0.35) is 0.256 exactly (see the next test), not
    crmPack's 0.200, so EWOC excludes 20 and recommends 9 where crmPack recommends 20.
    """
    design = _crmpack_design()
    target, over = design.interval_probabilities(_stages())
    np.testing.assert_allclose(target, CRMPACK_TARGET, atol=0.06)
    np.testing.assert_allclose(over, CRMPACK_OVERDOSE, atol=0.06)
    chosen = CRMPACK_DOSES[design.next_dose(_stages())]
    assert chosen[1:].tolist() == CRMPACK_NEXT[1:]
    assert chosen[0] == 9 and over[0, 3] == pytest.approx(0.256, abs=0.002)
    assert target[5, 5] == pytest.approx(0.53, abs=0.02)  # stop rule: "53 % for dose 45"


def test_blrm__interval_probabilities_match_importance_sampling() -> None:
    """Grid posterior against prior draws weighted by the likelihood (200 000 draws)."""
    design = _crmpack_design()
    target, over = design.interval_probabilities(_stages())
    rng = np.random.default_rng(2024)
    draws = rng.multivariate_normal([-0.85, 1.0], [[1.0, -0.5], [-0.5, 1.0]], size=200_000)
    eta = draws[:, :1] + np.exp(draws[:, 1:]) * np.log(CRMPACK_DOSES / 56)[None, :]
    p, log_p, log_q = np.exp(-np.logaddexp(0.0, -eta)), -np.logaddexp(0.0, -eta), -np.logaddexp(
        0.0, eta)
    for stage, (patients, dlts) in enumerate(CRMPACK_STAGES):
        n, y = np.array(patients), np.array(dlts)
        log_w = log_p @ y + log_q @ (n - y)
        w = np.exp(log_w - log_w.max())
        w /= w.sum()
        se = np.sqrt(np.sum(w**2)) * 0.5  # at most 0.5 sd per indicator
        np.testing.assert_allclose(over[stage], w @ (p >= 0.35), atol=max(4 * se, 2e-3))
        np.testing.assert_allclose(target[stage], w @ ((p >= 0.2) & (p < 0.35)),
                                   atol=max(4 * se, 2e-3))


def test_blrm__reproduces_trialr_nbg_example() -> None:
    """The trialr 0.1.6 vignette A300: NBG 2008's Figure 1 trial.

    15 doses, d* = 250, outcomes '1NNN 2NNNN 3NNNN 4NNNN 7TT', independent priors alpha ~
    N(2.15, 0.84^2), log beta ~ N(0.52, 0.8^2) (trialr's, not NBG's bivariate prior).
    Published posterior means of p_d (Stan): tolerance 0.01, its Monte-Carlo error.
    """
    doses = np.array([1, 2.5, 5, 10, 15, 20, 25, 30, 40, 50, 75, 100, 150, 200, 250])
    design = BlrmDesign(log_dose_ratios=tuple(np.log(doses / 250)), prior_mean=(2.15, 0.52),
                        prior_sd=(0.84, 0.8))
    patients, dlts = np.zeros(15, int), np.zeros(15, int)
    patients[[0, 1, 2, 3, 6]], dlts[6] = [3, 4, 4, 4, 2], 2
    means = design.mean_probabilities(TrialState.from_counts([patients], [dlts], [6]))
    published = [0.0126, 0.0325, 0.0675, 0.1385, 0.2064, 0.2692, 0.3264, 0.3780, 0.4661,
                 0.5371, 0.6616, 0.7390, 0.8259, 0.8717, 0.8993]
    np.testing.assert_allclose(means[0], published, atol=0.01)


def test_blrm__ewoc_never_recommends_an_overdosing_level() -> None:
    """Every next dose has Pr(overdose) < ewoc; a toxic lowest level stops with no MTD."""
    design = BlrmDesign(log_dose_ratios=(-2.0, -1.0, -0.5, 0.0, 0.5), prior_mean=(-1.0, 0.0),
                        prior_sd=(2.0, 1.0), target_interval=(0.2, 0.3), skip=4, n_grid=81)
    rng = np.random.default_rng(3)
    patients = rng.integers(0, 7, size=(200, 5))
    state = TrialState.from_counts(patients, rng.binomial(patients, 0.3), np.zeros(200, int))
    _, over = design.interval_probabilities(state)
    chosen = design.next_dose(state)
    safe = ~design.stop(state)
    assert np.all(over[np.flatnonzero(safe), chosen[safe]] < design.ewoc)
    toxic = TrialState.from_counts([[3, 0, 0, 0, 0]], [[3, 0, 0, 0, 0]], [0])
    assert design.stop(toxic).tolist() == [True] and design.select_mtd(toxic).tolist() == [-1]


def test_blrm__grid_converged() -> None:
    """Interval probabilities move by < 0.001 from the default 161 to 321 grid points."""
    coarse = dict(log_dose_ratios=tuple(np.log(CRMPACK_DOSES / 56)), prior_mean=(-0.85, 1.0),
                  prior_sd=(1.0, 1.0), prior_correlation=-0.5, target_interval=(0.2, 0.35))
    low = BlrmDesign(**coarse).interval_probabilities(_stages())  # type: ignore[arg-type]
    high = BlrmDesign(**coarse, n_grid=321).interval_probabilities(_stages())  # type: ignore[arg-type]
    np.testing.assert_allclose(low, high, atol=1e-3)


def test_blrm_spec__simulates_and_selects_admissible_doses() -> None:
    """``crm:model=blrm`` runs in the simulator; selections are levels or -1."""
    scenario = DoseFindingScenario(true_dlt_probabilities=(0.05, 0.1, 0.2, 0.3, 0.5),
                                   target_dlt_rate=0.3, max_sample_size=24)
    design = crm_from_spec("crm:model=blrm", scenario)
    results = simulate_trials(design, scenario, 100, seed=4)
    assert np.all((results.selected >= -1) & (results.selected < 5))
    assert np.all(results.patients.sum(axis=1) <= 24)
    assert np.mean(results.selected >= 2) > 0.5  # mostly near the true MTD (level 3)


def test_blrm__bad_prior_raises() -> None:
    """A correlation outside (-1, 1) is rejected naming the field."""
    with pytest.raises(ValueError, match="prior_correlation"):
        BlrmDesign(log_dose_ratios=(-1.0, 0.0), prior_mean=(0.0, 0.0), prior_sd=(1.0, 1.0),
                   prior_correlation=1.0)
