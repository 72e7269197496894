"""A compiled Dormand-Prince 5(4) step loop for one patient, for models with compiled RHS.

:func:`pkgym.sim.integrate.integrate` serves numpy right-hand sides in batches; models whose
hot loop is compiled (numba) need an integrator they can call per patient without leaving
compiled code. :func:`dopri5_segment` is that integrator, with the same error norm and step
control as ``integrate`` (Hairer, Norsett & Wanner, *Solving ODEs I*, II.4 and II.5). The
right-hand side is passed as a compiled function ``rhs(t, y, params, out)``.
"""

from __future__ import annotations

import numba
import numpy as np

_C2, _C3, _C4, _C5 = 1 / 5, 3 / 10, 4 / 5, 8 / 9
_A21 = 1 / 5
_A31, _A32 = 3 / 40, 9 / 40
_A41, _A42, _A43 = 44 / 45, -56 / 15, 32 / 9
_A51, _A52, _A53, _A54 = 19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729
_A61, _A62, _A63, _A64, _A65 = 9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656
_B1, _B3, _B4, _B5, _B6 = 35 / 384, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84
# Error coefficients: 5th-order weights minus the embedded 4th-order ones.
_E1, _E3, _E4, _E5, _E6, _E7 = (71 / 57600, -71 / 16695, 71 / 1920, -17253 / 339200,
                                22 / 525, -1 / 40)


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
