"""``pkgym evaluate --cohort FILE``: the file is read and checked as ``load_cohort`` does.

Issue 17, defect 5: every bad cell named by row, line and column at once, before the run
folder exists; a header-only file and a repeated column refused; extra columns, padded
header names and text ids accepted.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pkgym.cli import main
from pkgym.evaluation.cohort_file import read_cohort_file
from pkgym.evaluation.cohorts import env_cohort
from pkgym.populations.cohort import CohortValidationError
from pkgym.scale.evaluation import env_core

ENV = "pkgym/Vancomycin-v0"


@pytest.fixture(scope="module")
def core() -> object:
    """The vancomycin env's batched core."""
    return env_core(ENV)


@pytest.fixture
def cohort(core: object) -> pd.DataFrame:
    """Three sampled vancomycin patients, as text (ids 0, 1, 2)."""
    sampled = env_cohort(core.settings, 3, 4)  # type: ignore[attr-defined]
    return sampled.astype(str)


def _evaluate(cohort_path: Path, out: Path) -> int:
    return main(["evaluate", "--env", ENV, "--policy", "label", "--cohort", str(cohort_path),
                 "--seed", "1", "--out", str(out)])


def test_evaluate_cohort__bad_values_name_their_row_line_and_column_all_at_once(
        cohort: pd.DataFrame, core: object, tmp_path: Path) -> None:
    """Three bad patients: one error naming each row, file line, column and what is allowed."""
    cohort.loc[0, "weight_kg"] = "700"
    cohort.loc[1, "is_female"] = "x"
    cohort.loc[2, "eta_CL"] = "50"
    path = tmp_path / "cohort.csv"
    cohort.to_csv(path, index=False)
    with pytest.raises(CohortValidationError) as info:
        read_cohort_file(path, ENV, core)
    message = str(info.value)
    assert "3 problem(s)" in message
    assert "row 1 (line 2), column 'weight_kg': got '700', expected a number in [25.0, 300.0] kg" \
        in message
    assert "row 2 (line 3), column 'is_female': got non-numeric text 'x', expected a whole " \
        "number in [0, 1]" in message
    assert "row 3 (line 4), column 'eta_CL': got '50', expected a number in [-3.981, 3.981]" \
        in message
    assert "cohort DataFrame" not in message


def test_evaluate_cohort__more_than_twenty_problems_are_capped_with_a_count(
        core: object, tmp_path: Path) -> None:
    """25 bad weights: 20 are spelled out, then '... and 5 more'."""
    sampled = env_cohort(core.settings, 25, 0).astype(str)  # type: ignore[attr-defined]
    sampled["weight_kg"] = "-1"
    path = tmp_path / "cohort.csv"
    sampled.to_csv(path, index=False)
    with pytest.raises(CohortValidationError, match=r"25 problem\(s\)") as info:
        read_cohort_file(path, ENV, core)
    assert "row 20 (line 21)" in str(info.value) and "row 21 (line" not in str(info.value)
    assert "... and 5 more" in str(info.value) and len(info.value.problems) == 25


def test_evaluate_cohort__fails_before_the_run_folder_exists(
        cohort: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A bad file exits 2 naming the cell and writes nothing; the fixed file then runs there."""
    path, out = tmp_path / "cohort.csv", tmp_path / "run"
    good = cohort.copy()
    cohort.loc[1, "serum_creatinine_mg_per_dl"] = ""
    cohort.to_csv(path, index=False)
    assert _evaluate(path, out) == 2
    assert "row 2 (line 3), column 'serum_creatinine_mg_per_dl'" in capsys.readouterr().err
    assert not out.exists()
    good.to_csv(path, index=False)
    assert _evaluate(path, out) == 0
    assert pd.read_csv(out / "results.csv")["id"].tolist() == [0, 1, 2]


def test_evaluate_cohort__header_only_file_is_refused(core: object, tmp_path: Path) -> None:
    """A header and no rows: refused as 'no patients' (not an empty cohort)."""
    path = tmp_path / "cohort.csv"
    path.write_text("id,age_years,is_female,weight_kg,height_cm,on_dialysis,"
                    "serum_creatinine_mg_per_dl\n\n")
    with pytest.raises(CohortValidationError, match="no patients"):
        read_cohort_file(path, ENV, core)


def test_evaluate_cohort__duplicate_column_is_refused(cohort: pd.DataFrame, core: object,
                                                      tmp_path: Path) -> None:
    """A column named twice (pandas would read the second as 'weight_kg.1') is refused."""
    path = tmp_path / "cohort.csv"
    text = cohort.to_csv(index=False).splitlines()
    header = text[0].replace("height_cm", "weight_kg")
    path.write_text("\n".join([header, *text[1:]]) + "\n")
    with pytest.raises(CohortValidationError,
                       match=r"column\(s\) \['weight_kg'\] appear more than once"):
        read_cohort_file(path, ENV, core)


def test_evaluate_cohort__repeated_or_missing_ids_name_their_rows(
        cohort: pd.DataFrame, core: object, tmp_path: Path) -> None:
    """Ids must be unique and filled: each offending row is named."""
    cohort.loc[1, "id"] = "0"
    cohort.loc[2, "id"] = ""
    path = tmp_path / "cohort.csv"
    cohort.to_csv(path, index=False)
    with pytest.raises(CohortValidationError) as info:
        read_cohort_file(path, ENV, core)
    assert "row 2 (line 3), column 'id': got '0', expected a unique patient id (also row 1)" \
        in str(info.value)
    assert "row 3 (line 4), column 'id': got a missing value" in str(info.value)


def test_evaluate_cohort__extra_columns_and_string_ids_are_accepted(
        cohort: pd.DataFrame, tmp_path: Path) -> None:
    """Ids P000.., an extra 'site' column and padded header names: the same results."""
    plain, fancy = tmp_path / "plain.csv", tmp_path / "fancy.csv"
    cohort.to_csv(plain, index=False)
    renamed = cohort.assign(id=[f"P{i:03d}" for i in range(3)], site=["A", "B", "A"])
    text = renamed.to_csv(index=False).splitlines()
    fancy.write_text("\n".join([text[0].replace(",", " , "), *text[1:]]) + "\n")
    assert _evaluate(plain, tmp_path / "plain") == 0
    assert _evaluate(fancy, tmp_path / "fancy") == 0
    first = pd.read_csv(tmp_path / "plain" / "results.csv")
    second = pd.read_csv(tmp_path / "fancy" / "results.csv")
    assert second["id"].tolist() == ["P000", "P001", "P002"]
    pd.testing.assert_frame_equal(first.drop(columns="id"), second.drop(columns="id"))
    assert pd.read_parquet(tmp_path / "fancy" / "results.parquet")["id"].tolist() == \
        ["P000", "P001", "P002"]


def test_evaluate_cohort__parquet_file_is_checked_the_same_way(
        cohort: pd.DataFrame, core: object, tmp_path: Path) -> None:
    """A Parquet cohort: bad cells named by row and column (a Parquet file has no lines)."""
    frame = cohort.astype({"weight_kg": float, "eta_CL": float})
    frame.loc[2, "eta_CL"] = float("nan")
    path = tmp_path / "cohort.parquet"
    frame.to_parquet(path, index=False)
    with pytest.raises(CohortValidationError, match=r"row 3, column 'eta_CL': got a missing"):
        read_cohort_file(path, ENV, core)


def test_evaluate_cohort__a_value_only_the_env_refuses_names_its_row_and_column(
        tmp_path: Path) -> None:
    """An env without a cohort schema (ChemoImmune): its own pinning check, by row and column."""
    core = env_core("pkgym/ChemoImmune-v0")
    sampled = env_cohort(core.settings, 3, 0)
    sampled.loc[1, "tumour_at_start"] = 1e12
    path = tmp_path / "cohort.csv"
    sampled.to_csv(path, index=False)
    with pytest.raises(CohortValidationError,
                       match=r"row 2 \(line 3\), column 'tumour_at_start': got 1000000000000.0, "
                             r"expected what the env pins \(.*must be in \(0, 1/b1"):
        read_cohort_file(path, "pkgym/ChemoImmune-v0", core)
