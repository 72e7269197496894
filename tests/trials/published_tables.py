"""Published operating-characteristic tables used as reproduction targets.

Each entry quotes its source; numbers are copied, never derived. ``n_trials`` is the number of
simulated trials behind the published numbers (sets their Monte-Carlo error).
"""

from __future__ import annotations

BOIN_BOUNDARIES_TARGET_0_3 = {
    "source": "Liu S, Yuan Y (2015) J R Stat Soc C 64:507 (lambda_e, lambda_d for phi = 0.3, "
    "3 decimals as published); full precision printed by simFastBOIN's boin_lambda(0.30) "
    "(CRAN simFastBOIN vignette 'Introduction to simFastBOIN')",
    "published": (0.236, 0.358),
    "package": (0.2364907, 0.3585195),
}

SIMFASTBOIN_VIGNETTE_BOIN = {
    "source": "simFastBOIN (G. Homma), CRAN vignette 'Introduction to simFastBOIN' (2025-12-11), "
    "sim_boin(n_trials=1000, target=0.30, p_true=c(0.10,0.25,0.40,0.55,0.70), n_cohort=10, "
    "cohort_size=3, seed=123); package defaults n_earlystop=18 ('with_stay'), cutoff_eli=0.95. "
    "An R-package vignette table, not a journal table.",
    "target": 0.30,
    "true_dlt_probabilities": (0.10, 0.25, 0.40, 0.55, 0.70),
    "cohort_size": 3,
    "max_sample_size": 30,
    "n_earlystop": 18,
    "n_trials": 1000,
    "rounding": 0.05,
    "selection_percent": (10.8, 52.4, 33.8, 2.8, 0.1),
    "no_selection_percent": 0.1,
    "mean_patients_per_dose": (6.8, 11.9, 7.7, 1.8, 0.1),
    "mean_sample_size": 28.4,
}
