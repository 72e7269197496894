"""Propofol PK-PD of Eleveld 2018: three compartments, an effect site and the BIS, batched.

Eleveld DJ, Colin P, Absalom AR, Struys MMRF. Pharmacokinetic-pharmacodynamic model for
propofol for broad application in anaesthesia and sedation. Br J Anaesth 2018;120:942-959
(doi:10.1016/j.bja.2018.01.018; Q2ref as corrected in the corrigendum, Br J Anaesth
2018;121:519). Values of Table 2 (PK, theta1-18, eta variances) and Table 3 (PD) as
transcribed in the open ``tci`` R package (``pkmod_eleveld_ppf``) and, independently, in
Python_Anesthesia_Simulator (``pk_models.py``, its unrounded NONMEM estimates agree to 3
figures); the primary tables were not seen by this implementation.

Structure (time in min, amounts in mg, concentrations in mg/L = ug/mL)::

    dA1/dt = rate - (CL + Q2 + Q3) / V1 A1 + Q2 / V2 A2 + Q3 / V3 A3
    dA2/dt = Q2 / V1 A1 - Q2 / V2 A2
    dA3/dt = Q3 / V1 A1 - Q3 / V3 A3
    dCe/dt = ke0 (A1 / V1 - Ce)
    BIS = BIS0 (1 - Ce^g / (Ce50^g + Ce^g)),  g = gamma (Ce <= Ce50) or gamma2 (Ce > Ce50)

Covariates: age (y), weight (kg), height (cm), sex, post-menstrual age (adults: ``age * 52 +
40`` weeks), fat-free mass of Al-Sallami et al. 2015 (Clin Pharmacokinet 54:1183) and opioid
co-administration (the ``fopiates`` terms on CL and V3). **Arterial sampling is the truth**
(V1, Q2 and ke0 of the arterial arm): arterial propofol is what reaches the brain; the venous
arm describes a sampling site, not a different patient. The measured BIS lags the effect
site by ``15 + exp(theta_PD6 * age)`` s (Table 3, theta 0.0517: 21 s at 35 y, 53 s at 70 y)
and carries Eleveld's additive residual error, SD 8.03 scaled by the patient's
``exp(eta_BIS)`` (variance 0.230).

Between-subject variability: independent log-normal etas with the published variances
(:data:`ETA_NAMES`). The four linear states are advanced exactly over a step of constant
infusion rate: ``x' = Phi x + Gamma rate``, from the matrix exponential of the augmented 5x5
system (:func:`step_propagator`, batched over patients).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from pkgym.populations import BetweenSubjectVariability
from pkgym.sim.expm import batched_expm

ETA_NAMES = ("V1", "V2", "V3", "CL", "Q2", "Q3", "KE0", "CE50", "BIS")
"""Random effects: the six PK parameters, ke0, Ce50 and the BIS residual error's scale."""
N_STATES = 4
"""States: A1, A2, A3 (mg) and the effect-site concentration Ce (mg/L)."""
REFERENCE = {"age_years": 35.0, "weight_kg": 70.0, "height_cm": 170.0, "is_female": 0.0}
"""Eleveld's reference individual (male, 35 y, 70 kg, 170 cm)."""
SRC_PK, SRC_PD = "Eleveld 2018 Table 2", "Eleveld 2018 Table 3"


def _p(value: float, unit: str, source: str) -> float:
    """A parameter field: its value, unit and source in the metadata."""
    return field(default=value, metadata={"unit": unit, "source": source})


@dataclass(frozen=True, slots=True, kw_only=True)
class Eleveld2018:
    """Eleveld 2018's fixed effects and eta variances (arterial arm); one field per theta."""

    v1_ref_l: float = _p(6.28, "L", f"{SRC_PK} theta1")
    v2_ref_l: float = _p(25.5, "L", f"{SRC_PK} theta2")
    v3_ref_l: float = _p(273.0, "L", f"{SRC_PK} theta3")
    cl_male_l_per_min: float = _p(1.79, "L/min", f"{SRC_PK} theta4")
    q2_ref_l_per_min: float = _p(1.75, "L/min", f"{SRC_PK} theta5 (corrigendum)")
    q3_ref_l_per_min: float = _p(1.11, "L/min", f"{SRC_PK} theta6")
    cl_maturation_e50_weeks: float = _p(42.3, "weeks PMA", f"{SRC_PK} theta8")
    cl_maturation_slope: float = _p(9.06, "-", f"{SRC_PK} theta9")
    v2_age_per_year: float = _p(-0.0156, "1/year", f"{SRC_PK} theta10")
    cl_opioid_age_per_year: float = _p(-0.00286, "1/year", f"{SRC_PK} theta11")
    v1_weight_e50_kg: float = _p(33.6, "kg", f"{SRC_PK} theta12")
    v3_opioid_age_per_year: float = _p(-0.0138, "1/year", f"{SRC_PK} theta13")
    q3_maturation_e50_weeks: float = _p(68.3, "weeks", f"{SRC_PK} theta14")
    cl_female_l_per_min: float = _p(2.10, "L/min", f"{SRC_PK} theta15")
    q2_maturation_factor: float = _p(1.30, "-", f"{SRC_PK} theta16")
    ce50_ug_per_ml: float = _p(3.08, "ug/mL", f"{SRC_PD} theta1")
    ke0_arterial_per_min: float = _p(0.146, "1/min", f"{SRC_PD} theta2")
    bis_baseline: float = _p(93.0, "BIS", f"{SRC_PD} theta3")
    gamma_low: float = _p(1.47, "-", f"{SRC_PD} theta4 (Ce <= Ce50)")
    bis_residual_sd: float = _p(8.03, "BIS", f"{SRC_PD} theta5 (additive)")
    bis_delay_age_per_year: float = _p(0.0517, "1/year", f"{SRC_PD} theta6: 15 + exp(t*age) s")
    ce50_age_per_year: float = _p(-0.00635, "1/year", f"{SRC_PD} theta7")
    gamma_high: float = _p(1.89, "-", f"{SRC_PD} theta9 (Ce > Ce50)")
    bis_delay_base_s: float = _p(15.0, "s", f"{SRC_PD} (delay equation)")
    omega_variances: tuple[float, ...] = field(
        default=(0.610, 0.565, 0.597, 0.265, 0.346, 0.209, 0.702, 0.242, 0.230),
        metadata={"unit": "variance of eta", "source": f"{SRC_PK} / {SRC_PD} omega^2, in the "
                  "order of ETA_NAMES"})

    def __post_init__(self) -> None:
        """Volumes, clearances, ke0, Ce50, gammas and variances > 0; 9 variances."""
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "omega_variances":
                if len(value) != len(ETA_NAMES) or min(value) < 0:
                    raise ValueError(f"omega_variances must be {len(ETA_NAMES)} values >= 0")
            elif not np.isfinite(value) or (value <= 0 and "per_year" not in f.name):
                raise ValueError(f"{f.name} must be finite and > 0, got {value}")

    @property
    def variability(self) -> BetweenSubjectVariability:
        """Independent etas of :data:`ETA_NAMES` with the published variances."""
        return BetweenSubjectVariability(names=ETA_NAMES, omega=np.diag(self.omega_variances))


def _columns(record: Any) -> np.ndarray:
    """A dataclass of (n,) arrays as columns (n, fields), in field order."""
    return np.column_stack([np.asarray(getattr(record, f.name)) for f in fields(record)])


@dataclass(frozen=True, slots=True)
class EffectSitePK:
    """Three-compartment PK with an effect site, batched (n,) per field; L, L/min, 1/min."""

    v1_l: np.ndarray
    v2_l: np.ndarray
    v3_l: np.ndarray
    cl_l_per_min: np.ndarray
    q2_l_per_min: np.ndarray
    q3_l_per_min: np.ndarray
    ke0_per_min: np.ndarray

    def as_array(self) -> np.ndarray:
        """The fields as columns (n, 7), in field order."""
        return _columns(self)


@dataclass(frozen=True, slots=True)
class BisPD:
    """The BIS response of each patient, batched (n,) per field."""

    ce50_ug_per_ml: np.ndarray
    gamma_low: np.ndarray
    gamma_high: np.ndarray
    bis_baseline: np.ndarray
    delay_s: np.ndarray
    residual_sd: np.ndarray

    def as_array(self) -> np.ndarray:
        """The fields as columns (n, 6), in field order."""
        return _columns(self)


Covariate = np.ndarray | float
"""A covariate: one value per patient (n,), or one for all."""


def al_sallami_ffm_kg(age_years: Covariate, weight_kg: Covariate, height_cm: Covariate,
                      is_female: Covariate) -> np.ndarray:
    """Fat-free mass of Al-Sallami et al. 2015 (with Janmahasatian's adult form), kg.

    Examples:
        >>> float(al_sallami_ffm_kg(35.0, 70.0, 170.0, 0.0).round(2))
        54.48
    """
    age, weight = np.asarray(age_years, float), np.asarray(weight_kg, float)
    bmi = weight / (np.asarray(height_cm, float) / 100.0) ** 2
    male = (0.88 + 0.12 / (1.0 + (age / 13.4) ** -12.7)) * 9270.0 * weight / (6680.0 + 216.0 * bmi)
    female = (1.11 - 0.11 / (1.0 + (age / 7.1) ** -1.1)) * 9270.0 * weight / (8780.0 + 244.0 * bmi)
    return np.where(np.asarray(is_female) > 0.5, female, male)


def _sigmoid(x: Covariate, e50: float, slope: float) -> np.ndarray:
    x = np.asarray(x, float)
    return x**slope / (x**slope + e50**slope)


def _etas(etas: np.ndarray | None, n: int) -> np.ndarray:
    out = np.zeros((n, len(ETA_NAMES))) if etas is None else np.asarray(etas, float)
    if out.shape != (n, len(ETA_NAMES)):
        raise ValueError(f"etas must have shape ({n}, {len(ETA_NAMES)}), got {out.shape}")
    return out


def _volumes(m: Eleveld2018, age: np.ndarray, weight: np.ndarray, height_cm: Covariate,
             is_female: Covariate, opioid_on: np.ndarray) -> tuple[np.ndarray, ...]:
    """Typical V1, V2, V3 (L) of Table 2, arterial V1."""
    ref = REFERENCE
    central = weight / (weight + m.v1_weight_e50_kg)
    central_ref = ref["weight_kg"] / (ref["weight_kg"] + m.v1_weight_e50_kg)
    ffm = al_sallami_ffm_kg(age, weight, height_cm, is_female)
    ffm_ref = al_sallami_ffm_kg(ref["age_years"], ref["weight_kg"], ref["height_cm"], 0.0)
    v1 = m.v1_ref_l * central / central_ref
    aging = np.exp(m.v2_age_per_year * (age - ref["age_years"]))
    v2 = m.v2_ref_l * weight / ref["weight_kg"] * aging
    v3 = m.v3_ref_l * ffm / ffm_ref * np.where(opioid_on, np.exp(m.v3_opioid_age_per_year
                                                                  * age), 1.0)
    return v1, v2, v3


def _clearances(m: Eleveld2018, age: np.ndarray, weight: np.ndarray, is_female: Covariate,
                opioid_on: np.ndarray, v2: np.ndarray, v3: np.ndarray
                ) -> tuple[np.ndarray, ...]:
    """Typical CL, Q2, Q3 (L/min) of Table 2 (arterial Q2), from the typical V2 and V3."""
    ref_weeks = REFERENCE["age_years"] * 52.0 + 40.0
    pma_weeks = age * 52.0 + 40.0
    cl_sex = np.where(np.asarray(is_female) > 0.5, m.cl_female_l_per_min, m.cl_male_l_per_min)
    cl_mat = (_sigmoid(pma_weeks, m.cl_maturation_e50_weeks, m.cl_maturation_slope)
              / _sigmoid(ref_weeks, m.cl_maturation_e50_weeks, m.cl_maturation_slope))
    opioid_cl = np.where(opioid_on, np.exp(m.cl_opioid_age_per_year * age), 1.0)
    cl = cl_sex * (weight / REFERENCE["weight_kg"]) ** 0.75 * cl_mat * opioid_cl
    q3_mat = _sigmoid(pma_weeks, m.q3_maturation_e50_weeks, 1.0)
    q3_mat_ref = _sigmoid(ref_weeks, m.q3_maturation_e50_weeks, 1.0)
    q2 = (m.q2_ref_l_per_min * (v2 / m.v2_ref_l) ** 0.75
          * (1.0 + m.q2_maturation_factor * (1.0 - q3_mat)))
    q3 = m.q3_ref_l_per_min * (v3 / m.v3_ref_l) ** 0.75 * q3_mat / q3_mat_ref
    return cl, q2, q3


def eleveld_pk(model: Eleveld2018, age_years: Covariate, weight_kg: Covariate,
               height_cm: Covariate, is_female: Covariate, opioid: Covariate,
               etas: np.ndarray | None = None) -> EffectSitePK:
    """Individual PK and ke0 (arterial arm) of each patient (Table 2 equations).

    Args:
        model: the parameter table.
        age_years: age, years (n,).
        weight_kg: total body weight, kg (n,).
        height_cm: height, cm (n,).
        is_female: 1 for women (n,).
        opioid: 1 with opioid co-administration (n,).
        etas: (n, 9) random effects in :data:`ETA_NAMES` order (None: typical patients).

    Examples:
        >>> pk = eleveld_pk(Eleveld2018(), *[np.array([v]) for v in (35, 70, 170, 0, 0)])
        >>> [round(float(getattr(pk, f)[0]), 3) for f in ("v1_l", "cl_l_per_min", "ke0_per_min")]
        [6.28, 1.79, 0.146]
    """
    age, weight = np.atleast_1d(np.asarray(age_years, float)), np.asarray(weight_kg, float)
    weight = np.broadcast_to(weight, age.shape)
    eta = _etas(etas, age.shape[0])
    opioid_on = np.asarray(opioid, float) > 0.5
    v1, v2, v3 = _volumes(model, age, weight, height_cm, is_female, opioid_on)
    cl, q2, q3 = _clearances(model, age, weight, is_female, opioid_on, v2, v3)
    ke0 = model.ke0_arterial_per_min * (weight / REFERENCE["weight_kg"]) ** -0.25
    typical = (v1, v2, v3, cl, q2, q3, ke0)
    return EffectSitePK(*(value * np.exp(eta[:, j]) for j, value in enumerate(typical)))


def eleveld_pd(model: Eleveld2018, age_years: np.ndarray, etas: np.ndarray | None = None
               ) -> BisPD:
    """Individual BIS response (Table 3): Ce50 by age, gammas, baseline, delay, residual SD.

    Examples:
        >>> pd = eleveld_pd(Eleveld2018(), np.array([35.0]))
        >>> float(pd.ce50_ug_per_ml[0]), round(float(pd.delay_s[0]), 1)
        (3.08, 21.1)
    """
    m, age = model, np.asarray(age_years, float)
    eta = _etas(etas, age.shape[0])
    ones = np.ones_like(age)
    ce50 = m.ce50_ug_per_ml * np.exp(m.ce50_age_per_year * (age - REFERENCE["age_years"]))
    return BisPD(ce50_ug_per_ml=ce50 * np.exp(eta[:, 7]), gamma_low=m.gamma_low * ones,
                 gamma_high=m.gamma_high * ones, bis_baseline=m.bis_baseline * ones,
                 delay_s=m.bis_delay_base_s + np.exp(m.bis_delay_age_per_year * age),
                 residual_sd=m.bis_residual_sd * np.exp(eta[:, 8]))


def bis_of_ce(ce_ug_per_ml: np.ndarray, pd: BisPD) -> np.ndarray:
    """The BIS of each effect-site concentration (broadcast over trailing axes of ``ce``).

    Examples:
        >>> pd = eleveld_pd(Eleveld2018(), np.array([35.0]))
        >>> bis_of_ce(np.array([0.0, 3.08]), pd).tolist()
        [93.0, 46.5]
    """
    ce = np.maximum(np.asarray(ce_ug_per_ml, float), 0.0)
    shape = (-1,) + (1,) * (ce.ndim - 1)
    ce50, base = pd.ce50_ug_per_ml.reshape(shape), pd.bis_baseline.reshape(shape)
    gamma = np.where(ce <= ce50, pd.gamma_low.reshape(shape), pd.gamma_high.reshape(shape))
    ratio = (ce / ce50) ** gamma
    return base * (1.0 - ratio / (1.0 + ratio))


def ce_for_bis(bis: float | np.ndarray, pd: BisPD) -> np.ndarray:
    """The effect-site concentration giving ``bis`` (scalar or (n,); inverse of bis_of_ce), (n,).

    Examples:
        >>> pd = eleveld_pd(Eleveld2018(), np.array([35.0]))
        >>> round(float(bis_of_ce(ce_for_bis(50.0, pd), pd)[0]), 9)
        50.0
    """
    base, bis = pd.bis_baseline, np.asarray(bis, dtype=np.float64)
    if not np.all((bis > 0) & (bis < base)):
        raise ValueError(f"bis must be in (0, baseline), got {bis}")
    ratio = (base - bis) / bis
    gamma = np.where(ratio <= 1.0, pd.gamma_low, pd.gamma_high)
    return pd.ce50_ug_per_ml * ratio ** (1.0 / gamma)


def system_matrices(pk: EffectSitePK) -> np.ndarray:
    """The 4x4 rate matrices ``dx/dt = M x + e1 rate`` of each patient, (n, 4, 4), 1/min."""
    v1, v2, v3 = pk.v1_l, pk.v2_l, pk.v3_l
    k10, k12, k13 = pk.cl_l_per_min / v1, pk.q2_l_per_min / v1, pk.q3_l_per_min / v1
    k21, k31, ke0 = pk.q2_l_per_min / v2, pk.q3_l_per_min / v3, pk.ke0_per_min
    m = np.zeros((v1.shape[0], N_STATES, N_STATES))
    m[:, 0, 0], m[:, 0, 1], m[:, 0, 2] = -(k10 + k12 + k13), k21, k31
    m[:, 1, 0], m[:, 1, 1] = k12, -k21
    m[:, 2, 0], m[:, 2, 2] = k13, -k31
    m[:, 3, 0], m[:, 3, 3] = ke0 / v1, -ke0
    return m


@dataclass(frozen=True, slots=True)
class StepPropagator:
    """The exact step ``x' = transition x + input rate`` of each patient.

    Attributes:
        transition: exp(M dt), (n, 4, 4).
        input: integral of exp(M s) e1 over the step, (n, 4), per mg/min.
    """

    transition: np.ndarray
    input: np.ndarray


def step_propagator(pk: EffectSitePK, dt_min: float | np.ndarray) -> StepPropagator:
    """Exact propagator of a step of ``dt_min`` (scalar or (n,)) at a constant rate.

    The exponential of the augmented matrix ``[[M, e1], [0, 0]] dt`` holds ``exp(M dt)`` and
    the input response (Van Loan), one :func:`~pkgym.sim.expm.batched_expm` for all patients.

    Examples:
        >>> pk = eleveld_pk(Eleveld2018(), *[np.array([v]) for v in (35, 70, 170, 0, 0)])
        >>> step = step_propagator(pk, 1.0 / 6.0)
        >>> round(float(step.input[0, 0]), 4)  # mg in A1 after 10 s at 1 mg/min
        0.1566
    """
    m = system_matrices(pk)
    n = m.shape[0]
    dt = np.broadcast_to(np.asarray(dt_min, float), (n,))
    if np.any(dt < 0) or not np.all(np.isfinite(dt)):
        raise ValueError(f"dt_min must be finite and >= 0, got {dt_min}")
    augmented = np.zeros((n, N_STATES + 1, N_STATES + 1))
    augmented[:, :N_STATES, :N_STATES] = m
    augmented[:, 0, N_STATES] = 1.0
    exponential = batched_expm(augmented * dt[:, None, None])
    return StepPropagator(exponential[:, :N_STATES, :N_STATES].copy(),
                          exponential[:, :N_STATES, N_STATES].copy())


def advance(state: np.ndarray, rate_mg_per_min: np.ndarray, step: StepPropagator) -> np.ndarray:
    """The state after one step at a constant rate (pure), (n, 4).

    Examples:
        >>> pk = eleveld_pk(Eleveld2018(), *[np.array([v]) for v in (35, 70, 170, 0, 0)])
        >>> x = advance(np.zeros((1, 4)), np.array([60.0]), step_propagator(pk, 1.0))
        >>> bool(x[0, 0] > x[0, 1] > 0)
        True
    """
    return (np.einsum("nij,nj->ni", step.transition, state)
            + step.input * np.asarray(rate_mg_per_min, float)[:, None])


def rhs(t_min: float, y: np.ndarray, pk: EffectSitePK, rate_mg_per_min: np.ndarray
        ) -> np.ndarray:
    """The ODE right-hand side for the flattened states (n * 4,) (solve_ivp tests)."""
    x = y.reshape(-1, N_STATES)
    dx = np.einsum("nij,nj->ni", system_matrices(pk), x)
    dx[:, 0] += rate_mg_per_min
    return dx.reshape(-1)


def plasma_concentration(state: np.ndarray, pk: EffectSitePK) -> np.ndarray:
    """Central (arterial) concentration A1 / V1, mg/L (= ug/mL), (n,)."""
    return state[:, 0] / pk.v1_l
