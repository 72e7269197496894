"""Virtual trials of vancomycin dosing policies (issue 9): power, type I error, expected N.

One pool of 1 000 evaluation patients is simulated once per policy (label, trough-guided and
MAP on the same pinned patients); every simulated trial draws its patients from that finite
pool without replacement, so the operating characteristics are conditional on this virtual
population. Design: two-sided family-wise alpha 0.05, K = 3 equally spaced looks, Lan-DeMets
O'Brien-Fleming spending, endpoint ``in_target_range_fraction``. Two-arm rows compare MAP with
label; three-arm rows compare trough-guided and MAP each with label (Bonferroni alpha / 2 per
comparison; ``rejection_rate`` is then P(any rejection), ``power_per_arm`` per comparison).
Each design also runs under the null (every arm given label's outcomes): its rejection rate is
the (family-wise) type I error. Run: ``python -m benchmarks.bench_trials [out.csv]``.

Phase I designs first: 10 000 trials of every family of ``make_design`` (and a few option
variants, and BOIN12 on the same toxicity curve with response rates of our choice) under
``scenarios/dose_finding_classic.yaml`` (5 levels, cohorts of 3, 30 patients),
one ``simulate_trials`` call each, timed as the best of 3 runs (wall and process CPU seconds),
beside the figures the README gave before issue 24 and the 1-minute load average before and
after each design (this machine is shared: read wall times with their load; CPU seconds
suffer less from it). ``--phase-one`` runs only this part.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import gymnasium as gym
import pandas as pd

import pkgym  # noqa: F401
from agents.policies.registry import make_policy
from pkgym.io import write_table
from pkgym.trials.endpoints import EndpointPool, simulate_endpoint_pool
from pkgym.trials.mechanistic import load_trial_scenario
from pkgym.trials.operating_characteristics import operating_characteristics, simulate_trials
from pkgym.trials.phase12_simulation import (
    Phase12Scenario,
    phase12_operating_characteristics,
    simulate_phase12_trials,
)
from pkgym.trials.report import DESIGNS as PHASE_ONE_DESIGNS
from pkgym.trials.report import make_design
from pkgym.trials.scenarios import DoseFindingScenario
from pkgym.trials.virtual_trial import VirtualTrialDesign, simulate_virtual_trials

ENV_ID, ENDPOINT, POOL, TRIALS = "pkgym/Vancomycin-v0", "in_target_range_fraction", 1000, 2000
ARMS = ("label", "trough", "map")
DESIGNS = ((("label", "map"), "equal", 30), (("label", "map"), "equal", 60),
           (("label", "map"), "equal", 120), (("label", "map"), "neyman", 60),
           (ARMS, "equal", 90), (ARMS, "thall_wathen", 90))
"""(arms, allocation, maximum N) of every row."""


PHASE_ONE_SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / \
    "dose_finding_classic.yaml"
PHASE_ONE_TRIALS = 10_000
PHASE_ONE_VARIANTS = ("3+3:deescalation=1", "boin:mtd_selection=count_weighted",
                      "boin:extrasafe=1")
"""Option variants timed beside the families (the count-weighted BOIN is pkgym's earlier rule)."""
README_SECONDS = {"3+3": 0.1, "boin:mtd_selection=count_weighted": 0.4, "thompson": 0.4,
                  "crm": 1.7}
"""10 000 trials, 5 doses, 30 patients: the README's figures before issue 24 (BOIN then used
the count-weighted selection)."""


def phase_one_timings(n_trials: int = PHASE_ONE_TRIALS, repeats: int = 3) -> pd.DataFrame:
    """Seconds for ``n_trials`` trials of each design (best of ``repeats``), with the load."""
    scenario, _ = load_trial_scenario(PHASE_ONE_SCENARIO)
    rows = []
    for spec in (*PHASE_ONE_DESIGNS, *PHASE_ONE_VARIANTS):
        design = make_design(spec, scenario)
        load_before = os.getloadavg()[0]
        seconds, cpu_seconds = [], []
        for _ in range(repeats):
            start, cpu_start = time.perf_counter(), time.process_time()
            results = simulate_trials(design, scenario, n_trials, seed=0)
            seconds.append(time.perf_counter() - start)
            cpu_seconds.append(time.process_time() - cpu_start)
        oc = operating_characteristics(results, scenario)
        rows.append({"design": spec, "n_trials": n_trials, "seconds": min(seconds),
                     "cpu_seconds": min(cpu_seconds),
                     "readme_seconds": README_SECONDS.get(spec, float("nan")),
                     "trials_per_s": n_trials / min(seconds),
                     "correct_selection_percent": oc.percent_correct_selection,
                     "se": oc.percent_correct_selection_se,
                     "load_1min_before": load_before, "load_1min_after": os.getloadavg()[0]})
    rows.append(_boin12_timing(scenario, n_trials, repeats))
    return pd.DataFrame(rows)


def _boin12_timing(scenario: DoseFindingScenario, n_trials: int, repeats: int) -> dict:
    """BOIN12 (phase I/II) on the classic toxicity curve, with its own simulator.

    Response rates 0.10, 0.30, 0.45, 0.50, 0.55 (our choice); phi_E 0.25 and the utilities
    40 / 60 of Lin et al. (2020).
    """
    truth = Phase12Scenario(true_dlt_probabilities=scenario.true_dlt_probabilities,
                            true_efficacy_probabilities=(0.10, 0.30, 0.45, 0.50, 0.55),
                            target_dlt_rate=scenario.target_dlt_rate,
                            cohort_size=scenario.cohort_size,
                            max_sample_size=scenario.max_sample_size)
    load_before = os.getloadavg()[0]
    seconds, cpu_seconds = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        results = simulate_phase12_trials(truth.design(), truth, n_trials, seed=0)
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - cpu_start)
    oc = phase12_operating_characteristics(results, truth)
    return {"design": "boin12 (correct = OBD)", "n_trials": n_trials, "seconds": min(seconds),
            "cpu_seconds": min(cpu_seconds), "readme_seconds": float("nan"),
            "trials_per_s": n_trials / min(seconds),
            "correct_selection_percent": oc["percent_correct_selection"],
            "se": oc["percent_correct_selection_se"], "load_1min_before": load_before,
            "load_1min_after": os.getloadavg()[0]}


def main(argv: list[str] | None = None) -> None:
    """Phase I timings; then the pool and the virtual trials of every design and its null."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", nargs="?", type=Path, help="CSV of the virtual-trial table")
    parser.add_argument("--phase-one", action="store_true", help="phase I timings only")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    timings = phase_one_timings()
    print(f"phase I: {PHASE_ONE_TRIALS} trials per design on {PHASE_ONE_SCENARIO.name} "
          f"({os.cpu_count()} CPUs)")
    print(timings.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    if args.phase_one:
        return
    core = gym.make(ENV_ID).unwrapped.core
    start = time.perf_counter()
    pool = simulate_endpoint_pool(ENV_ID, [make_policy(arm, core) for arm in ARMS], ENDPOINT,
                                  POOL, seed=9)
    pool_s = time.perf_counter() - start
    means, sds = pool.outcomes.mean(axis=0), pool.outcomes.std(axis=0, ddof=1)
    print(f"pool of {POOL} patients x {len(ARMS)} policies in {pool_s:.1f} s; {ENDPOINT}: "
          + ", ".join(f"{arm} {m:.3f} (sd {s:.3f})" for arm, m, s in zip(ARMS, means, sds,
                                                                         strict=True)))
    rows = [_row(arms, allocation, n_max, pool, null)
            for arms, allocation, n_max in DESIGNS for null in (False, True)]
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    if args.out:
        write_table(table.astype({"stop_probabilities": str, "power_per_arm": str}), args.out)


def _row(arms: tuple[str, ...], allocation: str, n_max: int, pool: EndpointPool,
         null: bool) -> dict[str, object]:
    """Simulate one design on its arms' columns of the pool (all label's under the null)."""
    columns = [0] * len(arms) if null else [ARMS.index(arm) for arm in arms]
    design = VirtualTrialDesign(env_id=ENV_ID, arms=arms, endpoint=ENDPOINT, max_patients=n_max,
                                allocation=allocation, burn_in=12)
    start = time.perf_counter()
    oc = simulate_virtual_trials(design, EndpointPool(pool.outcomes[:, columns]), TRIALS,
                                 seed=n_max)
    comparison = " & ".join(f"{arm}_vs_label" for arm in arms[1:])
    return {"comparison": "null:" + "_".join(["label"] * len(arms)) if null else comparison,
            "allocation": allocation, "max_n": n_max, "rejection_rate": oc.rejection_rate,
            "se": oc.rejection_rate_se, "power_per_arm": tuple(
                round(p, 4) for p in oc.comparison_rejection_rates),
            "expected_n": oc.expected_n, "expected_n_se": oc.expected_n_se,
            "stop_probabilities": tuple(round(p, 4) for p in oc.stop_probabilities),
            "seconds": time.perf_counter() - start}


if __name__ == "__main__":
    main()
