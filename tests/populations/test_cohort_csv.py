"""Cohort loading: every error names the row, the file line and the column."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pkgym.populations import (
    CohortSchema,
    CohortValidationError,
    ColumnRule,
    load_cohort,
    validate_cohort,
)

SCHEMA = CohortSchema(columns={
    "age_years": ColumnRule(low=18.0, high=110.0, unit="years"),
    "weight_kg": ColumnRule(low=30.0, high=300.0, unit="kg"),
    "is_female": ColumnRule(low=0, high=1, integer=True),
    "cyp2c9": ColumnRule(allowed=("*1/*1", "*1/*2", "*1/*3")),
})
HEADER = "id,age_years,weight_kg,is_female,cyp2c9,site"
GOOD_ROWS = ["1,54,70.5,0,*1/*1,A", "2,61,82,1,*1/*3,B", "3,45,95.2,1,*1/*2,A"]


def write_csv(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    """Write a header and rows to cohort.csv and return its path."""
    path = tmp_path / "cohort.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_load_cohort__valid_file_converts_and_keeps_extra_columns(tmp_path: Path) -> None:
    """Rule columns get numeric dtypes; extra columns (id, site) are kept and inferred."""
    cohort = load_cohort(write_csv(tmp_path, GOOD_ROWS), SCHEMA)
    assert cohort.columns.tolist() == HEADER.split(",")
    assert cohort["weight_kg"].tolist() == [70.5, 82.0, 95.2]
    assert cohort["is_female"].dtype == np.int64 and cohort["id"].tolist() == [1, 2, 3]
    assert cohort["site"].tolist() == ["A", "B", "A"]
    assert cohort["cyp2c9"].tolist() == ["*1/*1", "*1/*3", "*1/*2"]


def test_load_cohort__missing_column_names_it_and_the_required_columns(tmp_path: Path) -> None:
    """A missing column fails with its name and the list of required columns."""
    rows = ["1,54,0,*1/*1,A"]
    path = write_csv(tmp_path, rows, header="id,age_years,is_female,cyp2c9,site")
    with pytest.raises(CohortValidationError, match="missing required column") as info:
        load_cohort(path, SCHEMA)
    assert "'weight_kg'" in str(info.value)
    assert "required columns: ['age_years', 'weight_kg', 'is_female', 'cyp2c9']" in str(info.value)


@pytest.mark.parametrize(
    ("bad_row", "column", "value_text"),
    [
        ("2,61,,1,*1/*3,B", "weight_kg", "missing"),
        ("2,61,NaN,1,*1/*3,B", "weight_kg", "missing"),
        ("2,61,82,1,NA,B", "cyp2c9", "missing"),
        ("2,61,eighty,1,*1/*3,B", "weight_kg", "non-numeric text 'eighty'"),
        ("2,61,820,1,*1/*3,B", "weight_kg", "'820'"),
        ("2,12,82,1,*1/*3,B", "age_years", "'12'"),
        ("2,61,82,0.5,*1/*3,B", "is_female", "'0.5'"),
        ("2,61,82,1,*4/*4,B", "cyp2c9", "'*4/*4'"),
        ("2,61,inf,1,*1/*3,B", "weight_kg", "'inf'"),
    ],
)
def test_load_cohort__bad_cell_names_row_line_column_value_and_rule(
    tmp_path: Path, bad_row: str, column: str, value_text: str
) -> None:
    """NaN, blank, non-numeric, out-of-range and unknown labels name row 2 / line 3 and column."""
    path = write_csv(tmp_path, [GOOD_ROWS[0], bad_row, GOOD_ROWS[2]])
    with pytest.raises(CohortValidationError) as info:
        load_cohort(path, SCHEMA)
    message = str(info.value)
    assert f"row 2 (line 3), column {column!r}" in message
    assert value_text in message
    assert SCHEMA.columns[column].describe() in message
    (problem,) = info.value.problems
    assert (problem.row, problem.line, problem.column) == (2, 3, column)


def test_load_cohort__reports_every_bad_cell(tmp_path: Path) -> None:
    """All problems are collected, sorted by row, with the range and unit in the message."""
    rows = ["1,5,70,0,*1/*1,A", GOOD_ROWS[1], "3,45,10,2,*1/*2,A"]
    with pytest.raises(CohortValidationError) as info:
        load_cohort(write_csv(tmp_path, rows), SCHEMA)
    found = [(p.row, p.column) for p in info.value.problems]
    assert found == [(1, "age_years"), (3, "weight_kg"), (3, "is_female")]
    assert "a number in [30.0, 300.0] kg" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_load_cohort__blank_line_is_a_row_with_missing_values(tmp_path: Path) -> None:
    """A blank line in the middle is reported as a row of missing values at its line."""
    path = tmp_path / "cohort.csv"
    path.write_text("\n".join([HEADER, GOOD_ROWS[0], "", GOOD_ROWS[1]]) + "\n")
    with pytest.raises(CohortValidationError, match=r"row 2 \(line 3\), column 'age_years'"):
        load_cohort(path, SCHEMA)


def test_load_cohort__reads_a_text_buffer() -> None:
    """An open text buffer works like a path."""
    cohort = load_cohort(io.StringIO("\n".join([HEADER, *GOOD_ROWS])), SCHEMA)
    assert len(cohort) == 3


def test_validate_cohort__dataframe_errors_name_row_and_column() -> None:
    """For a DataFrame the message names the 1-based row and column (no file line)."""
    frame = pd.DataFrame({"age_years": [50.0, np.nan], "weight_kg": [70.0, 80.0],
                          "is_female": [0, 1], "cyp2c9": ["*1/*1", "*1/*2"]})
    with pytest.raises(CohortValidationError, match=r"row 2, column 'age_years'"):
        validate_cohort(frame, SCHEMA)
    frame.loc[1, "age_years"] = 60.0
    assert validate_cohort(frame, SCHEMA)["is_female"].dtype == np.int64


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: ColumnRule(low=5.0, high=1.0), "low"),
        (lambda: ColumnRule(low=np.nan), "low"),
        (lambda: ColumnRule(allowed=()), "allowed"),
        (lambda: ColumnRule(allowed=("a",), low=0.0), "categorical"),
        (lambda: CohortSchema(columns={"a": 1.0}), "columns"),
        (lambda: validate_cohort({"a": [1]}, SCHEMA), "frame"),
        (lambda: validate_cohort(pd.DataFrame(), "schema"), "schema"),
        (lambda: load_cohort(io.StringIO("a\n1\n"), {"a": ColumnRule()}), "schema"),
    ],
)
def test_cohort__bad_arguments_raise_naming_them(call: object, name: str) -> None:
    """Inverted or NaN ranges, empty label sets and wrong argument types raise ValueError."""
    with pytest.raises(ValueError, match=name):
        call()


def test_load_cohort__trailing_blank_lines_and_padded_header_accepted(tmp_path: Path) -> None:
    """Blank lines after the last row are dropped and header names are stripped."""
    path = tmp_path / "cohort.csv"
    path.write_text(HEADER.replace(",weight_kg", ", weight_kg ") + "\n" + "\n".join(GOOD_ROWS)
                    + "\n\n\n")
    cohort = load_cohort(path, SCHEMA)
    assert len(cohort) == 3 and "weight_kg" in cohort.columns
