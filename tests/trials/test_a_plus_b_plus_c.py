"""The 3+3+3 and its A+B+C family: rules, exact characteristics, the A+B as its K = 2 case."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pkgym.cli import main
from pkgym.trials import (
    DoseFindingScenario,
    TrialState,
    operating_characteristics,
    simulate_trials,
)
from pkgym.trials.a_plus_b import APlusBDesign, StagedDesign
from pkgym.trials.a_plus_b_exact import APlusBExact, a_plus_b_exact
from pkgym.trials.a_plus_b_plus_c import APlusBPlusCDesign
from pkgym.trials.report import make_design

CLASSIC = Path(__file__).resolve().parents[2] / "scenarios" / "dose_finding_classic.yaml"
NINE = APlusBPlusCDesign()
TRUTH = (0.05, 0.15, 0.3, 0.45, 0.6)


def _walk(design: StagedDesign, scenario: DoseFindingScenario) -> APlusBExact:
    """Exact characteristics by walking every cohort outcome through the design's own rules.

    Knows nothing of stages or events: only ``next_dose``/``stop``/``select_mtd`` and the
    binomial law of each cohort (trials in identical states are merged).
    """
    truth, size, n = np.asarray(scenario.true_dlt_probabilities), scenario.cohort_size, \
        scenario.n_doses
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
        keys = np.column_stack([patients, dlts, design.next_dose(state)])[~done]
        keys, inverse = np.unique(keys, axis=0, return_inverse=True)
        probs = np.bincount(inverse.ravel(), weights=probs[~done], minlength=len(keys))
        patients, dlts, levels = keys[:, :n], keys[:, n:2 * n], keys[:, 2 * n]
    return APlusBExact(selection_probabilities=out["selection"][1:],
                       no_selection_probability=float(out["selection"][0]),
                       expected_patients=out["patients"], expected_dlts=out["dlts"])


def test_three_plus_three_plus_three__hand_worked_single_level() -> None:
    """Two levels with DLT rate 1/3, worked by hand.

    A level passes on 0/3, 1/3 then 0/3, or 1/3, 1/3 then 0/3: P = (8/27)(1 + 4/9 + 16/81) =
    1064/2187; it treats 3 + 3 (4/9) + 3 (16/81) = 133/27 patients, a third of them DLTs.
    Level 2 is the MTD with P^2, level 1 with P (1 - P), none with 1 - P.
    """
    scenario = DoseFindingScenario(true_dlt_probabilities=(1 / 3, 1 / 3), target_dlt_rate=0.3,
                                   max_sample_size=18)
    exact = a_plus_b_exact(NINE, scenario)
    passed = Fraction(1064, 2187)
    selected = [float(passed * (1 - passed)), float(passed**2)]
    assert exact.selection_probabilities == pytest.approx(selected, abs=1e-15)
    assert exact.no_selection_probability == pytest.approx(float(1 - passed), abs=1e-15)
    patients = [float(Fraction(133, 27)), float(passed * Fraction(133, 27))]
    assert exact.expected_patients == pytest.approx(patients, abs=1e-14)
    assert exact.expected_dlts == pytest.approx([n / 3 for n in patients], abs=1e-14)


def test_three_plus_three_plus_three__rules_on_hand_made_states() -> None:
    """Without de-escalation: 1/6 escalates, 2/6 treats 3 more, 2/9 escalates, 3/9 stops."""
    state = TrialState.from_counts([[6, 0], [6, 0], [9, 0], [9, 0], [6, 0], [3, 0]],
                                   [[1, 0], [2, 0], [2, 0], [3, 0], [3, 0], [2, 0]],
                                   [0, 0, 0, 0, 0, 0])
    assert NINE.next_dose(state).tolist() == [1, 0, 1, 0, 0, 0]
    assert NINE.stop(state).tolist() == [False, False, False, True, True, True]
    assert NINE.select_mtd(state).tolist() == [0, 0, 0, -1, -1, -1]


def test_three_plus_three_plus_three__deescalation_on_hand_made_states() -> None:
    """With de-escalation the MTD needs 6 or 9 patients.

    2/3 above a 3-patient level goes down; above 1/6 or 2/9 it stops there; on the way down
    1/6 and 2/9 confirm, 2/6 treats 3 more and 3/9 fails the lowest level.
    """
    design = APlusBPlusCDesign(deescalation=True)
    state = TrialState.from_counts(
        [[3, 3], [6, 3], [9, 3], [6, 3], [6, 3], [9, 3], [9, 3]],
        [[0, 2], [1, 2], [2, 2], [1, 2], [2, 2], [2, 2], [3, 2]],
        [1, 1, 1, 0, 0, 0, 0])
    assert design.next_dose(state).tolist() == [0, 1, 1, 0, 0, 0, 0]
    assert design.stop(state).tolist() == [False, True, True, True, False, True, True]
    assert design.select_mtd(state).tolist() == [-1, 0, 0, 0, -1, 0, -1]


CASES = [
    (NINE, dict(start_level=0)),
    (NINE, dict(start_level=2)),  # a failing start level selects nothing
    (APlusBPlusCDesign(deescalation=True), dict(start_level=0)),
    (APlusBPlusCDesign(deescalation=True), dict(start_level=2)),  # into untried levels
    (APlusBPlusCDesign(deescalation=True, expand_top=True), dict(start_level=1)),
    (APlusBPlusCDesign(expand_top=True), dict(start_level=3)),
    (NINE, dict(cohort_size=1)),
    (APlusBPlusCDesign(c=6, fail_a=2, escalate_ab=2, fail_ab=3, escalate_abc=4,
                       deescalation=True), dict(start_level=1)),  # two-count middle bands
    (APlusBPlusCDesign(a=2, b=2, c=2, escalate_ab=1, fail_ab=3, escalate_abc=3,
                       deescalation=True, expand_top=True), dict(cohort_size=1)),
]


@pytest.mark.parametrize(("design", "options"), CASES)
def test_a_plus_b_plus_c_exact__equals_walking_every_cohort_outcome(
    design: APlusBPlusCDesign, options: dict[str, int]
) -> None:
    """Enumerated stage events and a walk of the design's own rules agree to 1e-12."""
    scenario = DoseFindingScenario(true_dlt_probabilities=TRUTH, target_dlt_rate=0.3,
                                   max_sample_size=5 * design.stages.totals[-1], **options)
    exact, walked = a_plus_b_exact(design, scenario), _walk(design, scenario)
    assert exact.selection_probabilities.sum() + exact.no_selection_probability == \
        pytest.approx(1, abs=1e-12)
    for field in ("selection_probabilities", "expected_patients", "expected_dlts"):
        assert np.allclose(getattr(exact, field), getattr(walked, field), atol=1e-12), field
    assert exact.no_selection_probability == pytest.approx(walked.no_selection_probability,
                                                           abs=1e-12)


@pytest.mark.parametrize("design", [NINE, APlusBPlusCDesign(deescalation=True),
                                    APlusBPlusCDesign(deescalation=True, expand_top=True)],
                         ids=["escalation-only", "deescalation", "deescalation-top"])
def test_a_plus_b_plus_c_exact__matches_simulated_frequencies(
    design: APlusBPlusCDesign,
) -> None:
    """20 000 simulated trials agree with the exact values within 3 Monte-Carlo SE.

    Selection and no selection, patients and DLTs per dose, sample size and DLTs in total.
    """
    scenario = DoseFindingScenario(true_dlt_probabilities=(0.05, 0.12, 0.30, 0.45, 0.60),
                                   target_dlt_rate=0.3, max_sample_size=45)
    exact = a_plus_b_exact(design, scenario)
    results = simulate_trials(design, scenario, 20_000, 7)
    oc = operating_characteristics(results, scenario)
    dlt_se = results.dlts.std(axis=0, ddof=1) / np.sqrt(results.dlts.shape[0])
    pairs = [
        (oc.selection_percent, 100 * exact.selection_probabilities, oc.selection_percent_se),
        (oc.no_selection_percent, 100 * exact.no_selection_probability,
         oc.no_selection_percent_se),
        (oc.mean_patients_per_dose, exact.expected_patients, oc.mean_patients_per_dose_se),
        (results.dlts.mean(axis=0), exact.expected_dlts, dlt_se),
        (oc.mean_sample_size, exact.expected_sample_size, oc.mean_sample_size_se),
        (oc.mean_dlts, exact.expected_total_dlts, oc.mean_dlts_se),
    ]
    for simulated, expected, se in pairs:
        z = (np.asarray(simulated) - expected) / np.maximum(se, 1e-3)
        assert np.all(np.abs(z) < 3), (simulated, expected)


def test_three_plus_three_plus_three__escalates_more_often_than_three_plus_three() -> None:
    """The third cohort rescues 2/6: escalation is likelier at every rate in (0, 1)."""
    for p in (0.05, 0.2, 1 / 3, 0.5, 0.8):
        scenario = DoseFindingScenario(true_dlt_probabilities=(p, 0.9), target_dlt_rate=0.3,
                                       max_sample_size=18)  # Pr(level 1 passes) = 1 - none
        nine = 1 - a_plus_b_exact(NINE, scenario).no_selection_probability
        six = 1 - a_plus_b_exact(APlusBDesign(), scenario).no_selection_probability
        rescued = stats.binom.pmf(1, 3, p) ** 2 * (1 - p) ** 3  # 1/3, 1/3, then 0/3
        assert nine == pytest.approx(six + rescued, abs=1e-14)


def test_a_plus_b__two_stage_case_reproduces_the_previous_numbers_exactly(
    scenario: DoseFindingScenario,
) -> None:
    """The standard 3+3 through the staged rules: the exact values and 2000 simulated trials.

    Pinned from the A+B code before the staged rewrite (commit da023e9): every float equal.
    """
    exact = a_plus_b_exact(APlusBDesign(deescalation=True), scenario)
    assert exact.selection_probabilities.tolist() == [
        0.1391923705280634, 0.4662692416024248, 0.2960586237010349, 0.06292866548238175,
        0.008098706625153145]
    assert exact.no_selection_probability == 0.027452392060942125
    assert exact.expected_patients.tolist() == [
        3.776276456251914, 4.863411470638855, 4.39229213195247, 1.9635748187261264,
        0.37962687305405346]
    assert exact.expected_dlts.tolist() == [
        0.18881382281259565, 0.5836093764766626, 1.3176876395857409, 0.8836086684267568,
        0.22777612383243206]
    results = simulate_trials(APlusBDesign(deescalation=True), scenario, 2000, 7)
    assert results.patients.sum(axis=0).tolist() == [7527, 9726, 8790, 3873, 723]
    assert results.dlts.sum(axis=0).tolist() == [378, 1164, 2670, 1731, 431]
    assert np.bincount(results.selected + 1, minlength=6).tolist() == [57, 278, 951, 578, 116,
                                                                        20]


def test_specs__build_the_designs(scenario: DoseFindingScenario) -> None:
    """The registry's ``3+3+3`` and ``a+b+c`` specs, with and without options."""
    assert make_design("3+3+3", scenario) == NINE
    assert make_design("a+b+c", scenario) == NINE
    assert make_design("3+3+3:deescalation=1,expand_top=1", scenario) == \
        APlusBPlusCDesign(deescalation=True, expand_top=True)
    assert make_design("a+b+c:c=6,escalate_abc=3,deescalation=1", scenario) == \
        APlusBPlusCDesign(c=6, escalate_abc=3, deescalation=True)


@pytest.mark.parametrize(("spec", "message"), [
    ("3+3+3:deescalation=2", "3+3+3 option deescalation must be 0 or 1, got 2"),
    ("3+3+3:a=3", "3+3+3 option 'a' is unknown; allowed: deescalation, expand_top"),
    ("a+b+c:c=0", "c must be >= 1, got 0"),
    ("a+b+c:a=x", "a+b+c option a must be an integer, got 'x'"),
    ("a+b+c:fail_ab=1", "fail_ab must be in [escalate_ab+1=2, a+b=6], got 1"),
    ("a+b+c:escalate_a=1", "fail_a must be in [escalate_a+1=2, a=3], got 1"),
    ("a+b+c:escalate_abc=9", "escalate_abc must be in [fail_ab=2, a+b+c-1=8], got 9"),
    ("a+b+c:b=2", "cohort_size must divide a=3 and b=2 and c=3, got 3"),
    ("a+b+c:d=1", "a+b+c option 'd' is unknown; allowed: a, b, c, escalate_a, fail_a, "),
])
def test_specs__bad_input_is_one_line_naming_the_field(
    scenario: DoseFindingScenario, spec: str, message: str
) -> None:
    """Unknown keys, non-integers, bad flags, out-of-range thresholds, misfit cohorts."""
    with pytest.raises(ValueError) as caught:
        make_design(spec, scenario)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_cli__runs_the_three_stage_designs(tmp_path: Path) -> None:
    """``pkgym trial --design 3+3+3 --design a+b+c:...`` writes a row for each."""
    specs = ["3+3+3", "3+3+3:deescalation=1", "a+b+c:c=6,escalate_abc=3"]
    args = [arg for spec in specs for arg in ("--design", spec)]
    out = tmp_path / "o"
    assert main(["trial", "--quiet", *args, "--scenario", str(CLASSIC), "--n-trials", "20",
                 "--out", str(out)]) == 0
    assert set(specs) <= set(pd.read_csv(out / "oc_table.csv")["design"])
