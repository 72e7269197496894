"""Vancomycin two-compartment popPK across the life span: Colin et al. 2019 (pooled), adults.

Colin PJ, Allegaert K, Thomson AH, Touw DJ, Dolton M, de Hoog M, Roberts JA, Adane ED,
Yamamoto M, Santos-Buelga D, Martín-Suarez A, Simon N, Taccone FS, Lo YL, Barcia E, Struys
MMRF, Eleveld DJ. Vancomycin pharmacokinetics throughout life: results from a pooled population
analysis and evaluation of current dosing recommendations. Clin Pharmacokinet
2019;58(6):767-780 (14 studies, 2554 patients, neonates to elderly adults).

Final model (Table 3), as :class:`pkgym.models.vancomycin.TwoCompartmentVancomycin` writes it,
for adults without the study-specific terms::

    PMA  = age + 40/52                                   y (term birth)
    F(x; x50, h) = x^h / (x^h + x50^h)
    CL = 5.312 * (V1/42.52)^0.75 * F(PMA; 0.8932, 2.8864) / F(PMA_ref; ...)
               * F(PMA; 61.559, -2.241) / F(PMA_ref; ...)
               * exp(-0.64856 * (SCr - SCr_ref(PMA))) * exp(eta_CL)      L/h, PMA_ref = 35 y + 40 wk
    V1 = 42.52 * (WT/70) * exp(eta_V1)                   L
    V2 = 41.68 * (WT/70) * exp(eta_V2)                   L
    Q  = 3.222 * (V2/41.68)^0.75                         L/h
    SCr_ref(PMA) = exp(-1.22839 + 0.67190 log10(PMA) + 6.27017 exp(-3.10940 PMA))   mg/dL
    C_obs = C * (1 + eps_prop) + eps_add,   SD 21.45 % and 1.23 mg/L

``(V1/42.52)^0.75`` with the individual V1 is ``(WT/70)^0.75 * exp(0.75 eta_V1)``: the law's
``clearance_weight_exponent`` and ``clearance_central_volume_eta_exponent`` (both 0.75);
likewise Q scales with the individual V2 (``intercompartmental_peripheral_exponent``).
Clearance reads the measured serum creatinine and age directly (no Cockcroft-Gault).

Where the values come from, and how sure they are:

* **Fixed effects, covariate effects, omegas and residual error**: InsightRX's PKPDsim
  ``pk_vanco_colin.json5`` (v0.2.6), which cites Colin et al. 2019. VancoSim's mrgsolve
  implementation of the same paper (NONMEM estimates on the log scale: CL e^1.67, V1 e^3.75,
  V2 e^3.73, Q e^1.17, age50 e^4.12, PMA50 e^-0.113, Hill e^1.06 and -e^0.806, SCr effect
  e^-0.436) agrees to the printed rounding; its omegas (0.0749, 0.0721, 0.672) differ in the
  third digit from PKPDsim's (0.0746, 0.0716, 0.684); pkgym takes PKPDsim's. The paper's own
  Table 3 was not at hand, so nothing here is verified against it.
* **Additive error**: PKPDsim's 1.23 mg/L is the SD; VancoSim reads 1.23 as a variance
  (SD 1.109 mg/L). pkgym takes the SD 1.23 mg/L.
* **Standard errors**: not recorded (no ``"rse"`` metadata), so no parameter-uncertainty draws.

Choices the paper leaves open, and what pkgym does:

* **Study terms** (finger-prick sampling on V1 and Q, cancer on CL) are off: ward patients.
* **Dialysis.** Colin has no dialysis term: patients on intermittent haemodialysis get the CL
  their (high) creatinine gives. The creatinine factor is floored at 0.05 (CL >= 0.05 of the
  age- and size-adjusted value), pkgym's ``renal_factor_floor``, so CL stays positive.
* **IIV** is diagonal on CL, V1 and V2, as published; no IIV on Q.
"""

from __future__ import annotations

from dataclasses import dataclass

from pkgym.models.vancomycin import TwoCompartmentVancomycin, parameter

COLIN = ("Colin et al. 2019, Clin Pharmacokinet 58:767, Table 3, as InsightRX PKPDsim "
         "pk_vanco_colin (v0.2.6) carries it; paper table not verified")
PKGYM = "pkgym choice (module docstring)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Colin2019(TwoCompartmentVancomycin):
    """Population parameters of the Colin 2019 pooled vancomycin model (module docstring).

    Examples:
        >>> import numpy as np
        >>> model = Colin2019()
        >>> p = model.linear_params(weight_kg=np.array([70.0]), on_dialysis=np.array([0]),
        ...                         creatinine_clearance_ml_per_min=np.array([100.0]),
        ...                         age_years=np.array([35.0]),
        ...                         serum_creatinine_mg_per_dl=np.array([0.8314]))
        >>> p.clearance_l_per_h.round(3).tolist(), p.central_volume_l.tolist()
        ([5.312], [42.52])
    """

    clearance_l_per_h: float = parameter(5.312, "L/h (70 kg, 35 y, reference SCr)", COLIN)
    clearance_weight_exponent: float = parameter(0.75, "- (on V1/42.52)", COLIN)
    clearance_central_volume_eta_exponent: float = parameter(0.75, "- (on V1/42.52)", COLIN)
    creatinine_effect_per_mg_per_dl: float = parameter(0.64856, "1/(mg/dL)", COLIN)
    maturation_hill: float = parameter(2.8864, "-", COLIN)
    maturation_half_pma_years: float = parameter(0.8932, "y (postmenstrual)", COLIN)
    decline_hill: float = parameter(-2.241, "-", COLIN)
    decline_half_pma_years: float = parameter(61.559, "y (postmenstrual)", COLIN)
    reference_age_years: float = parameter(35.0, "y (PMA 35 y + 40 weeks)", COLIN)
    renal_factor_floor: float = parameter(0.05, "- (on the creatinine factor)", PKGYM)
    central_volume_l: float = parameter(42.52, "L (70 kg)", COLIN)
    intercompartmental_clearance_l_per_h: float = parameter(3.222, "L/h (V2 = 41.68 L)", COLIN)
    intercompartmental_peripheral_exponent: float = parameter(0.75, "- (on V2/41.68)", COLIN)
    peripheral_volume_l: float = parameter(41.68, "L (70 kg)", COLIN)
    omega_clearance: float = parameter(0.0746, "variance of log (27.3% CV)", COLIN)
    omega_central_volume: float = parameter(0.0716, "variance of log (26.8% CV)", COLIN)
    omega_peripheral_volume: float = parameter(0.684, "variance of log (82.7% CV)", COLIN)
    proportional_error_sd: float = parameter(0.2145, "fraction", COLIN)
    additive_error_sd_mg_per_l: float = parameter(1.23, "mg/L", COLIN)
    scale_peripheral_volume_with_weight: bool = True
