# lines: the parameter table with its sources, and the three simulation entry points
"""Mycophenolic acid (MPA) after oral MMF with enterohepatic recirculation: de Winter 2009.

de Winter BCM, van Gelder T, Sombogaard F, Shaw LM, van Hest RM, Mathot RAA.
Pharmacokinetic role of protein binding of mycophenolic acid and its glucuronide metabolite
in renal transplant recipients. J Pharmacokinet Pharmacodyn 2009;36(6):541-564,
doi:10.1007/s10928-009-9136-6. Values of its Table 2 as transcribed in nlmixr2lib
(``inst/modeldb/specificDrugs/deWinter_2009_mycophenolic_acid.R``, commit 01483597); the
primary table was not seen by this implementation. The paper reports no standard errors
(its final NONMEM run did not minimise successfully).

Structure (all amounts umol, MMF -> MPA 1:1 molar)::

    depot --ka--> free MPA central (Vc) <--Q--> free MPA peripheral (Vp)
    free MPA --CL--> free MPAG (Vm) --CLm--> urine;  free MPAG --k57--> gallbladder (GB)
    GB --k72 while TGB <= time since the last dose <= TGB + DGB--> free MPA central
    MPA and MPAG bind competitively to BMAX sites: KD1 = k42/k24, KD2 = k65/k56

Covariates (Table 2): ``CLm = 4.75 (CrCL/45)^1.36``; ``BMAX = 35100 (ALB/0.5)^1.39`` with
ALB in mmol/L (g/L / 66.5) -- the paper prints Eq. 8 as ``exp(theta (ALB - 0.5))`` but its
own Results (ALB 0.6 -> 0.4 mmol/L: BMAX 45 200 -> 25 700) match only the power form,
which we use, as nlmixr2lib does; ``k57 = 0.0796 * 0.002^CsA`` (ciclosporin blocks EHC).

What pkgym does (:mod:`pkgym.models.mycophenolate_kernel`):

* **The full 7-state ODE** of the paper (Eqs. 1-7, as transcribed by nlmixr2lib), states
  in the order of :data:`N_STATES`; bound amounts in the transcription's "V_binding = 1 L"
  convention (total MPA = Cf + bMPA, umol/L). No binding reduction: free MPA binds at
  k24*BMAX/Vc = 28 /h and unbinds at k42 = 169 /h, only ~14x faster than (CL + Q)/Vc =
  14.6 /h, so a rapid-equilibrium reduction would be off by up to 2 % at the peaks (29 % in
  the first minutes after the lag). The compiled integrator is tested against scipy's Radau
  on these equations to 1e-6 relative (``tests/models/test_mycophenolate.py``). The
  dissociation rates k42, k65 are constants of the kernel (:data:`K42_PER_H`,
  :data:`K65_PER_H`); the parameter rows carry KD1 = k42/k24 and KD2 = k65/k56.
* **Lag and gallbladder window per interval.** The dose enters the depot at
  ``min(TLAG, interval_h)`` (a lag beyond the interval puts the dose in the depot at the
  interval's end); the gallbladder empties while the time since the last dose is in
  ``[TGB, TGB + DGB]``, truncated at the next dose; if TGB >= interval_h it never empties
  (the bile MPAG is then held, which log-normal TGB with 141 % CV gives ~1/3 of patients;
  the paper's eta on TGB was additive, nlmixr2lib's log-normal, which we follow).
* **Residual error.** Table 2's "additive error on log-transformed data" for total MPA, 0.52,
  read as a proportional SD (nlmixr2lib's reading; whether it is an SD or a variance is
  not verified). Environments use the HPLC assay error :data:`HPLC_ASSAY` instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from pkgym.models.mycophenolate_kernel import (
    K42_PER_H,
    K65_PER_H,
    N_MODEL,
    simulate_interval_kernel,
)
from pkgym.populations.residual import Measurements, ResidualError
from pkgym.utils import check_finite, check_non_negative

__all__ = ["COVARIATE_NAMES", "ETA_NAMES", "HPLC_ASSAY", "K42_PER_H", "K65_PER_H",
           "MW_MMF_G_PER_MOL", "MW_MPAG_G_PER_MOL", "MW_MPA_G_PER_MOL", "N_STATES", "PARAM_NAMES",
           "DeWinter2009", "ResidualError", "measure", "mmf_mg_to_umol", "simulate_interval",
           "simulate_regimen", "steady_profile"]

MW_MMF_G_PER_MOL = 433.5
MW_MPA_G_PER_MOL = 320.3
MW_MPAG_G_PER_MOL = 496.5
ALBUMIN_G_PER_MMOL = 66.5
"""Molar mass of albumin (66.5 kDa): g/L / 66.5 = mmol/L, the unit of de Winter's ALB."""
PARAM_NAMES: tuple[str, ...] = (
    "tlag_h", "ka_per_h", "vc_l", "cl_l_per_h", "vp_l", "q_l_per_h", "bmax_umol",
    "kd_mpa_umol_per_l", "vm_l", "clm_l_per_h", "kd_mpag_umol_per_l", "k57_per_h",
    "tgb_h", "dgb_h", "k72_per_h")
ETA_NAMES: tuple[str, ...] = ("tlag", "vc", "cl", "bmax", "clm", "tgb", "k57")
COVARIATE_NAMES: tuple[str, ...] = ("albumin_g_per_l", "creatinine_clearance_ml_per_min",
                                    "ciclosporin")
N_STATES: int = N_MODEL
"""Model states, umol, in this order: 0 depot (MPA-equivalent), 1 free central MPA, 2 free
peripheral MPA, 3 bound MPA, 4 free central MPAG, 5 bound MPAG, 6 gallbladder MPAG (de
Winter's compartments 1-7; bound amounts with V_binding = 1 L, i.e. also umol/L)."""
DE_WINTER = "de Winter et al. 2009, J Pharmacokinet Pharmacodyn 36:541, Table 2 (nlmixr2lib)"
HPLC_ASSAY = ResidualError(proportional_sd=0.07, lloq=0.25)
"""HPLC-UV assay error of total MPA, mg/L: 7 % (interday CV < 8 %) and LOQ 0.25 mg/L (Yu et
al. 2017, Acta Pharmacol Sin 38:1566, via nlmixr2lib; Dong 2014 Br J Clin Pharmacol 78:1102)."""


def parameter(value: float, unit: str, source: str = DE_WINTER) -> Any:
    """A dataclass field holding a published value with its unit and source."""
    return field(default=value, metadata={"unit": unit, "source": source})


def _log_cv(cv: float) -> float:
    """Variance of the log of a log-normal with coefficient of variation ``cv``."""
    return float(np.log1p(cv**2))


@dataclass(frozen=True, slots=True, kw_only=True)
class DeWinter2009:
    """Population parameters of de Winter 2009 (module docstring); amounts umol, time h."""

    tlag_h: float = parameter(0.231, "h")
    ka_per_h: float = parameter(4.00, "1/h (fixed in the paper)")
    vc_l: float = parameter(189.0, "L (free MPA, /F)")
    cl_l_per_h: float = parameter(747.0, "L/h (free MPA -> MPAG, /F)")
    vp_l: float = parameter(34300.0, "L (free MPA, /F)")
    q_l_per_h: float = parameter(2010.0, "L/h (/F)")
    k24_l_per_umol_h: float = parameter(0.153, "L/(umol*h) (MPA association)")
    k42_per_h: float = parameter(K42_PER_H, "1/h (MPA dissociation; fixed in the kernel)")
    bmax_umol: float = parameter(35100.0, "umol (at ALB 0.5 mmol/L; V_binding 1 L)")
    vm_l: float = parameter(8.56, "L (free MPAG, /F)")
    k56_l_per_umol_h: float = parameter(0.0133, "L/(umol*h) (MPAG association)")
    k65_per_h: float = parameter(K65_PER_H, "1/h (MPAG dissociation; fixed in the kernel)")
    clm_l_per_h: float = parameter(4.75, "L/h (free MPAG, renal, at CrCL 45 mL/min)")
    k57_per_h: float = parameter(0.0796, "1/h (free MPAG -> gallbladder, tacrolimus)")
    tgb_h: float = parameter(7.90, "h after the dose")
    dgb_h: float = parameter(1.00, "h (fixed in the paper)")
    k72_per_h: float = parameter(10.0, "1/h (fixed in the paper)")
    crcl_exponent: float = parameter(1.36, "- (power of CrCL/45 on CLm)")
    crcl_reference_ml_per_min: float = parameter(45.0, "mL/min")
    albumin_exponent: float = parameter(1.39, "- (power of ALB/0.5 on BMAX; see docstring)")
    albumin_reference_mmol_per_l: float = parameter(0.5, "mmol/L (33.25 g/L)")
    ciclosporin_k57_factor: float = parameter(0.002, "- (k57 multiplier with ciclosporin)")
    omega_tlag: float = parameter(_log_cv(1.61), "variance of log (161 % CV)")
    omega_vc: float = parameter(_log_cv(1.16), "variance of log (116 % CV)")
    omega_cl: float = parameter(_log_cv(0.97), "variance of log (97 % CV)")
    omega_bmax: float = parameter(_log_cv(0.48), "variance of log (48 % CV)")
    omega_clm: float = parameter(_log_cv(1.06), "variance of log (106 % CV)")
    omega_tgb: float = parameter(_log_cv(1.41), "variance of log (141 % CV; paper: additive)")
    omega_k57: float = parameter(_log_cv(0.71), "variance of log (71 % CV, fixed)")
    proportional_error_sd: float = parameter(0.52, "fraction (log-scale SD, total MPA)")

    def __post_init__(self) -> None:
        """Every value finite and > 0 (omegas >= 0); k42, k65 those of the kernel."""
        for f in fields(self):
            value = getattr(self, f.name)
            low_ok = value >= 0 if f.name.startswith("omega") else value > 0
            if not (np.isfinite(value) and low_ok):
                raise ValueError(f"DeWinter2009.{f.name} must be finite and > 0 "
                                 f"(omegas >= 0), got {value}")
        for name, kernel in (("k42_per_h", K42_PER_H), ("k65_per_h", K65_PER_H)):
            if getattr(self, name) != kernel:
                raise ValueError(f"DeWinter2009.{name} must be {kernel} (the compiled "
                                 f"kernel's dissociation rate), got {getattr(self, name)}")

    @property
    def omega(self) -> np.ndarray:
        """Diagonal (7, 7) covariance of the etas in ETA_NAMES (no correlations reported)."""
        return np.diag([getattr(self, f"omega_{name}") for name in ETA_NAMES])

    @property
    def residual_error(self) -> ResidualError:
        """The paper's residual error on total MPA (proportional, see the module docstring)."""
        return ResidualError(proportional_sd=self.proportional_error_sd)

    def individual_params(self, covariates: Mapping[str, np.ndarray],
                          etas: np.ndarray) -> np.ndarray:
        """Individual parameters, (n, len(PARAM_NAMES)), in the columns of PARAM_NAMES.

        Args:
            covariates: ``albumin_g_per_l`` (g/L, > 0), ``creatinine_clearance_ml_per_min``
                (mL/min, > 0) and ``ciclosporin`` (0 tacrolimus / 1 ciclosporin), each (n,).
            etas: (n, 7) random effects in the order of ETA_NAMES.

        Examples:
            >>> cov = {"albumin_g_per_l": np.array([33.25]), "ciclosporin": np.array([0.0]),
            ...        "creatinine_clearance_ml_per_min": np.array([45.0])}
            >>> p = DeWinter2009().individual_params(cov, np.zeros((1, 7)))
            >>> p[0, PARAM_NAMES.index("bmax_umol")], p[0, PARAM_NAMES.index("clm_l_per_h")]
            (np.float64(35100.0), np.float64(4.75))
        """
        alb, crcl, csa = _covariates(covariates)
        eta = check_finite("etas", etas)
        if eta.shape != (alb.size, len(ETA_NAMES)):
            raise ValueError(f"etas must have shape ({alb.size}, {len(ETA_NAMES)}), "
                             f"got {eta.shape}")
        e = np.exp(eta)
        out = np.empty((alb.size, len(PARAM_NAMES)))
        alb_ratio = alb / ALBUMIN_G_PER_MMOL / self.albumin_reference_mmol_per_l
        columns = {
            "tlag_h": self.tlag_h * e[:, 0], "ka_per_h": self.ka_per_h,
            "vc_l": self.vc_l * e[:, 1], "cl_l_per_h": self.cl_l_per_h * e[:, 2],
            "vp_l": self.vp_l, "q_l_per_h": self.q_l_per_h,
            "bmax_umol": self.bmax_umol * alb_ratio**self.albumin_exponent * e[:, 3],
            "kd_mpa_umol_per_l": self.k42_per_h / self.k24_l_per_umol_h,
            "vm_l": self.vm_l,
            "clm_l_per_h": self.clm_l_per_h * (crcl / self.crcl_reference_ml_per_min)
            ** self.crcl_exponent * e[:, 4],
            "kd_mpag_umol_per_l": self.k65_per_h / self.k56_l_per_umol_h,
            "k57_per_h": self.k57_per_h * self.ciclosporin_k57_factor**csa * e[:, 6],
            "tgb_h": self.tgb_h * e[:, 5], "dgb_h": self.dgb_h, "k72_per_h": self.k72_per_h}
        for j, name in enumerate(PARAM_NAMES):
            out[:, j] = columns[name]
        return out

    def typical_params(self, covariates: Mapping[str, np.ndarray]) -> np.ndarray:
        """:meth:`individual_params` with every eta 0, (n, len(PARAM_NAMES)).

        Examples:
            >>> cov = {"albumin_g_per_l": np.array([40.0]), "ciclosporin": np.array([1.0]),
            ...        "creatinine_clearance_ml_per_min": np.array([60.0])}
            >>> round(float(DeWinter2009().typical_params(cov)[0, 11]), 7)
            0.0001592
        """
        n = _covariates(covariates)[0].size
        return self.individual_params(covariates, np.zeros((n, len(ETA_NAMES))))


def _covariates(covariates: Mapping[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """Albumin (g/L), CrCL (mL/min) and the ciclosporin flag, checked, each (n,)."""
    missing = [name for name in COVARIATE_NAMES if name not in covariates]
    if missing:
        raise ValueError(f"covariates is missing {missing}; needs {list(COVARIATE_NAMES)}")
    alb, crcl, csa = (np.atleast_1d(check_finite(name, covariates[name]))
                      for name in COVARIATE_NAMES)
    if alb.ndim != 1 or crcl.shape != alb.shape or csa.shape != alb.shape:
        raise ValueError(f"covariates must be 1-D arrays of one length, got shapes "
                         f"{alb.shape}, {crcl.shape}, {csa.shape}")
    for name, values in zip(COVARIATE_NAMES[:2], (alb, crcl), strict=True):
        if np.any(values <= 0):
            raise ValueError(f"{name} must be > 0")
    if not np.all(np.isin(csa, (0.0, 1.0))):
        raise ValueError(f"ciclosporin must be 0 (tacrolimus) or 1, got {np.unique(csa)}")
    return alb, crcl, csa


def mmf_mg_to_umol(dose_mmf_mg: np.ndarray | float) -> np.ndarray:
    """MPA-equivalent amount, umol, of an MMF dose in mg (1:1 molar, MW 433.5).

    Examples:
        >>> round(float(mmf_mg_to_umol(1000.0)), 1)
        2306.8
    """
    return np.asarray(dose_mmf_mg, dtype=np.float64) / MW_MMF_G_PER_MOL * 1000.0


def measure(conc_mg_per_l: np.ndarray, rng: np.random.Generator,
            error: ResidualError = HPLC_ASSAY) -> Measurements:
    """Measured total MPA, mg/L (NaN below the LOQ, flagged in ``censored``).

    Examples:
        >>> m = measure(np.array([0.1, 3.0]), np.random.default_rng(0))
        >>> bool(m.censored[0]), bool(m.values[1] > 0)
        (True, True)
    """
    return error.measure(conc_mg_per_l, rng)


def _check_batch(params: np.ndarray, doses: np.ndarray, interval_h: float,
                 dose_ndim: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Parameters (n, P) finite > 0 except tlag >= 0; doses >= 0; interval > 0."""
    p = check_finite("params", params)
    if p.ndim != 2 or p.shape[1] != len(PARAM_NAMES):
        raise ValueError(f"params must have shape (n, {len(PARAM_NAMES)}), got {p.shape}")
    if np.any(p[:, 1:] <= 0) or np.any(p[:, 0] < 0):
        raise ValueError("params must be > 0 (tlag_h >= 0)")
    d = check_non_negative("doses_mmf_mg", doses)
    if d.ndim != dose_ndim or d.shape[0] != p.shape[0]:
        raise ValueError(f"doses_mmf_mg must have {dose_ndim} dimension(s) and {p.shape[0]} "
                         f"rows, got shape {d.shape}")
    interval = float(interval_h)
    if not (np.isfinite(interval) and interval > 0):
        raise ValueError(f"interval_h must be finite and > 0, got {interval_h}")
    return np.ascontiguousarray(p), d, interval


def _check_times(name: str, times: np.ndarray, n: int, high: float) -> np.ndarray:
    """Sample times (n, s) (or (s,), broadcast) in [0, high]."""
    t = check_finite(name, times)
    if t.ndim == 1:
        t = np.broadcast_to(t, (n, t.size))
    if t.ndim != 2 or t.shape[0] != n:
        raise ValueError(f"{name} must have shape (s,) or ({n}, s), got {t.shape}")
    if np.any(t < 0) or np.any(t > high):
        raise ValueError(f"{name} must lie in [0, {high}] h")
    return np.ascontiguousarray(t, dtype=np.float64)


def _run(state: np.ndarray, params: np.ndarray, doses_umol: np.ndarray, interval_h: float,
         times: np.ndarray, rtol: float, atol: float) -> tuple[np.ndarray, ...]:
    """Call the compiled kernel (inputs already checked)."""
    n = params.shape[0]
    new, conc, auc = np.empty((n, N_STATES)), np.empty(times.shape), np.empty(n)
    simulate_interval_kernel(np.ascontiguousarray(state, dtype=np.float64), params,
                             np.ascontiguousarray(doses_umol), interval_h, times, rtol, atol,
                             new, conc, auc)
    return new, conc, auc


def simulate_interval(state: np.ndarray, params: np.ndarray, dose_mmf_mg: np.ndarray,
                      interval_h: float, sample_times_h: np.ndarray, *, rtol: float = 1e-9,
                      atol: float = 1e-9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Give each patient one MMF dose at t = 0 and advance one dosing interval.

    Args:
        state: (n, N_STATES) umol at the dose time (not modified).
        params: (n, len(PARAM_NAMES)) individual parameters.
        dose_mmf_mg: (n,) MMF dose, mg, >= 0.
        interval_h: interval length, h (> 0).
        sample_times_h: (n, s) or (s,) times after the dose in [0, interval_h], any order.
        rtol: relative tolerance of the adaptive stepper.
        atol: absolute tolerance (umol; mg*h/L for the AUC).

    Returns:
        (state at ``interval_h`` (n, N_STATES) umol, total MPA at the sample times (n, s)
        mg/L, AUC of total MPA over the interval (n,) mg*h/L).

    Examples:
        >>> cov = {"albumin_g_per_l": np.array([33.25]), "ciclosporin": np.array([0.0]),
        ...        "creatinine_clearance_ml_per_min": np.array([50.0])}
        >>> p = DeWinter2009().typical_params(cov)
        >>> s, c, auc = simulate_interval(np.zeros((1, N_STATES)), p, np.array([1000.0]),
        ...                               12.0, np.array([[1.0]]))
        >>> s.shape, c.shape, bool(auc[0] > 10.0)
        ((1, 7), (1, 1), True)
    """
    p, d, interval = _check_batch(params, dose_mmf_mg, interval_h, 1)
    y0 = check_non_negative("state", state)
    if y0.shape != (p.shape[0], N_STATES):
        raise ValueError(f"state must have shape ({p.shape[0]}, {N_STATES}), got {y0.shape}")
    times = _check_times("sample_times_h", sample_times_h, p.shape[0], interval)
    return _run(y0, p, mmf_mg_to_umol(d), interval, times, rtol, atol)  # type: ignore[return-value]


def simulate_regimen(params: np.ndarray, doses_mmf_mg: np.ndarray, interval_h: float,
                     sample_times_h: np.ndarray, state0: np.ndarray | None = None, *,
                     rtol: float = 1e-9, atol: float = 1e-9,
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run k consecutive intervals, dose j at ``j * interval_h``, from ``state0`` (zeros).

    Args:
        params: (n, len(PARAM_NAMES)).
        doses_mmf_mg: (n, k) MMF doses, mg.
        interval_h: interval, h.
        sample_times_h: (n, s) or (s,) absolute times in [0, k * interval_h]; a time on a
            dose time belongs to the interval it ends (the concentration is continuous).
        state0: (n, N_STATES) umol before the first dose, or None for zeros.
        rtol: relative tolerance.
        atol: absolute tolerance.

    Returns:
        (final state (n, N_STATES), total MPA (n, s) mg/L, AUC of each interval (n, k)).

    Examples:
        >>> cov = {"albumin_g_per_l": np.array([33.25]), "ciclosporin": np.array([1.0]),
        ...        "creatinine_clearance_ml_per_min": np.array([50.0])}
        >>> p = DeWinter2009().typical_params(cov)
        >>> _, c, aucs = simulate_regimen(p, np.full((1, 3), 1000.0), 12.0, np.array([36.0]))
        >>> c.shape, aucs.shape
        ((1, 1), (1, 3))
    """
    p, d, interval = _check_batch(params, doses_mmf_mg, interval_h, 2)
    n, k = d.shape
    times = _check_times("sample_times_h", sample_times_h, n, k * interval)
    state = np.zeros((n, N_STATES)) if state0 is None else check_non_negative("state0", state0)
    if state.shape != (n, N_STATES):
        raise ValueError(f"state0 must have shape ({n}, {N_STATES}), got {state.shape}")
    conc, aucs = np.full(times.shape, np.nan), np.empty((n, k))
    owner = np.clip(np.ceil(times / interval) - 1, 0, max(k - 1, 0))  # interval of each time
    for j in range(k):
        local = np.where(owner == j, times - j * interval, np.nan)
        state, c, aucs[:, j] = _run(state, p, mmf_mg_to_umol(d[:, j]), interval, local,
                                    rtol, atol)
        conc = np.where(owner == j, c, conc)
    return state, conc, aucs


def steady_profile(params: np.ndarray, dose_mmf_mg: np.ndarray, times_h: np.ndarray,
                   interval_h: float = 12.0, n_doses: int = 14, *, rtol: float = 1e-9,
                   atol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """Profile of the ``n_doses``-th identical dose (near steady state) and its AUC.

    Args:
        params: (n, len(PARAM_NAMES)).
        dose_mmf_mg: (n,) MMF dose given every ``interval_h``, mg.
        times_h: (s,) or (n, s) times after the last dose in [0, interval_h].
        interval_h: interval, h.
        n_doses: doses given, >= 1 (the profile follows the last).
        rtol: relative tolerance.
        atol: absolute tolerance.

    Returns:
        (total MPA (n, s) mg/L, AUC over the last interval (n,) mg*h/L).

    Examples:
        >>> cov = {"albumin_g_per_l": np.array([33.25]), "ciclosporin": np.array([0.0]),
        ...        "creatinine_clearance_ml_per_min": np.array([50.0])}
        >>> c, auc = steady_profile(DeWinter2009().typical_params(cov), np.array([1000.0]),
        ...                         np.array([0.0, 12.0]))
        >>> c.shape, round(float(auc[0]), 1)
        ((1, 2), 33.8)
    """
    p, d, interval = _check_batch(params, dose_mmf_mg, interval_h, 1)
    if not (isinstance(n_doses, (int, np.integer)) and n_doses >= 1):
        raise ValueError(f"n_doses must be an integer >= 1, got {n_doses!r}")
    times = _check_times("times_h", times_h, p.shape[0], interval)
    state, umol = np.zeros((p.shape[0], N_STATES)), mmf_mg_to_umol(d)
    empty = np.empty((p.shape[0], 0))
    for _ in range(n_doses - 1):
        state, _, _ = _run(state, p, umol, interval, empty, rtol, atol)
    _, conc, auc = _run(state, p, umol, interval, times, rtol, atol)
    return conc, auc
