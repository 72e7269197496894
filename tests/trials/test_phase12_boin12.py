"""BOIN12 rules against the published tables and worked examples.

Sources:
* Lin R, Zhou Y, Yan F, Li D, Yuan Y (2020). BOIN12. JCO Precis Oncol 4:PO.20.00257:
  Table 3 (rank-based desirability scores, phi_T 0.35, phi_E 0.25, u2 40, u3 60), the worked
  example on p. 1396 and the example trial of the Data Supplement (section 6, Figure S2).
* MD Anderson's BOIN12 Shiny app (biostatistics.mdanderson.org/shinyapps/BOIN12), first-cohort
  decisions in two parameterisations as recorded in the R package ``escalation``'s tests
  (``tests/testthat/test_boin12.R``, K Brock); the cases that break the app are left out there
  and here, and so is the one the app resolves as a tie to the lower dose (2NNE, set 2). Five
  cases of set 2 where the lowest dose is eliminated for toxicity are a known difference (see
  the test that names them).

Outcome strings: a cohort is its 1-based dose then one letter per patient: N neither,
E response only, T DLT only, B both.
"""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.trials.phase12 import Boin12Design, Phase12State, rds_table, utility_benchmark

N_DOSES = 5


def state_from(outcomes: str) -> Phase12State:
    """Counts after the cohorts of ``outcomes``; the current dose is the last cohort's."""
    counts = np.zeros((4, N_DOSES), dtype=np.int64)  # patients, dlts, responses, both
    level = 0
    for cohort in outcomes.split():
        level = int(cohort[0]) - 1
        for letter in cohort[1:]:
            tox, eff = letter in "TB", letter in "EB"
            counts[:, level] += (1, tox, eff, tox and eff)
    return Phase12State.from_outcomes(*(row[None, :] for row in counts), [level])


PAPER = Boin12Design(target=0.35, min_efficacy=0.25, utility_neither=40, utility_both=60)
SECOND = Boin12Design(target=0.15, min_efficacy=0.4, utility_neither=50, utility_both=30,
                      toxicity_cutoff=0.9, efficacy_cutoff=0.8)

SHINY_SET_1 = {  # Shiny app, phi_T 0.35, phi_E 0.25, u2 40, u3 60, c_T 0.95, c_E 0.9
    1: "EBB1 EEB1 EEE1 EET1 ETB1 ETT1 NBB1 NEB1 NEE1 NET2 NNB2 NNE2 NNN2 NNT2 NTB1 NTT1",
    2: "BBB1 EBB1 EEB2 EEE2 EET2 ETB1 ETT1 NBB1 NEB2 NEE2 NET3 NNB3 NNE3 NNN3 NNT3 NTB1 "
       "NTT1 TBB1 TTB1 TTT1",
    5: "BBB4 EBB4 EEB5 EEE5 EET5 ETB4 ETT4 NBB4 NEB5 NEE5 NET4 NNB4 NNE4 NNN4 NNT4 NTB4 "
       "NTT4 TBB4 TTB4 TTT4",
}
SHINY_SET_2 = {  # Shiny app, phi_T 0.15, phi_E 0.4, u2 50, u3 30, c_T 0.9, c_E 0.8
    1: "EEB1 EEE1 EET1 NEB1 NEE1 NET1 NNB1 NNE2 NNN2",
    2: "BBB1 EBB1 EEB1 EEE2 EET1 ETB1 ETT1 NBB1 NEB1 NEE2 NET1 NNB1 NNN3 NNT1 NTB1 NTT1 "
       "TBB1 TTB1 TTT1",
    5: "BBB4 EBB4 EEB4 EEE5 EET4 ETB4 ETT4 NBB4 NEB4 NEE5 NET4 NNB4 NNE4 NNN4 NNT4 NTB4 "
       "NTT4 TBB4 TTB4 TTT4",
}


def _cases(table: dict[int, str]) -> list[tuple[str, int]]:
    return [(f"{dose}{item[:3]}", int(item[3])) for dose, items in table.items()
            for item in items.split()]


@pytest.mark.parametrize(("design", "table"), [(PAPER, SHINY_SET_1), (SECOND, SHINY_SET_2)])
def test_first_cohort_decisions_match_the_shiny_app(design: Boin12Design,
                                                    table: dict[int, str]) -> None:
    """Every first-cohort decision of the app (both parameterisations) is reproduced."""
    cases = _cases(table)
    assert len(cases) in (56, 48)
    wrong = []
    for outcomes, expected in cases:
        decision = design.decide(state_from(outcomes))
        if decision.stop_no_selection[0] or int(decision.levels[0]) + 1 != expected:
            wrong.append((outcomes, expected, int(decision.levels[0]) + 1))
    assert not wrong, wrong


def test_lowest_dose_too_toxic_stops_where_the_app_continues() -> None:
    """Known difference with the app when the lowest dose is eliminated for toxicity.

    Set 2: 2 DLTs in 3 at dose 1 give Pr(p_T > 0.15) = 0.988 > c_T = 0.9, so dose 1 and
    all above are eliminated and the paper's rule stops the trial; the app, as recorded by
    ``escalation``, answers "stay at dose 1" (1EBB, 1ETB, 1ETT, 1NBB, 1NTB).
    """
    for outcomes in ("1EBB", "1ETB", "1ETT", "1NBB", "1NTB"):
        assert SECOND.decide(state_from(outcomes)).stop_no_selection.tolist() == [True]


def test_rds_table_matches_published_table_3() -> None:
    """Lin et al. (2020) Table 3: RDS of selected (n, DLTs, responses) and eliminated cells."""
    table = rds_table((0, 3, 6, 9), 0.35, 0.25, 40, 60)
    published = {(0, 0, 0): 60, (3, 0, 3): 91, (6, 1, 5): 87, (9, 0, 8): 99,
                  (9, 2, 3): 32.5, (9, 5, 5): 32.5, (9, 3, 1): 7}
    assert {key: table[key] for key in published} == published
    for eliminated in [(6, 5, 1), (9, 4, 0), (9, 6, 9)]:
        assert np.isnan(table[eliminated])
    assert utility_benchmark(0.35, 0.25, 40, 60) == pytest.approx(70.5)


def test_worked_example_page_1396() -> None:
    """Lin et al. (2020), p. 1396: after 1NNN 2ENT 3ETT 2EEN the next cohort gets dose 2."""
    decision = PAPER.decide(state_from("1NNN 2ENT 3ETT 2EEN"))
    assert int(decision.levels[0]) == 1 and not decision.stop_no_selection[0]


def test_data_supplement_example_trial() -> None:
    """Lin et al. (2020) Data Supplement, Figure S2: each decision, the stop and the OBD 4."""
    design = Boin12Design(target=0.35, min_efficacy=0.25, n_earlystop=12)
    trial = "1NNN 2NNB 3NEE 3NTN 4ETE 4NBE 4BNN 5BEN 5NBT 4NEN".split()
    expected = [2, 3, 3, 4, 4, 4, 5, 5, 4]
    for cohorts, dose in zip(range(1, len(trial)), expected, strict=True):
        decision = design.decide(state_from(" ".join(trial[:cohorts])))
        assert int(decision.levels[0]) + 1 == dose, trial[:cohorts]
        assert not (decision.stop_no_selection[0] or decision.stop_select[0])
    final = state_from(" ".join(trial))
    assert design.decide(final).stop_select.tolist() == [True]
    assert design.select_mtd(final).tolist() == [3]


def test_rules_stop_and_eliminate() -> None:
    """Lowest dose too toxic: stop, no OBD; futile current dose: never chosen again."""
    toxic = state_from("1TTT")
    assert PAPER.decide(toxic).stop_no_selection.tolist() == [True]
    assert PAPER.select_mtd(toxic).tolist() == [-1]
    futile = state_from("1NNN 2NNN 2NNN 2NNN")  # 0/9 responses at dose 2: Pr(p_E < 0.25) > 0.9
    assert not PAPER.admissible(futile)[0, 1]
    assert PAPER.decide(futile).levels[0] != 1


def test_exploration_rule_goes_to_the_untried_dose() -> None:
    """With 9 patients, DLT rate below lambda_d and the next dose untried, escalate."""
    state = state_from("1NNN 2EEN 2TEN 2EEE")  # dose 2: 9 patients, 1 DLT, 6 responses
    assert int(PAPER.decide(state).levels[0]) == 2
    no_explore = Boin12Design(target=0.35, min_efficacy=0.25, n_explore=100)
    assert int(no_explore.decide(state).levels[0]) != 2 or no_explore.n_star > 9


def test_a_state_without_efficacy_is_refused() -> None:
    """A plain TrialState has no responses: one-line ValueError."""
    from pkgym.trials.state import TrialState

    with pytest.raises(ValueError, match="Phase12State"):
        PAPER.next_dose(TrialState.from_counts([[3, 0]], [[0, 0]], [0]))
