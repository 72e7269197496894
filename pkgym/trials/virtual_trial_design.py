"""A virtual group-sequential trial's design (arms, looks, boundaries) and its outcome types.

See :mod:`pkgym.trials.virtual_trial` for what the trial does with it. With ``k`` arms (arm 0
the control) there are ``k - 1`` comparisons with the control, each with Lan-DeMets boundaries
at level ``alpha / (k - 1)`` (Bonferroni), so the family-wise type I error is at most ``alpha``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pkgym.trials.group_sequential import (
    SPENDING_FUNCTIONS,
    GroupSequentialBoundaries,
    spending_boundaries,
)

ALTERNATIVES = ("two-sided", "greater", "less")
ALLOCATIONS = ("equal", "neyman", "thall_wathen")
MULTI_ARM_ALLOCATIONS = ("equal", "thall_wathen")
"""Allocations allowed with more than two arms (Neyman's target is for two arms)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VirtualTrialDesign:
    """A group-sequential trial of ``k >= 2`` dosing policies, each compared with the control.

    Attributes:
        env_id: the registered pkgym env the patients live in.
        arms: names of the arms, control first, distinct, at least two.
        endpoint: the score column compared (higher is better for ``"greater"``).
        max_patients: maximum total sample size (all arms).
        fractions: sample-size fractions of the looks, increasing, the last 1.
        alpha: family-wise type I error (two-sided total for ``"two-sided"``), split equally
            over the ``k - 1`` comparisons (Bonferroni).
        alternative: ``"two-sided"``, ``"greater"`` or ``"less"`` (experimental vs control).
        spending: Lan-DeMets spending, ``"obrien_fleming"`` or ``"pocock"``.
        allocation: ``"equal"``, ``"neyman"`` (two arms) or ``"thall_wathen"``; see
            :mod:`pkgym.trials.allocation`.
        block_size: patients per randomisation block.
        burn_in: patients allocated equally before adaptive allocation starts.
        allocation_bounds: lowest and highest probability of an experimental arm under
            adaptive allocation (the floor is lowered to ``1 / m`` when ``m`` active arms cannot
            all get it).
        futility_z: non-binding futility bound: at an interim look an arm whose oriented z is
            below it is dropped; ``None`` (default) for no futility stopping.
    """

    env_id: str
    arms: tuple[str, ...]
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
    futility_z: float | None = None

    def __post_init__(self) -> None:
        """Validate the choices and sizes."""
        for field, value, allowed in (("alternative", self.alternative, ALTERNATIVES),
                                      ("spending", self.spending, SPENDING_FUNCTIONS),
                                      ("allocation", self.allocation, ALLOCATIONS)):
            if value not in allowed:
                raise ValueError(f"{field} must be one of {allowed}, got {value!r}")
        _check_arms(self.arms, self.allocation)
        if self.futility_z is not None and not math.isfinite(self.futility_z):
            raise ValueError(f"futility_z must be a finite z value or None, got {self.futility_z}")
        if self.block_size < 1 or self.burn_in < 0:
            raise ValueError(f"block_size must be >= 1 and burn_in >= 0, got {self.block_size}, "
                             f"{self.burn_in}")
        low, high = self.allocation_bounds
        if not 0.0 < low <= 0.5 <= high < 1.0:
            raise ValueError(f"allocation_bounds must satisfy 0 < low <= 0.5 <= high < 1, got "
                             f"{self.allocation_bounds}")
        sizes = self.look_sizes
        if sizes[0] < 2 * self.n_arms or np.any(np.diff(sizes) <= 0):
            raise ValueError(f"max_patients must give >= 2 patients per arm ({2 * self.n_arms})"
                             f" at the first look and distinct looks, got look sizes "
                             f"{sizes.tolist()}")

    @property
    def n_arms(self) -> int:
        """Number of arms, control included."""
        return len(self.arms)

    @property
    def n_comparisons(self) -> int:
        """Number of experimental-versus-control comparisons, ``k - 1``."""
        return len(self.arms) - 1

    @property
    def comparison_suffixes(self) -> tuple[str, ...]:
        """Column suffix of each comparison in the trials table: ``""`` for two arms, else ``_j``.

        Examples:
            >>> VirtualTrialDesign(env_id="e", arms=("a", "b", "c"), endpoint="y",
            ...                    max_patients=90).comparison_suffixes
            ('_1', '_2')
        """
        if self.n_comparisons == 1:
            return ("",)
        return tuple(f"_{j}" for j in range(1, self.n_arms))

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
        """Each comparison's efficacy boundaries, at level ``alpha / (k - 1)`` (Bonferroni).

        Examples:
            >>> d = VirtualTrialDesign(env_id="e", arms=("a", "b"), endpoint="y",
            ...                        max_patients=90, alpha=0.025, alternative="greater")
            >>> [round(z, 3) for z in d.boundaries().z_bounds]
            [3.71, 2.511, 1.993]
            >>> from dataclasses import replace
            >>> d3 = replace(d, arms=("a", "b", "c"), alpha=0.05)
            >>> [round(z, 3) for z in d3.boundaries().z_bounds]
            [3.71, 2.511, 1.993]
        """
        return spending_boundaries(self.fractions, self.alpha / self.n_comparisons, self.sided,
                                   self.spending)


def _check_arms(arms: tuple[str, ...], allocation: str) -> None:
    """At least two distinct arm names; Neyman allocation only with two."""
    if len(arms) < 2:
        raise ValueError(f"arms must name a control and at least one experimental arm (>= 2 "
                         f"names, control first), got {tuple(arms)}")
    duplicated = sorted({arm for arm in arms if list(arms).count(arm) > 1})
    if duplicated:
        raise ValueError(f"arms must be distinct names, got {duplicated} more than once in "
                         f"{tuple(arms)}")
    if len(arms) > 2 and allocation not in MULTI_ARM_ALLOCATIONS:
        raise ValueError(f"allocation {allocation!r} is two-arm only; with {len(arms)} arms "
                         f"allocation must be one of {MULTI_ARM_ALLOCATIONS}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ComparisonOutcome:
    """What one trial concluded about one experimental arm versus the control.

    Attributes:
        arm: the experimental arm's name.
        rejected: H0 rejected for this arm (its efficacy boundary crossed).
        futile: dropped at an interim look for futility (``z < futility_z``).
        decision_look: the 1-based look at which the arm left the trial (crossed, futile, or the
            trial's last look).
        n_experimental: patients on this arm.
        estimate: mean endpoint difference, this arm minus control, at ``decision_look``.
        standard_error: Welch standard error of ``estimate``.
        z: the oriented z-equivalent statistic (large favours the alternative).
        ci_low: lower end of the repeated confidence interval ``estimate -/+ q_k SE``
            (Jennison & Turnbull 2000, ch. 9), simultaneous over looks and, by Bonferroni, over
            comparisons; ``q_k`` is the Welch t quantile with the tail probability of ``c_k``.
        ci_high: upper end of that interval.
        p_value: stage-wise-ordering p-value, Bonferroni-adjusted (times ``k - 1``, at most 1).
    """

    arm: str
    rejected: bool
    futile: bool
    decision_look: int
    n_experimental: int
    estimate: float
    standard_error: float
    z: float
    ci_low: float
    ci_high: float
    p_value: float


@dataclass(frozen=True, slots=True, kw_only=True)
class TrialOutcome:
    """What one trial concluded.

    The two-arm fields ``estimate``, ``standard_error``, ``z``, ``ci_low``, ``ci_high`` and
    ``p_value`` are those of the single comparison; with more arms read ``comparisons``.

    Attributes:
        rejected: H0 rejected for at least one comparison.
        stopped_look: the 1-based look at which the trial ended.
        n_enrolled: patients enrolled when it ended.
        n_per_arm: patients per arm, control first.
        comparisons: one per experimental arm, in arm order.
    """

    rejected: bool
    stopped_look: int
    n_enrolled: int
    n_per_arm: tuple[int, ...]
    comparisons: tuple[ComparisonOutcome, ...]

    @property
    def estimate(self) -> float:
        """Two arms: the mean difference, experimental minus control."""
        return self._single().estimate

    @property
    def standard_error(self) -> float:
        """Two arms: Welch standard error of ``estimate``."""
        return self._single().standard_error

    @property
    def z(self) -> float:
        """Two arms: the oriented z-equivalent statistic at the last look."""
        return self._single().z

    @property
    def ci_low(self) -> float:
        """Two arms: lower end of the repeated confidence interval."""
        return self._single().ci_low

    @property
    def ci_high(self) -> float:
        """Two arms: upper end of the repeated confidence interval."""
        return self._single().ci_high

    @property
    def p_value(self) -> float:
        """Two arms: the stage-wise-ordering p-value."""
        return self._single().p_value

    def _single(self) -> ComparisonOutcome:
        """The only comparison; a multi-arm trial has one per arm."""
        if len(self.comparisons) != 1:
            raise ValueError(f"this trial has {len(self.comparisons)} comparisons; read "
                             f"outcome.comparisons")
        return self.comparisons[0]
