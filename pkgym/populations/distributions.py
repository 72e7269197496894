"""Covariate distributions: each spec maps a patient's uniforms to covariate values.

A spec declares how many uniforms it consumes per patient (``n_draws``) and transforms them
by inverse CDF, so a patient's covariates depend only on that patient's uniforms (see
:mod:`pkgym.populations.streams`). Truncation is exact (inverse CDF on the truncated
interval), never a rejection loop, so the number of draws per patient is fixed. This module
holds the spec interface and the continuous specs; categories, flags and genotypes are in
:mod:`pkgym.populations.discrete`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from pkgym.utils import check_finite, check_positive

_MIN_MASS = 1e-12
"""A truncation interval must hold at least this much probability."""


class CovariateSpec(ABC):
    """A covariate distribution that turns ``n_draws`` uniforms per patient into columns."""

    __slots__ = ()

    @property
    @abstractmethod
    def n_draws(self) -> int:
        """Number of uniforms consumed per patient."""

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Columns that must be drawn before this one (e.g. sex for body size)."""
        return ()

    def output_columns(self, name: str) -> tuple[str, ...]:
        """Names of the columns this spec writes when registered under ``name``."""
        return (name,)

    @abstractmethod
    def columns_from_uniforms(
        self, name: str, uniforms: np.ndarray, covariates: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """Map uniforms (n_patients, n_draws) to output columns, given earlier covariates."""


class ScalarCovariateSpec(CovariateSpec):
    """A spec that writes a single column and needs no other covariate."""

    __slots__ = ()

    @abstractmethod
    def from_uniforms(self, uniforms: np.ndarray) -> np.ndarray:
        """Map uniforms of shape (n_patients, n_draws) to values of shape (n_patients,)."""

    def columns_from_uniforms(
        self, name: str, uniforms: np.ndarray, covariates: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """Return ``{name: from_uniforms(uniforms)}``."""
        return {name: self.from_uniforms(uniforms)}


def check_uniforms(uniforms: np.ndarray, n_draws: int) -> np.ndarray:
    """Return ``uniforms`` as float64 after checking shape (n, n_draws) and range (0, 1).

    Args:
        uniforms: array of shape (n_patients, n_draws), each value strictly between 0 and 1.
        n_draws: the number of columns expected.

    Examples:
        >>> check_uniforms([[0.5, 0.25]], 2).shape
        (1, 2)
    """
    array = np.asarray(uniforms, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != n_draws:
        raise ValueError(f"uniforms must have shape (n_patients, {n_draws}), got {array.shape}")
    if not np.all((array > 0.0) & (array < 1.0)):
        raise ValueError("uniforms must lie in the open interval (0, 1) (no NaN)")
    return array


def truncated_normal_ppf(
    uniforms: np.ndarray | float, low: np.ndarray | float, high: np.ndarray | float
) -> np.ndarray:
    """Inverse CDF of the standard normal truncated to ``[low, high]``.

    ``z = Phi^-1(Phi(low) + u * (Phi(high) - Phi(low)))``, computed on the lower tail (by
    symmetry) when the whole interval lies above 0, to keep precision; the result is clipped
    to ``[low, high]`` against rounding.

    Args:
        uniforms: probabilities in [0, 1].
        low: lower bound in standard-normal units (may be ``-inf``); broadcasts with the rest.
        high: upper bound (may be ``inf``), > ``low``.

    Examples:
        >>> float(truncated_normal_ppf(0.5, -np.inf, np.inf))
        0.0
        >>> bool(truncated_normal_ppf(0.01, 2.0, np.inf) >= 2.0)
        True
    """
    u, a, b = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in
                                    (uniforms, low, high)))
    flip = a > 0.0
    lo, hi = np.where(flip, -b, a), np.where(flip, -a, b)
    u = np.where(flip, 1.0 - u, u)
    p_lo, p_hi = ndtr(lo), ndtr(hi)
    z = ndtri(p_lo + u * (p_hi - p_lo))
    return np.clip(np.where(flip, -z, z), a, b)


def _truncated_mass(low: float, high: float) -> float:
    """Standard-normal probability of ``[low, high]``, accurate in either tail."""
    if low > 0.0:
        low, high = -high, -low
    return float(ndtr(high) - ndtr(low))


def _check_interval(low: float, high: float, mass: float) -> None:
    """Raise ``ValueError`` naming low/high unless low < high and the interval holds mass."""
    if math.isnan(low) or math.isnan(high) or not low < high:
        raise ValueError(f"low must be < high (no NaN), got low={low}, high={high}")
    if mass < _MIN_MASS:
        raise ValueError(f"[low, high] = [{low}, {high}] holds almost none of the distribution")


@dataclass(frozen=True, slots=True, kw_only=True)
class BoundedNormal(ScalarCovariateSpec):
    """Normal distribution truncated to ``[low, high]`` (e.g. age in years).

    Attributes:
        mean: mean of the untruncated normal, in the covariate's unit.
        sd: standard deviation of the untruncated normal, > 0.
        low: lower bound (``-inf`` for none).
        high: upper bound (``inf`` for none).
    """

    mean: float
    sd: float
    low: float = -math.inf
    high: float = math.inf

    def __post_init__(self) -> None:
        """Validate the parameters, naming the offending field."""
        check_finite("mean", self.mean)
        check_positive("sd", self.sd)
        a, b = (self.low - self.mean) / self.sd, (self.high - self.mean) / self.sd
        _check_interval(self.low, self.high, _truncated_mass(a, b))

    @property
    def n_draws(self) -> int:
        """One uniform per patient."""
        return 1

    def from_uniforms(self, uniforms: np.ndarray) -> np.ndarray:
        """Map uniforms (n, 1) to values (n,) by the truncated inverse CDF.

        Examples:
            >>> spec = BoundedNormal(mean=50.0, sd=15.0, low=18.0, high=90.0)
            >>> spec.from_uniforms(np.array([[0.5]])).round(1).tolist()
            [50.2]
        """
        u = check_uniforms(uniforms, 1)[:, 0]
        a, b = (self.low - self.mean) / self.sd, (self.high - self.mean) / self.sd
        return np.clip(self.mean + self.sd * truncated_normal_ppf(u, a, b), self.low, self.high)


@dataclass(frozen=True, slots=True, kw_only=True)
class BoundedLogNormal(ScalarCovariateSpec):
    """Log-normal distribution truncated to ``[low, high]`` (e.g. serum creatinine).

    Give the spread as exactly one of ``cv`` (coefficient of variation of the untruncated
    log-normal, so ``sd_log = sqrt(log(1 + cv**2))``) or ``sd_log`` (sd of log values).

    Attributes:
        median: median of the untruncated distribution, > 0.
        cv: coefficient of variation as a fraction (0.3 = 30 %), or ``None``.
        sd_log: standard deviation of the log values, or ``None``.
        low: lower bound, >= 0.
        high: upper bound (``inf`` for none).
    """

    median: float
    cv: float | None = None
    sd_log: float | None = None
    low: float = 0.0
    high: float = math.inf

    def __post_init__(self) -> None:
        """Validate the parameters, naming the offending field."""
        check_positive("median", self.median)
        if (self.cv is None) == (self.sd_log is None):
            raise ValueError(f"give exactly one of cv or sd_log, got cv={self.cv}, "
                             f"sd_log={self.sd_log}")
        spread = self.cv if self.sd_log is None else self.sd_log
        check_positive("cv" if self.sd_log is None else "sd_log", float(spread or 0.0))
        if self.low < 0:
            raise ValueError(f"low must be >= 0 for a log-normal, got {self.low}")
        _check_interval(self.low, self.high, _truncated_mass(*self._log_bounds()))

    @property
    def n_draws(self) -> int:
        """One uniform per patient."""
        return 1

    @property
    def log_sd(self) -> float:
        """Standard deviation of the log values."""
        if self.sd_log is not None:
            return float(self.sd_log)
        return math.sqrt(math.log1p(float(self.cv or 0.0) ** 2))

    def _log_bounds(self) -> tuple[float, float]:
        """Bounds in standard-normal units of log(value)."""
        log_low = -math.inf if self.low == 0 else math.log(self.low)
        log_high = math.log(self.high) if self.high > 0 else -math.inf
        centre = math.log(self.median)
        return (log_low - centre) / self.log_sd, (log_high - centre) / self.log_sd

    def from_uniforms(self, uniforms: np.ndarray) -> np.ndarray:
        """Map uniforms (n, 1) to values (n,) by the truncated inverse CDF.

        Examples:
            >>> spec = BoundedLogNormal(median=0.9, cv=0.3, low=0.4, high=2.0)
            >>> spec.from_uniforms(np.array([[0.5]])).round(3).tolist()
            [0.9]
        """
        u = check_uniforms(uniforms, 1)[:, 0]
        z = truncated_normal_ppf(u, *self._log_bounds())
        return np.clip(self.median * np.exp(self.log_sd * z), self.low, self.high)


@dataclass(frozen=True, slots=True, kw_only=True)
class Uniform(ScalarCovariateSpec):
    """Continuous uniform distribution on ``[low, high)``.

    Attributes:
        low: lower bound, finite.
        high: upper bound, finite, > low.
    """

    low: float
    high: float

    def __post_init__(self) -> None:
        """Validate the bounds, naming the offending field."""
        check_finite("low", self.low)
        check_finite("high", self.high)
        _check_interval(self.low, self.high, 1.0)

    @property
    def n_draws(self) -> int:
        """One uniform per patient."""
        return 1

    def from_uniforms(self, uniforms: np.ndarray) -> np.ndarray:
        """Map uniforms (n, 1) to values (n,) on ``[low, high)``.

        Examples:
            >>> Uniform(low=18.0, high=80.0).from_uniforms(np.array([[0.5]])).tolist()
            [49.0]
        """
        u = check_uniforms(uniforms, 1)[:, 0]
        return self.low + u * (self.high - self.low)
