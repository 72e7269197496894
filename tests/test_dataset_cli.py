"""``pkgym dataset`` end to end (parser built here with ``add_dataset``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pkgym.commands.dataset import add_dataset, run_dataset


def _parser() -> argparse.ArgumentParser:
    from agents.policies.registry import make_policy

    parser = argparse.ArgumentParser(prog="pkgym")
    add_dataset(parser.add_subparsers(dest="command", required=True), make_policy=make_policy)
    return parser


def _run(*argv: str) -> int:
    args = _parser().parse_args(["dataset", *argv])
    return args.func(args)


def test_dataset_cli__warfarin_cohort_file_with_text_ids(tmp_path: Path) -> None:
    """A cohort file with text ids: IDs 1..3, the map to P001.., coded race and genotypes."""
    from pkgym.datasets import sampled_cohort

    cohort = sampled_cohort("pkgym/Warfarin-v1", 3, 5).drop(columns=["eta_CL", "eta_V",
                                                                     "eta_EC50"])
    cohort["id"] = ["P001", "P002", "P003"]
    cohort.to_csv(tmp_path / "cohort.csv", index=False)
    out = tmp_path / "out"
    assert _run("--env", "pkgym/Warfarin-v1", "--policy", "iwpc_clinical+aurora", "--cohort",
                str(tmp_path / "cohort.csv"), "--seed", "2", "--out", str(out)) == 0
    table = pd.read_csv(out / "dataset.csv", na_values=".")
    assert sorted(set(table["ID"])) == [1, 2, 3]
    header = json.loads((out / "dataset.json").read_text())
    assert [p["cohort_id"] for p in header["patients"]] == ["P001", "P002", "P003"]
    markdown = (out / "dataset.md").read_text()
    assert "0 = white" in markdown and "2 = A/A" in markdown and "INR" in markdown
    race = table.groupby("ID")["RACE"].first().tolist()
    assert race == [["white", "asian", "black", "other"].index(r) for r in cohort["race"]]
    assert (out / "dataset.datainfo").is_file()


def test_dataset_cli__chemotherapy_keeps_patients_whose_episode_ends_early(
        tmp_path: Path) -> None:
    """Progression ends some episodes early: every patient is kept, scans included."""
    out = tmp_path / "chemo"
    assert _run("--env", "pkgym/Chemotherapy-v0", "--policy", "label", "--n-patients", "6",
                "--seed", "0", "--format", "parquet", "--out", str(out)) == 0
    table = pd.read_parquet(out / "dataset.parquet")
    assert sorted(set(table["ID"])) == [1, 2, 3, 4, 5, 6]  # none lost at an autoreset
    doses = table[table["EVID"] == 1].groupby("ID").size()
    assert doses.min() < doses.max(), "some episode ended early (progression)"
    header = json.loads((out / "dataset.json").read_text())
    kinds = {o["name"]: (o["DVID"], o["CMT"]) for o in header["observations"]}
    assert kinds == {"ANC": (1, 8), "SLD": (2, 9)}
    observed = table[table["EVID"] == 0]
    assert set(observed["DVID"]) == {1, 2}
    first_scans = observed[(observed["DVID"] == 2) & (observed["TIME"] == 0)]
    assert len(first_scans) == 6 and np.all(first_scans["DV"] > 0)  # a baseline scan each
    assert not (out / "dataset.csv").exists()


@pytest.mark.parametrize(("flags", "message"), [
    (["--n-patients", "0"], "--n-patients must be >= 1"),
    (["--seed", "-1"], "--seed must be >= 0"),
    (["--format", "csv"], "--format must be one of ('nonmem', 'parquet')"),
])
def test_dataset_cli__refuses_bad_flags_before_any_work(tmp_path: Path, flags: list[str],
                                                         message: str) -> None:
    """A bad flag is one ValueError naming it, before a policy is built or a file written."""
    out = tmp_path / "never"
    args = _parser().parse_args(["dataset", "--env", "pkgym/Warfarin-v1", "--policy",
                                 "fixed_5mg", "--out", str(out)])
    for flag, value in zip(flags[::2], flags[1::2], strict=True):
        setattr(args, flag[2:].replace("-", "_"),
                value if flag == "--format" else int(value))
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run_dataset(args, make_policy=lambda *a, **k: pytest.fail("built a policy"))
    assert not out.exists()


def test_dataset_cli__parser_refuses_an_unknown_format(capsys: pytest.CaptureFixture) -> None:
    """The parser itself lists the formats."""
    with pytest.raises(SystemExit):
        _parser().parse_args(["dataset", "--env", "e", "--policy", "p", "--out", "o",
                              "--format", "csv"])
    assert "nonmem" in capsys.readouterr().err
