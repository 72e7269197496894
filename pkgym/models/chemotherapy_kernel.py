"""Docetaxel cycles, compiled: PK (Bruno 1996), neutrophils (Friberg 2002) and tumour (Claret).

One state per patient, ``(A1, A2, A3, Prol, T1, T2, T3, Circ, SLD)``: docetaxel amounts (mg),
the Friberg compartments (x10^9/L) and the sum of longest diameters (mm). The PK is linear,
so it is solved exactly: on each segment (a day, split at the infusion end) the amounts are
decomposed into the modes of the three-compartment system (``eigh`` of its symmetrised
matrix) and the concentration is a sum of exponentials. Only the nonlinear neutrophil and
tumour equations are integrated, by a compiled Dormand-Prince 5(4)
(:mod:`pkgym.sim.integrate_njit`), so the fast distribution phase no longer limits its step.
Time ``t`` is hours since the first cycle began (the tumour's ``exp(-lambda t)`` needs it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

from pkgym.models.docetaxel import DocetaxelPK
from pkgym.models.myelosuppression import MyelosuppressionParams
from pkgym.models.tumour import TumourParams
from pkgym.sim.integrate_njit import dopri5_segment
from pkgym.units import HOURS_PER_DAY

N_STATES = 9
CIRC, SLD = 7, 8
"""Indices of the circulating neutrophils and of the tumour size in the state."""
(K10, K12, K21, K13, K31, INV_V1, RATE, KTR, GAMMA, CIRC0, SLOPE, KL, KD, LAMBDA, EMAX,
 EC50) = range(16)
N_PARAMS, N_PARAMS_EMAX = 14, 16
# Rows of a linear drug effect have N_PARAMS columns (v0's, unchanged); rows of an Emax effect
# add EMAX and EC50 (mg/L). In the segment vector a linear row leaves EC50 at 0, which selects
# the linear effect SLOPE * C.
# The segment vector the compiled RHS reads: the parameters, then the PK modes and the
# segment's start (filled per patient and segment by the kernel).
MODE_RATES, MODE_WEIGHTS, MODE_INPUT, MODE_START, SEGMENT_T0 = 16, 19, 22, 25, 28
TO_MODES, FROM_MODES = 29, 38
CACHED_T, CACHED_CONC = 47, 48  # last concentration and its time (NaN: none), see below
SEGMENT_SIZE = 49


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
    """Per-patient parameter rows for the compiled right-hand side.

    (n, N_PARAMS) for a linear drug effect (``myelo.emax`` None), (n, N_PARAMS_EMAX) with
    EMAX and EC50 for an Emax effect.

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
    emax = myelo.emax is not None and myelo.ec50_mg_per_l is not None
    rows = np.zeros((v1.shape[0], N_PARAMS_EMAX if emax else N_PARAMS))
    rows[:, K10] = pk.clearance_l_per_h / v1
    rows[:, K12], rows[:, K21] = pk.q2_l_per_h / v1, pk.q2_l_per_h / pk.peripheral2_volume_l
    rows[:, K13], rows[:, K31] = pk.q3_l_per_h / v1, pk.q3_l_per_h / pk.peripheral3_volume_l
    rows[:, INV_V1] = 1.0 / v1
    rows[:, KTR], rows[:, GAMMA] = myelo.ktr_per_h, myelo.gamma
    rows[:, CIRC0], rows[:, SLOPE] = myelo.circ0_1e9_per_l, myelo.slope_l_per_mg
    rows[:, KL], rows[:, KD] = tumour.growth_per_h, tumour.kill_l_per_mg_per_h
    rows[:, LAMBDA] = tumour.resistance_per_h
    if emax:
        rows[:, EMAX], rows[:, EC50] = myelo.emax, myelo.ec50_mg_per_l
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


def _typed_fma(typingctx: Any, a: Any, b: Any, c: Any) -> Any:
    """``a * b + c`` rounded once (LLVM's fma), for compiled code to place FMAs itself."""
    def codegen(context: Any, builder: ir.IRBuilder, signature: Any, args: Any) -> ir.Value:
        return builder.fma(*args)

    return types.float64(types.float64, types.float64, types.float64), codegen


fma: Any = intrinsic(_typed_fma)


@numba.njit(cache=True, nogil=True, fastmath=False)  # unset, rhs's would be inherited
def concentration(t: float, e: np.ndarray) -> float:  # pragma: no cover - compiled
    """Exact docetaxel concentration (mg/L) at ``t`` within a segment (segment vector ``e``).

    ``sum_i W_i (S_i exp(-r_i tau) - R I_i expm1(-r_i tau) / r_i)`` with each rounding of
    the fast-math build it replaced written out (its FMAs on an FMA CPU, and its order: mode
    1, then modes 0 and 2 fused in), so that the input term can be skipped: outside an
    infusion (``R`` 0) it is a signed zero, whose sign ``-r_i tau`` gives as ``expm1`` would.
    The value at the segment's last time is kept (CACHED_T, CACHED_CONC): Dormand-Prince
    evaluates its last two stages at the same time. Clear CACHED_T after changing ``e``.
    """
    if t == e[CACHED_T]:
        return e[CACHED_CONC]
    back, rate = e[SEGMENT_T0] - t, e[RATE]  # -tau, infusion rate
    m1 = _mode(1, back, rate, e)
    conc = fma(e[MODE_WEIGHTS], _mode(0, back, rate, e), e[MODE_WEIGHTS + 1] * m1)
    conc = fma(e[MODE_WEIGHTS + 2], _mode(2, back, rate, e), conc)
    e[CACHED_T], e[CACHED_CONC] = t, conc
    return conc


@numba.njit(cache=True, nogil=True, fastmath=False, inline="always")
def _mode(i: int, back: float, rate: float, e: np.ndarray) -> float:  # pragma: no cover
    """Mode ``i`` of the amounts at ``-tau = back`` (:func:`concentration`)."""
    r = e[MODE_RATES + i]
    decay = r * back
    ramp = np.expm1(decay) if rate != 0.0 else decay
    return fma(np.exp(decay), e[MODE_START + i], -(ramp * rate * e[MODE_INPUT + i] / r))


@numba.njit(cache=True, nogil=True, fastmath=True)
def potency(conc: float, p: np.ndarray) -> float:  # pragma: no cover - compiled
    """Drug effect per unit concentration, E / C (L/mg): SLOPE, or EMAX / (EC50 + C).

    The effect is written ``potency * C`` in both models so that the linear one compiles to
    the same arithmetic as before the Emax option existed (bit-identical trajectories).
    """
    if p[EC50] > 0.0:
        return p[EMAX] / (p[EC50] + conc)
    return p[SLOPE]


@numba.njit(cache=True, nogil=True, fastmath=True)
def rhs(t: float, y: np.ndarray, p: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    """Friberg and Claret right-hand side of one patient (``p``: the segment vector).

    The drug effect on proliferation is ``SLOPE C``, or ``EMAX C / (EC50 + C)`` where the
    row has EC50 > 0.

    The PK amounts do not move within a segment: the kernel advances them exactly between
    segments (:func:`pk_modes`).
    """
    conc = concentration(t, p)
    out[0] = out[1] = out[2] = 0.0
    ktr = p[KTR]
    feedback = (p[CIRC0] / max(y[CIRC], 1e-12)) ** p[GAMMA]
    out[3] = ktr * y[3] * ((1.0 - potency(conc, p) * conc) * feedback - 1.0)
    out[4] = ktr * (y[3] - y[4])
    out[5] = ktr * (y[4] - y[5])
    out[6] = ktr * (y[5] - y[6])
    out[7] = ktr * (y[6] - y[7])
    out[8] = (p[KL] - p[KD] * np.exp(-p[LAMBDA] * t) * conc) * y[SLD]


@numba.njit(cache=True, nogil=True, fastmath=True)
def rhs_log(t: float, z: np.ndarray, p: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    """:func:`rhs` for the logarithms of the Friberg and tumour states (``z[3:9]``).

    The fallback of a patient whose cycle left :func:`rhs`'s states negative or non-finite
    (:func:`_advance_one`): every compartment of the model is positive, so ``log y`` obeys
    ``d(log y)/dt = y'/y`` and its solution can never cross zero (an explicit step near zero
    can, and the Friberg feedback then amplifies the negative count without bound). The
    same equations, so the same solution: only what the step control measures differs.
    """
    conc = concentration(t, p)
    out[0] = out[1] = out[2] = 0.0
    ktr = p[KTR]
    feedback = np.exp(p[GAMMA] * (np.log(p[CIRC0]) - z[CIRC]))
    out[3] = ktr * ((1.0 - potency(conc, p) * conc) * feedback - 1.0)
    for i in range(4, 8):
        out[i] = ktr * (np.exp(z[i - 1] - z[i]) - 1.0)
    out[8] = p[KL] - p[KD] * np.exp(-p[LAMBDA] * t) * conc


@numba.njit(cache=True, nogil=True)
def pk_modes(theta: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """The segment vector of a parameter row: the row, then the PK's modes (module docstring).

    K = D^(1/2) S D^(-1/2) with D = diag(V1, V2, V3) and S symmetric; S = Q diag(-rates) Q^T.
    """
    e = np.zeros(SEGMENT_SIZE)
    e[:theta.shape[0]] = theta  # a linear row (N_PARAMS wide) leaves EMAX and EC50 at 0
    e[CACHED_T] = np.nan
    v1 = 1.0 / theta[INV_V1]
    volumes = np.array([v1, v1 * theta[K12] / theta[K21], v1 * theta[K13] / theta[K31]])
    k = np.array([[-(theta[K10] + theta[K12] + theta[K13]), theta[K21], theta[K31]],
                  [theta[K12], -theta[K21], 0.0], [theta[K13], 0.0, -theta[K31]]])
    root = np.sqrt(volumes)
    symmetric = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            symmetric[i, j] = k[i, j] * root[j] / root[i]
    values, q = np.linalg.eigh(0.5 * (symmetric + symmetric.T))
    for i in range(3):
        e[MODE_RATES + i] = -values[i]
        for j in range(3):
            e[FROM_MODES + 3 * i + j] = root[i] * q[i, j]  # amounts = FROM @ modes
            e[TO_MODES + 3 * i + j] = q[j, i] / root[j]  # modes = TO @ amounts
        e[MODE_WEIGHTS + i] = e[FROM_MODES + i] / v1
        e[MODE_INPUT + i] = e[TO_MODES + 3 * i]
    return e


@numba.njit(nogil=True)  # not cached: numba cannot cache a call taking a compiled function
def _segment(f, t0: float, t1: float, y: np.ndarray, e: np.ndarray, rtol: float,  # noqa: ANN001
             atol: float, h: float, max_steps: int) -> float:  # pragma: no cover - compiled
    """Integrate one segment: modes of the amounts at t0, Dormand-Prince of ``f``, exact amounts.

    ``f`` is :func:`rhs` or :func:`rhs_log`; the amounts ``y[0:3]`` are never logged.
    """
    for i in range(3):
        e[MODE_START + i] = (e[TO_MODES + 3 * i] * y[0] + e[TO_MODES + 3 * i + 1] * y[1]
                             + e[TO_MODES + 3 * i + 2] * y[2])
    e[SEGMENT_T0], e[CACHED_T] = t0, np.nan
    h = dopri5_segment(f, t0, t1, y, e, rtol, atol, h, max_steps)
    tau = t1 - t0
    m0, m1, m2 = _end_mode(0, tau, e), _end_mode(1, tau, e), _end_mode(2, tau, e)
    for i in range(3):
        y[i] = (e[FROM_MODES + 3 * i] * m0 + e[FROM_MODES + 3 * i + 1] * m1
                + e[FROM_MODES + 3 * i + 2] * m2)
    return h


@numba.njit(cache=True, nogil=True, fastmath=False, inline="always")
def _end_mode(i: int, tau: float, e: np.ndarray) -> float:  # pragma: no cover - compiled
    """Mode ``i`` of the amounts ``tau`` after the segment's start (strict IEEE order)."""
    rate = e[MODE_RATES + i]
    return e[MODE_START + i] * np.exp(-rate * tau) - e[RATE] * e[MODE_INPUT + i] * \
        np.expm1(-rate * tau) / rate


@numba.njit(nogil=True)  # not cached: numba cannot cache a call taking a compiled function
def _run_cycle(f, k: int, doses_mg: np.ndarray, dose_days: np.ndarray,  # noqa: ANN001
               n_days: np.ndarray, infusion_h: float, t: float, y: np.ndarray, e: np.ndarray,
               rtol: float, atol: float, max_steps: int, daily_anc: np.ndarray,
               logged: bool) -> float:  # pragma: no cover - compiled
    """One cycle of one state ``y`` (in place) under ``f``; returns the time at its end."""
    e[RATE] = 0.0
    h = 0.05
    for d in range(daily_anc.shape[1]):
        if d >= n_days[k]:
            daily_anc[k, d] = np.nan
            continue
        end = t + HOURS_PER_DAY
        if d == dose_days[k] and doses_mg[k] > 0.0:
            e[RATE] = doses_mg[k] / infusion_h
            h = _segment(f, t, t + infusion_h, y, e, rtol, atol, 0.01, max_steps)
            e[RATE] = 0.0
            t, h = t + infusion_h, 0.01
        h = _segment(f, t, end, y, e, rtol, atol, h, max_steps)
        t = end
        daily_anc[k, d] = np.exp(y[CIRC]) if logged else y[CIRC]
    return t


@numba.njit(nogil=True)
def _healthy(y: np.ndarray, anc: np.ndarray) -> bool:  # pragma: no cover - compiled
    """Finite state, non-negative model compartments and daily counts (NaN days: after)."""
    for i in range(N_STATES):
        if not np.isfinite(y[i]) or (i >= 3 and y[i] < 0.0):
            return False
    for d in range(anc.shape[0]):
        if anc[d] < 0.0 or np.isinf(anc[d]):
            return False
    return True


@numba.njit(nogil=True)  # not cached: numba cannot cache a call taking a compiled function
def _advance_one(k: int, rows: np.ndarray, doses_mg: np.ndarray, dose_days: np.ndarray,
                 n_days: np.ndarray, infusion_h: float, times_h: np.ndarray, states: np.ndarray,
                 params: np.ndarray, rtol: float, atol: float, max_steps: int,
                 daily_anc: np.ndarray, status: np.ndarray) -> None:  # pragma: no cover
    """One cycle of patient ``rows[k]`` (see :func:`advance_cycles`).

    A cycle that fails in :func:`rhs` (max_steps, a negative or non-finite state) is rerun
    from its start in log space (:func:`rhs_log`, absolute tolerance = ``rtol``): status 1;
    status 2 if that fails too (the state is then NaN, never a silent value).
    """
    p = rows[k]
    y, e = states[p], pk_modes(params[p])
    start, t0 = y.copy(), times_h[p]
    try:
        times_h[p] = _run_cycle(rhs, k, doses_mg, dose_days, n_days, infusion_h, t0, y, e,
                                rtol, atol, max_steps, daily_anc, False)
        if _healthy(y, daily_anc[k]):
            return
    except Exception:  # noqa: BLE001 - max_steps: the log-space fallback takes over
        pass
    status[k] = 1
    y[:] = start
    for i in range(3, N_STATES):
        y[i] = np.log(max(y[i], 1e-300))
    try:
        times_h[p] = _run_cycle(rhs_log, k, doses_mg, dose_days, n_days, infusion_h, t0, y, e,
                                rtol, rtol, max_steps, daily_anc, True)
    except Exception:  # noqa: BLE001 - reported per patient by advance_cycles
        y[3:] = np.nan
        status[k] = 2
    for i in range(3, N_STATES):
        y[i] = np.exp(y[i])
    if not _healthy(y, daily_anc[k]):
        status[k] = 2


@numba.njit(nogil=True)
def _advance_serial(rows, doses_mg, dose_days, n_days, infusion_h, times_h, states,  # noqa: ANN001
                    params, rtol, atol, max_steps, daily_anc, status) -> None:  # pragma: no cover
    for k in range(rows.shape[0]):
        _advance_one(k, rows, doses_mg, dose_days, n_days, infusion_h, times_h, states, params,
                     rtol, atol, max_steps, daily_anc, status)


@numba.njit(nogil=True, parallel=True)
def _advance_parallel(rows, doses_mg, dose_days, n_days, infusion_h, times_h,  # noqa: ANN001
                      states, params, rtol, atol, max_steps, daily_anc,
                      status) -> None:  # pragma: no cover
    for k in numba.prange(rows.shape[0]):
        _advance_one(k, rows, doses_mg, dose_days, n_days, infusion_h, times_h, states, params,
                     rtol, atol, max_steps, daily_anc, status)


PARALLEL_FROM = 64
"""Batches of at least this many patients run on all of numba's threads."""


def advance_cycles(rows: np.ndarray, doses_mg: np.ndarray, dose_days: np.ndarray,
                   n_days: np.ndarray, infusion_h: float, times_h: np.ndarray,
                   states: np.ndarray, params: np.ndarray, rtol: float, atol: float,
                   max_steps: int, daily_anc: np.ndarray) -> np.ndarray:
    """Run one cycle of ``n_days[k]`` days for patient ``rows[k]`` (in place).

    The dose ``doses_mg[k]`` is infused over ``infusion_h`` from the start of day
    ``dose_days[k]``. ``times_h`` (hours since treatment start) and ``states`` advance;
    ``daily_anc[k, d]`` receives the neutrophil count at the end of day d (NaN after the
    cycle's last day). Large batches run on all of numba's threads.

    A patient whose cycle fails (a state driven negative or non-finite, or ``max_steps``
    reached: extreme patients, e.g. a clearance far below the population's) has that cycle
    rerun in log space, alone; the rest of the batch is untouched. A patient that still
    cannot be simulated raises :class:`PatientSimulationError` naming its rows.

    Returns:
        Per patient (n,): 0 integrated as usual, 1 by the log-space fallback.
    """
    kernel: Any = _advance_serial
    if rows.shape[0] >= PARALLEL_FROM and numba.get_num_threads() > 1:
        kernel = _advance_parallel
    rows = np.asarray(rows, np.int64)
    status = np.zeros(rows.shape[0], np.int8)
    kernel(rows, np.asarray(doses_mg, np.float64),
           np.asarray(dose_days, np.int64), np.asarray(n_days, np.int64), float(infusion_h),
           times_h, states, params, float(rtol), float(atol), int(max_steps), daily_anc, status)
    failed = rows[status == 2]
    if failed.size:
        raise PatientSimulationError(failed)
    return status


class PatientSimulationError(ValueError):
    """Patients (state rows ``rows``) whose cycle neither integration could simulate."""

    def __init__(self, rows: np.ndarray, names: list[str] | None = None) -> None:
        """Name the failing patients (``names``, default their state rows)."""
        self.rows = np.asarray(rows, np.int64)
        who = names if names is not None else [f"row {r}" for r in self.rows.tolist()]
        super().__init__(f"the docetaxel model could not be integrated for {len(who)} "
                         f"patient(s): {', '.join(who)} (state non-finite or negative after the "
                         "log-space fallback; see pkgym.models.chemotherapy_kernel)")
