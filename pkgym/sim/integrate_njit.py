"""Compiled Runge-Kutta steppers for one patient, for models whose right-hand side is compiled.

:func:`pkgym.sim.integrate.integrate` serves numpy right-hand sides in batches; models whose
hot loop is compiled (numba) need integrators they can call per patient without leaving
compiled code. This module holds the package's only compiled steppers:

- :func:`rk4_segment`: classic fixed-step RK4, the steps of ``integrate``'s ``"rk4"``
  (bit for bit, tested on a shared problem);
- :func:`dopri5_segment`: Dormand-Prince 5(4) with the error norm and step control of
  ``integrate``'s ``"dopri5"`` (Hairer, Norsett & Wanner, *Solving ODEs I*, II.4 and II.5),
  without its output-time bookkeeping.

Both read their coefficients from :mod:`pkgym.sim.tableaus`. The right-hand side is a
compiled function ``rhs(t, y, params, out)`` writing dy/dt into ``out``; ``params`` is passed
through untouched (an array, or a tuple of arrays and scalars). :func:`rk4_segment` is
inlined into its caller, which numba can then cache (a cached caller is not recompiled when
this module changes: clear ``__pycache__`` after editing it); a function that passes a
compiled ``rhs`` to :func:`dopri5_segment` cannot be cached (``cache=False``).
"""

from __future__ import annotations

import numba
import numpy as np

from pkgym.sim.tableaus import DOPRI5_A, DOPRI5_C, DOPRI5_E

__all__ = ["dopri5_segment", "rk4_segment"]

_, _C2, _C3, _C4, _C5, _, _ = DOPRI5_C
(_A21,) = DOPRI5_A[1]
_A31, _A32 = DOPRI5_A[2]
_A41, _A42, _A43 = DOPRI5_A[3]
_A51, _A52, _A53, _A54 = DOPRI5_A[4]
_A61, _A62, _A63, _A64, _A65 = DOPRI5_A[5]
_B1, _, _B3, _B4, _B5, _B6 = DOPRI5_A[6]
_E1, _, _E3, _E4, _E5, _E6, _E7 = DOPRI5_E


# Inlined into its caller (numba IR): where the caller allocates ``work``, its shape is a
# constant there and the state loops unroll (about 3x faster than a call for 4 states).
@numba.njit(nogil=True, inline="always")
def rk4_segment(rhs, t0: float, t1: float, n_steps: int, step: float,  # noqa: ANN001
                y: np.ndarray, params, work: np.ndarray) -> None:  # noqa: ANN001 # pragma: no cover
    """Advance ``y`` (in place) from ``t0`` to ``t1`` by ``n_steps`` classic RK4 steps.

    Step i starts at ``t0 + i * step``; the last stage of the last step is evaluated one
    float before ``t1`` (its left limit), as :func:`pkgym.sim.integrate.integrate` does.
    ``rhs`` should compute dy/dt itself: a further compiled call inside it is not inlined
    and costs several times the arithmetic of a small model.

    Args:
        rhs: compiled ``rhs(t, y, params, out)``.
        t0: start of the segment, in ``rhs``'s time unit.
        t1: end of the segment (the last stage is evaluated just before it).
        n_steps: number of steps, >= 0.
        step: the step, ``(t1 - t0) / n_steps`` as the caller rounds it.
        y: the state, shape (n_states,), advanced in place.
        params: passed to ``rhs`` untouched.
        work: scratch space, shape (5, n_states): its second axis sets the number of states.
    """
    n_states = work.shape[1]
    k1, k2, k3, k4, stage = work[0], work[1], work[2], work[3], work[4]
    for i in range(n_steps):
        t = t0 + i * step
        rhs(t, y, params, k1)
        for j in range(n_states):
            stage[j] = y[j] + 0.5 * step * k1[j]
        rhs(t + 0.5 * step, stage, params, k2)
        for j in range(n_states):
            stage[j] = y[j] + 0.5 * step * k2[j]
        rhs(t + 0.5 * step, stage, params, k3)
        for j in range(n_states):
            stage[j] = y[j] + step * k3[j]
        rhs(np.nextafter(t1, -np.inf) if i == n_steps - 1 else t + step, stage, params, k4)
        for j in range(n_states):
            y[j] += step / 6.0 * (k1[j] + 2.0 * k2[j] + 2.0 * k3[j] + k4[j])


@numba.njit(cache=True, nogil=True)
def _error_norm(h: float, k: tuple, y: np.ndarray, new: np.ndarray, rtol: float,
                atol: float) -> float:  # pragma: no cover - compiled
    """RMS of the embedded error estimate over the tolerance scale (HNW eq. II.4.11)."""
    k1, k3, k4, k5, k6, k7 = k
    norm = 0.0
    for i in range(y.shape[0]):
        error = h * (_E1 * k1[i] + _E3 * k3[i] + _E4 * k4[i] + _E5 * k5[i] + _E6 * k6[i]
                     + _E7 * k7[i])
        scale = atol + rtol * max(abs(y[i]), abs(new[i]))
        norm += (error / scale) ** 2
    return np.sqrt(norm / y.shape[0])


@numba.njit(nogil=True)  # not cached: its compiled RHS argument cannot be pickled in a cache
def dopri5_segment(rhs, t0: float, t1: float, y: np.ndarray, params: np.ndarray,  # noqa: ANN001
                   rtol: float, atol: float, first_step: float,
                   max_steps: int) -> float:  # pragma: no cover - compiled
    """Integrate ``y`` (in place) from ``t0`` to ``t1`` and return the step to try next.

    Steps never cross ``t1``, so callers put discontinuities on segment ends. Raises when
    ``max_steps`` attempts do not reach ``t1``.
    """
    n = y.shape[0]
    k1, k2, k3, k4 = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    k5, k6, k7 = np.empty(n), np.empty(n), np.empty(n)
    stage, new = np.empty(n), np.empty(n)
    t, h = t0, min(first_step, t1 - t0)
    rhs(t, y, params, k1)
    for _ in range(max_steps):
        if t >= t1:
            return h
        h = min(h, t1 - t)
        for i in range(n):
            stage[i] = y[i] + h * _A21 * k1[i]
        rhs(t + _C2 * h, stage, params, k2)
        for i in range(n):
            stage[i] = y[i] + h * (_A31 * k1[i] + _A32 * k2[i])
        rhs(t + _C3 * h, stage, params, k3)
        for i in range(n):
            stage[i] = y[i] + h * (_A41 * k1[i] + _A42 * k2[i] + _A43 * k3[i])
        rhs(t + _C4 * h, stage, params, k4)
        for i in range(n):
            stage[i] = y[i] + h * (_A51 * k1[i] + _A52 * k2[i] + _A53 * k3[i] + _A54 * k4[i])
        rhs(t + _C5 * h, stage, params, k5)
        for i in range(n):
            stage[i] = y[i] + h * (_A61 * k1[i] + _A62 * k2[i] + _A63 * k3[i] + _A64 * k4[i]
                                   + _A65 * k5[i])
        last = t + h >= t1
        rhs(t1 if last else t + h, stage, params, k6)
        for i in range(n):
            new[i] = y[i] + h * (_B1 * k1[i] + _B3 * k3[i] + _B4 * k4[i] + _B5 * k5[i]
                                 + _B6 * k6[i])
        rhs(t1 if last else t + h, new, params, k7)
        norm = _error_norm(h, (k1, k3, k4, k5, k6, k7), y, new, rtol, atol)
        if norm <= 1.0:
            t = t1 if last else t + h
            for i in range(n):
                y[i], k1[i] = new[i], k7[i]
            factor = 10.0 if norm == 0.0 else min(10.0, max(0.2, 0.9 * norm ** -0.2))
        else:
            factor = max(0.2, 0.9 * norm ** -0.2)
        h = h * factor
    if t < t1:
        raise RuntimeError("dopri5_segment: max_steps reached before the segment end")
    return h
