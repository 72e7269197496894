"""Virtual group-sequential trials of dosing policies: two arms, or many arms against a control.

A :class:`VirtualTrialDesign` compares ``k - 1 >= 1`` experimental arms with one control arm
(arm 0) on one endpoint (an env score such as vancomycin ``in_target_range_fraction``), a
many-to-one multi-arm multi-stage (MAMS) trial (Magirr, Jaki & Whitehead 2012, Biometrika
99:494; Wason, Stecchina & Jaki 2016, Stat Methods Med Res 25:716). Patients are enrolled in
blocks; at each planned look (a fraction of the maximum total sample size) each active
experimental arm's Welch t-statistic against the control (mean difference, experimental minus
control), mapped to the normal quantile with the same tail probability under its
Welch-Satterthwaite degrees of freedom, is compared with Lan-DeMets O'Brien-Fleming (or Pocock)
boundaries from :mod:`pkgym.trials.group_sequential`.

Family-wise error: each comparison's boundaries spend ``alpha / (k - 1)`` (Bonferroni), which
bounds the probability of any false rejection by ``alpha`` whatever the correlation through the
shared control (conservative: the exact Dunnett-type boundaries of Magirr et al. are lower).
With two arms this is the ordinary two-arm design.

Decisions: an arm that crosses its boundary is declared different from control (superior for a
one-sided ``"greater"`` test) and *dropped*, its decision made; optional non-binding futility
(``futility_z``) drops an arm whose z is below it at an interim look. Boundaries ignore futility,
so the FWER is preserved and power falls slightly. The trial stops when no experimental arm is
left or at the last look; the patients of the later looks then go to the remaining arms.
Boundaries are used at the planned total-sample-size fractions; when arms are dropped a
comparison's actual information fractions drift from them, an approximation that the Bonferroni
margin absorbs (measure it with a null source, as the tests do). The t-to-z mapping makes each
look's test exact for normal endpoints; bounded or skewed endpoints with a handful of patients
per arm at the first look can still be somewhat liberal.

Allocation rules (equal, two-arm Neyman, multi-arm Thall-Wathen) live in
:mod:`pkgym.trials.allocation`. :func:`run_virtual_trial` runs one trial on newly simulated
patients; :func:`simulate_virtual_trials` estimates per-comparison power (or type I error), the
family-wise rejection rate, expected sample sizes and stopping probabilities, with Monte-Carlo
standard errors, from any :class:`~pkgym.trials.endpoints.EndpointSource`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import special

from pkgym.evaluation.policy import Policy
from pkgym.trials.allocation import allocation_probabilities, randomise
from pkgym.trials.endpoints import EndpointSource, simulate_endpoint_pool
from pkgym.trials.group_sequential import GroupSequentialBoundaries, stagewise_p_values
from pkgym.trials.virtual_trial_design import (
    ALLOCATIONS,
    ALTERNATIVES,
    MULTI_ARM_ALLOCATIONS,
    ComparisonOutcome,
    TrialOutcome,
    VirtualTrialDesign,
)
from pkgym.utils import as_generator

__all__ = ["ALLOCATIONS", "ALTERNATIVES", "MULTI_ARM_ALLOCATIONS", "ComparisonOutcome",
           "TrialOutcome", "VirtualTrialCharacteristics", "VirtualTrialDesign",
           "run_sequential_trial", "run_virtual_trial", "simulate_trial_rows",
           "simulate_virtual_trials", "summarise_virtual_trials"]


def run_sequential_trial(design: VirtualTrialDesign, source: EndpointSource,
                         seed: int | np.random.Generator | None,
                         boundaries: GroupSequentialBoundaries | None = None) -> TrialOutcome:
    """Enrol, allocate and test at each look until no experimental arm is left or it is full.

    Args:
        design: the trial design.
        source: potential outcomes of the enrolled patients, shape (n, n_arms) per call.
        seed: seed or Generator for patient draws and randomisation.
        boundaries: precomputed ``design.boundaries()`` (saves time over many trials).

    Examples:
        >>> from pkgym.trials.endpoints import GaussianEndpoints
        >>> d = VirtualTrialDesign(env_id="e", arms=("a", "b"), endpoint="y", max_patients=300)
        >>> run_sequential_trial(d, GaussianEndpoints((0.0, 1.0), (1.0, 1.0)), 0).rejected
        True
    """
    bounds = boundaries or design.boundaries()
    outcome = _run(design, source, as_generator(seed), bounds)
    comparisons = tuple(replace(c, p_value=float(_adjusted_p_values(
        design, bounds, np.array([c.decision_look]), np.array([c.z]))[0]))
        for c in outcome.comparisons)
    return replace(outcome, comparisons=comparisons)


@dataclass(frozen=True, slots=True)
class _Statistic:
    """A comparison's Welch statistics at one look."""

    estimate: float
    standard_error: float
    df: float
    z: float


def _run(design: VirtualTrialDesign, source: EndpointSource, rng: np.random.Generator,
         bounds: GroupSequentialBoundaries) -> TrialOutcome:
    """One trial, without its p-values (NaN)."""
    outcomes = np.asarray(source(design.max_patients, rng), dtype=np.float64)  # (n, n_arms)
    if outcomes.ndim != 2 or outcomes.shape[1] != design.n_arms:
        raise ValueError(f"source must give one column per arm ({design.n_arms}), got shape "
                         f"{outcomes.shape}")
    arms = np.zeros(design.max_patients, dtype=np.int64)
    active = np.ones(design.n_arms, dtype=bool)  # the control (arm 0) always enrols
    decisions: dict[int, tuple[int, bool, bool, _Statistic]] = {}
    enrolled, n_looks = 0, len(design.fractions)
    for look, size in enumerate(design.look_sizes, start=1):
        _enrol(design, outcomes, arms, active, enrolled, int(size), rng)
        enrolled = int(size)
        revealed = outcomes[np.arange(size), arms[:size]]
        for arm in np.flatnonzero(active[1:]) + 1:
            statistic = _compare(design, revealed, arms[:size], int(arm))
            z = abs(statistic.z) if design.sided == 2 else statistic.z
            crossed = z >= bounds.z_bounds[look - 1]
            futile = (not crossed and look < n_looks and design.futility_z is not None
                      and statistic.z < design.futility_z)
            if crossed or futile or look == n_looks:
                active[arm] = False
                decisions[int(arm)] = (look, bool(crossed), bool(futile), statistic)
        if not active[1:].any():
            break
    return _outcome(design, bounds, arms[:enrolled], look, decisions)


def _enrol(design: VirtualTrialDesign, outcomes: np.ndarray, arms: np.ndarray,
           active: np.ndarray, enrolled: int, size: int, rng: np.random.Generator) -> None:
    """Randomise patients ``enrolled..size`` block by block (fills ``arms`` in place)."""
    equal = active / active.sum()
    for start in range(enrolled, size, design.block_size):
        stop = min(start + design.block_size, size)
        p = equal if design.allocation == "equal" or start < design.burn_in else \
            allocation_probabilities(design, outcomes[:start], arms[:start], active)
        arms[start:stop] = randomise(stop - start, p, rng)


def _compare(design: VirtualTrialDesign, revealed: np.ndarray, arms: np.ndarray,
             arm: int) -> _Statistic:
    """Welch statistics of ``arm`` versus the control on the revealed outcomes."""
    estimate, se, df = _welch(revealed[arms == 0], revealed[arms == arm])
    sign = -1.0 if design.alternative == "less" else 1.0
    z = _z_equivalent(sign * estimate / se, df) if se > 0 else 0.0
    return _Statistic(estimate, se, df, z)


def _outcome(design: VirtualTrialDesign, bounds: GroupSequentialBoundaries, arms: np.ndarray,
             look: int, decisions: dict[int, tuple[int, bool, bool, _Statistic]]) -> TrialOutcome:
    """Assemble the trial's outcome from each arm's decision."""
    counts = np.bincount(arms, minlength=design.n_arms)
    comparisons = []
    for arm in range(1, design.n_arms):
        decision_look, crossed, futile, s = decisions[arm]
        bound = -float(special.stdtrit(s.df, special.ndtr(-bounds.z_bounds[decision_look - 1])))
        comparisons.append(ComparisonOutcome(
            arm=design.arms[arm], rejected=crossed, futile=futile, decision_look=decision_look,
            n_experimental=int(counts[arm]), estimate=s.estimate, standard_error=s.standard_error,
            z=s.z, ci_low=s.estimate - bound * s.standard_error,
            ci_high=s.estimate + bound * s.standard_error, p_value=float("nan")))
    return TrialOutcome(rejected=any(c.rejected for c in comparisons), stopped_look=look,
                        n_enrolled=len(arms), n_per_arm=tuple(int(n) for n in counts),
                        comparisons=tuple(comparisons))


def _adjusted_p_values(design: VirtualTrialDesign, bounds: GroupSequentialBoundaries,
                       looks: np.ndarray, zs: np.ndarray) -> np.ndarray:
    """Stage-wise p-values of one comparison, times ``k - 1`` (Bonferroni), at most 1."""
    raw = stagewise_p_values(bounds, looks, zs)
    return raw if design.n_comparisons == 1 else np.minimum(raw * design.n_comparisons, 1.0)


def run_virtual_trial(design: VirtualTrialDesign, policies: Sequence[Policy],
                      seed: int) -> TrialOutcome:
    """One trial on ``design.max_patients`` freshly simulated patients.

    Every patient's endpoint under each arm comes from
    :func:`~pkgym.evaluation.runner.run_policy` on the pinned patient; the trial reveals the
    arm the patient is randomised to.

    Args:
        design: the trial design.
        policies: one policy per arm, control first.
        seed: seed of the cohort (EVALUATION space), its noise and the randomisation.

    Examples:
        >>> import pkgym
        >>> class Fixed:
        ...     reads_hidden_state = False
        ...     def __init__(self, mg): self.mg, self.name = mg, f"{mg} mg"
        ...     def reset(self, n_envs): self.n = n_envs
        ...     def act(self, observation, info=None): return np.full(self.n, self.mg)
        >>> d = VirtualTrialDesign(env_id="pkgym/Vancomycin-v0", arms=("1 g", "1.5 g"),
        ...                        endpoint="in_target_range_fraction", max_patients=12)
        >>> run_virtual_trial(d, [Fixed(1000.0), Fixed(1500.0)], seed=0).n_enrolled <= 12
        True
    """
    if len(policies) != design.n_arms:
        raise ValueError(f"policies must give one policy per arm ({design.n_arms}, control "
                         f"first), got {len(policies)}")
    pool = simulate_endpoint_pool(design.env_id, policies, design.endpoint, design.max_patients,
                                  seed)
    return run_sequential_trial(design, pool, seed)


@dataclass(frozen=True, slots=True, kw_only=True)
class VirtualTrialCharacteristics:
    """Monte-Carlo operating characteristics of a design.

    Attributes:
        arms: the design's arm names, control first.
        rejection_rate: P(reject H0 for at least one comparison): power to find any arm, or the
            family-wise type I error under a null source; with two arms the usual power.
        rejection_rate_se: its Monte-Carlo standard error.
        comparison_rejection_rates: P(reject H0) per experimental arm (power per comparison).
            # (k - 1,)
        comparison_rejection_rate_ses: their Monte-Carlo standard errors.  # (k - 1,)
        expected_n: mean total sample size.
        expected_n_se: its Monte-Carlo standard error.
        expected_n_per_arm: mean patients per arm, control first.  # (k,)
        expected_n_per_arm_ses: their Monte-Carlo standard errors.  # (k,)
        stop_probabilities: P(trial ends at look k).  # (K,)
        seed: the root seed.
        trials: one row per simulated trial: ``rejected`` (any), ``stopped_look``,
            ``n_enrolled``, ``n_control`` and, per comparison, ``n_experimental``,
            ``rejected``, ``estimate``, ``standard_error``, ``z``, ``ci_low``, ``ci_high``,
            ``p_value``, ``futile``, ``decision_look``, suffixed by
            ``design.comparison_suffixes`` (no suffix with two arms).
    """

    arms: tuple[str, ...]
    rejection_rate: float
    rejection_rate_se: float
    comparison_rejection_rates: tuple[float, ...]
    comparison_rejection_rate_ses: tuple[float, ...]
    expected_n: float
    expected_n_se: float
    expected_n_per_arm: tuple[float, ...]
    expected_n_per_arm_ses: tuple[float, ...]
    stop_probabilities: tuple[float, ...]
    seed: int
    trials: pd.DataFrame


def simulate_virtual_trials(design: VirtualTrialDesign, source: EndpointSource, n_trials: int,
                            seed: int) -> VirtualTrialCharacteristics:
    """Run ``n_trials`` independent trials (child seeds of ``seed``) and summarise them.

    Args:
        design: the trial design.
        source: endpoint source with one column per arm (e.g. an
            :class:`~pkgym.trials.endpoints.EndpointPool` from
            :func:`~pkgym.trials.endpoints.simulate_endpoint_pool`, or a synthetic law).
        n_trials: number of simulated trials.
        seed: root seed.

    Examples:
        >>> from pkgym.trials.endpoints import GaussianEndpoints
        >>> d = VirtualTrialDesign(env_id="e", arms=("a", "b"), endpoint="y", max_patients=60)
        >>> oc = simulate_virtual_trials(d, GaussianEndpoints((0.0, 0.0), (1.0, 1.0)), 50, seed=1)
        >>> 0.0 <= oc.rejection_rate <= 1.0, oc.expected_n <= 60
        (True, True)
    """
    if n_trials < 2:
        raise ValueError(f"n_trials must be >= 2, got {n_trials}")
    return summarise_virtual_trials(design, simulate_trial_rows(design, source, n_trials, seed),
                                    seed)


def simulate_trial_rows(design: VirtualTrialDesign, source: EndpointSource, n_trials: int,
                        seed: int, *, first_trial: int = 0) -> pd.DataFrame:
    """One row per trial for trials ``first_trial .. first_trial+n_trials-1`` (no p-values).

    Trial k draws from child k of ``SeedSequence(seed)`` (``spawn_key=(k,)``), so it is the
    same trial however many trials are simulated and in whichever chunk: concatenating the
    rows of consecutive chunks gives the rows of one call, which is what lets the trials run
    as shards (:mod:`pkgym.scale.trials`). ``p_value`` columns are NaN until
    :func:`summarise_virtual_trials` fills them in.

    Examples:
        >>> from pkgym.trials.endpoints import GaussianEndpoints
        >>> d = VirtualTrialDesign(env_id="e", arms=("a", "b"), endpoint="y", max_patients=40)
        >>> source = GaussianEndpoints((0.0, 0.5), (1.0, 1.0))
        >>> whole = simulate_trial_rows(d, source, 5, seed=3)
        >>> tail = simulate_trial_rows(d, source, 2, seed=3, first_trial=3)
        >>> tail.equals(whole.iloc[3:].reset_index(drop=True))
        True
    """
    if n_trials < 1 or first_trial < 0:
        raise ValueError(f"n_trials must be >= 1 and first_trial >= 0, got {n_trials} and "
                         f"{first_trial}")
    bounds = design.boundaries()
    root = np.random.SeedSequence(seed)
    children = (np.random.SeedSequence(root.entropy, spawn_key=(first_trial + k,))
                for k in range(n_trials))
    rows = [_run(design, source, np.random.default_rng(child), bounds) for child in children]
    return pd.DataFrame([_as_row(row, design.comparison_suffixes) for row in rows])


def summarise_virtual_trials(design: VirtualTrialDesign, trials: pd.DataFrame,
                             seed: int) -> VirtualTrialCharacteristics:
    """Operating characteristics of the rows of :func:`simulate_trial_rows` (>= 2 trials).

    Fills in each comparison's stage-wise p-values (Bonferroni-adjusted) and estimates the
    rejection rates, sample sizes and stopping probabilities with Monte-Carlo SEs.
    """
    if len(trials) < 2:
        raise ValueError(f"n_trials must be >= 2, got {len(trials)}")
    bounds = design.boundaries()
    trials = trials.reset_index(drop=True)
    for suffix in design.comparison_suffixes:
        trials[f"p_value{suffix}"] = _adjusted_p_values(
            design, bounds, trials[f"decision_look{suffix}"].to_numpy(),
            trials[f"z{suffix}"].to_numpy())
    looks = trials["stopped_look"].to_numpy()
    stops = tuple(float(np.mean(looks == k)) for k in range(1, len(design.fractions) + 1))
    rejected = _mean_and_se(trials, ["rejected"])
    per_comparison = _mean_and_se(trials, [f"rejected{s}" for s in design.comparison_suffixes])
    per_arm = _mean_and_se(trials, ["n_control"]
                           + [f"n_experimental{s}" for s in design.comparison_suffixes])
    total = _mean_and_se(trials, ["n_enrolled"])
    return VirtualTrialCharacteristics(
        arms=design.arms, rejection_rate=rejected[0][0], rejection_rate_se=rejected[1][0],
        comparison_rejection_rates=per_comparison[0],
        comparison_rejection_rate_ses=per_comparison[1], expected_n=total[0][0],
        expected_n_se=total[1][0], expected_n_per_arm=per_arm[0],
        expected_n_per_arm_ses=per_arm[1], stop_probabilities=stops, seed=int(seed),
        trials=trials)


def _mean_and_se(trials: pd.DataFrame,
                 columns: list[str]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Column means and their Monte-Carlo standard errors."""
    values = trials[columns].to_numpy(dtype=np.float64)  # (n_trials, n_columns)
    means = values.mean(axis=0)
    ses = values.std(axis=0, ddof=1) / np.sqrt(len(values))
    return tuple(float(m) for m in means), tuple(float(s) for s in ses)


def _as_row(outcome: TrialOutcome, suffixes: tuple[str, ...]) -> dict[str, float | int | bool]:
    """Flatten a TrialOutcome into a table row (per-comparison columns suffixed)."""
    row: dict[str, float | int | bool] = {
        "rejected": outcome.rejected, "stopped_look": outcome.stopped_look,
        "n_enrolled": outcome.n_enrolled, "n_control": outcome.n_per_arm[0]}
    for c, suffix in zip(outcome.comparisons, suffixes, strict=True):
        row.update({f"n_experimental{suffix}": c.n_experimental, f"rejected{suffix}": c.rejected,
                    f"estimate{suffix}": c.estimate,
                    f"standard_error{suffix}": c.standard_error, f"z{suffix}": c.z,
                    f"ci_low{suffix}": c.ci_low, f"ci_high{suffix}": c.ci_high,
                    f"p_value{suffix}": c.p_value, f"futile{suffix}": c.futile,
                    f"decision_look{suffix}": c.decision_look})
    return row


def _welch(control: np.ndarray, experimental: np.ndarray) -> tuple[float, float, float]:
    """Mean difference (experimental minus control), its Welch SE (0 if undefined) and df."""
    groups = (control, experimental)
    if min(len(g) for g in groups) < 2:
        return 0.0, 0.0, 1.0
    estimate = float(groups[1].mean() - groups[0].mean())
    parts = [float(g.var(ddof=1)) / len(g) for g in groups]
    variance = sum(parts)
    if variance <= 0:
        return estimate, 0.0, 1.0
    df = variance ** 2 / sum(v ** 2 / (len(g) - 1) for v, g in zip(parts, groups, strict=True))
    return estimate, float(np.sqrt(variance)), float(df)


def _z_equivalent(t_statistic: float, df: float) -> float:
    """The normal quantile with the same tail probability as a Welch t (small-sample safe)."""
    return -float(special.ndtri(special.stdtr(df, -t_statistic)))
