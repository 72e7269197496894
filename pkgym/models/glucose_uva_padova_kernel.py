"""Compiled minutes of the UVA/Padova T1D glucose-insulin model (simglucose 0.2.11's equations).

The right-hand side follows Dalla Man, Rizza & Cobelli 2007 (IEEE Trans Biomed Eng 54:1740)
with the subcutaneous insulin route and the type 1 adaptation (Dalla Man et al. 2007 J Diabetes
Sci Technol 1:323; Kovatchev et al. 2009 J Diabetes Sci Technol 3:44) in the form implemented
by simglucose 0.2.11 (``simglucose/patient/t1dpatient.py``, MIT): no hypoglycaemia risk term in
utilisation (``Uii = Fsnc``), ``EGP`` clipped at 0, renal excretion above ``ke2``, and each
derivative of a compartment that is < 0 set to 0 (the same ``(x >= 0) * dx`` guard).

State (13, simglucose's order and units): 0 stomach solid Qsto1 (mg), 1 stomach liquid Qsto2
(mg), 2 gut Qgut (mg), 3 plasma glucose Gp (mg/kg), 4 tissue glucose Gt (mg/kg), 5 plasma
insulin Ip (pmol/kg), 6 insulin action on utilisation X (pmol/L), 7 delayed insulin I' (pmol/L),
8 insulin action on production XL (pmol/L), 9 liver insulin Il (pmol/kg), 10 and 11
subcutaneous insulin Isc1, Isc2 (pmol/kg), 12 subcutaneous glucose Gs (mg/kg).

Inputs are piecewise constant over each minute (simglucose's sample time): insulin in pmol/kg/min
(``U/min * 6000 / BW``) and carbohydrate in mg/min (``g/min * 1000``). The gastric emptying rate
depends on the current meal's size ``Dbar = last_Qsto + foodtaken * 1000`` (mg), updated once
per minute before the minute is integrated, exactly as simglucose's ``step`` does. Each minute is
integrated by the classical fourth-order Runge-Kutta method at ``1 / substeps`` min.
"""

from __future__ import annotations

import math

import numba
import numpy as np

N_STATES = 13
"""States of the model (order: module docstring)."""
PARAM_NAMES: tuple[str, ...] = (
    "BW", "kabs", "kmax", "kmin", "b", "d", "f", "kp1", "kp2", "kp3", "Fsnc", "ke1", "ke2",
    "k1", "k2", "Vm0", "Vmx", "Km0", "m1", "m2", "m4", "m30", "ka1", "ka2", "kd", "Vi", "p2u",
    "Ib", "ki", "ksc", "Vg", "u2ss")
"""Columns of the kernel's parameter rows (simglucose's column names)."""
(_BW, _KABS, _KMAX, _KMIN, _B, _D, _F, _KP1, _KP2, _KP3, _FSNC, _KE1, _KE2, _K1, _K2, _VM0,
 _VMX, _KM0, _M1, _M2, _M4, _M30, _KA1, _KA2, _KD, _VI, _P2U, _IB, _KI, _KSC, _VG,
 _U2SS) = range(len(PARAM_NAMES))
N_MEMORY = 3
"""Meal memory columns: last_qsto_mg, foodtaken_g, last_carbs_g_per_min."""


@numba.njit(cache=True, nogil=True)
def gastric_emptying_per_min(qsto: float, dbar: float, p: np.ndarray) -> float:  # pragma: no cover
    """Gastric emptying kgut, 1/min, for ``qsto`` mg in the stomach in a meal of ``dbar`` mg."""
    if dbar <= 0.0:
        return p[_KMAX]
    aa = 5.0 / (2.0 * dbar * (1.0 - p[_B]))
    cc = 5.0 / (2.0 * dbar * p[_D])
    return p[_KMIN] + (p[_KMAX] - p[_KMIN]) / 2.0 * (
        math.tanh(aa * (qsto - p[_B] * dbar)) - math.tanh(cc * (qsto - p[_D] * dbar)) + 2.0)


@numba.njit(cache=True, nogil=True)
def rhs(x: np.ndarray, p: np.ndarray, insulin_pmol_per_kg_min: float, carbs_mg_per_min: float,
        dbar_mg: float, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """Write d/dt of the 13 states into ``out`` (equations: module docstring)."""
    kgut = gastric_emptying_per_min(x[0] + x[1], dbar_mg, p)
    out[0] = -p[_KMAX] * x[0] + carbs_mg_per_min
    out[1] = p[_KMAX] * x[0] - kgut * x[1]
    out[2] = kgut * x[1] - p[_KABS] * x[2]
    rate_of_appearance = p[_F] * p[_KABS] * x[2] / p[_BW]
    egp = p[_KP1] - p[_KP2] * x[3] - p[_KP3] * x[8]
    excretion = p[_KE1] * (x[3] - p[_KE2]) if x[3] > p[_KE2] else 0.0
    out[3] = (max(egp, 0.0) + rate_of_appearance - p[_FSNC] - excretion - p[_K1] * x[3]
              + p[_K2] * x[4])
    utilisation = (p[_VM0] + p[_VMX] * x[6]) * x[4] / (p[_KM0] + x[4])
    out[4] = -utilisation + p[_K1] * x[3] - p[_K2] * x[4]
    out[5] = (-(p[_M2] + p[_M4]) * x[5] + p[_M1] * x[9] + p[_KA1] * x[10]
              + p[_KA2] * x[11])
    plasma_insulin = x[5] / p[_VI]
    out[6] = -p[_P2U] * x[6] + p[_P2U] * (plasma_insulin - p[_IB])
    out[7] = -p[_KI] * (x[7] - plasma_insulin)
    out[8] = -p[_KI] * (x[8] - x[7])
    out[9] = -(p[_M1] + p[_M30]) * x[9] + p[_M2] * x[5]
    out[10] = insulin_pmol_per_kg_min - (p[_KA1] + p[_KD]) * x[10]
    out[11] = p[_KD] * x[10] - p[_KA2] * x[11]
    out[12] = -p[_KSC] * x[12] + p[_KSC] * x[3]
    for j in (3, 4, 5, 9, 10, 11, 12):
        if x[j] < 0.0:
            out[j] = 0.0


@numba.njit(cache=True, nogil=True)
def _rk4_minute(x: np.ndarray, p: np.ndarray, u: float, d: float, dbar: float, substeps: int,
                k: np.ndarray) -> None:  # pragma: no cover - compiled
    """Advance ``x`` in place by one minute: ``substeps`` RK4 steps; ``k`` scratch (5, 13)."""
    h = 1.0 / substeps
    k1, k2, k3, k4, stage = k[0], k[1], k[2], k[3], k[4]
    for _ in range(substeps):
        rhs(x, p, u, d, dbar, k1)
        for j in range(N_STATES):
            stage[j] = x[j] + 0.5 * h * k1[j]
        rhs(stage, p, u, d, dbar, k2)
        for j in range(N_STATES):
            stage[j] = x[j] + 0.5 * h * k2[j]
        rhs(stage, p, u, d, dbar, k3)
        for j in range(N_STATES):
            stage[j] = x[j] + h * k3[j]
        rhs(stage, p, u, d, dbar, k4)
        for j in range(N_STATES):
            x[j] += h / 6.0 * (k1[j] + 2.0 * k2[j] + 2.0 * k3[j] + k4[j])


@numba.njit(cache=True, nogil=True)
def advance_one(x: np.ndarray, p: np.ndarray, insulin_u_per_min: np.ndarray,
                carbs_g_per_min: np.ndarray, memory: np.ndarray, substeps: int,
                glucose: np.ndarray) -> None:  # pragma: no cover - compiled
    """One patient, minute by minute: meal memory update (simglucose's ``step``), then RK4."""
    k = np.empty((5, N_STATES))
    for minute in range(insulin_u_per_min.shape[0]):
        carbs = carbs_g_per_min[minute]
        if carbs > 0.0 and memory[2] <= 0.0:
            memory[0] = x[0] + x[1]
            memory[1] = 0.0
        memory[1] += carbs
        memory[2] = carbs
        dbar = memory[0] + memory[1] * 1000.0
        u = insulin_u_per_min[minute] * 6000.0 / p[_BW]
        _rk4_minute(x, p, u, carbs * 1000.0, dbar, substeps, k)
        glucose[minute] = x[3] / p[_VG]


@numba.njit(cache=True, nogil=True, parallel=True)
def advance_kernel(states: np.ndarray, params: np.ndarray, insulin_u_per_min: np.ndarray,
                   carbs_g_per_min: np.ndarray, memory: np.ndarray, substeps: int,
                   glucose: np.ndarray) -> None:  # pragma: no cover - compiled
    """Batched minutes, in place; patients are independent (``prange``).

    Args:
        states: (n, 13) updated in place.
        params: (n, len(PARAM_NAMES)).
        insulin_u_per_min: (n, m) insulin per minute, U/min.
        carbs_g_per_min: (n, m) carbohydrate eaten per minute, g/min.
        memory: (n, 3) meal memory, updated in place.
        substeps: RK4 steps per minute.
        glucose: (n, m) output: plasma glucose Gp / Vg at the end of each minute, mg/dL.
    """
    for i in numba.prange(states.shape[0]):
        advance_one(states[i], params[i], insulin_u_per_min[i], carbs_g_per_min[i], memory[i],
                    substeps, glucose[i])


@numba.njit(cache=True, nogil=True)
def derivatives_kernel(states: np.ndarray, params: np.ndarray, insulin_u_per_min: np.ndarray,
                       carbs_g_per_min: np.ndarray, dbar_mg: np.ndarray,
                       out: np.ndarray) -> None:  # pragma: no cover - compiled
    """Batched right-hand side (units of ``advance_kernel``), written into ``out`` (n, 13)."""
    for i in range(states.shape[0]):
        p = params[i]
        rhs(states[i], p, insulin_u_per_min[i] * 6000.0 / p[_BW], carbs_g_per_min[i] * 1000.0,
            dbar_mg[i], out[i])
