# lines: the shared vancomycin covariate law (Goti, Thomson, Colin) and its compiled parts
"""Vancomycin two-compartment popPK in hospitalised adults: Goti et al. 2018, and the law it shares.

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

**The shared law.** Goti's model is one instance of :class:`TwoCompartmentVancomycin`, the
covariate law every adult two-compartment vancomycin model in pkgym follows (the others:
:mod:`pkgym.models.vancomycin_thomson2009`)::

    c  = min(CrCL, cap)
    CL = theta_CL * (c/ref)^exponent * max(1 + slope*(c - ref_linear), floor)
         * (WT/ref_wt)^cl_weight_exponent * dial_factor^DIAL * exp(eta_CL)
    V1 = theta_V1 * (WT/ref_wt) * dial_v1_factor^DIAL * exp(eta_V1)
    V2 = theta_V2 [* (WT/ref_wt)] * exp(eta_V2),   Q = theta_Q

Goti sets ``slope = 0`` and ``cl_weight_exponent = 0``: the extra factors are exactly 1.0 and
Goti's clearance is bit for bit what it was before the law was generalised.

Choices the paper leaves open, and what pkgym does:

* **V2 and weight.** Table 2 puts weight on V1 only; the Methods say volumes were
  "normalised to 70 kg". We follow Table 2 (no weight on V2), as do the InsightRX
  implementation (Tong et al. 2026, JAC-AMR dlag016, Table S1) and VancoSim (mrgsolve);
  ``scale_peripheral_volume_with_weight=True`` switches to the other reading (nlmixr2lib's
  ``Goti_2018_vancomycin`` reads it so).
* **Omega scale.** The printed %CV are turned into omega^2 = CV^2 (0.1584, 0.6659, 0.326),
  as the InsightRX control stream and VancoSim do, rather than log(1 + CV^2).
* **Weight in Cockcroft-Gault.** Total body weight (as in the InsightRX control stream).
* **Age threshold of the creatinine floor.** 60 years (the erratum, Ther Drug Monit 2019,
  PMID 31306395, says 65 according to InsightRX's PKPDsim notes; not verified here).
  ``elderly_creatinine_floor=False`` turns the floor off.
* **Standard errors.** Table 2 prints an RSE% beside each estimate, but the table itself was
  not available to this implementation and no secondary source reproduces the RSE column, so
  no ``"rse"`` metadata is recorded for Goti yet (add them from Table 2 when it is at hand).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from pkgym.populations.derived import cockcroft_gault_ml_per_min, cockcroft_gault_unchecked
from pkgym.populations.residual import ResidualError
from pkgym.populations.variability import BetweenSubjectVariability
from pkgym.sim.elementwise import FloatOrArray, elementwise, where
from pkgym.sim.modal import LinearPKParams, compartment_params
from pkgym.utils import check_finite, check_positive

GOTI = "Goti et al. 2018, Ther Drug Monit 40:212, Table 2"
LAW = "pkgym covariate law (neutral value: the factor is exactly 1)"


def parameter(value: float, unit: str, source: str, **metadata: Any) -> Any:
    """A dataclass field holding a published value with its unit and source (and ``rse``)."""
    return field(default=value, metadata={"unit": unit, "source": source, **metadata})


class ClearanceLaw(NamedTuple):
    """What the shared clearance law needs, as compiled kernels read it.

    Built by :attr:`TwoCompartmentVancomycin.constants`.
    """

    clearance_l_per_h: float
    creatinine_clearance_exponent: float
    reference_creatinine_clearance_ml_per_min: float
    creatinine_clearance_cap_ml_per_min: float
    dialysis_clearance_factor: float
    elderly_creatinine_floor: bool
    creatinine_clearance_slope_per_ml_per_min: float
    linear_reference_creatinine_clearance_ml_per_min: float
    renal_factor_floor: float
    clearance_weight_exponent: float
    reference_weight_kg: float
    creatinine_effect_per_mg_per_dl: float
    maturation_hill: float
    maturation_half_pma_years: float
    decline_hill: float
    decline_half_pma_years: float
    reference_age_years: float
    gestation_years: float
    clearance_central_volume_eta_exponent: float


@elementwise
def reference_creatinine_mg_per_dl(postmenstrual_age_years: FloatOrArray) -> FloatOrArray:
    """Typical serum creatinine, mg/dL, at a postmenstrual age (years): Colin 2019's curve.

    ``exp(-1.22839 + 0.67190 log10(PMA) + 6.27017 exp(-3.10940 PMA))`` (Colin et al. 2019,
    Clin Pharmacokinet 58:767, after Ceriotti et al. 2008); elementwise, unchecked.

    Examples:
        >>> round(float(reference_creatinine_mg_per_dl(35.0 + 40.0 / 52.0)), 4)
        0.8314
    """
    pma = postmenstrual_age_years
    return np.exp(-1.22839 + 0.67190 * np.log10(pma) + 6.27017 * np.exp(-3.10940 * pma))


@elementwise
def _hill(x: FloatOrArray, half: FloatOrArray, hill: FloatOrArray) -> FloatOrArray:
    """``x^h / (x^h + half^h)``: exactly 0.5 when ``h = 0``."""
    return x**hill / (x**hill + half**hill)


@elementwise
def vancomycin_age_creatinine_factor(law: ClearanceLaw, age_years: FloatOrArray,
                                     serum_creatinine_mg_per_dl: FloatOrArray,
                                     eta_central_volume: FloatOrArray) -> FloatOrArray:
    """The law's age, creatinine and V1-size factor on CL (Colin 2019); exactly 1.0 if unused.

    ``Fmat(PMA)/Fmat(PMA_ref) * Fdec(PMA)/Fdec(PMA_ref)
    * max(exp(-k (SCr - SCr_ref(PMA))), floor) * exp(e * eta_V1)`` with PMA = age + gestation,
    ``F(x) = x^h / (x^h + x50^h)`` (module docstring). With ``h = 0``, ``k = 0`` and ``e = 0``
    (every law but Colin's) each factor is exactly 1.0. Elementwise, unchecked.

    Examples:
        >>> law = Goti2018().constants
        >>> float(vancomycin_age_creatinine_factor(law, 80.0, 3.0, 0.4))
        1.0
    """
    if law.maturation_hill == 0.0 and law.decline_hill == 0.0 \
            and law.creatinine_effect_per_mg_per_dl == 0.0 \
            and law.clearance_central_volume_eta_exponent == 0.0:
        return 1.0  # a law without Colin's terms (Goti, Thomson): nothing to compute
    pma = age_years + law.gestation_years
    reference = law.reference_age_years + law.gestation_years
    maturation = _hill(pma, law.maturation_half_pma_years, law.maturation_hill) \
        / _hill(reference, law.maturation_half_pma_years, law.maturation_hill)
    decline = _hill(pma, law.decline_half_pma_years, law.decline_hill) \
        / _hill(reference, law.decline_half_pma_years, law.decline_hill)
    creatinine = np.maximum(np.exp(-law.creatinine_effect_per_mg_per_dl * (
        serum_creatinine_mg_per_dl - reference_creatinine_mg_per_dl(pma))),
        law.renal_factor_floor)
    return maturation * decline * creatinine \
        * np.exp(law.clearance_central_volume_eta_exponent * eta_central_volume)


@elementwise
def vancomycin_creatinine_clearance(law: ClearanceLaw, age_years: FloatOrArray,
                                    weight_kg: FloatOrArray,
                                    serum_creatinine_mg_per_dl: FloatOrArray,
                                    is_female: FloatOrArray) -> FloatOrArray:
    """Cockcroft-Gault CrCL as the model computes it (elderly SCr floor if set, cap), mL/min.

    Elementwise (:mod:`pkgym.sim.elementwise`): the numpy model and the compiled ward kernel
    both call it; unchecked. With ``elderly_creatinine_floor`` (Goti), patients older than 60
    years have their creatinine raised to 1 mg/dL.

    Examples:
        >>> law = Goti2018().constants
        >>> float(vancomycin_creatinine_clearance(law, 70.0, 70.0, 0.7, 0.0).round(2))
        68.06
    """
    scr = serum_creatinine_mg_per_dl
    if law.elderly_creatinine_floor:
        scr = where(age_years > 60.0, np.maximum(scr, 1.0), scr)
    crcl = cockcroft_gault_unchecked(age_years, weight_kg, scr, is_female)
    return np.minimum(crcl, law.creatinine_clearance_cap_ml_per_min)


@elementwise
def vancomycin_clearance(law: ClearanceLaw, creatinine_clearance_ml_per_min: FloatOrArray,
                         weight_kg: FloatOrArray, on_dialysis: FloatOrArray,
                         eta: FloatOrArray, age_years: FloatOrArray,
                         serum_creatinine_mg_per_dl: FloatOrArray,
                         eta_central_volume: FloatOrArray) -> FloatOrArray:
    """CL, L/h, of the shared law from the patient's renal and size covariates and etas.

    ``CL = theta * (c/ref)^exponent * max(1 + slope*(c - ref_linear), floor)
    * (WT/ref_wt)^cl_weight_exponent * dial_factor^DIAL * exp(eta) * age_creatinine``,
    ``c = min(CrCL, cap)``, CrCL in mL/min, weight in kg, DIAL 0/1, age in years, SCr in
    mg/dL, ``age_creatinine`` from :func:`vancomycin_age_creatinine_factor` (module docstring);
    elementwise, unchecked. Goti's factors come first, in Goti's order; the last is exactly 1.0
    for every law without Colin's terms.

    Examples:
        >>> law = Goti2018().constants
        >>> float(vancomycin_clearance(law, 80.0, 70.0, 0.0, 0.0, 50.0, 1.0, 0.0).round(3))
        3.253
    """
    crcl = np.minimum(creatinine_clearance_ml_per_min, law.creatinine_clearance_cap_ml_per_min)
    renal = (crcl / law.reference_creatinine_clearance_ml_per_min) ** \
        law.creatinine_clearance_exponent
    linear = np.maximum(1.0 + law.creatinine_clearance_slope_per_ml_per_min
                        * (crcl - law.linear_reference_creatinine_clearance_ml_per_min),
                        law.renal_factor_floor)
    size = (weight_kg / law.reference_weight_kg) ** law.clearance_weight_exponent
    return law.clearance_l_per_h * renal * linear * size \
        * law.dialysis_clearance_factor ** on_dialysis * np.exp(eta) \
        * vancomycin_age_creatinine_factor(law, age_years, serum_creatinine_mg_per_dl,
                                           eta_central_volume)


@dataclass(frozen=True, slots=True, kw_only=True)
class TwoCompartmentVancomycin:
    """Parameters of the shared two-compartment vancomycin law (module docstring).

    The base of every adult vancomycin model (:class:`Goti2018`, ...): the ward kernel, the
    records, MAP dosing and the oracle take any of them. Optional law terms default to their
    neutral value (the factor is exactly 1); a model module redeclares the fields it sets,
    each with value, unit and source (and ``rse``, a fraction, where the paper reports it).
    """

    clearance_l_per_h: float
    creatinine_clearance_exponent: float = parameter(0.0, "-", LAW)
    reference_creatinine_clearance_ml_per_min: float = parameter(100.0, "mL/min", LAW)
    creatinine_clearance_cap_ml_per_min: float = parameter(150.0, "mL/min", LAW)
    dialysis_clearance_factor: float = parameter(1.0, "-", LAW)
    creatinine_clearance_slope_per_ml_per_min: float = parameter(0.0, "1/(mL/min)", LAW)
    linear_reference_creatinine_clearance_ml_per_min: float = parameter(100.0, "mL/min", LAW)
    renal_factor_floor: float = parameter(0.05, "-", "pkgym guard: CL >= floor * theta_CL")
    clearance_weight_exponent: float = parameter(0.0, "-", LAW)
    central_volume_l: float
    dialysis_central_volume_factor: float = parameter(1.0, "-", LAW)
    intercompartmental_clearance_l_per_h: float
    peripheral_volume_l: float
    omega_clearance: float
    omega_central_volume: float
    omega_peripheral_volume: float
    omega_clearance_central_volume: float = parameter(0.0, "covariance of log", LAW)
    proportional_error_sd: float
    additive_error_sd_mg_per_l: float
    reference_weight_kg: float = parameter(70.0, "kg", LAW)
    creatinine_effect_per_mg_per_dl: float = parameter(0.0, "1/(mg/dL)", LAW)
    maturation_hill: float = parameter(0.0, "-", LAW)
    maturation_half_pma_years: float = parameter(1.0, "y (postmenstrual)", LAW)
    decline_hill: float = parameter(0.0, "-", LAW)
    decline_half_pma_years: float = parameter(1.0, "y (postmenstrual)", LAW)
    reference_age_years: float = parameter(35.0, "y", LAW)
    gestation_years: float = parameter(40.0 / 52.0, "y (40 weeks)", "term birth assumed")
    clearance_central_volume_eta_exponent: float = parameter(0.0, "-", LAW)
    intercompartmental_peripheral_exponent: float = parameter(0.0, "-", LAW)
    elderly_creatinine_floor: bool = False
    scale_peripheral_volume_with_weight: bool = False

    def __post_init__(self) -> None:
        """Thetas positive; exponents, slope and covariance finite; omegas, SDs >= 0."""
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, bool):
                continue
            if name.endswith(("exponent", "slope_per_ml_per_min", "clearance_central_volume",
                              "hill", "effect_per_mg_per_dl")):
                ok = bool(np.isfinite(value))
            elif name.startswith(("omega", "proportional", "additive")):
                ok = bool(np.isfinite(value) and value >= 0)
            else:
                ok = bool(np.isfinite(value) and value > 0)
            if not ok:
                raise ValueError(f"{type(self).__name__}.{name} must be a finite positive "
                                 f"number (exponents, slopes: finite), got {value}")
        if self.renal_factor_floor > 1.0:
            raise ValueError(f"{type(self).__name__}.renal_factor_floor must be in (0, 1], got "
                             f"{self.renal_factor_floor}")
        self.variability  # noqa: B018 (validates the omega matrix)

    @property
    def variability(self) -> BetweenSubjectVariability:
        """Log-normal between-subject variability on (CL, V1, V2)."""
        covariance = self.omega_clearance_central_volume
        return BetweenSubjectVariability(names=("CL", "V1", "V2"), omega=np.array([
            [self.omega_clearance, covariance, 0.0],
            [covariance, self.omega_central_volume, 0.0],
            [0.0, 0.0, self.omega_peripheral_volume]]))

    @property
    def constants(self) -> ClearanceLaw:
        """The parameters :func:`vancomycin_clearance` and compiled kernels read."""
        return ClearanceLaw(*(getattr(self, name) for name in ClearanceLaw._fields))

    @property
    def residual_error(self) -> ResidualError:
        """The combined proportional + additive assay error."""
        return ResidualError(additive_sd=self.additive_error_sd_mg_per_l,
                             proportional_sd=self.proportional_error_sd)

    def creatinine_clearance_ml_per_min(
        self, age_years: np.ndarray, weight_kg: np.ndarray, serum_creatinine_mg_per_dl: np.ndarray,
        is_female: np.ndarray,
    ) -> np.ndarray:
        """Cockcroft-Gault CrCL as the model computes it (elderly SCr floor if set, cap).

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
        return vancomycin_creatinine_clearance(self.constants, age_years, weight_kg,
                                               serum_creatinine_mg_per_dl, is_female)

    @property
    def uses_creatinine(self) -> bool:
        """Whether CL reads serum creatinine itself (beyond CrCL): Colin 2019's law does."""
        return self.creatinine_effect_per_mg_per_dl != 0.0

    def clearance(self, creatinine_clearance_ml_per_min: np.ndarray, on_dialysis: np.ndarray,
                  eta: np.ndarray | float = 0.0, *,
                  weight_kg: np.ndarray | float | None = None,
                  age_years: np.ndarray | float | None = None,
                  serum_creatinine_mg_per_dl: np.ndarray | float | None = None,
                  eta_central_volume: np.ndarray | float = 0.0) -> np.ndarray:
        """Individual CL, L/h, from CrCL (mL/min, capped here too), dialysis (0/1) and weight.

        ``weight_kg`` (kg) matters only where the law puts weight on CL; ``None`` is the
        reference weight. ``age_years`` (``None``: the reference age), the measured
        ``serum_creatinine_mg_per_dl`` and ``eta_central_volume`` matter only for laws with
        Colin's terms; such a law refuses to run without the creatinine.

        Examples:
            >>> float(Goti2018().clearance(80.0, 0).round(3))
            3.253
        """
        crcl = check_positive("creatinine_clearance_ml_per_min", creatinine_clearance_ml_per_min)
        weight = self.reference_weight_kg if weight_kg is None else \
            check_positive("weight_kg", weight_kg)
        age = self.reference_age_years if age_years is None else \
            check_positive("age_years", age_years)
        scr = self._creatinine(serum_creatinine_mg_per_dl)
        return self.clearance_unchecked(crcl, _flag("on_dialysis", on_dialysis), eta,
                                        weight_kg=weight, age_years=age,
                                        serum_creatinine_mg_per_dl=scr,
                                        eta_central_volume=check_finite(
                                            "eta_central_volume", eta_central_volume))

    def _creatinine(self, serum_creatinine_mg_per_dl: np.ndarray | float | None,
                    ) -> np.ndarray | float:
        """The creatinine, checked; 1.0 where the law ignores it; refused if needed but absent."""
        if serum_creatinine_mg_per_dl is None:
            if self.uses_creatinine:
                raise ValueError(f"serum_creatinine_mg_per_dl: {type(self).__name__}'s "
                                 "clearance depends on serum creatinine; pass it (mg/dL)")
            return 1.0
        return check_positive("serum_creatinine_mg_per_dl", serum_creatinine_mg_per_dl)

    def clearance_unchecked(self, creatinine_clearance_ml_per_min: np.ndarray,
                            on_dialysis: np.ndarray, eta: np.ndarray | float, *,
                            weight_kg: np.ndarray | float | None = None,
                            age_years: np.ndarray | float | None = None,
                            serum_creatinine_mg_per_dl: np.ndarray | float = 1.0,
                            eta_central_volume: np.ndarray | float = 0.0) -> np.ndarray:
        """:meth:`clearance` without input checks (for hot loops)."""
        weight = self.reference_weight_kg if weight_kg is None else weight_kg
        age = self.reference_age_years if age_years is None else age_years
        return vancomycin_clearance(self.constants, creatinine_clearance_ml_per_min, weight,
                                    on_dialysis, eta, age, serum_creatinine_mg_per_dl,
                                    eta_central_volume)

    def linear_params(
        self, *, weight_kg: np.ndarray, on_dialysis: np.ndarray,
        creatinine_clearance_ml_per_min: np.ndarray, etas: np.ndarray | None = None,
        age_years: np.ndarray | None = None, serum_creatinine_mg_per_dl: np.ndarray | None = None,
    ) -> LinearPKParams:
        """Individual two-compartment parameters for n patients.

        Args:
            weight_kg: total body weight, kg, shape (n,).
            on_dialysis: intermittent haemodialysis, 0/1, shape (n,).
            creatinine_clearance_ml_per_min: CrCL, mL/min, shape (n,).
            etas: random effects on (CL, V1, V2), shape (n, 3); ``None`` for typical values.
            age_years: age, years, shape (n,); ``None`` is the law's reference age (only
                Colin's law reads it).
            serum_creatinine_mg_per_dl: measured creatinine, mg/dL, shape (n,); required by
                laws that read it (:attr:`uses_creatinine`), ignored by the others.

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
        peripheral = self.peripheral_volume_l * v2_size * np.exp(eta[:, 2])
        q: np.ndarray | float = self.intercompartmental_clearance_l_per_h
        if self.intercompartmental_peripheral_exponent != 0.0:
            q = q * (peripheral / self.peripheral_volume_l) \
                ** self.intercompartmental_peripheral_exponent
        return compartment_params(
            self.clearance(creatinine_clearance_ml_per_min, dial, eta[:, 0], weight_kg=weight,
                           age_years=age_years, serum_creatinine_mg_per_dl=(
                               serum_creatinine_mg_per_dl if self.uses_creatinine else None),
                           eta_central_volume=eta[:, 1]),
            self.central_volume_l * size * self.dialysis_central_volume_factor**dial
            * np.exp(eta[:, 1]),
            intercompartmental_clearance_l_per_h=(q,),
            peripheral_volume_l=(peripheral,),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Goti2018(TwoCompartmentVancomycin):
    """Population parameters of the Goti 2018 vancomycin model (see the module docstring)."""

    clearance_l_per_h: float = parameter(4.5, "L/h", GOTI)
    creatinine_clearance_exponent: float = parameter(0.8, "-", GOTI)
    reference_creatinine_clearance_ml_per_min: float = parameter(120.0, "mL/min", GOTI)
    creatinine_clearance_cap_ml_per_min: float = parameter(150.0, "mL/min", "Goti 2018 Methods")
    dialysis_clearance_factor: float = parameter(0.7, "-", GOTI)
    central_volume_l: float = parameter(58.4, "L (70 kg)", GOTI)
    dialysis_central_volume_factor: float = parameter(0.5, "-", GOTI)
    intercompartmental_clearance_l_per_h: float = parameter(6.5, "L/h", GOTI)
    peripheral_volume_l: float = parameter(38.4, "L", GOTI)
    omega_clearance: float = parameter(0.398**2, "variance of log (39.8% CV)", GOTI)
    omega_central_volume: float = parameter(0.816**2, "variance of log (81.6% CV)", GOTI)
    omega_peripheral_volume: float = parameter(0.571**2, "variance of log (57.1% CV)", GOTI)
    proportional_error_sd: float = parameter(0.227, "fraction", GOTI)
    additive_error_sd_mg_per_l: float = parameter(3.4, "mg/L", GOTI)
    elderly_creatinine_floor: bool = True


def _flag(name: str, values: np.ndarray | float) -> np.ndarray:
    flags = check_finite(name, values)
    if not np.all(np.isin(flags, (0.0, 1.0))):
        raise ValueError(f"{name} must be 0 or 1, got {np.unique(flags)}")
    return flags
