"""Simulation-core throughput: exact batched two-compartment IV model vs a naive solve_ivp loop.

Workload (issue 2): 1-h infusion of 1000 mg every 12 h, hourly concentrations, 7 days, a
two-compartment model with 30% CV on clearance. Reported as simulated patient-days per second.
Targets: >= 1e6 patient-days/s at 100 000 patients and >= 100x the naive loop.
"""

from __future__ import annotations

import resource
import time

import numpy as np
from scipy.integrate import solve_ivp

from benchmarks import no_options
from pkgym.sim.doses import regular_schedule
from pkgym.sim.linear import simulate_linear
from pkgym.sim.modal import compartment_params

DAYS = 7
TIMES_H = np.arange(0.0, 24.0 * DAYS + 0.5, 1.0)
CL, V1, Q, V2 = 4.5, 58.4, 6.5, 38.4


def _cohort(n: int, seed: int = 0):  # noqa: ANN202
    rng = np.random.default_rng(seed)
    params = compartment_params(CL * np.exp(0.3 * rng.standard_normal(n)), V1,
                                intercompartmental_clearance_l_per_h=(Q,),
                                peripheral_volume_l=(V2,))
    doses = regular_schedule(n, amount_mg=1000.0, every_h=12.0, n_doses=2 * DAYS, duration_h=1.0)
    return params, doses


def _naive_patient(cl: float) -> np.ndarray:
    """One patient with solve_ivp, integrating dose interval by dose interval (the usual loop)."""
    def rhs(t, a, rate):  # noqa: ANN001, ANN202
        c1, c2 = a[0] / V1, a[1] / V2
        return [rate - cl * c1 - Q * (c1 - c2), Q * (c1 - c2)]

    state, out = np.zeros(2), []
    for k in range(2 * DAYS):
        for start, stop, rate in ((12 * k, 12 * k + 1, 1000.0), (12 * k + 1, 12 * k + 12, 0.0)):
            grid = TIMES_H[(TIMES_H >= start) & (TIMES_H < stop)]
            sol = solve_ivp(rhs, (start, stop), state, t_eval=grid, args=(rate,), rtol=1e-8,
                            atol=1e-10)
            out.append(sol.y[0] / V1)
            state = solve_ivp(rhs, (start, stop), state, args=(rate,), rtol=1e-8,
                              atol=1e-10).y[:, -1]
    return np.concatenate(out)


def _best_of(fn, repeats: int) -> float:  # noqa: ANN001
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def run() -> list[dict[str, float]]:
    """Measure and return one row per configuration (also printed as a table)."""
    rows = []
    for n, threads in ((1, 1), (1_000, 1), (100_000, 1), (100_000, 2)):
        params, doses = _cohort(n)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        seconds = _best_of(lambda p=params, d=doses, t=threads: simulate_linear(
            p, d, TIMES_H, n_threads=t), 3 if n < 100_000 else 2)
        extra_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
        output_mib = 2 * n * TIMES_H.size * 8 / 2**20
        rows.append({"method": f"pkgym exact ({threads} thread{'s' * (threads > 1)})",
                     "patients": n, "seconds": seconds, "patient_days_per_s": n * DAYS / seconds,
                     "peak_rss_growth_mib": extra_mib, "output_mib": output_mib})
    n_naive = 10
    cls = CL * np.exp(0.3 * np.random.default_rng(1).standard_normal(n_naive))
    seconds = _best_of(lambda: [_naive_patient(c) for c in cls], 1)
    rows.append({"method": "naive solve_ivp loop", "patients": n_naive, "seconds": seconds,
                 "patient_days_per_s": n_naive * DAYS / seconds, "peak_rss_growth_mib": 0.0,
                 "output_mib": 0.0})
    return rows


def main() -> None:
    """Print the benchmark table and the speed-up over the naive loop."""
    rows = run()
    print("\nSimulation core: 2-cmt IV, 1-h infusion q12h, hourly output, 7 days")
    print(f"{'method':<28}{'patients':>10}{'seconds':>10}{'patient-days/s':>16}"
          f"{'RSS growth MiB':>16}{'output MiB':>12}")
    for r in rows:
        print(f"{r['method']:<28}{r['patients']:>10}{r['seconds']:>10.4f}"
              f"{r['patient_days_per_s']:>16,.0f}{r['peak_rss_growth_mib']:>16.1f}"
              f"{r['output_mib']:>12.1f}")
    best = max(r["patient_days_per_s"] for r in rows if r["patients"] == 100_000)
    speedup = best / rows[-1]["patient_days_per_s"]
    print(f"speed-up at 100 000 patients over the naive loop: {speedup:,.0f}x")


if __name__ == "__main__":
    no_options(__doc__)
    main()
