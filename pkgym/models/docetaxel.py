"""Docetaxel three-compartment population PK: Bruno et al. 1996.

Bruno R, Vivier N, Vergniol JC, De Phillips SL, Montay G, Sheiner LB. A population
pharmacokinetic model for docetaxel (Taxotere): model building and validation. J Pharmacokinet
Biopharm 1996;24(2):153-172. Three compartments, 1-h intravenous infusion::

    CL = BSA (36.8 - 4.6 AAG - 0.14 AGE) 0.58^HEP e^eta     L/h   (BSA m2, AAG g/L, AGE y)
    V1 = 7.4 L, Q2 = 7.84 L/h, V2 = 5.19 L, Q3 = 9.32 L/h, V3 = 111 L

Sources and choices (``docs/research/chemotherapy.md`` section 1; the paper's tables could
not be opened):

* **CL covariate equation**: as printed in the AAPS J 2012;14:119 review (Table I, citing
  Bruno); "0.58 HEP" read as a factor 0.58 with hepatic impairment (the label reports about
  27-42% lower CL). A later form with albumin exists; not found.
* **Volumes and distribution clearances**: Bruno's typical micro-constants as used to drive
  Friberg 2002 (``radivot/myelo``): V1 7.4 L, k12 1.06, k21 1.51, k13 1.26, k31 0.084 /h, taken
  as absolute values. After 100 mg/m2 at 1.8 m2 the typical patient (AAG 1.34 g/L, 60 y) has
  half-lives of 5 min, 33 min and 10.2 h, Cmax 3.5 mg/L and AUC 4.5 mg h/L (label: 4 min,
  36 min, 11.1 h, 3.7 mg/L, 4.6 mg h/L).
* **IIV**: 35% CV on CL (Rudek 2004: CL 42.8 +/- 14.9 L/h; the label reports about 50%):
  an assumed value; Bruno's omega was not found.
* **Published uncertainty**: no relative standard errors are recorded (field metadata
  ``"rse"``): Bruno's tables, and so its RSEs, could not be read, and the secondary sources
  above quote point estimates only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pkgym.populations.variability import BetweenSubjectVariability

BRUNO = "Bruno et al. 1996, J Pharmacokinet Biopharm 24:153"
COVARIATE_RANGES: dict[str, tuple[float, float]] = {
    "bsa_m2": (0.5, 3.5), "aag_g_per_l": (0.1, 5), "age_years": (0, 120),
    "hepatic_impairment": (0, 1)}
"""Covariates :meth:`Bruno1996.parameters` accepts. The docetaxel cohort schema's heights and
weights reach a Mosteller BSA of 4.0 m2 (230 cm, 250 kg): the env checks each patient's BSA
against this range too, naming that patient only."""
MOLAR_MASS_G_PER_MOL = 807.88
"""Docetaxel, C43H53NO14."""


def _p(value: float, unit: str, source: str = BRUNO) -> float:
    return field(default=value, metadata={"unit": unit, "source": source})


@dataclass(frozen=True, slots=True)
class DocetaxelPK:
    """Individual three-compartment parameters of n patients (all shape (n,))."""

    clearance_l_per_h: np.ndarray
    central_volume_l: np.ndarray
    q2_l_per_h: np.ndarray
    peripheral2_volume_l: np.ndarray
    q3_l_per_h: np.ndarray
    peripheral3_volume_l: np.ndarray


@dataclass(frozen=True, slots=True, kw_only=True)
class Bruno1996:
    """Population parameters of the docetaxel model (see the module docstring)."""

    clearance_intercept_l_per_h_per_m2: float = _p(36.8, "L/h/m2", f"{BRUNO} (AAPS J 2012)")
    clearance_aag_l_per_h_per_m2_per_g_l: float = _p(4.6, "L/h/m2 per g/L AAG")
    clearance_age_l_per_h_per_m2_per_y: float = _p(0.14, "L/h/m2 per year")
    hepatic_impairment_factor: float = _p(0.58, "-")
    central_volume_l: float = _p(7.4, "L", f"{BRUNO} (as used by Friberg 2002)")
    q2_l_per_h: float = _p(7.84, "L/h", f"{BRUNO} (k12 1.06/h x V1)")
    peripheral2_volume_l: float = _p(5.19, "L", f"{BRUNO} (Q2 / k21, k21 1.51/h)")
    q3_l_per_h: float = _p(9.32, "L/h", f"{BRUNO} (k13 1.26/h x V1)")
    peripheral3_volume_l: float = _p(111.0, "L", f"{BRUNO} (Q3 / k31, k31 0.084/h)")
    omega_clearance: float = _p(float(np.log1p(0.35**2)), "variance of log (35% CV)",
                                "assumed (Rudek 2004 CV 35%)")
    infusion_h: float = _p(1.0, "h", "docetaxel label: 1-h infusion")
    minimum_clearance_l_per_h: float = _p(1.0, "L/h", "floor of the linear covariate model")

    def __post_init__(self) -> None:
        """Every parameter finite and positive (the omega may be 0)."""
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0 or (value == 0 and name != "omega_clearance"):
                raise ValueError(f"Bruno1996.{name} must be finite and > 0, got {value}")

    @property
    def variability(self) -> BetweenSubjectVariability:
        """Log-normal IIV on CL."""
        return BetweenSubjectVariability(names=("CL",), omega=np.array([[self.omega_clearance]]))

    def parameters(self, bsa_m2: np.ndarray, aag_g_per_l: np.ndarray, age_years: np.ndarray,
                   hepatic_impairment: np.ndarray, eta_cl: np.ndarray | float = 0.0
                   ) -> DocetaxelPK:
        """Individual parameters from BSA (m2), AAG (g/L), age (y), hepatic impairment (0/1).

        Examples:
            >>> pk = Bruno1996().parameters(np.array([1.8]), np.array([1.2]), np.array([60.0]),
            ...                             np.array([0]))
            >>> pk.clearance_l_per_h.round(2).tolist()
            [41.18]
        """
        bsa, aag, age, hep = (np.asarray(x, dtype=np.float64) for x in (
            bsa_m2, aag_g_per_l, age_years, hepatic_impairment))
        for name, values in (("bsa_m2", bsa), ("aag_g_per_l", aag), ("age_years", age),
                             ("hepatic_impairment", hep)):
            low, high = COVARIATE_RANGES[name]
            bad = ~((values >= low) & (values <= high))  # NaN is bad too
            if np.any(bad):  # only the offending values, not other patients'
                raise ValueError(f"{name} must be in [{low}, {high}], got "
                                 f"{values[bad][:5].tolist()} (rows "
                                 f"{np.flatnonzero(bad)[:5].tolist()})")
        per_m2 = (self.clearance_intercept_l_per_h_per_m2
                  - self.clearance_aag_l_per_h_per_m2_per_g_l * aag
                  - self.clearance_age_l_per_h_per_m2_per_y * age)
        clearance = np.maximum(bsa * per_m2 * self.hepatic_impairment_factor ** hep,
                               self.minimum_clearance_l_per_h) * np.exp(eta_cl)
        ones = np.ones_like(clearance)
        return DocetaxelPK(clearance, self.central_volume_l * ones, self.q2_l_per_h * ones,
                           self.peripheral2_volume_l * ones, self.q3_l_per_h * ones,
                           self.peripheral3_volume_l * ones)
