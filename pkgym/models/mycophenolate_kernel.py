"""Compiled dosing interval of the de Winter 2009 MPA/MPAG/EHC model (the full 7-state ODE).

One MMF dose at t = 0 per patient, integrated to ``interval_h`` by an adaptive Dormand-Prince
5(4) stepper (the tableau of :mod:`pkgym.sim.tableaus`, the error norm and step control of
:func:`pkgym.sim.integrate_njit.dopri5_segment`) with the right-hand side written here, so
the kernel is cached. Integration is piecewise: every segment ends at a discontinuity (the
lagged dose entering the depot, the gallbladder window opening or closing) or at a sample
time, and the window flag is constant on each segment. The AUC of total MPA is an eighth
state integrated by the same stepper.

State, de Winter's Eqs. 1-7 as transcribed by nlmixr2lib (umol): 0 depot (MPA-equivalent),
1 free central MPA, 2 free peripheral MPA, 3 bound MPA, 4 free central MPAG, 5 bound MPAG,
6 gallbladder MPAG; then 7 the AUC of total MPA (mg*h/L). Bound amounts follow the
transcription's "V_binding = 1 L" convention: they enter the free-site balance
``FREE = BMAX - bMPA - bMPAG`` and the total concentration ``Cf + bMPA`` (umol/L) as they
are. Parameter columns: :data:`pkgym.models.mycophenolate.PARAM_NAMES`; the association
rates are ``k24 = k42 / KD1`` and ``k56 = k65 / KD2`` with the dissociation rates
:data:`K42_PER_H` and :data:`K65_PER_H` of Table 2 (no variability in the paper).

The system is mildly stiff: the binding modes relax at ``k24 FREE / Vc + k42`` ~ 200 /h and
``k56 FREE / Vm + k65`` ~ 150 /h in the typical patient (more for a small Vc), against
(CL + Q)/Vc = 14.6 /h for distribution and elimination; the explicit stepper is then held
near its stability bound (~3.3 / rate) between the transients, which also makes it accurate
(~4e-9 relative at rtol = atol = 1e-9, tested against Radau). A compiled RODAS4 (analytic
Jacobian, Hairer & Wanner IV.7) was measured as well: ~1.3x faster only at rtol 1e-6
(errors ~4e-7), slower at 1e-7 and 3x slower at 1e-9, so it was not kept.
"""

from __future__ import annotations

import numba
import numpy as np

from pkgym.sim.tableaus import DOPRI5_A, DOPRI5_C, DOPRI5_E

N_MODEL = 7
"""States of the model (de Winter's seven compartments)."""
N_WORK = 8
"""States integrated: the model's seven plus the running AUC."""
MW_MPA_MG_PER_UMOL = 320.3e-3
"""mg of MPA per umol (molar mass 320.3 g/mol)."""
K42_PER_H = 169.0
"""MPA dissociation rate k42, 1/h (de Winter 2009 Table 2, via nlmixr2lib)."""
K65_PER_H = 93.1
"""MPAG dissociation rate k65, 1/h (de Winter 2009 Table 2, via nlmixr2lib)."""

(_TLAG, _KA, _VC, _CL, _VP, _Q, _BMAX, _KD1, _VM, _CLM, _KD2, _K57, _TGB, _DGB,
 _K72) = range(15)
_, _C2, _C3, _C4, _C5, _, _ = DOPRI5_C
(_A21,) = DOPRI5_A[1]
_A31, _A32 = DOPRI5_A[2]
_A41, _A42, _A43 = DOPRI5_A[3]
_A51, _A52, _A53, _A54 = DOPRI5_A[4]
_A61, _A62, _A63, _A64, _A65 = DOPRI5_A[5]
_B1, _, _B3, _B4, _B5, _B6 = DOPRI5_A[6]
_E1, _, _E3, _E4, _E5, _E6, _E7 = DOPRI5_E
_MAX_STEPS = 1_000_000


@numba.njit(cache=True, nogil=True, inline="always")
def total_mpa_mg_per_l(y: np.ndarray, p: np.ndarray) -> float:  # pragma: no cover
    """Total MPA, mg/L: free central concentration plus bound MPA (umol/L, V_binding 1 L)."""
    return (y[1] / p[_VC] + y[3]) * MW_MPA_MG_PER_UMOL


@numba.njit(cache=True, nogil=True, inline="always")
def rhs(y: np.ndarray, p: np.ndarray, emptying: float,
        out: np.ndarray) -> None:  # pragma: no cover - compiled
    """d/dt of the eight work states; ``emptying`` is 1 inside the gallbladder window."""
    cf = y[1] / p[_VC]
    cmf = y[4] / p[_VM]
    sites = p[_BMAX] - y[3] - y[5]
    bind_mpa = K42_PER_H * (cf * sites / p[_KD1] - y[3])
    bind_mpag = K65_PER_H * (cmf * sites / p[_KD2] - y[5])
    absorbed = p[_KA] * y[0]
    to_mpag = p[_CL] * cf
    distribution = p[_Q] * (cf - y[2] / p[_VP])
    to_bile = p[_K57] * y[4]
    emptied = emptying * p[_K72] * y[6]
    out[0] = -absorbed
    out[1] = absorbed - to_mpag - distribution - bind_mpa + emptied
    out[2] = distribution
    out[3] = bind_mpa
    out[4] = to_mpag - p[_CLM] * cmf - to_bile - bind_mpag
    out[5] = bind_mpag
    out[6] = to_bile - emptied
    out[7] = (cf + y[3]) * MW_MPA_MG_PER_UMOL


@numba.njit(cache=True, nogil=True)
def _dopri5(t0: float, t1: float, y: np.ndarray, p: np.ndarray, emptying: float, h: float,
            rtol: float, atol: float, k: np.ndarray) -> float:  # pragma: no cover - compiled
    """Advance ``y`` from ``t0`` to ``t1`` (adaptive DOPRI5); return the next step to try.

    ``k`` is scratch space, shape (9, N_WORK): the seven stages, a stage state, the new state.
    """
    k1, k2, k3, k4, k5, k6, k7, stage, new = k[0], k[1], k[2], k[3], k[4], k[5], k[6], \
        k[7], k[8]
    t = t0
    h = min(h, t1 - t0)
    rhs(y, p, emptying, k1)
    for _ in range(_MAX_STEPS):
        if t >= t1:
            return h
        h = min(h, t1 - t)
        for i in range(N_WORK):
            stage[i] = y[i] + h * _A21 * k1[i]
        rhs(stage, p, emptying, k2)
        for i in range(N_WORK):
            stage[i] = y[i] + h * (_A31 * k1[i] + _A32 * k2[i])
        rhs(stage, p, emptying, k3)
        for i in range(N_WORK):
            stage[i] = y[i] + h * (_A41 * k1[i] + _A42 * k2[i] + _A43 * k3[i])
        rhs(stage, p, emptying, k4)
        for i in range(N_WORK):
            stage[i] = y[i] + h * (_A51 * k1[i] + _A52 * k2[i] + _A53 * k3[i] + _A54 * k4[i])
        rhs(stage, p, emptying, k5)
        for i in range(N_WORK):
            stage[i] = y[i] + h * (_A61 * k1[i] + _A62 * k2[i] + _A63 * k3[i] + _A64 * k4[i]
                                   + _A65 * k5[i])
        rhs(stage, p, emptying, k6)
        for i in range(N_WORK):
            new[i] = y[i] + h * (_B1 * k1[i] + _B3 * k3[i] + _B4 * k4[i] + _B5 * k5[i]
                                 + _B6 * k6[i])
        rhs(new, p, emptying, k7)
        norm = 0.0
        for i in range(N_WORK):
            error = h * (_E1 * k1[i] + _E3 * k3[i] + _E4 * k4[i] + _E5 * k5[i] + _E6 * k6[i]
                         + _E7 * k7[i])
            norm += (error / (atol + rtol * max(abs(y[i]), abs(new[i])))) ** 2
        norm = np.sqrt(norm / N_WORK)
        if norm <= 1.0:
            t = t1 if t + h >= t1 else t + h
            for i in range(N_WORK):
                y[i], k1[i] = new[i], k7[i]
            h *= 10.0 if norm == 0.0 else min(10.0, max(0.2, 0.9 * norm ** -0.2))
        else:
            h *= max(0.2, 0.9 * norm ** -0.2)
    raise RuntimeError("mycophenolate kernel: max_steps reached before the segment end")


@numba.njit(cache=True, nogil=True)
def _one_interval(y: np.ndarray, p: np.ndarray, dose_umol: float, interval_h: float,
                  times: np.ndarray, conc: np.ndarray, rtol: float, atol: float,
                  k: np.ndarray) -> None:  # pragma: no cover - compiled
    """Advance one patient's ``y`` (N_WORK,) over one interval, writing ``conc`` at ``times``.

    Events: the dose enters the depot at ``min(tlag, interval_h)``; the gallbladder empties
    on ``[TGB, min(TGB + DGB, interval_h)]``; NaN sample times are skipped (NaN out).
    """
    lag = min(p[_TLAG], interval_h)
    opens = min(p[_TGB], interval_h)
    closes = min(p[_TGB] + p[_DGB], interval_h)
    order = np.argsort(times)
    n_events = times.shape[0] + 4
    event_t = np.empty(n_events)
    event_t[0], event_t[1], event_t[2], event_t[3] = lag, opens, closes, interval_h
    for j in range(times.shape[0]):
        event_t[4 + j] = times[order[j]]
    t, h, dosed = 0.0, 0.05, False
    for e in np.argsort(event_t, kind="mergesort"):
        target = event_t[e]
        if np.isnan(target):
            continue
        if target > t:
            mid = 0.5 * (t + target)
            emptying = 1.0 if opens <= mid < closes else 0.0
            h = _dopri5(t, target, y, p, emptying, h, rtol, atol, k)
            t = target
        if e == 0 and not dosed:
            y[0] += dose_umol
            dosed = True
        elif e >= 4:
            conc[order[e - 4]] = total_mpa_mg_per_l(y, p)
    for j in range(times.shape[0]):
        if np.isnan(times[j]):
            conc[j] = np.nan


@numba.njit(cache=True, nogil=True, parallel=True)
def simulate_interval_kernel(states: np.ndarray, params: np.ndarray, doses_umol: np.ndarray,
                             interval_h: float, times: np.ndarray, rtol: float, atol: float,
                             new_states: np.ndarray, conc: np.ndarray,
                             auc: np.ndarray) -> None:  # pragma: no cover - compiled
    """Batched interval: patients are independent (``prange``); outputs written in place.

    Args:
        states: (n, 7) umol at the dose time (state order: module docstring).
        params: (n, 15) individual parameters.
        doses_umol: (n,) MPA-equivalent dose, umol.
        interval_h: interval length, h.
        times: (n, s) sample times in [0, interval_h] (NaN: no sample).
        rtol: relative tolerance of the stepper.
        atol: absolute tolerance (umol for amounts, mg*h/L for the AUC).
        new_states: (n, 7) output at ``interval_h``.
        conc: (n, s) output, total MPA mg/L.
        auc: (n,) output, mg*h/L over the interval.
    """
    for i in numba.prange(states.shape[0]):
        y = np.zeros(N_WORK)
        y[:N_MODEL] = states[i]
        k = np.empty((9, N_WORK))
        _one_interval(y, params[i], doses_umol[i], interval_h, times[i], conc[i], rtol, atol,
                      k)
        new_states[i] = y[:N_MODEL]
        auc[i] = y[N_MODEL]
