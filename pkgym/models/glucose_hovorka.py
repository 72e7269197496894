"""Hovorka 2004 glucose-insulin model of type 1 diabetes, batched and compiled.

Hovorka R, Canonico V, Chassin LJ, et al. (2004) Nonlinear model predictive control of glucose
concentration in subjects with type 1 diabetes. Physiol Meas 25(4):905-920. Equations as in
the paper (time min, glucose mmol, insulin mU); states in this order (:data:`STATE_NAMES`)::

    D1' = AG D - D1/tmaxG            D2' = (D1 - D2)/tmaxG          UG = D2/tmaxG
    S1' = u - S1/tmaxI               S2' = (S1 - S2)/tmaxI          UI = S2/tmaxI
    I'  = UI/(VI BW) - ke I
    x1' = -ka1 x1 + ka1 SIT I        x2' = -ka2 x2 + ka2 SID I      x3' = -ka3 x3 + ka3 SIE I
    Q1' = -F01c - x1 Q1 + k12 Q2 - FR + UG + EGP0 BW (1 - x3)
    Q2' = x1 Q1 - (k12 + x2) Q2                                     G = Q1/(VG BW)
    F01c = F01 BW min(1, G/4.5);  FR = 0.003 (G - 9) VG BW if G >= 9 else 0

with F01 and EGP0 per kg (the paper's table gives them per kg) and no clipping of
``1 - x3`` (the paper has none). D is carbohydrate in mmol/min (g/min x 1000 / 180.16) and u
insulin in mU/min (U/min x 1000). The two-compartment gut chain reproduces the paper's
``UG = D AG t exp(-t/tmaxG) / tmaxG^2`` for a bolus meal.

Values (:data:`TYPICAL`): Hovorka 2004 Table 1 (EGP0 0.0161, F01 0.0097 mmol/kg/min; k12 0.066,
ka1 0.006, ka2 0.06, ka3 0.03, ke 0.138 /min; SIT 51.2e-4, SID 8.2e-4 /min per mU/L; SIE
520e-4 per mU/L; VI 0.12, VG 0.16 L/kg; tmaxI 55, tmaxG 40 min; AG 0.8). Body weight 70 kg is
chosen. Population (:func:`hovorka_population`): the parameter distributions listed in
:data:`POPULATION` are those reproduced from Hovorka 2004's Table 1 by later work on this model
(means and SDs of normals; VG and tmaxG on a log scale), recalled for this implementation and
NOT re-checked against the primary table or against Wilinska et al. 2010 (J Diabetes Sci
Technol 4:132), whose 18 virtual subjects are not shipped. Normals are truncated to > 0 by
redrawing (chosen); body weight is log-normal, median 70 kg, CV 15 %, and VG log-normal,
median 0.16 L/kg, CV 20 % (both chosen; see :data:`POPULATION`).

Numerics: inputs are constant over each minute, integrated by RK4 at ``1 / substeps`` min.
Against LSODA at rtol = atol = 1e-10 over 8 h (typical patient, 75 g meal, 4 U bolus, glucose
crossing the F01c kink at 4.5 mmol/L) the largest relative glucose error is 1.2e-6 at 1 or 2
substeps and 7e-8 at 4 (tested at 4 in ``tests/models/test_glucose_hovorka.py``); the kinks
(4.5 and 9 mmol/L) limit RK4's order, so more substeps pay off only slowly.

Some sampled patients (EGP0 <= F01) cannot hold any fasting glucose above 4.5 mmol/L; for them
:func:`basal_insulin_u_per_min` raises. :func:`hovorka_population` does not screen them out
(7.8 % of draws; a screening rule would be a modelling choice left to the population).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import ArrayLike

from pkgym.models.glucose_inputs import checked_states, per_minute
from pkgym.utils import check_non_negative

__all__ = ["GLUCOSE_MG_PER_MMOL", "PARAM_NAMES", "POPULATION", "STATE_NAMES", "TYPICAL",
           "HovorkaPatients", "advance", "basal_insulin_u_per_min", "hovorka_population",
           "steady_state"]

GLUCOSE_MG_PER_MMOL = 180.16
"""Molar mass of glucose, mg/mmol (mmol/L x 18.016 = mg/dL)."""
STATE_NAMES: tuple[str, ...] = ("d1_mmol", "d2_mmol", "s1_mu", "s2_mu", "i_mu_per_l",
                                "x1_per_min", "x2_per_min", "x3", "q1_mmol", "q2_mmol")
PARAM_NAMES: tuple[str, ...] = (
    "body_weight_kg", "egp0_mmol_per_kg_min", "f01_mmol_per_kg_min", "k12_per_min",
    "ka1_per_min", "ka2_per_min", "ka3_per_min", "sit_per_min_per_mu_per_l",
    "sid_per_min_per_mu_per_l", "sie_per_mu_per_l", "ke_per_min", "vi_l_per_kg", "vg_l_per_kg",
    "tmax_i_min", "tmax_g_min", "ag")
(_BW, _EGP0, _F01, _K12, _KA1, _KA2, _KA3, _SIT, _SID, _SIE, _KE, _VI, _VG, _TMAXI, _TMAXG,
 _AG) = range(len(PARAM_NAMES))
N_STATES = len(STATE_NAMES)
HOVORKA = "Hovorka et al. 2004, Physiol Meas 25:905, Table 1"
TYPICAL: dict[str, float] = {
    "body_weight_kg": 70.0, "egp0_mmol_per_kg_min": 0.0161, "f01_mmol_per_kg_min": 0.0097,
    "k12_per_min": 0.066, "ka1_per_min": 0.006, "ka2_per_min": 0.06, "ka3_per_min": 0.03,
    "sit_per_min_per_mu_per_l": 51.2e-4, "sid_per_min_per_mu_per_l": 8.2e-4,
    "sie_per_mu_per_l": 520e-4, "ke_per_min": 0.138, "vi_l_per_kg": 0.12, "vg_l_per_kg": 0.16,
    "tmax_i_min": 55.0, "tmax_g_min": 40.0, "ag": 0.8}
"""Typical values (units in the names): Hovorka 2004 Table 1; body weight chosen."""
POPULATION: dict[str, tuple[str, float, float]] = {
    "egp0_mmol_per_kg_min": ("normal", 0.0161, 0.0039),
    "f01_mmol_per_kg_min": ("normal", 0.0097, 0.0022),
    "k12_per_min": ("normal", 0.0649, 0.0282),
    "ka1_per_min": ("normal", 0.0055, 0.0056),
    "ka2_per_min": ("normal", 0.0683, 0.0507),
    "ka3_per_min": ("normal", 0.0304, 0.0235),
    "sit_per_min_per_mu_per_l": ("normal", 51.2e-4, 32.09e-4),
    "sid_per_min_per_mu_per_l": ("normal", 8.2e-4, 7.84e-4),
    "sie_per_mu_per_l": ("normal", 520e-4, 306.2e-4),
    "ke_per_min": ("normal", 0.14, 0.035),
    "vi_l_per_kg": ("normal", 0.12, 0.012),
    "vg_l_per_kg": ("lognormal", float(np.log(0.16)), float(np.sqrt(np.log1p(0.2**2)))),
    "tmax_i_min": ("normal", 55.0, 10.0),
    "tmax_g_min": ("inverse_lognormal", -3.689, 0.25),
    "ag": ("uniform", 0.7, 1.2),
    "body_weight_kg": ("lognormal", float(np.log(70.0)), float(np.sqrt(np.log1p(0.15**2)))),
}
"""Sampling law per parameter (module docstring): ``normal`` (mean, SD) truncated to > 0;
``inverse_lognormal``: 1/value ~ log-normal (log-mean, log-SD) (tmaxG: median 40 min);
``uniform`` (low, high); ``lognormal`` (log-mean, log-SD). Recalled from secondary
reproductions of Hovorka 2004 Table 1, not verified. Chosen: body weight; VG log-normal with
median 0.16 L/kg and CV 20 % (the recalled law, exp(VG) ~ N(1.16, 0.23), gives VG <= 0 in 24 %
of draws)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HovorkaPatients:
    """A batch of Hovorka-model patients: ``parameters`` (n, 16) in :data:`PARAM_NAMES` order."""

    parameters: np.ndarray  # (n_patients, len(PARAM_NAMES))

    def __post_init__(self) -> None:
        """Shape (n, 16), every value finite and > 0."""
        p = self.parameters
        if p.ndim != 2 or p.shape[1] != len(PARAM_NAMES):
            raise ValueError(f"parameters must have shape (n, {len(PARAM_NAMES)}), got {p.shape}")
        if not np.all(np.isfinite(p) & (p > 0)):
            raise ValueError("parameters must be finite and > 0")

    @classmethod
    def typical(cls, n_patients: int = 1) -> HovorkaPatients:
        """``n_patients`` copies of :data:`TYPICAL`."""
        row = np.array([TYPICAL[name] for name in PARAM_NAMES])
        return cls(parameters=np.tile(row, (n_patients, 1)))

    @property
    def n_patients(self) -> int:
        """Number of patients."""
        return int(self.parameters.shape[0])

    def column(self, name: str) -> np.ndarray:
        """Parameter ``name`` (one of :data:`PARAM_NAMES`) for every patient, (n,)."""
        if name not in PARAM_NAMES:
            raise ValueError(f"name must be one of {PARAM_NAMES}, got {name!r}")
        return self.parameters[:, PARAM_NAMES.index(name)]


def _draw(rng: np.random.Generator, law: str, a: float, b: float) -> float:
    if law == "normal":
        while True:
            value = rng.normal(a, b)
            if value > 0:
                return float(value)
    if law == "inverse_lognormal":
        return float(1.0 / np.exp(rng.normal(a, b)))
    if law == "uniform":
        return float(rng.uniform(a, b))
    return float(np.exp(rng.normal(a, b)))


def hovorka_population(n_patients: int, seed: int | np.random.SeedSequence | None = None
                       ) -> HovorkaPatients:
    """Sample ``n_patients`` from :data:`POPULATION`; patient k uses child k of the seed.

    Examples:
        >>> hovorka_population(3, seed=1).parameters.shape
        (3, 16)
    """
    if int(n_patients) != n_patients or n_patients < 1:
        raise ValueError(f"n_patients must be an int >= 1, got {n_patients}")
    root = np.random.SeedSequence(seed) if not isinstance(seed, np.random.SeedSequence) else seed
    rows = []
    for child in root.spawn(int(n_patients)):
        rng = np.random.default_rng(child)
        rows.append([_draw(rng, *POPULATION[name]) for name in PARAM_NAMES])
    return HovorkaPatients(parameters=np.array(rows))


@numba.njit(cache=True, nogil=True)
def _rhs(x: np.ndarray, p: np.ndarray, u: float, d: float,
         out: np.ndarray) -> None:  # pragma: no cover - compiled
    """d/dt of the 10 states (module docstring); u mU/min, d mmol/min."""
    bw, vg = p[_BW], p[_VG] * p[_BW]
    g = x[8] / vg
    out[0] = p[_AG] * d - x[0] / p[_TMAXG]
    out[1] = (x[0] - x[1]) / p[_TMAXG]
    out[2] = u - x[2] / p[_TMAXI]
    out[3] = (x[2] - x[3]) / p[_TMAXI]
    out[4] = x[3] / p[_TMAXI] / (p[_VI] * bw) - p[_KE] * x[4]
    out[5] = p[_KA1] * (p[_SIT] * x[4] - x[5])
    out[6] = p[_KA2] * (p[_SID] * x[4] - x[6])
    out[7] = p[_KA3] * (p[_SIE] * x[4] - x[7])
    f01c = p[_F01] * bw * min(1.0, g / 4.5)
    renal = 0.003 * (g - 9.0) * vg if g >= 9.0 else 0.0
    out[8] = (-f01c - x[5] * x[8] + p[_K12] * x[9] - renal + x[1] / p[_TMAXG]
              + p[_EGP0] * bw * (1.0 - x[7]))
    out[9] = x[5] * x[8] - (p[_K12] + x[6]) * x[9]


@numba.njit(cache=True, nogil=True, parallel=True)
def _advance_kernel(states: np.ndarray, params: np.ndarray, insulin_mu_per_min: np.ndarray,
                    carbs_mmol_per_min: np.ndarray, substeps: int,
                    glucose: np.ndarray) -> None:  # pragma: no cover - compiled
    """Batched RK4 minutes in place; ``glucose`` (n, m) gets Q1/VG, mmol/L, after each minute."""
    h = 1.0 / substeps
    for i in numba.prange(states.shape[0]):
        x, p = states[i], params[i]
        k = np.empty((5, N_STATES))
        for minute in range(insulin_mu_per_min.shape[1]):
            u, d = insulin_mu_per_min[i, minute], carbs_mmol_per_min[i, minute]
            for _ in range(substeps):
                _rhs(x, p, u, d, k[0])
                k[4] = x + 0.5 * h * k[0]
                _rhs(k[4], p, u, d, k[1])
                k[4] = x + 0.5 * h * k[1]
                _rhs(k[4], p, u, d, k[2])
                k[4] = x + h * k[2]
                _rhs(k[4], p, u, d, k[3])
                x += h / 6.0 * (k[0] + 2.0 * k[1] + 2.0 * k[2] + k[3])
            glucose[i, minute] = x[8] / (p[_VG] * p[_BW])


def advance(states: ArrayLike, patients: HovorkaPatients, insulin_u_per_min: ArrayLike,
            carbs_g_per_min: ArrayLike, minutes: int, *,
            substeps: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Advance every patient by ``minutes`` one-minute steps (pure).

    Args:
        states: (n, 10) states (:data:`STATE_NAMES`).
        patients: the n patients.
        insulin_u_per_min: subcutaneous insulin, U/min: scalar, (n,) or (n, minutes).
        carbs_g_per_min: carbohydrate eaten, g/min: scalar, (n,) or (n, minutes).
        minutes: one-minute steps, >= 1.
        substeps: RK4 steps per minute, >= 1.

    Returns:
        ``(new_states (n, 10), glucose_mmol_per_l (n, minutes))``.

    Examples:
        >>> p = HovorkaPatients.typical()
        >>> u = basal_insulin_u_per_min(p, 7.0)
        >>> x, g = advance(steady_state(p, u), p, u, 0.0, 120)
        >>> round(float(g[0, -1]), 6)
        7.0
    """
    n = patients.n_patients
    x = checked_states(states, n, N_STATES, minutes, substeps)
    insulin = per_minute("insulin_u_per_min", insulin_u_per_min, n, int(minutes)) * 1000.0
    carbs = per_minute("carbs_g_per_min", carbs_g_per_min, n, int(minutes))
    glucose = np.empty((n, int(minutes)))
    _advance_kernel(x, np.ascontiguousarray(patients.parameters), insulin,
                    carbs * 1000.0 / GLUCOSE_MG_PER_MMOL, int(substeps), glucose)
    return x, glucose


def _glucose_balance(g: np.ndarray, insulin_mu_per_l: np.ndarray, p: np.ndarray) -> np.ndarray:
    """dQ1/dt at steady state (Q2 eliminated) as a function of G, mmol/min; decreasing in G."""
    x1, x2, x3 = (p[:, _SIT] * insulin_mu_per_l, p[:, _SID] * insulin_mu_per_l,
                  p[:, _SIE] * insulin_mu_per_l)
    vg, bw = p[:, _VG] * p[:, _BW], p[:, _BW]
    uptake = x1 * x2 / (p[:, _K12] + x2) * g * vg
    renal = np.where(g >= 9.0, 0.003 * (g - 9.0) * vg, 0.0)
    return (p[:, _EGP0] * bw * (1.0 - x3) - p[:, _F01] * bw * np.minimum(1.0, g / 4.5)
            - uptake - renal)


def _bisect(f, low: np.ndarray, high: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    for _ in range(200):
        mid = 0.5 * (low + high)
        positive = f(mid) > 0
        low, high = np.where(positive, mid, low), np.where(positive, high, mid)
    return 0.5 * (low + high)


def steady_state(patients: HovorkaPatients, insulin_u_per_min: ArrayLike) -> np.ndarray:
    """Fasting steady state under constant insulin (U/min, (n,) or scalar), (n, 10).

    Raises ``ValueError`` if some patient has no steady state with glucose in (0, 100) mmol/L.
    """
    p = patients.parameters
    u = per_minute("insulin_u_per_min", insulin_u_per_min, patients.n_patients, 1)[:, 0] * 1e3
    insulin = u / (p[:, _KE] * p[:, _VI] * p[:, _BW])
    low, high = np.zeros_like(u), np.full_like(u, 100.0)
    if np.any(_glucose_balance(high, insulin, p) > 0) or np.any(
            _glucose_balance(low + 1e-12, insulin, p) < 0):
        raise ValueError("insulin_u_per_min gives no fasting steady state in (0, 100) mmol/L")
    g = _bisect(lambda v: _glucose_balance(v, insulin, p), low, high)
    x = np.zeros((patients.n_patients, N_STATES))
    x[:, 2] = x[:, 3] = u * p[:, _TMAXI]
    x[:, 4] = insulin
    x[:, 5], x[:, 6], x[:, 7] = p[:, _SIT] * insulin, p[:, _SID] * insulin, p[:, _SIE] * insulin
    x[:, 8] = g * p[:, _VG] * p[:, _BW]
    x[:, 9] = x[:, 5] * x[:, 8] / (p[:, _K12] + x[:, 6])
    return x


def basal_insulin_u_per_min(patients: HovorkaPatients, glucose_mmol_per_l: ArrayLike) -> np.ndarray:
    """Constant insulin (U/min) whose fasting steady state has the given glucose, (n,).

    Examples:
        >>> round(float(basal_insulin_u_per_min(HovorkaPatients.typical(), 7.0)[0] * 60), 3)
        0.373
    """
    p = patients.parameters
    g = check_non_negative("glucose_mmol_per_l", glucose_mmol_per_l) * np.ones(len(p))
    if np.any(g <= 0):
        raise ValueError("glucose_mmol_per_l must be > 0")
    # x3 = SIE I < 1 bounds the insulin that leaves EGP positive; balance decreases in I
    high = 1.0 / p[:, _SIE]
    if np.any(_glucose_balance(g, np.zeros(len(p)), p) < 0):
        raise ValueError("glucose_mmol_per_l is above the zero-insulin steady state")
    insulin = _bisect(lambda i: _glucose_balance(g, i, p), np.zeros(len(p)), high)
    return insulin * p[:, _KE] * p[:, _VI] * p[:, _BW] / 1e3
