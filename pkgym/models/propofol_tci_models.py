"""The propofol models TCI pumps carry: Marsh 1991 and Schnider 1998/1999 (beliefs, not truths).

* **Marsh** B, White M, Morton N, Kenny GNC. Pharmacokinetic model driven infusion of
  propofol in children. Br J Anaesth 1991;67:41-48: weight-proportional, V1 0.228 L/kg,
  k10 0.119, k12 0.112, k13 0.0419, k21 0.055, k31 0.0033 /min (the adult set of the
  Diprifusor). Its ke0 here is **1.2 /min, the "modified Marsh"** of Struys MMRF et al.
  Anesthesiology 2000;92:399-406 (chosen so that the time to peak effect is 1.6 min), as
  effect-site-targeting pumps use it; the Diprifusor's 0.26 /min is for plasma targeting
  (``ke0_per_min`` may be set to it).
* **Schnider** TW et al. The influence of method of administration and covariates on the
  pharmacokinetics of propofol in adult volunteers. Anesthesiology 1998;88:1170-1182
  (V1 4.27, V2 18.9 - 0.391 (age - 53), V3 238 L; CL 1.89 + 0.0456 (weight - 77) - 0.0681
  (LBM - 59) + 0.0264 (height - 177), Q2 1.29 - 0.024 (age - 53), Q3 0.836 L/min) and
  Anesthesiology 1999;90:1502-1516 (ke0 0.456 /min, time to peak effect 1.6 min). Lean body
  mass of James (1976): men ``1.1 W - 128 (W/H)^2``, women ``1.07 W - 148 (W/H)^2``.

Both return :class:`~pkgym.models.propofol_eleveld.EffectSitePK`, so the exact step of
:mod:`pkgym.models.propofol_eleveld` serves them (a belief is simulated as the truth is).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pkgym.models.propofol_eleveld import EffectSitePK


@dataclass(frozen=True, slots=True, kw_only=True)
class Marsh1991:
    """Marsh's adult parameters (per kg and per minute) and the modified-Marsh ke0."""

    v1_l_per_kg: float = field(default=0.228, metadata={"unit": "L/kg", "source": "Marsh 1991"})
    k10_per_min: float = field(default=0.119, metadata={"unit": "1/min", "source": "Marsh 1991"})
    k12_per_min: float = field(default=0.112, metadata={"unit": "1/min", "source": "Marsh 1991"})
    k13_per_min: float = field(default=0.0419, metadata={"unit": "1/min",
                                                          "source": "Marsh 1991"})
    k21_per_min: float = field(default=0.055, metadata={"unit": "1/min", "source": "Marsh 1991"})
    k31_per_min: float = field(default=0.0033, metadata={"unit": "1/min",
                                                          "source": "Marsh 1991"})
    ke0_per_min: float = field(default=1.2, metadata={
        "unit": "1/min", "source": "Struys 2000 (modified Marsh); Diprifusor: 0.26"})

    def __post_init__(self) -> None:
        """Every rate and the volume > 0."""
        for name in ("v1_l_per_kg", "k10_per_min", "k12_per_min", "k13_per_min",
                     "k21_per_min", "k31_per_min", "ke0_per_min"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")


def marsh_pk(weight_kg: np.ndarray, model: Marsh1991 | None = None) -> EffectSitePK:
    """Marsh's PK of each patient (only weight matters), with clearances ``k V1``.

    Examples:
        >>> pk = marsh_pk(np.array([70.0]))
        >>> round(float(pk.v1_l[0]), 2), round(float(pk.cl_l_per_min[0]), 3)
        (15.96, 1.899)
    """
    m = model or Marsh1991()
    weight = np.asarray(weight_kg, float)
    v1 = m.v1_l_per_kg * weight
    q2, q3 = m.k12_per_min * v1, m.k13_per_min * v1
    return EffectSitePK(v1_l=v1, v2_l=q2 / m.k21_per_min, v3_l=q3 / m.k31_per_min,
                        cl_l_per_min=m.k10_per_min * v1, q2_l_per_min=q2, q3_l_per_min=q3,
                        ke0_per_min=np.full_like(weight, m.ke0_per_min))


def james_lbm_kg(weight_kg: np.ndarray, height_cm: np.ndarray, is_female: np.ndarray
                 ) -> np.ndarray:
    """Lean body mass of James (1976), kg (Schnider's covariate).

    Examples:
        >>> float(james_lbm_kg(77.0, 177.0, 0.0).round(1))
        60.5
    """
    weight, height = np.asarray(weight_kg, float), np.asarray(height_cm, float)
    ratio2 = (weight / height) ** 2
    return np.where(np.asarray(is_female) > 0.5, 1.07 * weight - 148.0 * ratio2,
                    1.1 * weight - 128.0 * ratio2)


SCHNIDER_1998 = "Schnider 1998 (Anesthesiology 88:1170), final model"


def _s(value: float, unit: str, source: str = SCHNIDER_1998) -> float:
    """A Schnider parameter field: value, unit and source in the metadata."""
    return field(default=value, metadata={"unit": unit, "source": source})


@dataclass(frozen=True, slots=True, kw_only=True)
class Schnider1998:
    """Schnider's covariate model (centred on 53 y, 77 kg, LBM 59 kg, 177 cm) and ke0."""

    v1_l: float = _s(4.27, "L")
    v2_l: float = _s(18.9, "L")
    v2_age_l_per_year: float = _s(-0.391, "L/year")
    v3_l: float = _s(238.0, "L")
    cl_l_per_min: float = _s(1.89, "L/min")
    cl_weight_l_per_min_per_kg: float = _s(0.0456, "L/min/kg")
    cl_lbm_l_per_min_per_kg: float = _s(-0.0681, "L/min/kg")
    cl_height_l_per_min_per_cm: float = _s(0.0264, "L/min/cm")
    q2_l_per_min: float = _s(1.29, "L/min")
    q2_age_l_per_min_per_year: float = _s(-0.024, "L/min/year")
    q3_l_per_min: float = _s(0.836, "L/min")
    ke0_per_min: float = _s(0.456, "1/min", "Schnider 1999 (Anesthesiology 90:1502)")
    age_centre_years: float = _s(53.0, "years")
    weight_centre_kg: float = _s(77.0, "kg")
    lbm_centre_kg: float = _s(59.0, "kg")
    height_centre_cm: float = _s(177.0, "cm")

    def __post_init__(self) -> None:
        """Volumes, Q3, ke0 and the centres > 0."""
        for name in ("v1_l", "v2_l", "v3_l", "cl_l_per_min", "q2_l_per_min", "q3_l_per_min",
                     "ke0_per_min", "age_centre_years", "weight_centre_kg", "lbm_centre_kg",
                     "height_centre_cm"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")


def schnider_pk(age_years: np.ndarray, weight_kg: np.ndarray, height_cm: np.ndarray,
                is_female: np.ndarray, model: Schnider1998 | None = None) -> EffectSitePK:
    """Schnider's PK and ke0 of each patient (module docstring).

    Examples:
        >>> pk = schnider_pk(np.array([53.0]), np.array([77.0]), np.array([177.0]),
        ...                  np.array([0.0]))
        >>> round(float(pk.v2_l[0]), 1), round(float(pk.cl_l_per_min[0]), 3)
        (18.9, 1.789)
    """
    m = model or Schnider1998()
    age = np.asarray(age_years, float)
    weight, height = np.asarray(weight_kg, float), np.asarray(height_cm, float)
    lbm = james_lbm_kg(weight, height, is_female)
    ones = np.ones_like(age)
    cl = (m.cl_l_per_min + m.cl_weight_l_per_min_per_kg * (weight - m.weight_centre_kg)
          + m.cl_lbm_l_per_min_per_kg * (lbm - m.lbm_centre_kg)
          + m.cl_height_l_per_min_per_cm * (height - m.height_centre_cm))
    return EffectSitePK(
        v1_l=m.v1_l * ones, v2_l=m.v2_l + m.v2_age_l_per_year * (age - m.age_centre_years),
        v3_l=m.v3_l * ones, cl_l_per_min=cl,
        q2_l_per_min=m.q2_l_per_min + m.q2_age_l_per_min_per_year * (age - m.age_centre_years),
        q3_l_per_min=m.q3_l_per_min * ones, ke0_per_min=m.ke0_per_min * ones)
