"""Docetaxel cycles, compiled: PK (Bruno 1996), neutrophils (Friberg 2002) and tumour (Claret).

One state per patient, ``(A1, A2, A3, Prol, T1, T2, T3, Circ, SLD)``: docetaxel amounts (mg),
the Friberg compartments (x10^9/L) and the sum of longest diameters (mm). The joint ODE is
nonlinear (feedback, tumour kill), so each patient is integrated by a compiled Dormand-Prince
5(4) (:mod:`pkgym.sim.dopri5_njit`) day by day, splitting at the infusion end; time ``t`` is
hours since the first cycle began (the tumour's resistance term ``exp(-lambda t)`` needs it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from pkgym.models.docetaxel import DocetaxelPK
from pkgym.models.myelosuppression import MyelosuppressionParams
from pkgym.models.tumour import TumourParams
from pkgym.sim.dopri5_njit import dopri5_segment

N_STATES = 9
CIRC, SLD = 7, 8
"""Indices of the circulating neutrophils and of the tumour size in the state."""
(K10, K12, K21, K13, K31, INV_V1, RATE, KTR, GAMMA, CIRC0, SLOPE, KL, KD, LAMBDA) = range(14)
N_PARAMS = 14
HOURS_PER_DAY = 24.0


@dataclass(frozen=True, slots=True)
class SolverTolerances:
    """Tolerances of the compiled integrator (STYLE 10: explicit solver settings).

    Attributes:
        rtol: relative tolerance. atol: absolute tolerance (state units).
        max_steps: most attempted steps per day.
    """

    rtol: float = 1e-8
    atol: float = 1e-10
    max_steps: int = 100_000

    def __post_init__(self) -> None:
        """Tolerances positive."""
        if not (0 < self.rtol < 1 and 0 < self.atol and self.max_steps >= 1):
            raise ValueError(f"need 0 < rtol < 1, atol > 0, max_steps >= 1, got {self}")


def pack_parameters(pk: DocetaxelPK, myelo: MyelosuppressionParams,
                    tumour: TumourParams) -> np.ndarray:
    """Per-patient parameter rows (n, N_PARAMS) for the compiled right-hand side.

    Examples:
        >>> from pkgym.models.docetaxel import Bruno1996
        >>> from pkgym.models.myelosuppression import FribergDocetaxel
        >>> from pkgym.models.tumour import Claret2009
        >>> pk = Bruno1996().parameters([1.8], [1.2], [60.0], [0])
        >>> rows = pack_parameters(pk, FribergDocetaxel().parameters([0], [1.34]),
        ...                        Claret2009().parameters(np.zeros((1, 3))))
        >>> rows.shape, round(float(rows[0, K12]), 3)
        ((1, 14), 1.059)
    """
    v1 = pk.central_volume_l
    rows = np.zeros((v1.shape[0], N_PARAMS))
    rows[:, K10] = pk.clearance_l_per_h / v1
    rows[:, K12], rows[:, K21] = pk.q2_l_per_h / v1, pk.q2_l_per_h / pk.peripheral2_volume_l
    rows[:, K13], rows[:, K31] = pk.q3_l_per_h / v1, pk.q3_l_per_h / pk.peripheral3_volume_l
    rows[:, INV_V1] = 1.0 / v1
    rows[:, KTR], rows[:, GAMMA] = myelo.ktr_per_h, myelo.gamma
    rows[:, CIRC0], rows[:, SLOPE] = myelo.circ0_1e9_per_l, myelo.slope_l_per_mg
    rows[:, KL], rows[:, KD] = tumour.growth_per_h, tumour.kill_l_per_mg_per_h
    rows[:, LAMBDA] = tumour.resistance_per_h
    return rows


def initial_states(params: np.ndarray, baseline_sld_mm: np.ndarray) -> np.ndarray:
    """Drug-free steady state: no docetaxel, every Friberg compartment at Circ0, (n, 9).

    Examples:
        >>> initial_states(np.full((1, N_PARAMS), 2.0), np.array([70.0]))[0].tolist()
        [0.0, 0.0, 0.0, 2.0, 2.0, 2.0, 2.0, 2.0, 70.0]
    """
    states = np.zeros((params.shape[0], N_STATES))
    states[:, 3:8] = params[:, CIRC0][:, None]
    states[:, SLD] = baseline_sld_mm
    return states


@numba.njit(cache=True, nogil=True, fastmath=True)
def rhs(t: float, y: np.ndarray, p: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    """The joint PK / Friberg / Claret right-hand side of one patient (module docstring)."""
    conc = y[0] * p[INV_V1]
    out[0] = (p[RATE] - (p[K10] + p[K12] + p[K13]) * y[0] + p[K21] * y[1] + p[K31] * y[2])
    out[1] = p[K12] * y[0] - p[K21] * y[1]
    out[2] = p[K13] * y[0] - p[K31] * y[2]
    ktr = p[KTR]
    feedback = (p[CIRC0] / max(y[CIRC], 1e-12)) ** p[GAMMA]
    out[3] = ktr * y[3] * ((1.0 - p[SLOPE] * conc) * feedback - 1.0)
    out[4] = ktr * (y[3] - y[4])
    out[5] = ktr * (y[4] - y[5])
    out[6] = ktr * (y[5] - y[6])
    out[7] = ktr * (y[6] - y[7])
    out[8] = (p[KL] - p[KD] * np.exp(-p[LAMBDA] * t) * conc) * y[SLD]


@numba.njit(nogil=True)  # not cached: numba cannot cache a call taking a compiled function
def _advance_one(k: int, rows: np.ndarray, doses_mg: np.ndarray, dose_days: np.ndarray,
                 n_days: np.ndarray, infusion_h: float, times_h: np.ndarray, states: np.ndarray,
                 params: np.ndarray, rtol: float, atol: float, max_steps: int,
                 daily_anc: np.ndarray) -> None:  # pragma: no cover - compiled
    """One cycle of patient ``rows[k]`` (see :func:`advance_cycles`)."""
    p = rows[k]
    y, theta = states[p], params[p]
    t, h = times_h[p], 0.05
    for d in range(daily_anc.shape[1]):
        if d >= n_days[k]:
            daily_anc[k, d] = np.nan
            continue
        end = t + HOURS_PER_DAY
        if d == dose_days[k] and doses_mg[k] > 0.0:
            theta[RATE] = doses_mg[k] / infusion_h
            h = dopri5_segment(rhs, t, t + infusion_h, y, theta, rtol, atol, 0.01, max_steps)
            theta[RATE] = 0.0
            t, h = t + infusion_h, 0.01
        h = dopri5_segment(rhs, t, end, y, theta, rtol, atol, h, max_steps)
        t = end
        daily_anc[k, d] = y[CIRC]
    times_h[p] = t


@numba.njit(nogil=True)
def _advance_serial(rows, doses_mg, dose_days, n_days, infusion_h, times_h, states,  # noqa: ANN001
                    params, rtol, atol, max_steps, daily_anc) -> None:  # pragma: no cover
    for k in range(rows.shape[0]):
        _advance_one(k, rows, doses_mg, dose_days, n_days, infusion_h, times_h, states, params,
                     rtol, atol, max_steps, daily_anc)


@numba.njit(nogil=True, parallel=True)
def _advance_parallel(rows, doses_mg, dose_days, n_days, infusion_h, times_h,  # noqa: ANN001
                      states, params, rtol, atol, max_steps, daily_anc) -> None:  # pragma: no cover
    for k in numba.prange(rows.shape[0]):
        _advance_one(k, rows, doses_mg, dose_days, n_days, infusion_h, times_h, states, params,
                     rtol, atol, max_steps, daily_anc)


PARALLEL_FROM = 64
"""Batches of at least this many patients run on all of numba's threads."""


def advance_cycles(rows: np.ndarray, doses_mg: np.ndarray, dose_days: np.ndarray,
                   n_days: np.ndarray, infusion_h: float, times_h: np.ndarray,
                   states: np.ndarray, params: np.ndarray, rtol: float, atol: float,
                   max_steps: int, daily_anc: np.ndarray) -> None:
    """Run one cycle of ``n_days[k]`` days for patient ``rows[k]`` (in place).

    The dose ``doses_mg[k]`` is infused over ``infusion_h`` from the start of day
    ``dose_days[k]``. ``times_h`` (hours since treatment start) and ``states`` advance;
    ``daily_anc[k, d]`` receives the neutrophil count at the end of day d (NaN after the
    cycle's last day). Large batches run on all of numba's threads.
    """
    kernel: Any = _advance_serial
    if rows.shape[0] >= PARALLEL_FROM and numba.get_num_threads() > 1:
        kernel = _advance_parallel
    kernel(np.asarray(rows, np.int64), np.asarray(doses_mg, np.float64),
           np.asarray(dose_days, np.int64), np.asarray(n_days, np.int64), float(infusion_h),
           times_h, states, params, float(rtol), float(atol), int(max_steps), daily_anc)
