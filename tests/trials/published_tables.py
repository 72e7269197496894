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

BRAUN_CRM_EXACT = {
    "source": "Norris DC (2021) 'MCSE-Free CRM Performance and Safety Assessment', vignette of "
    "the R package precautionary (docs/articles/MCSE-Free.html): complete path enumeration, "
    "hence exact, of the calibrated CRM of Braun TM (2020) 'A simulation-free approach to "
    "assessing the performance of the continual reassessment method' (p. 8 and Appendix 1). "
    "Empiric (power) model, N(0, 0.85^2) prior, target 0.25, cohorts of 2 up to 30 patients "
    "starting at dose 1, no skipping when escalating, stop once dose 1 has >= 5 patients or any "
    "dose >= 10; the MTD is the final recommendation (the next cohort's dose). Scenario: the "
    "skeleton itself (true MTD dose 3). An R-package vignette, not a journal table.",
    "skeleton": (0.03, 0.11, 0.25, 0.42, 0.58, 0.71),
    "prior_sd": 0.85,
    "target": 0.25,
    "cohort_size": 2,
    "max_sample_size": 30,
    "stop_patients_at_lowest": 5,
    "stop_patients_at_level": 10,
    "selection_probability": (0.010420, 0.248309, 0.560418, 0.172114, 0.008630, 0.000109),
    "fraction_at_mtd": 0.3895,  # mean over trials of (cohorts at dose 3) / (cohorts)
    "fraction_above_mtd": 0.1971,  # mean over trials of (cohorts at doses 4-6) / (cohorts)
    "dlt_rate_above_mtd": 0.442,  # E[DLTs at doses 4-6] / E[patients at doses 4-6]
}
