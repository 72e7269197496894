"""``pkgym trial``: phase I designs' operating characteristics, or a virtual trial."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, cast

from pkgym.commands.evaluate import add_scale_options, check_scale_options, scale_options
from pkgym.grammar import comma_list, deprecated


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
                      help="phase I design (repeat it to compare designs): 3+3, a+b, 3+3+3, "
                      "a+b+c, crm, boin, thompson, tite_crm, with options as "
                      "name:key=value[,key=value]: "
                      "3+3:deescalation=1; a+b:a=,b=,c=,d=,e=,deescalation= "
                      "(Lin & Shih 2001); 3+3+3:deescalation=,expand_top= (Hansen et al. 2014); "
                      "a+b+c:a=,b=,c=,escalate_a=,fail_a=,escalate_ab=,fail_ab=,escalate_abc=,"
                      "deescalation=; crm:model=power|logistic|blrm,coherence=0|1,skip=,"
                      "max_step=,half_width=,prior_mtd=,estimate=,ewoc=,... (CRM family, "
                      "EWOC with blrm); BOIN with the R package's options (keys "
                      "n_earlystop, extrasafe, offset, bound_mtd, elimination_cutoff, "
                      "mtd_selection=r_package|count_weighted, stay_on_1_of_3; e.g. "
                      "boin:extrasafe=1,offset=0.1,n_earlystop=9); tite_crm:window=28,"
                      "accrual=fixed|poisson,rate=,scheme=linear|adaptive,restrict=,skeleton="
                      "a/b/c (time-to-event CRM, staggered entry); boin12:phi_e=,u2=,u3=,"
                      "n_star=,n_explore=,c_t=,c_e=,n_earlystop= (phase I/II, Lin et al. 2020, "
                      "on efficacy-toxicity scenarios: phase12_oc_table.csv/.md); or a "
                      "learned one: a "
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
        from pkgym.commands.trial_phase_one import phase_one_trial

        return phase_one_trial(args, make_design)
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
