"""Reading the IWPC table: imputation, recoding, dropped rows, the split and file refusals."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pkgym.populations.iwpc import REQUIRED_COLUMNS, read_iwpc, read_iwpc_table

SHORT = ("id", "site", "sex", "race", "age", "vk1639", "vk2255", "vk1173", "vk1542", "cyp",
         "amio", "carb", "phen", "rif", "target", "range", "dose")
ROWS = [  # one behaviour each (see the tests)
    ("PA1", 1, "male", "White", "60 - 69", "G/G", "", "", "", "*1/*1", 0, 0, 0, 0, 2.5, "2-3", 35),
    ("PA2", 1, "female", "White", "50 - 59", "", "T/T", "", "", "*1/*2", 0, 0, 0, 0, 2.5, "", 28),
    ("PA3", 2, "male", "Black or African American", "40 - 49", "", "C/C", "", "C/C", "*1/*1",
     0, 0, 0, 0, 2.5, "", 49),
    ("PA4", 2, "female", "Black or African American", "30 - 39", "", "C/C", "T/T", "",
     "*1/*3", 0, 0, 0, 0, 2.5, "", 42),
    ("PA5", 3, "male", "Asian", "70 - 79", "", "", "", "C/G", "*1/*1", 0, 0, 0, 0, 2.5, "", 21),
    ("PA6", 3, "female", "Asian", "80 - 89", "A/G", "T/T", "", "", "*2/*3", 0, 0, 0, 0, 2.5, "",
     14),
    ("PA7", 4, "male", "Unknown", "90+", "A/A", "", "", "", "*1/*5", 0, 0, 0, 0, 2.5, "", 17.5),
    ("PA8", 4, "female", "White", "10 - 19", "G/A", "", "", "", "*3/*3", 0, 1, 0, 0, 2.5, "",
     30),
    ("PA9", 5, "male", "White", "20 - 29", "G/G", "", "", "", "*2/*2", 0, 0, 1, 0, "", "2-3.5",
     56),
    ("PA10", 5, "female", "White", "60 - 69", "G/G", "", "", "", "*1/*1", 0, 0, 0, 1, "", "",
     63),
    ("PA11", 6, "male", "White", "60 - 69", "G/G", "", "", "", "*1/*1", 0, 0, 0, 0, 2.5, "", ""),
    ("PA12", 6, "female", "White", "", "G/G", "", "", "", "*1/*1", 0, 0, 0, 0, 2.5, "", 35),
    ("PA13", 7, "male", "White", "50 - 59", "G/A", "", "", "", "*1/*1", 1, 0, 0, 0, 3.0, "",
     24.5),
]
COLUMN_OF = {"id": "PharmGKB Subject ID", "site": "Project Site", "sex": "Gender",
             "race": "Race (OMB)", "age": "Age", "vk1639": "VKORC1     -1639 consensus",
             "vk2255": "VKORC1 2255 consensus", "vk1173": "VKORC1 1173 consensus",
             "vk1542": "VKORC1 1542 consensus", "cyp": "CYP2C9 consensus",
             "amio": "Amiodarone (Cordarone)", "carb": "Carbamazepine (Tegretol)",
             "phen": "Phenytoin (Dilantin)", "rif": "Rifampin or Rifampicin",
             "target": "Target INR", "range": "Estimated Target INR Range Based on Indication",
             "dose": "Therapeutic Dose of Warfarin"}


def _table(rows: list[tuple]) -> pd.DataFrame:
    short = pd.DataFrame(rows, columns=SHORT).rename(columns=COLUMN_OF)
    short["Height (cm)"] = 170.0
    short["Weight (kg)"] = 75.0
    assert set(short.columns) == set(REQUIRED_COLUMNS)
    return short[list(REQUIRED_COLUMNS)].replace("", np.nan)


@pytest.fixture
def iwpc(tmp_path) -> pd.DataFrame:  # noqa: ANN001
    """The synthetic rows, written as a PharmGKB CSV and read back."""
    path = tmp_path / "iwpc.csv"
    _table(ROWS).to_csv(path, index=False)
    return read_iwpc(path).set_index("subject_id")


def test_read_iwpc__drops_rows_without_dose_or_age_and_divides_weekly_doses(iwpc) -> None:  # noqa: ANN001
    """PA11 (no dose) and PA12 (no age) are gone; doses are weekly / 7."""
    assert "PA11" not in iwpc.index and "PA12" not in iwpc.index
    assert len(iwpc) == len(ROWS) - 2
    expected = {r[0]: r[-1] / 7.0 for r in ROWS if r[-1] != "" and r[4] != ""}
    for subject, dose in expected.items():
        assert math.isclose(iwpc.loc[subject, "stable_dose_mg_per_day"], dose, rel_tol=1e-12)


def test_read_iwpc__imputes_vkorc1_from_proxies_as_the_iwpc_did(iwpc) -> None:  # noqa: ANN001
    """2255 (not for black patients), then 1173 (any race), then 1542 (not black); A/G -> G/A."""
    vk, imputed = iwpc["vkorc1"], iwpc["vkorc1_imputed"]
    assert vk["PA2"] == "A/A" and imputed["PA2"]  # 2255 T/T, white
    assert pd.isna(vk["PA3"]) and not imputed["PA3"]  # black: 2255 and 1542 not used
    assert vk["PA4"] == "A/A" and imputed["PA4"]  # black: 1173 T/T used
    assert vk["PA5"] == "G/A" and imputed["PA5"]  # 1542 C/G, asian
    assert vk["PA6"] == "G/A" and not imputed["PA6"]  # measured A/G, proxy ignored
    assert vk["PA1"] == "G/G" and not imputed["PA1"]


def test_read_iwpc__recodes_cyp2c9_age_race_and_comedication(iwpc) -> None:  # noqa: ANN001
    """Rare CYP2C9 alleles missing, age decade middles, Unknown race -> other, any inducer."""
    assert pd.isna(iwpc.loc["PA7", "cyp2c9"]) and iwpc.loc["PA6", "cyp2c9"] == "*2/*3"
    ages = iwpc["age_years"]
    assert (ages["PA1"], ages["PA7"], ages["PA8"], ages["PA5"]) == (65.0, 95.0, 18.0, 75.0)
    assert iwpc.loc["PA7", "age_decade"] == 9 and iwpc.loc["PA8", "age_decade"] == 1
    races = iwpc["race"]
    assert (races["PA7"], races["PA3"], races["PA5"], races["PA1"]) == (
        "other", "black", "asian", "white")
    inducer = iwpc["enzyme_inducer"]
    assert inducer[["PA8", "PA9", "PA10"]].tolist() == [1, 1, 1]
    assert inducer.drop(["PA8", "PA9", "PA10"]).eq(0).all()
    assert iwpc["amiodarone"].to_dict() == {s: int(s == "PA13") for s in iwpc.index}
    assert iwpc.loc["PA2", "is_female"] == 1 and iwpc.loc["PA1", "is_female"] == 0


def test_read_iwpc__target_inr_falls_back_to_the_range_middle_then_2_5(iwpc) -> None:  # noqa: ANN001
    """Site target first; else the middle of "2-3.5" (2.75); else 2.5."""
    target = iwpc["target_inr"]
    assert (target["PA13"], target["PA9"], target["PA10"], target["PA1"]) == (3.0, 2.75, 2.5,
                                                                              2.5)


def test_read_iwpc__split_is_deterministic_and_independent_of_row_order(tmp_path) -> None:  # noqa: ANN001
    """Shuffled rows give each subject the same split; about 30% are held out."""
    rng = np.random.default_rng(0)
    template = list(ROWS[0])
    rows = [tuple([f"PA{1000 + i}", *template[1:]]) for i in range(1000)]
    table = _table(rows)
    table.to_csv(tmp_path / "a.csv", index=False)
    table.iloc[rng.permutation(len(table))].to_csv(tmp_path / "b.csv", index=False)
    first = read_iwpc(tmp_path / "a.csv").set_index("subject_id")["split"]
    again = read_iwpc(tmp_path / "a.csv").set_index("subject_id")["split"]
    shuffled = read_iwpc(tmp_path / "b.csv").set_index("subject_id")["split"]
    pd.testing.assert_series_equal(first, again)
    pd.testing.assert_series_equal(first, shuffled.loc[first.index])
    assert set(first) == {"training", "held-out"}
    assert abs((first == "held-out").mean() - 0.3) < 0.05


def test_read_iwpc_table__refuses_unknown_pickles_missing_columns_and_missing_files(
        tmp_path) -> None:  # noqa: ANN001
    """A pickle with another hash, a CSV without a column and a missing path all raise."""
    table = _table(ROWS)
    table.to_pickle(tmp_path / "iwpc.pkl")
    with pytest.raises(ValueError, match="SHA-256"):
        read_iwpc_table(tmp_path / "iwpc.pkl")
    table.drop(columns=["VKORC1 1173 consensus"]).to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(ValueError, match="VKORC1 1173 consensus"):
        read_iwpc_table(tmp_path / "short.csv")
    with pytest.raises(FileNotFoundError):
        read_iwpc(tmp_path / "absent.csv")
