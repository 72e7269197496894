"""simglucose 0.2.11 as a benchmark-only reference for pkgym's UVA/Padova T1D model.

Run INSIDE ``.venv-simglucose`` (``bash benchmarks/simglucose/setup_venv.sh``): simglucose
needs numpy < 2 and gym 0.9.4, so it never enters pkgym's own venv, and this file imports
simglucose only, never pkgym.

    PY=.venv-simglucose/bin/python; R=benchmarks/simglucose/reference.py
    $PY $R traces --patients adult#001 child#001 --scenario meals.json \
        --insulin insulin.json --hours 24 --out traces.csv
    $PY $R bb-tir --patients all --scenario meals.json --hours 24 --out bb_tir.csv
    $PY $R bb-tir --patients all --cgm-noise off --history bb_steps.csv --out bb_tir_nf.csv
    $PY $R throughput --patients 1 --minutes 1440
    $PY $R make-reference   # rewrites benchmarks/simglucose/reference/

Inputs:

* ``--scenario``: JSON list of ``[minute, grams]`` (minute from the start, midnight).
* ``--insulin``: JSON object ``{"basal_u_per_min": number or "u2ss", "boluses": [[minute,
  units], ...], "meal_boluses": "carbs/CR" or null}``. ``"u2ss"`` is each patient's steady
  basal ``u2ss * BW / 6000`` U/min; ``"carbs/CR"`` adds ``grams / CR`` units (Quest.csv) at
  each meal minute. A bolus of ``U`` units is a rate of ``U`` U/min held for one minute.

``traces`` steps simglucose's own ``T1DPatient`` once per minute (its scipy ``ode``
dopri5 over [t, t+1) with the inputs held), without the env's sample-time averaging. Each row
is the state at ``minute`` and the inputs applied over the minute that follows: the grams
eaten (announced meals are eaten at 5 g/min), the insulin rate (U/min), plasma glucose
``Gp/Vg``, simglucose's "BG" ``Gsub = x13/Vg`` (subcutaneous), a Dexcom CGM reading
(seeded) and the 13 states. ``bb-tir`` runs simglucose's ``T1DSimEnv`` (Dexcom 3-min
samples, Insulet pump) with its ``BBController`` through ``SimObj`` and writes time in range;
``--cgm-noise off`` replaces simglucose's CGM noise generator by zeros for the run (the
``CGMNoise`` class that ``simglucose.sensor.cgm`` instantiates is swapped for an endless stream
of 0.0 mg/dL, so the CGM reads Gsub exactly, sampled every 3 min and held between samples;
nothing else changes), and ``--history`` also writes every patient's per-step history.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import os
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import simglucose.sensor.cgm as simglucose_cgm
from simglucose.actuator.pump import InsulinPump
from simglucose.controller.basal_bolus_ctrller import CONTROL_QUEST, BBController
from simglucose.patient.t1dpatient import PATIENT_PARA_FILE, Action, T1DPatient
from simglucose.sensor.cgm import CGMSensor
from simglucose.simulation.env import T1DSimEnv
from simglucose.simulation.scenario import CustomScenario
from simglucose.simulation.sim_engine import SimObj

STATE_COLUMNS = (
    "qsto1_mg", "qsto2_mg", "qgut_mg", "gp_mg_per_kg", "gt_mg_per_kg", "ip_pmol_per_kg",
    "x_pmol_per_l", "i1_pmol_per_l", "id_pmol_per_l", "il_pmol_per_kg", "isc1_pmol_per_kg",
    "isc2_pmol_per_kg", "gs_mg_per_kg",
)  # fmt: skip
"""The 13 states of simglucose's ``T1DPatient.state`` in order (x1 ... x13)."""
SENSOR, PUMP = "Dexcom", "Insulet"
START = datetime(2018, 1, 1, 0, 0, 0)
HERE = Path(__file__).resolve().parent
STANDARD_MEALS = [[420, 50.0], [720, 70.0], [1080, 80.0]]
"""The reference scenario: 50 g at 7:00, 70 g at 12:00, 80 g at 18:00 (minutes, grams)."""
STANDARD_INSULIN = {"basal_u_per_min": "u2ss", "boluses": [], "meal_boluses": "carbs/CR"}
REFERENCE_PATIENTS = ("adult#001", "adolescent#001", "child#001")


def patient_table() -> pd.DataFrame:
    """The ``vpatient_params.csv`` of simglucose joined with ``Quest.csv`` (CR, CF), by name."""
    params = pd.read_csv(PATIENT_PARA_FILE)
    quest = pd.read_csv(CONTROL_QUEST)[["Name", "CR", "CF"]]
    return params.merge(quest, on="Name", validate="one_to_one").set_index("Name")


def patient_names(requested: Sequence[str]) -> list[str]:
    """Expand ``all`` to simglucose's 30 patients and check every name exists."""
    known = list(patient_table().index)
    names = known if list(requested) == ["all"] else list(requested)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"patients: unknown {unknown}; allowed 'all' or {known}")
    return names


def basal_u_per_min(name: str) -> float:
    """Steady-state basal ``u2ss * BW / 6000`` U/min, as simglucose's BBController uses."""
    row = patient_table().loc[name]
    return float(row.u2ss * row.BW / 6000.0)


def insulin_schedule(name: str, spec: dict, meals: list, minutes: int) -> np.ndarray:
    """Per-minute insulin rate (U/min) for one patient from an ``--insulin`` spec.

    Args:
        name: simglucose patient name.
        spec: ``{"basal_u_per_min": float | "u2ss", "boluses": [[min, U]],
            "meal_boluses": "carbs/CR" | None}``.
        meals: ``[[minute, grams], ...]``.
        minutes: length of the schedule (min).
    """
    basal = spec.get("basal_u_per_min", "u2ss")
    rate = np.full(minutes, basal_u_per_min(name) if basal == "u2ss" else float(basal))
    boluses = [list(b) for b in spec.get("boluses", [])]
    rule = spec.get("meal_boluses")
    if rule not in (None, "carbs/CR"):
        raise ValueError(f"meal_boluses: {rule!r}; allowed 'carbs/CR' or null")
    if rule == "carbs/CR":
        ratio = float(patient_table().loc[name].CR)
        boluses += [[minute, grams / ratio] for minute, grams in meals]
    for minute, units in boluses:
        if 0 <= int(minute) < minutes:
            rate[int(minute)] += float(units)  # U delivered over one minute
    return rate


def simulate_patient(name: str, meals: list, insulin: np.ndarray, cgm_seed: int) -> pd.DataFrame:
    """Step ``T1DPatient`` minute by minute; one row per minute 0 ... len(insulin)."""
    patient = T1DPatient.withName(name)
    sensor = CGMSensor.withName(SENSOR, seed=cgm_seed)
    vg = float(patient_table().loc[name].Vg)
    grams = dict((int(m), float(g)) for m, g in meals)
    rows = []
    for minute in range(len(insulin) + 1):
        state = np.array(patient.state, dtype=float)
        cgm = sensor.measure(patient)  # draws noise at t % 3 == 0, else holds
        eaten = float("nan")
        if minute < len(insulin):
            patient.step(Action(CHO=grams.get(minute, 0.0), insulin=float(insulin[minute])))
            eaten = float(patient._last_action.CHO)  # what the 5 g/min rule let through
        rate = float(insulin[minute]) if minute < len(insulin) else float("nan")
        rows.append([name, minute, eaten, rate, state[3] / vg, state[12] / vg, cgm, *state])
    columns = ["patient", "minute", "cho_eaten_g", "insulin_u_per_min", "bg_mg_dl",
               "gsub_mg_dl", "cgm_mg_dl", *STATE_COLUMNS]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def traces(
    names: Sequence[str], meals: list, spec: dict, hours: float, cgm_seed: int
) -> pd.DataFrame:
    """Per-minute open-loop traces of each patient (see :func:`simulate_patient`)."""
    minutes = int(round(hours * 60))
    frames = [
        simulate_patient(n, meals, insulin_schedule(n, spec, meals, minutes), cgm_seed)
        for n in names
    ]
    return pd.concat(frames, ignore_index=True)


@contextlib.contextmanager
def cgm_noise(enabled: bool) -> Iterator[None]:
    """With ``enabled=False``, every ``CGMSensor`` built or reset inside draws zero noise."""
    if enabled:
        yield
        return
    original = simglucose_cgm.CGMNoise
    simglucose_cgm.CGMNoise = lambda params, seed=None: itertools.repeat(0.0)
    try:
        yield
    finally:
        simglucose_cgm.CGMNoise = original


def bb_run(name: str, meals: list, hours: float, cgm_seed: int) -> pd.DataFrame:
    """The closed loop of simglucose itself: ``T1DSimEnv`` + ``BBController`` via ``SimObj``."""
    scenario = CustomScenario(START, [(timedelta(minutes=m), g) for m, g in meals])
    patient = T1DPatient.withName(name)
    env = T1DSimEnv(patient, CGMSensor.withName(SENSOR, seed=cgm_seed),
                    InsulinPump.withName(PUMP), scenario)  # fmt: skip
    sim = SimObj(env, BBController(), timedelta(hours=hours), animate=False)
    sim.simulate()
    return sim.results()


def tir_row(name: str, history: pd.DataFrame) -> dict:
    """Glycaemic summary of one ``bb_run`` history (samples after t = 0; BG is Gsub)."""
    samples = history.iloc[1:]
    bg, cgm = samples.BG.to_numpy(), samples.CGM.to_numpy()
    sample_min = (history.index[1] - history.index[0]).total_seconds() / 60.0
    row = patient_table().loc[name]
    return {
        "patient": name, "cr_g_per_u": row.CR, "cf_mg_dl_per_u": row.CF,
        "basal_u_per_min": basal_u_per_min(name), "sample_min": sample_min,
        "n_samples": len(bg), "tir_70_180_pct": 100 * np.mean((bg >= 70) & (bg <= 180)),
        "tbr_lt70_pct": 100 * np.mean(bg < 70), "tbr_lt54_pct": 100 * np.mean(bg < 54),
        "tar_gt180_pct": 100 * np.mean(bg > 180), "tar_gt250_pct": 100 * np.mean(bg > 250),
        "mean_bg_mg_dl": bg.mean(), "min_bg_mg_dl": bg.min(), "max_bg_mg_dl": bg.max(),
        "tir_cgm_70_180_pct": 100 * np.mean((cgm >= 70) & (cgm <= 180)),
        "lbgi": samples.LBGI.mean(), "hbgi": samples.HBGI.mean(), "risk": samples.Risk.mean(),
        "insulin_u": samples.insulin.sum() * sample_min, "cho_g": samples.CHO.sum() * sample_min,
    }  # fmt: skip


def bb_tir(names: Sequence[str], meals: list, hours: float, cgm_seed: int,
           noise: bool = True, history: str | None = None) -> pd.DataFrame:
    """One :func:`tir_row` per patient; ``history``: also write the per-step histories (CSV)."""
    rows, steps = [], []
    with cgm_noise(noise):
        for name in names:
            run = bb_run(name, meals, hours, cgm_seed)
            rows.append(tir_row(name, run))
            steps.append(run.reset_index(drop=True).rename_axis("step").reset_index()
                         .assign(patient=name))
    if history:
        columns = ["patient", "step", "BG", "CGM", "CHO", "insulin"]
        pd.concat(steps)[columns].to_csv(history, index=False, float_format="%.9g")
    return pd.DataFrame(rows)


def loadavg() -> str:
    """``/proc/loadavg`` and the core count, for throughput reports."""
    try:
        text = Path("/proc/loadavg").read_text().strip()
    except OSError:
        text = "n/a"
    return f"loadavg {text}; cores {os.cpu_count()}"


def throughput(n_patients: int, minutes: int) -> dict:
    """Steps/s of simglucose's gymnasium env, bare ``T1DPatient.step`` and the BB loop.

    The gymnasium env (``T1DSimGymnaisumEnv``: random meals, random initial glucose) is
    stepped with a constant basal, ``T1DPatient`` 1-min steps with the same basal, and
    ``SimObj`` runs ``T1DSimEnv`` + ``BBController`` on the standard meals; patients are the
    first ``n_patients`` of simglucose's table, one after another, on one core.
    """
    from simglucose.envs import T1DSimGymnaisumEnv  # imports gym 0.9.4 and gymnasium 0.29

    names = list(patient_table().index)[:n_patients]
    if not 1 <= n_patients <= len(names) or minutes < 3:
        raise ValueError(f"patients: {n_patients}, minutes: {minutes}; allowed 1-30 and >= 3")
    env_steps = env_s = patient_steps = patient_s = bb_steps = bb_s = 0.0
    for i, name in enumerate(names):
        env = T1DSimGymnaisumEnv(patient_name=name, seed=i)
        env.reset(seed=i)
        action = np.array([basal_u_per_min(name)], dtype=np.float32)
        n_steps = int(math.ceil(minutes / env.env.env.sample_time))
        tic = time.perf_counter()
        for _ in range(n_steps):
            if env.step(action)[2]:
                env.reset()
        env_s += time.perf_counter() - tic
        env_steps += n_steps
        patient = T1DPatient.withName(name)
        tic = time.perf_counter()
        for _ in range(minutes):
            patient.step(Action(CHO=0.0, insulin=float(action[0])))
        patient_s += time.perf_counter() - tic
        patient_steps += minutes
        tic = time.perf_counter()
        bb_steps += len(bb_run(name, STANDARD_MEALS, minutes / 60.0, cgm_seed=i)) - 1
        bb_s += time.perf_counter() - tic
    return {
        "simglucose": version("simglucose"), "patients": n_patients, "minutes": minutes,
        "env_sample_min": float(env.env.env.sample_time),
        "env_steps_per_s": env_steps / env_s, "env_sim_min_per_s": minutes * len(names) / env_s,
        "patient_1min_steps_per_s": patient_steps / patient_s,
        "bb_loop_steps_per_s": bb_steps / bb_s,
    }  # fmt: skip


def read_json(path: str | Path) -> object:
    """Load a JSON file."""
    return json.loads(Path(path).read_text())


def make_reference(out_dir: Path, cgm_seed: int) -> None:
    """Rewrite the committed reference outputs (3 traces, 30-patient BB table)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "scenario.json").write_text(json.dumps(STANDARD_MEALS) + "\n")
    (out_dir / "insulin.json").write_text(json.dumps(STANDARD_INSULIN) + "\n")
    frame = traces(REFERENCE_PATIENTS, STANDARD_MEALS, STANDARD_INSULIN, 24.0, cgm_seed)
    frame.to_csv(out_dir / "traces_24h.csv", index=False, float_format="%.7g")
    table = bb_tir(patient_names(["all"]), STANDARD_MEALS, 24.0, cgm_seed)
    table.to_csv(out_dir / "bb_tir_24h.csv", index=False, float_format="%.6g")


def parser() -> argparse.ArgumentParser:
    """The command-line interface (see the module docstring)."""
    top = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = top.add_subparsers(dest="command", required=True)
    for cmd in ("traces", "bb-tir"):
        p = sub.add_parser(cmd)
        p.add_argument("--patients", nargs="+", default=["adult#001"])
        p.add_argument("--scenario", help="JSON [[minute, grams], ...]; default: standard")
        p.add_argument("--hours", type=float, default=24.0)
        p.add_argument("--cgm-seed", type=int, default=1)
        p.add_argument("--out", required=True)
    sub.choices["bb-tir"].add_argument("--cgm-noise", choices=("on", "off"), default="on")
    sub.choices["bb-tir"].add_argument("--history", help="also write per-step histories here")
    sub.choices["traces"].add_argument("--insulin", help="JSON spec; default: u2ss + carbs/CR")
    p = sub.add_parser("throughput")
    p.add_argument("--patients", type=int, default=1)
    p.add_argument("--minutes", type=int, default=1440)
    p = sub.add_parser("make-reference")
    p.add_argument("--out-dir", type=Path, default=HERE / "reference")
    p.add_argument("--cgm-seed", type=int, default=1)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: dispatch one sub-command."""
    args = parser().parse_args(argv)
    if args.command == "throughput":
        print(loadavg())
        print(json.dumps(throughput(args.patients, args.minutes), indent=1))
        print(loadavg())
        return 0
    if args.command == "make-reference":
        make_reference(args.out_dir, args.cgm_seed)
        return 0
    meals = read_json(args.scenario) if args.scenario else STANDARD_MEALS
    names = patient_names(args.patients)
    if args.command == "traces":
        spec = read_json(args.insulin) if args.insulin else STANDARD_INSULIN
        frame = traces(names, meals, spec, args.hours, args.cgm_seed)
        frame.to_csv(args.out, index=False, float_format="%.7g")
    else:
        table = bb_tir(names, meals, args.hours, args.cgm_seed, args.cgm_noise == "on",
                       args.history)
        table.to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
