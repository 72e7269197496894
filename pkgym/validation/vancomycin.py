"""Vancomycin (Goti 2018) against the published summary of its own development cohort.

Goti et al. 2018 (Ther Drug Monit 40:212) report, in Table 1, the cohort the model was fitted
to: 1812 hospitalised adults (two academic centres in Atlanta, 2011-2012), 2765 routine-TDM
concentrations, median Cockcroft-Gault CrCL 62 mL/min (4-150, capped at 150) and a median
observed vancomycin concentration of 18 mg/L (5.1-120; below 5 mg/L was excluded as BQL).
Table 1 is read as transcribed by nlmixr2lib (``Goti_2018_vancomycin.R``, ``population``).

The first target checks the default virtual population (``ADULT_INPATIENTS``), the second
the model and that population together under an *assumed* empiric regimen, since Goti's
local nomogram is not published: the CAMERA2 trial protocol's CrCL bands (Trials 2016,
doi:10.1186/s13063-016-1295-3, Table 1).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from pkgym.models.vancomycin import Goti2018
from pkgym.models.vancomycin_course import infusion_duration_h
from pkgym.populations.streams import patient_uniforms, root_seed_sequence
from pkgym.populations.vancomycin import ADULT_INPATIENTS
from pkgym.sim.doses import DoseSchedule
from pkgym.sim.linear import simulate_linear
from pkgym.validation.targets import Target, ValidationResult

GOTI_TABLE1 = ("Goti et al. 2018, Ther Drug Monit 40:212, Table 1 (n = 1812 adults; as "
               "transcribed by nlmixr2lib Goti_2018_vancomycin)")
OBSERVED_CRCL_MEDIAN_ML_PER_MIN = 62.0
OBSERVED_CONCENTRATION_MEDIAN_MG_PER_L = 18.0
N_PATIENTS_GOTI, N_CONCENTRATIONS_GOTI = 1812, 2765
BQL_MG_PER_L = 5.0
"""Goti excluded concentrations below 5 mg/L (BQL); the simulated levels are censored alike."""
CRCL_TOLERANCE, CONCENTRATION_TOLERANCE = 0.15, 0.25
"""Relative tolerances, fixed before the first run: 15% on a covariate median the population
was built to match (its creatinine and age spreads are assumed), 25% on a concentration
median whose regimen and sampling times are assumed (see the notes)."""
N_DOSES = 4
DIALYSIS_LOAD_MG_PER_KG, MAX_DOSE_MG, DIALYSIS_LEVEL_H = 25.0, 3000.0, 48.0
OUTPUT_TIMES_H = np.array([35.5, 47.5, 48.0])
"""Level times: 30 min before the 4th q12h dose, before the 3rd q24h dose, 48 h after one
dose (q48h, and the pre-dialysis level of a dialysis patient)."""
NOTES = (
    "Observed: Goti 2018 Table 1 (via nlmixr2lib's transcription, not the paper itself): "
    "1812 adult inpatients, 18.5% on intermittent haemodialysis, median CrCL 62 mL/min, 2765 "
    "routine therapeutic-drug-monitoring concentrations with median 18 mg/L (5.1-120 mg/L). "
    "Simulated: pkgym's default vancomycin population (ADULT_INPATIENTS, built from the same "
    "Table 1 marginals, with assumed creatinine and age spreads) and the Goti 2018 model with "
    "its between-subject variability and residual error.",
    "Regimen (assumed; Goti's nomogram is not published): the CAMERA2 protocol's starting "
    "doses by Cockcroft-Gault CrCL (> 90: 1.5 g q12h; 60-90: 1 g q12h; 20-60: 1 g q24h; < 20: "
    "1 g q48h), no loading dose, infused at <= 1 g/h over >= 1 h; levels 30 min before the 4th "
    "dose (q12h), before the 3rd (q24h) or 48 h after the first (q48h). Dialysis patients get "
    "25 mg/kg (at most 3 g) once and a level 48 h later (the next session of a thrice-weekly "
    "schedule; the model has no dialysis-session clearance). Levels carry Goti's residual error "
    "and values below 5 mg/L are dropped, as Goti dropped BQL samples.",
    "Caveats: Goti's concentrations were taken at whatever times routine care chose, under "
    "whatever doses the clinicians gave, and two thirds of patients contributed one sample; the "
    "concentration target is therefore a plausibility check of the model and population "
    "together, not a validation of a dosing rule. The CrCL target checks the population only. "
    "Neither is held-out: the model was fitted to, and the population built from, this cohort.",
)


def _cohort(n_patients: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Covariates, etas (n, 3) and residual uniforms (n, 1) of patients 0..n-1."""
    root = root_seed_sequence(seed)
    cohort = ADULT_INPATIENTS.sample(n_patients, seed=root)
    etas = Goti2018().variability.sample_etas(root, n_patients).to_numpy()
    return cohort, etas, patient_uniforms(root, n_patients, 1, stream="residual")


def camera2_regimen(crcl_ml_per_min: np.ndarray, on_dialysis: np.ndarray,
                    weight_kg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dose (mg), interval (h) and level time (h) of each patient under the CAMERA2 bands.

    Args:
        crcl_ml_per_min: Cockcroft-Gault CrCL, mL/min, shape (n,).
        on_dialysis: intermittent haemodialysis, 0/1, shape (n,).
        weight_kg: total body weight, kg, shape (n,).

    Examples:
        >>> dose, every, level = camera2_regimen(np.array([100.0, 70.0, 30.0, 10.0, 10.0]),
        ...                                      np.array([0, 0, 0, 0, 1]), np.full(5, 80.0))
        >>> dose.tolist(), every.tolist(), level.tolist()
        ([1500.0, 1000.0, 1000.0, 1000.0, 2000.0], [12.0, 12.0, 24.0, 48.0, 48.0], \
[35.5, 35.5, 47.5, 48.0, 48.0])
    """
    crcl = np.asarray(crcl_ml_per_min, dtype=np.float64)
    dialysis = np.asarray(on_dialysis) > 0
    dose = np.where(crcl > 90.0, 1500.0, 1000.0)
    every = np.select([crcl >= 60.0, crcl >= 20.0], [12.0, 24.0], 48.0)
    level = np.select([every == 12.0, every == 24.0], OUTPUT_TIMES_H[:2], OUTPUT_TIMES_H[2])
    load = np.minimum(DIALYSIS_LOAD_MG_PER_KG * np.asarray(weight_kg), MAX_DOSE_MG)
    return (np.where(dialysis, load, dose), np.where(dialysis, DIALYSIS_LEVEL_H, every),
            np.where(dialysis, DIALYSIS_LEVEL_H, level))


def _schedule(dose_mg: np.ndarray, every_h: np.ndarray, on_dialysis: np.ndarray) -> DoseSchedule:
    """``N_DOSES`` doses per patient (one for dialysis patients), infused at <= 1 g/h."""
    n = dose_mg.size
    amounts = np.repeat(dose_mg[:, None], N_DOSES, axis=1)
    amounts[np.asarray(on_dialysis) > 0, 1:] = 0.0
    return DoseSchedule(time_h=every_h[:, None] * np.arange(N_DOSES),
                        amount_mg=amounts,
                        duration_h=np.repeat(infusion_duration_h(dose_mg)[:, None], N_DOSES, 1),
                        route=np.zeros((n, N_DOSES), dtype=np.int8))


def simulate_levels(n_patients: int, seed: int) -> pd.DataFrame:
    """One TDM level per virtual patient under the CAMERA2 bands (see the module notes).

    Args:
        n_patients: virtual patients (>= 1).
        seed: root seed; patient k is the same whatever ``n_patients`` is.

    Returns:
        One row per patient: ``crcl_ml_per_min``, ``on_dialysis``, ``dose_mg``,
        ``interval_h``, ``level_time_h``, ``true_mg_per_l`` and ``measured_mg_per_l`` (NaN
        below the 5 mg/L BQL limit).

    Examples:
        >>> levels = simulate_levels(20, seed=0)
        >>> bool(levels["true_mg_per_l"].gt(0).all()), len(levels)
        (True, 20)
    """
    model = Goti2018()
    cohort, etas, uniforms = _cohort(n_patients, seed)
    crcl = model.creatinine_clearance_ml_per_min(
        cohort["age_years"].to_numpy(), cohort["weight_kg"].to_numpy(),
        cohort["serum_creatinine_mg_per_dl"].to_numpy(), cohort["is_female"].to_numpy())
    dialysis = cohort["on_dialysis"].to_numpy()
    dose, every, level_h = camera2_regimen(crcl, dialysis, cohort["weight_kg"].to_numpy())
    params = model.linear_params(weight_kg=cohort["weight_kg"].to_numpy(), on_dialysis=dialysis,
                                 creatinine_clearance_ml_per_min=crcl, etas=etas)
    solution = simulate_linear(params, _schedule(dose, every, dialysis), OUTPUT_TIMES_H)
    column = np.searchsorted(OUTPUT_TIMES_H, level_h)
    true = solution.concentration_mg_per_l[np.arange(n_patients), column]
    assay = replace(model.residual_error, lloq=BQL_MG_PER_L)
    measured = assay.measure_from_uniforms(true, uniforms[:, 0]).values
    return pd.DataFrame({"crcl_ml_per_min": crcl, "on_dialysis": dialysis, "dose_mg": dose,
                         "interval_h": every, "level_time_h": level_h, "true_mg_per_l": true,
                         "measured_mg_per_l": measured})


def _quantiles(levels: pd.DataFrame) -> pd.DataFrame:
    """Quantiles of CrCL and of the levels, one row per quantile."""
    probs = [0.05, 0.25, 0.5, 0.75, 0.95]
    return pd.DataFrame({"quantile": probs} | {
        name: levels[name].quantile(probs).to_numpy()
        for name in ("crcl_ml_per_min", "true_mg_per_l", "measured_mg_per_l")})


def _regimens(levels: pd.DataFrame) -> pd.DataFrame:
    """Patients, median true level and share below the BQL limit, by regimen."""
    regimen = np.where(levels["on_dialysis"] > 0, "dialysis: 25 mg/kg once",
                       levels["dose_mg"].map("{:.0f} mg".format) + " q"
                       + levels["interval_h"].map("{:.0f}h".format))
    return levels.assign(regimen=regimen).groupby("regimen").agg(
        n=("true_mg_per_l", "size"), median_true_mg_per_l=("true_mg_per_l", "median"),
        share_below_bql=("measured_mg_per_l", lambda v: float(v.isna().mean()))).reset_index()


def validate_vancomycin(n_patients: int = 2000, seed: int = 0) -> ValidationResult:
    """Goti 2018's model and pkgym's population against Goti's Table 1 (see the module doc).

    Args:
        n_patients: virtual patients (>= 1).
        seed: root seed of the virtual cohort and its assay noise.

    Returns:
        Two relative targets (median CrCL, median measured level), the quantile and regimen
        tables, and notes on the data, regimen and caveats.

    Examples:
        >>> result = validate_vancomycin(50, seed=0)
        >>> [t.name for t in result.targets]  # doctest: +NORMALIZE_WHITESPACE
        ['median Cockcroft-Gault CrCL (mL/min)',
         'median measured vancomycin level, >= 5 mg/L (mg/L)']
    """
    levels = simulate_levels(n_patients, seed)
    kept = levels["measured_mg_per_l"].dropna()
    targets = (
        Target(model="vancomycin", name="median Cockcroft-Gault CrCL (mL/min)",
               observed=OBSERVED_CRCL_MEDIAN_ML_PER_MIN,
               simulated=float(levels["crcl_ml_per_min"].median()), rule="relative",
               tolerance=CRCL_TOLERANCE, source=GOTI_TABLE1, split="",
               n_observed=N_PATIENTS_GOTI),
        Target(model="vancomycin", name="median measured vancomycin level, >= 5 mg/L (mg/L)",
               observed=OBSERVED_CONCENTRATION_MEDIAN_MG_PER_L,
               simulated=float(kept.median()) if kept.size else float("nan"), rule="relative",
               tolerance=CONCENTRATION_TOLERANCE,
               source=GOTI_TABLE1 + "; simulated regimen: CAMERA2 protocol bands, Trials 2016, "
               "doi:10.1186/s13063-016-1295-3, Table 1", split="",
               n_observed=N_CONCENTRATIONS_GOTI),
    )
    return ValidationResult(
        model="vancomycin", title="Vancomycin (Goti 2018) against Goti's Table 1 cohort",
        targets=targets, tables={"quantiles": _quantiles(levels), "regimens": _regimens(levels)},
        notes=NOTES)
