# lines: the parameter set, its numpy RHS and its compiled block RK4 belong to one model
"""Tumour, immune and normal cells under chemotherapy: the de Pillis & Radunskaya model.

* de Pillis LG, Radunskaya AE. The dynamics of an optimally controlled tumor model: a case
  study. Math Comput Model 2003;37:1221-1244 (``DP2003``), the model Padmanabhan et al. 2017
  (Math Biosci 293:11) control with Q-learning. The same four equations and parameter values
  appear in de Pillis & Radunskaya, J Theor Med 2001;3:79-100 ("A mathematical tumor model
  with immune resistance and drug therapy: an optimal control approach"); the task brief
  joined the 2001 journal reference to the 2003 title.

Normal cells N, tumour cells T, immune cells I (normalised: the carrying capacities are
1/b2 and 1/b1 = 1) and drug concentration u (dimensionless drug units), time in days::

    dN/dt = r2 N (1 - b2 N) - c4 T N - a3 (1 - e^-u) N
    dT/dt = r1 T (1 - b1 T) - c2 I T - c3 T N - a2 (1 - e^-u) T
    dI/dt = s + rho I T / (alpha + T) - c1 I T - d1 I - a1 (1 - e^-u) I
    du/dt = v(t) - d2 u

with v(t) >= 0 the drug infusion rate (drug units per day), held constant over each
decision day here. Without drug the system has a stable tumour-free equilibrium
(N, T, I) = (1/b2, 0, s/d1) and, with the published values, a stable high-tumour
coexisting equilibrium near (0.435, 0.565, 0.435); a saddle near T = 0.25 separates them.

No primary parameter table could be opened while building this (only the papers' first
pages); every value below is the one two public implementations use, which agree with each
other and with the values quoted throughout the follow-up literature: DTRGym ``AhnODE``
(GilesLuo/DTRGym, an env "used in ... Padmanabhan et al.") and ReiL's ``cancer_case``
(Anzabi Zadeh's replication of the Q-learning study). See ``docs/research/chemo_immune.md``.

Units: the rates are per day as published (``_per_day``); :func:`rhs` works in hours, the
package's time unit (STYLE 9), dividing by 24. The between-patient variability (log-normal,
CV 20% on the drug's tumour and normal-cell kill a2, a3 and its elimination d2) is an
assumption of pkgym: no source above varies parameters except DTRGym, by +-5% uniform noise
on all 16. Tumour growth r1 is not varied: the untreated fate hinges on it (at CV 5% about
a third of untreated patients would clear their tumour unaided), which is not the
heterogeneity a dosing benchmark should test.
"""

from __future__ import annotations

import functools
import math
import typing
from dataclasses import dataclass, field, fields

import numba
import numpy as np
from numpy.typing import ArrayLike

from pkgym.populations.variability import BetweenSubjectVariability, omega_from_cv
from pkgym.sim.integrate import SolverConfig, integrate_final
from pkgym.units import HOURS_PER_DAY

DP2003 = "de Pillis & Radunskaya 2003, Math Comput Model 37:1221 (= J Theor Med 2001 3:79)"
CHECKED = "; value as in DTRGym AhnODE and ReiL cancer_case (primary table not opened)"
STATES = ("normal_cells", "tumour_cells", "immune_cells", "drug_level")
"""State columns of ``y``, in order (N, T, I, u)."""
SYMBOLS = ("a1", "a2", "a3", "b1", "b2", "c1", "c2", "c3", "c4", "d1", "d2", "r1", "r2", "s",
           "alpha", "rho")
"""Columns of :attr:`TumourImmuneParameters.table`, in order."""
VARIED = ("a2", "a3", "d2")
"""Parameters with log-normal between-patient variability (eta names)."""


def _p(value: float, unit: str, meaning: str) -> float:
    return field(default=value, metadata={"unit": unit, "source": DP2003 + CHECKED,
                                          "meaning": meaning})


def _cv(value: float, meaning: str) -> float:
    return field(default=value, metadata={"unit": "fraction (CV of a log-normal)",
                                          "source": "assumed by pkgym", "meaning": meaning})


@dataclass(frozen=True, slots=True)
class TumourImmuneParameters:
    """Individual parameters of n patients.

    Attributes:
        table: one row per patient, columns in :data:`SYMBOLS` order, rates per day.
            # (n, 16)
    """

    table: np.ndarray

    @property
    def n_patients(self) -> int:
        """Number of patients."""
        return int(self.table.shape[0])

    def column(self, symbol: str) -> np.ndarray:
        """One parameter of every patient, shape (n,).

        Examples:
            >>> DePillis2003().parameters(2).column("r1").tolist()
            [1.5, 1.5]
        """
        return self.table[:, SYMBOLS.index(symbol)]

    def row(self, i: int) -> TumourImmuneParameters:
        """Patient ``i`` as a batch of one.

        Examples:
            >>> DePillis2003().parameters(3).row(1).table.shape
            (1, 16)
        """
        return TumourImmuneParameters(self.table[i:i + 1])


PARAMETER_RANGE = 10.0
"""A de Pillis parameter may be at most this many times its published value."""
MAX_CV = 2.0
"""Largest between-patient CV."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DePillis2003:
    """The published parameter set (typical patient) and pkgym's between-patient CVs.

    Cell numbers are normalised (the normal-cell carrying capacity 1/b2 is 1); ``per day``
    rates of interaction terms are per unit of the other population.
    """

    a1_immune_kill_per_day: float = _p(0.2, "1/day", "fractional immune-cell kill by drug")
    a2_tumour_kill_per_day: float = _p(0.3, "1/day", "fractional tumour-cell kill by drug")
    a3_normal_kill_per_day: float = _p(0.1, "1/day", "fractional normal-cell kill by drug")
    b1_tumour_inverse_capacity: float = _p(1.0, "1/cell unit", "1 / tumour carrying capacity")
    b2_normal_inverse_capacity: float = _p(1.0, "1/cell unit", "1 / normal carrying capacity")
    c1_immune_loss_per_tumour_per_day: float = _p(1.0, "1/(cell unit day)",
                                                  "immune cells lost fighting tumour")
    c2_tumour_loss_per_immune_per_day: float = _p(0.5, "1/(cell unit day)",
                                                  "tumour cells killed by immune cells")
    c3_tumour_loss_per_normal_per_day: float = _p(1.0, "1/(cell unit day)",
                                                  "tumour loss to competition with normal")
    c4_normal_loss_per_tumour_per_day: float = _p(1.0, "1/(cell unit day)",
                                                  "normal loss to competition with tumour")
    d1_immune_death_per_day: float = _p(0.2, "1/day", "immune-cell death rate")
    d2_drug_decay_per_day: float = _p(1.0, "1/day", "drug elimination rate")
    r1_tumour_growth_per_day: float = _p(1.5, "1/day", "tumour per-capita growth rate")
    r2_normal_growth_per_day: float = _p(1.0, "1/day", "normal per-capita growth rate")
    s_immune_influx_per_day: float = _p(0.33, "cell units/day", "constant immune influx")
    alpha_immune_threshold: float = _p(0.3, "cell units", "tumour level of half-maximal "
                                                          "immune response")
    rho_immune_response_per_day: float = _p(0.01, "1/day", "maximal immune response rate")
    cv_a2: float = _cv(0.20, "tumour chemosensitivity")
    cv_a3: float = _cv(0.20, "normal-tissue chemosensitivity (toxicity)")
    cv_d2: float = _cv(0.20, "drug elimination (PK)")

    def __post_init__(self) -> None:
        """Every parameter finite, > 0 and at most 10x its published value (CVs in [0, 2]).

        The bound keeps the daily integration (RK4, 1-h steps by default) stable: a rate
        1000x the published one makes the cells NaN on the first day.
        """
        for f in fields(self):
            value = getattr(self, f.name)
            cv = f.name.startswith("cv_")
            high = MAX_CV if cv else PARAMETER_RANGE * typing.cast(float, f.default)
            floor_ok = value >= 0 if cv else value > 0
            if not (isinstance(value, int | float) and math.isfinite(value) and floor_ok
                    and value <= high):
                raise ValueError(f"DePillis2003.{f.name} must be a finite number "
                                 f"{'>= 0' if cv else '> 0'} and <= {high:g}, got {value!r}")

    @property
    def typical_table(self) -> np.ndarray:
        """The 16 published values in :data:`SYMBOLS` order, shape (16,).

        Examples:
            >>> DePillis2003().typical_table[[SYMBOLS.index("r1"), SYMBOLS.index("s")]].tolist()
            [1.5, 0.33]
        """
        names = {f.name.split("_")[0]: f.name for f in fields(self)}
        return np.array([getattr(self, names[symbol]) for symbol in SYMBOLS], dtype=np.float64)

    @property
    def variability(self) -> BetweenSubjectVariability:
        """Independent log-normal etas on a2, a3 and d2 (``eta_a2``, ...).

        Examples:
            >>> np.diag(DePillis2003().variability.omega).round(4).tolist()
            [0.0392, 0.0392, 0.0392]
        """
        cvs = [self.cv_a2, self.cv_a3, self.cv_d2]
        return BetweenSubjectVariability(names=VARIED, omega=omega_from_cv(cvs))

    @property
    def tumour_free_equilibrium(self) -> np.ndarray:
        """(N, T, I, u) = (1/b2, 0, s/d1, 0), the drug-free cure state.

        Examples:
            >>> DePillis2003().tumour_free_equilibrium.round(4).tolist()
            [1.0, 0.0, 1.65, 0.0]
        """
        return np.array([1.0 / self.b2_normal_inverse_capacity, 0.0,
                         self.s_immune_influx_per_day / self.d1_immune_death_per_day, 0.0])

    def parameters(self, n: int, etas: ArrayLike | None = None) -> TumourImmuneParameters:
        """Individual parameters of n patients: typical values times exp(eta) on a2, a3, d2.

        Args:
            n: number of patients.
            etas: random effects, shape (n, 3) in :data:`VARIED` order; ``None`` for zeros.

        Examples:
            >>> p = DePillis2003().parameters(2, [[0.0, 0.0, 0.0], [np.log(2), 0.0, 0.0]])
            >>> p.column("a2").tolist(), p.column("r1").tolist()
            ([0.3, 0.6], [1.5, 1.5])
        """
        table = np.tile(self.typical_table, (n, 1))
        if etas is None:
            return TumourImmuneParameters(table)
        eta = np.asarray(etas, dtype=np.float64)
        if eta.shape != (n, len(VARIED)) or not np.all(np.isfinite(eta)):
            raise ValueError(f"etas must be finite with shape ({n}, {len(VARIED)}) for "
                             f"{VARIED}, got shape {eta.shape}")
        columns = [SYMBOLS.index(name) for name in VARIED]
        table[:, columns] *= np.exp(eta)
        return TumourImmuneParameters(table)


def rhs(t_h: np.ndarray, y: np.ndarray, params: TumourImmuneParameters,
        infusion_per_day: ArrayLike = 0.0) -> np.ndarray:
    """Time derivative of (N, T, I, u) per hour for a batch (the module's four equations).

    Args:
        t_h: times, h, shape (n,) (unused: the model is autonomous).
        y: states (N, T, I, u), shape (n, 4).
        params: individual parameters of the n patients.
        infusion_per_day: drug infusion rate v, drug units/day, scalar or shape (n,).

    Returns:
        dy/dt in state units per hour, shape (n, 4).

    Examples:
        >>> p = DePillis2003().parameters(1)
        >>> (24 * rhs(np.zeros(1), np.array([[1.0, 0.0, 1.65, 0.0]]), p)).round(12).tolist()
        [[0.0, 0.0, 0.0, 0.0]]
    """
    n, t, i, u = (np.asarray(y, dtype=np.float64)[:, k] for k in range(4))
    a1, a2, a3, b1, b2, c1, c2, c3, c4, d1, d2, r1, r2, s, alpha, rho = params.table.T
    kill = -np.expm1(-u)
    out = np.empty((n.shape[0], 4))
    out[:, 0] = r2 * n * (1.0 - b2 * n) - c4 * t * n - a3 * kill * n
    out[:, 1] = r1 * t * (1.0 - b1 * t) - c2 * i * t - c3 * t * n - a2 * kill * t
    out[:, 2] = s + rho * i * t / (alpha + t) - c1 * i * t - d1 * i - a1 * kill * i
    out[:, 3] = infusion_per_day - d2 * u
    return out / HOURS_PER_DAY


BLOCK = 64
"""Patients the compiled RK4 advances side by side (one column each), so that the CPU
overlaps their arithmetic: each patient's operations are unchanged."""


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _derivatives(y: np.ndarray, p: np.ndarray, v: np.ndarray, m: int, kill: np.ndarray,
                 out: np.ndarray) -> None:  # pragma: no cover - compiled
    """The four equations per day for the first ``m`` columns (patients) of a block.

    ``y``, ``out``: (N, T, I, u) and d/dt per day, (4, BLOCK); ``p``: parameters in
    :data:`SYMBOLS` order, (16, BLOCK); ``v``: infusion rates (BLOCK,); ``kill``: scratch
    for 1 - e^-u (BLOCK,). The model is autonomous (no time argument).

    Division by numpy's rules (no ZeroDivisionError branch, which kept the loop scalar): the
    equations' loop then runs on vector registers, the same IEEE operations per patient.
    Its one divisor, ``alpha + T``, is positive for every valid state.
    """
    for b in range(m):
        kill[b] = -math.expm1(-y[3, b])
    for b in range(m):
        n, t, i, u, k = y[0, b], y[1, b], y[2, b], y[3, b], kill[b]
        out[0, b] = p[12, b] * n * (1.0 - p[4, b] * n) - p[8, b] * t * n - p[2, b] * k * n
        out[1, b] = (p[11, b] * t * (1.0 - p[3, b] * t) - p[6, b] * i * t - p[7, b] * t * n
                     - p[1, b] * k * t)
        out[2, b] = (p[13, b] + p[15, b] * i * t / (p[14, b] + t) - p[5, b] * i * t
                     - p[9, b] * i - p[0, b] * k * i)
        out[3, b] = v[b] - p[10, b] * u


@numba.njit(cache=True, nogil=True)
def _rk4_block(y: np.ndarray, p: np.ndarray, v: np.ndarray, m: int, n_steps: int,
               step: float, work: np.ndarray, kill: np.ndarray) -> None:  # pragma: no cover
    """Classic RK4 steps of the first ``m`` columns of a block, in place.

    The operations of :func:`pkgym.sim.integrate_njit.rk4_segment`, in its order, for each
    column (patient); ``work``: scratch (5, 4, BLOCK).
    """
    k1, k2, k3, k4, stage = work[0], work[1], work[2], work[3], work[4]
    for _ in range(n_steps):
        _derivatives(y, p, v, m, kill, k1)
        for j in range(4):
            for b in range(m):
                stage[j, b] = y[j, b] + 0.5 * step * k1[j, b]
        _derivatives(stage, p, v, m, kill, k2)
        for j in range(4):
            for b in range(m):
                stage[j, b] = y[j, b] + 0.5 * step * k2[j, b]
        _derivatives(stage, p, v, m, kill, k3)
        for j in range(4):
            for b in range(m):
                stage[j, b] = y[j, b] + step * k3[j, b]
        _derivatives(stage, p, v, m, kill, k4)
        for j in range(4):
            for b in range(m):
                y[j, b] += step / 6.0 * (k1[j, b] + 2.0 * k2[j, b] + 2.0 * k3[j, b] + k4[j, b])


@numba.njit(cache=True, nogil=True)
def _rk4_chunk(rows: np.ndarray, states: np.ndarray, infusion_per_day: np.ndarray,
               table: np.ndarray, n_steps: int, step_days: float, first: int,
               last: int) -> None:  # pragma: no cover - compiled
    """``rows[first:last]`` block by block: gather into columns, integrate, write back."""
    y, p, v = np.empty((4, BLOCK)), np.empty((16, BLOCK)), np.empty(BLOCK)
    work, kill = np.empty((5, 4, BLOCK)), np.empty(BLOCK)
    for start in range(first, last, BLOCK):
        m = min(BLOCK, last - start)
        for b in range(m):
            y[:, b], p[:, b] = states[rows[start + b]], table[rows[start + b]]
            v[b] = infusion_per_day[start + b]
        _rk4_block(y, p, v, m, n_steps, step_days, work, kill)
        for b in range(m):
            states[rows[start + b]] = y[:, b]


@numba.njit(cache=True, nogil=True)
def _rk4_rows(rows: np.ndarray, states: np.ndarray, infusion_per_day: np.ndarray,
              table: np.ndarray, n_steps: int, step_days: float) -> None:  # pragma: no cover
    """Classic RK4, ``n_steps`` steps of ``step_days``, for ``states[rows]`` in place."""
    _rk4_chunk(rows, states, infusion_per_day, table, n_steps, step_days, 0, rows.shape[0])


@numba.njit(cache=True, nogil=True, parallel=True)
def _rk4_rows_parallel(rows: np.ndarray, states: np.ndarray, infusion_per_day: np.ndarray,
                       table: np.ndarray, n_steps: int, step_days: float,
                       n_chunks: int) -> None:  # pragma: no cover - compiled
    """:func:`_rk4_rows` over ``n_chunks`` contiguous chunks of ``rows``, run side by side.

    Each patient's steps are :func:`_rk4_rows`'s, in the same order, so the numbers are the
    same; only the thread differs.
    """
    n = rows.shape[0]
    for c in numba.prange(n_chunks):
        _rk4_chunk(rows, states, infusion_per_day, table, n_steps, step_days,
                   c * n // n_chunks, (c + 1) * n // n_chunks)


PARALLEL_FROM = 512
"""Batches of at least this many patients run on all of numba's threads."""


def _rk4_kernel(rows: np.ndarray, states: np.ndarray, rates: np.ndarray, table: np.ndarray,
                n_steps: int, step_days: float) -> None:
    """:func:`_rk4_rows`, on every numba thread for a batch of ``PARALLEL_FROM`` or more."""
    threads = numba.get_num_threads()
    if rows.shape[0] >= PARALLEL_FROM and threads > 1:
        _rk4_rows_parallel(rows, states, rates, table, n_steps, step_days, 4 * threads)
    else:
        _rk4_rows(rows, states, rates, table, n_steps, step_days)


def rk4_steps(span_h: float, solver: SolverConfig) -> int:
    """Steps the fixed-step RK4 takes over ``span_h`` (as :func:`pkgym.sim.integrate` splits).

    Examples:
        >>> rk4_steps(24.0, SolverConfig(method="rk4", max_step_h=1.0))
        24
    """
    return max(int(np.ceil(span_h / solver.max_step_h * (1.0 - 1e-12))), 1)


def advance_rows(rows: np.ndarray, states: np.ndarray, infusion_per_day: ArrayLike,
                 params: TumourImmuneParameters, solver: SolverConfig,
                 dt_h: float = HOURS_PER_DAY) -> None:
    """Advance ``states[rows]`` by ``dt_h`` with constant infusions, in place.

    ``solver.method == "rk4"`` runs a compiled fixed-step RK4 (the steps of
    :func:`pkgym.sim.integrate.integrate` with that config, tested equal to it);
    ``"dopri5"`` calls :func:`pkgym.sim.integrate.integrate_final` on the rows.

    Args:
        rows: patient indices into ``states`` and ``params``, shape (k,).
        states: (N, T, I, u) of all patients, shape (n, 4), float64, C-contiguous.
        infusion_per_day: v of each row, drug units/day, >= 0, shape (k,).
        params: individual parameters of all n patients.
        solver: the integration settings.
        dt_h: the time to advance, h (one decision day by default).

    Examples:
        >>> states = np.array([[1.0, 0.25, 0.1, 0.0]])
        >>> solver = SolverConfig(method="rk4", max_step_h=1.0)
        >>> advance_rows(np.array([0]), states, [1.0], DePillis2003().parameters(1), solver)
        >>> states.round(4).tolist()
        [[0.8298, 0.2544, 0.3169, 0.6321]]
    """
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    rates = np.ascontiguousarray(np.broadcast_to(np.asarray(infusion_per_day, np.float64),
                                                 rows.shape))
    if not np.all(np.isfinite(rates)) or np.any(rates < 0):
        raise ValueError(f"infusion_per_day must be finite and >= 0, got {rates.tolist()[:5]}")
    if solver.method == "rk4":
        n_steps = rk4_steps(dt_h, solver)
        _rk4_kernel(rows, states, rates, params.table, n_steps, dt_h / n_steps / HOURS_PER_DAY)
        return
    subset = TumourImmuneParameters(params.table[rows])
    states[rows] = integrate_final(functools.partial(rhs, infusion_per_day=rates),
                                   states[rows], dt_h, subset, solver)


def simulate_days(initial: ArrayLike, infusions_per_day: ArrayLike,
                  params: TumourImmuneParameters, solver: SolverConfig) -> np.ndarray:
    """The state every morning under daily infusions, shape (n, n_days + 1, 4).

    Args:
        initial: (N, T, I, u) at day 0, shape (n, 4).
        infusions_per_day: v during each day, drug units/day, shape (n, n_days).
        params: individual parameters.
        solver: the integration settings.

    Examples:
        >>> p, solver = DePillis2003().parameters(1), SolverConfig(method="rk4", max_step_h=1.0)
        >>> untreated = simulate_days([[1.0, 0.25, 0.1, 0.0]], np.zeros((1, 200)), p, solver)
        >>> treated = simulate_days([[1.0, 0.25, 0.1, 0.0]], np.ones((1, 60)), p, solver)
        >>> untreated[0, -1, :3].round(3).tolist(), treated[0, -1, :3].round(3).tolist()
        ([0.435, 0.565, 0.435], [0.928, 0.007, 0.979])
    """
    states = np.array(initial, dtype=np.float64, ndmin=2)
    rates = np.asarray(infusions_per_day, dtype=np.float64)
    if states.shape != (params.n_patients, 4) or rates.ndim != 2 \
            or rates.shape[0] != params.n_patients:
        raise ValueError(f"initial must have shape ({params.n_patients}, 4) and "
                         f"infusions_per_day ({params.n_patients}, n_days), got {states.shape} "
                         f"and {rates.shape}")
    if not np.all(np.isfinite(states)) or np.any(states < 0):
        raise ValueError("initial states must be finite and >= 0")
    rows = np.arange(params.n_patients)
    course = [states.copy()]
    for day in range(rates.shape[1]):
        advance_rows(rows, states, rates[:, day], params, solver)
        course.append(states.copy())
    return np.stack(course, axis=1)
