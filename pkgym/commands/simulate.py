"""``pkgym simulate``: concentration-time profiles of a cohort under a regimen (and INR)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pkgym.commands.simulate_profiles import (
    Regimen,
    fixed_covariates,
    output_times,
    parse_assignments,
    simulate_profiles,
)
from pkgym.commands.simulate_warfarin import (
    DailyRegimen,
    parse_warfarin_covariates,
    plot_inr,
    simulate_warfarin,
    warfarin_cohort,
    warfarin_setting,
)
from pkgym.grammar import deprecated
from pkgym.io import write_atomic, write_table
from pkgym.models.catalogue import MODEL_NAMES, cohort_model


def add_simulate(commands: argparse._SubParsersAction) -> None:
    """The ``simulate`` subcommand: a cohort's profiles under a regimen."""
    sim = commands.add_parser(
        "simulate", help="concentration-time profiles (warfarin: INR courses) of a typical "
                         "patient or a virtual cohort",
        description="Simulate a regimen; write a CSV/Parquet table or a PNG with percentile bands "
                    "(warfarin: one row per patient per morning, INR and S-warfarin).")
    sim.add_argument("model", choices=(*MODEL_NAMES, "warfarin"), help="model name")
    sim.add_argument("--param", action="append", metavar="NAME=VALUE",
                     help="model parameter, e.g. CL=4.5 (L/h), V1=30 (L); repeatable")
    sim.add_argument("--dose", type=float, help="dose, mg (default 1000; warfarin 5, racemic)")
    sim.add_argument("--every", type=float,
                     help="dosing interval, h (default 12; warfarin: 24, the only value)")
    sim.add_argument("--n-doses", type=int,
                     help="number of doses (default 14; warfarin: days, default 30)")
    sim.add_argument("--infusion-hours", type=float,
                     help="infusion duration, h (0 = bolus; default 0)")
    sim.add_argument("--route", choices=("iv", "oral"),
                     help="route (default iv; warfarin: oral, the only value)")
    sim.add_argument("--covariate", action="append", metavar="NAME=VALUE",
                     help="fix a covariate for every patient, e.g. weight_kg=80 or, for "
                          "warfarin, cyp2c9=*1/*3, vkorc1=G/A, age_years=72; repeatable")
    who = sim.add_mutually_exclusive_group()
    who.add_argument("--typical", action="store_true",
                     help="the typical patient (default; warfarin: 60 y, CYP2C9 *1/*1, "
                          "VKORC1 G/G)")
    who.add_argument("--n-patients", type=int, help="number of virtual patients to sample")
    who.add_argument("--n", dest="n_patients", type=int, action=deprecated("--n-patients"),
                     help=argparse.SUPPRESS)
    sim.add_argument("--seed", type=int, default=0, help="cohort seed (default 0)")
    sim.add_argument("--until", type=float,
                     help="last output time, h (default 168; not for warfarin)")
    sim.add_argument("--step", type=float, help="output step, h (default 1; not for warfarin)")
    sim.add_argument("--scenario", type=Path,
                     help="scenario YAML (vancomycin, warfarin): population and model parameters")
    sim.add_argument("--out", type=Path, required=True, help="output .csv, .parquet or .png")
    sim.set_defaults(func=_simulate)


PK_DEFAULTS = {"dose": 1000.0, "every": 12.0, "n_doses": 14, "infusion_hours": 0.0,
               "route": "iv", "until": 168.0, "step": 1.0}
"""Defaults of the concentration models' regimen options (warfarin has its own)."""


def _simulate(args: argparse.Namespace) -> int:
    if args.model == "warfarin":
        return _simulate_warfarin(args)
    for name, value in PK_DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    model = _model(args)
    cohort = model.typical_cohort() if args.n_patients is None else \
        model.sample_cohort(args.n_patients, args.seed)
    cohort = fixed_covariates(cohort, parse_assignments(args.covariate, "--covariate"))
    regimen = Regimen(dose_mg=args.dose, every_h=args.every, n_doses=args.n_doses,
                      infusion_h=args.infusion_hours, route=args.route)
    times = output_times(args.until, args.step)
    table = simulate_profiles(cohort, model.to_params, regimen, times)
    if args.out.suffix.lower() == ".png":
        _write_plot(table, args, len(cohort))
    else:
        write_table(table, args.out)
    print(f"wrote {args.out} ({len(cohort)} patient(s), {len(times)} times)")
    return 0


def _model(args: argparse.Namespace):  # noqa: ANN202
    """The named model, or the drug model of a scenario file."""
    if args.scenario is None:
        return cohort_model(args.model, parse_assignments(args.param, "--param"))
    if args.model != "vancomycin":
        raise ValueError(f"--scenario applies to drug models (vancomycin, warfarin), not "
                         f"{args.model}")
    from pkgym.envs.vancomycin.clinic import POPULATIONS, resolve_scenario
    from pkgym.envs.vancomycin.env import ENV_ID
    from pkgym.models.catalogue import vancomycin_model

    scenario = resolve_scenario(args.scenario, ENV_ID)
    return vancomycin_model(scenario.truth, POPULATIONS[scenario.population])


def _write_plot(table, args: argparse.Namespace, n: int) -> None:  # noqa: ANN001
    from pkgym.evaluation.plots import plot_profiles

    values = table["conc_mg_per_l"].to_numpy().reshape(n, -1)
    who = "typical patient" if n == 1 else f"{n} virtual patients, seed {args.seed}"
    fig = plot_profiles(table["time_h"].to_numpy()[: values.shape[1]], values,
                        ylabel="concentration (mg/L)",
                        title=f"{args.model}: {args.dose:g} mg every {args.every:g} h ({who})")
    write_atomic(args.out, lambda tmp: fig.savefig(tmp, format="png"))


def _simulate_warfarin(args: argparse.Namespace) -> int:
    """Daily doses of warfarin; one row per patient per morning (``simulate_warfarin``)."""
    _check_warfarin_options(args)
    setting = warfarin_setting(args.scenario)
    regimen = DailyRegimen(dose_mg=5.0 if args.dose is None else args.dose,
                           n_days=30 if args.n_doses is None else args.n_doses)
    cohort = warfarin_cohort(setting.model, n=args.n_patients, seed=args.seed,
                             population=setting.population,
                             covariates=parse_warfarin_covariates(args.covariate))
    table = simulate_warfarin(cohort, setting.model, regimen)
    if args.out.suffix.lower() == ".png":
        who = "typical patient" if args.n_patients is None else \
            f"{args.n_patients} patients, seed {args.seed}"
        fig = plot_inr(table, target_inr=setting.target_inr,
                       title=f"warfarin: {regimen.dose_mg:g} mg daily ({who})")
        write_atomic(args.out, lambda tmp: fig.savefig(tmp, format="png"))
    else:
        write_table(table, args.out)
    print(f"wrote {args.out} ({len(cohort)} patient(s), {regimen.n_days + 1} mornings)")
    return 0


def _check_warfarin_options(args: argparse.Namespace) -> None:
    """Reject the options that do not apply to once-daily oral warfarin."""
    if args.param:
        raise ValueError("--param does not apply to warfarin; change the Hamberg parameters "
                         "in a scenario file (--scenario)")
    if args.every not in (None, 24.0):
        raise ValueError(f"--every must be 24 for warfarin (one dose each morning), got "
                         f"{args.every:g}")
    if args.route not in (None, "oral") or args.infusion_hours:
        raise ValueError("--route/--infusion-hours: warfarin is oral only (route 'oral', "
                         "no infusion)")
    if args.until is not None or args.step is not None:
        raise ValueError("--until/--step do not apply to warfarin (one row per morning); "
                         "set the number of days with --n-doses")
