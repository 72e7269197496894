"""Semi-mechanistic myelosuppression: the Friberg et al. 2002 model with docetaxel parameters.

Friberg LE, Henningsson A, Maas H, Nguyen L, Karlsson MO. Model of chemotherapy-induced
myelosuppression with parameter consistency across drugs. J Clin Oncol 2002;20:4713-4721::

    dProl/dt = ktr Prol (1 - E) (Circ0 / Circ)^gamma - ktr Prol
    dT1/dt = ktr (Prol - T1),  dT2/dt = ktr (T1 - T2),  dT3/dt = ktr (T2 - T3)
    dCirc/dt = ktr (T3 - Circ),   ktr = 4 / MTT,   E = Slope C (C in umol/L)

All compartments start at Circ0 (steady state). Docetaxel neutrophil parameters
(:class:`FribergDocetaxel`): the Kloft et al. 2006 estimates (Clin Cancer Res 12:5481, as
reused unchanged by Netterberg 2017 and coded in DDMORE DDMODEL00000224 / nlmixr2lib):
Circ0 5.22 x10^9/L, MTT 84.2 h, Slope 15.57 L/umol, gamma 0.1445, omega^2 0.064 (Circ0), 0.0192
(MTT), 0.128 (Slope); log-additive residual SD 0.424; Circ0 12.1% lower in women and changing
with AAG (+0.175 per g/L below 1.34 g/L, +0.495 per g/L above), Slope -0.351 per g/L AAG about
1.34 g/L. With Bruno's PK the typical patient's nadir falls on day 8 (label: median day 7) and
is 0.49 (75 mg/m2) or 0.25 x10^9/L (100 mg/m2); across the population 72% reach grade 4 at
100 mg/m2 (label: 75% of patients < 0.5 x10^9/L).
Friberg 2002's own docetaxel values (Circ0 5.05, MTT 88.7 h, Slope 8.58 L/umol, gamma 0.161)
give a typical nadir of only 0.9 x10^9/L at 100 mg/m2; ``friberg2002_docetaxel()`` returns
them for comparison. The ECOG and prior-therapy covariates of Kloft are not modelled.

**Emax drug effect** (:class:`Friberg2002DocetaxelEmax`): ``E = Emax C / (EC50 + C)`` in place
of ``Slope C``, with Friberg 2002's docetaxel Emax-model estimates (Table 4, neutrophils, as
transcribed by Norris's DTAT R package, ``myelo.params``/``Onoue.Friberg``; the paper itself
could not be opened here): Circ0 5.05 x10^9/L, MTT 89.3 h, gamma 0.163, Emax 83.9,
EC50 7.17 umol/L. Emax far above 1 makes the effect nearly linear at clinical concentrations
(initial slope Emax/EC50 = 11.7 L/umol, between Friberg's linear 8.58 and Kloft's 15.57); it
saturates only well above docetaxel's Cmax (about 4 umol/L). No covariates (Friberg's model
had none).

**Published uncertainty** (field metadata ``"rse"``): none is recorded. Kloft 2006's table of
estimates could not be read; the DDMORE bundle (DDMODEL00000224) and nlmixr2lib carry only
the point estimates (and note an omega of 0.0216 on gamma in the paper, fixed to 0 there and
here). The spreads DTAT lists beside Friberg 2002's Emax estimates (Circ0 42%, MTT 16%,
gamma 3.9%, Emax 33%, EC50 50%) are labelled "CV" and are used here as IIV; whether the table
reports them as IIV or as RSE could not be checked, so they are not recorded as RSEs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pkgym.models.docetaxel import MOLAR_MASS_G_PER_MOL
from pkgym.populations.variability import BetweenSubjectVariability

KLOFT = "Kloft et al. 2006, Clin Cancer Res 12:5481 (DDMODEL00000224)"
FRIBERG = "Friberg et al. 2002, J Clin Oncol 20:4713"
FRIBERG_EMAX = f"{FRIBERG}, Table 4, docetaxel (via DTAT myelo.params)"
N_TRANSIT = 3
"""Transit compartments between proliferating and circulating cells."""
REFERENCE_AAG_G_PER_L = 1.34


def _p(value: float, unit: str, source: str = KLOFT) -> float:
    return field(default=value, metadata={"unit": unit, "source": source})


@dataclass(frozen=True, slots=True)
class MyelosuppressionParams:
    """Individual Friberg parameters of n patients (all (n,))."""

    circ0_1e9_per_l: np.ndarray
    mtt_h: np.ndarray
    slope_l_per_mg: np.ndarray  # linear effect; under Emax its initial slope Emax / EC50
    gamma: np.ndarray
    emax: np.ndarray | None = None  # None: the linear effect E = Slope C
    ec50_mg_per_l: np.ndarray | None = None

    @property
    def ktr_per_h(self) -> np.ndarray:
        """Transit rate constant, (n_transit + 1) / MTT, 1/h."""
        return (N_TRANSIT + 1) / self.mtt_h


@dataclass(frozen=True, slots=True, kw_only=True)
class FribergDocetaxel:
    """Friberg model with docetaxel neutrophil parameters (see the module docstring)."""

    circ0_1e9_per_l: float = _p(5.22, "1e9/L")
    mtt_h: float = _p(84.2, "h")
    slope_l_per_umol: float = _p(15.57, "L/umol")
    gamma: float = _p(0.1445, "-")
    female_circ0_effect: float = _p(-0.121, "fraction")
    aag_circ0_below: float = _p(0.175, "per g/L below 1.34 g/L")
    aag_circ0_above: float = _p(0.495, "per g/L above 1.34 g/L")
    aag_slope: float = _p(-0.351, "per g/L about 1.34 g/L")
    omega_circ0: float = _p(0.064, "variance of log")
    omega_mtt: float = _p(0.0192, "variance of log")
    omega_slope: float = _p(0.128, "variance of log")
    residual_log_sd: float = _p(0.424, "SD of log ANC")

    def __post_init__(self) -> None:
        """Positive system parameters, non-negative omegas."""
        for name in ("circ0_1e9_per_l", "mtt_h", "slope_l_per_umol", "gamma"):
            if not np.isfinite(getattr(self, name)) or getattr(self, name) <= 0:
                raise ValueError(f"FribergDocetaxel.{name} must be > 0, got {getattr(self, name)}")
        for name in ("omega_circ0", "omega_mtt", "omega_slope", "residual_log_sd"):
            if not np.isfinite(getattr(self, name)) or getattr(self, name) < 0:
                raise ValueError(f"FribergDocetaxel.{name} must be >= 0")

    @property
    def variability(self) -> BetweenSubjectVariability:
        """Diagonal log-normal IIV on Circ0, MTT and Slope."""
        return BetweenSubjectVariability(names=("CIRC0", "MTT", "SLOPE"), omega=np.diag(
            [self.omega_circ0, self.omega_mtt, self.omega_slope]))

    def parameters(self, is_female: np.ndarray, aag_g_per_l: np.ndarray,
                   etas: np.ndarray | None = None) -> MyelosuppressionParams:
        """Individual parameters (etas (n, 3) on Circ0, MTT, Slope; ``None`` for typical).

        Examples:
            >>> p = FribergDocetaxel().parameters(np.array([0]), np.array([1.34]))
            >>> p.circ0_1e9_per_l.tolist(), p.slope_l_per_mg.round(3).tolist()
            ([5.22], [19.273])
        """
        female = np.asarray(is_female, dtype=np.float64)
        aag = np.asarray(aag_g_per_l, dtype=np.float64)
        eta = np.zeros((female.size, 3)) if etas is None else np.asarray(etas, np.float64)
        if eta.shape != (female.size, 3) or not np.all(np.isfinite(eta)):
            raise ValueError(f"etas must be finite with shape ({female.size}, 3), got {eta.shape}")
        delta = aag - REFERENCE_AAG_G_PER_L
        aag_effect = 1.0 + np.where(delta < 0, self.aag_circ0_below, self.aag_circ0_above) * delta
        circ0 = (self.circ0_1e9_per_l * (1 + self.female_circ0_effect * female) * aag_effect
                 * np.exp(eta[:, 0]))
        slope_per_mg = self.slope_l_per_umol * 1000.0 / MOLAR_MASS_G_PER_MOL
        slope = slope_per_mg * np.maximum(1 + self.aag_slope * delta, 0.05) * np.exp(eta[:, 2])
        return MyelosuppressionParams(circ0, self.mtt_h * np.exp(eta[:, 1]), slope,
                                      np.full(female.size, self.gamma))


def _log_cv(cv: float) -> float:
    return float(np.log1p(cv**2))


@dataclass(frozen=True, slots=True, kw_only=True)
class Friberg2002DocetaxelEmax:
    """Friberg model with an Emax drug effect, Friberg 2002's docetaxel estimates (module doc).

    The third random effect (named ``SLOPE``, as the linear model's, so that cohorts, pinned
    patients and MAP estimates keep one schema) scales the potency the same way: a patient
    with eta has ``EC50 exp(-eta)``, so the initial slope Emax/EC50 grows by ``exp(eta)``.
    """

    circ0_1e9_per_l: float = _p(5.05, "1e9/L", FRIBERG_EMAX)
    mtt_h: float = _p(89.3, "h", FRIBERG_EMAX)
    gamma: float = _p(0.163, "-", FRIBERG_EMAX)
    emax: float = _p(83.9, "-", FRIBERG_EMAX)
    ec50_umol_per_l: float = _p(7.17, "umol/L", FRIBERG_EMAX)
    omega_circ0: float = _p(_log_cv(0.42), "variance of log (42% CV)", FRIBERG_EMAX)
    omega_mtt: float = _p(_log_cv(0.16), "variance of log (16% CV)", FRIBERG_EMAX)
    omega_ec50: float = _p(_log_cv(0.50), "variance of log (50% CV)", FRIBERG_EMAX)
    residual_log_sd: float = _p(0.424, "SD of log ANC", f"{KLOFT} (Friberg 2002's not found)")

    def __post_init__(self) -> None:
        """Positive system and drug parameters, non-negative omegas."""
        for name in ("circ0_1e9_per_l", "mtt_h", "gamma", "emax", "ec50_umol_per_l"):
            value = getattr(self, name)
            if not np.isfinite(value) or value <= 0:
                raise ValueError(f"Friberg2002DocetaxelEmax.{name} must be > 0, got {value}")
        for name in ("omega_circ0", "omega_mtt", "omega_ec50", "residual_log_sd"):
            if not np.isfinite(getattr(self, name)) or getattr(self, name) < 0:
                raise ValueError(f"Friberg2002DocetaxelEmax.{name} must be >= 0")

    @property
    def variability(self) -> BetweenSubjectVariability:
        """Diagonal log-normal IIV on Circ0, MTT and the potency (named SLOPE, see above)."""
        return BetweenSubjectVariability(names=("CIRC0", "MTT", "SLOPE"), omega=np.diag(
            [self.omega_circ0, self.omega_mtt, self.omega_ec50]))

    def parameters(self, is_female: np.ndarray, aag_g_per_l: np.ndarray,
                   etas: np.ndarray | None = None) -> MyelosuppressionParams:
        """Individual parameters (etas (n, 3); sex and AAG are accepted and unused).

        Examples:
            >>> p = Friberg2002DocetaxelEmax().parameters(np.array([0]), np.array([1.34]))
            >>> p.emax.tolist(), p.ec50_mg_per_l.round(3).tolist()
            ([83.9], [5.792])
        """
        n = np.asarray(is_female).size
        eta = np.zeros((n, 3)) if etas is None else np.asarray(etas, np.float64)
        if eta.shape != (n, 3) or not np.all(np.isfinite(eta)):
            raise ValueError(f"etas must be finite with shape ({n}, 3), got {eta.shape}")
        ec50 = self.ec50_umol_per_l * MOLAR_MASS_G_PER_MOL / 1000.0 * np.exp(-eta[:, 2])
        emax = np.full(n, self.emax)
        return MyelosuppressionParams(self.circ0_1e9_per_l * np.exp(eta[:, 0]),
                                      self.mtt_h * np.exp(eta[:, 1]), emax / ec50,
                                      np.full(n, self.gamma), emax, ec50)


MyelosuppressionModel = FribergDocetaxel | Friberg2002DocetaxelEmax
"""Either myelosuppression truth (a scenario names it; see ``ChemotherapyScenario``)."""


def friberg2002_docetaxel() -> FribergDocetaxel:
    """Friberg 2002's own docetaxel estimates (linear effect; no covariates), for comparison.

    Examples:
        >>> friberg2002_docetaxel().mtt_h
        88.7
    """
    return FribergDocetaxel(circ0_1e9_per_l=5.05, mtt_h=88.7, slope_l_per_umol=8.58, gamma=0.161,
                            female_circ0_effect=0.0, aag_circ0_below=0.0, aag_circ0_above=0.0,
                            aag_slope=0.0)


def neutropenia_grade(anc_1e9_per_l: np.ndarray) -> np.ndarray:
    """CTCAE v5 neutrophil count decreased grade: 0 (>= 2.0 ... LLN), 1-4 (< 1.5, 1.0, 0.5).

    Grade 1 is LLN to 1.5 x10^9/L; pkgym takes LLN = 2.0 x10^9/L.

    Examples:
        >>> neutropenia_grade(np.array([5.0, 1.8, 1.2, 0.7, 0.3])).tolist()
        [0, 1, 2, 3, 4]
    """
    anc = np.asarray(anc_1e9_per_l, dtype=np.float64)
    if np.any(np.isnan(anc)) or np.any(anc < 0):
        raise ValueError("anc_1e9_per_l must be >= 0 and not NaN")
    return np.searchsorted(-np.array([2.0, 1.5, 1.0, 0.5]), -anc, side="left").astype(np.int64)
