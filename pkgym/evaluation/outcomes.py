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

from pkgym.envs.base import DosingCore
from pkgym.envs.vancomycin_core import VancomycinCore
from pkgym.envs.warfarin_core import WarfarinCore
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
    raise ValueError(f"no outcome spec for {type(core).__name__}; known: VancomycinCore, "
                     "WarfarinCore")
