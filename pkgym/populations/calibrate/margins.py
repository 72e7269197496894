"""The targets of covariate calibration: margins of a real covariate table.

A :class:`Marginals` holds what a virtual population should match: category shares of one
column or of two crossed columns, means and SDs; :func:`marginals_from_table` takes them from
a real table. The solvers that reach them are in :mod:`pkgym.populations.calibrate.covariates`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MarginKey = str | tuple[str, str]
"""A column name, or two column names for a cross-classified (joint) margin."""


@dataclass(frozen=True, kw_only=True)
class Marginals:
    """Target margins: category shares, means and SDs, keyed by column.

    Attributes:
        shares: Margin key (a column, or a ``(column_a, column_b)`` tuple for a joint margin
            whose levels are ``(level_a, level_b)`` tuples) -> level -> share; each margin's
            shares are positive and sum to 1.
        means: Column -> target mean (in the column's unit).
        sds: Column -> target SD (population SD, ``ddof=0``); each needs a target mean.
        n_observed: Margin key -> number of non-missing rows the target came from (empty
            when the targets were written by hand).

    Examples:
        >>> Marginals(shares={"sex": {"F": 0.6, "M": 0.4}}, means={"age": 60.0}).means["age"]
        60.0
    """

    shares: Mapping[MarginKey, Mapping[Hashable, float]] = field(default_factory=dict)
    means: Mapping[str, float] = field(default_factory=dict)
    sds: Mapping[str, float] = field(default_factory=dict)
    n_observed: Mapping[MarginKey, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse malformed targets (see the refusals in the attribute list)."""
        for key, shares in self.shares.items():
            _check_shares(key, shares)
        for moment, column, value in [*(("mean", *item) for item in self.means.items()),
                                      *(("sd", *item) for item in self.sds.items())]:
            if not np.isfinite(value) or (moment == "sd" and not value > 0):
                raise ValueError(f"target {moment} of column {column!r} must be finite"
                                 f"{' and > 0' if moment == 'sd' else ''}, got {value}")
        if not (set(self.sds) <= set(self.means) and (self.shares or self.means)):
            raise ValueError("targets need at least one share or mean, and a mean for every sd")


def margin_columns(key: MarginKey) -> list[str]:
    """The column(s) of a margin, refusing a joint key that does not name two columns."""
    if isinstance(key, tuple) and (len(key) != 2 or len(set(key)) != 2):
        raise ValueError(f"joint margin {key!r} must name exactly two different columns")
    return list(key) if isinstance(key, tuple) else [key]


def _check_shares(key: MarginKey, shares: Mapping[Hashable, float]) -> None:
    margin_columns(key)
    for level, share in shares.items():
        if isinstance(key, tuple) and not (isinstance(level, tuple) and len(level) == 2):
            raise ValueError(f"level {level!r} of joint margin {key!r} must be a 2-tuple")
        if not (np.isfinite(share) and share > 0):
            raise ValueError(f"share of level {level!r} in margin {key!r} must be a finite "
                             f"number > 0 (drop empty levels), got {share}")
    if abs(sum(shares.values()) - 1.0) > 1e-6:
        raise ValueError(f"shares of margin {key!r} must sum to 1, got {sum(shares.values())}")


def marginals_from_table(real: pd.DataFrame, categorical: Sequence[MarginKey],
                         continuous: Sequence[str] = (), *, match_sd: bool = False) -> Marginals:
    """Compute target margins from a real covariate table, ignoring missing values per margin.

    Args:
        real: One row per real patient.
        categorical: Columns (or ``(column_a, column_b)`` joint margins) to match by shares.
        continuous: Numeric columns to match by mean (and by SD with ``match_sd``).
        match_sd: Also match each continuous column's population SD (``ddof=0``).

    Returns:
        The margins; ``n_observed`` gives each margin's number of complete rows.

    Examples:
        >>> real = pd.DataFrame({"race": ["a", "b", "b", None], "wt": [60.0, 80.0, None, 70.0]})
        >>> targets = marginals_from_table(real, ["race"], ["wt"], match_sd=True)
        >>> dict(targets.shares["race"]), targets.means["wt"], dict(targets.n_observed)
        ({'a': 0.333..., 'b': 0.666...}, 70.0, {'race': 3, 'wt': 3})
    """
    shares: dict[MarginKey, dict[Hashable, float]] = {}
    means: dict[str, float] = {}
    sds: dict[str, float] = {}
    counts: dict[MarginKey, int] = {}
    for key in categorical:
        columns = margin_columns(key)
        complete = require_columns(real, columns, "real table")[columns].dropna()
        if complete.empty:
            raise ValueError(f"margin {key!r} has no complete rows in the real table")
        observed = complete.value_counts(normalize=True, sort=False).sort_index()
        shares[key] = {(level if isinstance(key, tuple) else level[0]): float(share)
                       for level, share in observed.items()}
        counts[key] = len(complete)
    for column in continuous:
        values = numeric_column(real, column, "real table")
        values = values[~np.isnan(values)]
        if values.size == 0:
            raise ValueError(f"column {column!r} has no non-missing values in the real table")
        means[column], counts[column] = float(values.mean()), values.size
        if match_sd:
            sds[column] = float(values.std())
    return Marginals(shares=shares, means=means, sds=sds, n_observed=counts)


def require_columns(table: pd.DataFrame, columns: list[str], where: str) -> pd.DataFrame:
    """``table``, or a ValueError naming the first of ``columns`` it lacks and ``where``."""
    for column in columns:
        if column not in table.columns:
            raise ValueError(f"column {column!r} is not in the {where}; "
                             f"columns are {list(table.columns)}")
    return table


def numeric_column(table: pd.DataFrame, column: str, where: str = "sample") -> np.ndarray:
    """A numeric column as float64; NaN (missing) is refused in the sample only."""
    if not pd.api.types.is_numeric_dtype(require_columns(table, [column], where)[column]):
        raise ValueError(f"column {column!r} in the {where} must be numeric for a mean target")
    values = table[column].to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(values).any() or (where == "sample" and np.isnan(values).any()):
        raise ValueError(f"column {column!r} has missing or infinite values in the {where}")
    return values
