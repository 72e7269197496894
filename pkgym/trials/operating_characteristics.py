"""Batched simulation of phase I trials and their operating characteristics (OC).

All trials advance one cohort per loop iteration. Trial k draws its patients' DLT uniforms and
its design uniforms from its own stream, child k of the root ``SeedSequence``, so trial k is the
same trial whether 10 or 10 000 trials are simulated, and in any chunk (``first_trial``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pkgym.trials.scenarios import DoseFindingScenario
from pkgym.trials.state import DoseFindingDesign, TrialState
from pkgym.utils import as_seed_sequence


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TrialResults:
    """Outcome of simulated trials.

    Attributes:
        patients: Patients treated per dose (n_trials, n_doses).
        dlts: DLTs per dose (n_trials, n_doses).
        selected: Selected MTD level per trial, -1 for none (n_trials,).
        seed_entropy: Entropy of the root ``SeedSequence``.
        first_trial: Index of the first trial (its stream is child ``first_trial``).
    """

    patients: np.ndarray  # (n_trials, n_doses)
    dlts: np.ndarray  # (n_trials, n_doses)
    selected: np.ndarray  # (n_trials,)
    seed_entropy: int
    first_trial: int = 0


def _trial_uniforms(
    scenario: DoseFindingScenario, n_trials: int, seed: int, first_trial: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-trial DLT uniforms (n, n_cohorts, cohort_size) and design uniforms (n, n_cohorts, D)."""
    root = as_seed_sequence(seed)
    shape = (scenario.max_cohorts, scenario.cohort_size)
    design_shape = (scenario.max_cohorts, scenario.n_doses)
    dlt_uniforms = np.empty((n_trials, *shape))
    design_uniforms = np.empty((n_trials, *design_shape))
    for k in range(n_trials):
        child = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, first_trial + k))
        generator = np.random.default_rng(child)
        dlt_uniforms[k] = generator.random(shape)
        design_uniforms[k] = generator.random(design_shape)
    return dlt_uniforms, design_uniforms


def treat_cohort(
    design: DoseFindingDesign,
    scenario: DoseFindingScenario,
    state: TrialState,
    rows: np.ndarray,
    toxicities: np.ndarray,
) -> None:
    """One cohort in trials ``rows`` at their current levels, then the design's decisions.

    The cohort's patients and DLTs are added at each trial's current level (its DLTs are also
    the trial's ``last_dlts``, read by the CRM's coherence rule); a trial stops for
    a design rule or once it holds ``max_sample_size`` patients; every trial still running
    moves to the design's next level. ``state`` is updated in place (its ``uniforms`` are the
    caller's); :func:`simulate_trials` and the dose-transition pathways both use this step.

    Args:
        design: A dose-finding design.
        scenario: Supplies the cohort size and the maximum sample size.
        state: Trials' data, updated in place.
        rows: Indices of the trials treating a cohort (not stopped) (n_rows,).
        toxicities: DLTs in each of those cohorts, 0..cohort_size (n_rows,).

    Examples:
        >>> from pkgym.trials.three_plus_three import ThreePlusThreeDesign
        >>> scenario = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.3),
        ...                                target_dlt_rate=0.3)
        >>> state = TrialState.empty(n_trials=3, n_doses=2, start_level=0)
        >>> treat_cohort(ThreePlusThreeDesign(), scenario, state, np.arange(3), np.array([0, 1, 2]))
        >>> state.levels.tolist(), state.stopped.tolist()
        ([1, 0, 0], [False, False, True])
    """
    levels = state.levels[rows]
    state.patients[rows, levels] += scenario.cohort_size
    state.dlts[rows, levels] += toxicities
    state.last_dlts[rows] = toxicities
    done = design.stop(state) | (state.patients.sum(axis=1) >= scenario.max_sample_size)
    state.stopped[rows] |= done[rows]
    moving = ~state.stopped
    state.levels[moving] = design.next_dose(state)[moving]


def simulate_trials(
    design: DoseFindingDesign,
    scenario: DoseFindingScenario,
    n_trials: int,
    seed: int,
    *,
    first_trial: int = 0,
) -> TrialResults:
    """Simulate ``n_trials`` trials of ``design`` under ``scenario``, all cohorts batched.

    A design with its own ``simulate_trials(scenario, n_trials, seed, first_trial=)`` method
    (TITE-CRM's staggered entry, :class:`~pkgym.trials.report.TimeToEventDesign`) is handed
    the work, under the same per-trial streams.

    Args:
        design: A dose-finding design (``next_dose``, ``stop``, ``select_mtd``).
        scenario: True DLT probabilities and size rules.
        n_trials: Number of trials (>= 1).
        seed: Root seed (non-negative int).
        first_trial: Index of the first trial, for simulating in chunks.

    Examples:
        >>> from pkgym.trials.boin import BoinDesign
        >>> scenario = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.3, 0.5),
        ...                                target_dlt_rate=0.3, max_sample_size=18)
        >>> results = simulate_trials(BoinDesign(target=0.3), scenario, 50, seed=1)
        >>> results.patients.shape, bool(np.all(results.patients.sum(axis=1) <= 18))
        ((50, 3), True)
    """
    if n_trials < 1:
        raise ValueError(f"n_trials must be >= 1, got {n_trials}")
    if first_trial < 0:
        raise ValueError(f"first_trial must be >= 0, got {first_trial}")
    own = getattr(design, "simulate_trials", None)
    if own is not None:  # a design with its own simulator (time to event)
        return own(scenario, n_trials, seed, first_trial=first_trial)  # type: ignore[no-any-return]
    dlt_uniforms, design_uniforms = _trial_uniforms(scenario, n_trials, seed, first_trial)
    truth = np.asarray(scenario.true_dlt_probabilities)
    state = TrialState.empty(
        n_trials=n_trials, n_doses=scenario.n_doses, start_level=scenario.start_level
    )
    for cohort in range(scenario.max_cohorts):
        rows = np.flatnonzero(~state.stopped)
        if rows.size == 0:
            break
        levels = state.levels[rows]
        toxicities = (dlt_uniforms[rows, cohort] < truth[levels][:, None]).sum(axis=1)
        state.uniforms[:] = design_uniforms[:, cohort]
        treat_cohort(design, scenario, state, rows, toxicities)
    return TrialResults(
        patients=state.patients,
        dlts=state.dlts,
        selected=design.select_mtd(state),
        seed_entropy=int(as_seed_sequence(seed).entropy),  # type: ignore[arg-type]
        first_trial=first_trial,
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OperatingCharacteristics:
    """Operating characteristics, each with its Monte-Carlo standard error (``*_se``).

    Percentages are of trials, except ``percent_treated_above_mtd`` (of all patients treated).
    """

    n_trials: int
    percent_correct_selection: float
    percent_correct_selection_se: float
    selection_percent: np.ndarray  # (n_doses,)
    selection_percent_se: np.ndarray  # (n_doses,)
    no_selection_percent: float
    no_selection_percent_se: float
    mean_patients_per_dose: np.ndarray  # (n_doses,)
    mean_patients_per_dose_se: np.ndarray  # (n_doses,)
    percent_treated_above_mtd: float
    percent_treated_above_mtd_se: float
    mean_dlts: float
    mean_dlts_se: float
    mean_sample_size: float
    mean_sample_size_se: float


def _percent(hits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Percent of trials (along axis 0) and its binomial standard error."""
    share = hits.mean(axis=0)
    return 100 * share, 100 * np.sqrt(share * (1 - share) / hits.shape[0])


def _mean(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean along axis 0 and its standard error."""
    return values.mean(axis=0), values.std(axis=0, ddof=1) / np.sqrt(values.shape[0])


def _ratio_percent(above: np.ndarray, total: np.ndarray) -> tuple[float, float]:
    """100 * sum(above) / sum(total) with its delta-method standard error."""
    ratio = above.sum() / total.sum()
    residuals = above - ratio * total
    se = np.sqrt(np.var(residuals, ddof=1) / above.size) / total.mean()
    return float(100 * ratio), float(100 * se)


def operating_characteristics(
    results: TrialResults, scenario: DoseFindingScenario
) -> OperatingCharacteristics:
    """Summarise simulated trials against the scenario's true MTD.

    Examples:
        >>> from pkgym.trials.boin import BoinDesign
        >>> scenario = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.3, 0.5),
        ...                                target_dlt_rate=0.3, max_sample_size=18)
        >>> oc = operating_characteristics(
        ...     simulate_trials(BoinDesign(target=0.3), scenario, 200, seed=1), scenario)
        >>> bool(abs(oc.selection_percent.sum() + oc.no_selection_percent - 100) < 1e-9)
        True
    """
    if results.patients.shape[1] != scenario.n_doses or results.selected.size < 2:
        raise ValueError("results must have the scenario's n_doses and at least 2 trials")
    n_doses, mtd = scenario.n_doses, scenario.true_mtd
    chosen = results.selected[:, None] == np.arange(n_doses)[None, :]
    selection, selection_se = _percent(chosen)
    none, none_se = _percent(results.selected == -1)
    patients, patients_se = _mean(results.patients.astype(np.float64))
    totals = results.patients.sum(axis=1).astype(np.float64)
    above, above_se = _ratio_percent(results.patients[:, mtd + 1 :].sum(axis=1), totals)
    dlts, dlts_se = _mean(results.dlts.sum(axis=1).astype(np.float64))
    size, size_se = _mean(totals)
    return OperatingCharacteristics(
        n_trials=int(results.selected.size),
        percent_correct_selection=float(selection[mtd]),
        percent_correct_selection_se=float(selection_se[mtd]),
        selection_percent=selection,
        selection_percent_se=selection_se,
        no_selection_percent=float(none),
        no_selection_percent_se=float(none_se),
        mean_patients_per_dose=patients,
        mean_patients_per_dose_se=patients_se,
        percent_treated_above_mtd=above,
        percent_treated_above_mtd_se=above_se,
        mean_dlts=float(dlts),
        mean_dlts_se=float(dlts_se),
        mean_sample_size=float(size),
        mean_sample_size_se=float(size_se),
    )
