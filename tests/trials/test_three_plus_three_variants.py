"""The 3+3 family: A+B designs with and without de-escalation, their exact characteristics."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pkgym.trials import (
    DoseFindingScenario,
    ThreePlusThreeDesign,
    TrialState,
    operating_characteristics,
    simulate_trials,
    three_plus_three_exact,
)
from pkgym.trials.a_plus_b import APlusBDesign, a_plus_b_from_spec
from pkgym.trials.a_plus_b_exact import APlusBExact, a_plus_b_exact
from pkgym.trials.three_plus_three import three_plus_three_from_spec

STANDARD = APlusBDesign(deescalation=True)


def _enumerate(design: APlusBDesign, scenario: DoseFindingScenario) -> APlusBExact:
    """Exact characteristics by walking every cohort outcome through the design's own rules.

    Independent of :func:`a_plus_b_exact`: it knows nothing of the A+B events, only the
    design's ``next_dose``/``stop``/``select_mtd`` and the binomial law of each cohort
    (trials in identical states are merged, their probabilities added).
    """
    truth, size = np.asarray(scenario.true_dlt_probabilities), scenario.cohort_size
    n = scenario.n_doses
    patients, dlts = np.zeros((1, n), np.int64), np.zeros((1, n), np.int64)
    levels, probs = np.array([scenario.start_level]), np.ones(1)
    out = {"selection": np.zeros(n + 1), "patients": np.zeros(n), "dlts": np.zeros(n)}
    while probs.size:
        outcomes = np.tile(np.arange(size + 1), probs.size)
        rows = np.repeat(np.arange(probs.size), size + 1)
        patients, dlts, levels = patients[rows], dlts[rows], levels[rows]
        probs = probs[rows] * stats.binom.pmf(outcomes, size, truth[levels])
        patients[np.arange(rows.size), levels] += size
        dlts[np.arange(rows.size), levels] += outcomes
        state = TrialState.from_counts(patients, dlts, levels)
        done = design.stop(state) | (patients.sum(axis=1) >= scenario.max_sample_size)
        np.add.at(out["selection"], design.select_mtd(state)[done] + 1, probs[done])
        out["patients"] += probs[done] @ patients[done]
        out["dlts"] += probs[done] @ dlts[done]
        keep = ~done
        keys = np.column_stack([patients, dlts, design.next_dose(state)])[keep]
        keys, inverse = np.unique(keys, axis=0, return_inverse=True)  # merge equal states
        probs = np.bincount(inverse.ravel(), weights=probs[keep], minlength=len(keys))
        patients, dlts, levels = keys[:, :n], keys[:, n:2 * n], keys[:, 2 * n]
    return APlusBExact(selection_probabilities=out["selection"][1:],
                       no_selection_probability=float(out["selection"][0]),
                       expected_patients=out["patients"], expected_dlts=out["dlts"])


def test_a_plus_b__standard_three_plus_three_rules_on_hand_made_states() -> None:
    """Standard 3+3 decisions on hand-made states.

    2/3 goes down to a 3-patient level, stops above a 6-patient level, 1/6 on the way down
    confirms, 2/6 at the lowest level selects nothing, 0/3 at the top selects the top.
    """
    state = TrialState.from_counts(
        [[3, 3, 0], [6, 3, 0], [6, 3, 0], [6, 3, 0], [3, 3, 3]],
        [[0, 2, 0], [1, 3, 0], [1, 2, 0], [2, 2, 0], [0, 0, 0]],
        [1, 1, 0, 0, 2],
    )
    assert STANDARD.next_dose(state).tolist() == [0, 1, 0, 0, 2]
    assert STANDARD.stop(state).tolist() == [False, True, True, True, True]
    assert STANDARD.select_mtd(state).tolist() == [-1, 0, 0, -1, 2]


def test_a_plus_b__expand_top_fills_the_top_level_to_six() -> None:
    """With expand_top, 0/3 at the top stays for 3 more; 2/6 there de-escalates."""
    design = APlusBDesign(deescalation=True, expand_top=True)
    state = TrialState.from_counts([[3, 3], [3, 6], [3, 6]], [[0, 0], [0, 1], [0, 2]],
                                   [1, 1, 1])
    assert design.next_dose(state).tolist() == [1, 1, 0]
    assert design.stop(state).tolist() == [False, True, False]
    assert design.select_mtd(state).tolist() == [-1, 1, -1]


@pytest.mark.parametrize("max_sample_size", [30, 12])
def test_a_plus_b__three_plus_three_without_deescalation_is_the_existing_rule(
    scenario: DoseFindingScenario, max_sample_size: int
) -> None:
    """A = B = 3, C = D = E = 1 without de-escalation runs trial for trial as 3+3 (cap or not)."""
    capped = DoseFindingScenario(true_dlt_probabilities=scenario.true_dlt_probabilities,
                                 target_dlt_rate=0.3, max_sample_size=max_sample_size)
    ours, theirs = (simulate_trials(design, capped, 3000, 11)
                    for design in (APlusBDesign(), ThreePlusThreeDesign()))
    assert np.array_equal(ours.patients, theirs.patients)
    assert np.array_equal(ours.dlts, theirs.dlts)
    assert np.array_equal(ours.selected, theirs.selected)


def test_a_plus_b_exact__without_deescalation_equals_three_plus_three_exact(
    scenario: DoseFindingScenario,
) -> None:
    """The A+B enumeration reproduces the existing 3+3 closed form."""
    ours, theirs = a_plus_b_exact(APlusBDesign(), scenario), three_plus_three_exact(scenario)
    assert np.allclose(ours.selection_probabilities, theirs.selection_probabilities, atol=1e-14)
    assert np.allclose(ours.expected_patients, theirs.expected_patients, atol=1e-12)


CASES = [
    (APlusBDesign(), dict(start_level=0)),
    (STANDARD, dict(start_level=0)),
    (STANDARD, dict(start_level=2)),  # de-escalation into untried levels
    (APlusBDesign(b=6, e=2, deescalation=True), dict(start_level=1)),  # 3+6
    (APlusBDesign(a=2, b=4, c=1, d=1, e=1, deescalation=True), dict(cohort_size=1)),
    (APlusBDesign(a=3, b=3, c=1, d=2, e=2), dict(cohort_size=1)),  # 2/3 expands
    (APlusBDesign(deescalation=True, expand_top=True), dict(start_level=0)),
    (APlusBDesign(), dict(start_level=2)),  # a failing start level selects nothing
    (APlusBDesign(expand_top=True), dict(start_level=3)),
]


@pytest.mark.parametrize(("design", "options"), CASES)
def test_a_plus_b_exact__equals_enumerating_every_cohort_outcome(
    design: APlusBDesign, options: dict[str, int]
) -> None:
    """Closed-form events and full path enumeration of the design agree to 1e-12."""
    scenario = DoseFindingScenario(true_dlt_probabilities=(0.05, 0.15, 0.3, 0.45, 0.6),
                                   target_dlt_rate=0.3, max_sample_size=45, **options)
    exact, walked = a_plus_b_exact(design, scenario), _enumerate(design, scenario)
    assert exact.selection_probabilities.sum() + exact.no_selection_probability == \
        pytest.approx(1, abs=1e-12)
    for field in ("selection_probabilities", "expected_patients", "expected_dlts"):
        assert np.allclose(getattr(exact, field), getattr(walked, field), atol=1e-12), field
    assert exact.no_selection_probability == pytest.approx(walked.no_selection_probability,
                                                           abs=1e-12)


@pytest.mark.parametrize("design", [APlusBDesign(), STANDARD, APlusBDesign(
    deescalation=True, expand_top=True)], ids=["no-deesc", "standard", "standard-top6"])
def test_a_plus_b_exact__matches_simulated_frequencies(
    scenario: DoseFindingScenario, design: APlusBDesign
) -> None:
    """20 000 simulated trials agree with the exact values within 3 Monte-Carlo SE.

    Selection and no selection, patients and DLTs per dose, sample size and DLTs in total.
    """
    exact = a_plus_b_exact(design, scenario)
    results = simulate_trials(design, scenario, 20_000, 7)
    oc = operating_characteristics(results, scenario)
    dlt_means = results.dlts.mean(axis=0)
    dlt_se = results.dlts.std(axis=0, ddof=1) / np.sqrt(results.dlts.shape[0])
    pairs = [
        (oc.selection_percent, 100 * exact.selection_probabilities, oc.selection_percent_se),
        (oc.no_selection_percent, 100 * exact.no_selection_probability,
         oc.no_selection_percent_se),
        (oc.mean_patients_per_dose, exact.expected_patients, oc.mean_patients_per_dose_se),
        (dlt_means, exact.expected_dlts, dlt_se),
        (oc.mean_sample_size, exact.expected_sample_size, oc.mean_sample_size_se),
        (oc.mean_dlts, exact.expected_total_dlts, oc.mean_dlts_se),
    ]
    for simulated, expected, se in pairs:
        z = (np.asarray(simulated) - expected) / np.maximum(se, 1e-3)
        assert np.all(np.abs(z) < 3), (simulated, expected)


def test_a_plus_b_exact__reproduces_chow_shao_wang_example() -> None:
    """Published expected patients per dose of the 3+3 with and without de-escalation.

    Chow SC, Shao J, Wang H (2003) Sample Size Calculations in Clinical Research, Examples
    11.6.1 and 11.6.2, as quoted (one decimal) in the help pages of the R package TrialSize
    (AB.withoutDescalation, AB.withDescalation): DLT rates 0.01, 0.014, 0.025, 0.056, 0.177,
    0.594, 0.963, A = B = 3, C = D = E = 1; expected patients at dose 1 without de-escalation
    3.1, at dose 7 with de-escalation 0.2.
    """
    scenario = DoseFindingScenario(
        true_dlt_probabilities=(0.01, 0.014, 0.025, 0.056, 0.177, 0.594, 0.963),
        target_dlt_rate=0.3, max_sample_size=42)
    without = a_plus_b_exact(APlusBDesign(), scenario).expected_patients
    with_deescalation = a_plus_b_exact(STANDARD, scenario).expected_patients
    assert round(float(without[0]), 1) == 3.1
    assert round(float(with_deescalation[6]), 1) == 0.2


def test_a_plus_b_exact__deescalation_adds_patients_below_the_failing_dose(
    scenario: DoseFindingScenario,
) -> None:
    """Expanding the lower levels to 6 raises the expected sample size and never the top."""
    without = a_plus_b_exact(APlusBDesign(), scenario)
    standard = a_plus_b_exact(STANDARD, scenario)
    assert standard.expected_sample_size > without.expected_sample_size
    assert standard.expected_patients[-1] == pytest.approx(without.expected_patients[-1])
    assert standard.selection_probabilities[-1] == pytest.approx(
        without.selection_probabilities[-1])


def test_specs__build_the_variants(scenario: DoseFindingScenario) -> None:
    """``3+3`` is the existing class, ``3+3:deescalation=1`` and ``a+b:...`` the family."""
    assert type(three_plus_three_from_spec("3+3", scenario)) is ThreePlusThreeDesign
    assert type(three_plus_three_from_spec("3+3:deescalation=0", scenario)) is \
        ThreePlusThreeDesign
    assert three_plus_three_from_spec("3+3:deescalation=1", scenario) == STANDARD
    assert three_plus_three_from_spec("3+3:deescalation=1,expand_top=1", scenario) == \
        APlusBDesign(deescalation=True, expand_top=True)
    assert a_plus_b_from_spec("a+b", scenario) == APlusBDesign()
    assert a_plus_b_from_spec("a+b:b=6,e=2,deescalation=1", scenario) == \
        APlusBDesign(b=6, e=2, deescalation=True)


@pytest.mark.parametrize(("spec", "message"), [
    ("3+3:deescalation=2", "deescalation must be 0 or 1"),
    ("3+3:fill=1", "option 'fill' is unknown; allowed: deescalation, expand_top"),
    ("a+b:expand_top=3", "expand_top must be 0 or 1"),
    ("a+b:a=x", "a must be an integer"),
    ("a+b:e=0", "e must be in"),
    ("a+b:c=2", "c must be in"),
    ("a+b:a=2", "cohort_size must divide"),
    ("boin", "design must start with"),
])
def test_specs__bad_input_names_the_field(
    scenario: DoseFindingScenario, spec: str, message: str
) -> None:
    """Unknown keys, non-integers and out-of-range thresholds fail in one line."""
    factory = three_plus_three_from_spec if spec.startswith("3+3") else a_plus_b_from_spec
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        factory(spec, scenario)


def test_a_plus_b_exact__binding_cap_raises() -> None:
    """A cap that could cut a de-escalating trial short is rejected, naming the field."""
    capped = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.2, 0.3), target_dlt_rate=0.3,
                                 max_sample_size=15)
    with pytest.raises(ValueError, match="max_sample_size >= 18"):
        a_plus_b_exact(STANDARD, capped)
