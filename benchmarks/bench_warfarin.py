"""``pkgym/Warfarin-v0`` throughput, the bare day kernel, and a naive ``solve_ivp`` reference.

Targets (issue 5): >= 20 000 single-env steps/s, >= 1 000 000 batched patient-days/s at
10 000 patients. The reference integrates the same Hamberg 2010 ODEs patient by patient and
day by day with ``scipy.integrate.solve_ivp`` (LSODA, rtol 1e-6, atol 1e-9), the way a model
is usually coded, to show the speed-up of the compiled day step (and its agreement).
"""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np
from scipy.integrate import solve_ivp

import pkgym  # noqa: F401
from benchmarks import no_options
from pkgym.models.warfarin import S_FRACTION, Hamberg2010, WarfarinParameters
from pkgym.models.warfarin_kernel import (
    advance_days,
    day_constants,
    initial_state,
    simulate_inr,
)

ENV_ID = "pkgym/Warfarin-v0"
EPISODE_DAYS = 90
FIVE_MG = 10
"""Discrete action of 5 mg (levels 0, 0.5, ..., 15 mg)."""


def single_env_steps_per_s(episodes: int = 150) -> tuple[float, float]:
    """Steps per second of one env: stepping only, and with a reset every 90 steps."""
    env = gym.make(ENV_ID).unwrapped
    env.reset(seed=0)
    env.step(FIVE_MG)  # compile / load the kernels before timing
    stepping = resetting = 0.0
    for _ in range(episodes):
        start = time.perf_counter()
        env.reset()
        resetting += time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(EPISODE_DAYS):
            env.step(FIVE_MG)
        stepping += time.perf_counter() - start
    steps = EPISODE_DAYS * episodes
    return steps / stepping, steps / (stepping + resetting)


def batched_patient_days_per_s(n: int = 10_000, episodes: int = 2) -> tuple[float, float]:
    """Patient-days per second of the vector env: stepping only, and with its autoresets."""
    vec = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point")
    actions = np.full(n, FIVE_MG)
    vec.reset(seed=0)
    vec.step(actions)
    vec.reset(seed=1)
    stepping = total = 0.0
    for episode in range(episodes):
        for step in range(EPISODE_DAYS + (1 if episode else 0)):  # + the autoreset step
            start = time.perf_counter()
            vec.step(actions)
            elapsed = time.perf_counter() - start
            total += elapsed
            stepping += 0.0 if (episode and step == 0) else elapsed
    days = EPISODE_DAYS * episodes * n
    return days / stepping, days / total


def _cohort(n: int, seed: int = 0) -> WarfarinParameters:
    """Parameters of ``n`` patients with random genotypes, ages and etas."""
    rng = np.random.default_rng(seed)
    model = Hamberg2010()
    etas = rng.multivariate_normal(np.zeros(3), model.variability.omega, n)
    return model.parameters(rng.integers(0, 6, n), rng.integers(0, 3, n),
                            rng.uniform(30.0, 90.0, n), etas)


def kernel_patient_days_per_s(n: int = 10_000, days: int = 90) -> tuple[float, float]:
    """Bare ``advance_days``: one day per call (as the envs) and all days in one call."""
    model = Hamberg2010()
    constants = day_constants(_cohort(n), model.structure)
    rows = np.arange(n)
    doses = np.full((n, days), 5.0)
    rates = []
    for per_call in (1, days):
        pk, chains = initial_state(n)
        conc = np.empty((n, per_call))
        advance_days(rows, doses[:, :per_call], pk, chains, constants, conc)  # warm-up
        pk, chains = initial_state(n)
        start = time.perf_counter()
        for first in range(0, days, per_call):
            advance_days(rows, doses[:, first:first + per_call], pk, chains, constants, conc)
        rates.append(n * days / (time.perf_counter() - start))
    return rates[0], rates[1]


def _hamberg2010_rhs(t: float, y: np.ndarray, p: WarfarinParameters, ka: float) -> np.ndarray:
    """Hamberg 2010 ODEs of one patient: depot, central (mg), then chains of 3 and 3."""
    conc = y[1] / p.central_volume_l[0]
    power = max(conc, 0.0) ** p.hill[0]
    effect = power / (p.ec50_mg_per_l[0] ** p.hill[0] + power)
    dy = np.empty_like(y)
    dy[0] = -ka * y[0]
    dy[1] = ka * y[0] - p.clearance_l_per_h[0] / p.central_volume_l[0] * y[1]
    for first, mtt in ((2, p.mtt1_h[0]), (5, p.mtt2_h[0])):
        k = 3.0 / mtt
        dy[first] = k * (1.0 - effect - y[first])
        dy[first + 1:first + 3] = k * (y[first:first + 2] - y[first + 1:first + 3])
    return dy


def naive_reference(n: int = 20, days: int = 30, dose_mg: float = 5.0) -> tuple[float, float]:
    """Patient-days/s of a per-patient, per-day ``solve_ivp`` loop; max |INR - kernel INR|."""
    model = Hamberg2010()
    params = _cohort(n, seed=1)
    inr = np.empty((n, days))
    start = time.perf_counter()
    for i in range(n):
        p, y = params.row(i), np.r_[0.0, 0.0, np.ones(6)]
        for d in range(days):
            y[0] += S_FRACTION * dose_mg
            sol = solve_ivp(_hamberg2010_rhs, (0.0, 24.0), y, method="LSODA", rtol=1e-6,
                            atol=1e-9, args=(p, model.absorption_rate_per_h))
            y = sol.y[:, -1]
            inr[i, d] = model.structure.inr(np.array([[y[4], y[7]]]))[0]
    rate = n * days / (time.perf_counter() - start)
    exact, _ = simulate_inr(params, model.structure, np.full((n, days), dose_mg))
    return rate, float(np.abs(inr - exact[:, 1:]).max())


def main() -> None:
    """Print the figures."""
    print("\nWarfarin-v0")
    only, with_reset = single_env_steps_per_s()
    print(f"single env: {only:,.0f} steps/s stepping, {with_reset:,.0f} steps/s with resets "
          f"every {EPISODE_DAYS}")
    only, with_reset = batched_patient_days_per_s()
    print(f"vector env, 10 000 patients: {only:,.0f} patient-days/s stepping, "
          f"{with_reset:,.0f} with autoresets")
    per_day, all_days = kernel_patient_days_per_s()
    print(f"day kernel (advance_days), 10 000 patients: {per_day:,.0f} patient-days/s one day "
          f"per call, {all_days:,.0f} with {EPISODE_DAYS} days per call")
    naive, error = naive_reference()
    print(f"naive solve_ivp (LSODA, rtol 1e-6), 20 patients x 30 days: {naive:,.0f} "
          f"patient-days/s; kernel speed-up x{per_day / naive:,.0f}; max |INR difference| "
          f"{error:.1e}")


if __name__ == "__main__":
    no_options(__doc__)
    main()
