"""``pkgym.datasets``: every registered env's dataset is NONMEM-shaped and pharmpy accepts it.

The structural checks always run; the pharmpy checks (read through ``dataset.datainfo``,
``check_dataset`` on a model built on the file) run where pharmpy is installed (the ``dev``
extra).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pkgym.datasets import STANDARD, policy_dataset, sampled_cohort, write_dataset
from pkgym.envs.registry import env_specs

N_PATIENTS = 4
CHEAP_WITH_DOSES = ("label", "fixed_5mg", "constant", "naltrexone_50mg", "fixed", "boin")
"""A cheap baseline that doses, per env (the first of these the env has)."""
ENV_IDS = [spec.env_id for spec in env_specs()]


def _policy(env_id: str):  # noqa: ANN202
    from agents.policies.registry import make_policy
    from pkgym.scale.evaluation import env_core

    spec = next(s for s in env_specs() if s.env_id == env_id)
    name = next((b for b in CHEAP_WITH_DOSES if b in spec.baselines), spec.baselines[0])
    return make_policy(name, env_core(env_id), env_id=env_id)


@pytest.fixture(scope="module", params=ENV_IDS)
def written(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            ) -> tuple[str, Path]:
    """Each env's dataset of a few patients, written as NONMEM CSV."""
    env_id = request.param
    data = policy_dataset(env_id, _policy(env_id), sampled_cohort(env_id, N_PATIENTS, 3), 3)
    out = tmp_path_factory.mktemp(env_id.split("/")[1])
    write_dataset(data, out, "nonmem")
    return env_id, out


def check_structure(table: pd.DataFrame, n_patients: int | None = None) -> None:
    """NONMEM rules: numbers only, IDs 1..N, TIME sorted in an ID, EVID/MDV/DV/AMT agree."""
    assert list(table.columns[:len(STANDARD)]) == list(STANDARD)
    assert all(pd.api.types.is_numeric_dtype(table[c]) for c in table.columns), table.dtypes
    ids = table["ID"].to_numpy()
    assert sorted(set(ids)) == list(range(1, len(set(ids)) + 1))
    if n_patients is not None:
        assert len(set(ids)) == n_patients
    assert np.all(np.diff(ids) >= 0), "rows of one ID are together, IDs ascending"
    for _, rows in table.groupby("ID"):
        assert np.all(np.diff(rows["TIME"].to_numpy()) >= 0)
    assert (table["TIME"] >= 0).all()
    assert set(table["EVID"]) <= {0, 1}
    dose, obs = table["EVID"] == 1, table["EVID"] == 0
    assert (table.loc[dose, "MDV"] == 1).all() and (table.loc[dose, "DVID"] == 0).all()
    assert (table.loc[dose, "AMT"] >= 0).all()
    assert (table.loc[obs, "DVID"] >= 1).all()
    assert (table.loc[obs, ["AMT", "RATE"]] == 0).all().all()
    assert (table.loc[obs & (table["MDV"] == 0), "DV"].notna()).all()
    assert obs.any(), "every env measures something"


def test_dataset__is_nonmem_shaped_with_ids_1_to_n_and_a_code_table(written) -> None:  # noqa: ANN001
    """IDs 1..N, sorted times, EVID/MDV agree, numbers only; the header lists every column."""
    env_id, out = written
    table = pd.read_csv(out / "dataset.csv", na_values=".")
    header = json.loads((out / "dataset.json").read_text())
    trials = ("pkgym/DoseFinding-v0", "pkgym/DoseFindingEffTox-v0")  # IDs: trial patients
    n = N_PATIENTS if env_id not in trials else header["n_patients"]
    check_structure(table, n)
    assert header["n_episodes"] == N_PATIENTS and header["env"] == env_id
    assert set(header["columns"]) == set(table.columns)
    assert {int(k) for k in header["columns"]["DVID"]["codes"]} == set(
        table.loc[table["EVID"] == 0, "DVID"])
    for name, column in header["columns"].items():  # coded columns hold only listed codes
        if "codes" in column and name != "DVID":
            assert set(table[name]) <= {int(code) for code in column["codes"]}, name
    assert "| column | unit | meaning | codes |" in (out / "dataset.md").read_text()


def test_dataset__pharmpy_reads_it_and_check_dataset_passes(written) -> None:  # noqa: ANN001
    """Pharmpy reads the file through its datainfo and every check_dataset rule passes."""
    modeling = pytest.importorskip("pharmpy.modeling")
    env_id, out = written
    frame = modeling.read_dataset_from_datainfo(out / "dataset.datainfo", datatype="nonmem")
    assert len(frame) == len(pd.read_csv(out / "dataset.csv")) and frame["ID"].min() == 1
    model = modeling.create_basic_pk_model("iv", dataset_path=out / "dataset.csv")
    assert model.datainfo.id_column.name == "ID" and model.datainfo.dv_column.name == "DV"
    checks = modeling.check_dataset(model, dataframe=True, verbose=True)
    assert len(checks) > 0 and (checks["result"] == "OK").all(), checks.to_string()


def test_dataset__warfarin_covariates_are_coded_and_vancomycin_creatinine_named() -> None:
    """Genotypes and race are integer codes with tables; measured vs true creatinine named."""
    warfarin = policy_dataset("pkgym/Warfarin-v1", _policy("pkgym/Warfarin-v1"),
                              sampled_cohort("pkgym/Warfarin-v1", 2, 0), 0)
    codes = warfarin.header["columns"]
    assert codes["VKORC1"]["codes"] == {"0": "G/G", "1": "G/A", "2": "A/A"}
    assert codes["SEX"]["codes"] == {"0": "male", "1": "female"}
    assert all(pd.api.types.is_integer_dtype(warfarin.table[c])
               for c in ("RACE", "CYP2C9", "VKORC1", "SEX"))
    vancomycin = policy_dataset("pkgym/Vancomycin-v0", _policy("pkgym/Vancomycin-v0"),
                                sampled_cohort("pkgym/Vancomycin-v0", 2, 0), 0).table
    assert {"SCR_MEAS", "SCR_TRUE", "CRCL_MEAS"} <= set(vancomycin.columns)
    assert "SCR" not in vancomycin.columns
    assert not np.allclose(vancomycin["SCR_MEAS"], vancomycin["SCR_TRUE"])  # assay noise
