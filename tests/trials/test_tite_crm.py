"""TITE-CRM (Cheung & Chappell 2000) against the dfcrm R package, and its rules.

References were printed by dfcrm 0.2-2.1 (Cheung; the CRAN source, installed from its tarball
contents) under R 4.2.2 on Debian 12; the commands are quoted in each test's docstring.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pkgym.trials.operating_characteristics import operating_characteristics, simulate_trials
from pkgym.trials.scenarios import DoseFindingScenario
from pkgym.trials.tite_crm import (
    TiteAccrual,
    TiteCrmDesign,
    tite_crm_from_spec,
    tite_weights,
)
from pkgym.trials.tite_simulation import simulate_tite_trials

PRIOR = (0.05, 0.10, 0.20, 0.35, 0.50, 0.70)  # dfcrm help examples (titecrm and titesim)
LEVELS = np.array([3, 3, 3, 4, 4, 3, 2, 2, 2, 3]) - 1
TOX = np.array([0, 0, 1, 0, 1, 0, 0, 0, 0, 0])
FOLLOWUP = np.array([178, 181, 168, 181, 24, 181, 179, 102, 42, 3], dtype=float)
TAU = 180.0


def _printed_fit(scheme: str) -> tuple[np.ndarray, object]:
    """Weights and fit of the titecrm help example, for one weighting scheme."""
    weights = tite_weights(FOLLOWUP[None], TOX[None], TAU, scheme)
    design = TiteCrmDesign(skeleton=PRIOR, target=0.2, window=TAU, scheme=scheme)
    return weights[0], design.fit(LEVELS[None], TOX[None], weights)


@pytest.mark.parametrize(
    ("scheme", "weights", "totals", "ptox", "lower", "upper", "beta", "variance"),
    [
        (
            "linear",
            [0.989, 1, 1, 1, 1, 1, 0.994, 0.567, 0.233, 0.017],
            [0, 1.794, 4.006, 2, 0, 0],
            [0.073, 0.133, 0.244, 0.399, 0.545, 0.732],
            [0.004, 0.015, 0.054, 0.149, 0.285, 0.524],
            [0.282, 0.377, 0.506, 0.641, 0.746, 0.86],
            -0.133,
            0.195,
        ),
        (
            "adaptive",
            [0.944, 1, 1, 1, 1, 1, 0.972, 0.514, 0.375, 0.042],
            [0, 1.861, 3.986, 2, 0, 0],
            [0.073, 0.134, 0.245, 0.399, 0.546, 0.732],
            [0.004, 0.015, 0.054, 0.149, 0.284, 0.524],
            [0.283, 0.379, 0.508, 0.643, 0.747, 0.861],
            -0.135,
            0.197,
        ),
    ],
)
def test_titecrm_help_example(scheme, weights, totals, ptox, lower, upper, beta, variance) -> None:
    """The dfcrm ``titecrm`` help-page example, to print.mtd's 3 decimals.

    ``foo <- titecrm(prior, target, y, level, followup=u, obswin=tau)`` and ``foo2`` with
    ``scheme="adaptive"`` (prior 0.05..0.70, target 0.2, tau 180, the ten patients above);
    ``print(foo)``: weights, total.wts, Ptox, LoLmt, UpLmt (90%), posterior mean and variance
    of beta, and "Next recommended dose level: 3" (both schemes).
    """
    w, fit = _printed_fit(scheme)
    np.testing.assert_array_equal(w.round(3), weights)
    totals_by_level = np.bincount(LEVELS, weights=w, minlength=6)
    np.testing.assert_array_equal(totals_by_level.round(3), totals)
    np.testing.assert_array_equal(fit.dlt_probabilities[0].round(3), ptox)
    np.testing.assert_array_equal(fit.lower[0].round(3), lower)
    np.testing.assert_array_equal(fit.upper[0].round(3), upper)
    assert round(float(fit.beta_mean[0]), 3) == beta
    assert round(float(fit.beta_variance[0]), 3) == variance
    assert int(fit.recommended[0]) + 1 == 3


def test_titecrm_help_example_to_ten_digits() -> None:
    """The same example at R's full precision (``print(foo$estimate, digits=10)``).

    dfcrm gives -0.1327865514 (post.var 0.1954901478) linear, -0.1345180665 adaptive.
    """
    assert abs(float(_printed_fit("linear")[1].beta_mean[0]) + 0.1327865514) < 1e-9
    assert abs(float(_printed_fit("linear")[1].beta_variance[0]) - 0.1954901478) < 1e-9
    assert abs(float(_printed_fit("adaptive")[1].beta_mean[0]) + 0.1345180665) < 1e-9


def test_weighting_rules_by_hand() -> None:
    """Linear w = min(u/T, 1); DLT -> 1; adaptive (Cheung & Chappell 2000; dfcrm) by hand.

    Two DLTs at 2 and 6 (T = 10, z = 2): u = 1 -> (0 + 1/2)/3; u = 4 -> (1 + 2/4)/3;
    u = 8 -> (2 + 2/4)/3. Without DLTs the adaptive weights are the linear ones.
    """
    u = np.array([[1.0, 4.0, 8.0, 2.0, 6.0, 12.0]])
    y = np.array([[0, 0, 0, 1, 1, 0]])
    np.testing.assert_allclose(tite_weights(u, y, 10.0), [[0.1, 0.4, 0.8, 1, 1, 1]])
    np.testing.assert_allclose(
        tite_weights(u, y, 10.0, "adaptive"), [[0.5 / 3, 1.5 / 3, 2.5 / 3, 1, 1, 1]]
    )
    no_dlts = 0 * y
    adaptive = tite_weights(u, no_dlts, 10.0, "adaptive")
    np.testing.assert_allclose(adaptive, tite_weights(u, no_dlts, 10.0))


def test_weight_zero_drops_a_patient_and_weight_one_is_the_crm() -> None:
    """A pending patient with w = 0 adds nothing; all weights 1 is the CRM on the counts."""
    design = TiteCrmDesign(skeleton=PRIOR, target=0.2)
    with_pending = design.fit([[2, 2, 3]], [[0, 1, 0]], [[1.0, 1.0, 0.0]])
    without = design.fit([[2, 2]], [[0, 1]], [[1.0, 1.0]])
    np.testing.assert_allclose(with_pending.beta_mean, without.beta_mean, rtol=1e-12)
    half = design.fit([[2, 2, 3]], [[0, 1, 0]], [[1.0, 1.0, 0.5]])
    assert without.beta_mean[0] < half.beta_mean[0]  # partial tolerance lowers the curve
    counts = design._fit_counts(np.array([[0, 0, 2, 1, 0, 0]]), np.array([[0, 0, 1, 0, 0, 0]]))
    full = design.fit([[2, 2, 3]], [[0, 1, 0]], [[1.0, 1.0, 1.0]])
    np.testing.assert_allclose(counts.beta_mean, full.beta_mean, rtol=1e-12)


def _example_scenario(n: int = 24) -> DoseFindingScenario:
    """The dfcrm titesim help example: PI, target 0.2, n = 24, start at dose 3, one by one."""
    return DoseFindingScenario(
        true_dlt_probabilities=(0.10, 0.20, 0.40, 0.50, 0.60, 0.65),
        target_dlt_rate=0.2, cohort_size=1, max_sample_size=n, start_level=2,
    )


def _example_design(process: str = "poisson", scheme: str = "linear", rate: float = 4.0):
    """TITE-CRM of the titesim help example (obswin 6, rate 4, Poisson accrual)."""
    return TiteCrmDesign(skeleton=PRIOR, target=0.2, window=6.0, scheme=scheme,
                         accrual=TiteAccrual(process=process, rate=rate))


@pytest.mark.parametrize("cohort_size", [1, 3])
def test_complete_follow_up_equals_the_cohort_simulator(cohort_size: int) -> None:
    """With one arrival per window (fixed gaps = T), TITE-CRM is the CRM.

    Every cohort is then fully followed before the next enters: the same trials as
    ``simulate_trials``.
    """
    scenario = dataclasses.replace(_example_scenario(12), cohort_size=cohort_size)
    design = _example_design(process="fixed", rate=1.0)
    tite = simulate_tite_trials(design, scenario, 200, seed=5).results
    plain = simulate_trials(design, scenario, 200, seed=5)
    np.testing.assert_array_equal(tite.patients, plain.patients)
    np.testing.assert_array_equal(tite.dlts, plain.dlts)
    np.testing.assert_array_equal(tite.selected, plain.selected)


def test_pending_patients_carry_no_information() -> None:
    """All patients enter at once (rate 1e6): pending patients weigh ~0.

    Each decision sees only the prior, so the doses climb one step at a time from level 1
    to the prior's best level (0.2 at level 3) and stay.
    """
    scenario = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.2, 0.4, 0.5, 0.6, 0.65),
                                   target_dlt_rate=0.2, cohort_size=1, max_sample_size=6)
    trials = simulate_tite_trials(_example_design(process="fixed", rate=1e6), scenario, 50, 2)
    np.testing.assert_array_equal(trials.levels, np.tile([0, 1, 2, 2, 2, 2], (50, 1)))


def test_no_skipping_chunks_and_durations() -> None:
    """Restricted: at most one level up per patient; trial k is the same in any chunk.

    Fixed accrual lasts n gaps plus one window (dfcrm's Duration).
    """
    scenario, design = _example_scenario(), _example_design()
    whole = simulate_tite_trials(design, scenario, 30, seed=9)
    assert np.all(np.diff(whole.levels, axis=1) <= 1)
    part = simulate_tite_trials(design, scenario, 10, seed=9, first_trial=20)
    np.testing.assert_array_equal(part.levels, whole.levels[20:])
    np.testing.assert_array_equal(part.results.selected, whole.results.selected[20:])
    fixed = simulate_tite_trials(_example_design(process="fixed"), scenario, 3, seed=9)
    np.testing.assert_allclose(fixed.durations, 24 * 6.0 / 4 + 6.0)


# dfcrm titesim(PI, prior, 0.2, 24, 3, nsim=N, obswin=6, rate=4, accrual=..., scheme=...,
# count=FALSE) with the default seed 1009: $MTD (selection share) and $level (mean patients).
DFCRM_TITESIM = {
    ("poisson", "linear"): (4000, (0.29050, 0.54100, 0.15925, 0.00875, 0.00050, 0.0),
                            (8.09850, 7.51250, 6.22075, 1.60775, 0.52950, 0.03100)),
    ("fixed", "linear"): (2000, (0.2880, 0.5445, 0.1610, 0.0065, 0.0, 0.0),
                          (7.9350, 7.8495, 5.8170, 1.8360, 0.5175, 0.0450)),
    ("poisson", "adaptive"): (2000, (0.2885, 0.5510, 0.1535, 0.0070, 0.0, 0.0),
                              (8.0045, 7.4500, 6.3415, 1.6545, 0.5160, 0.0335)),
}


@pytest.mark.slow
@pytest.mark.parametrize(("process", "scheme"), sorted(DFCRM_TITESIM))
def test_titesim_example_operating_characteristics(process: str, scheme: str) -> None:
    """The dfcrm ``titesim`` help example, run with many trials by dfcrm and by pkgym.

    PI 0.10..0.65, prior 0.05..0.70, target 0.2, n 24, x0 3, obswin 6, rate 4, with the nsim
    above: selection per level within 2 points or
    3 Monte-Carlo SE (both simulations' SE combined), mean patients per level within 3 SE.
    (No published TITE-CRM table was at hand; the package author's simulator stands in.)
    """
    n_r, selection_r, patients_r = DFCRM_TITESIM[(process, scheme)]
    scenario, n = _example_scenario(), 4000
    trials = simulate_tite_trials(_example_design(process, scheme), scenario, n, seed=2024)
    oc = operating_characteristics(trials.results, scenario)
    share, ref = oc.selection_percent / 100, np.asarray(selection_r)
    se = np.sqrt(share * (1 - share) / n + ref * (1 - ref) / n_r)
    assert np.all((np.abs(share - ref) <= 0.02) | (np.abs(share - ref) <= 3 * se))
    sd = trials.results.patients.std(axis=0, ddof=1)
    patients_se = sd * np.sqrt(1 / n + 1 / n_r)
    assert np.all(np.abs(oc.mean_patients_per_dose - patients_r) <= 3 * patients_se)


def test_spec_factory_errors_and_protocol() -> None:
    """The ``tite_crm:`` spec: one-line errors for bad keys and values.

    The design also runs in the cohort simulator (complete follow-up, no stopping).
    """
    scenario = _example_scenario(6)
    design = tite_crm_from_spec("tite_crm:window=6,rate=2,scheme=adaptive,restrict=0,"
                                "skeleton=0.05/0.1/0.2/0.35/0.5/0.7", scenario)
    assert (design.window, design.accrual.rate, design.scheme, design.restrict) == (
        6.0, 2.0, "adaptive", False)
    for bad, message in [("tite_crm:speed=2", "keys"), ("tite_crm:window=-1", "window"),
                         ("tite_crm:restrict=yes", "restrict"), ("tite_crm:skeleton=0.1/0.2",
                         "6 levels"), ("tite_crm:rate=x", "rate"), ("titecrm", "design must")]:
        with pytest.raises(ValueError, match=message) as error:
            tite_crm_from_spec(bad, scenario)
        assert "\n" not in str(error.value)
    results = simulate_trials(design, scenario, 20, seed=1)
    assert np.all(results.patients.sum(axis=1) == 6) and np.all(results.selected >= 0)
