"""Butcher tableaus of the explicit Runge-Kutta methods, shared by every integrator in ``sim``.

:mod:`pkgym.sim.integrate` (batched numpy) and :mod:`pkgym.sim.integrate_njit` (compiled, one
patient) read their coefficients from here, so the two cannot drift apart. Plain Python
floats: numba freezes them as compile-time constants.

Dormand-Prince 5(4) (Hairer, Norsett & Wanner, *Solving ODEs I*, Table II.5.2): nodes
``DOPRI5_C``, stage rows ``DOPRI5_A`` whose last row is the 5th-order solution (first same as
last, FSAL), and ``DOPRI5_E``, the 5th-order weights minus the embedded 4th-order ones
(seven entries: the seventh stage is the derivative at the new point).

Classic RK4: ``y + h / 6 (k1 + 2 k2 + 2 k3 + k4)`` with stages at ``t``, ``t + h/2`` (twice)
and ``t + h``; its coefficients are written into both steppers' expressions.
"""

from __future__ import annotations

from typing import Final

__all__ = ["DOPRI5_A", "DOPRI5_C", "DOPRI5_E"]

DOPRI5_C: Final = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0)
"""Stage nodes (fractions of the step)."""
DOPRI5_A: Final = (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
    (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84),  # = 5th-order weights
)
"""Stage coefficients, row i for stage i (row 0 empty)."""
DOPRI5_E: Final = (71 / 57600, 0.0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525,
                   -1 / 40)
"""Local error weights: 5th-order minus embedded 4th-order weights."""
