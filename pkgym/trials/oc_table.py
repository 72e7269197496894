"""One operating-characteristics table over several scenarios and designs.

Phase I designs (MTD) and phase I/II designs (BOIN12: the optimal biological dose) each get
their table: :func:`oc_row` and :func:`oc_markdown`, :func:`phase12_row` and
:func:`phase12_markdown`.

A run of ``pkgym trial`` with several ``--scenario`` files (or a scenario-set file) and several
``--design`` specs simulates every (scenario, design) pair with the same root seed, so every
design meets the same patients' DLT draws in a scenario (common random numbers), and writes one
table: one row per pair with correct selection, stops, overdosing, sample size and DLTs, and
selection and patients per dose, each with its Monte-Carlo SE.

A scenario-set YAML holds several truths under ``scenarios`` (name -> the fields of a
fixed-truth or mechanistic scenario), with fields they share under ``common``::

    common: {target_dlt_rate: 0.3, cohort_size: 3, max_sample_size: 36}
    scenarios:
      mtd_1: {true_dlt_probabilities: [0.28, 0.42, 0.55, 0.65, 0.75]}
      mtd_2: {true_dlt_probabilities: [0.10, 0.30, 0.45, 0.60, 0.70]}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from pkgym.scenarios import from_mapping, read_yaml
from pkgym.trials.mechanistic import MechanisticDoseFinding, load_trial_scenario
from pkgym.trials.operating_characteristics import (
    OperatingCharacteristics,
    TrialResults,
    operating_characteristics,
)
from pkgym.trials.phase12_simulation import Phase12Results, Phase12Scenario
from pkgym.trials.scenarios import DoseFindingScenario

SET_KEYS = ("common", "scenarios")
"""Top-level keys of a scenario-set YAML."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NamedScenario:
    """A scenario with the name its table rows carry.

    Attributes:
        name: The file's stem, or the key in a scenario set.
        scenario: True DLT rates and the trial's size rules.
        doses_mg_per_m2: Dose of each level, mg/m2, for a mechanistic truth; else ``None``.
    """

    name: str
    scenario: DoseFindingScenario
    doses_mg_per_m2: tuple[float, ...] | None = None


def _set_entry(name: str, entry: object, common: dict, where: str) -> NamedScenario:
    """One scenario of a set: its own fields over the common ones."""
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected a mapping of scenario fields, got {entry!r}")
    data = {**common, **entry}
    if "mechanistic_truth" in data:
        spec = from_mapping(MechanisticDoseFinding, data, path=where)
        return NamedScenario(name=name, scenario=spec.scenario(),
                             doses_mg_per_m2=spec.mechanistic_truth.dose_levels_mg_per_m2)
    return NamedScenario(name=name, scenario=from_mapping(DoseFindingScenario, data, path=where))


def load_scenarios(path: str | Path) -> list[NamedScenario]:
    """The scenarios of one YAML file: a single scenario, or a set (``common``, ``scenarios``).

    Args:
        path: A dose-finding scenario YAML (fixed or mechanistic truth) or a scenario set.

    Examples:
        >>> import tempfile, os, yaml
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     file = os.path.join(folder, "set.yaml")
        ...     text = yaml.safe_dump({"common": {"target_dlt_rate": 0.3},
        ...                            "scenarios": {"a": {"true_dlt_probabilities": [0.1, 0.3]},
        ...                                          "b": {"true_dlt_probabilities": [0.3, 0.5]}}})
        ...     _ = open(file, "w").write(text)
        ...     [(s.name, s.scenario.true_mtd) for s in load_scenarios(file)]
        [('a', 1), ('b', 0)]
    """
    file = Path(path)
    data = read_yaml(file)
    if not (isinstance(data, dict) and "scenarios" in data):
        scenario, doses = load_trial_scenario(file)
        return [NamedScenario(name=file.stem, scenario=scenario, doses_mg_per_m2=doses)]
    unknown = sorted(set(data) - set(SET_KEYS))
    if unknown:
        raise ValueError(f"{file.name}.{unknown[0]}: unknown field of a scenario set; allowed: "
                         f"{list(SET_KEYS)}")
    common, entries = data.get("common") or {}, data["scenarios"]
    if not isinstance(common, dict) or not isinstance(entries, dict) or not entries:
        raise ValueError(f"{file.name}: a scenario set needs 'scenarios' as a non-empty mapping "
                         f"(name -> fields) and 'common' as a mapping")
    return [_set_entry(str(name), entry, common, f"{file.name}.scenarios.{name}")
            for name, entry in entries.items()]


def load_scenario_list(paths: Iterable[str | Path]) -> list[NamedScenario]:
    """The scenarios of every file, in order; two with the same name are refused.

    Examples:
        >>> [s.name for s in load_scenario_list(["scenarios/dose_finding_classic.yaml"])]
        ['dose_finding_classic']
    """
    named = [item for path in paths for item in load_scenarios(path)]
    names = [item.name for item in named]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"--scenario: scenario names must be distinct, got {repeated} more "
                         f"than once (file stems and scenario-set keys)")
    return named


def _with_se(row: dict, name: str, value: float, se: float) -> None:
    row[name], row[f"{name}_se"] = float(value), float(se)


def oc_row(scenario: NamedScenario, design: str, results: TrialResults) -> dict[str, object]:
    """One table row: the (scenario, design) pair's operating characteristics with MC SEs.

    Levels are 1-based (``selection_percent_L1``, ``patients_L1``, ...); ``no_mtd_percent``
    is the share of trials that stopped early without naming an MTD (``BOIN::get.oc``'s
    "early stopping"), ``stopped_early_percent`` the share that ended below the maximum
    sample size for any reason (3+3 always does, a stopping rule may).

    Examples:
        >>> from pkgym.trials.boin import BoinDesign
        >>> from pkgym.trials.operating_characteristics import simulate_trials
        >>> truth = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.3, 0.5),
        ...                             target_dlt_rate=0.3, max_sample_size=18)
        >>> row = oc_row(NamedScenario(name="s", scenario=truth), "boin",
        ...              simulate_trials(BoinDesign(target=0.3), truth, 100, seed=1))
        >>> row["true_mtd"], row["correct_selection_percent"] == row["selection_percent_L2"]
        (2, True)
    """
    truth = scenario.scenario
    oc: OperatingCharacteristics = operating_characteristics(results, truth)
    short = results.patients.sum(axis=1) < truth.max_sample_size
    share = short.mean()
    row: dict[str, object] = {
        "scenario": scenario.name, "design": design, "n_trials": oc.n_trials,
        "target_dlt_rate": truth.target_dlt_rate, "true_mtd": truth.true_mtd + 1,
        "max_sample_size": truth.max_sample_size}
    _with_se(row, "correct_selection_percent", oc.percent_correct_selection,
             oc.percent_correct_selection_se)
    _with_se(row, "no_mtd_percent", oc.no_selection_percent, oc.no_selection_percent_se)
    _with_se(row, "stopped_early_percent", 100 * share,
             100 * np.sqrt(share * (1 - share) / short.size))
    _with_se(row, "patients_above_mtd_percent", oc.percent_treated_above_mtd,
             oc.percent_treated_above_mtd_se)
    _with_se(row, "mean_sample_size", oc.mean_sample_size, oc.mean_sample_size_se)
    _with_se(row, "mean_dlts", oc.mean_dlts, oc.mean_dlts_se)
    for level in range(truth.n_doses):
        row[f"true_dlt_rate_L{level + 1}"] = truth.true_dlt_probabilities[level]
        _with_se(row, f"selection_percent_L{level + 1}", oc.selection_percent[level],
                 oc.selection_percent_se[level])
        _with_se(row, f"patients_L{level + 1}", oc.mean_patients_per_dose[level],
                 oc.mean_patients_per_dose_se[level])
    return row


def oc_table(rows: Sequence[dict[str, object]]) -> pd.DataFrame:
    """Rows of :func:`oc_row` as one table (levels a scenario lacks are empty)."""
    return pd.DataFrame(list(rows))


SUMMARY_COLUMNS = (
    ("correct_selection_percent", "correct MTD %", 1),
    ("no_mtd_percent", "no MTD (early stop) %", 1),
    ("stopped_early_percent", "ended below N max %", 1),
    ("patients_above_mtd_percent", "patients above MTD %", 1),
    ("mean_sample_size", "mean N", 1),
    ("mean_dlts", "mean DLTs", 2),
)
"""(column, Markdown heading, decimals) of the summary table."""


def _cell(row: pd.Series, column: str, decimals: int) -> str:
    return f"{row[column]:.{decimals}f} ± {row[column + '_se']:.{decimals}f}"


def _scenario_block(rows: pd.DataFrame) -> list[str]:
    """Selection % and patients per level of one scenario, one row per design."""
    first = rows.iloc[0]
    levels = [int(c[len("true_dlt_rate_L"):]) for c in rows.columns
              if c.startswith("true_dlt_rate_L") and not pd.isna(first[c])]
    heads = [f"L{j}" + (" (MTD)" if j == first["true_mtd"] else "") for j in levels]
    truth = ", ".join(f"{first[f'true_dlt_rate_L{j}']:.2f}" for j in levels)
    lines = ["", f"### {first['scenario']}: true DLT rates {truth}, target "
                 f"{first['target_dlt_rate']:g}, N max {first['max_sample_size']}", "",
             "| design | | " + " | ".join(heads) + " | none |",
             "|---|---|" + "---:|" * (len(levels) + 1)]
    for _, row in rows.iterrows():
        chosen = [_cell(row, f"selection_percent_L{j}", 1) for j in levels]
        treated = [_cell(row, f"patients_L{j}", 2) for j in levels]
        lines.append(f"| {row['design']} | selected % | " + " | ".join(chosen)
                     + f" | {_cell(row, 'no_mtd_percent', 1)} |")
        lines.append("| | patients | " + " | ".join(treated) + " | |")
    return lines


def oc_markdown(table: pd.DataFrame, title: str) -> str:
    """The summary (one row per scenario and design) and, per scenario, the per-level table.

    Examples:
        >>> from pkgym.trials.boin import BoinDesign
        >>> from pkgym.trials.operating_characteristics import simulate_trials
        >>> truth = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.3, 0.5),
        ...                             target_dlt_rate=0.3, max_sample_size=18)
        >>> rows = [oc_row(NamedScenario(name="s", scenario=truth), "boin",
        ...                simulate_trials(BoinDesign(target=0.3), truth, 100, seed=1))]
        >>> oc_markdown(oc_table(rows), "t").splitlines()[4].startswith("| scenario | design")
        True
    """
    trials = sorted(set(table["n_trials"]))
    lines = [f"# {title}", "", f"{', '.join(map(str, trials))} simulated trials per row; every "
             "design meets the same DLT draws in a scenario; ± is the Monte-Carlo SE.", "",
             "| scenario | design | " + " | ".join(h for _, h, _ in SUMMARY_COLUMNS) + " |",
             "|---|---|" + "---:|" * len(SUMMARY_COLUMNS)]
    for _, row in table.iterrows():
        cells = [_cell(row, column, decimals) for column, _, decimals in SUMMARY_COLUMNS]
        lines.append(f"| {row['scenario']} | {row['design']} | " + " | ".join(cells) + " |")
    for name in dict.fromkeys(table["scenario"]):
        lines += _scenario_block(table[table["scenario"] == name])
    return "\n".join(lines) + "\n"


def phase12_row(name: str, design: str, results: Phase12Results,
                scenario: Phase12Scenario) -> dict[str, object]:
    """One row of a phase I/II design (BOIN12): correct OBD, stops, per-level, with MC SEs.

    The optimal biological dose (OBD) is the level of highest true utility at or below the
    true MTD (:attr:`Phase12Scenario.true_obd`); levels are 1-based.

    Examples:
        >>> from pkgym.trials.phase12_simulation import simulate_phase12_trials
        >>> truth = Phase12Scenario(true_dlt_probabilities=(0.05, 0.1, 0.3),
        ...                         true_efficacy_probabilities=(0.2, 0.5, 0.5),
        ...                         max_sample_size=18)
        >>> row = phase12_row("s", "boin12", simulate_phase12_trials(truth.design(), truth, 50,
        ...                                                          seed=1), truth)
        >>> row["true_obd"], row["correct_obd_percent"] == row["selection_percent_L2"]
        (2, True)
    """
    n = results.selected.size
    if n < 2 or results.patients.shape[1] != scenario.n_doses:
        raise ValueError("results must have the scenario's n_doses and at least 2 trials")
    row: dict[str, object] = {
        "scenario": name, "design": design, "n_trials": n,
        "target_dlt_rate": scenario.target_dlt_rate,
        "min_efficacy_rate": scenario.min_efficacy_rate, "true_mtd": scenario.true_mtd + 1,
        "true_obd": scenario.true_obd + 1, "max_sample_size": scenario.max_sample_size}
    chosen = results.selected[:, None] == np.arange(scenario.n_doses)[None, :]
    for column, hits in (("correct_obd_percent", chosen[:, scenario.true_obd]),
                         ("no_selection_percent", results.selected == -1),
                         ("stopped_early_percent",
                          results.patients.sum(axis=1) < scenario.max_sample_size)):
        share = float(hits.mean())
        _with_se(row, column, 100 * share, 100 * np.sqrt(share * (1 - share) / n))
    for column, values in (("mean_sample_size", results.patients.sum(axis=1)),
                           ("mean_dlts", results.dlts.sum(axis=1)),
                           ("mean_responses", results.responses.sum(axis=1))):
        values = values.astype(np.float64)
        _with_se(row, column, values.mean(), values.std(ddof=1) / np.sqrt(n))
    utilities = scenario.true_utilities
    for level in range(scenario.n_doses):
        j = level + 1
        row[f"true_dlt_rate_L{j}"] = scenario.true_dlt_probabilities[level]
        row[f"true_efficacy_rate_L{j}"] = scenario.true_efficacy_probabilities[level]
        row[f"true_utility_L{j}"] = float(utilities[level])
        share = float(chosen[:, level].mean())
        _with_se(row, f"selection_percent_L{j}", 100 * share,
                 100 * np.sqrt(share * (1 - share) / n))
        patients = results.patients[:, level].astype(np.float64)
        _with_se(row, f"patients_L{j}", patients.mean(), patients.std(ddof=1) / np.sqrt(n))
    return row


PHASE12_COLUMNS = (
    ("correct_obd_percent", "correct OBD %", 1),
    ("no_selection_percent", "no dose selected %", 1),
    ("stopped_early_percent", "ended below N max %", 1),
    ("mean_sample_size", "mean N", 1),
    ("mean_dlts", "mean DLTs", 2),
    ("mean_responses", "mean responses", 2),
)
"""(column, Markdown heading, decimals) of the phase I/II summary."""


def phase12_markdown(table: pd.DataFrame, title: str) -> str:
    """Summary per (scenario, design), then selection % and patients per level per scenario.

    Examples:
        >>> from pkgym.trials.phase12_simulation import simulate_phase12_trials
        >>> truth = Phase12Scenario(true_dlt_probabilities=(0.05, 0.1, 0.3),
        ...                         true_efficacy_probabilities=(0.2, 0.5, 0.5),
        ...                         max_sample_size=18)
        >>> rows = [phase12_row("s", "boin12", simulate_phase12_trials(truth.design(), truth,
        ...                                                            50, seed=1), truth)]
        >>> phase12_markdown(pd.DataFrame(rows), "t").splitlines()[4].split(" | ")[2]
        'correct OBD %'
    """
    lines = [f"# {title}", "", "The OBD is the level of highest true utility at or below the "
             "true MTD; ± is the Monte-Carlo SE.", "",
             "| scenario | design | " + " | ".join(h for _, h, _ in PHASE12_COLUMNS) + " |",
             "|---|---|" + "---:|" * len(PHASE12_COLUMNS)]
    for _, row in table.iterrows():
        cells = [_cell(row, column, decimals) for column, _, decimals in PHASE12_COLUMNS]
        lines.append(f"| {row['scenario']} | {row['design']} | " + " | ".join(cells) + " |")
    for name in dict.fromkeys(table["scenario"]):
        rows = table[table["scenario"] == name]
        first = rows.iloc[0]
        most = sum(column.startswith("true_utility_L") for column in table.columns)
        levels = [j for j in range(1, most + 1) if not pd.isna(first[f"true_utility_L{j}"])]
        heads = [f"L{j}" + (" (OBD)" if j == first["true_obd"] else "") for j in levels]
        lines += ["", f"### {name}: DLT / response / utility "
                      + ", ".join(f"{first[f'true_dlt_rate_L{j}']:.2f} / "
                                  f"{first[f'true_efficacy_rate_L{j}']:.2f} / "
                                  f"{first[f'true_utility_L{j}']:.1f}" for j in levels), "",
                  "| design | | " + " | ".join(heads) + " |", "|---|---|" + "---:|" * len(levels)]
        for _, row in rows.iterrows():
            lines.append(f"| {row['design']} | selected % | " + " | ".join(
                _cell(row, f"selection_percent_L{j}", 1) for j in levels) + " |")
            lines.append("| | patients | " + " | ".join(
                _cell(row, f"patients_L{j}", 2) for j in levels) + " |")
    return "\n".join(lines) + "\n"
