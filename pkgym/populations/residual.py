"""Residual (assay) error: additive, proportional or combined, never negative, optional LLOQ.

Convention (NONMEM's combined error with two epsilons, ``Y = F + sqrt(add**2 + (prop*F)**2) * e``):
the measurement of a true value ``F`` is normal with mean ``F`` and variance
``additive_sd**2 + (proportional_sd * F)**2``. The model is additive, proportional or
combined according to which sds are > 0. Some papers instead add the two sds
(``add + prop*F``); convert such estimates before use.

Measured values are never negative: the normal is truncated at 0 and sampled by inverse CDF
(not clipped, which would pile probability mass on 0). For ``F`` well above its sd the
truncation has no effect; near 0 it makes measurements biased upwards, as real assays
that never report negative values are. Values below the lower limit of quantification
(LLOQ) are censored: reported as NaN with ``censored == True`` (the M3/M1-style data a
modeller would receive).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numba.extending import overload

from pkgym.populations.distributions import truncated_normal_ppf
from pkgym.sim.elementwise import JIT_OPTIONS, FloatOrArray, elementwise, where
from pkgym.sim.normal import normal_ppf_above
from pkgym.utils import check_non_negative


class AssayConstants(NamedTuple):
    """A :class:`ResidualError` as compiled kernels read it (its ``constants``).

    Attributes:
        additive_sd: additive standard deviation, in the measured quantity's unit.
        proportional_sd: proportional standard deviation, fraction.
        lloq: lower limit of quantification; NaN for none (a NaN never censors).
    """

    additive_sd: float
    proportional_sd: float
    lloq: float


def _normal_quantile_above(uniforms: Any, low: Any) -> Any:
    """Standard normal truncated to ``[low, inf)``, ``low <= 0``, at ``uniforms`` (scipy).

    Inside numba code :func:`pkgym.sim.normal.normal_ppf_above`, its compiled port.
    """
    return truncated_normal_ppf(uniforms, low, np.inf)


@overload(_normal_quantile_above, jit_options=JIT_OPTIONS)
def _normal_quantile_above_compiled(uniforms: Any, low: Any) -> Callable[..., Any]:
    """Compiled :func:`_normal_quantile_above` (scipy cannot be called from numba)."""
    def quantile(uniforms: Any, low: Any) -> Any:  # the typer's signature, as numba wants
        return normal_ppf_above(uniforms, low)

    return quantile


@elementwise
def assay_sd(assay: AssayConstants, true_value: FloatOrArray) -> FloatOrArray:
    """The sd of the (untruncated) measurement of ``true_value``, ``sqrt(add**2 + (prop*F)**2)``.

    Elementwise (:mod:`pkgym.sim.elementwise`); unchecked.

    Examples:
        >>> float(assay_sd(ResidualError(additive_sd=0.3, proportional_sd=0.1).constants, 4.0))
        0.5
    """
    return np.sqrt(assay.additive_sd**2 + (assay.proportional_sd * true_value) ** 2)


@elementwise
def measure_value(assay: AssayConstants, true_value: FloatOrArray,
                  uniform: FloatOrArray) -> tuple[FloatOrArray, FloatOrArray]:
    """One measurement of ``true_value`` (>= 0) from one U(0,1) draw: (value >= 0, censored).

    The combined error of the module docstring, truncated at 0 by inverse CDF; ``censored``
    is True below the LLOQ (the value is then the uncensored draw: the caller reports it as
    it must, NaN in :meth:`ResidualError.measure_from_uniforms`). Elementwise
    (:mod:`pkgym.sim.elementwise`): the compiled vancomycin ward measures its levels with it.

    Examples:
        >>> assay = ResidualError(additive_sd=1.0, lloq=2.0).constants
        >>> value, censored = measure_value(assay, 5.0, 0.5)
        >>> round(float(value), 6), bool(censored)
        (5.0, False)
    """
    true = np.maximum(true_value, 0.0)
    sd = assay_sd(assay, true)
    noisy = sd > 0.0
    lower = where(noisy, -true / where(noisy, sd, 1.0), 0.0)  # F = 0, sd = 0 -> 0
    z = _normal_quantile_above(uniform, lower)
    # np.maximum only removes rounding (F + sd * z can be -1e-17 at the truncation point).
    measured = where(noisy, np.maximum(true + sd * z, 0.0), true)
    return measured, measured < assay.lloq


# eq=False: the fields are arrays, for which dataclass equality is ambiguous.
@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Measurements:
    """Measured values and their censoring flags.

    Attributes:
        values: measured values, >= 0, NaN where censored; float64, shape of the true values.
        censored: True where the measured value fell below the LLOQ; same shape.
    """

    values: np.ndarray
    censored: np.ndarray


@dataclass(frozen=True, slots=True, kw_only=True)
class ResidualError:
    """Residual error model, in the unit of the measured quantity (e.g. mg/L).

    Attributes:
        additive_sd: additive standard deviation, >= 0, in the measured quantity's unit.
        proportional_sd: proportional standard deviation as a fraction (0.1 = 10 %), >= 0.
        lloq: lower limit of quantification (> 0), or ``None`` for no censoring.
    """

    additive_sd: float = 0.0
    proportional_sd: float = 0.0
    lloq: float | None = None

    def __post_init__(self) -> None:
        """Validate the sds and the LLOQ, naming the offending field."""
        check_non_negative("additive_sd", self.additive_sd)
        check_non_negative("proportional_sd", self.proportional_sd)
        if self.lloq is not None and not (math.isfinite(self.lloq) and self.lloq > 0):
            raise ValueError(f"lloq must be > 0 and finite, or None, got {self.lloq}")

    @property
    def constants(self) -> AssayConstants:
        """The error model as :func:`measure_value` and compiled kernels read it."""
        lloq = math.nan if self.lloq is None else self.lloq
        return AssayConstants(self.additive_sd, self.proportional_sd, lloq)

    @property
    def kind(self) -> str:
        """``"none"``, ``"additive"``, ``"proportional"`` or ``"combined"``."""
        additive, proportional = self.additive_sd > 0, self.proportional_sd > 0
        if additive and proportional:
            return "combined"
        return "additive" if additive else ("proportional" if proportional else "none")

    def sd(self, true_values: np.ndarray | float) -> np.ndarray:
        """Return the sd of the (untruncated) measurement, ``sqrt(add**2 + (prop*F)**2)``.

        Args:
            true_values: true values ``F``, >= 0, any shape.

        Examples:
            >>> ResidualError(additive_sd=0.3, proportional_sd=0.1).sd([4.0]).tolist()
            [0.5]
        """
        return assay_sd(self.constants, check_non_negative("true_values", true_values))

    def measure(self, true_values: np.ndarray | float, rng: np.random.Generator) -> Measurements:
        """Draw one measurement per true value.

        Uses ``rng.random`` once per value (one uniform each), so the draws are reproducible
        from the generator's state; pass the patient's ``"residual"`` stream generator.

        Args:
            true_values: true values ``F``, >= 0 and finite, any shape.
            rng: the generator to draw from.

        Returns:
            Measurements with ``values`` >= 0 (NaN where censored) and ``censored``.

        Examples:
            >>> error = ResidualError(additive_sd=0.5, proportional_sd=0.2, lloq=1.0)
            >>> m = error.measure(np.array([0.0, 10.0]), np.random.default_rng(0))
            >>> bool(m.censored[0]), bool(m.values[1] > 0)
            (True, True)
        """
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng)!r}")
        values = np.asarray(check_non_negative("true_values", true_values))
        return self.measure_from_uniforms(values, rng.random(values.shape))

    def measure_from_uniforms(self, true_values: np.ndarray, uniforms: np.ndarray) -> Measurements:
        """Measurements from pre-drawn U(0,1) values, one per true value (same shape).

        Environments pre-draw an episode's assay noise at reset and call this at each sample.

        Examples:
            >>> error = ResidualError(additive_sd=1.0)
            >>> error.measure_from_uniforms(np.array([5.0]), np.array([0.5])).values.tolist()
            [5.0...]
        """
        values = np.asarray(check_non_negative("true_values", true_values))
        uniforms = np.asarray(uniforms, dtype=np.float64)
        if uniforms.shape != values.shape:
            raise ValueError(f"uniforms must have shape {values.shape}, got {uniforms.shape}")
        measured, censored = measure_value(self.constants, values, uniforms)
        if self.lloq is None:
            return Measurements(values=measured, censored=np.zeros(values.shape, dtype=bool))
        return Measurements(values=np.where(censored, np.nan, measured), censored=censored)
