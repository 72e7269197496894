"""Adult inpatients receiving vancomycin: the Goti 2018 cohort, and a renal-impairment cohort.

Marginals from Goti et al. 2018 (Ther Drug Monit 40:212) Table 1, n = 1812 (as transcribed
by nlmixr2lib's Goti_2018_vancomycin): age median 57 y (17-101), 46.5% female, weight median
79 kg (33-255), 18.5% on intermittent haemodialysis. Goti gives no creatinine or height
distribution; creatinine of non-dialysis patients is log-normal with median 0.90 mg/dL (Tong
et al. 2026, JAC-AMR dlag016, Table 1: 87 586 US inpatients) and an *assumed* CV of 50%;
pre-dialysis creatinine is log-normal with an *assumed* median 7 mg/dL, CV 35%. Height and
weight come jointly by sex (:class:`BodySize`), with mean weights lowered to 84 kg (men) and
74 kg (women) so that the median weight is ~79 kg as in Goti (assumed split by sex). The age
spread (SD 18 y) is assumed.

The renal-impairment cohort keeps the demographics but is older (mean 68 y), has 40% on
dialysis and a non-dialysis creatinine median of 1.8 mg/dL (CrCL mostly < 60 mL/min): these
are assumed values describing the population studied, not sampled from a paper.
"""

from __future__ import annotations

from pkgym.populations.body_size import BodySize, SexAnthropometry
from pkgym.populations.cohort import CohortSchema, ColumnRule
from pkgym.populations.conditional import ByGroup
from pkgym.populations.discrete import Bernoulli
from pkgym.populations.distributions import BoundedLogNormal, BoundedNormal
from pkgym.populations.population import Population

INPATIENT_BODY_SIZE = BodySize(
    male=SexAnthropometry(height_mean_cm=175.3, height_sd_cm=7.6, weight_mean_kg=84.0,
                          log_weight_sd=0.24, correlation=0.45),
    female=SexAnthropometry(height_mean_cm=161.3, height_sd_cm=7.1, weight_mean_kg=74.0,
                            log_weight_sd=0.27, correlation=0.30),
    weight_low_kg=33.0, weight_high_kg=255.0,
)


def inpatient_population(*, age_mean_years: float = 57.0, dialysis_fraction: float = 0.185,
                         creatinine_median_mg_per_dl: float = 0.9) -> Population:
    """Adult vancomycin inpatients (Goti 2018 Table 1 marginals; see module docstring).

    Examples:
        >>> cohort = inpatient_population().sample(3, seed=0)
        >>> "serum_creatinine_mg_per_dl" in cohort.columns
        True
    """
    return Population(
        covariates={
            "is_female": Bernoulli(p=0.465),
            "age_years": BoundedNormal(mean=age_mean_years, sd=18.0, low=18.0, high=100.0),
            "body_size": INPATIENT_BODY_SIZE,
            "on_dialysis": Bernoulli(p=dialysis_fraction),
            "serum_creatinine_mg_per_dl": ByGroup(column="on_dialysis", specs={
                0: BoundedLogNormal(median=creatinine_median_mg_per_dl, cv=0.5, low=0.3,
                                    high=6.0),
                1: BoundedLogNormal(median=7.0, cv=0.35, low=3.0, high=15.0)}),
        },
    )


ADULT_INPATIENTS = inpatient_population()
"""The default population of ``pkgym/Vancomycin-v0``."""

RENAL_IMPAIRMENT = inpatient_population(age_mean_years=68.0, dialysis_fraction=0.4,
                                        creatinine_median_mg_per_dl=1.8)
"""Older inpatients with impaired renal function, 40% on dialysis."""

VANCOMYCIN_COHORT_SCHEMA = CohortSchema(columns={
    "age_years": ColumnRule(low=16.0, high=110.0, unit="years"),
    "is_female": ColumnRule(low=0, high=1, unit="0/1", integer=True),
    "weight_kg": ColumnRule(low=25.0, high=300.0, unit="kg"),
    "height_cm": ColumnRule(low=120.0, high=230.0, unit="cm"),
    "serum_creatinine_mg_per_dl": ColumnRule(low=0.1, high=20.0, unit="mg/dL"),
    "on_dialysis": ColumnRule(low=0, high=1, unit="0/1", integer=True),
})
"""Columns a user's vancomycin cohort CSV must have, with physiological ranges."""
