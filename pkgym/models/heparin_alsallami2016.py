"""Unfractionated heparin (UFH) PK/PD: Al-Sallami et al. 2016, carried to adults on infusion.

Al-Sallami HS, Newall F, Monagle P, Ignjatovic V, Cranswick N, Duffull SB. Development of a
population pharmacokinetic-pharmacodynamic model of a single bolus dose of unfractionated
heparin in paediatric patients. Br J Clin Pharmacol 2016;82(1):178-184 (values as
transcribed by nlmixr2lib's ``AlSallami_2016_unfractionatedHeparin``)::

    CL = 0.603 * (FFM / 15 kg) * exp(eta_CL)        L/h      (Table 2)
    V  = 0.751 * (WT / 20 kg)  * exp(eta_V)         L        (Table 2)
    omega: CV 50 % (CL), 40 % (V), corr(CL, V) 0.75             (Table 2)
    C  = A / V                                      IU/L  (protamine titration)
    aPTT = E0 + SLOPE * C                           s        (Table 3, linear PD)
    omega: CV 64 % (SLOPE)                                      (Table 3)

One compartment with linear elimination: a bolus and a zero-order infusion have the exact
solution ``A(t) = A0 exp(-k t) + R / k (1 - exp(-k t))``, ``k = CL / V``
(:func:`advance_amount_iu`), batched over patients.

**Why this model, and what is ours.** No published population PK/PD model of UFH in adults on
a weight-based infusion with aPTT and full parameters was at hand (Jia 2015 and Delavenne
2017 are adults on cardiopulmonary bypass with anti-IIa or ACT; de Swart 1982's saturable +
linear model lacks reported population parameters in the sources we could read). Al-Sallami's
is the one with PK and aPTT together; its covariate model (CL on fat-free mass, V on total
weight, both linear) is what carries it to adults. Carried to an 80-kg, 176-cm man (FFM 60.5
kg) it gives CL 2.43 L/h and V 3.0 L (40 mL/kg, about the plasma volume, as heparin's volume
is; de Swart 1982), half-life 51 min: Hirsh et al. 1976 (Circulation 53:691) measured 63 +/- 15
min in adults with venous thromboembolism. Raschke's maintenance 18 U/kg/h then gives 0.59 IU/mL
at steady state, within the therapeutic anti-Xa range 0.3-0.7 IU/mL. The PD is where adults
differ: the paper itself reports that its aPTT slope (0.67 s per IU/L) over-predicts the aPTT
of infusions (its Abstract), and its aPTT assay ran to 999 s. We keep the linear form and the
slope's variability but set the typical slope to **0.10 s per IU/L (ours)**, so that heparin
levels 0.3-0.7 IU/mL map onto 60-100 s from a 30-s baseline: the correspondence of the
therapeutic aPTT range to 0.3-0.7 anti-Xa IU/mL (Hirsh J et al. 2001, Chest 119:64S-94S; Garcia
DA et al. 2012, Chest 141:e24S). E0 is each patient's own baseline (control) aPTT, a covariate
(its distribution is the env's, not this model's). Also ours: the bolus is instantaneous
(Al-Sallami: a 0.1-h zero-order input); the FFM formula is Janmahasatian et al. 2005 (Clin
Pharmacokinet 44:1051) for adults (Al-Sallami used its paediatric variant, which agrees in
adults); the aPTT measurement error is 10 % proportional (Al-Sallami's 30 % is a fit residual
at paediatric bolus levels, analytical aPTT CVs are 2-5 %: ours, between them) and the assay
reads at most 200 s (ours; analysers stop clot detection at 150-250 s).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pkgym.populations.variability import BetweenSubjectVariability, omega_from_cv

ETA_NAMES = ("CL", "V", "SLOPE")
"""The random effects, in the order of the omega matrix and of ``etas`` arrays."""


def _param(value: float, unit: str, source: str) -> float:
    return field(default=value, metadata={"unit": unit, "source": source})  # type: ignore[return-value]


@dataclass(frozen=True, slots=True, kw_only=True)
class AlSallami2016:
    """Heparin PK/PD parameters (module docstring); each field's metadata gives unit and source.

    Attributes:
        clearance_l_per_h_per_15kg_ffm: typical CL at FFM 15 kg, L/h.
        reference_ffm_kg: FFM of the CL reference, kg.
        volume_l_per_20kg: typical V at WT 20 kg, L.
        reference_weight_kg: weight of the V reference, kg.
        aptt_slope_s_per_iu_per_l: typical aPTT rise per IU/L heparin, s (ours for adults).
        published_aptt_slope_s_per_iu_per_l: Al-Sallami's paediatric value (for reference).
        cv_clearance, cv_volume, cv_slope: between-subject CVs (fractions).
        correlation_clearance_volume: correlation of eta_CL and eta_V.
        aptt_residual_cv: proportional aPTT measurement error (fraction; ours).
        aptt_assay_max_s: highest aPTT the assay reports, s (ours).
    """

    clearance_l_per_h_per_15kg_ffm: float = _param(0.603, "L/h", "Al-Sallami 2016 Table 2")
    reference_ffm_kg: float = _param(15.0, "kg", "Al-Sallami 2016 Table 2")
    volume_l_per_20kg: float = _param(0.751, "L", "Al-Sallami 2016 Table 2")
    reference_weight_kg: float = _param(20.0, "kg", "Al-Sallami 2016 Table 2")
    aptt_slope_s_per_iu_per_l: float = _param(
        0.10, "s per IU/L", "ours: 0.3-0.7 IU/mL -> 60-100 s (Hirsh 2001 Chest; published 0.67)")
    published_aptt_slope_s_per_iu_per_l: float = _param(0.67, "s per IU/L",
                                                        "Al-Sallami 2016 Table 3")
    cv_clearance: float = _param(0.50, "fraction", "Al-Sallami 2016 Table 2")
    cv_volume: float = _param(0.40, "fraction", "Al-Sallami 2016 Table 2")
    correlation_clearance_volume: float = _param(0.75, "1", "Al-Sallami 2016 Table 2")
    cv_slope: float = _param(0.64, "fraction", "Al-Sallami 2016 Table 3")
    aptt_residual_cv: float = _param(0.10, "fraction",
                                     "ours (Al-Sallami 2016 Table 3: 0.30, a fit residual)")
    aptt_assay_max_s: float = _param(200.0, "s", "ours (analyser clot-detection limit)")

    def __post_init__(self) -> None:
        """Positive typical values, CVs >= 0, |correlation| <= 1, assay limit above 60 s."""
        for name in ("clearance_l_per_h_per_15kg_ffm", "reference_ffm_kg", "volume_l_per_20kg",
                     "reference_weight_kg", "aptt_slope_s_per_iu_per_l"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("cv_clearance", "cv_volume", "cv_slope", "aptt_residual_cv"):
            if not 0 <= getattr(self, name) <= 2:
                raise ValueError(f"{name} must be in [0, 2], got {getattr(self, name)}")
        if not -1 <= self.correlation_clearance_volume <= 1:
            raise ValueError(f"correlation_clearance_volume must be in [-1, 1], got "
                             f"{self.correlation_clearance_volume}")
        if not self.aptt_assay_max_s > 60:
            raise ValueError(f"aptt_assay_max_s must be > 60, got {self.aptt_assay_max_s}")

    @property
    def variability(self) -> BetweenSubjectVariability:
        """Log-normal etas on (CL, V, SLOPE); CL and V correlated (Table 2), SLOPE alone.

        Examples:
            >>> AlSallami2016().variability.omega.round(4)[0].tolist()
            [0.2231, 0.1365, 0.0]
        """
        r = self.correlation_clearance_volume
        corr = np.array([[1.0, r, 0.0], [r, 1.0, 0.0], [0.0, 0.0, 1.0]])
        omega = omega_from_cv([self.cv_clearance, self.cv_volume, self.cv_slope], corr)
        return BetweenSubjectVariability(names=ETA_NAMES, omega=omega)


def fat_free_mass_kg(weight_kg: np.ndarray, height_cm: np.ndarray,
                     is_female: np.ndarray) -> np.ndarray:
    """Janmahasatian et al. 2005 fat-free mass, kg: ``9270 WT / (6680 + 216 BMI)`` (men).

    Women: ``9270 WT / (8780 + 244 BMI)``; BMI in kg/m^2.

    Examples:
        >>> fat_free_mass_kg(np.array([80.0]), np.array([176.0]), np.array([0])).round(1).tolist()
        [60.5]
    """
    weight = np.asarray(weight_kg, dtype=np.float64)
    bmi = weight / (np.asarray(height_cm, dtype=np.float64) / 100.0) ** 2
    female = np.asarray(is_female) > 0.5
    return np.where(female, 9270.0 * weight / (8780.0 + 244.0 * bmi),
                    9270.0 * weight / (6680.0 + 216.0 * bmi))


def individual_parameters(model: AlSallami2016, weight_kg: np.ndarray, height_cm: np.ndarray,
                          is_female: np.ndarray, etas: np.ndarray) -> np.ndarray:
    """Each patient's ``(CL L/h, V L, SLOPE s per IU/L)``, shape (n, 3).

    Args:
        model: the parameters.
        weight_kg: total body weight, kg (n,).
        height_cm: height, cm (n,).
        is_female: 1 for women (n,).
        etas: random effects in :data:`ETA_NAMES` order, (n, 3).

    Examples:
        >>> p = individual_parameters(AlSallami2016(), np.array([80.0]), np.array([176.0]),
        ...                           np.array([0]), np.zeros((1, 3)))
        >>> p.round(3).tolist()
        [[2.432, 3.004, 0.1]]
    """
    etas = np.asarray(etas, dtype=np.float64)
    ffm = fat_free_mass_kg(weight_kg, height_cm, is_female)
    cl = model.clearance_l_per_h_per_15kg_ffm * ffm / model.reference_ffm_kg
    v = model.volume_l_per_20kg * np.asarray(weight_kg, dtype=np.float64) \
        / model.reference_weight_kg
    return np.stack([cl * np.exp(etas[:, 0]), v * np.exp(etas[:, 1]),
                     model.aptt_slope_s_per_iu_per_l * np.exp(etas[:, 2])], axis=1)


def half_life_h(clearance_l_per_h: np.ndarray, volume_l: np.ndarray) -> np.ndarray:
    """Elimination half-life ``ln 2 V / CL``, h.

    Examples:
        >>> round(float(half_life_h(np.array(2.432), np.array(3.004))), 3)
        0.856
    """
    return np.log(2.0) * np.asarray(volume_l) / np.asarray(clearance_l_per_h)


def advance_amount_iu(amount_iu: np.ndarray, clearance_l_per_h: np.ndarray,
                      volume_l: np.ndarray, rate_iu_per_h: np.ndarray | float,
                      dt_h: np.ndarray | float) -> np.ndarray:
    """Exact amount after ``dt_h`` of a constant infusion (pure, batched, any broadcast shape).

    ``A(t) = A0 exp(-k t) + R / k (1 - exp(-k t))`` with ``k = CL / V``.

    Args:
        amount_iu: heparin in the body at the start, IU.
        clearance_l_per_h: CL, L/h.
        volume_l: V, L.
        rate_iu_per_h: infusion rate over the interval, IU/h.
        dt_h: interval length, h (>= 0).

    Examples:
        >>> float(advance_amount_iu(np.array(100.0), np.array(1.0), np.array(1.0),
        ...                         np.array(0.0), np.log(2.0)))
        50.0
    """
    k = np.asarray(clearance_l_per_h) / np.asarray(volume_l)
    decay = np.exp(-k * np.asarray(dt_h))
    return np.asarray(amount_iu) * decay + np.asarray(rate_iu_per_h) / k * (1.0 - decay)


def aptt_s(amount_iu: np.ndarray, volume_l: np.ndarray, baseline_aptt_s: np.ndarray,
           slope_s_per_iu_per_l: np.ndarray) -> np.ndarray:
    """True aPTT ``E0 + SLOPE * A / V``, s (Al-Sallami 2016 Table 3's linear model).

    Examples:
        >>> float(aptt_s(np.array(1800.0), np.array(3.0), np.array(30.0), np.array(0.1)))
        90.0
    """
    return np.asarray(baseline_aptt_s) + np.asarray(slope_s_per_iu_per_l) * (
        np.asarray(amount_iu) / np.asarray(volume_l))


def rhs(t: float, amount_iu: np.ndarray, clearance_l_per_h: np.ndarray, volume_l: np.ndarray,
        rate_iu_per_h: np.ndarray) -> np.ndarray:
    """``dA/dt = R - CL / V * A`` (for reference integrators; the env uses the exact form).

    Examples:
        >>> rhs(0.0, np.array([3.0]), np.array([1.0]), np.array([3.0]), np.array([2.0])).tolist()
        [1.0]
    """
    return np.asarray(rate_iu_per_h) - np.asarray(clearance_l_per_h) / np.asarray(
        volume_l) * np.asarray(amount_iu)
