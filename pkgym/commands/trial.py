"""``pkgym trial``: phase I designs' operating characteristics, or a virtual trial."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, cast

from pkgym.commands.evaluate import add_scale_options, check_scale_options, scale_options
from pkgym.grammar import comma_list, deprecated
from pkgym.io import write_table


def add_trial(commands: argparse._SubParsersAction, *, make_policy: Callable[..., Any],
              make_design: Callable[[str, Any], Any]) -> None:
    """The ``trial`` subcommand: a phase I design, or a virtual trial of policies.

    ``make_policy`` builds an arm's policy and ``make_design`` the ``--design`` (both handed
    in by :mod:`pkgym.cli`, which alone loads agents; ``make_design`` must be picklable by
    reference so that Ray workers can rebuild the design).
    """
    trial = commands.add_parser(
        "trial", help="operating characteristics of a phase I dose-finding design, or of a "
                      "virtual group-sequential trial of dosing policies",
        description="Phase I (--design): simulate many trials of a dose-finding design under "
                    "a scenario; write operating_characteristics.csv/.md and selection.png. "
                    "Several designs and/or scenarios (repeat --design, --scenario, or give a "
                    "scenario-set YAML): one table over all of them, oc_table.csv/.md. "
                    "--decision-table and --pathways K add BOIN's decision table and the "
                    "designs' dose-transition pathways. "
                    "Virtual trial (--arms): simulate every arm's policy on one pool of "
                    "evaluation patients, then many group-sequential trials (arm 0 the "
                    "control, each other arm compared with it, Bonferroni-split alpha), as "
                    "simulated and under the null; write virtual_trial.csv, "
                    "operating_characteristics.csv/.md and power.png.")
    mode = trial.add_mutually_exclusive_group(required=True)
    mode.add_argument("--design", action="append",
                      help="phase I design (repeat it to compare designs): 3+3, a+b, crm, "
                      "boin, thompson, tite_crm, with options as name:key=value[,key=value]: "
                      "3+3:deescalation=1; a+b:a=,b=,c=,d=,e=,deescalation= "
                      "(Lin & Shih 2001); crm:model=power|logistic|blrm,coherence=0|1,skip=,"
                      "max_step=,half_width=,prior_mtd=,estimate=,ewoc=,... (CRM family, "
                      "EWOC with blrm); BOIN with the R package's options (keys "
                      "n_earlystop, extrasafe, offset, bound_mtd, elimination_cutoff, "
                      "mtd_selection=r_package|count_weighted, stay_on_1_of_3; e.g. "
                      "boin:extrasafe=1,offset=0.1,n_earlystop=9); tite_crm:window=28,"
                      "accrual=fixed|poisson,rate=,scheme=linear|adaptive,restrict=,skeleton="
                      "a/b/c (time-to-event CRM, staggered entry); or a learned one: a "
                      "pkgym/DoseFinding-v0 policy spec (sb3:PATH.zip, ...)")
    mode.add_argument("--arm", dest="arms", action="append", metavar="SPEC",
                      help="a virtual trial arm (repeat it; control first): a policy spec as "
                           "for `pkgym evaluate --policy` (label, trough, map, sb3:PATH.zip, ...)")
    mode.add_argument("--arms", dest="arms", metavar="SPEC,SPEC",
                      action=deprecated("--arm SPEC (repeated)", extend=True, split=comma_list),
                      help=argparse.SUPPRESS)
    trial.add_argument("--scenario", type=Path, action="append",
                       help="with --design: dose-finding scenario YAML (required; repeat it, "
                            "or give a scenario set, for several truths; e.g. "
                            "scenarios/dose_finding_classic.yaml, "
                            "scenarios/dose_finding_mtd_1_to_5.yaml); with --arm: env scenario "
                            "YAML (once)")
    trial.add_argument("--n-trials", type=int,
                       help="simulated trials (>= 2; default 10000 with --design, 2000 with "
                            "--arms)")
    trial.add_argument("--seed", type=int, default=0, help="root seed (>= 0; default 0)")
    trial.add_argument("--out", type=Path, required=True, help="output folder")
    tables = trial.add_argument_group("phase I (--design) tables")
    tables.add_argument("--decision-table", action="store_true",
                        help="write decision_table.csv/.md: BOIN's escalate/de-escalate/"
                             "eliminate counts by patients treated, as BOIN::get.boundary "
                             "(needs a boin design)")
    tables.add_argument("--pathways", type=int, metavar="K",
                        help="write pathways.csv/.md: each design's next dose after every "
                             "outcome of the first K cohorts (dose-transition pathways, Yap et "
                             "al. 2017), with each path's probability under every scenario")
    arms = trial.add_argument_group("virtual trial (--arm) options")
    arms.add_argument("--env", help="environment id, e.g. pkgym/Vancomycin-v0 (required)")
    arms.add_argument("--endpoint", help="score compared (default: the env's first score, "
                                         "e.g. in_target_range_fraction, "
                                         "time_in_therapeutic_range)")
    arms.add_argument("--max-patients", type=int, help="maximum total sample size (required)")
    arms.add_argument("--looks", type=int, help="equally spaced analyses (default 3)")
    arms.add_argument("--alpha", type=float, help="family-wise type I error (default 0.05)")
    arms.add_argument("--alternative", choices=ALTERNATIVES, help="default two-sided")
    arms.add_argument("--spending", choices=SPENDING_FUNCTIONS, help="default obrien_fleming")
    arms.add_argument("--allocation", choices=ALLOCATIONS,
                      help="equal (default), neyman (two arms) or thall_wathen")
    arms.add_argument("--futility-z", type=float,
                      help="non-binding futility: drop an arm whose z is below this at an "
                           "interim look (default: none)")
    arms.add_argument("--n-patients", type=int,
                      help="patients simulated per arm, the pool trials draw from (default 1000)")
    arms.add_argument("--pool", dest="n_patients", type=int, action=deprecated("--n-patients"),
                      help=argparse.SUPPRESS)
    add_scale_options(trial, "trials (and, with --arms, pool patients)")
    trial.set_defaults(func=partial(_trial, make_policy=make_policy, make_design=make_design))


ALTERNATIVES = ("two-sided", "greater", "less")
SPENDING_FUNCTIONS = ("obrien_fleming", "pocock")
ALLOCATIONS = ("equal", "neyman", "thall_wathen")
"""Choices of the virtual trial flags (checked against pkgym.trials in the tests)."""

VIRTUAL_TRIAL_DEFAULTS = {"looks": 3, "alpha": 0.05, "alternative": "two-sided",
                          "spending": "obrien_fleming", "allocation": "equal", "n_patients": 1000,
                          "n_trials": 2000}
"""Defaults of the ``--arms`` options."""


def _trial(args: argparse.Namespace, make_policy: Callable[..., Any],
           make_design: Callable[[str, Any], Any]) -> int:
    """Dispatch to the phase I or the virtual-trial mode, after checking the flags fit it."""
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    check_scale_options(args)
    arms_only = [f"--{name.replace('_', '-')}" for name in
                 ("env", "endpoint", "max_patients", "looks", "alpha", "alternative",
                  "spending", "allocation", "futility_z", "n_patients")
                 if getattr(args, name) is not None]
    if args.design is not None:
        if arms_only:
            raise ValueError(f"{', '.join(arms_only)} apply only with --arm, not --design")
        if args.scenario is None:
            raise ValueError("--scenario (a dose-finding scenario YAML) is required with "
                             "--design")
        return _phase_one_trial(args, make_design)
    design_only = [flag for flag, given in (("--decision-table", args.decision_table),
                                            ("--pathways", args.pathways is not None)) if given]
    if design_only:
        raise ValueError(f"{', '.join(design_only)} apply only with --design, not --arm")
    if args.scenario is not None and len(args.scenario) > 1:
        raise ValueError(f"--scenario is given once with --arm (an env scenario YAML), got "
                         f"{len(args.scenario)}")
    args.scenario = None if args.scenario is None else args.scenario[0]
    for flag, value in (("--env", args.env), ("--max-patients", args.max_patients)):
        if value is None:
            raise ValueError(f"{flag} is required with --arm")
    for name, value in VIRTUAL_TRIAL_DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return _virtual_trial(args, make_policy)


def _virtual_trial(args: argparse.Namespace, make_policy: Callable[..., Any]) -> int:
    """Simulate the endpoint pool, the trials as simulated and under the null; write, print."""
    from pkgym.scale.trials import simulate_endpoint_pool_sharded, simulate_virtual_trials_sharded
    from pkgym.trials.virtual_trial_report import null_pool, write_virtual_trial_report

    design, core = _virtual_trial_design(args)
    if args.n_patients < args.max_patients:
        raise ValueError(f"--n-patients must be >= --max-patients ({args.max_patients}), got "
                         f"{args.n_patients}")
    if args.n_trials < 2:
        raise ValueError(f"--n-trials must be >= 2, got {args.n_trials}")
    for spec in design.arms:  # refuse a bad spec before any shard runs
        make_policy(spec, core, env_id=args.env, scenario=args.scenario)
    pool = simulate_endpoint_pool_sharded(args.env, design.arms, design.endpoint, args.n_patients,
                                          args.seed, make_policy=make_policy,
                                          scenario=args.scenario, **scale_options(args))
    simulated, null = (simulate_virtual_trials_sharded(design, source, args.n_trials, args.seed,
                                                       desc=f"trials ({name})",
                                                       **scale_options(args))
                       for name, source in (("as simulated", pool), ("null", null_pool(pool))))
    title = (f"{' vs '.join(design.arms)} on {args.env}: {design.endpoint}, N max "
             f"{design.max_patients}, {args.looks} looks, {design.allocation} allocation "
             f"(pool {args.n_patients}, seed {args.seed})")
    markdown, written = write_virtual_trial_report(design, simulated, null, title, args.out)
    print(markdown, end="")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _virtual_trial_design(args: argparse.Namespace):  # noqa: ANN202
    """The design the flags describe, and the env's core (to build the policies)."""
    import gymnasium as gym

    from pkgym.envs.base import DosingVectorEnv
    from pkgym.evaluation.outcomes import outcome_spec
    from pkgym.trials.virtual_trial import VirtualTrialDesign

    specs = tuple(spec.strip() for spec in args.arms)
    if len(specs) < 2 or not all(specs):
        raise ValueError(f"--arm must be given >= 2 times (policy specs, control first), "
                         f"got {list(args.arms)!r}")
    if args.looks < 1:
        raise ValueError(f"--looks must be >= 1, got {args.looks}")
    env_kwargs = {} if args.scenario is None else {"scenario": str(args.scenario)}
    vec = gym.make_vec(args.env, num_envs=1, vectorization_mode="vector_entry_point",
                       **env_kwargs)  # type: ignore[arg-type]
    core = cast(DosingVectorEnv, vec.unwrapped).core
    vec.close()
    endpoint = args.endpoint or next(iter(outcome_spec(core).scores))
    design = VirtualTrialDesign(
        env_id=args.env, arms=specs, endpoint=endpoint, max_patients=args.max_patients,
        fractions=tuple((k + 1) / args.looks for k in range(args.looks)), alpha=args.alpha,
        alternative=args.alternative, spending=args.spending, allocation=args.allocation,
        futility_z=args.futility_z)
    return design, core


def _phase_one_trial(args: argparse.Namespace, make_design: Callable[[str, Any], Any]) -> int:
    """Operating characteristics of phase I designs under dose-finding scenarios, and tables.

    One design under one scenario writes the per-dose report (operating_characteristics.csv/
    .md, selection.png); more write one table over every (scenario, design) pair (oc_table).
    """
    from pkgym.trials.oc_table import load_scenario_list

    scenarios = load_scenario_list(args.scenario)
    designs = [spec.strip() for spec in args.design]
    repeated = sorted({spec for spec in designs if designs.count(spec) > 1})
    if repeated or not all(designs):
        raise ValueError(f"--design: specs must be distinct and non-empty, got {args.design!r}")
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
