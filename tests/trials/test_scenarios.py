"""Dose-finding scenario validation, true MTD and YAML loading."""

from __future__ import annotations

from pathlib import Path

import pytest

from pkgym.trials import DoseFindingScenario, load_dose_finding_scenario


def test_scenario__true_mtd_closest_with_lower_tie() -> None:
    """The MTD is the level closest to target; an exact tie goes to the lower level."""
    closest = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.25, 0.4), target_dlt_rate=0.3)
    tie = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.25, 0.35), target_dlt_rate=0.3)
    assert closest.true_mtd == 1 and tie.true_mtd == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"true_dlt_probabilities": (0.3, 0.2)}, "non-decreasing"),
        ({"true_dlt_probabilities": (0.0, 0.2)}, "true_dlt_probabilities"),
        ({"target_dlt_rate": 1.0}, "target_dlt_rate"),
        ({"cohort_size": 0}, "cohort_size"),
        ({"max_sample_size": 10}, "max_sample_size"),
        ({"start_level": 2}, "start_level"),
    ],
)
def test_scenario__bad_input_raises(fields: dict[str, object], message: str) -> None:
    """Each invalid field fails naming the field."""
    values: dict[str, object] = {"true_dlt_probabilities": (0.1, 0.3), "target_dlt_rate": 0.3}
    values.update(fields)
    with pytest.raises(ValueError, match=message):
        DoseFindingScenario(**values)  # type: ignore[arg-type]


def test_load_scenario__reads_yaml(tmp_path: Path) -> None:
    """A YAML file fills every field."""
    path = tmp_path / "s.yaml"
    path.write_text(
        "true_dlt_probabilities: [0.05, 0.3, 0.5]\ntarget_dlt_rate: 0.3\n"
        "cohort_size: 3\nmax_sample_size: 24\nstart_level: 1\n"
    )
    scenario = load_dose_finding_scenario(path)
    assert scenario.max_sample_size == 24 and scenario.start_level == 1 and scenario.true_mtd == 1


def test_load_scenario__unknown_key_raises(tmp_path: Path) -> None:
    """An unknown key fails naming it and the allowed fields."""
    path = tmp_path / "s.yaml"
    path.write_text("true_dlt_probabilities: [0.05, 0.3]\ntarget_dlt_rate: 0.3\ncohorts: 3\n")
    with pytest.raises(ValueError, match="cohorts: unknown field"):
        load_dose_finding_scenario(path)
