"""`pkgym trial` over several scenarios and designs: scenario sets, the OC table, the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pkgym.cli import main
from pkgym.trials.oc_table import NamedScenario, load_scenario_list, load_scenarios, oc_row
from pkgym.trials.operating_characteristics import operating_characteristics, simulate_trials
from pkgym.trials.report import DESIGNS, make_design
from pkgym.trials.scenarios import DoseFindingScenario

ROOT = Path(__file__).resolve().parents[2]
CLASSIC = ROOT / "scenarios" / "dose_finding_classic.yaml"
SET = ROOT / "scenarios" / "dose_finding_mtd_1_to_5.yaml"


def _write(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def test_load_scenarios__set_merges_common_fields_and_names_entries(tmp_path: Path) -> None:
    """A set's entries get the common fields (their own win); a plain file is one scenario."""
    five = load_scenarios(SET)
    assert [s.name for s in five] == ["mtd_1", "mtd_2", "mtd_3", "mtd_4", "mtd_5"]
    assert [s.scenario.true_mtd for s in five] == [0, 1, 2, 3, 4]
    assert {s.scenario.max_sample_size for s in five} == {36}
    own = _write(tmp_path / "own.yaml", {"common": {"target_dlt_rate": 0.3},
                                         "scenarios": {"a": {"true_dlt_probabilities": [0.1, 0.3],
                                                             "target_dlt_rate": 0.2}}})
    assert load_scenarios(own)[0].scenario.target_dlt_rate == 0.2
    assert [s.name for s in load_scenarios(CLASSIC)] == ["dose_finding_classic"]


@pytest.mark.parametrize(("data", "words"), [
    ({"scenarios": {"a": {"true_dlt_probabilities": [0.1, 0.3]}}, "defaults": {}},
     ["defaults", "common", "scenarios"]),
    ({"scenarios": {}}, ["non-empty mapping"]),
    ({"scenarios": {"a": {"true_dlt_probabilities": [0.1, 0.3], "target": 0.3}}},
     ["scenarios.a.target", "unknown field"]),
    ({"scenarios": {"a": [0.1, 0.3]}}, ["scenarios.a", "expected a mapping"]),
])
def test_load_scenarios__bad_sets_name_the_field(tmp_path: Path, data: object,
                                                 words: list[str]) -> None:
    """Unknown keys, empty sets and bad entries fail in one message naming the path."""
    with pytest.raises(ValueError) as error:
        load_scenarios(_write(tmp_path / "bad.yaml", data))
    assert all(word in str(error.value) for word in words), str(error.value)


def test_load_scenario_list__repeated_names_refused() -> None:
    """The same file twice gives two scenarios with one name: refused, naming it."""
    with pytest.raises(ValueError, match="dose_finding_classic"):
        load_scenario_list([CLASSIC, CLASSIC])


def test_oc_row__agrees_with_operating_characteristics_and_counts_early_ends() -> None:
    """Every row value is the OC's; 'stopped early' counts trials below N max by hand."""
    truth = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.25, 0.4, 0.55),
                                target_dlt_rate=0.3, max_sample_size=18)
    results = simulate_trials(make_design("3+3", truth), truth, 300, seed=2)
    oc = operating_characteristics(results, truth)
    row = oc_row(NamedScenario(name="s", scenario=truth), "3+3", results)
    short = (results.patients.sum(axis=1) < 18).mean()
    assert row["stopped_early_percent"] == pytest.approx(100 * short)
    assert row["correct_selection_percent"] == oc.percent_correct_selection
    assert row["patients_above_mtd_percent_se"] == oc.percent_treated_above_mtd_se
    assert [row[f"patients_L{j}"] for j in (1, 2, 3, 4)] == oc.mean_patients_per_dose.tolist()
    assert row["no_mtd_percent"] == oc.no_selection_percent and row["true_mtd"] == 2


def _trial(*args: str) -> int:
    try:
        return main(["trial", "--quiet", *args])
    except SystemExit as done:  # argparse's own errors
        return int(done.code or 0)


def test_cli__designs_by_scenarios_give_one_table_with_the_single_run_numbers(
        tmp_path: Path) -> None:
    """2 designs x (a set of 5 + one file): 12 rows; each is the single run's numbers."""
    out = tmp_path / "many"
    assert _trial("--design", "boin", "--design", "crm", "--scenario", str(SET), "--scenario",
                  str(CLASSIC), "--n-trials", "60", "--seed", "3", "--out", str(out)) == 0
    table = pd.read_csv(out / "oc_table.csv")
    assert len(table) == 12 and table[["scenario", "design"]].drop_duplicates().shape[0] == 12
    assert not (out / "operating_characteristics.csv").exists()
    text = (out / "oc_table.md").read_text()
    assert "### mtd_3: true DLT rates 0.05, 0.12, 0.30, 0.45, 0.60" in text
    assert "| dose_finding_classic | crm |" in text
    one = tmp_path / "one"
    assert _trial("--design", "crm", "--scenario", str(CLASSIC), "--n-trials", "60", "--seed",
                  "3", "--out", str(one)) == 0
    single = pd.read_csv(one / "operating_characteristics.csv")
    row = table[(table["scenario"] == "dose_finding_classic") & (table["design"] == "crm")]
    np.testing.assert_allclose(row[[f"selection_percent_L{j}" for j in range(1, 6)]].values[0],
                               single["selection_percent"].values)
    np.testing.assert_allclose(row[[f"patients_L{j}" for j in range(1, 6)]].values[0],
                               single["mean_patients"].values)


def test_cli__single_run_adds_decision_table_and_pathways_on_request(tmp_path: Path) -> None:
    """One design, one scenario: the usual three files, plus the two tables when asked."""
    out = tmp_path / "boin"
    assert _trial("--design", "boin:stay_on_1_of_3=1", "--scenario", str(CLASSIC),
                  "--n-trials", "20", "--decision-table", "--pathways", "2",
                  "--out", str(out)) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["decision_table.csv", "decision_table.md", "operating_characteristics.csv",
                     "operating_characteristics.md", "pathways.csv", "pathways.md",
                     "selection.png"]
    decisions = pd.read_csv(out / "decision_table.csv")
    assert len(decisions) == 30 and set(decisions["design"]) == {"boin:stay_on_1_of_3=1"}
    paths = pd.read_csv(out / "pathways.csv")
    assert paths["probability_dose_finding_classic"].sum() == pytest.approx(1.0)


@pytest.mark.parametrize("family", DESIGNS)
def test_cli__every_registered_family_runs_in_a_table(family: str, tmp_path: Path) -> None:
    """Each design family of the registry runs beside BOIN under two scenarios."""
    out = tmp_path / "f"
    designs = ["--design", family] + ([] if family == "boin" else ["--design", "boin"])
    assert _trial(*designs, "--scenario", str(SET), "--n-trials", "10", "--out", str(out)) == 0
    assert family in set(pd.read_csv(out / "oc_table.csv")["design"])


@pytest.mark.parametrize(("args", "words"), [
    (["--design", "crm", "--decision-table"], ["--decision-table needs a boin design"]),
    (["--design", "boin", "--pathways", "0"], ["--pathways (cohorts) must be in 1..8"]),
    (["--design", "thompson", "--pathways", "2"], ["--pathways needs a design"]),
    (["--design", "boin", "--design", "boin"], ["--design: specs must be distinct"]),
    (["--design", "crm:model=probit"], ["model must be one of"]),
    (["--design", "thompson:x=1"], ["design thompson takes no options"]),
    (["--design", "boin:offset=0.7"], ["offset must lie in (0, 0.5)"]),
])
def test_cli__bad_phase_one_flags_exit_2_before_any_run(
        tmp_path: Path, args: list[str], words: list[str],
        capsys: pytest.CaptureFixture) -> None:
    """Bad tables flags and specs: exit 2, one message, nothing written."""
    out = tmp_path / "x"
    code = _trial(*args, "--scenario", str(CLASSIC), "--n-trials", "5", "--out", str(out))
    err = capsys.readouterr().err
    assert code == 2 and all(word in err for word in words), err
    assert not out.exists()


def test_cli__virtual_trial_takes_one_scenario_and_no_phase_one_tables(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """--arm with two --scenario, or with --pathways: exit 2 naming the flag."""
    base = ["--arm", "label", "--arm", "map", "--env", "pkgym/Vancomycin-v0",
            "--max-patients", "30", "--out", str(tmp_path / "x")]
    assert _trial(*base, "--scenario", "a.yaml", "--scenario", "b.yaml") == 2
    assert "--scenario is given once with --arm" in capsys.readouterr().err
    assert _trial(*base, "--pathways", "2") == 2
    assert "--pathways apply only with --design" in capsys.readouterr().err


@pytest.mark.parametrize("spec", ["3+3:deescalation=1", "a+b:b=6,e=2", "boin:extrasafe=1",
                                  "crm:model=logistic,coherence=1", "crm:model=blrm",
                                  "tite_crm:window=28,accrual=fixed,rate=4"])
def test_cli__family_options_reach_the_design(spec: str, tmp_path: Path) -> None:
    """Each family with options: its spec runs and names its row; the help lists the family."""
    out = tmp_path / "o"
    assert _trial("--design", spec, "--design", "crm", "--scenario", str(CLASSIC),
                  "--n-trials", "10", "--out", str(out)) == 0
    assert spec in set(pd.read_csv(out / "oc_table.csv")["design"])


def test_cli__help_names_every_registered_family(capsys: pytest.CaptureFixture) -> None:
    """``pkgym trial --help`` lists each name of the registry."""
    assert _trial("--help") == 0
    text = " ".join(capsys.readouterr().out.split())
    assert all(f" {name}," in text or f" {name}:" in text for name in DESIGNS), text


def test_registry__tite_crm_runs_its_staggered_entry_simulator() -> None:
    """The registry's tite_crm runs simulate_tite_trials (dfcrm titesim rules).

    Its trials differ from the same CRM's given complete follow-up.
    """
    from pkgym.trials.tite_simulation import simulate_tite_trials

    truth = DoseFindingScenario(true_dlt_probabilities=(0.05, 0.1, 0.2, 0.35, 0.5),
                                target_dlt_rate=0.2, cohort_size=1, max_sample_size=12)
    design = make_design("tite_crm:window=28,accrual=fixed,rate=12", truth)
    ours = simulate_trials(design, truth, 40, seed=4, first_trial=3)
    theirs = simulate_tite_trials(design.design, truth, 40, seed=4,  # type: ignore[attr-defined]
                                  first_trial=3).results
    np.testing.assert_array_equal(ours.patients, theirs.patients)
    np.testing.assert_array_equal(ours.selected, theirs.selected)
    complete = simulate_trials(design.design, truth, 40, seed=4, first_trial=3)  # type: ignore[attr-defined]
    assert not np.array_equal(ours.patients, complete.patients)


def test_registry__crm_alone_is_the_power_model_and_coherence_holds_in_the_tree() -> None:
    """``crm`` is the power-model CrmDesign as before; coherence holds in the pathway tree.

    ``crm:coherence=1`` never escalates right after a cohort with a DLT (the simulator's step
    records ``last_dlts``), which the plain CRM does on some path.
    """
    from pkgym.trials.crm import CrmDesign, indifference_skeleton
    from pkgym.trials.decision_tables import dose_transition_pathways

    truth = DoseFindingScenario(true_dlt_probabilities=(0.05, 0.1, 0.25, 0.4, 0.55),
                                target_dlt_rate=0.25, max_sample_size=30)
    skeleton = indifference_skeleton(0.25, 0.05, 3, 5)
    assert make_design("crm", truth) == CrmDesign(skeleton=tuple(map(float, skeleton)),
                                                  target=0.25)

    def escalations_after_a_dlt(spec: str) -> int:
        tree = dose_transition_pathways(make_design(spec, truth), truth, 4)
        running = tree[~tree["stopped"]]
        return int(((running["dlts_4"] > 0) & (running["next_level"] > running["level_4"]))
                   .sum())

    assert escalations_after_a_dlt("crm:coherence=1") == 0
    assert escalations_after_a_dlt("crm") > 0
