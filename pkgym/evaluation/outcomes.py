"""What the evaluation harness records and scores for each environment.

An :class:`OutcomeSpec` names the per-step ``info`` keys :func:`~pkgym.evaluation.runner.
run_policy` keeps, turns them into per-patient scores, and says how reports plot them.
:func:`outcome_spec` picks the spec of an environment's core.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from pkgym.envs.addiction.core import AddictionCore
from pkgym.envs.base import DosingCore
from pkgym.envs.chemo_immune.core import ChemoImmuneCore
from pkgym.envs.chemotherapy.core import ChemotherapyCore
from pkgym.envs.depression.core import DepressionCore
from pkgym.envs.dose_finding.core import DoseFindingCore
from pkgym.envs.vancomycin.core import VancomycinCore
from pkgym.envs.warfarin.core import WarfarinCore
from pkgym.evaluation.metrics import time_in_range_rosendaal

StepTable = Mapping[str, np.ndarray]
"""Per-step values of each recorded key, shape (n_patients, n_steps)."""
EpisodeScores = Callable[[StepTable, Mapping[str, Any]], dict[str, np.ndarray]]
"""(step table, info at reset) -> per-patient scores, each shape (n_patients,)."""


@dataclass(frozen=True, slots=True)
class OutcomeSpec:
    """How one environment's episodes are recorded, scored and plotted.

    Attributes:
        step_metrics: ``info`` keys recorded after every step (``<key>_<step>`` columns).
        scores: per-patient score column -> label; summarised with bootstrap intervals.
        episode_scores: computes the score columns (except ``return``) from the steps.
        level_key, level_label: the step metric plotted as the patient's level.
        target_range: the level's target band in plots.
        in_range_key: the step metric that says whether the level was in range.
        dose_key: the step metric holding the dose given.
    """

    step_metrics: tuple[str, ...]
    scores: Mapping[str, str]
    episode_scores: EpisodeScores
    level_key: str
    level_label: str
    target_range: tuple[float, float]
    in_range_key: str
    dose_key: str = "dose_mg"


def _vancomycin_scores(steps: StepTable, first_info: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Share of intervals with AUC24 in range; whether an AKI ever happened."""
    return {"in_target_range_fraction": steps["in_target_range"].mean(axis=1),
            "had_aki": steps["aki"].any(axis=1).astype(np.float64)}


VANCOMYCIN_OUTCOMES = OutcomeSpec(
    step_metrics=("auc24_mg_h_per_l", "in_target_range", "aki", "dose_mg",
                  "concentration_mg_per_l"),
    scores={"in_target_range_fraction": "share of steps in target", "had_aki": "AKI",
            "return": "return"},
    episode_scores=_vancomycin_scores, level_key="concentration_mg_per_l",
    level_label="level before dose (mg/L)", target_range=(10.0, 20.0),
    in_range_key="in_target_range")
"""``pkgym/Vancomycin-v0``: AUC24 target attainment and kidney injury."""


def warfarin_scores(steps: StepTable, first_info: Mapping[str, Any],
                    target: tuple[float, float] = (2.0, 3.0)) -> dict[str, np.ndarray]:
    """Time in range (Rosendaal, true and measured INR), extreme-INR days, events, tests.

    Examples:
        >>> steps = {"inr": np.array([[1.5, 2.5, 4.5]]), "inr_tested": np.array([[0, 1, 0]]),
        ...          "inr_measured": np.array([[0.0, 2.4, 0.0]]),
        ...          "bleeding_event": np.zeros((1, 3)), "thromboembolic_event": np.zeros((1, 3))}
        >>> first = {"inr": np.array([1.0]), "inr_measured": np.array([1.1]),
        ...          "inr_tested": np.array([True])}
        >>> s = warfarin_scores(steps, first)
        >>> float(s["percent_days_inr_above_4"][0]), float(s["inr_tests"][0])
        (33.33333333333333, 2.0)
    """
    low, high = target
    inr = np.column_stack([np.asarray(first_info["inr"], dtype=np.float64), steps["inr"]])
    days = np.arange(inr.shape[1], dtype=np.float64)
    tested = np.column_stack([np.asarray(first_info["inr_tested"], dtype=bool),
                              np.asarray(steps["inr_tested"], dtype=bool)])
    measured = np.column_stack([np.asarray(first_info["inr_measured"], dtype=np.float64),
                                steps["inr_measured"]])
    measured = np.where(tested, measured, np.nan)
    return {
        "time_in_therapeutic_range": time_in_range_rosendaal(days, inr, low, high),
        "ttr_measured_rosendaal": time_in_range_rosendaal(days, measured, low, high),
        "percent_days_inr_above_4": 100.0 * (steps["inr"] > 4.0).mean(axis=1),
        "percent_days_inr_below_1_5": 100.0 * (steps["inr"] < 1.5).mean(axis=1),
        "bleeding_events": np.asarray(steps["bleeding_event"], dtype=np.float64).sum(axis=1),
        "thromboembolic_events": np.asarray(steps["thromboembolic_event"],
                                             dtype=np.float64).sum(axis=1),
        "inr_tests": tested.sum(axis=1).astype(np.float64),
    }


def warfarin_outcomes(target_inr: tuple[float, float]) -> OutcomeSpec:
    """``pkgym/Warfarin-v0`` and ``WarfarinPGx-v0``: INR time in range, extremes, events.

    Examples:
        >>> warfarin_outcomes((2.0, 3.0)).scores["time_in_therapeutic_range"]
        'TTR (true INR, Rosendaal)'
    """
    return OutcomeSpec(
        step_metrics=("inr", "in_therapeutic_range", "inr_tested", "inr_measured", "dose_mg",
                      "bleeding_event", "thromboembolic_event", "s_warfarin_mg_per_l"),
        scores={"time_in_therapeutic_range": "TTR (true INR, Rosendaal)",
                "ttr_measured_rosendaal": "TTR (measured INR, Rosendaal)",
                "percent_days_inr_above_4": "% days INR > 4",
                "percent_days_inr_below_1_5": "% days INR < 1.5",
                "bleeding_events": "major bleeds", "thromboembolic_events": "thromboembolisms",
                "inr_tests": "INR tests", "return": "return"},
        episode_scores=lambda steps, first: warfarin_scores(steps, first, target_inr),
        level_key="inr", level_label="true INR", target_range=target_inr,
        in_range_key="in_therapeutic_range")


def _last_valid(values: np.ndarray) -> np.ndarray:
    """Each row's last non-NaN value (its episode's final value), shape (n,)."""
    valid = ~np.isnan(values)
    last = valid.shape[1] - 1 - np.argmax(valid[:, ::-1], axis=1)
    return values[np.arange(values.shape[0]), last]


def chemotherapy_scores(steps: StepTable, first_info: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Final tumour size, grade 4 neutropenia, febrile neutropenia, dose intensity, progression.

    Examples:
        >>> nan = np.nan
        >>> steps = {"sld_relative": np.array([[0.9, 0.8, nan]]),
        ...          "grade4_neutropenia": np.array([[0.0, 1.0, nan]]),
        ...          "febrile_neutropenia": np.array([[0.0, 0.0, nan]]),
        ...          "relative_dose_intensity": np.array([[1.0, 0.9, nan]]),
        ...          "progressed": np.array([[0.0, 1.0, nan]])}
        >>> scores = chemotherapy_scores(steps, {})
        >>> float(scores["final_sld_relative"][0]), float(scores["grade4_neutropenia"][0])
        (0.8, 1.0)
    """
    as_float = {key: np.asarray(value, dtype=np.float64) for key, value in steps.items()}
    return {
        "final_sld_relative": _last_valid(as_float["sld_relative"]),
        "grade4_neutropenia": (np.nan_to_num(as_float["grade4_neutropenia"]) > 0).any(axis=1)
        .astype(np.float64),
        "febrile_neutropenia_events": np.nansum(as_float["febrile_neutropenia"], axis=1),
        "relative_dose_intensity": _last_valid(as_float["relative_dose_intensity"]),
        "progressed": _last_valid(as_float["progressed"]),
    }


CHEMOTHERAPY_OUTCOMES = OutcomeSpec(
    step_metrics=("dose_percent", "sld_relative", "anc_nadir_1e9_per_l", "neutropenia_grade",
                  "grade4_neutropenia", "febrile_neutropenia", "relative_dose_intensity",
                  "progressed"),
    scores={"final_sld_relative": "final tumour size / baseline",
            "grade4_neutropenia": "share with grade 4 neutropenia",
            "febrile_neutropenia_events": "febrile neutropenia events",
            "relative_dose_intensity": "relative dose intensity",
            "progressed": "share progressed", "return": "return"},
    episode_scores=chemotherapy_scores, level_key="anc_nadir_1e9_per_l",
    level_label="ANC nadir of the cycle (x10^9/L)", target_range=(0.5, 2.0),
    in_range_key="grade4_neutropenia", dose_key="dose_percent")
"""``pkgym/Chemotherapy-v0``: tumour response, neutropenia and dose intensity."""


def chemo_immune_scores(steps: StepTable, first_info: Mapping[str, Any],
                        eradicated_below: float = 1e-3) -> dict[str, np.ndarray]:
    """Final tumour relative to the start, lowest normal cells, days below the floor, drug.

    Steps after a patient's episode ended early are NaN and ignored (the last valid day is
    the final one).

    Examples:
        >>> steps = {"tumour_cells": np.array([[0.3, 0.1, 0.0005], [0.3, 0.5, np.nan]]),
        ...          "normal_cells": np.array([[0.8, 0.7, 0.9], [0.8, 0.7, np.nan]]),
        ...          "normal_below_floor": np.array([[0.0, 1.0, 0.0], [0.0, 1.0, np.nan]]),
        ...          "dose": np.array([[1.0, 0.5, 0.0], [1.0, 1.0, np.nan]])}
        >>> first = {"tumour_cells": np.array([0.2, 0.25]), "normal_cells": np.array([0.9, 0.9])}
        >>> s = chemo_immune_scores(steps, first)
        >>> {k: s[k].round(4).tolist() for k in ("final_tumour_relative", "min_normal_cells",
        ...                                      "days_below_normal_floor", "total_drug",
        ...                                      "tumour_eradicated")}
        {'final_tumour_relative': [0.0025, 2.0], 'min_normal_cells': [0.7, 0.7],
         'days_below_normal_floor': [1.0, 1.0], 'total_drug': [1.5, 2.0],
         'tumour_eradicated': [1.0, 0.0]}
    """
    table = {key: np.asarray(value, dtype=np.float64) for key, value in steps.items()}
    tumour = table["tumour_cells"]
    valid = ~np.isnan(tumour)
    last = valid.shape[1] - 1 - np.argmax(valid[:, ::-1], axis=1)
    final = tumour[np.arange(tumour.shape[0]), last]
    normal = np.column_stack([np.asarray(first_info["normal_cells"], dtype=np.float64),
                              table["normal_cells"]])
    return {"final_tumour_relative": final / np.asarray(first_info["tumour_cells"], np.float64),
            "min_normal_cells": np.nanmin(normal, axis=1),
            "days_below_normal_floor": np.nansum(table["normal_below_floor"], axis=1),
            "total_drug": np.nansum(table["dose"], axis=1),
            "tumour_eradicated": (final < eradicated_below).astype(np.float64)}


CHEMO_IMMUNE_OUTCOMES = OutcomeSpec(
    step_metrics=("tumour_cells", "normal_cells", "immune_cells", "drug_level", "dose",
                  "normal_below_floor", "normal_above_floor"),
    scores={"final_tumour_relative": "final tumour / start",
            "tumour_eradicated": "tumour < 0.001 at the end",
            "min_normal_cells": "lowest normal cells",
            "days_below_normal_floor": "days with normal cells below the floor",
            "total_drug": "total drug (units)", "return": "return"},
    episode_scores=chemo_immune_scores, level_key="tumour_cells",
    level_label="true tumour burden (normalised)", target_range=(0.0, 1e-3),
    in_range_key="normal_above_floor", dose_key="dose")
"""``pkgym/ChemoImmune-v0``: tumour response, normal-cell toxicity and drug use."""


def depression_scores(steps: StepTable, first_info: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Final true symptom score, change from baseline, response, remission, side effects.

    Examples:
        >>> steps = {"symptom_score": np.array([[25.0, 14.0], [28.0, 26.0]]),
        ...          "adverse_probability": np.array([[0.1, 0.3], [0.0, 0.0]])}
        >>> s = depression_scores(steps, {"symptom_score": np.array([30.0, 30.0])})
        >>> s["change_from_baseline"].tolist(), s["response"].tolist(), s["remission"].tolist()
        ([-16.0, -4.0], [1.0, 0.0], [0.0, 0.0])
        >>> s["side_effect_burden"].round(2).tolist()
        [0.2, 0.0]
    """
    score = np.asarray(steps["symptom_score"], dtype=np.float64)
    final = _last_valid(score)
    baseline = np.asarray(first_info["symptom_score"], dtype=np.float64)
    return {"final_symptom_score": final, "change_from_baseline": final - baseline,
            "response": (final <= 0.5 * baseline).astype(np.float64),
            "remission": (final <= 10.0).astype(np.float64),
            "side_effect_burden": np.nanmean(
                np.asarray(steps["adverse_probability"], dtype=np.float64), axis=1)}


DEPRESSION_OUTCOMES = OutcomeSpec(
    step_metrics=("symptom_score", "madrs_measured", "response_bias", "reward_sensitivity",
                  "adverse_probability", "adverse_event", "dose_mg", "remission"),
    scores={"final_symptom_score": "final MADRS (true)",
            "change_from_baseline": "MADRS change from baseline",
            "response": "response rate (>= 50% reduction)",
            "remission": "remission rate (MADRS <= 10)",
            "side_effect_burden": "mean weekly side-effect probability", "return": "return"},
    episode_scores=depression_scores, level_key="symptom_score",
    level_label="true MADRS", target_range=(0.0, 10.0), in_range_key="remission")
"""``pkgym/Depression-v0``: symptom relief, response, remission and side effects."""


def addiction_scores(steps: StepTable, first_info: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Abstinent-day share, use days, positive-test share, final drug value, burden.

    Examples:
        >>> steps = {"use_days": np.array([[7, 0]]), "urine_positive": np.array([[1, 0]]),
        ...          "value_drug": np.array([[3.0, 2.5]]),
        ...          "treatment_burden": np.array([[0.5, 0.5]])}
        >>> s = addiction_scores(steps, {})
        >>> float(s["abstinent_days_fraction"][0]), float(s["final_drug_value"][0])
        (0.5, 2.5)
    """
    use = np.asarray(steps["use_days"], dtype=np.float64)
    return {"abstinent_days_fraction": 1.0 - use.mean(axis=1) / 7.0,
            "use_days": use.sum(axis=1),
            "positive_urine_fraction": np.asarray(steps["urine_positive"], np.float64).mean(axis=1),
            "final_drug_value": _last_valid(np.asarray(steps["value_drug"], dtype=np.float64)),
            "treatment_burden": np.asarray(steps["treatment_burden"], np.float64).sum(axis=1)}


ADDICTION_OUTCOMES = OutcomeSpec(
    step_metrics=("use_days", "reported_use_days", "urine_positive", "value_drug",
                  "value_natural", "treatment", "treatment_burden", "blocked_fraction"),
    scores={"abstinent_days_fraction": "share of abstinent days", "use_days": "use days",
            "positive_urine_fraction": "share of positive urine tests",
            "final_drug_value": "final V(drug)", "treatment_burden": "treatment burden",
            "return": "return"},
    episode_scores=addiction_scores, level_key="use_days", level_label="use days per week",
    target_range=(0.0, 0.0), in_range_key="urine_positive", dose_key="treatment")
"""``pkgym/Addiction-v0``: abstinence, urine tests, learned drug value and burden."""


def dose_finding_scores(steps: StepTable, first_info: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Per trial: correct MTD, no MTD named, patients, share above the MTD, DLTs.

    Examples:
        >>> steps = {"correct_selection": np.array([[0.0, 1.0]]), "selected": np.array([[-1, 2]]),
        ...          "n_patients": np.array([[6, 6]]), "patients_above_mtd": np.array([[3, 3]]),
        ...          "n_dlts": np.array([[1, 1]])}
        >>> s = dose_finding_scores(steps, {})
        >>> float(s["correct_selection"][0]), float(s["above_mtd_fraction"][0])
        (1.0, 0.5)
    """
    final = {key: _last_valid(np.asarray(steps[key], dtype=np.float64))
             for key in ("correct_selection", "selected", "n_patients", "patients_above_mtd",
                         "n_dlts")}
    return {"correct_selection": final["correct_selection"],
            "no_selection": (final["selected"] == -1).astype(np.float64),
            "n_patients": final["n_patients"],
            "above_mtd_fraction": final["patients_above_mtd"] / final["n_patients"],
            "n_dlts": final["n_dlts"]}


DOSE_FINDING_OUTCOMES = OutcomeSpec(
    step_metrics=("assigned_level", "selected", "correct_selection", "n_patients",
                  "patients_above_mtd", "n_dlts"),
    scores={"correct_selection": "share of trials naming the true MTD",
            "no_selection": "share of trials naming no MTD", "n_patients": "patients treated",
            "above_mtd_fraction": "share of patients treated above the MTD",
            "n_dlts": "DLTs", "return": "return"},
    episode_scores=dose_finding_scores, level_key="assigned_level",
    level_label="dose level (0-based)", target_range=(0.0, 0.0),
    in_range_key="correct_selection", dose_key="assigned_level")
"""``pkgym/DoseFinding-v0``: the operating characteristics of a design, per trial."""


def outcome_spec(core: DosingCore) -> OutcomeSpec:
    """The outcome spec of an environment's core.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> outcome_spec(gym.make("pkgym/Warfarin-v0").unwrapped.core).level_key
        'inr'
    """
    if isinstance(core, VancomycinCore):
        return VANCOMYCIN_OUTCOMES
    if isinstance(core, WarfarinCore):
        return warfarin_outcomes(core.settings.scenario.target_inr)
    if isinstance(core, ChemoImmuneCore):
        return CHEMO_IMMUNE_OUTCOMES
    if isinstance(core, ChemotherapyCore):
        return CHEMOTHERAPY_OUTCOMES
    if isinstance(core, AddictionCore):
        return ADDICTION_OUTCOMES
    if isinstance(core, DepressionCore):
        return DEPRESSION_OUTCOMES
    if isinstance(core, DoseFindingCore):
        return DOSE_FINDING_OUTCOMES
    raise ValueError(f"no outcome spec for {type(core).__name__}; known: VancomycinCore, "
                     "WarfarinCore")
