"""Vancomycin two-compartment popPK in hospitalised adults: Goti et al. 2018.

Goti V, Chaturvedula A, Fossler MJ, Mok S, Jacob JT. Hospitalized patients with and without
hemodialysis have markedly different vancomycin pharmacokinetics: a population
pharmacokinetic model-based analysis. Ther Drug Monit 2018;40(2):212-221.

Final model (Table 2)::

    CL = 4.5 * (CrCL/120)^0.8 * 0.7^DIAL * exp(eta_CL)     L/h, CrCL capped at 150 mL/min
    V1 = 58.4 * (WT/70) * 0.5^DIAL * exp(eta_V1)           L
    Q  = 6.5                                               L/h
    V2 = 38.4 * exp(eta_V2)                                L
    C_obs = C * (1 + eps_prop) + eps_add,   SD 22.7 % and 3.4 mg/L

CrCL is Cockcroft-Gault (mL/min, not BSA-normalised) from total body weight; for patients
older than 60 years a serum creatinine below 1 mg/dL is raised to 1 before CrCL is computed
(Goti Methods).

Choices the paper leaves open, and what pkgym does:

* **V2 and weight.** Table 2 puts weight on V1 only; the Methods say volumes were
  "normalised to 70 kg". We follow Table 2 (no weight on V2), as do the InsightRX
  implementation (Tong et al. 2026, JAC-AMR dlag016, Table S1) and VancoSim (mrgsolve);
  ``scale_peripheral_volume_with_weight=True`` switches to the other reading.
* **Omega scale.** The printed %CV are turned into omega^2 = CV^2 (0.1584, 0.6659, 0.326),
  as the InsightRX control stream and VancoSim do, rather than log(1 + CV^2).
* **Weight in Cockcroft-Gault.** Total body weight (as in the InsightRX control stream).
* **Age threshold of the creatinine floor.** 60 years (a later erratum may say 65; not
  verified). ``elderly_creatinine_floor=False`` turns the floor off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from pkgym.populations.derived import cockcroft_gault_ml_per_min, cockcroft_gault_unchecked
from pkgym.populations.residual import ResidualError
from pkgym.populations.variability import BetweenSubjectVariability
from pkgym.sim.elementwise import FloatOrArray, elementwise, where
from pkgym.sim.modal import LinearPKParams, compartment_params
from pkgym.utils import check_finite, check_positive

GOTI = "Goti et al. 2018, Ther Drug Monit 40:212, Table 2"


def _p(value: float, unit: str, source: str = GOTI) -> float:
    return field(default=value, metadata={"unit": unit, "source": source})


class GotiConstants(NamedTuple):
    """What Goti's clearance needs, as compiled kernels read it (:attr:`Goti2018.constants`)."""

    clearance_l_per_h: float
    creatinine_clearance_exponent: float
    reference_creatinine_clearance_ml_per_min: float
    creatinine_clearance_cap_ml_per_min: float
    dialysis_clearance_factor: float
    elderly_creatinine_floor: bool


@elementwise
def goti_creatinine_clearance(goti: GotiConstants, age_years: FloatOrArray, weight_kg: FloatOrArray,
                              serum_creatinine_mg_per_dl: FloatOrArray,
                              is_female: FloatOrArray) -> FloatOrArray:
    """Cockcroft-Gault CrCL as Goti computed it (elderly SCr floor, cap), mL/min; unchecked.

    Elementwise (:mod:`pkgym.sim.elementwise`): the numpy model and the compiled ward kernel
    both call it. Patients older than 60 years have their creatinine raised to 1 mg/dL.

    Examples:
        >>> float(goti_creatinine_clearance(Goti2018().constants, 70.0, 70.0, 0.7, 0.0).round(2))
        68.06
    """
    scr = serum_creatinine_mg_per_dl
    if goti.elderly_creatinine_floor:
        scr = where(age_years > 60.0, np.maximum(scr, 1.0), scr)
    crcl = cockcroft_gault_unchecked(age_years, weight_kg, scr, is_female)
    return np.minimum(crcl, goti.creatinine_clearance_cap_ml_per_min)


@elementwise
def goti_clearance(goti: GotiConstants, creatinine_clearance_ml_per_min: FloatOrArray,
                   on_dialysis: FloatOrArray, eta: FloatOrArray) -> FloatOrArray:
    """Goti's vancomycin CL, L/h, from CrCL (mL/min, capped), dialysis (0/1) and eta_CL.

    ``CL = 4.5 * (min(CrCL, 150) / 120)^0.8 * 0.7^DIAL * exp(eta_CL)`` (Table 2); elementwise
    (:mod:`pkgym.sim.elementwise`), unchecked.

    Examples:
        >>> float(goti_clearance(Goti2018().constants, 80.0, 0.0, 0.0).round(3))
        3.253
    """
    crcl = np.minimum(creatinine_clearance_ml_per_min, goti.creatinine_clearance_cap_ml_per_min)
    renal = (crcl / goti.reference_creatinine_clearance_ml_per_min) ** \
        goti.creatinine_clearance_exponent
    return goti.clearance_l_per_h * renal * goti.dialysis_clearance_factor ** on_dialysis \
        * np.exp(eta)


@dataclass(frozen=True, slots=True, kw_only=True)
class Goti2018:
    """Population parameters of the Goti 2018 vancomycin model (see the module docstring)."""

    clearance_l_per_h: float = _p(4.5, "L/h")
    creatinine_clearance_exponent: float = _p(0.8, "-")
    reference_creatinine_clearance_ml_per_min: float = _p(120.0, "mL/min")
    creatinine_clearance_cap_ml_per_min: float = _p(150.0, "mL/min", "Goti 2018 Methods")
    dialysis_clearance_factor: float = _p(0.7, "-")
    central_volume_l: float = _p(58.4, "L (70 kg)")
    dialysis_central_volume_factor: float = _p(0.5, "-")
    intercompartmental_clearance_l_per_h: float = _p(6.5, "L/h")
    peripheral_volume_l: float = _p(38.4, "L")
    omega_clearance: float = _p(0.398**2, "variance of log (39.8% CV)")
    omega_central_volume: float = _p(0.816**2, "variance of log (81.6% CV)")
    omega_peripheral_volume: float = _p(0.571**2, "variance of log (57.1% CV)")
    proportional_error_sd: float = _p(0.227, "fraction")
    additive_error_sd_mg_per_l: float = _p(3.4, "mg/L")
    reference_weight_kg: float = _p(70.0, "kg")
    elderly_creatinine_floor: bool = True
    scale_peripheral_volume_with_weight: bool = False

    def __post_init__(self) -> None:
        """Every numeric parameter must be positive (omegas and error SDs non-negative)."""
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, bool):
                continue
            may_be_zero = name.startswith(("omega", "proportional", "additive"))
            low_ok = value >= 0 if may_be_zero else value > 0
            if not (np.isfinite(value) and low_ok):
                raise ValueError(f"Goti2018.{name} must be a finite positive number, got {value}")

    @property
    def variability(self) -> BetweenSubjectVariability:
        """Diagonal log-normal between-subject variability on (CL, V1, V2)."""
        return BetweenSubjectVariability(names=("CL", "V1", "V2"), omega=np.diag(
            [self.omega_clearance, self.omega_central_volume, self.omega_peripheral_volume]))

    @property
    def constants(self) -> GotiConstants:
        """The parameters :func:`goti_clearance` and compiled kernels read."""
        return GotiConstants(
            self.clearance_l_per_h, self.creatinine_clearance_exponent,
            self.reference_creatinine_clearance_ml_per_min,
            self.creatinine_clearance_cap_ml_per_min, self.dialysis_clearance_factor,
            self.elderly_creatinine_floor)

    @property
    def residual_error(self) -> ResidualError:
        """The combined proportional + additive assay error."""
        return ResidualError(additive_sd=self.additive_error_sd_mg_per_l,
                             proportional_sd=self.proportional_error_sd)

    def creatinine_clearance_ml_per_min(
        self, age_years: np.ndarray, weight_kg: np.ndarray, serum_creatinine_mg_per_dl: np.ndarray,
        is_female: np.ndarray,
    ) -> np.ndarray:
        """Cockcroft-Gault CrCL as Goti computed it (elderly SCr floor, cap at 150 mL/min).

        Examples:
            >>> float(Goti2018().creatinine_clearance_ml_per_min(70.0, 70.0, 0.7, 0).round(2))
            68.06
        """
        scr = check_positive("serum_creatinine_mg_per_dl", serum_creatinine_mg_per_dl)
        cockcroft_gault_ml_per_min(age_years, weight_kg, scr, is_female)  # validates the inputs
        return self.creatinine_clearance_unchecked(np.asarray(age_years), np.asarray(weight_kg),
                                                   scr, np.asarray(is_female))

    def creatinine_clearance_unchecked(self, age_years: np.ndarray, weight_kg: np.ndarray,
                                       serum_creatinine_mg_per_dl: np.ndarray,
                                       is_female: np.ndarray) -> np.ndarray:
        """:meth:`creatinine_clearance_ml_per_min` without input checks (for hot loops)."""
        return goti_creatinine_clearance(self.constants, age_years, weight_kg,
                                         serum_creatinine_mg_per_dl, is_female)

    def clearance(self, creatinine_clearance_ml_per_min: np.ndarray, on_dialysis: np.ndarray,
                  eta: np.ndarray | float = 0.0) -> np.ndarray:
        """Individual CL, L/h, from CrCL (mL/min, capped here too) and dialysis (0/1).

        Examples:
            >>> float(Goti2018().clearance(80.0, 0).round(3))
            3.253
        """
        crcl = check_positive("creatinine_clearance_ml_per_min", creatinine_clearance_ml_per_min)
        return self.clearance_unchecked(crcl, _flag("on_dialysis", on_dialysis), eta)

    def clearance_unchecked(self, creatinine_clearance_ml_per_min: np.ndarray,
                            on_dialysis: np.ndarray, eta: np.ndarray | float) -> np.ndarray:
        """:meth:`clearance` without input checks (for hot loops)."""
        return goti_clearance(self.constants, creatinine_clearance_ml_per_min, on_dialysis, eta)

    def linear_params(
        self, *, weight_kg: np.ndarray, on_dialysis: np.ndarray,
        creatinine_clearance_ml_per_min: np.ndarray, etas: np.ndarray | None = None,
    ) -> LinearPKParams:
        """Individual two-compartment parameters for n patients.

        Args:
            weight_kg: total body weight, kg, shape (n,).
            on_dialysis: intermittent haemodialysis, 0/1, shape (n,).
            creatinine_clearance_ml_per_min: CrCL, mL/min, shape (n,).
            etas: random effects on (CL, V1, V2), shape (n, 3); ``None`` for typical values.

        Examples:
            >>> p = Goti2018().linear_params(weight_kg=np.array([70.0]), on_dialysis=np.array([1]),
            ...                              creatinine_clearance_ml_per_min=np.array([10.0]))
            >>> p.clearance_l_per_h.round(3).tolist(), p.central_volume_l.tolist()
            ([0.431], [29.2])
        """
        weight = check_positive("weight_kg", weight_kg)
        dial = _flag("on_dialysis", on_dialysis)
        eta = np.zeros((weight.size, 3)) if etas is None else check_finite("etas", etas)
        if eta.shape != (weight.size, 3):
            raise ValueError(f"etas must have shape ({weight.size}, 3), got {eta.shape}")
        size = weight / self.reference_weight_kg
        v2_size = size if self.scale_peripheral_volume_with_weight else 1.0
        return compartment_params(
            self.clearance(creatinine_clearance_ml_per_min, dial, eta[:, 0]),
            self.central_volume_l * size * self.dialysis_central_volume_factor**dial
            * np.exp(eta[:, 1]),
            intercompartmental_clearance_l_per_h=(self.intercompartmental_clearance_l_per_h,),
            peripheral_volume_l=(self.peripheral_volume_l * v2_size * np.exp(eta[:, 2]),),
        )


def _flag(name: str, values: np.ndarray | float) -> np.ndarray:
    flags = check_finite(name, values)
    if not np.all(np.isin(flags, (0.0, 1.0))):
        raise ValueError(f"{name} must be 0 or 1, got {np.unique(flags)}")
    return flags
