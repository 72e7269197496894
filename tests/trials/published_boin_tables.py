"""Published BOIN operating characteristics used as reproduction targets (issue 24).

Each entry quotes its source; numbers are copied, never derived.
"""

from __future__ import annotations

BOIN_GET_OC_EXTRASAFE = {
    "source": "Output of BOIN::get.oc (BOIN 2.7.2) printed in the vignette "
    "'Compare_to_original_BOIN' of the R package bfboin 0.1.1 (D. Magirr, B. Zhang; "
    "github.com/openpharma/bfboin, inst/doc/Compare_to_original_BOIN.html): get.oc(target=0.25, "
    "p.true=c(0.1, 0.5), ncohort=10, cohortsize=3, n.earlystop=9, startdose=1, titration=FALSE, "
    "cutoff.eli=0.95, extrasafe=TRUE, offset=0.1, boundMTD=FALSE, ntrial=10000, seed=6). "
    "An R-package vignette output, not a journal table.",
    "target": 0.25,
    "true_dlt_probabilities": (0.1, 0.5),
    "cohort_size": 3,
    "max_sample_size": 30,
    "n_earlystop": 9,
    "offset": 0.1,
    "n_trials": 10_000,
    "selection_percent": (77.75, 18.42),
    "percent_stop": 3.83,
    "mean_patients_per_dose": (10.7160, 7.7784),
    "mean_sample_size": 18.4944,
}

ZHAO_2024_TABLE_4_BOIN = {
    "source": "Zhao Y, Yuan Y, Korn EL, Freidlin B (2024). Backfilling patients in phase I "
    "dose-escalation trials using Bayesian optimal interval design (BOIN). Clin Cancer Res "
    "30(4):673-679, Table 4, rows 'BOIN' of scenarios 1-5 (scenarios 6-12 repeat these DLT "
    "curves with other response rates, which BOIN ignores); the table as reproduced in bfboin's "
    "vignette 'Compare to publication' (vignettes/table_4.PNG) and in simFastBOIN's "
    "tests/testthat/fixtures/zhao2024-table4.csv (github.com/gosukehommaEX/simFastBOIN). Design, "
    "as simFastBOIN documents for reproducing Table 4 (help of sim_bf_boin, "
    "tests/testthat/test-sim_bf_boin.R): target 0.25, 10 cohorts of 3, n.earlystop 9, one DLT in "
    "three patients -> stay, start at dose 1. "
    "The number of simulated trials behind the table is not in these sources.",
    "target": 0.25,
    "cohort_size": 3,
    "max_sample_size": 30,
    "n_earlystop": 9,
    "true_dlt_probabilities": (
        (0.25, 0.41, 0.45, 0.49, 0.53),
        (0.12, 0.25, 0.42, 0.49, 0.55),
        (0.04, 0.12, 0.25, 0.43, 0.63),
        (0.02, 0.06, 0.10, 0.25, 0.40),
        (0.02, 0.05, 0.08, 0.11, 0.25),
    ),
    # Per scenario: correct selection %, over-dosing selection % (None: no dose above the MTD),
    # mean patients at the MTD, average sample size.
    "correct_selection_percent": (77.0, 55.6, 56.7, 53.3, 63.9),
    "overdosing_selection_percent": (16.7, 14.5, 12.3, 17.1, None),
    "mean_patients_at_mtd": (8.7, 8.4, 8.0, 7.7, 7.3),
    "mean_sample_size": (15.1, 20.7, 23.9, 25.7, 24.9),
}
