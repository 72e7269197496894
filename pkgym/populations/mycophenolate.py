"""Adult de novo kidney-transplant recipients on MMF: covariates, their recovery, de Winter etas.

Every patient is a row of :data:`N_UNIFORMS` U(0,1) numbers turned into covariates by the
pure :func:`patients_from_uniforms`; :func:`draw_patients` draws the rows in C order from one
generator, so patient k is the same whatever the batch size, and an environment may instead
fill each row from the patient's own generator (:func:`draw_patient_uniforms`).

Columns of the uniforms (the draw order), and the distribution each one feeds:

====  =========================  ==========================================================
 0    ciclosporin (0/1)          Bernoulli, share 48/93 = 0.516 (de Winter 2009 Table 1:
                                 48 CsA, 45 Tac profiles); ``ciclosporin_share`` changes it
 1    albumin day 0, g/L         normal, median 34 g/L (de Winter Table 1: 0.51 mmol/L =
                                 33.9 g/L), SD 5 g/L (*assumed*), truncated to the range
                                 0.35-0.68 mmol/L = 23.3-45.2 g/L
 2    CrCL day 0, mL/min         log-normal, median 19 (van Hest 2007 Br J Clin Pharmacol
                                 63:741, week 1), CV 60 % (*assumed*), 5-120
 3    CrCL late, mL/min          log-normal, median 71 (van Hest 2007, month 6), CV 30 %
                                 (*assumed*), 15-150
 4    CrCL recovery time, days   log-normal, median 7, CV 50 % (*assumed*)
 5    albumin recovery, days     log-normal, median 30, CV 50 % (*assumed*)
 6    weight, kg                 log-normal, median 72 (de Winter medians 67 CsA, 78 Tac),
                                 CV 20 % (*assumed*), 42-113 (de Winter range)
 7    age, years                 normal, mean 52 (de Winter medians 51, 53), SD 13
                                 (*assumed*), 19-76 (de Winter range)
 8    female (0/1)               Bernoulli 0.36 (de Winter: 36 % female)
 9-15 etas (ETA_NAMES)           standard normals by inverse CDF, times the Cholesky factor
                                 of ``omega`` (de Winter's, :data:`DE_WINTER_OMEGA`)
====  =========================  ==========================================================

Late albumin is the day-0 value times 40/35 (van Hest 2007: cohort mean 35 -> 40 g/L over 6
months). Time after transplant (:func:`covariates_on_day`): each of CrCL and albumin
approaches its late value exponentially, ``x(d) = late + (day0 - late) exp(-d / tau)``.
This recovery law and its time constants are OURS (van Hest reports cohort means only), a
combination of de Winter's covariate model with van Hest's trajectories, labelled as such.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import ndtri

N_UNIFORMS = 16
"""Uniforms per patient (module docstring table)."""
CICLOSPORIN_SHARE = 48.0 / 93.0
"""de Winter 2009 Table 1: 48 of 93 profiles with ciclosporin."""
DE_WINTER_ETA_CVS = (1.61, 1.16, 0.97, 0.48, 1.06, 1.41, 0.71)
"""IPV (CV) on tlag, Vc, CL, BMAX, CLm, TGB, k57: de Winter 2009 Table 2 (nlmixr2lib); the
same numbers as ``pkgym.models.mycophenolate.DeWinter2009().omega`` (a test checks it: the
population layer may not import the model layer)."""
DE_WINTER_OMEGA = np.diag(np.log1p(np.square(DE_WINTER_ETA_CVS)))
DE_WINTER_OMEGA.setflags(write=False)
ALBUMIN_RECOVERY_FACTOR = 40.0 / 35.0
"""van Hest 2007: cohort mean albumin 35 -> 40 g/L over the first 6 months."""


def draw_patient_uniforms(rng: np.random.Generator) -> np.ndarray:
    """One patient's (N_UNIFORMS,) uniforms, drawn in the documented column order.

    Examples:
        >>> draw_patient_uniforms(np.random.default_rng(0)).shape
        (16,)
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng)!r}")
    return rng.random(N_UNIFORMS)


def _truncated_normal(u: np.ndarray, mean: float, sd: float, low: float,
                      high: float) -> np.ndarray:
    """Normal(mean, sd) truncated to [low, high] by inverse CDF of u."""
    from scipy.special import ndtr

    a, b = ndtr((low - mean) / sd), ndtr((high - mean) / sd)
    return np.clip(mean + sd * ndtri(a + u * (b - a)), low, high)


def _truncated_lognormal(u: np.ndarray, median: float, cv: float, low: float,
                         high: float) -> np.ndarray:
    """Log-normal (median, CV) truncated to [low, high] by inverse CDF of u."""
    sigma = float(np.sqrt(np.log1p(cv**2)))
    return np.exp(_truncated_normal(u, np.log(median), sigma, np.log(low), np.log(high)))


def patients_from_uniforms(uniforms: np.ndarray, *, ciclosporin_share: float = CICLOSPORIN_SHARE,
                           omega: np.ndarray = DE_WINTER_OMEGA) -> dict[str, np.ndarray]:
    """Patients from their uniforms (n, N_UNIFORMS): a pure, row-wise transform.

    Returns:
        Arrays (n,): ``albumin_g_per_l`` and ``creatinine_clearance_ml_per_min`` (day 0),
        their ``*_late`` values, ``crcl_recovery_days``, ``albumin_recovery_days``,
        ``ciclosporin``, ``weight_kg``, ``age_years``, ``female``; and ``etas`` (n, 7).

    Examples:
        >>> p = patients_from_uniforms(np.full((2, N_UNIFORMS), 0.5))
        >>> round(float(p["creatinine_clearance_ml_per_min"][0]), 1), p["etas"].shape
        (19.1, (2, 7))
    """
    u = np.asarray(uniforms, dtype=np.float64)
    if u.ndim != 2 or u.shape[1] != N_UNIFORMS or np.any(~((u >= 0) & (u < 1))):
        raise ValueError(f"uniforms must have shape (n, {N_UNIFORMS}) with values in [0, 1), "
                         f"got shape {u.shape}")
    if not 0.0 <= ciclosporin_share <= 1.0:
        raise ValueError(f"ciclosporin_share must be in [0, 1], got {ciclosporin_share}")
    omega = np.asarray(omega, dtype=np.float64)
    if omega.shape != (7, 7):
        raise ValueError(f"omega must have shape (7, 7), got {omega.shape}")
    albumin = _truncated_normal(u[:, 1], 34.0, 5.0, 23.3, 45.2)
    return {
        "ciclosporin": (u[:, 0] < ciclosporin_share).astype(np.float64),
        "albumin_g_per_l": albumin,
        "albumin_g_per_l_late": albumin * ALBUMIN_RECOVERY_FACTOR,
        "creatinine_clearance_ml_per_min": _truncated_lognormal(u[:, 2], 19.0, 0.6, 5.0, 120.0),
        "creatinine_clearance_ml_per_min_late": _truncated_lognormal(u[:, 3], 71.0, 0.3, 15.0,
                                                                     150.0),
        "crcl_recovery_days": _truncated_lognormal(u[:, 4], 7.0, 0.5, 1.0, 60.0),
        "albumin_recovery_days": _truncated_lognormal(u[:, 5], 30.0, 0.5, 5.0, 180.0),
        "weight_kg": _truncated_lognormal(u[:, 6], 72.0, 0.2, 42.0, 113.0),
        "age_years": _truncated_normal(u[:, 7], 52.0, 13.0, 19.0, 76.0),
        "female": (u[:, 8] < 0.36).astype(np.float64),
        "etas": ndtri(np.clip(u[:, 9:], 1e-300, None)) @ np.linalg.cholesky(omega).T,
    }


def draw_patients(rng: np.random.Generator, n: int, **kwargs: object) -> dict[str, np.ndarray]:
    """``n`` patients: the rows of ``rng.random((n, N_UNIFORMS))`` (patient k is batch-free).

    Examples:
        >>> a = draw_patients(np.random.default_rng(3), 5)
        >>> b = draw_patients(np.random.default_rng(3), 2)
        >>> bool(np.array_equal(a["etas"][:2], b["etas"]))
        True
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng)!r}")
    if not (isinstance(n, (int, np.integer)) and n >= 0):
        raise ValueError(f"n must be an integer >= 0, got {n!r}")
    return patients_from_uniforms(rng.random((n, N_UNIFORMS)), **kwargs)  # type: ignore[arg-type]


def covariates_on_day(patients: Mapping[str, np.ndarray],
                      day: float | np.ndarray) -> dict[str, np.ndarray]:
    """Covariates on ``day`` after transplant (>= 0; scalar or (n,)): recovering CrCL, albumin.

    Returns the model's COVARIATE_NAMES plus ``weight_kg``, ``age_years``, ``female`` and
    ``day``, each (n,).

    Examples:
        >>> p = patients_from_uniforms(np.full((1, N_UNIFORMS), 0.5))
        >>> c = covariates_on_day(p, 7.0)
        >>> round(float(c["creatinine_clearance_ml_per_min"][0]), 1)
        51.8
    """
    n = np.asarray(patients["ciclosporin"]).shape[0]
    days = np.broadcast_to(np.asarray(day, dtype=np.float64), (n,))
    if not np.all(np.isfinite(days) & (days >= 0)):
        raise ValueError(f"day must be finite and >= 0, got {day!r}")

    def recover(name: str, tau: str) -> np.ndarray:
        late = patients[f"{name}_late"]
        return late + (patients[name] - late) * np.exp(-days / patients[tau])

    return {"albumin_g_per_l": recover("albumin_g_per_l", "albumin_recovery_days"),
            "creatinine_clearance_ml_per_min": recover("creatinine_clearance_ml_per_min",
                                                       "crcl_recovery_days"),
            "ciclosporin": np.asarray(patients["ciclosporin"], dtype=np.float64),
            "weight_kg": np.asarray(patients["weight_kg"], dtype=np.float64),
            "age_years": np.asarray(patients["age_years"], dtype=np.float64),
            "female": np.asarray(patients["female"], dtype=np.float64),
            "day": days.copy()}
