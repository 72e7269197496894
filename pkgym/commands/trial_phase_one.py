"""``pkgym trial --design``: phase I (and phase I/II) designs, their tables and protocols.

One design under one scenario writes the per-dose report; several write one table over every
(scenario, design) pair; ``--decision-table`` and ``--pathways`` add the protocol tables;
phase I/II designs (BOIN12) run on efficacy-toxicity scenarios into their own table.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from pkgym.commands.evaluate import scale_options
from pkgym.io import write_table


def phase_one_trial(args: argparse.Namespace, make_design: Callable[[str, Any], Any]) -> int:
    """Operating characteristics of phase I designs under dose-finding scenarios, and tables.

    One design under one scenario writes the per-dose report (operating_characteristics.csv/
    .md, selection.png); more write one table over every (scenario, design) pair (oc_table).
    """
    from pkgym.trials.oc_table import load_scenario_list
    from pkgym.trials.report import PHASE12_FAMILIES

    designs = [spec.strip() for spec in args.design]
    repeated = sorted({spec for spec in designs if designs.count(spec) > 1})
    if repeated or not all(designs):
        raise ValueError(f"--design: specs must be distinct and non-empty, got {args.design!r}")
    phase12 = [spec for spec in designs if spec.partition(":")[0] in PHASE12_FAMILIES]
    if phase12:
        return _phase12_trial(args, designs, phase12)
    scenarios = load_scenario_list(args.scenario)
    built = {(s.name, spec): make_design(spec, s.scenario)  # refuse a bad spec before any run
             for s in scenarios for spec in designs}
    n_trials = 10000 if args.n_trials is None else args.n_trials
    if n_trials < 2:
        raise ValueError(f"--n-trials must be >= 2, got {n_trials}")
    tables = _table_writers(args, scenarios, designs, built)  # checks the table flags first
    if len(scenarios) == 1 and len(designs) == 1:
        written = _single_report(args, scenarios[0], designs[0], n_trials, make_design)
    else:
        written = _oc_table_report(args, scenarios, designs, n_trials, make_design)
    written += [path for write in tables for path in write()]
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _phase12_trial(args: argparse.Namespace, designs: list[str], phase12: list[str]) -> int:
    """Phase I/II designs (BOIN12) on phase I/II scenarios: phase12_oc_table.csv/.md."""
    import numpy as np
    import pandas as pd

    from pkgym.io import write_text
    from pkgym.trials.efficacy_toxicity import load_phase12_scenario
    from pkgym.trials.oc_table import phase12_markdown, phase12_row
    from pkgym.trials.phase12_simulation import simulate_phase12_trials
    from pkgym.trials.report import PHASE12_FAMILIES

    if len(phase12) != len(designs):
        raise ValueError(f"--design: phase I/II designs ({phase12}) run on efficacy-toxicity "
                         f"scenarios, without phase I designs; got {designs}")
    flags = [flag for flag, given in (("--decision-table", args.decision_table),
                                      ("--pathways", args.pathways is not None),
                                      ("--backend ray", args.backend == "ray")) if given]
    if flags:
        raise ValueError(f"{', '.join(flags)} apply only to phase I designs, not {phase12}")
    names = [path.stem for path in args.scenario]
    if len(set(names)) < len(names):
        raise ValueError(f"--scenario: scenario names (file stems) must be distinct, got "
                         f"{names}")
    scenarios = [load_phase12_scenario(path)[0] for path in args.scenario]
    built = {(name, spec): PHASE12_FAMILIES[spec.partition(":")[0]](spec, scenario)
             for name, scenario in zip(names, scenarios, strict=True) for spec in designs}
    n_trials = 10000 if args.n_trials is None else args.n_trials
    if n_trials < 2:
        raise ValueError(f"--n-trials must be >= 2, got {n_trials}")
    rows = []
    for name, scenario in zip(names, scenarios, strict=True):
        for spec in designs:  # chunks of --shard-size trials, the same trials as one call
            parts = [simulate_phase12_trials(built[name, spec], scenario,
                                             min(args.shard_size, n_trials - start), args.seed,
                                             first_trial=start)
                     for start in range(0, n_trials, args.shard_size)]
            merged = {field: np.concatenate([getattr(part, field) for part in parts])
                      for field in ("patients", "dlts", "responses", "selected", "stopped_early")}
            results = dataclasses.replace(parts[0], **merged)  # type: ignore[arg-type]
            rows.append(phase12_row(name, spec, results, scenario))
    table = pd.DataFrame(rows)
    markdown = phase12_markdown(table, f"{len(designs)} phase I/II design(s) x "
                                       f"{len(scenarios)} scenario(s) (seed {args.seed})")
    print(markdown, end="")
    written = [write_table(table, args.out / "phase12_oc_table.csv"),
               write_text(markdown, args.out / "phase12_oc_table.md")]
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _single_report(args: argparse.Namespace, named: Any, design: str, n_trials: int,
                   make_design: Callable[[str, Any], Any]) -> list[Path]:
    """One design, one scenario: the per-dose table, its Markdown and the selection plot."""
    from pkgym.io import write_text
    from pkgym.scale.trials import simulate_phase_one_sharded
    from pkgym.trials.operating_characteristics import operating_characteristics
    from pkgym.trials.report import markdown_report, per_dose_table, plot_selection

    scenario = named.scenario
    results = simulate_phase_one_sharded(design, scenario, n_trials, args.seed,
                                         make_design=make_design, **scale_options(args))
    oc = operating_characteristics(results, scenario)
    table = per_dose_table(oc, scenario, named.doses_mg_per_m2)
    title = f"{design} on {named.name} (seed {args.seed})"
    markdown = markdown_report(table, oc, title)
    written = [write_table(table, args.out / "operating_characteristics.csv"),
               write_text(markdown, args.out / "operating_characteristics.md"),
               plot_selection(table, scenario, title, args.out / "selection.png")]
    print(markdown, end="")
    return written


def _oc_table_report(args: argparse.Namespace, scenarios: list[Any], designs: list[str],
                     n_trials: int, make_design: Callable[[str, Any], Any]) -> list[Path]:
    """Every (scenario, design) pair on the same seed: one row each in oc_table.csv/.md."""
    from pkgym.io import write_text
    from pkgym.scale.trials import simulate_phase_one_sharded
    from pkgym.trials.oc_table import oc_markdown, oc_row, oc_table

    rows = [oc_row(named, design, simulate_phase_one_sharded(
                design, named.scenario, n_trials, args.seed, make_design=make_design,
                **scale_options(args)))
            for named in scenarios for design in designs]
    table = oc_table(rows)
    markdown = oc_markdown(table, f"{len(designs)} design(s) x {len(scenarios)} scenario(s) "
                                  f"(seed {args.seed})")
    print(markdown, end="")
    return [write_table(table, args.out / "oc_table.csv"),
            write_text(markdown, args.out / "oc_table.md")]


def _table_writers(args: argparse.Namespace, scenarios: list[Any], designs: list[str],
                   built: dict[tuple[str, str], Any]) -> list[Callable[[], list[Path]]]:
    """The requested protocol tables, computed before any run; each writer writes one."""
    from pkgym.trials.boin import BoinDesign

    writers: list[Callable[[], list[Path]]] = []
    if args.decision_table:
        boin = [(key, design) for key, design in built.items() if isinstance(design, BoinDesign)]
        if not boin:
            raise ValueError(f"--decision-table needs a boin design among --design, got "
                             f"{designs}")
        writers.append(partial(_write_tables, *_decision_tables(boin, scenarios),
                               args.out / "decision_table", echo=True))
    if args.pathways is not None:
        writers.append(partial(_write_tables, *_pathways(args.pathways, scenarios, designs,
                                                         built), args.out / "pathways"))
    return writers


def _write_tables(parts: list[Any], texts: list[str], stem: Path, *,
                  echo: bool = False) -> list[Path]:
    """STEM.csv (the parts, stacked) and STEM.md (the texts); print the Markdown if ``echo``."""
    import pandas as pd

    from pkgym.io import write_text

    markdown = "\n".join(texts)
    if echo:
        print(markdown, end="")
    return [write_table(pd.concat(parts, ignore_index=True), stem.with_suffix(".csv")),
            write_text(markdown, stem.with_suffix(".md"))]


def _decision_tables(boin: list[tuple[tuple[str, str], Any]],
                     scenarios: list[Any]) -> tuple[list[Any], list[str]]:
    """BOIN's decision table per BOIN spec and distinct (N max, cohort size)."""
    from pkgym.trials.decision_tables import boin_decision_table, decision_table_markdown

    by_name = {named.name: named.scenario for named in scenarios}
    parts, texts, seen = [], [], set()
    for (name, spec), design in boin:
        scenario = by_name[name]
        key = (spec, design, scenario.max_sample_size, scenario.cohort_size)
        if key in seen:
            continue
        seen.add(key)
        table = boin_decision_table(design, scenario.max_sample_size, scenario.cohort_size)
        texts.append(decision_table_markdown(table, f"{spec}: target {design.target:g}, cohorts "
                                             f"of {scenario.cohort_size}, N max "
                                             f"{scenario.max_sample_size}"))
        parts.append(table.assign(design=spec, target_dlt_rate=design.target))
    return parts, texts


def _pathways(n_cohorts: int, scenarios: list[Any], designs: list[str],
              built: dict[tuple[str, str], Any]) -> tuple[list[Any], list[str]]:
    """Each deterministic design's tree once per trial setup, with P(path) per scenario."""
    from pkgym.trials.decision_tables import (
        RandomisedDesignError,
        check_pathway_size,
        dose_transition_pathways,
        path_probabilities,
        pathways_markdown,
    )

    for named in scenarios:
        check_pathway_size(named.scenario, n_cohorts)
    parts, texts = [], []
    for spec in designs:
        groups: dict[tuple[object, ...], list[Any]] = {}
        for named in scenarios:  # the tree depends on the trial's setup, not on the truth
            truth = named.scenario
            groups.setdefault((truth.target_dlt_rate, truth.n_doses, truth.cohort_size,
                               truth.max_sample_size, truth.start_level), []).append(named)
        for members in groups.values():
            try:
                tree = dose_transition_pathways(built[members[0].name, spec],
                                                members[0].scenario, n_cohorts)
            except RandomisedDesignError as error:
                texts.append(f"# {spec}\n\nNo pathways: {error}.\n")
                break
            chances = {m.name: path_probabilities(tree, m.scenario) for m in members}
            texts.append(pathways_markdown(tree, chances, f"{spec}: first {n_cohorts} cohorts "
                                           f"({', '.join(chances)})"))
            parts.append(tree.assign(design=spec, scenarios=";".join(chances),
                                     **{f"probability_{k}": v for k, v in chances.items()}))
    if not parts:
        raise ValueError(f"--pathways needs a design whose decisions are not random, got "
                         f"{designs}")
    return parts, texts
