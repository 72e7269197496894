"""Vancomycin two-compartment popPK in adult inpatients: Thomson et al. 2009.

Thomson AH, Staatz CE, Tobin CM, Gall M, Lovering AM. Development and evaluation of
vancomycin dosage guidelines designed to achieve new target concentrations. J Antimicrob
Chemother 2009;63(5):1050-1057 (PMID 19299472).

Final model, as :class:`pkgym.models.vancomycin.TwoCompartmentVancomycin` writes it::

    CL = 2.99 * (1 + 0.0154 * (CrCL - 66)) * exp(eta_CL)   L/h, CrCL Cockcroft-Gault, mL/min
    V1 = 0.675 * WT * exp(eta_V1)                          L   (stored as 47.25 L per 70 kg)
    Q  = 2.28                                              L/h
    V2 = 0.732 * WT * exp(eta_V2)                          L   (stored as 51.24 L per 70 kg)
    C_obs = C * (1 + eps_prop) + eps_add,   SD 15 % and 1.6 mg/L

Where the values come from, and how sure they are:

* **Fixed effects** (CL, slope, 66 mL/min, V1, Q, V2): the paper's abstract and final model,
  identical in InsightRX's PKPDsim ``pk_vanco_thomson`` and PKPDposterior implementations.
* **Variability and residual error**: IIV CL 27 %, V1 15 %, Q 49 %, V2 130 % (omega^2 = CV^2:
  0.0729, 0.0225, 0.2401, 1.69), CL-V1 covariance 0.01, and the 15 % + 1.6 mg/L error, all as
  InsightRX's PKPDsim ``pk_vanco_thomson.json5`` (v0.2.7) carries them. The paper's own table
  was not at hand, so these are verified against that implementation only.
* **Standard errors**: not recorded (no ``"rse"`` metadata): the paper's table of estimates
  was not available to check whether and how it reports them.

Choices the paper leaves open, and what pkgym does:

* **IIV on Q** (49 %) is not simulated: pkgym's vancomycin patients carry etas on CL, V1 and
  V2 only, as Goti's model has; Q is the typical value for everyone.
* **CrCL** is Cockcroft-Gault from total body weight and the measured creatinine, with no
  elderly floor, capped at 150 mL/min (Goti's cap, so every model sees the same renal range;
  the linear law grows without bound above it).
* **Non-positive CL.** ``1 + 0.0154 * (CrCL - 66)`` reaches 0 at CrCL = 1.06 mL/min; the
  factor is floored at 0.05 (CL >= 0.15 L/h), pkgym's choice (``renal_factor_floor``).
* **Dialysis.** Thomson has no dialysis term: patients on intermittent haemodialysis get
  dialysis factors 1 on CL and V1 and the CrCL their (high) creatinine gives.
"""

from __future__ import annotations

from dataclasses import dataclass

from pkgym.models.vancomycin import TwoCompartmentVancomycin, parameter

THOMSON = "Thomson et al. 2009, J Antimicrob Chemother 63:1050, final model (abstract)"
PKPDSIM = ("Thomson et al. 2009 as InsightRX PKPDsim pk_vanco_thomson (v0.2.7) carries it; "
           "paper table not verified")
PKGYM = "pkgym choice (module docstring)"
REFERENCE_WEIGHT_KG = 70.0
"""The weight the per-kg volumes are stored at (V = per-kg value * 70 kg)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Thomson2009(TwoCompartmentVancomycin):
    """Population parameters of the Thomson 2009 vancomycin model (see the module docstring).

    Examples:
        >>> import numpy as np
        >>> model = Thomson2009()
        >>> round(float(model.clearance(80.0, 0)), 4)  # 2.99 * (1 + 0.0154 * 14)
        3.6346
        >>> p = model.linear_params(weight_kg=np.array([80.0]), on_dialysis=np.array([0]),
        ...                         creatinine_clearance_ml_per_min=np.array([66.0]))
        >>> p.clearance_l_per_h.tolist(), p.central_volume_l.round(6).tolist()
        ([2.99], [54.0])
    """

    clearance_l_per_h: float = parameter(2.99, "L/h (at CrCL 66 mL/min)", THOMSON)
    creatinine_clearance_exponent: float = parameter(0.0, "-", "no power term (Thomson)")
    reference_creatinine_clearance_ml_per_min: float = parameter(66.0, "mL/min", THOMSON)
    creatinine_clearance_cap_ml_per_min: float = parameter(150.0, "mL/min", PKGYM)
    creatinine_clearance_slope_per_ml_per_min: float = parameter(0.0154, "1/(mL/min)", THOMSON)
    linear_reference_creatinine_clearance_ml_per_min: float = parameter(66.0, "mL/min", THOMSON)
    renal_factor_floor: float = parameter(0.05, "-", PKGYM)
    central_volume_l: float = parameter(0.675 * REFERENCE_WEIGHT_KG, "L (70 kg; 0.675 L/kg)",
                                        THOMSON)
    intercompartmental_clearance_l_per_h: float = parameter(2.28, "L/h", THOMSON)
    peripheral_volume_l: float = parameter(0.732 * REFERENCE_WEIGHT_KG,
                                           "L (70 kg; 0.732 L/kg)", THOMSON)
    omega_clearance: float = parameter(0.0729, "variance of log (27% CV)", PKPDSIM)
    omega_central_volume: float = parameter(0.0225, "variance of log (15% CV)", PKPDSIM)
    omega_peripheral_volume: float = parameter(1.69, "variance of log (130% CV)", PKPDSIM)
    omega_clearance_central_volume: float = parameter(0.01, "covariance of log", PKPDSIM)
    proportional_error_sd: float = parameter(0.15, "fraction", PKPDSIM)
    additive_error_sd_mg_per_l: float = parameter(1.6, "mg/L", PKPDSIM)
    reference_weight_kg: float = parameter(REFERENCE_WEIGHT_KG, "kg", PKGYM)
    scale_peripheral_volume_with_weight: bool = True
