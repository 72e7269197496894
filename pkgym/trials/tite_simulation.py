"""Staggered-entry simulation of TITE-CRM trials, batched over trials (dfcrm ``titesim`` rules).

Cohorts of ``scenario.cohort_size`` patients (1 in dfcrm) arrive one after another: with
``accrual.process="fixed"`` every T / rate time units, with ``"poisson"`` after exponential
gaps of mean T / rate (T the observation window, rate the expected arrivals per window; the
first cohort arrives after one gap, as in dfcrm). A patient with a DLT (probability the true
rate of the dose) has it at a time uniform on (0, T] after entry (dfcrm ``surv="uniform"``).
When a cohort arrives, its dose is chosen from the data seen by then: DLTs that have occurred,
and for everyone else the follow-up so far, min(t - entry, T), weighted by the design's
scheme. The first cohort gets ``scenario.start_level``. Every trial enrols
``scenario.max_sample_size`` patients (no early stopping, as dfcrm); the MTD is chosen once all
are fully followed. Trial k draws from child k of the root ``SeedSequence``; its DLT uniforms
come first and in the layout of :func:`~pkgym.trials.operating_characteristics.simulate_trials`,
so with complete follow-up both simulators give the same trials.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pkgym.trials.operating_characteristics import TrialResults
from pkgym.trials.scenarios import DoseFindingScenario
from pkgym.trials.tite_crm import TiteCrmDesign, tite_weights
from pkgym.utils import as_seed_sequence


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TiteTrials:
    """Simulated TITE-CRM trials, per patient, with the per-dose summary.

    Attributes:
        results: Per-dose counts and selected MTDs, for
            :func:`~pkgym.trials.operating_characteristics.operating_characteristics`.
        levels: Zero-based dose of each patient (n_trials, n_patients).
        dlts: Whether each patient had a DLT within the window (n_trials, n_patients).
        arrivals: Entry times (n_trials, n_patients), in the unit of the window.
        dlt_times: Time from entry to DLT, ``inf`` without one (n_trials, n_patients).
        durations: Last entry plus one window, dfcrm's ``Duration`` (n_trials,).
    """

    results: TrialResults
    levels: np.ndarray
    dlts: np.ndarray
    arrivals: np.ndarray
    dlt_times: np.ndarray
    durations: np.ndarray


def _draws(
    design: TiteCrmDesign, scenario: DoseFindingScenario, n_trials: int, seed: int, first: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DLT uniforms, DLT times (n, n_patients) and cohort entry times (n, n_cohorts)."""
    root = as_seed_sequence(seed)
    cohorts, size = scenario.max_cohorts, scenario.cohort_size
    uniforms = np.empty((n_trials, cohorts, size))
    times = np.empty((n_trials, cohorts, size))
    gaps = np.empty((n_trials, cohorts))
    for k in range(n_trials):
        child = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, first + k))
        generator = np.random.default_rng(child)
        uniforms[k] = generator.random((cohorts, size))
        generator.random((cohorts, scenario.n_doses))  # simulate_trials' design uniforms
        times[k] = design.window * (1.0 - generator.random((cohorts, size)))  # (0, T]
        gaps[k] = generator.standard_exponential(cohorts)
    mean_gap = design.window / design.accrual.rate
    gaps = mean_gap * (gaps if design.accrual.process == "poisson" else np.ones_like(gaps))
    return uniforms.reshape(n_trials, -1), times.reshape(n_trials, -1), np.cumsum(gaps, axis=1)


def _decide(
    design: TiteCrmDesign, levels: np.ndarray, dlts: np.ndarray, arrivals: np.ndarray,
    dlt_times: np.ndarray, now: np.ndarray,
) -> np.ndarray:
    """Recommended level at time ``now`` (n,) from the patients enrolled so far, unrestricted."""
    onset = arrivals + dlt_times
    seen = dlts & (onset <= now[:, None])
    followup = np.minimum(np.where(seen, dlt_times, now[:, None] - arrivals), design.window)
    weights = tite_weights(followup, seen, design.window, design.scheme)
    return design.fit(levels, seen, weights).recommended


def simulate_tite_trials(
    design: TiteCrmDesign,
    scenario: DoseFindingScenario,
    n_trials: int,
    seed: int,
    *,
    first_trial: int = 0,
) -> TiteTrials:
    """Simulate ``n_trials`` TITE-CRM trials with staggered entry, all trials batched.

    Args:
        design: The TITE-CRM (window, weights, restriction, accrual).
        scenario: True DLT probabilities, cohort size, sample size and starting level.
        n_trials: Number of trials (>= 1).
        seed: Root seed (non-negative int).
        first_trial: Index of the first trial, for simulating in chunks.

    Examples:
        >>> from pkgym.trials.tite_crm import TiteAccrual
        >>> design = TiteCrmDesign(skeleton=(0.05, 0.1, 0.2, 0.35), target=0.2, window=6.0,
        ...                        accrual=TiteAccrual(process="poisson", rate=4.0))
        >>> scenario = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.2, 0.4, 0.5),
        ...     target_dlt_rate=0.2, cohort_size=1, max_sample_size=12)
        >>> trials = simulate_tite_trials(design, scenario, 20, seed=3)
        >>> trials.levels.shape, bool(np.all(trials.results.patients.sum(axis=1) == 12))
        ((20, 12), True)
    """
    if n_trials < 1:
        raise ValueError(f"n_trials must be >= 1, got {n_trials}")
    if first_trial < 0:
        raise ValueError(f"first_trial must be >= 0, got {first_trial}")
    if scenario.n_doses != len(design.skeleton):
        raise ValueError(f"scenario has {scenario.n_doses} doses, skeleton {len(design.skeleton)}")
    uniforms, dlt_times, entries = _draws(design, scenario, n_trials, seed, first_trial)
    size = scenario.cohort_size
    arrivals = np.repeat(entries, size, axis=1)
    truth = np.asarray(scenario.true_dlt_probabilities)
    levels = np.full(uniforms.shape, scenario.start_level, dtype=np.int64)
    for cohort in range(1, scenario.max_cohorts):
        done = slice(0, cohort * size)
        dlts = uniforms[:, done] < truth[levels[:, done]]
        best = _decide(design, levels[:, done], dlts, arrivals[:, done], dlt_times[:, done],
                       entries[:, cohort])
        chosen = design.restricted(best, levels[:, done.stop - 1])
        levels[:, done.stop : done.stop + size] = chosen[:, None]
    dlts = uniforms < truth[levels]
    onehot = levels[:, :, None] == np.arange(scenario.n_doses)
    results = TrialResults(
        patients=onehot.sum(axis=1),
        dlts=(onehot & dlts[:, :, None]).sum(axis=1),
        selected=design.fit(levels, dlts, np.ones(levels.shape)).recommended,
        seed_entropy=int(as_seed_sequence(seed).entropy),  # type: ignore[arg-type]
        first_trial=first_trial,
    )
    return TiteTrials(
        results=results,
        levels=levels,
        dlts=dlts,
        arrivals=arrivals,
        dlt_times=np.where(dlts, dlt_times, np.inf),
        durations=entries[:, -1] + design.window,
    )
