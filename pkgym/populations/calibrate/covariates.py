"""Calibrate a virtual population's covariates to the margins of a real covariate table.

Entropy balancing (Hainmueller J. 2012, "Entropy balancing for causal effects", *Political
Analysis* 20:25-46) finds weights ``w_i = base_i * exp(lambda . x_i)`` with the smallest
Kullback-Leibler divergence from the base weights such that the weighted moments equal the
targets: category shares (one indicator per level, a reference level dropped per margin),
means and, optionally, second central moments (SDs). The convex dual is minimised by damped
Newton on standardised features; with ``max_weight_ratio`` the weights are also capped and
the capped dual (truncated calibration, Deville & Sarndal 1992) is solved the same way. For
categorical margins only, the solution coincides with raking, i.e. iterative proportional
fitting (Deming W.E. & Stephan F.F. 1940, *Ann Math Stat* 11:427-444), which :func:`rake`
implements directly; both return :class:`CalibrationWeights`.

Why not the ``balance`` package (Meta, 0.23.0)? On Python < 3.12 its metadata pins
``numpy<2.0``, ``scipy<1.14`` and ``scikit-learn<1.4`` (this project runs numpy 2, scipy 1.17
and pandas 3) and pulls in statsmodels, patsy, seaborn, plotly, ipython and session-info; it
offers raking, IPW and CBPS but no entropy balancing. Both methods here are a few dozen lines
of vectorised numpy, so we keep our dependencies and own the refusals.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from pkgym.populations.calibrate.margins import (
    Marginals,
    MarginKey,
    margin_columns,
    numeric_column,
    require_columns,
)
from pkgym.utils import as_generator


def _level_codes(sample: pd.DataFrame, key: MarginKey, levels: list[Hashable]) -> np.ndarray:
    """Each sample row's position in ``levels``, refusing unmatched and unreachable levels."""
    for column in margin_columns(key):
        if require_columns(sample, margin_columns(key), "sample")[column].isna().any():
            raise ValueError(f"column {column!r} of margin {key!r} has missing values in the "
                             "sample; impute or drop those rows first")
    if isinstance(key, tuple):
        values: pd.Index = pd.MultiIndex.from_frame(sample[list(key)])
        codes = pd.MultiIndex.from_tuples(levels).get_indexer(values)
    else:
        values = pd.Index(sample[key].to_numpy())
        codes = pd.Index(levels).get_indexer(values)
    if (codes < 0).any():
        raise ValueError(f"margin {key!r} has level {values[np.argmin(codes)]!r} in the sample "
                         f"but no target share for it; target levels are {levels}")
    present = np.bincount(codes, minlength=len(levels)) > 0
    if not present.all():
        raise ValueError(f"target level {levels[np.argmin(present)]!r} of margin {key!r} never "
                         "occurs in the sample, so no reweighting can reach its share")
    return codes


class _Design(NamedTuple):
    features: np.ndarray  # (n_patients, n_features), standardised, zero at the target
    labels: list[tuple[MarginKey, Hashable]]  # (margin, level | "mean" | "sd") per feature
    margins: list[tuple[np.ndarray, np.ndarray]]  # per categorical margin: (codes, shares)


def _design(sample: pd.DataFrame, targets: Marginals) -> _Design:
    """Constraint features: (indicator - share), (x - mean), ((x - mean)^2 - sd^2), scaled."""
    if len(sample) == 0:
        raise ValueError("sample is empty")
    blocks, labels, margins = [], [], []
    for key, shares in targets.shares.items():
        codes = _level_codes(sample, key, list(shares))
        target = np.fromiter(shares.values(), dtype=np.float64)
        margins.append((codes, target / target.sum()))
        blocks.append((codes[:, None] == np.arange(len(shares) - 1)) - margins[-1][1][:-1])
        labels += [(key, level) for level in list(shares)[:-1]]
    for column, mean in targets.means.items():
        values = numeric_column(sample, column)
        _check_reachable(column, "mean", mean, values)
        blocks.append((values - mean)[:, None])
        labels.append((column, "mean"))
        if column in targets.sds:
            _check_reachable(column, "sd", targets.sds[column], np.abs(values - mean))
            blocks.append(((values - mean) ** 2 - targets.sds[column] ** 2)[:, None])
            labels.append((column, "sd"))
    raw = np.hstack(blocks).astype(np.float64)
    scale = raw.std(axis=0)
    return _Design(raw / np.where(scale > 0, scale, 1.0), labels, margins)


def _check_reachable(column: str, moment: str, target: float, values: np.ndarray) -> None:
    low = values.min() if moment == "mean" else 0.0
    if not low < target < values.max():
        raise ValueError(f"target {moment} {target:.6g} of column {column!r} is infeasible: it "
                         f"must lie strictly inside ({low:.6g}, {values.max():.6g})")


def _start(n: int, base_weights: np.ndarray | None, max_weight_ratio: float | None,
           tol: float, max_iter: int) -> tuple[np.ndarray, float]:
    """Base weights summing to 1 and the absolute weight cap (inf without one)."""
    base = np.ones(n) if base_weights is None else np.asarray(base_weights, dtype=np.float64)
    if base.shape != (n,) or not (np.isfinite(base).all() and (base > 0).all()):
        raise ValueError(f"base_weights must be {n} finite positive numbers")
    if not (tol > 0 and max_iter >= 1 and (max_weight_ratio is None or max_weight_ratio > 1)):
        raise ValueError(f"need tol > 0, max_iter >= 1 and max_weight_ratio > 1 or None, got "
                         f"{tol}, {max_iter}, {max_weight_ratio}")
    return base / base.sum(), np.inf if max_weight_ratio is None else max_weight_ratio / n


def _dual(design: np.ndarray, base: np.ndarray, cap: float,
          mu: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Capped entropy-balancing dual: value, weights and which weights sit at the cap."""
    exponent = np.minimum(design @ mu, 700.0)
    free = base * np.exp(exponent)
    capped = free > cap
    terms = np.where(capped, cap * (exponent - np.log(cap / base) + 1.0), free) if (
        capped.any()) else free
    return float(terms.sum() - mu[0]), np.where(capped, cap, free), capped


def _newton(features: np.ndarray, base: np.ndarray, cap: float, tol: float,
            max_iter: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Damped Newton on the dual; returns weights (sum 1), moment gaps and iterations."""
    design = np.column_stack([np.ones(len(base)), features])
    mu = np.zeros(design.shape[1])
    value, weights, capped = _dual(design, base, cap, mu)
    for iteration in range(max_iter):
        gradient = design.T @ weights - np.eye(design.shape[1])[0]
        if np.abs(gradient).max() <= tol:
            return weights, gradient[1:], iteration
        hessian = (design * np.where(capped, 0.0, weights)[:, None]).T @ design
        step = np.linalg.lstsq(hessian, -gradient, rcond=None)[0]
        step = step if gradient @ step < 0 else -gradient
        size = 1.0
        while (trial := _dual(design, base, cap, mu + size * step))[0] > (
                value + 1e-4 * size * (gradient @ step) + 1e-13 * abs(value)):
            size /= 2
            if size < 1e-12:
                return weights, gradient[1:], iteration
        mu += size * step
        value, weights, capped = trial
    return weights, features.T @ weights, max_iter


def _finish(method: str, design: _Design, weights: np.ndarray, gaps: np.ndarray,
            iterations: int, tol: float) -> CalibrationWeights:
    if gaps.size and np.abs(gaps).max() > tol:
        largest = int(np.argmax(np.abs(gaps)))
        key, level = design.labels[largest]
        raise ValueError(f"{method} did not converge in {iterations} iterations: largest gap "
                         f"is margin {key!r} level {level!r}, {gaps[largest]:.3g} sample SDs "
                         "off target (targets infeasible or inconsistent?)")
    return CalibrationWeights(weights * (len(weights) / weights.sum()), method, iterations)


def entropy_balance(sample: pd.DataFrame, targets: Marginals, *,
                    base_weights: np.ndarray | None = None, max_weight_ratio: float | None = None,
                    tol: float = 1e-8, max_iter: int = 200) -> CalibrationWeights:
    """Reweight ``sample`` to ``targets`` by entropy balancing (Hainmueller 2012).

    Args:
        sample: One row per virtual patient, holding every target column.
        targets: Shares, means and SDs to reach.
        base_weights: Positive design weights to stay close to (n,); uniform by default.
        max_weight_ratio: Optional cap on any weight, as a multiple of the mean weight.
        tol: Largest allowed moment gap, in sample SDs of the feature (indicator or value).
        max_iter: Newton iterations allowed.

    Returns:
        The weights, which sum to ``len(sample)``.

    Raises:
        ValueError: A target column or level is missing from the sample, a target is out of
            the sample's reach, or the solver did not converge (largest gap named).

    Examples:
        >>> sample = pd.DataFrame({"sex": ["F", "M", "M", "M"], "age": [30.0, 50, 60, 80]})
        >>> targets = Marginals(shares={"sex": {"F": 0.5, "M": 0.5}}, means={"age": 55.0})
        >>> calibration = entropy_balance(sample, targets)
        >>> calibration.achieved(sample, targets)["achieved"].round(6).tolist()
        [0.5, 0.5, 55.0]
    """
    design = _design(sample, targets)
    base, cap = _start(len(sample), base_weights, max_weight_ratio, tol, max_iter)
    weights, gaps, iterations = _newton(design.features, base, cap, tol, max_iter)
    return _finish("entropy balancing", design, weights, gaps, iterations, tol)


def rake(sample: pd.DataFrame, targets: Marginals, *, base_weights: np.ndarray | None = None,
         max_weight_ratio: float | None = None, tol: float = 1e-8,
         max_iter: int = 200) -> CalibrationWeights:
    """Reweight ``sample`` to categorical ``targets`` by raking (Deming & Stephan 1940).

    Each sweep scales the weights to every margin in turn; with ``max_weight_ratio`` the
    weights are trimmed after each sweep (trimmed raking, a heuristic, unlike capped entropy
    balancing). Arguments, return value and refusals are those of :func:`entropy_balance`;
    ``max_iter`` counts sweeps, and mean or SD targets are refused.

    Examples:
        >>> sample = pd.DataFrame({"sex": ["F", "M", "M", "M"]})
        >>> targets = Marginals(shares={"sex": {"F": 0.5, "M": 0.5}})
        >>> rake(sample, targets).weights.round(6).tolist()
        [2.0, 0.666667, 0.666667, 0.666667]
    """
    if targets.means:
        raise ValueError(f"rake matches categorical margins only; column "
                         f"{next(iter(targets.means))!r} has a mean target (use entropy_balance)")
    design = _design(sample, targets)
    weights, cap = _start(len(sample), base_weights, max_weight_ratio, tol, max_iter)
    sweeps, gaps = 0, design.features.T @ weights
    while sweeps < max_iter and np.abs(gaps).max(initial=0.0) > tol:
        for codes, shares in design.margins:
            weights = weights * (shares / np.bincount(codes, weights, len(shares)))[codes]
        weights = np.minimum(weights, cap * weights.sum())
        gaps, sweeps = design.features.T @ (weights / weights.sum()), sweeps + 1
    return _finish("raking", design, weights, gaps, sweeps, tol)


def _mean_sd(values: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    mean = np.average(values, weights=weights)
    return float(mean), float(np.sqrt(np.average((values - mean) ** 2, weights=weights)))


@dataclass(frozen=True, eq=False)
class CalibrationWeights:
    """Calibration weights for a sample, normalised to sum to the sample size (mean 1).

    Attributes:
        weights: One weight per sample row, in row order (n,); 2 means "counts twice".
        method: ``"entropy balancing"`` or ``"raking"``.
        iterations: Newton iterations or raking sweeps used.

    Examples:
        >>> CalibrationWeights(np.array([2.0, 1.0, 1.0]), "raking", 1).summary()
        'ESS 2.7 of 3 (89%), max weight 1.5x mean'
    """

    weights: np.ndarray  # (n_patients,)
    method: str
    iterations: int

    def __post_init__(self) -> None:
        """Refuse weights that are not a 1-D array of finite non-negative numbers."""
        object.__setattr__(self, "weights", w := np.asarray(self.weights, dtype=np.float64))
        if w.ndim != 1 or not (np.isfinite(w).all() and (w >= 0).all() and w.sum() > 0):
            raise ValueError("weights must be a 1-D array of finite numbers >= 0, not all 0")

    @property
    def effective_sample_size(self) -> float:
        """Kish's effective sample size, ``(sum w)^2 / sum w^2``.

        Examples:
            >>> CalibrationWeights(np.array([3.0, 1.0]), "raking", 1).effective_sample_size
            1.6
        """
        return float(self.weights.sum() ** 2 / (self.weights**2).sum())

    def summary(self) -> str:
        """One line: effective sample size and the largest weight relative to the mean.

        Examples:
            >>> CalibrationWeights(np.ones(1000), "raking", 1).summary()
            'ESS 1000 of 1000 (100%), max weight 1.0x mean'
        """
        n, ess = len(self.weights), self.effective_sample_size
        shown = f"{ess:.0f}" if ess >= 100 else f"{ess:.2g}"
        return (f"ESS {shown} of {n} ({100 * ess / n:.0f}%), "
                f"max weight {self.weights.max() / self.weights.mean():.1f}x mean")

    def achieved(self, sample: pd.DataFrame, targets: Marginals) -> pd.DataFrame:
        """Each target beside its weighted (``achieved``) and unweighted (``before``) value.

        ``sample`` is the one the weights were fitted to; ``targets`` need not be the fitted
        ones. Columns: ``column`` (margin key), ``level`` (a level, ``"mean"`` or ``"sd"``),
        ``target``, ``achieved``, ``before``; one row per level, mean and SD.

        Examples:
            >>> sample = pd.DataFrame({"sex": ["F", "M", "M", "M"]})
            >>> targets = Marginals(shares={"sex": {"F": 0.5, "M": 0.5}})
            >>> rake(sample, targets).achieved(sample, targets)["before"].tolist()
            [0.25, 0.75]
        """
        self._check_length(sample)
        rows, total = [], self.weights.sum()
        for key, shares in targets.shares.items():
            codes = _level_codes(sample, key, list(shares))
            after = np.bincount(codes, self.weights, len(shares)) / total
            before = np.bincount(codes, minlength=len(shares)) / len(codes)
            rows += [(key, level, share, after[i], before[i])
                     for i, (level, share) in enumerate(shares.items())]
        for column, mean in targets.means.items():
            values = numeric_column(sample, column)
            weighted, plain = _mean_sd(values, self.weights), _mean_sd(values, np.ones(len(values)))
            rows.append((column, "mean", mean, weighted[0], plain[0]))
            if column in targets.sds:
                rows.append((column, "sd", targets.sds[column], weighted[1], plain[1]))
        return pd.DataFrame(rows, columns=["column", "level", "target", "achieved", "before"])

    def resample(self, sample: pd.DataFrame, n: int,
                 rng: np.random.Generator | int) -> pd.DataFrame:
        """Draw ``n`` rows of ``sample`` with replacement, with probability ∝ weight.

        ``rng`` is a ``numpy.random.Generator`` (or an int seed). The result is indexed
        0..n-1, holds the source row's index label in ``source_row`` and, if the sample has an
        ``id`` column, new ids 0..n-1.

        Examples:
            >>> sample = pd.DataFrame({"id": [7, 8], "sex": ["F", "M"]})
            >>> weights = CalibrationWeights(np.array([2.0, 0.0]), "raking", 1)
            >>> weights.resample(sample, 2, np.random.default_rng(0)).to_dict("list")
            {'id': [0, 1], 'sex': ['F', 'F'], 'source_row': [0, 0]}
        """
        self._check_length(sample)
        if n < 1 or "source_row" in sample.columns:
            raise ValueError(f"n must be >= 1 (got {n}) and the sample must not already "
                             "have a 'source_row' column")
        rows = as_generator(rng).choice(len(sample), size=n, p=self.weights / self.weights.sum())
        drawn = sample.iloc[rows].reset_index(drop=True)
        drawn["source_row"] = sample.index.to_numpy()[rows]
        if "id" in drawn.columns:
            drawn["id"] = np.arange(n)
        return drawn

    def _check_length(self, sample: pd.DataFrame) -> None:
        if len(sample) != len(self.weights):
            raise ValueError(f"sample has {len(sample)} rows but {len(self.weights)} weights")
