"""Hamberg 2010 calibrated to real patients: the IWPC 2009 stable doses (``Warfarin-v1``).

Published Hamberg 2010 patients need more warfarin than real ones: on the IWPC data set (N Engl
J Med 2009;360:753) the median steady-state dose of a US-clinic population is 17% above that
of IWPC white patients, the spread of log dose within a genotype is 0.66 against 0.44, and the
age effect is half the observed one. :class:`Hamberg2010Iwpc` keeps the model's structure and
its PK as Hamberg measured it from concentrations (CL of the *1 allele, V, ka, MTTs, Hill) and
changes 11 values, each fitted to the **training split** (70%, 4 062 patients with both
genotypes) of the IWPC data and validated on the held-out 30% (``pkgym validate warfarin``).

Method (:mod:`pkgym.validation.warfarin_calibration`): indirect inference. Each real patient
gets 10 virtual twins (their covariates, fresh random effects); each twin's stable dose is the
steady-state dose for an INR landing uniformly in the patient's target +/- 0.5, rounded to
0.5 mg/week (:class:`~pkgym.validation.warfarin_twins.InrWindow`). The parameters minimise
the standardised distance between 17 statistics of real and virtual stable doses: Harrell-
Davis median log dose by CYP2C9 diplotype (6), VKORC1 genotype (3) and race (4); the log-dose
regression coefficients of age, amiodarone and enzyme inducers; the pooled within-genotype
SD of log dose. Seed 0; ``python -m benchmarks.warfarin_calibration`` re-runs it.

Uncertainty (``metadata["rse"]``, for :mod:`pkgym.models.uncertainty`): each calibrated
value's relative SE is the fit's Jacobian SE of its log multiplier (for small SEs the SE of
``log x`` is the relative SE of ``x``); the age effect's is its SE over its value. Both
omegas share one fitted variance scale, so they carry its SE. The values Hamberg measured
from concentrations keep their published RSEs. All from the benchmark's run of 2026-12-07
(estimate and SE table printed first).

Reading the results: the dose level moves into EC50 (x 0.81 for G, x 0.86 for A); the *2 and
*3 alleles keep 15% more clearance than published; CL falls 1.25%/year with age, not 0.57%;
asian, black and other ancestry need 13%, 13% and 20% less EC50 than white patients at the
same genotype (a stand-in for what the model lacks: African CYP2C9 alleles, VKORC1 haplotypes
beyond -1639, CYP4F2, diet); amiodarone cuts CL by 23%, enzyme inducers raise it by 34%; and
the between-subject variances of CL and EC50 are 0.28 times Hamberg's (0.089 -> 0.0247,
0.34 -> 0.0942). Their sum, 0.119, is close to 0.124, what Hamberg's table gives if its
values are read as SDs (0.089^2 + 0.34^2), as DavAug's implementation reads them: the IWPC
doses favour that reading over the variance reading pkgym v0 and ReiL use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pkgym.models.warfarin import H2010, Hamberg2010

CALIBRATED = ("calibrated to IWPC 2009 (N Engl J Med 360:753), training split n = 4 062, "
              "indirect inference on titrated twins (pkgym.validation.warfarin_calibration)")
"""The source of every calibrated value."""


def _c(value: float, unit: str, published: float | tuple[float, ...], rse: float) -> float:
    return field(default=value, metadata={"unit": unit, "source": CALIBRATED, "rse": rse,
                                          "published": published, "published_source": H2010})


@dataclass(frozen=True, slots=True, kw_only=True)
class Hamberg2010Iwpc(Hamberg2010):
    """Hamberg 2010 with 11 values fitted to the IWPC stable doses (module docstring).

    Every changed field's metadata carries ``source`` (the calibration), ``published`` (the
    value it replaces) and ``published_source``.

    Examples:
        >>> import numpy as np
        >>> m = Hamberg2010Iwpc()
        >>> p = m.parameters(np.array([0]), np.array([0]), np.array([71.0]))
        >>> round(float(p.ec50_mg_per_l[0]), 3), round(float(p.clearance_l_per_h[0]), 3)
        (3.317, 0.348)
    """

    clearance_star2_l_per_h: float = _c(0.10088, "L/h per allele", 0.0879, 0.0656)
    clearance_star3_l_per_h: float = _c(0.048533, "L/h per allele", 0.0422, 0.142)
    age_effect_per_year: float = _c(0.012497, "1/y", 0.00571, 0.0406)
    ec50_g_mg_per_l: float = _c(1.6586, "mg/L per allele", 2.05, 0.0181)
    ec50_a_mg_per_l: float = _c(0.8285, "mg/L per allele", 0.96, 0.0336)
    omega_clearance: float = _c(0.024653, "variance of log", 0.089, 0.0392)
    omega_ec50: float = _c(0.094181, "variance of log", 0.34, 0.0392)
    ec50_race_factor: tuple[float, ...] = field(
        default=(1.0, 0.86649, 0.87357, 0.80337),
        metadata={"unit": "multiplier of EC50, per RACES (white, asian, black, other)",
                  "source": CALIBRATED, "rse": (None, 0.0400, 0.0334, 0.0347),
                  "published": (1.0, 1.0, 1.0, 1.0),
                  "published_source": "not in " + H2010})
    amiodarone_clearance_factor: float = field(
        default=0.7688, metadata={"unit": "multiplier of CL", "source": CALIBRATED,
                                  "rse": 0.0288, "published": 1.0,
                                  "published_source": "not in " + H2010})
    enzyme_inducer_clearance_factor: float = field(
        default=1.3439, metadata={"unit": "multiplier of CL", "source": CALIBRATED,
                                  "rse": 0.0637, "published": 1.0,
                                  "published_source": "not in " + H2010})
