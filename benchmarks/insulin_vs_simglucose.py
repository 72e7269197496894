# lines: ~450 - one benchmark, three comparisons (traces, basal-bolus TIR, throughput) + its report
"""pkgym's UVA/Padova model against simglucose 0.2.11, patient for patient (issue 26).

    python -m benchmarks.insulin_vs_simglucose --out OUT              # ~10 min with the venv
    python -m benchmarks.insulin_vs_simglucose --out OUT --committed  # committed files only, ~1 min

Writes ``OUT/traces.csv``, ``OUT/tir.csv``, ``OUT/throughput.csv`` and ``OUT/report.md``.
simglucose runs in its own venv (``bash benchmarks/simglucose/setup_venv.sh``), always in a
subprocess through ``benchmarks/simglucose/reference.py``; without that venv (or with
``--committed``) the benchmark compares against the committed files in
``benchmarks/simglucose/reference/`` and reports no simglucose throughput.

1. **Open-loop traces** (all 30 shipped patients, 24 h): the meals of ``scenario.json`` (eaten
   at 5 g/min, simglucose's meal memory) and the insulin of ``insulin.json`` (basal ``u2ss *
   BW / 6000`` U/min plus ``grams / CR`` units as a 1-min rate at each meal), minute by minute
   through :func:`pkgym.models.glucose_uva_padova.advance` (RK4, 2 substeps per minute), against
   simglucose's ``T1DPatient`` (dopri5 per minute). Per patient: the largest relative error of
   plasma glucose ``Gp/Vg`` and of ``Gsub = Gs/Vg`` over minutes 0-1440. With the venv each
   minute is compared; the committed fallback holds the 30 patients on a 5-min grid
   (``traces30_5min.csv.gz``) and the 3 reference patients per minute (``traces_24h.csv``).
2. **Basal-bolus time in range** (70-180 mg/dL on the 480 3-min samples of Gsub after t = 0,
   simglucose's ``BG``): simglucose's ``T1DSimEnv`` + ``BBController`` (Dexcom 3-min CGM,
   Insulet pump) against :func:`basal_bolus_loop`, the same loop written on pkgym's model: the
   3-min step of ``T1DSimEnv`` (insulin held for 3 one-minute steps; returned BG and CGM are
   means over the 3 minutes; the CGM is sampled every 3 min and held in between), the pump's
   rounding (:func:`pkgym.models.glucose_sensor.simglucose_pump_u_per_min`) and
   ``BBController``'s rule, re-written from its docstring: basal ``u2ss * BW / 6000`` U/min; in
   the step after a meal is announced, a bolus of ``meal * 3 / CR + (CGM > 150) (CGM - 140) /
   CF`` units given as a rate over that 3-min step. (a) Noise-free in both (simglucose: its CGM
   noise generator swapped for zeros, ``reference.py bb-tir --cgm-noise off``); (b) with CGM
   noise: simglucose's Dexcom noise (``RandomState``, seeds 1-5) against pkgym's Breton &
   Kovatchev sensor (:mod:`pkgym.models.glucose_sensor`, seeds 1-5); the streams cannot be
   the same, so only the mean over patients and seeds is compared.
3. **Throughput**: simglucose's gymnasium env steps/s (one patient, one core; ``reference.py
   throughput``) against pkgym's batched ``advance`` in the same unit, 3-min patient-steps/s
   (and patient-minutes/s), at 1, 1 000 and 10 000 patients (numba threads: all cores), and,
   where ``pkgym/Insulin-v0`` is registered, its single env and its native vector env.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from pkgym.models.glucose_sensor import (
    CgmSensorParameters,
    PumpParameters,
    cgm_noise_streams,
    cgm_sensor,
    initial_noise_latent,
    insulin_pump,
    measure_cgm,
    sample_cgm_noise,
    simglucose_pump_u_per_min,
)
from pkgym.models.glucose_uva_padova import (
    UvaPadovaPatients,
    advance,
    initial_meal_memory,
    meal_intake,
    uva_padova_patients,
)

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / "benchmarks" / "simglucose" / "reference.py"
REFERENCE = ROOT / "benchmarks" / "simglucose" / "reference"
VENV_PYTHON = ROOT / ".venv-simglucose" / "bin" / "python"
SETUP_HINT = "bash benchmarks/simglucose/setup_venv.sh   # creates .venv-simglucose (~25 s)"
SEEDS = (1, 2, 3, 4, 5)
"""CGM noise seeds of the noisy basal-bolus comparison (simglucose's and pkgym's)."""
TARGET_MG_PER_DL = 140.0
"""BBController's default target glucose (``BBController(target=140)``)."""
CORRECTION_ABOVE_MG_PER_DL = 150.0
"""BBController corrects only when the CGM reads above this, mg/dL."""
SIZES = (1, 1_000, 10_000)
STEP_MIN = 3
"""The compared step: simglucose's env step with the Dexcom sensor, min."""


def reference_inputs(patients: UvaPadovaPatients, meals: list, spec: dict,
                     minutes: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-minute insulin (U/min) and eaten carbs (g/min), (n, minutes), as ``reference.py``.

    Args:
        patients: the n patients.
        meals: ``[[minute, grams], ...]`` announced meals.
        spec: ``insulin.json``: ``basal_u_per_min`` (``"u2ss"`` or U/min), ``boluses``
            (``[[minute, U]]``) and ``meal_boluses`` (``"carbs/CR"`` or null).
        minutes: length, min.
    """
    n = patients.n_patients
    basal = spec.get("basal_u_per_min", "u2ss")
    insulin = np.zeros((n, minutes)) + (
        patients.basal_insulin_u_per_min[:, None] if basal == "u2ss" else float(basal))
    for minute, units in spec.get("boluses", []):
        insulin[:, int(minute)] += float(units)
    if spec.get("meal_boluses") not in (None, "carbs/CR"):
        raise ValueError(f"meal_boluses: {spec['meal_boluses']!r}; allowed 'carbs/CR' or null")
    announced = np.zeros((n, minutes))
    for minute, grams in meals:
        announced[:, int(minute)] += float(grams)
        if spec.get("meal_boluses") == "carbs/CR":
            insulin[:, int(minute)] += float(grams) / patients.carb_ratio_g_per_u
    carbs, _ = meal_intake(announced, np.zeros(n))
    return insulin, carbs


def pkgym_traces(patients: UvaPadovaPatients, insulin: np.ndarray, carbs: np.ndarray,
                 substeps: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Plasma glucose and Gsub (mg/dL) at minutes 0 ... m, each (n, m + 1), one minute a call."""
    x, memory = patients.initial_states.copy(), initial_meal_memory(patients.initial_states)
    vg = patients.column("Vg")
    states = [x]
    for minute in range(insulin.shape[1]):
        x, memory, _ = advance(x, patients, insulin[:, minute], carbs[:, minute], 1, memory,
                               substeps=substeps)
        states.append(x)
    stacked = np.stack(states, axis=1)  # (n, m + 1, 13)
    return stacked[:, :, 3] / vg[:, None], stacked[:, :, 12] / vg[:, None]


def trace_errors(reference: pd.DataFrame, meals: list, spec: dict,
                 fine_substeps: int = 32) -> pd.DataFrame:
    """Per patient: max relative error (%) of plasma BG and Gsub at the reference's minutes.

    ``max_rel_err_bg_pct_rk4_fine`` repeats the BG comparison with ``fine_substeps`` RK4 steps
    per minute (0: skip), which separates pkgym's integration error from everything else.
    """
    names = list(dict.fromkeys(reference.patient))
    patients = uva_padova_patients(names)
    minutes = int(reference.minute.max())
    inputs = reference_inputs(patients, meals, spec, minutes)
    bg, gsub = pkgym_traces(patients, *inputs)
    fine = pkgym_traces(patients, *inputs, substeps=fine_substeps)[0] if fine_substeps else bg
    rows = []
    for i, name in enumerate(names):
        one = reference[reference.patient == name]
        at = one.minute.to_numpy(dtype=int)
        err_bg = np.abs(bg[i, at] / one.bg_mg_dl.to_numpy() - 1.0) * 100
        err_gs = np.abs(gsub[i, at] / one.gsub_mg_dl.to_numpy() - 1.0) * 100
        rows.append({
            "patient": name, "minutes_compared": len(at),
            "max_rel_err_bg_pct": err_bg.max(), "minute_of_max_bg": int(at[err_bg.argmax()]),
            "max_rel_err_gsub_pct": err_gs.max(), "minute_of_max_gsub": int(at[err_gs.argmax()]),
            "median_rel_err_bg_pct": float(np.median(err_bg)),
            "max_rel_err_bg_pct_rk4_fine": float(np.max(np.abs(
                fine[i, at] / one.bg_mg_dl.to_numpy() - 1.0)) * 100) if fine_substeps else np.nan,
            "simglucose_bg_range_mg_dl": f"{one.bg_mg_dl.min():.1f}-{one.bg_mg_dl.max():.1f}",
        })
    return pd.DataFrame(rows)


def _bolus_u(meal_g_per_min: np.ndarray, cgm: np.ndarray, patients: UvaPadovaPatients,
             sample_min: float) -> np.ndarray:
    """BBController's bolus, U: carbs over CR plus a correction above 150 mg/dL, at a meal."""
    correction = (cgm > CORRECTION_ABOVE_MG_PER_DL) * (cgm - TARGET_MG_PER_DL)
    bolus = (meal_g_per_min * sample_min / patients.carb_ratio_g_per_u
             + correction / patients.correction_factor_mg_per_dl_per_u)
    return np.where(meal_g_per_min > 0, bolus, 0.0)


def basal_bolus_loop(patients: UvaPadovaPatients, meals: list, steps: int,
                     noise: np.ndarray | None = None, sensor: CgmSensorParameters | None = None,
                     pump: PumpParameters | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The loop of simglucose's ``T1DSimEnv`` + ``BBController`` on pkgym's model (see above).

    Args:
        patients: the n patients.
        meals: ``[[minute, grams], ...]``; minutes on the sensor's grid.
        steps: env steps (of the sensor's sample time, 3 min for Dexcom).
        noise: (n, steps + 1) CGM errors, mg/dL, at t = 0 and after each step; None: none.
        sensor: CGM timing and range (default Dexcom).
        pump: insulin rounding and limits, simglucose's arithmetic (default Insulet).

    Returns:
        ``(bg (n, steps + 1), cgm (n, steps + 1))``: the env's BG (mean Gsub over each step,
        Gsub(0) first) and its CGM observation (mean of the held readings), mg/dL.
    """
    sensor, pump = sensor or cgm_sensor("Dexcom"), pump or insulin_pump("Insulet")
    n, sample = patients.n_patients, int(sensor.sample_time_min)
    noise = np.zeros((n, steps + 1)) if noise is None else noise
    announced = np.zeros((n, steps * sample))
    for minute, grams in meals:
        announced[:, int(minute)] += float(grams)
    carbs, _ = meal_intake(announced, np.zeros(n))
    meal_info = announced.reshape(n, steps, sample).sum(axis=2) / sample  # info["meal"], g/min
    x, memory = patients.initial_states.copy(), initial_meal_memory(patients.initial_states)
    vg = patients.column("Vg")
    basal = simglucose_pump_u_per_min(patients.basal_insulin_u_per_min, pump, "basal")
    bg, cgm = np.empty((n, steps + 1)), np.empty((n, steps + 1))
    bg[:, 0] = x[:, 12] / vg
    held = measure_cgm(bg[:, 0], noise[:, 0], sensor)
    cgm[:, 0], meal = held, np.zeros(n)
    for k in range(steps):
        bolus = _bolus_u(meal, cgm[:, k], patients, sample) / sample
        rate = basal + simglucose_pump_u_per_min(bolus, pump, "bolus")
        gsub = np.zeros(n)
        for j in range(sample):
            x, memory, _ = advance(x, patients, rate, carbs[:, k * sample + j], 1, memory)
            gsub += x[:, 12] / vg / sample
        reading = measure_cgm(x[:, 12] / vg, noise[:, k + 1], sensor)
        bg[:, k + 1], cgm[:, k + 1] = gsub, ((sample - 1) * held + reading) / sample
        held, meal = reading, meal_info[:, k]
    return bg, cgm


def pkgym_noise(n_patients: int, steps: int, seed: int) -> np.ndarray:
    """The pkgym Dexcom errors for patients 0..n-1 (one stream each), (n, steps + 1), mg/dL."""
    sensor, rngs = cgm_sensor("Dexcom"), cgm_noise_streams(seed, n_patients)
    noise, _ = sample_cgm_noise(sensor, rngs, initial_noise_latent(sensor, rngs), steps + 1)
    return noise


def tir_pct(bg: np.ndarray) -> np.ndarray:
    """Time in 70-180 mg/dL over the samples after t = 0, %, per row."""
    samples = bg[:, 1:]
    return 100.0 * np.mean((samples >= 70.0) & (samples <= 180.0), axis=1)


def pkgym_tir(names: Sequence[str], meals: list, steps: int,
              seeds: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TIR (%): noise-free (n,), with noise (n_seeds, n); and noise-free mean BG (n,)."""
    patients = uva_padova_patients(list(names))
    n = patients.n_patients
    bg, _ = basal_bolus_loop(patients, meals, steps)
    tiled = patients.take(np.tile(np.arange(n), len(seeds)))
    noise = np.concatenate([pkgym_noise(n, steps, s) for s in seeds])
    noisy, _ = basal_bolus_loop(tiled, meals, steps, noise=noise)
    return tir_pct(bg), tir_pct(noisy).reshape(len(seeds), n), bg[:, 1:].mean(axis=1)


def tir_comparison(noise_free: pd.DataFrame, noisy: pd.DataFrame, meals: list) -> pd.DataFrame:
    """Per patient: simglucose's and pkgym's TIR (noise-free; mean over seeds with noise)."""
    names = list(noise_free.patient)
    seeds = sorted(noisy.cgm_seed.unique())
    steps = int(noise_free.n_samples.iloc[0])
    pk_nf, pk_noisy, pk_mean_bg = pkgym_tir(names, meals, steps, seeds)
    sg_noisy = noisy.pivot(index="patient", columns="cgm_seed", values="tir_70_180_pct")
    table = pd.DataFrame({
        "patient": names,
        "simglucose_tir_noise_free_pct": noise_free.tir_70_180_pct.to_numpy(),
        "pkgym_tir_noise_free_pct": pk_nf,
        "simglucose_mean_bg_noise_free": noise_free.mean_bg_mg_dl.to_numpy(),
        "pkgym_mean_bg_noise_free": pk_mean_bg,
        "simglucose_tir_noisy_mean_pct": sg_noisy.loc[names].mean(axis=1).to_numpy(),
        "pkgym_tir_noisy_mean_pct": pk_noisy.mean(axis=0),
        "n_seeds": len(seeds),
    })
    table["diff_noise_free_points"] = (table.pkgym_tir_noise_free_pct
                                       - table.simglucose_tir_noise_free_pct)
    table["diff_noisy_points"] = (table.pkgym_tir_noisy_mean_pct
                                  - table.simglucose_tir_noisy_mean_pct)
    return table


def model_steps_per_s(n_patients: int, min_seconds: float = 1.0) -> float:
    """Patient-steps/s of ``advance`` over 3-min steps, n patients (the 30 tiled), basal only."""
    patients = uva_padova_patients().take(np.arange(n_patients) % 30)
    x, memory = patients.initial_states.copy(), initial_meal_memory(patients.initial_states)
    insulin = np.repeat(patients.basal_insulin_u_per_min[:, None], STEP_MIN, axis=1)
    carbs = np.zeros((n_patients, STEP_MIN))
    carbs[:, 0] = 5.0  # a meal in every step: the gastric emptying branch is timed too
    advance(x, patients, insulin, carbs, STEP_MIN, memory)  # compile
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < min_seconds or steps < 3:
        x, memory, _ = advance(x, patients, insulin, carbs, STEP_MIN, memory)
        steps += 1
    return n_patients * steps / (time.perf_counter() - start)


def _env_scenario(env: object) -> object:
    """The env's scenario (``core.settings.scenario``), or None where it has no such path."""
    core = getattr(getattr(env, "unwrapped", env), "core", None)
    return getattr(getattr(core, "settings", None), "scenario", None)


def env_steps_per_s(n_envs: int | None, min_seconds: float = 1.0) -> dict | None:
    """pkgym/Insulin-v0: single env (``None``) or native vector env, patient-steps/s.

    Returns None where the env is not registered, else ``{"steps_per_s", "step_min",
    "model"}`` (step length and model read from the env's scenario where it exposes them).
    """
    import gymnasium as gym

    import pkgym  # noqa: F401  (registers the envs)

    env_id = "pkgym/Insulin-v0"
    if env_id not in gym.registry:
        return None
    env = (gym.make(env_id) if n_envs is None else
           gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="vector_entry_point"))
    env.reset(seed=0)
    env.action_space.seed(0)
    action = env.action_space.sample()
    env.step(action)  # compile before timing
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < min_seconds or steps < 3:
        _, _, terminated, truncated, _ = env.step(action)
        if n_envs is None and (terminated or truncated):
            env.reset()  # the vector env resets its patients itself
        steps += 1
    rate = (n_envs or 1) * steps / (time.perf_counter() - start)
    scenario = _env_scenario(env)
    env.close()
    return {"steps_per_s": rate, "step_min": float(getattr(scenario, "step_minutes", np.nan)),
            "model": str(getattr(scenario, "model", "?"))}


def run_harness(*args: str, timeout: float = 1800.0) -> str:
    """Run ``reference.py`` in the simglucose venv; its stdout."""
    done = subprocess.run([str(VENV_PYTHON), str(HARNESS), *args], capture_output=True,
                          text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"reference.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def fresh_simglucose(work: Path, seeds: Sequence[int]) -> dict[str, pd.DataFrame]:
    """Run simglucose now: 30 traces, noise-free and noisy basal-bolus tables (in ``work``)."""
    work.mkdir(parents=True, exist_ok=True)
    run_harness("traces", "--patients", "all", "--hours", "24", "--out", str(work / "traces.csv"))
    run_harness("bb-tir", "--patients", "all", "--cgm-noise", "off",
                "--out", str(work / "bb_noise_free.csv"))
    noisy = []
    for seed in seeds:
        out = work / f"bb_seed{seed}.csv"
        run_harness("bb-tir", "--patients", "all", "--cgm-seed", str(seed), "--out", str(out))
        noisy.append(pd.read_csv(out).assign(cgm_seed=seed))
    traces = pd.read_csv(work / "traces.csv")[["patient", "minute", "bg_mg_dl", "gsub_mg_dl"]]
    return {"traces": traces, "bb_noise_free": pd.read_csv(work / "bb_noise_free.csv"),
            "bb_noisy": pd.concat(noisy, ignore_index=True)}


def committed_simglucose() -> dict[str, pd.DataFrame]:
    """The committed files: 3 patients per minute, the other 27 on a 5-min grid, BB tables."""
    per_minute = pd.read_csv(REFERENCE / "traces_24h.csv")
    per_minute = per_minute[["patient", "minute", "bg_mg_dl", "gsub_mg_dl"]]
    grid = pd.read_csv(REFERENCE / "traces30_5min.csv.gz")
    traces = pd.concat([per_minute, grid[~grid.patient.isin(per_minute.patient)]])
    return {"traces": traces.reset_index(drop=True),
            "bb_noise_free": pd.read_csv(REFERENCE / "bb_tir_24h_noise_free.csv"),
            "bb_noisy": pd.read_csv(REFERENCE / "bb_tir_24h_seeds.csv")}


def update_reference(fresh: dict[str, pd.DataFrame]) -> None:
    """Rewrite the compact committed comparison files from a fresh simglucose run."""
    grid = fresh["traces"][fresh["traces"].minute % 5 == 0]
    grid.to_csv(REFERENCE / "traces30_5min.csv.gz", index=False, float_format="%.7g",
                compression={"method": "gzip", "mtime": 0})
    fresh["bb_noise_free"].to_csv(REFERENCE / "bb_tir_24h_noise_free.csv", index=False,
                                  float_format="%.9g")
    fresh["bb_noisy"].to_csv(REFERENCE / "bb_tir_24h_seeds.csv", index=False, float_format="%.9g")


def loadavg() -> str:
    """``/proc/loadavg`` and the core count."""
    try:
        text = Path("/proc/loadavg").read_text().strip()
    except OSError:
        text = "n/a"
    return f"loadavg {text}; cores {os.cpu_count()}"


def throughput_table(with_simglucose: bool) -> pd.DataFrame:
    """Steps/s of simglucose's env (if run) and of pkgym's model and env, in 3-min steps."""
    rows: list[dict] = []
    if with_simglucose:
        out = run_harness("throughput", "--patients", "1", "--minutes", "1440")
        sg = json.loads(out[out.index("{"): out.rindex("}") + 1])
        rows.append({"what": "simglucose T1DSimGymnaisumEnv (1 patient, 1 core)", "n": 1,
                     "step_min": sg["env_sample_min"], "steps_per_s": sg["env_steps_per_s"]})
        rows.append({"what": "simglucose T1DSimEnv + BBController", "n": 1, "step_min": 3.0,
                     "steps_per_s": sg["bb_loop_steps_per_s"]})
    for n in SIZES:
        rows.append({"what": "pkgym advance (batched, numba threads)", "n": n,
                     "step_min": float(STEP_MIN), "steps_per_s": model_steps_per_s(n)})
    for n in (None, *SIZES[1:]):
        env = env_steps_per_s(n)
        if env is not None:
            kind = "single env" if n is None else "make_vec vector_entry_point"
            rows.append({"what": f"pkgym/Insulin-v0 {kind} ({env['model']})", "n": n or 1,
                         "step_min": env["step_min"], "steps_per_s": env["steps_per_s"]})
    table = pd.DataFrame(rows)
    table["patient_min_per_s"] = table.steps_per_s * table.step_min
    if with_simglucose:
        table["x_simglucose_env_patient_min"] = table.steps_per_s * table.step_min / (
            rows[0]["steps_per_s"] * rows[0]["step_min"])
    return table


def _markdown(table: pd.DataFrame, digits: int = 3) -> str:
    """A DataFrame as a GitHub markdown table (no tabulate dependency)."""
    def cell(value: object) -> str:
        return f"{value:.{digits}g}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(map(str, table.columns)) + " |",
             "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |"
              for row in table.itertuples(index=False)]
    return "\n".join(lines)


def report(traces: pd.DataFrame, tir: pd.DataFrame, throughput: pd.DataFrame,
           source: str, loads: tuple[str, str]) -> str:
    """The markdown report: summaries first, then the per-patient tables."""
    err = traces[["max_rel_err_bg_pct", "max_rel_err_gsub_pct"]]
    summary = pd.DataFrame({"statistic over patients": ["max", "median"],
                            "max rel err BG %": [err.iloc[:, 0].max(), err.iloc[:, 0].median()],
                            "max rel err Gsub %": [err.iloc[:, 1].max(), err.iloc[:, 1].median()]})
    diffs = tir[["diff_noise_free_points", "diff_noisy_points"]]
    means = tir.mean(numeric_only=True)
    tir_summary = pd.DataFrame({
        "": ["noise-free", f"CGM noise (mean of {int(means.n_seeds)} seeds)"],
        "simglucose mean TIR %": [means.simglucose_tir_noise_free_pct,
                                  means.simglucose_tir_noisy_mean_pct],
        "pkgym mean TIR %": [means.pkgym_tir_noise_free_pct, means.pkgym_tir_noisy_mean_pct],
        "mean diff (points)": [diffs.iloc[:, 0].mean(), diffs.iloc[:, 1].mean()],
        "max abs diff per patient": [diffs.iloc[:, 0].abs().max(), diffs.iloc[:, 1].abs().max()],
    })
    return "\n\n".join([
        "# pkgym UVA/Padova vs simglucose 0.2.11", f"simglucose side: {source}.",
        "## 1. Open-loop traces, 24 h, 30 patients (target < 1 %)", _markdown(summary),
        _markdown(traces, 4),
        "## 2. Basal-bolus time in range 70-180 (target within 2 points)", _markdown(tir_summary),
        _markdown(tir, 4),
        "## 3. Throughput (patient-steps/s of each row's step; patient-min/s = steps/s x step_min; "
            "the ratio is on patient-min/s against simglucose's gymnasium env, 1 core)",
        f"Load before: `{loads[0]}`; after: `{loads[1]}` (other jobs share the machine).",
        _markdown(throughput, 4), ""])


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point (module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--committed", action="store_true",
                        help="compare against the committed reference files only")
    parser.add_argument("--update-reference", action="store_true",
                        help="rewrite the compact committed files from the fresh run")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    args = parser.parse_args(argv)
    fresh = not args.committed and VENV_PYTHON.exists()
    if not fresh and not args.committed:
        print(f"no .venv-simglucose: comparing against committed files. To create it:\n"
              f"    {SETUP_HINT}", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    loads = [loadavg()]
    print(loads[0], flush=True)
    sg = fresh_simglucose(args.out / "simglucose", args.seeds) if fresh else committed_simglucose()
    if fresh and args.update_reference:
        update_reference(sg)
    meals = json.loads((REFERENCE / "scenario.json").read_text())
    spec = json.loads((REFERENCE / "insulin.json").read_text())
    traces = trace_errors(sg["traces"], meals, spec)
    tir = tir_comparison(sg["bb_noise_free"], sg["bb_noisy"], meals)
    throughput = throughput_table(fresh)
    loads.append(loadavg())
    print(loads[1], flush=True)
    source = ("simglucose 0.2.11 run now (.venv-simglucose)" if fresh else
              "committed files in benchmarks/simglucose/reference/ (30 traces on a 5-min grid, "
              "3 per minute; no simglucose throughput)")
    traces.to_csv(args.out / "traces.csv", index=False)
    tir.to_csv(args.out / "tir.csv", index=False)
    throughput.to_csv(args.out / "throughput.csv", index=False)
    text = report(traces, tir, throughput, source, (loads[0], loads[1]))
    (args.out / "report.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
