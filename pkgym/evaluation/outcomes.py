"""What the evaluation harness records and scores for each environment.

An :class:`OutcomeSpec` names the per-step ``info`` keys :func:`~pkgym.evaluation.runner.
run_policy` keeps, turns them into per-patient scores, and says how reports plot them.
:func:`outcome_spec` gives the spec of an environment's core, as its registry entry
(:class:`~pkgym.envs.registry.EnvSpec`) states it. The type lives in
:mod:`pkgym.envs.outcomes` and each env's spec in its package's ``views``; their names are
re-exported here.

:func:`report_view` says how ``report.html`` labels each env's outcomes: the level a target
refers to and its band (vancomycin AUC24/MIC, warfarin INR; none where the env has none), the
action's unit (ChemoImmune's 0-1 infusion rate, not mg) and each score's unit.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pkgym.envs.addiction.views import ADDICTION_OUTCOMES, addiction_scores
from pkgym.envs.base import DosingCore
from pkgym.envs.chemo_immune.views import CHEMO_IMMUNE_OUTCOMES, chemo_immune_scores
from pkgym.envs.chemotherapy.views import CHEMOTHERAPY_OUTCOMES, chemotherapy_scores
from pkgym.envs.depression.views import DEPRESSION_OUTCOMES, depression_scores
from pkgym.envs.dose_finding.views import DOSE_FINDING_OUTCOMES, dose_finding_scores
from pkgym.envs.outcomes import EpisodeScores, OutcomeSpec, StepTable
from pkgym.envs.registry import spec_of
from pkgym.envs.vancomycin.views import VANCOMYCIN_OUTCOMES
from pkgym.envs.warfarin.views import warfarin_outcomes, warfarin_scores
from pkgym.scenarios import SCENARIO_TYPES, resolve_scenario

__all__ = ["ADDICTION_OUTCOMES", "CHEMOTHERAPY_OUTCOMES", "CHEMO_IMMUNE_OUTCOMES",
           "DEPRESSION_OUTCOMES", "DOSE_FINDING_OUTCOMES", "VANCOMYCIN_OUTCOMES",
           "EpisodeScores", "OutcomeSpec", "StepTable", "addiction_scores",
           "chemo_immune_scores", "chemotherapy_scores", "depression_scores",
           "dose_finding_scores", "outcome_spec", "warfarin_outcomes", "warfarin_scores",
           "ReportView", "VIEWS", "report_view"]


def outcome_spec(core: DosingCore) -> OutcomeSpec:
    """The outcome spec of an environment's core (its registered spec's ``outcomes``).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> outcome_spec(gym.make("pkgym/Warfarin-v0").unwrapped.core).level_key
        'inr'
    """
    return spec_of(core).outcomes(core)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportView:
    """How ``report.html`` labels and plots one env's outcomes, with units.

    Attributes:
        level_key: the step metric plotted as the patient's level (the target's quantity).
        level_label: its axis label, with its unit.
        band: the level's target band, or ``None`` where the env has none.
        band_label: the band's legend label (with its unit), ``None`` without a band.
        log_level: plot the level on a log axis.
        in_range_label: what the share of ``OutcomeSpec.in_range_key`` per step means.
        dose_label: the action's axis label, with its unit (from the env's action space).
        step_size, step_unit: one decision step lasts ``step_size`` ``step_unit``.
        time_label: the time axis label, with its unit.
        score_units: score column -> unit (a score not named has none).
    """

    level_key: str
    level_label: str
    band: tuple[float, float] | None
    band_label: str | None
    in_range_label: str
    dose_label: str
    time_label: str
    step_size: float = 1.0
    step_unit: str = "step"
    log_level: bool = False
    score_units: Mapping[str, str] = field(default_factory=dict)

    def unit(self, score: str) -> str:
        """The unit of ``score`` (``""``: none known).

        Examples:
            >>> report_view(VANCOMYCIN_OUTCOMES).unit("had_aki")
            'fraction of patients, 0-1'
        """
        return self.score_units.get(score, RETURN_UNIT if score == "return" else "")


RETURN_UNIT = "reward, summed over the episode"
SHARE = "fraction, 0-1"
PATIENTS = "fraction of patients, 0-1"


def _vancomycin(spec: OutcomeSpec, scenario: Any) -> ReportView:
    low, high = getattr(scenario, "target_auc24_over_mic", (400.0, 600.0))
    mic = float(getattr(scenario, "mic_mg_per_l", 1.0))
    interval = float(getattr(scenario, "interval_h", 12.0))
    return ReportView(
        level_key="auc24_mg_h_per_l", level_label="true AUC24 (mg·h/L)",
        band=(low * mic, high * mic),
        band_label=f"target AUC24/MIC {low:g}–{high:g} mg·h/L (MIC {mic:g} mg/L)",
        in_range_label=f"share with AUC24/MIC in {low:g}–{high:g}",
        dose_label="dose (mg per interval)", step_size=interval, step_unit="h",
        time_label=f"time since the first dose (h; q{interval:g}h)",
        score_units={"in_target_range_fraction": "fraction of dosing intervals, 0-1",
                     "had_aki": PATIENTS})


def _warfarin(spec: OutcomeSpec, scenario: Any) -> ReportView:
    low, high = spec.target_range
    return ReportView(
        level_key="inr", level_label="true INR (ratio)", band=(low, high),
        band_label=f"target INR {low:g}–{high:g}",
        in_range_label=f"share with true INR in {low:g}–{high:g}",
        dose_label="warfarin dose (mg/day)", step_size=1.0, step_unit="day",
        time_label="day of therapy",
        score_units={"time_in_therapeutic_range": "fraction of time, 0-1",
                     "ttr_measured_rosendaal": "fraction of time, 0-1",
                     "ttr_daily_inr": "fraction of days, 0-1",
                     "percent_days_inr_above_4": "% of days",
                     "percent_days_inr_below_1_5": "% of days",
                     "bleeding_events": "events per patient",
                     "thromboembolic_events": "events per patient",
                     "inr_tests": "tests per patient"})


def _chemo_immune(spec: OutcomeSpec, scenario: Any) -> ReportView:
    floor = float(getattr(scenario, "normal_cell_floor", 0.75))
    return ReportView(
        level_key="tumour_cells", level_label="true tumour cells (normalised, log scale)",
        band=spec.target_range, band_label=f"eradicated: tumour < {spec.target_range[1]:g}",
        log_level=True, in_range_label=f"share with normal cells ≥ floor {floor:g}",
        dose_label="infusion rate (drug units/day, 0–1)", step_size=1.0, step_unit="day",
        time_label="day of treatment",
        score_units={"final_tumour_relative": "ratio to day 0", "tumour_eradicated": PATIENTS,
                     "min_normal_cells": "normalised cells (carrying capacity 1)",
                     "days_below_normal_floor": "days",
                     "total_drug": "drug units (sum of daily rates)"})


def _chemotherapy(spec: OutcomeSpec, scenario: Any) -> ReportView:
    low, high = spec.target_range
    return ReportView(
        level_key="anc_nadir_1e9_per_l", level_label="ANC nadir of the cycle (×10⁹/L)",
        band=(low, high), band_label=f"nadir {low:g}–{high:g} ×10⁹/L (below {low:g}: grade 4)",
        in_range_label="share with grade 4 neutropenia in the cycle",
        dose_label="docetaxel dose (% of label 75 mg/m²)", step_size=1.0, step_unit="cycle",
        time_label="cycle (21 days each)",
        score_units={"final_sld_relative": "ratio to baseline SLD",
                     "grade4_neutropenia": PATIENTS,
                     "febrile_neutropenia_events": "events per patient",
                     "relative_dose_intensity": "fraction of label dose intensity",
                     "progressed": PATIENTS})


def _addiction(spec: OutcomeSpec, scenario: Any) -> ReportView:
    return ReportView(
        level_key="use_days", level_label="use days in the week (days)", band=None,
        band_label=None, in_range_label="share with a positive weekly urine test",
        dose_label="treatment (action 0–6: none, naltrexone, buprenorphine, CM)",
        step_size=1.0, step_unit="week", time_label="week of treatment",
        score_units={"abstinent_days_fraction": "fraction of days, 0-1",
                     "use_days": "days", "positive_urine_fraction": "fraction of tests, 0-1",
                     "final_drug_value": "learned value (model units)",
                     "treatment_burden": "burden (model units, summed)"})


def _depression(spec: OutcomeSpec, scenario: Any) -> ReportView:
    low, high = spec.target_range
    return ReportView(
        level_key="symptom_score", level_label="true MADRS (points, 0–60)", band=(low, high),
        band_label=f"remission: MADRS ≤ {high:g}", in_range_label="share in remission",
        dose_label="escitalopram (mg/day)", step_size=1.0, step_unit="week",
        time_label="week of treatment",
        score_units={"final_symptom_score": "MADRS points",
                     "change_from_baseline": "MADRS points", "response": PATIENTS,
                     "remission": PATIENTS, "side_effect_burden": "probability per week, 0-1"})


def _dose_finding(spec: OutcomeSpec, scenario: Any) -> ReportView:
    return ReportView(
        level_key="assigned_level", level_label="dose level (0-based)", band=None,
        band_label=None, in_range_label="share of trials naming the true MTD",
        dose_label="dose level (0-based)", step_size=1.0, step_unit="cohort",
        time_label="cohort of the trial",
        score_units={"correct_selection": "fraction of trials, 0-1",
                     "no_selection": "fraction of trials, 0-1",
                     "n_patients": "patients per trial",
                     "above_mtd_fraction": "fraction of patients, 0-1",
                     "n_dlts": "DLTs per trial"})


VIEWS: Mapping[str, Callable[[OutcomeSpec, Any], ReportView]] = MappingProxyType({
    VANCOMYCIN_OUTCOMES.level_key: _vancomycin, "inr": _warfarin,
    CHEMO_IMMUNE_OUTCOMES.level_key: _chemo_immune,
    CHEMOTHERAPY_OUTCOMES.level_key: _chemotherapy, ADDICTION_OUTCOMES.level_key: _addiction,
    DEPRESSION_OUTCOMES.level_key: _depression, DOSE_FINDING_OUTCOMES.level_key: _dose_finding})
"""Each env's report view, by its outcome spec's ``level_key`` (unique per env family)."""


def report_view(spec: OutcomeSpec, env_id: str | None = None,
                scenario: Any = None) -> ReportView:
    """The report view of an env's outcome spec; ``scenario`` (object or YAML) refines it.

    An env not in :data:`VIEWS` (a user's env) gets its spec's own labels, and its target
    band unless the spec's range is empty (low == high: no band).

    Examples:
        >>> report_view(VANCOMYCIN_OUTCOMES).band
        (400.0, 600.0)
        >>> report_view(CHEMO_IMMUNE_OUTCOMES).dose_label
        'infusion rate (drug units/day, 0–1)'
        >>> report_view(ADDICTION_OUTCOMES).band is None
        True
    """
    chosen = _scenario(env_id, scenario)
    if spec.level_key in VIEWS:
        return VIEWS[spec.level_key](spec, chosen)
    low, high = spec.target_range
    return ReportView(
        level_key=spec.level_key, level_label=spec.level_label,
        band=(low, high) if low < high else None,
        band_label=f"target {low:g}–{high:g}" if low < high else None,
        in_range_label=f"share with {spec.in_range_key}", dose_label=spec.dose_key,
        time_label="decision step")


def _scenario(env_id: str | None, scenario: Any) -> Any:
    """The env's scenario object (``None`` where it cannot be had: the defaults apply)."""
    if scenario is not None and not isinstance(scenario, (str, os.PathLike)):
        return scenario
    if env_id is None or env_id not in SCENARIO_TYPES:
        return None
    try:
        return resolve_scenario(scenario, SCENARIO_TYPES[env_id], env_id)
    except (OSError, ValueError, TypeError):  # a moved or edited YAML: label by the defaults
        return None
