"""The standard (no EHC) MPA model: two compartments, first-order absorption (Staatz 2005).

Staatz CE, Duffull SB, Kiberd B, Fraser AD, Tett SE. Population pharmacokinetics of
mycophenolic acid during the first week after renal transplantation. Eur J Clin Pharmacol
2005;61:507-516. Values as summarised in Sherwin CMT et al. 2011, Clin Pharmacokinet
50:1-24, Table II (author manuscript PMC5565486); the primary paper was not seen::

    CL/F 34.9 L/h, V1/F 65 L, Q/F 30.7 L/h, V2/F 496 L, ka 0.64 /h
    BSV (CV): CL 32 %, Q 78 %, ka 109 % (log-normal); BOV on CL 35 % (not modelled here)
    residual error: proportional 41 %

Sherwin lists CL/F as "34.9 / 25.4 L/h"; the second value is taken to be a covariate-
adjusted one (the paper has albumin and ciclosporin dose on CL; the forms were not
available), so this module uses the typical 34.9 L/h with no covariates. No lag appears
in the row, so none is used. Whether the paper's doses were MMF or MPA-equivalent mg is
not verified: the dose here is MMF mg (apparent CL/F absorbs the conversion); for the
other reading multiply doses by ``MPA_EQUIVALENT`` (320.3/433.5).

The model is linear: :func:`two_compartment_oral` superposes the exact bi-exponential
response of each dose (modal solution), and the steady-state AUC over an interval is
exactly ``dose / CL``. This is the misspecified prior of the EHC comparison: it has no
gallbladder, so no secondary peak.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from pkgym.populations.residual import ResidualError
from pkgym.utils import check_finite, check_non_negative

STAATZ = "Staatz et al. 2005, Eur J Clin Pharmacol 61:507, via Sherwin 2011 Table II"
STANDARD_PARAM_NAMES = ("ka_per_h", "cl_l_per_h", "v1_l", "q_l_per_h", "v2_l")
STANDARD_ETA_NAMES = ("ka", "cl", "q")
MPA_EQUIVALENT = 320.3 / 433.5
"""mg MPA per mg MMF (molar masses 320.3 and 433.5 g/mol)."""


def _parameter(value: float, unit: str, source: str = STAATZ) -> Any:
    return field(default=value, metadata={"unit": unit, "source": source})


@dataclass(frozen=True, slots=True, kw_only=True)
class Staatz2005:
    """Population parameters of the two-compartment MPA model (module docstring)."""

    ka_per_h: float = _parameter(0.64, "1/h")
    cl_l_per_h: float = _parameter(34.9, "L/h (/F)")
    v1_l: float = _parameter(65.0, "L (/F)")
    q_l_per_h: float = _parameter(30.7, "L/h (/F)")
    v2_l: float = _parameter(496.0, "L (/F)")
    omega_ka: float = _parameter(float(np.log1p(1.09**2)), "variance of log (109 % CV)")
    omega_cl: float = _parameter(float(np.log1p(0.32**2)), "variance of log (32 % CV)")
    omega_q: float = _parameter(float(np.log1p(0.78**2)), "variance of log (78 % CV)")
    proportional_error_sd: float = _parameter(0.41, "fraction")

    def __post_init__(self) -> None:
        """Every value finite and > 0 (omegas >= 0)."""
        for f in fields(self):
            value = getattr(self, f.name)
            ok = value >= 0 if f.name.startswith("omega") else value > 0
            if not (np.isfinite(value) and ok):
                raise ValueError(f"Staatz2005.{f.name} must be finite and > 0 (omegas >= 0), "
                                 f"got {value}")

    @property
    def omega(self) -> np.ndarray:
        """Diagonal (3, 3) covariance of the etas on (ka, CL, Q)."""
        return np.diag([self.omega_ka, self.omega_cl, self.omega_q])

    @property
    def residual_error(self) -> ResidualError:
        """Proportional 41 % (Sherwin Table II)."""
        return ResidualError(proportional_sd=self.proportional_error_sd)

    def params(self, etas: np.ndarray | None = None, n: int = 1) -> np.ndarray:
        """Individual parameters (n, 5) in STANDARD_PARAM_NAMES order; etas (n, 3) or None.

        Examples:
            >>> Staatz2005().params().tolist()
            [[0.64, 34.9, 65.0, 30.7, 496.0]]
        """
        eta = np.zeros((n, 3)) if etas is None else check_finite("etas", etas)
        if eta.ndim != 2 or eta.shape[1] != 3:
            raise ValueError(f"etas must have shape (n, 3), got {eta.shape}")
        e = np.exp(eta)
        out = np.empty((eta.shape[0], 5))
        out[:, 0], out[:, 1], out[:, 2] = self.ka_per_h * e[:, 0], self.cl_l_per_h * e[:, 1], \
            self.v1_l
        out[:, 3], out[:, 4] = self.q_l_per_h * e[:, 2], self.v2_l
        return out


def _check_params(params: np.ndarray) -> np.ndarray:
    p = check_finite("params", params)
    if p.ndim != 2 or p.shape[1] != 5 or np.any(p <= 0):
        raise ValueError(f"params must have shape (n, 5) and be > 0, got shape {p.shape}")
    return p


def _unit_response(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Central concentration (1/L) after a unit oral dose at 0 (0 before it); (n, m).

    ``ka / V1 * sum_i c_i (exp(-lambda_i t) - exp(-ka t)) / (ka - lambda_i)`` over the two
    disposition modes, ``c_alpha = (k21 - alpha) / (beta - alpha)`` and
    ``c_beta = (k21 - beta) / (alpha - beta)`` (the textbook three-exponential form, with
    the absorption term folded into each mode so that ``ka`` equal or close to a mode, and
    large rates or times, stay finite).
    """
    ka, cl, v1, q, v2 = (p[:, j : j + 1] for j in range(5))
    k10, k12, k21 = cl / v1, q / v1, q / v2
    s, d = k10 + k12 + k21, k10 * k21
    root = np.sqrt(s * s - 4.0 * d)  # > 0: (k10 - k21)^2 + k12^2 + 2 k12 (k10 + k21)
    alpha, beta = (s + root) / 2.0, (s - root) / 2.0
    after = np.maximum(t, 0.0)
    terms = ((k21 - alpha) / (beta - alpha) * _absorbed(alpha, ka, after)
             + (k21 - beta) / (alpha - beta) * _absorbed(beta, ka, after))
    return np.where(t >= 0.0, ka / v1 * terms, 0.0)


def _absorbed(rate: np.ndarray, ka: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``(exp(-rate t) - exp(-ka t)) / (ka - rate)`` for t >= 0, stable for any two rates."""
    x = np.abs(ka - rate) * t
    ratio = np.where(x > 0.0, -np.expm1(-x) / np.where(x > 0.0, x, 1.0), 1.0)
    return t * np.exp(-np.minimum(rate, ka) * t) * ratio


def two_compartment_oral(params: np.ndarray, doses_mg: np.ndarray, interval_h: float,
                         times_h: np.ndarray) -> np.ndarray:
    """Exact total MPA, mg/L, at ``times_h`` (n, s) after doses (n, k) at ``j * interval_h``.

    Doses in MMF mg (module docstring). Finite for any positive parameters, ``ka`` equal to a
    disposition rate included (a MAP fit's trial points reach such values).

    Examples:
        >>> c = two_compartment_oral(Staatz2005().params(), np.array([[1000.0]]), 12.0,
        ...                          np.array([[0.0, 2.0]]))
        >>> c.round(2).tolist()
        [[0.0, 3.98]]
    """
    p = _check_params(params)
    d = check_non_negative("doses_mg", doses_mg)
    t = check_finite("times_h", times_h)
    if d.ndim != 2 or d.shape[0] != p.shape[0] or t.ndim != 2 or t.shape[0] != p.shape[0]:
        raise ValueError(f"doses_mg and times_h must have shape ({p.shape[0]}, k) and "
                         f"({p.shape[0]}, s), got {d.shape} and {t.shape}")
    if not (np.isfinite(interval_h) and interval_h > 0):
        raise ValueError(f"interval_h must be finite and > 0, got {interval_h}")
    conc = np.zeros(t.shape)
    for j in range(d.shape[1]):
        conc += d[:, j : j + 1] * _unit_response(p, t - j * interval_h)
    return conc


def two_compartment_auc(params: np.ndarray, dose_mg: np.ndarray) -> np.ndarray:
    """Steady-state AUC over one interval, mg*h/L: exactly ``dose / CL`` (any interval).

    Examples:
        >>> two_compartment_auc(Staatz2005().params(), np.array([1000.0])).round(2).tolist()
        [28.65]
    """
    p = _check_params(params)
    d = check_non_negative("dose_mg", dose_mg)
    if d.shape != (p.shape[0],):
        raise ValueError(f"dose_mg must have shape ({p.shape[0]},), got {d.shape}")
    return d / p[:, 1]
