"""Batched explicit Runge–Kutta integration of nonlinear ODEs, one step size per patient.

:func:`integrate` solves ``dy/dt = rhs(t_h, y, params)`` for a batch of patients in one
vectorised loop. ``rhs`` follows diffrax's ``f(t, y, args)`` convention with the patient axis
first: times ``(n_patients,)``, states and derivatives ``(n_patients, n_states)``; ``params``
(typically a dataclass of ``(n_patients,)`` arrays) is passed through untouched.

Methods (chosen by an explicit :class:`SolverConfig`, STYLE rule 10):

- ``"dopri5"``: Dormand–Prince 5(4) with FSAL, each patient with its own step size and
  accept/reject decision (a patient past the last output time takes steps of length 0).
  Error norm per patient (Hairer, Norsett & Wanner, *Solving ODEs I*, eq. II.4.11):
  ``sqrt(mean_i((err_i / (atol + rtol * max(|y_i|, |y_new_i|)))**2)) <= 1`` to accept; next step
  ``h * clip(0.9 * norm**(-1/5), 0.2, 10)``, with no growth right after a rejection.
- ``"rk4"``: classic fixed-step RK4; each output interval is split into
  ``ceil(interval / max_step_h)`` equal steps, shared by all patients.

Steps never cross an output time, so callers can put discontinuities (infusion ends, regimen
changes) on ``times_h``. Time-piecewise inputs in ``rhs`` must be right-continuous (switch at
``t_h >= t_event``): stages at the end of a step that lands on an output time are evaluated one
float before it (the left limit), and the derivative carried past it is re-evaluated at the
output time (the right limit). State jumps (bolus doses) go between two calls of
:func:`integrate`. Both methods are explicit: stiff systems need many small steps.

Models whose right-hand side is compiled use the compiled twins of these steppers,
:mod:`pkgym.sim.integrate_njit`; both read the tableau from :mod:`pkgym.sim.tableaus`, and
``"rk4"`` equals the compiled RK4 bit for bit (tested).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal, TypeVar

import numpy as np
from numpy.typing import ArrayLike

from pkgym.sim.tableaus import DOPRI5_A, DOPRI5_C, DOPRI5_E
from pkgym.utils import check_finite

__all__ = ["METHODS", "Rhs", "SolverConfig", "integrate", "integrate_final"]

P = TypeVar("P")
Rhs = Callable[[np.ndarray, np.ndarray, P], ArrayLike]
Array = np.ndarray
Derivative = Callable[[Array, Array], Array]  # rhs bound to its params

METHODS: Final = ("dopri5", "rk4")
"""Names accepted by :attr:`SolverConfig.method`."""

_SAFETY: Final = 0.9
_MIN_FACTOR: Final = 0.2
_MAX_FACTOR: Final = 10.0
_ERROR_EXPONENT: Final = -1.0 / 5.0  # -1 / (order of the embedded error estimator + 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class SolverConfig:
    """Explicit settings of :func:`integrate`; every default is stated here, none is borrowed.

    Attributes:
        method: ``"dopri5"`` (default): adaptive Dormand–Prince 5(4) with per-patient error
            control. ``"rk4"``: classic fixed-step Runge–Kutta, step set by ``max_step_h``.
        rtol: Relative tolerance, dimensionless, >= 0. Default ``1e-6``. Unused by ``"rk4"``.
        atol: Absolute tolerance, in the units of the states, > 0. Default ``1e-9``.
            Unused by ``"rk4"``.
        max_step_h: Longest step, h, > 0. Default ``inf`` (no bound), allowed only for
            ``"dopri5"``; ``"rk4"`` needs a finite value, which sets its step.
        first_step_h: First trial step of ``"dopri5"``, h, > 0, or ``None`` (default) to choose
            it per patient by the Hairer–Norsett–Wanner starting-step algorithm. Unused by
            ``"rk4"``.
        max_steps: Most attempted steps per patient (``"dopri5"``: accepted plus rejected;
            ``"rk4"``: all fixed steps), >= 1. Default ``100_000``. Exceeding it raises
            ``RuntimeError``.

    Examples:
        >>> SolverConfig(rtol=1e-8, atol=1e-10).method
        'dopri5'
        >>> SolverConfig(method="rk4", max_step_h=0.25).max_step_h
        0.25
    """

    method: Literal["dopri5", "rk4"] = field(default="dopri5", metadata={"unit": "-"})
    rtol: float = field(default=1e-6, metadata={"unit": "1"})
    atol: float = field(default=1e-9, metadata={"unit": "state units"})
    max_step_h: float = field(default=float("inf"), metadata={"unit": "h"})
    first_step_h: float | None = field(default=None, metadata={"unit": "h"})
    max_steps: int = field(default=100_000, metadata={"unit": "1"})

    def __post_init__(self) -> None:
        """Validate every field, naming it, its value and what is allowed."""
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        _require(self.rtol, "rtol", "a finite float >= 0", lambda x: 0 <= x < np.inf)
        _require(self.atol, "atol", "a finite float > 0", lambda x: 0 < x < np.inf)
        _require(self.max_step_h, "max_step_h", "a float > 0 (inf allowed)", lambda x: x > 0)
        if self.method == "rk4" and not np.isfinite(self.max_step_h):
            raise ValueError(f"max_step_h must be finite for method='rk4', got {self.max_step_h}")
        if self.first_step_h is not None:
            _require(self.first_step_h, "first_step_h", "None or > 0", lambda x: 0 < x < np.inf)
        steps = self.max_steps
        if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1:
            raise ValueError(f"max_steps must be an int >= 1, got {steps!r}")


def _require(value: object, name: str, allowed: str, ok: Callable[[float], bool]) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is a real number passing ``ok``."""
    if (isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating)
            or not ok(float(value))):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


def integrate(
    rhs: Rhs[P],
    y0: ArrayLike,
    times_h: ArrayLike,
    params: P,
    config: SolverConfig,
    *,
    t0_h: float = 0.0,
) -> np.ndarray:
    """Integrate a batched ODE from ``t0_h`` and return the states at every output time.

    Args:
        rhs: ``rhs(t_h, y, params) -> dy/dt``; ``t_h`` in h, shape ``(n_patients,)``; ``y`` and
            the result shape ``(n_patients, n_states)``, result in state units per h. Must be
            pure; piecewise-in-time inputs must switch at ``t_h >= t_event`` (see module doc).
        y0: Initial states at ``t0_h``, shape ``(n_patients, n_states)``, finite.
        times_h: Output times, h, shape ``(n_times,)``, finite, strictly increasing, all
            ``>= t0_h``, shared by all patients. Steps never cross them.
        params: Passed to ``rhs`` untouched (typically batched ``(n_patients,)`` arrays).
        config: Method, tolerances and step limits.
        t0_h: Time of ``y0``, h. Default ``0.0``.

    Returns:
        States at ``times_h``, float64, shape ``(n_patients, n_times, n_states)``.

    Raises:
        ValueError: A malformed ``y0``, ``times_h``, ``t0_h`` or ``config``, or ``rhs``
            returning the wrong shape or non-finite values at ``t0_h``.
        RuntimeError: ``config.max_steps`` exceeded, or the step size underflowed.

    Examples:
        >>> def decay(t_h, y, k_per_h):
        ...     return -k_per_h[:, None] * y
        >>> k_per_h = np.array([0.1, 0.5])
        >>> times_h = np.array([1.0, 2.0])
        >>> config = SolverConfig(rtol=1e-10, atol=1e-12)
        >>> ys = integrate(decay, np.ones((2, 1)), times_h, k_per_h, config)
        >>> ys.shape
        (2, 2, 1)
        >>> bool(np.allclose(ys[:, :, 0], np.exp(-np.outer(k_per_h, times_h)), rtol=1e-9))
        True
    """
    y0, times_h, t0_h = _validate_inputs(y0, times_h, t0_h, config)
    deriv = _bind(rhs, params)
    f0 = deriv(np.full(y0.shape[0], t0_h), y0)
    if not np.all(np.isfinite(f0)):
        raise ValueError(f"rhs returned non-finite derivatives at t0_h={t0_h} for y0")
    if config.method == "rk4":
        return _solve_rk4(deriv, y0, times_h, config, t0_h)
    return _solve_dopri5(deriv, y0, f0, times_h, config, t0_h)


def integrate_final(
    rhs: Rhs[P],
    y0: ArrayLike,
    t1_h: float,
    params: P,
    config: SolverConfig,
    *,
    t0_h: float = 0.0,
) -> np.ndarray:
    """Integrate a batched ODE from ``t0_h`` to ``t1_h`` and return only the final states.

    Args:
        rhs: As in :func:`integrate`.
        y0: Initial states at ``t0_h``, shape ``(n_patients, n_states)``.
        t1_h: Final time, h, ``>= t0_h``.
        params: Passed to ``rhs`` untouched.
        config: Method, tolerances and step limits.
        t0_h: Time of ``y0``, h. Default ``0.0``.

    Returns:
        States at ``t1_h``, shape ``(n_patients, n_states)``.

    Examples:
        >>> def growth(t_h, y, rate_per_h):
        ...     return rate_per_h * y
        >>> y1 = integrate_final(growth, [[1.0]], 1.0, 0.5, SolverConfig(rtol=1e-10))
        >>> round(float(y1[0, 0]), 8) == round(float(np.exp(0.5)), 8)
        True
    """
    return integrate(rhs, y0, [t1_h], params, config, t0_h=t0_h)[:, 0, :]


def _validate_inputs(
    y0: ArrayLike, times_h: ArrayLike, t0_h: float, config: SolverConfig
) -> tuple[Array, Array, float]:
    """Check and convert the arguments of :func:`integrate`, naming the one at fault."""
    if not isinstance(config, SolverConfig):
        raise ValueError(f"config must be a SolverConfig, got {type(config).__name__}")
    y0 = check_finite("y0", y0)
    if y0.ndim != 2 or y0.size == 0:
        raise ValueError(f"y0 must be a non-empty 2-D array (n_patients, n_states), got {y0.shape}")
    times_h = check_finite("times_h", times_h)
    if times_h.ndim != 1 or times_h.size == 0:
        raise ValueError(f"times_h must be a non-empty 1-D array, got shape {times_h.shape}")
    if np.any(np.diff(times_h) <= 0):
        raise ValueError(f"times_h must be strictly increasing, got {times_h[:8]}")
    t0 = check_finite("t0_h", t0_h)
    if t0.ndim != 0:
        raise ValueError(f"t0_h must be a scalar, got shape {t0.shape}")
    if times_h[0] < t0:
        raise ValueError(f"times_h must all be >= t0_h={float(t0)}, got first {times_h[0]}")
    return y0.copy(), times_h, float(t0)


def _bind(rhs: Rhs[P], params: P) -> Derivative:
    """Bind ``params`` to ``rhs``; the result checks that ``dy/dt`` has the shape of ``y``."""

    def deriv(t_h: Array, y: Array) -> Array:
        dydt = np.asarray(rhs(t_h, y, params), dtype=np.float64)
        if dydt.shape != y.shape:
            raise ValueError(
                f"rhs must return shape {y.shape} (n_patients, n_states), got {dydt.shape}"
            )
        return dydt

    return deriv


def _rms(values: Array) -> Array:
    """Root mean square over the state axis, shape ``(n_patients,)``."""
    return np.sqrt(np.mean(values * values, axis=1))


def _solve_dopri5(
    deriv: Derivative, y0: Array, f0: Array, times_h: Array, config: SolverConfig, t0_h: float
) -> Array:
    """Adaptive Dormand–Prince loop; all patients step together, each with its own ``h``."""
    n_patients, n_times = y0.shape[0], times_h.size
    outputs = np.empty((n_patients, n_times, y0.shape[1]))
    n_start = int(np.searchsorted(times_h, t0_h, side="right"))  # output times equal to t0_h
    outputs[:, :n_start] = y0[:, None, :]
    if n_start == n_times:
        return outputs
    next_out = np.full(n_patients, n_start)
    t, y, f = np.full(n_patients, t0_h), y0, f0
    h = _first_step(deriv, t, y0, f0, config, times_h[-1] - t0_h)
    rejected_last = np.zeros(n_patients, dtype=bool)
    for _ in range(config.max_steps):
        active = next_out < n_times
        if not active.any():
            return outputs
        target = times_h[np.minimum(next_out, n_times - 1)]
        hits = active & (t + h >= target)
        h_try = np.where(hits, target - t, np.where(active, h, 0.0))
        t_end = np.where(hits, np.nextafter(target, -np.inf), t + h_try)
        y_new, f_new, err = _dopri5_attempt(deriv, t, y, f, h_try, t_end)
        norm = _error_norm(err, y, y_new, config)
        accept = active & (norm <= 1.0)
        h_next = _next_step(h, h_try, norm, accept, hits, rejected_last)
        _check_underflow(h_next, t, target, active & ~accept)
        t = np.where(accept, np.where(hits, target, t + h_try), t)
        y = np.where(accept[:, None], y_new, y)
        f = np.where(accept[:, None], f_new, f)
        landed = accept & hits
        if landed.any():
            outputs[landed, next_out[landed]] = y[landed]
            next_out = next_out + landed
            f = np.where(landed[:, None], deriv(t, y), f)  # right limit
        h = np.minimum(np.where(active, h_next, h), config.max_step_h)
        rejected_last = active & ~accept
    raise RuntimeError(
        f"integrate exceeded config.max_steps={config.max_steps} attempted steps for "
        f"{int(np.sum(next_out < n_times))} patient(s); raise max_steps or max_step_h, or "
        f"loosen rtol/atol"
    )


def _first_step(
    deriv: Derivative, t_h: Array, y0: Array, f0: Array, config: SolverConfig, span_h: float
) -> Array:
    """Per-patient first step: ``config.first_step_h`` or Hairer–Norsett–Wanner's estimate."""
    if config.first_step_h is not None:
        return np.full(t_h.shape, min(config.first_step_h, config.max_step_h))
    scale = config.atol + config.rtol * np.abs(y0)
    d0, d1 = _rms(y0 / scale), _rms(f0 / scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        h0 = np.where((d0 < 1e-5) | (d1 < 1e-5), 1e-6, 0.01 * d0 / d1)
    h0 = np.minimum(h0, span_h)
    f1 = deriv(t_h + h0, y0 + h0[:, None] * f0)
    d_max = np.maximum(d1, _rms((f1 - f0) / scale) / h0)
    with np.errstate(divide="ignore"):
        h1 = np.where(d_max <= 1e-15, np.maximum(1e-6, h0 * 1e-3), (0.01 / d_max) ** 0.2)
    h = np.minimum(100.0 * h0, h1)
    return np.minimum(np.where(np.isfinite(h) & (h > 0), h, h0), config.max_step_h)


def _dopri5_attempt(
    deriv: Derivative, t_h: Array, y: Array, f: Array, h: Array, t_end_h: Array
) -> tuple[Array, Array, Array]:
    """One Dormand–Prince step for every patient: ``(y_new, rhs at the end, error estimate)``.

    Stages with ``c = 1`` are evaluated at ``t_end_h`` (the left limit of an output time).
    """
    h_col = h[:, None]
    stages = [f]
    for c, row in zip(DOPRI5_C[1:], DOPRI5_A[1:], strict=True):
        increment = sum(a * k for a, k in zip(row, stages, strict=True) if a != 0.0)
        y_stage = y + h_col * increment
        stages.append(deriv(t_end_h if c == 1.0 else t_h + c * h, y_stage))
    error = h_col * sum(e * k for e, k in zip(DOPRI5_E, stages, strict=True) if e != 0.0)
    return y_stage, stages[-1], error  # the last stage input is the 5th-order solution (FSAL)


def _error_norm(error: Array, y: Array, y_new: Array, config: SolverConfig) -> Array:
    """Scaled RMS error per patient; ``inf`` where it is not finite (forces a rejection)."""
    scale = config.atol + config.rtol * np.maximum(np.abs(y), np.abs(y_new))
    norm = _rms(error / scale)
    return np.where(np.isfinite(norm), norm, np.inf)


def _next_step(
    h: Array, h_try: Array, norm: Array, accept: Array, hits: Array, rejected_last: Array
) -> Array:
    """Standard controller: ``h_try * clip(0.9 * norm**(-1/5), 0.2, 10)``, per patient.

    No growth right after a rejection; a step shortened to land on an output time does not
    shrink the proposal (``h`` is kept if larger).
    """
    with np.errstate(divide="ignore"):
        factor = _SAFETY * norm**_ERROR_EXPONENT
    grow = np.minimum(_MAX_FACTOR, np.where(rejected_last, np.minimum(1.0, factor), factor))
    shrink = np.clip(factor, _MIN_FACTOR, 1.0)
    h_next = np.where(accept, h_try * grow, h_try * shrink)
    return np.where(accept & hits, np.maximum(h_next, h), h_next)


def _check_underflow(h_next: Array, t_h: Array, target_h: Array, rejected: Array) -> None:
    """Raise ``RuntimeError`` if a rejected patient's next step is below the time resolution."""
    resolution_h = 10.0 * np.spacing(np.maximum(np.abs(t_h), np.abs(target_h)))
    too_small = rejected & (h_next < resolution_h)
    if too_small.any():
        patients = np.flatnonzero(too_small)
        raise RuntimeError(
            f"step size underflow for patient(s) {patients[:8].tolist()} at t_h="
            f"{t_h[patients[:8]].tolist()}: rhs may be non-finite there or the problem too stiff"
        )


def _solve_rk4(
    deriv: Derivative, y0: Array, times_h: Array, config: SolverConfig, t0_h: float
) -> Array:
    """Fixed-step classic RK4; each output interval is split into equal steps <= max_step_h."""
    starts_h = np.concatenate(([t0_h], times_h[:-1]))
    spans_h = times_h - starts_h
    n_steps = np.ceil(spans_h / config.max_step_h * (1.0 - 1e-12))
    if n_steps.sum() > config.max_steps:
        raise RuntimeError(
            f"method='rk4' needs {n_steps.sum():.0f} steps, more than config.max_steps="
            f"{config.max_steps}; raise max_steps or max_step_h"
        )
    n_patients = y0.shape[0]
    outputs = np.empty((n_patients, times_h.size, y0.shape[1]))
    y = y0
    for j, (start_h, span_h, n_j) in enumerate(
        zip(starts_h, spans_h, n_steps.astype(int), strict=True)
    ):
        h = span_h / max(n_j, 1)
        for i in range(n_j):
            t_h = start_h + i * h
            end_h = np.nextafter(times_h[j], -np.inf) if i == n_j - 1 else t_h + h
            y = _rk4_step(deriv, np.full(n_patients, t_h), y, h, np.full(n_patients, end_h))
        outputs[:, j] = y
    return outputs


def _rk4_step(deriv: Derivative, t_h: Array, y: Array, h: float, t_end_h: Array) -> Array:
    """One classic Runge–Kutta step of length ``h``; the last stage is evaluated at ``t_end_h``."""
    k1 = deriv(t_h, y)
    k2 = deriv(t_h + 0.5 * h, y + (0.5 * h) * k1)
    k3 = deriv(t_h + 0.5 * h, y + (0.5 * h) * k2)
    k4 = deriv(t_end_h, y + h * k3)
    return y + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
