"""Operating-characteristics reports: chunk invariance, designs, outputs."""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.trials.operating_characteristics import operating_characteristics, simulate_trials
from pkgym.trials.report import (
    DESIGNS,
    make_design,
    markdown_report,
    per_dose_table,
    simulate_in_chunks,
)
from pkgym.trials.scenarios import DoseFindingScenario

SCENARIO = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.25, 0.4, 0.55, 0.7),
                               target_dlt_rate=0.3, max_sample_size=30)


@pytest.mark.parametrize("name", DESIGNS)
def test_chunks__results_do_not_depend_on_chunk_size(name: str) -> None:
    """Chunks of 1, 7 and all trials give the same trials as one call."""
    design = make_design(name, SCENARIO)
    whole = simulate_trials(design, SCENARIO, 20, seed=3)
    for chunk in (1, 7, 20):
        parts = simulate_in_chunks(design, SCENARIO, 20, 3, chunk_size=chunk)
        np.testing.assert_array_equal(parts.selected, whole.selected)
        np.testing.assert_array_equal(parts.patients, whole.patients)
        np.testing.assert_array_equal(parts.dlts, whole.dlts)


def test_make_design__unknown_name_lists_choices() -> None:
    """An unknown design names the allowed ones."""
    with pytest.raises(ValueError, match="design must be one of"):
        make_design("mtpi", SCENARIO)


def test_table_and_markdown__one_row_per_dose_and_mtd_marked() -> None:
    """The table has one row per dose; the Markdown marks the true MTD and sums to 100%."""
    oc = operating_characteristics(simulate_trials(make_design("boin", SCENARIO), SCENARIO, 200,
                                                   seed=0), SCENARIO)
    table = per_dose_table(oc, SCENARIO, (10, 20, 30, 40, 50))
    assert len(table) == 5 and table["true_mtd"].sum() == 1
    assert table["selection_percent"].sum() + oc.no_selection_percent == pytest.approx(100)
    text = markdown_report(table, oc, "BOIN")
    assert "| 2 (MTD) | 20 | 0.250 |" in text and "% correct selection" in text
