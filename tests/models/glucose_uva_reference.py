"""Independent Python right-hand side of simglucose 0.2.11's UVA/Padova model, for solve_ivp."""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp


def uva_rhs(x: np.ndarray, q: dict[str, float], insulin_u_per_min: float, carbs_g_per_min: float,
            dbar_mg: float) -> np.ndarray:
    """d/dt written from the equations of Dalla Man 2007 as simglucose arranges them."""
    dx = np.zeros(13)
    qsto = x[0] + x[1]
    if dbar_mg > 0:
        alpha = 5 / (2 * dbar_mg * (1 - q["b"]))
        beta = 5 / (2 * dbar_mg * q["d"])
        kgut = q["kmin"] + (q["kmax"] - q["kmin"]) / 2 * (
            np.tanh(alpha * (qsto - q["b"] * dbar_mg)) - np.tanh(beta * (qsto - q["d"] * dbar_mg))
            + 2)
    else:
        kgut = q["kmax"]
    dx[0] = carbs_g_per_min * 1000 - q["kmax"] * x[0]
    dx[1] = q["kmax"] * x[0] - kgut * x[1]
    dx[2] = kgut * x[1] - q["kabs"] * x[2]
    ra = q["f"] * q["kabs"] * x[2] / q["BW"]
    egp = max(q["kp1"] - q["kp2"] * x[3] - q["kp3"] * x[8], 0.0)
    renal = q["ke1"] * (x[3] - q["ke2"]) if x[3] > q["ke2"] else 0.0
    dx[3] = egp + ra - q["Fsnc"] - renal - q["k1"] * x[3] + q["k2"] * x[4]
    uid = (q["Vm0"] + q["Vmx"] * x[6]) * x[4] / (q["Km0"] + x[4])
    dx[4] = q["k1"] * x[3] - q["k2"] * x[4] - uid
    dx[5] = q["m1"] * x[9] + q["ka1"] * x[10] + q["ka2"] * x[11] - (q["m2"] + q["m4"]) * x[5]
    ip = x[5] / q["Vi"]
    dx[6] = q["p2u"] * (ip - q["Ib"] - x[6])
    dx[7] = q["ki"] * (ip - x[7])
    dx[8] = q["ki"] * (x[7] - x[8])
    dx[9] = q["m2"] * x[5] - (q["m1"] + q["m30"]) * x[9]
    dx[10] = insulin_u_per_min * 6000 / q["BW"] - (q["ka1"] + q["kd"]) * x[10]
    dx[11] = q["kd"] * x[10] - q["ka2"] * x[11]
    dx[12] = q["ksc"] * (x[3] - x[12])
    for j in (3, 4, 5, 9, 10, 11, 12):
        if x[j] < 0:
            dx[j] = 0.0
    return dx


def reference_run(x0: np.ndarray, q: dict[str, float], insulin: np.ndarray, carbs: np.ndarray,
                  method: str = "LSODA") -> np.ndarray:
    """Minute-by-minute solve_ivp (rtol = atol = 1e-10) with simglucose's meal memory."""
    x = np.array(x0, dtype=float)
    last_qsto, food, last_carbs = x[0] + x[1], 0.0, 0.0
    out = np.empty((len(insulin), 13))
    for minute, (u, c) in enumerate(zip(insulin, carbs, strict=True)):
        if c > 0 and last_carbs <= 0:
            last_qsto, food = x[0] + x[1], 0.0
        food += c
        last_carbs = c
        dbar = last_qsto + food * 1000

        def f(_t: float, y: np.ndarray, u: float = u, c: float = c,
              dbar: float = dbar) -> np.ndarray:
            return uva_rhs(y, q, u, c, dbar)

        sol = solve_ivp(f, (0.0, 1.0), x, method=method, rtol=1e-10, atol=1e-10)
        x = sol.y[:, -1]
        out[minute] = x
    return out
