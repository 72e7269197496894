"""Chemotherapy-v0: what the integrator's tolerance buys, in speed and in accuracy.

    python -m benchmarks.chemotherapy_tolerance                      # rtol 1e-7 ... 1e-4
    python -m benchmarks.chemotherapy_tolerance --patients 300 --throughput-n 10000

For each relative tolerance of the compiled Dormand-Prince (the scenario field
``solver: SolverTolerances(rtol=...)``; v0's default is 1e-7, atol 1e-10):

* **patient-cycles/s** of the native vector env at ``--throughput-n`` patients with
  autoresets (random actions, every patient through its 6 cycles and into the next episode,
  as ``benchmarks.env_throughput`` times them; wall clock, all numba threads);
* **RHS evaluations** per patient-cycle (population patients, random dose levels);
* **max relative error** of what the clinic observes, against an independent
  ``scipy.integrate.solve_ivp`` (DOP853, rtol 1e-12, atol 1e-12, the PK as three more ODE
  states) of the same equations and parameter rows: the true ANC on the lab days (7, 14 and
  the next cycle's day 0), each cycle's daily nadir, and the tumour size (SLD) at each
  cycle's end, for the typical patient (100% of the label dose every cycle) and for
  ``--patients`` population patients (random dose levels, 0% included).

Those errors sit next to the observation's own error: the ANC assay is log-normal with SD
0.424 (``FribergDocetaxel.residual_log_sd``, Kloft 2006's residual; the scenario's
``anc_assay_log_sd`` default), a scan has CV 0.10 (``Claret2009.measurement_cv``) and is
rounded to 1 mm. The load average is printed first and last: the machine may be shared.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Sequence

import gymnasium as gym
import numba
import numpy as np
from scipy.integrate import solve_ivp

import pkgym  # noqa: F401
from benchmarks.env_throughput import load_average
from pkgym.envs.chemotherapy.clinic import ChemotherapyScenario
from pkgym.models import chemotherapy_kernel as kernel
from pkgym.models.chemotherapy import DocetaxelPatientModel
from pkgym.models.chemotherapy_kernel import (
    CIRC0,
    GAMMA,
    INV_V1,
    K10,
    K12,
    K13,
    K21,
    K31,
    KD,
    KL,
    KTR,
    LAMBDA,
    SLOPE,
    SolverTolerances,
    advance_cycles,
    initial_states,
)

ENV_ID = "pkgym/Chemotherapy-v0"
RTOLS = (1e-7, 1e-6, 1e-5, 1e-4)
REFERENCE = {"method": "DOP853", "rtol": 1e-12, "atol": 1e-12}
SCENARIO = ChemotherapyScenario()
N_CYCLES, CYCLE_DAYS, LAB_DAYS = SCENARIO.n_cycles, SCENARIO.cycle_days, (7, 14, 21)
TYPICAL = {"is_female": [0], "age_years": [60.0], "bsa_m2": [1.8], "aag_g_per_l": [1.34],
           "hepatic_impairment": [0], "baseline_sld_mm": [70.0]}


def cohort(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parameter rows, initial states and doses (mg, (n + 1, cycles)) of the patients.

    Row 0 is the typical patient on 100% of the label dose, then ``n`` patients the env
    draws, on random dose levels.
    """
    vec = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point")
    vec.reset(seed=seed)
    records = vec.unwrapped.core.records
    typical = DocetaxelPatientModel().parameters(TYPICAL)
    params = np.concatenate([typical, records.params])
    bsa = np.concatenate([TYPICAL["bsa_m2"], records.covariates["bsa_m2"]])
    sld = np.concatenate([TYPICAL["baseline_sld_mm"], records.states[:, kernel.SLD]])
    levels = np.random.default_rng(seed).choice(SCENARIO.dose_levels_percent, (n + 1, N_CYCLES))
    levels[0] = 100.0
    doses = levels / 100.0 * SCENARIO.label_dose_mg_per_m2 * bsa[:, None]
    vec.close()
    return params, initial_states(params, sld), doses


def kernel_course(params: np.ndarray, states: np.ndarray, doses: np.ndarray,
                  rtol: float) -> tuple[np.ndarray, np.ndarray]:
    """Daily ANC (n, cycles, days) and cycle-end SLD (n, cycles) of the compiled cycles."""
    n, y, t = params.shape[0], states.copy(), np.zeros(params.shape[0])
    anc, sld = np.empty((n, N_CYCLES, CYCLE_DAYS)), np.empty((n, N_CYCLES))
    solver = SolverTolerances(rtol=rtol)
    for c in range(N_CYCLES):
        advance_cycles(np.arange(n), doses[:, c], np.zeros(n, np.int64),
                       np.full(n, CYCLE_DAYS), SCENARIO.pk.infusion_h, t, y, params, solver.rtol,
                       solver.atol, solver.max_steps, anc[:, c])
        sld[:, c] = y[:, kernel.SLD]
    return anc, sld


def _reference_rhs(params: np.ndarray):  # noqa: ANN202
    """f(t, y, rate) of all patients at once (y: (9 n,)), the PK amounts as ODE states."""
    p = {name: params[:, index] for name, index in (
        ("k10", K10), ("k12", K12), ("k21", K21), ("k13", K13), ("k31", K31), ("inv_v1", INV_V1),
        ("ktr", KTR), ("gamma", GAMMA), ("circ0", CIRC0), ("slope", SLOPE), ("kl", KL),
        ("kd", KD), ("lam", LAMBDA))}

    def rhs(t: float, flat: np.ndarray, rate: np.ndarray) -> np.ndarray:
        a1, a2, a3, prol, t1, t2, t3, circ, sld = flat.reshape(9, -1)
        c = a1 * p["inv_v1"]
        ktr = p["ktr"]
        return np.concatenate([
            rate - (p["k10"] + p["k12"] + p["k13"]) * a1 + p["k21"] * a2 + p["k31"] * a3,
            p["k12"] * a1 - p["k21"] * a2, p["k13"] * a1 - p["k31"] * a3,
            ktr * prol * ((1 - p["slope"] * c) * (p["circ0"] / circ) ** p["gamma"] - 1),
            ktr * (prol - t1), ktr * (t1 - t2), ktr * (t2 - t3), ktr * (t3 - circ),
            (p["kl"] - p["kd"] * np.exp(-p["lam"] * t) * c) * sld])

    return rhs


def reference_course(params: np.ndarray, states: np.ndarray,
                     doses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`kernel_course` by ``solve_ivp`` (``REFERENCE``), all patients in one system."""
    n, rhs = params.shape[0], _reference_rhs(params)
    anc, sld = np.empty((n, N_CYCLES, CYCLE_DAYS)), np.empty((n, N_CYCLES))
    y, infusion_h = states.T.ravel().copy(), SCENARIO.pk.infusion_h
    for c in range(N_CYCLES):
        start = 24.0 * CYCLE_DAYS * c
        days = start + 24.0 * np.arange(1, CYCLE_DAYS + 1)
        infused = solve_ivp(rhs, (start, start + infusion_h), y, args=(doses[:, c] / infusion_h,),
                            **REFERENCE)
        rest = solve_ivp(rhs, (start + infusion_h, days[-1]), infused.y[:, -1],
                         args=(np.zeros(n),), t_eval=days, **REFERENCE)
        if not (infused.success and rest.success):
            raise RuntimeError(f"reference failed in cycle {c}: {rest.message}")
        anc[:, c] = rest.y.reshape(9, n, -1)[kernel.CIRC]
        y = rest.y[:, -1]
        sld[:, c] = y.reshape(9, n)[kernel.SLD]
    return anc, sld


def observed(anc: np.ndarray, sld: np.ndarray) -> dict[str, np.ndarray]:
    """What the clinic sees of a course: lab-day ANC, cycle nadirs, cycle-end SLD."""
    return {"ANC lab days": anc[:, :, [d - 1 for d in LAB_DAYS]], "ANC nadir": anc.min(axis=2),
            "SLD": sld}


def max_relative_errors(course: tuple, reference: tuple) -> dict[str, tuple[float, float]]:
    """Per observed quantity: (typical patient, population) max |x - ref| / |ref|."""
    got, ref = observed(*course), observed(*reference)
    errors = {}
    for name, value in got.items():
        rel = np.abs(value - ref[name]) / np.abs(ref[name])
        errors[name] = (float(rel[0].max()), float(rel[1:].max()))
    return errors


@numba.njit
def _counting_rhs(t, y, p, out) -> None:  # noqa: ANN001
    """:func:`kernel.rhs`, adding one to the slot after the segment vector per call."""
    p[kernel.SEGMENT_SIZE] += 1.0
    kernel.rhs(t, y, p, out)


def rhs_evaluations(params: np.ndarray, states: np.ndarray, doses: np.ndarray,
                    rtol: float) -> float:
    """Mean right-hand-side evaluations per patient-cycle (the kernel's own cycle loop)."""
    solver, total = SolverTolerances(rtol=rtol), 0.0
    n, y, t = params.shape[0], states.copy(), np.zeros(params.shape[0])
    anc, dose_days = np.empty((N_CYCLES, CYCLE_DAYS)), np.zeros(N_CYCLES, np.int64)
    for k in range(n):
        segment = np.append(kernel.pk_modes(params[k]), 0.0)
        for c in range(N_CYCLES):
            t[k] = kernel._run_cycle(  # noqa: SLF001 - the kernel's cycle, with a counting RHS
                _counting_rhs, c, doses[k], dose_days, np.full(N_CYCLES, CYCLE_DAYS),
                SCENARIO.pk.infusion_h, t[k], y[k], segment, solver.rtol, solver.atol,
                solver.max_steps, anc, False)
        total += segment[-1]
    return total / (n * N_CYCLES)


def cycles_per_s(rtol: float, n: int, seed: int = 0) -> float:
    """Patient-cycles/s of the vector env with autoresets (``env_throughput``'s timing)."""
    scenario = ChemotherapyScenario(solver=SolverTolerances(rtol=rtol))
    vec = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point",
                       scenario=scenario)
    vec.action_space.seed(seed)
    actions = [vec.action_space.sample() for _ in range(N_CYCLES + 2)]
    vec.reset(seed=seed)
    vec.step(actions[-1])  # compile and warm caches before timing
    vec.reset(seed=seed)
    start = time.perf_counter()
    for action in actions[:N_CYCLES + 1]:
        vec.step(action)
    elapsed = time.perf_counter() - start
    vec.close()
    return n * (N_CYCLES + 1) / elapsed


def main(argv: Sequence[str] | None = None) -> None:
    """Print the tolerance table (markdown)."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=300, help="population patients")
    parser.add_argument("--throughput-n", type=int, default=10_000, help="vector env size")
    parser.add_argument("--rtol", type=float, action="append", default=None,
                        help=f"relative tolerance (repeatable; default {RTOLS})")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message=".*is out of date.*")
    print(f"load average at start: {load_average()}", flush=True)
    params, states, doses = cohort(args.patients, args.seed)
    reference = reference_course(params, states, doses)
    print(f"reference: solve_ivp {REFERENCE}; typical patient + {args.patients} population "
          f"patients, {N_CYCLES} cycles; errors: max |x - ref| / |ref|, typical / population")
    print(f"| rtol | patient-cycles/s at N = {args.throughput_n:,} | RHS evaluations per "
          "cycle | ANC lab days | ANC nadir | SLD |")
    print("|---|---|---|---|---|---|", flush=True)
    for rtol in args.rtol or RTOLS:
        errors = max_relative_errors(kernel_course(params, states, doses, rtol), reference)
        evaluations = rhs_evaluations(params, states, doses, rtol)
        speed = cycles_per_s(rtol, args.throughput_n, args.seed)
        cells = " | ".join(f"{typical:.1e} / {population:.1e}"
                           for typical, population in errors.values())
        print(f"| {rtol:.0e} | {speed:,.0f} | {evaluations:.0f} | {cells} |", flush=True)
    print("observation error: ANC assay log-normal SD 0.424 (~42% CV); scan CV 0.10, "
          "rounded to 1 mm")
    print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
