"""One infusion interval of a two-compartment model, compiled, for one patient at a time.

The closed form of :func:`pkgym.sim.interval.infuse_compartments` (an infusion from the start
of the interval, levels at offsets inside it, the mass-balance AUC) for kernels that loop over
patients without leaving compiled code: the vancomycin ward's step
(:func:`pkgym.envs.vancomycin.kernel.advance_ward`) is its one caller. Its torch twin
(:mod:`pkgym.accel.interval_torch`) is held to it in ``tests/accel/test_interval_torch.py``, and
the ward kernel to the numpy reference course in ``tests/models/test_vancomycin_kernel.py``.
"""

from __future__ import annotations

import math

import numba

__all__ = ["infuse_two_compartment", "two_compartment_basis"]


@numba.njit(cache=True, error_model="numpy", inline="always")
def _expm1_ratio(x: float) -> float:
    """``(exp(x) - 1) / x``, 1 at 0."""
    return 1.0 if x == 0.0 else math.expm1(x) / x


@numba.njit(cache=True, error_model="numpy")
def two_compartment_basis(cl: float, v1: float, v2: float, q: float) -> tuple:
    """Modal basis of a 2-compartment model: (lam0, lam1, cos, sin, sqrt V1, sqrt V2).

    One Jacobi rotation of the symmetric matrix, as ``pkgym.sim.modal._eigh_2x2``: the
    eigenvectors are the columns (c, s) and (-s, c).

    Args:
        cl: elimination clearance, L/h.
        v1: central volume, L.
        v2: peripheral volume, L.
        q: intercompartmental clearance, L/h.

    Examples:
        >>> lam0, lam1, *_ = two_compartment_basis(5.0, 50.0, 50.0, 1e-12)
        >>> round(min(lam0, lam1), 12)
        -0.1
    """
    r0, r1 = math.sqrt(v1), math.sqrt(v2)
    a, b, d = -(cl + q) / (r0 * r0), q / (r0 * r1), -q / (r1 * r1)
    theta = 0.5 * math.atan2(2.0 * b, a - d)
    c, s = math.cos(theta), math.sin(theta)
    first = a * c * c + 2.0 * b * c * s + d * s * s
    second = a * s * s - 2.0 * b * c * s + d * c * c
    return min(first, 0.0), min(second, 0.0), c, s, r0, r1


@numba.njit(cache=True, error_model="numpy", inline="always")
def _mode_at(lam: float, z: float, w: float, rate: float, duration: float, t: float) -> float:
    """One mode at offset ``t``: free decay of ``z`` plus the infusion's response."""
    on = min(t, duration)
    gain = on * _expm1_ratio(lam * on) * math.exp(lam * (t - on))
    return math.exp(lam * t) * z + w * rate * gain


@numba.njit(cache=True, error_model="numpy")
def infuse_two_compartment(x0: float, x1: float, cl: float, v1: float, v2: float, q: float,
                           dose: float, duration: float, interval: float, t_first: float,
                           t_second: float) -> tuple:
    """Exact interval of an infusion from amounts (x0, x1) mg: levels, end amounts, AUC.

    Args:
        x0: central amount at the start, mg.
        x1: peripheral amount at the start, mg.
        cl: elimination clearance, L/h.
        v1: central volume, L.
        v2: peripheral volume, L.
        q: intercompartmental clearance, L/h.
        dose: dose infused from the start of the interval, mg.
        duration: infusion duration, h, in (0, interval].
        interval: length of the interval, h.
        t_first: offset of the first level read, h, in [0, interval].
        t_second: offset of the second level read, h, in [0, interval].

    Returns:
        (level at ``t_first`` mg/L, level at ``t_second`` mg/L, central mg, peripheral mg
        at the end (clipped at 0), AUC over the interval mg*h/L).

    Examples:
        >>> out = infuse_two_compartment(0.0, 0.0, 5.0, 50.0, 38.4, 6.5, 1000.0, 1.0, 12.0,
        ...                              11.5, 2.0)
        >>> round(out[4], 1) > 0, out[2] > 0
        (True, True)
    """
    lam0, lam1, c, s, r0, r1 = two_compartment_basis(cl, v1, v2, q)
    z0, z1 = c / r0 * x0 + s / r1 * x1, -s / r0 * x0 + c / r1 * x1  # to_modal
    w0, w1 = c / r0, -s / r0  # input weights (also read C from the modes)
    rate = dose / duration
    first = (_mode_at(lam0, z0, w0, rate, duration, t_first) * w0
             + _mode_at(lam1, z1, w1, rate, duration, t_first) * w1)
    second = (_mode_at(lam0, z0, w0, rate, duration, t_second) * w0
              + _mode_at(lam1, z1, w1, rate, duration, t_second) * w1)
    e0 = _mode_at(lam0, z0, w0, rate, duration, interval)
    e1 = _mode_at(lam1, z1, w1, rate, duration, interval)
    body_change = (e0 - z0) * (r0 * c + r1 * s) + (e1 - z1) * (r1 * c - r0 * s)
    auc = max((dose - body_change) / cl, 0.0)
    central, peripheral = c * r0 * e0 - s * r0 * e1, s * r1 * e0 + c * r1 * e1  # from_modal
    return first, second, max(central, 0.0), max(peripheral, 0.0), auc
