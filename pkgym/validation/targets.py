"""What a validation check is: an observed population quantity, its simulated twin, a rule.

Every model that meets real patients (``pkgym validate``) answers with a
:class:`ValidationResult`: a list of :class:`Target` rows (pass/fail against a stated
tolerance, or reported only), the tables behind them and VPC-style panels (observed vs
simulated quantiles by group) that the report draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

RULES = ("relative", "absolute", "at_most", "report")
"""How a target's tolerance reads: ``relative`` |sim/obs - 1| <= tol; ``absolute``
|sim - obs| <= tol; ``at_most`` sim <= obs + tol; ``report`` no pass/fail."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """One population-level check of a model against real (published or individual) data.

    Attributes:
        model: which model or env family, e.g. ``"warfarin"``.
        name: what is compared, with its unit, e.g. ``"median dose, VKORC1 G/A (mg/day)"``.
        observed: the real value.
        simulated: the model's value for the same patients or protocol.
        rule: one of :data:`RULES`.
        tolerance: the allowed difference under ``rule`` (``nan`` for ``report``).
        source: citation of the observed value (paper, table; or data set and split).
        split: ``"training"``, ``"held-out"`` or ``""`` (a published summary).
        n_observed: patients behind the observed value, when known.
    """

    model: str
    name: str
    observed: float
    simulated: float
    rule: str
    tolerance: float
    source: str
    split: str = ""
    n_observed: int | None = None

    def __post_init__(self) -> None:
        """The rule is known and the tolerance is a number >= 0 unless only reported."""
        if self.rule not in RULES:
            raise ValueError(f"rule: {self.rule!r} is not one of {list(RULES)}")
        if self.rule != "report" and not (math.isfinite(self.tolerance) and self.tolerance >= 0):
            raise ValueError(f"tolerance of {self.name!r} must be finite and >= 0, got "
                             f"{self.tolerance}")

    @property
    def difference(self) -> float:
        """``simulated / observed - 1`` for a relative rule, else ``simulated - observed``."""
        if self.rule == "relative":
            return self.simulated / self.observed - 1.0 if self.observed else math.inf
        return self.simulated - self.observed

    @property
    def passed(self) -> bool | None:
        """Whether the target is met (``None`` when only reported).

        Examples:
            >>> Target(model="m", name="x", observed=4.0, simulated=4.1, rule="relative",
            ...        tolerance=0.05, source="s").passed
            True
        """
        if self.rule == "report":
            return None
        if not (math.isfinite(self.simulated) and math.isfinite(self.observed)):
            return False
        if self.rule == "at_most":
            return self.simulated <= self.observed + self.tolerance
        return abs(self.difference) <= self.tolerance + 1e-12


@dataclass(frozen=True, slots=True, kw_only=True)
class Panel:
    """A VPC-style panel: observed and simulated values of one quantity, by group.

    Attributes:
        title: the panel's title, e.g. ``"Stable dose by VKORC1 genotype"``.
        unit: the value's unit for the axis, e.g. ``"mg/day"``.
        observed: columns ``group`` (str) and ``value`` (float), one row per real patient.
        simulated: columns ``group``, ``value`` and ``replicate`` (int), one row per virtual
            patient; quantiles are computed per replicate to draw their spread.
        log_scale: draw the value axis on a log scale.
    """

    title: str
    unit: str
    observed: pd.DataFrame
    simulated: pd.DataFrame
    log_scale: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidationResult:
    """What one model's validation found.

    Attributes:
        model: the model or env family validated.
        title: one line for the report's heading.
        targets: the checks, in the order the report lists them.
        panels: VPC-style panels for the report.
        tables: further tables, by name (written as CSV beside the report).
        notes: paragraphs the report prints under the heading (data, method, caveats).
    """

    model: str
    title: str
    targets: tuple[Target, ...]
    panels: tuple[Panel, ...] = ()
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def failed(self) -> tuple[Target, ...]:
        """The targets with a rule that are not met."""
        return tuple(t for t in self.targets if t.passed is False)

    def target_table(self) -> pd.DataFrame:
        """One row per target (model, name, split, n, observed, simulated, rule, passed...)."""
        return pd.DataFrame([{
            "model": t.model, "target": t.name, "split": t.split,
            "n_observed": t.n_observed if t.n_observed is not None else np.nan,
            "observed": t.observed, "simulated": t.simulated, "difference": t.difference,
            "rule": t.rule, "tolerance": t.tolerance,
            "passed": {True: "pass", False: "FAIL", None: "report"}[t.passed],
            "source": t.source} for t in self.targets])
