"""Virtual two-arm trials of dosing policies with group-sequential efficacy monitoring.

A :class:`VirtualTrialDesign` compares an experimental arm with a control arm on one endpoint
(an env score such as vancomycin ``in_target_range_fraction``). Patients are enrolled in blocks;
at each planned look (a fraction of the maximum sample size) the two-sample Welch t-statistic of
the mean difference (experimental minus control), mapped to the normal quantile with the same tail
probability under its Welch-Satterthwaite degrees of freedom, is compared with Lan-DeMets
O'Brien-Fleming (or Pocock) boundaries from :mod:`pkgym.trials.group_sequential`, and the trial
stops for efficacy when it crosses. Boundaries are used at the planned fractions (sample-size
based). The t-to-z mapping makes each look's test exact for normal endpoints; the joint law is
the canonical one only asymptotically, and bounded or skewed endpoints with a handful of patients
per arm at the first look can still be somewhat liberal (measure it with a null source).

Allocation is either equal (permuted blocks) or response-adaptive towards the Neyman allocation
``rho = sigma_E / (sigma_E + sigma_C)`` (the variance-minimising target for a difference of means;
Neyman 1934; as a response-adaptive target for continuous outcomes see Zhang & Rosenberger 2006,
Biometrics 62:562, and Hu & Rosenberger 2006, *The Theory of Response-Adaptive Randomization*,
ch. 5): after a burn-in of equal allocation, each block allocates ``rho`` (estimated from the
outcomes so far, capped to ``allocation_bounds``) with random rounding. The target depends only on
the arms' standard deviations, not on the mean difference, so the z-test keeps its level.

:func:`run_virtual_trial` runs one trial on newly simulated patients;
:func:`simulate_virtual_trials` estimates power (or type I error), expected sample size and
stopping probabilities, with Monte-Carlo standard errors, from any
:class:`~pkgym.trials.endpoints.EndpointSource`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import special

from pkgym.evaluation.policy import Policy
from pkgym.trials.endpoints import EndpointSource, simulate_endpoint_pool
from pkgym.trials.group_sequential import (
    SPENDING_FUNCTIONS,
    GroupSequentialBoundaries,
    spending_boundaries,
    stagewise_p_values,
)
from pkgym.utils import as_generator

ALTERNATIVES = ("two-sided", "greater", "less")
ALLOCATIONS = ("equal", "neyman")


@dataclass(frozen=True, slots=True, kw_only=True)
class VirtualTrialDesign:
    """A two-arm group-sequential trial of dosing policies.

    Attributes:
        env_id: the registered pkgym env the patients live in.
        arms: names of the (control, experimental) arms, for reports.
        endpoint: the score column compared (higher is better for ``"greater"``).
        max_patients: maximum total sample size (both arms).
        fractions: sample-size fractions of the looks, increasing, the last 1.
        alpha: type I error (two-sided total for ``"two-sided"``).
        alternative: ``"two-sided"``, ``"greater"`` or ``"less"`` (experimental vs control).
        spending: Lan-DeMets spending, ``"obrien_fleming"`` or ``"pocock"``.
        allocation: ``"equal"`` or ``"neyman"`` (response-adaptive).
        block_size: patients per randomisation block.
        burn_in: patients allocated equally before adaptive allocation starts.
        allocation_bounds: lowest and highest probability of the experimental arm.
    """

    env_id: str
    arms: tuple[str, str]
    endpoint: str
    max_patients: int
    fractions: tuple[float, ...] = (1 / 3, 2 / 3, 1.0)
    alpha: float = 0.05
    alternative: str = "two-sided"
    spending: str = "obrien_fleming"
    allocation: str = "equal"
    block_size: int = 4
    burn_in: int = 20
    allocation_bounds: tuple[float, float] = (0.2, 0.8)

    def __post_init__(self) -> None:
        """Validate the choices and sizes."""
        for field, value, allowed in (("alternative", self.alternative, ALTERNATIVES),
                                      ("spending", self.spending, SPENDING_FUNCTIONS),
                                      ("allocation", self.allocation, ALLOCATIONS)):
            if value not in allowed:
                raise ValueError(f"{field} must be one of {allowed}, got {value!r}")
        if len(self.arms) != 2:
            raise ValueError(f"arms must name (control, experimental), got {self.arms}")
        if self.block_size < 1 or self.burn_in < 0:
            raise ValueError(f"block_size must be >= 1 and burn_in >= 0, got {self.block_size}, "
                             f"{self.burn_in}")
        low, high = self.allocation_bounds
        if not 0.0 < low <= 0.5 <= high < 1.0:
            raise ValueError(f"allocation_bounds must satisfy 0 < low <= 0.5 <= high < 1, got "
                             f"{self.allocation_bounds}")
        sizes = self.look_sizes
        if sizes[0] < 4 or np.any(np.diff(sizes) <= 0):
            raise ValueError(f"max_patients must give >= 4 patients at the first look and "
                             f"distinct looks, got look sizes {sizes.tolist()}")

    @property
    def sided(self) -> int:
        """2 for a two-sided alternative, else 1."""
        return 2 if self.alternative == "two-sided" else 1

    @property
    def look_sizes(self) -> np.ndarray:
        """Total patients enrolled at each look, shape (K,).

        Examples:
            >>> VirtualTrialDesign(env_id="e", arms=("a", "b"), endpoint="y",
            ...                    max_patients=90).look_sizes.tolist()
            [30, 60, 90]
        """
        return np.round(np.asarray(self.fractions) * self.max_patients).astype(int)

    def boundaries(self) -> GroupSequentialBoundaries:
        """The efficacy boundaries of this design.

        Examples:
            >>> d = VirtualTrialDesign(env_id="e", arms=("a", "b"), endpoint="y",
            ...                        max_patients=90, alpha=0.025, alternative="greater")
            >>> [round(z, 3) for z in d.boundaries().z_bounds]
            [3.71, 2.511, 1.993]
        """
        return spending_boundaries(self.fractions, self.alpha, self.sided, self.spending)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrialOutcome:
    """What one trial concluded.

    Attributes:
        rejected: H0 rejected (efficacy boundary crossed).
        stopped_look: the 1-based look at which the trial ended.
        n_enrolled: patients enrolled when it ended.
        n_per_arm: (control, experimental) patients.
        estimate: mean endpoint difference, experimental minus control.
        standard_error: Welch standard error of ``estimate``.
        z: the oriented z-equivalent statistic at the last look (large favours the
            alternative).
        ci_low: lower end of the repeated confidence interval ``estimate -/+ q_k SE``
            (Jennison & Turnbull 2000, ch. 9), simultaneous over looks; ``q_k`` is the Welch t
            quantile with the tail probability of the boundary ``c_k``.
        ci_high: upper end of that interval.
        p_value: stage-wise-ordering p-value.
    """

    rejected: bool
    stopped_look: int
    n_enrolled: int
    n_per_arm: tuple[int, int]
    estimate: float
    standard_error: float
    z: float
    ci_low: float
    ci_high: float
    p_value: float


def run_sequential_trial(design: VirtualTrialDesign, source: EndpointSource,
              seed: int | np.random.Generator | None,
              boundaries: GroupSequentialBoundaries | None = None) -> TrialOutcome:
    """Enrol, allocate and test at each look until a boundary is crossed or the trial is full.

    Args:
        design: the trial design.
        source: potential outcomes of the enrolled patients, shape (n, 2) per call.
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
    p_value = stagewise_p_values(bounds, np.array([outcome.stopped_look]), np.array([outcome.z]))
    return replace(outcome, p_value=float(p_value[0]))


def _run(design: VirtualTrialDesign, source: EndpointSource, rng: np.random.Generator,
         bounds: GroupSequentialBoundaries) -> TrialOutcome:
    """One trial, without its p-value (NaN)."""
    outcomes = np.asarray(source(design.max_patients, rng), dtype=np.float64)  # (n, 2)
    arms = np.zeros(design.max_patients, dtype=np.int64)
    sign = -1.0 if design.alternative == "less" else 1.0
    enrolled = 0
    for look, size in enumerate(design.look_sizes, start=1):
        for start in range(enrolled, size, design.block_size):
            stop = min(start + design.block_size, size)
            p = _allocation_probability(design, outcomes[:start], arms[:start])
            arms[start:stop] = _randomise(stop - start, p, rng)
        enrolled = size
        estimate, se, df = _welch(outcomes[np.arange(size), arms[:size]], arms[:size])
        z = _z_equivalent(sign * estimate / se, df) if se > 0 else 0.0
        crossed = (abs(z) if design.sided == 2 else z) >= bounds.z_bounds[look - 1]
        if crossed or look == len(design.fractions):
            break
    bound = -float(special.stdtrit(df, special.ndtr(-bounds.z_bounds[look - 1])))
    n_experimental = int(arms[:enrolled].sum())
    return TrialOutcome(rejected=bool(crossed), stopped_look=look, n_enrolled=int(enrolled),
                        n_per_arm=(int(enrolled) - n_experimental, n_experimental),
                        estimate=estimate, standard_error=se, z=z, ci_low=estimate - bound * se,
                        ci_high=estimate + bound * se, p_value=float("nan"))


def run_virtual_trial(design: VirtualTrialDesign, policies: Sequence[Policy],
                      seed: int) -> TrialOutcome:
    """One trial on ``design.max_patients`` freshly simulated patients.

    Every patient's endpoint under each arm comes from
    :func:`~pkgym.evaluation.runner.run_policy` on the pinned patient; the trial reveals the
    arm the patient is randomised to.

    Args:
        design: the trial design.
        policies: the (control, experimental) policies.
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
    if len(policies) != 2:
        raise ValueError(f"policies must be (control, experimental), got {len(policies)}")
    pool = simulate_endpoint_pool(design.env_id, policies, design.endpoint, design.max_patients,
                                  seed)
    return run_sequential_trial(design, pool, seed)


@dataclass(frozen=True, slots=True, kw_only=True)
class VirtualTrialCharacteristics:
    """Monte-Carlo operating characteristics of a design.

    Attributes:
        rejection_rate: P(reject H0): power, or type I error under a null source.
        rejection_rate_se: its Monte-Carlo standard error.
        expected_n: mean total sample size.
        expected_n_se: its Monte-Carlo standard error.
        stop_probabilities: P(trial ends at look k).  # (K,)
        seed: the root seed.
        trials: one row per simulated trial (the :class:`TrialOutcome` fields).
    """

    rejection_rate: float
    rejection_rate_se: float
    expected_n: float
    expected_n_se: float
    stop_probabilities: tuple[float, ...]
    seed: int
    trials: pd.DataFrame


def simulate_virtual_trials(design: VirtualTrialDesign, source: EndpointSource, n_trials: int,
                            seed: int) -> VirtualTrialCharacteristics:
    """Run ``n_trials`` independent trials (child seeds of ``seed``) and summarise them.

    Args:
        design: the trial design.
        source: endpoint source (e.g. an :class:`~pkgym.trials.endpoints.EndpointPool` from
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
    bounds = design.boundaries()
    children = np.random.SeedSequence(seed).spawn(n_trials)
    rows = [_run(design, source, np.random.default_rng(child), bounds) for child in children]
    trials = pd.DataFrame([_as_row(row) for row in rows])
    trials["p_value"] = stagewise_p_values(bounds, trials["stopped_look"].to_numpy(),
                                           trials["z"].to_numpy())
    rejected = trials["rejected"].to_numpy(dtype=np.float64)
    sizes = trials["n_enrolled"].to_numpy(dtype=np.float64)
    looks = trials["stopped_look"].to_numpy()
    stops = tuple(float(np.mean(looks == k)) for k in range(1, len(design.fractions) + 1))
    return VirtualTrialCharacteristics(
        rejection_rate=float(rejected.mean()),
        rejection_rate_se=float(rejected.std(ddof=1) / np.sqrt(n_trials)),
        expected_n=float(sizes.mean()), expected_n_se=float(sizes.std(ddof=1) / np.sqrt(n_trials)),
        stop_probabilities=stops, seed=int(seed), trials=trials)


def _as_row(outcome: TrialOutcome) -> dict[str, float | int | bool]:
    """Flatten a TrialOutcome into a table row."""
    control, experimental = outcome.n_per_arm
    return {"rejected": outcome.rejected, "stopped_look": outcome.stopped_look,
            "n_enrolled": outcome.n_enrolled, "n_control": control,
            "n_experimental": experimental, "estimate": outcome.estimate,
            "standard_error": outcome.standard_error, "z": outcome.z, "ci_low": outcome.ci_low,
            "ci_high": outcome.ci_high, "p_value": outcome.p_value}


def _welch(values: np.ndarray, arms: np.ndarray) -> tuple[float, float, float]:
    """Mean difference (arm 1 minus arm 0), its Welch SE (0 if undefined) and Welch df."""
    groups = [values[arms == a] for a in (0, 1)]
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


def _allocation_probability(design: VirtualTrialDesign, outcomes: np.ndarray,
                            arms: np.ndarray) -> float:
    """P(experimental) for the next block: 1/2, or the capped estimated Neyman allocation."""
    if design.allocation == "equal" or len(arms) < design.burn_in:
        return 0.5
    revealed = outcomes[np.arange(len(arms)), arms]
    counts = np.bincount(arms, minlength=2)
    if counts.min() < 2:
        return 0.5
    sums = np.bincount(arms, weights=revealed, minlength=2)
    squares = np.bincount(arms, weights=revealed ** 2, minlength=2)
    sds = np.sqrt(np.maximum(squares - sums ** 2 / counts, 0.0) / (counts - 1))
    if sds.sum() <= 0:
        return 0.5
    low, high = design.allocation_bounds
    return float(np.clip(sds[1] / sds.sum(), low, high))


def _randomise(n: int, p: float, rng: np.random.Generator) -> np.ndarray:
    """A block of ``n`` assignments with ``n p`` (randomly rounded) experimental, permuted."""
    n_experimental = int(np.floor(n * p + rng.random()))
    return rng.permutation(np.repeat([0, 1], [n - n_experimental, n_experimental]))
