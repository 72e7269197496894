"""BOIN's decision table and dose-transition pathways, read off the designs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from pkgym.trials import BoinDesign, CrmDesign, DoseFindingScenario, ThreePlusThreeDesign
from pkgym.trials.boin import boin_boundaries
from pkgym.trials.decision_tables import (
    RandomisedDesignError,
    boin_decision_table,
    decision_table_markdown,
    dose_transition_pathways,
    path_probabilities,
    pathways_markdown,
)
from pkgym.trials.operating_characteristics import operating_characteristics, simulate_trials
from pkgym.trials.report import make_design

SCENARIO = DoseFindingScenario(true_dlt_probabilities=(0.05, 0.12, 0.30, 0.45, 0.60),
                               target_dlt_rate=0.3, max_sample_size=30)

GET_BOUNDARY_TARGET_0_3 = {
    "source": "BOIN R package get.boundary(target = 0.3, ncohort = 10, cohortsize = 3)"
    "$boundary_tab; the package's rule (BOIN 2.7.2 R/get.boundary.R): escalate if x <= "
    "floor(lambda_e n), de-escalate if x >= ceiling(lambda_d n) capped at the elimination "
    "count, eliminate at the smallest x with 1 - pbeta(0.3, x + 1, n - x + 1) > 0.95 (n >= 3)",
    "n": (3, 6, 9, 12, 15, 18, 21, 24, 27, 30),
    "escalate": (0, 1, 2, 2, 3, 4, 4, 5, 6, 7),
    "deescalate": (2, 3, 4, 5, 6, 7, 8, 9, 10, 11),
    "eliminate": (3, 4, 5, 7, 8, 9, 10, 11, 12, 14),
}


def _package_rule(target: float, n: int, cutoff: float = 0.95) -> tuple[int, int, float]:
    """get.boundary's three counts for n patients, recomputed from its stated rule."""
    lambda_e, lambda_d = boin_boundaries(target)
    over = [special.betaincc(x + 1.0, n - x + 1.0, target) for x in range(1, n + 1)]
    eliminate = next((x for x, p in zip(range(1, n + 1), over, strict=True) if p > cutoff),
                     np.nan) if n >= 3 else np.nan
    deescalate = int(np.ceil(lambda_d * n))
    if not np.isnan(eliminate):
        deescalate = min(deescalate, int(eliminate))
    return int(np.floor(lambda_e * n)), deescalate, eliminate


def test_boin_decision_table__matches_get_boundary_at_target_0_3() -> None:
    """The ends of cohorts of the table equal get.boundary's printed boundary_tab."""
    table = boin_decision_table(BoinDesign(target=0.3), 30, 3)
    ends = table[table["end_of_cohort"]]
    assert ends["n_treated"].tolist() == list(GET_BOUNDARY_TARGET_0_3["n"])
    assert ends["escalate_if_dlts_le"].tolist() == list(GET_BOUNDARY_TARGET_0_3["escalate"])
    assert ends["deescalate_if_dlts_ge"].tolist() == list(GET_BOUNDARY_TARGET_0_3["deescalate"])
    assert ends["eliminate_if_dlts_ge"].tolist() == list(GET_BOUNDARY_TARGET_0_3["eliminate"])
    text = decision_table_markdown(table, "BOIN 0.3")
    assert "| Eliminate if # of DLT >= | 3 | 4 | 5 | 7 | 8 | 9 | 10 | 11 | 12 | 14 |" in text


@pytest.mark.parametrize("target", [0.15, 0.2, 0.25, 0.33, 0.4])
def test_boin_decision_table__every_n_follows_the_package_rule(target: float) -> None:
    """Every n = 1..36 (full_boundary_tab): the design's decisions give get.boundary's."""
    table = boin_decision_table(BoinDesign(target=target), 36, 3)
    for row in table.itertuples():
        escalate, deescalate, eliminate = _package_rule(target, row.n_treated)
        assert (row.escalate_if_dlts_le, row.deescalate_if_dlts_ge) == (escalate, deescalate)
        assert (pd.isna(row.eliminate_if_dlts_ge) and np.isnan(eliminate)) or \
            row.eliminate_if_dlts_ge == eliminate


def test_boin_decision_table__options_change_it() -> None:
    """1 of 3 stays (Zhao 2024 variant); n_earlystop cuts the columns; extrasafe adds a row."""
    plain = boin_decision_table(BoinDesign(target=0.25), 30, 3)  # 1/3 >= lambda_d = 0.298
    variant = boin_decision_table(BoinDesign(target=0.25, stay_on_1_of_3=True), 30, 3)
    assert plain.loc[2, ["n_treated", "deescalate_if_dlts_ge"]].tolist() == [3, 1]
    assert variant.loc[2, ["n_treated", "deescalate_if_dlts_ge"]].tolist() == [3, 2]
    assert variant.drop(index=2).equals(plain.drop(index=2))
    assert len(boin_decision_table(BoinDesign(target=0.3, n_earlystop=12), 30, 3)) == 12
    plain = boin_decision_table(BoinDesign(target=0.3), 30, 3)
    safe = boin_decision_table(BoinDesign(target=0.3, extrasafe=True), 30, 3)
    for row in safe.itertuples():  # get.boundary's stop_boundary: cutoff 0.95 - offset 0.05
        if row.n_treated >= 3:
            stop = next(x for x in range(1, row.n_treated + 1)
                        if special.betaincc(x + 1.0, row.n_treated - x + 1.0, 0.3) > 0.90)
            assert row.stop_if_lowest_dlts_ge == stop
    assert "stop_if_lowest_dlts_ge" not in plain


def test_pathways__three_plus_three_tree_is_its_rule() -> None:
    """The 3+3 tree of two cohorts is the rule of the module docstring.

    Cohort 1: 0 DLT -> level 2, 1 -> level 1 again, >= 2 -> stop with no MTD; cohort 2 after
    1/3: <= 1/6 -> level 2, >= 2/6 -> stop with no MTD (Storer 1989 design A).
    """
    tree = dose_transition_pathways(ThreePlusThreeDesign(), SCENARIO, 2)
    rows = {tuple(int(v) for v in r[["level_1", "dlts_1"]]) + (
        (int(r["level_2"]), int(r["dlts_2"])) if not pd.isna(r["level_2"]) else ()): r
        for _, r in tree.iterrows()}
    for x in (0, 1, 2, 3):
        assert rows[(1, 0, 2, x)]["stopped"] == (x >= 2)
        assert rows[(1, 1, 1, x)]["stopped"] == (x >= 1)
    assert rows[(1, 0, 2, 0)]["next_level"] == 3 and rows[(1, 0, 2, 1)]["next_level"] == 2
    assert rows[(1, 0, 2, 2)]["selected_level"] == 1
    assert rows[(1, 1, 1, 0)]["next_level"] == 2 and pd.isna(rows[(1, 1, 1, 1)]["selected_level"])
    for x in (2, 3):
        assert rows[(1, x)]["stopped"] and pd.isna(rows[(1, x)]["selected_level"])
    assert len(tree) == 4 + 4 + 2


def test_pathways__boin_tree_holds_the_published_decision_path() -> None:
    """The BOIN tree holds the worked example of Han, Pan, Zhang, Liu & Yuan (2019, p. 25).

    Target 0.3: 1 NNN -> 2, 2 NNN -> 3, 3 NTT -> 2, 2 NTN -> 3 (test_boin.py replays it).
    """
    tree = dose_transition_pathways(BoinDesign(target=0.3), SCENARIO, 4)
    path = tree[(tree["dlts_1"] == 0) & (tree["dlts_2"] == 0) & (tree["dlts_3"] == 2)
                & (tree["dlts_4"] == 1)]
    assert path[["level_1", "level_2", "level_3", "level_4", "next_level"]].values.tolist() == \
        [[1, 2, 3, 2, 3]]
    assert len(tree) <= 4 ** 4 and not tree["stopped"].iloc[:-1].all()


@pytest.mark.parametrize("name", ["3+3", "boin", "crm"])
def test_pathways__probabilities_sum_to_one_and_match_simulation(name: str) -> None:
    """The tree's path probabilities sum to 1 and agree with simulated trials.

    Trials simulated to 9 patients treat each level and stop with no MTD as the tree says
    (within 4 MC SE).
    """
    short = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.25, 0.4, 0.55),
                                target_dlt_rate=0.3, max_sample_size=9)
    design = make_design(name, short)
    tree = dose_transition_pathways(design, short, 3)
    chance = path_probabilities(tree, short)
    assert chance.sum() == pytest.approx(1.0, abs=1e-12)
    expected = np.zeros(short.n_doses)
    for j in (1, 2, 3):
        for level in range(short.n_doses):
            expected[level] += 3 * chance[(tree[f"level_{j}"] == level + 1).fillna(False)].sum()
    oc = operating_characteristics(simulate_trials(design, short, 4000, seed=5), short)
    assert np.all(np.abs(oc.mean_patients_per_dose - expected)
                  <= 4 * oc.mean_patients_per_dose_se + 1e-9)
    no_mtd = 100 * chance[(tree["stopped"] & tree["selected_level"].isna()).to_numpy()].sum()
    assert abs(oc.no_selection_percent - no_mtd) <= 4 * oc.no_selection_percent_se + 0.05


def test_pathways__randomised_design_and_bad_depth_refused() -> None:
    """Thompson sampling has no single tree; K outside 1..8 (or beyond N max) is refused."""
    with pytest.raises(RandomisedDesignError, match="no single dose-transition"):
        dose_transition_pathways(make_design("thompson", SCENARIO), SCENARIO, 2)
    with pytest.raises(ValueError, match=r"--pathways \(cohorts\) must be in 1..8"):
        dose_transition_pathways(ThreePlusThreeDesign(), SCENARIO, 9)


def test_pathways_markdown__one_row_per_leaf_with_probabilities() -> None:
    """The Markdown has a header, one row per leaf and a P(name) column per scenario."""
    design = CrmDesign(skeleton=(0.05, 0.12, 0.25, 0.4, 0.55), target=0.3)
    tree = dose_transition_pathways(design, SCENARIO, 2)
    text = pathways_markdown(tree, {"s": path_probabilities(tree, SCENARIO)}, "CRM")
    table = [line for line in text.splitlines() if line.startswith("| L")]
    assert len(table) == len(tree) and "P(s)" in text
    assert stats.binom.pmf(3, 3, 0.05) == pytest.approx(
        path_probabilities(tree, SCENARIO)[(tree["dlts_1"] == 3).to_numpy()].sum())
