"""Views of the warfarin clinic's records: ``info``, text, a figure and a NONMEM-style dataset."""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pkgym.envs.adapters import ExposureAdapter, HistoryAdapter, ObservedLevels
from pkgym.envs.nonmem import nonmem_dataset
from pkgym.envs.outcomes import OutcomeSpec, StepTable, time_in_range_rosendaal
from pkgym.envs.warfarin.clinic import WarfarinScenarioV1
from pkgym.envs.warfarin.kernel import RECORD_ARRAYS
from pkgym.envs.warfarin.readout import info_rows
from pkgym.populations.warfarin import CYP2C9_DIPLOTYPES, RACES, VKORC1_GENOTYPES
from pkgym.units import HOURS_PER_DAY


def info(records: Any, settings: Any, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Clinical metrics of the last day and the hidden truth of ``rows`` (fresh arrays).

    ``rows=None`` is every patient, read without gathering whole per-day histories.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Warfarin-v0")
        >>> _, first = env.reset(seed=0)
        >>> first["inr"], first["inr_tested"], first["day"]
        (1.0, True, 0)
    """
    r = records
    every = rows is None
    index = np.arange(r.day.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
    pick = np.copy if every else operator.itemgetter(index)
    target = tuple(float(v) for v in settings.scenario.target_inr)
    (day, dose, inr, in_range, tested, result, conc, bled, clotted, bleeds,
     clots) = info_rows(index, RECORD_ARRAYS(r), target, _flags(r.bleeding),
                        _flags(r.thromboembolism))
    params = r.params
    return {
        "day": day, "dose_mg": dose, "inr": inr, "in_therapeutic_range": in_range,
        "inr_tested": tested,
        "inr_measured": np.where(tested, np.round(result, settings.scenario.inr_report_decimals),
                                 0.0),
        "s_warfarin_mg_per_l": conc, "bleeding_event": bled, "thromboembolic_event": clotted,
        "bleeding_events": bleeds, "thromboembolic_events": clots,
        "clearance_l_per_h": pick(params.clearance_l_per_h),
        "central_volume_l": pick(params.central_volume_l),
        "intercompartmental_clearance_l_per_h": pick(params.intercompartmental_clearance_l_per_h),
        "peripheral_volume_l": pick(params.peripheral_volume_l),
        "ec50_mg_per_l": pick(params.ec50_mg_per_l), "hill": pick(params.hill),
        "mtt1_h": pick(params.mtt1_h), "mtt2_h": pick(params.mtt2_h),
        "cyp2c9": pick(r.patients.cyp2c9), "vkorc1": pick(r.patients.vkorc1),
        "pk_amounts_mg": pick(r.pk), "transit_amounts": pick(r.chains),
        "patient_id": pick(r.patient_id), "seed_entropy": pick(r.seed_entropy),
    }


def _flags(flags: np.ndarray) -> np.ndarray:
    """Boolean flags as uint8 (0 or 1), contiguous, for compiled counting (no copy if C)."""
    return np.ascontiguousarray(flags).view(np.uint8)


def info_row(records: Any, settings: Any, row: int,
             patient: tuple[dict[str, Any], dict[str, Any]] | None = None) -> dict[str, Any]:
    """:func:`info` of one patient as plain Python values, without batched arrays.

    ``patient``: the row's :func:`patient_info` when the caller holds it (it changes only
    at a reset).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Warfarin-v0")
        >>> _ = env.reset(seed=0)
        >>> core = env.unwrapped.core
        >>> info_row(core.records, core.settings, 0)["day"]
        0
    """
    r = records
    truth, identity = patient_info(records, row) if patient is None else patient
    day = int(r.day[row])
    last, started = max(day - 1, 0), day > 0
    inr = float(r.inr[row, day])
    low, high = settings.scenario.target_inr
    tested = int(r.last_test_day[row]) == day
    slot = max(int(r.n_tests[row]) - 1, 0)
    out = {
        "day": day, "dose_mg": float(r.doses_mg[row, last]) if started else 0.0,
        "inr": inr, "in_therapeutic_range": low <= inr <= high, "inr_tested": tested,
        "inr_measured": round(float(r.inr_values[row, slot]),
                              settings.scenario.inr_report_decimals) if tested else 0.0,
        "s_warfarin_mg_per_l": float(r.concentration[row, day]),
        "bleeding_event": bool(r.bleeding[row, last]) and started,
        "thromboembolic_event": bool(r.thromboembolism[row, last]) and started,
        "bleeding_events": int(np.count_nonzero(r.bleeding[row])),
        "thromboembolic_events": int(np.count_nonzero(r.thromboembolism[row])),
        **truth, "pk_amounts_mg": r.pk[row].copy(), "transit_amounts": r.chains[row].copy(),
    }
    out.update(identity)
    return out


def patient_info(records: Any, row: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The parts of :func:`info_row` fixed for an episode: true parameters, then identity.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Warfarin-v0")
        >>> _ = env.reset(seed=0)
        >>> patient_info(env.unwrapped.core.records, 0)[1]["patient_id"]
        -1
    """
    r, params = records, records.params
    return ({
        "clearance_l_per_h": float(params.clearance_l_per_h[row]),
        "central_volume_l": float(params.central_volume_l[row]),
        "intercompartmental_clearance_l_per_h":
            float(params.intercompartmental_clearance_l_per_h[row]),
        "peripheral_volume_l": float(params.peripheral_volume_l[row]),
        "ec50_mg_per_l": float(params.ec50_mg_per_l[row]), "hill": float(params.hill[row]),
        "mtt1_h": float(params.mtt1_h[row]), "mtt2_h": float(params.mtt2_h[row]),
        "cyp2c9": int(r.patients.cyp2c9[row]), "vkorc1": int(r.patients.vkorc1[row]),
    }, {"patient_id": int(r.patient_id[row]), "seed_entropy": r.seed_entropy[row]})


def render_text(records: Any, settings: Any, row: int) -> str:
    """A line: day, last dose, true and last measured INR, events.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Warfarin-v0", render_mode="ansi")
        >>> _ = env.reset(seed=0)
        >>> env.render()[:30]
        'day 0/90  last dose 0 mg  INR '
    """
    r, day = records, int(records.day[row])
    dose = r.doses_mg[row, day - 1] if day else 0.0
    n = int(r.n_tests[row])
    measured = f"{r.inr_values[row, n - 1]:.1f} on day {int(r.inr_days[row, n - 1])}" if n \
        else "none"
    events = int(r.bleeding[row].sum()), int(r.thromboembolism[row].sum())
    return (f"day {day}/{settings.scenario.n_days}  last dose {dose:g} mg  INR "
            f"{r.inr[row, day]:.2f} (last measured {measured})  S-warfarin "
            f"{r.concentration[row, day]:.3f} mg/L  bleeds {events[0]}  clots {events[1]}")


def render_figure(records: Any, settings: Any, row: int) -> Figure:
    """True INR each morning, measured INRs and the target range (top); daily doses (bottom).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Warfarin-v0")
        >>> _ = env.reset(seed=0)
        >>> core = env.unwrapped.core
        >>> len(render_figure(core.records, core.settings, 0).axes)
        2
    """
    r, day = records, int(records.day[row])
    fig = Figure(figsize=(8, 5), dpi=80)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    days = np.arange(day + 1)
    top.plot(days, r.inr[row, :day + 1], color="tab:blue", label="true INR")
    mask = r.inr_mask[row] > 0
    top.plot(r.inr_days[row, mask], r.inr_values[row, mask], "o", color="tab:red",
             label="measured INR")
    low, high = settings.scenario.target_inr
    top.axhspan(low, high, color="green", alpha=0.12, label="target")
    for flags, marker, name in ((r.bleeding[row, :day], "v", "bleeding"),
                                (r.thromboembolism[row, :day], "^", "thromboembolism")):
        if flags.any():
            top.plot(np.flatnonzero(flags) + 1, r.inr[row, np.flatnonzero(flags) + 1], marker,
                     color="black", markersize=10, label=name)
    top.set(ylabel="INR", title=f"warfarin, day {day}")
    top.legend(loc="upper left", fontsize=8)
    bottom.bar(np.arange(day), r.doses_mg[row, :day], color="tab:gray", width=0.8)
    bottom.set(xlabel="day", ylabel="dose (mg)")
    fig.tight_layout()
    return fig


def episode_dataset(records: Any, settings: Any, row: int) -> pd.DataFrame:
    """Doses (oral, CMT 1) and measured INRs (DV, CMT 2) of one patient, with covariates.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Warfarin-v0")
        >>> _ = env.reset(seed=0)
        >>> _ = env.step(10)
        >>> env.unwrapped.episode_dataset()[["TIME", "AMT", "DV", "EVID", "CMT"]].values.tolist()
        [[0.0, 0.0, 1.2, 0.0, 2.0], [0.0, 5.0, nan, 1.0, 1.0]]
    """
    r, day = records, int(records.day[row])
    p = r.patients
    mask = r.inr_mask[row] > 0
    covariates: dict[str, float | str | np.ndarray] = {
        "AGE": float(p.age_years[row]), "SEX": float(p.is_female[row]),
        "WT": float(p.weight_kg[row]), "HT": float(p.height_cm[row]),
        "RACE": RACES[p.race[row]], "CYP2C9": CYP2C9_DIPLOTYPES[p.cyp2c9[row]],
        "VKORC1": VKORC1_GENOTYPES[p.vkorc1[row]], "AMIO": float(p.amiodarone[row]),
        "INDUCER": float(p.enzyme_inducer[row])}
    return nonmem_dataset(
        int(r.patient_id[row]), np.arange(day) * HOURS_PER_DAY, r.doses_mg[row, :day],
        np.zeros(day), r.inr_days[row, mask].astype(np.float64) * HOURS_PER_DAY,
        np.round(r.inr_values[row, mask].astype(np.float64), settings.scenario.inr_report_decimals),
        covariates, dose_cmt=1, observation_cmt=2)


def warfarin_scores(steps: StepTable, first_info: Mapping[str, Any],
                    target: tuple[float, float] = (2.0, 3.0),
                    daily: bool = False) -> dict[str, np.ndarray]:
    """Time in range (Rosendaal, true and measured INR), extreme-INR days, events, tests.

    ``daily=True`` (the v1 envs) adds ``ttr_daily_inr``: the share of mornings 1 .. n_days - 1
    whose true INR is in range, the daily-INR TTR that reil and Ravvaz 2017 report.

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
    scores = {
        "time_in_therapeutic_range": time_in_range_rosendaal(days, inr, low, high),
        "ttr_measured_rosendaal": time_in_range_rosendaal(days, measured, low, high),
        "percent_days_inr_above_4": 100.0 * (steps["inr"] > 4.0).mean(axis=1),
        "percent_days_inr_below_1_5": 100.0 * (steps["inr"] < 1.5).mean(axis=1),
        "bleeding_events": np.asarray(steps["bleeding_event"], dtype=np.float64).sum(axis=1),
        "thromboembolic_events": np.asarray(steps["thromboembolic_event"],
                                             dtype=np.float64).sum(axis=1),
        "inr_tests": tested.sum(axis=1).astype(np.float64),
    }
    if daily:
        mornings = inr[:, 1:-1]
        scores["ttr_daily_inr"] = ((mornings >= low) & (mornings <= high)).mean(axis=1)
    return scores


def warfarin_outcomes(target_inr: tuple[float, float], daily: bool = False) -> OutcomeSpec:
    """The warfarin envs' outcomes: INR time in range, extremes, events (``daily``: v1's).

    Examples:
        >>> warfarin_outcomes((2.0, 3.0)).scores["time_in_therapeutic_range"]
        'TTR (true INR, Rosendaal)'
    """
    return OutcomeSpec(
        step_metrics=("inr", "in_therapeutic_range", "inr_tested", "inr_measured", "dose_mg",
                      "bleeding_event", "thromboembolic_event", "s_warfarin_mg_per_l"),
        scores={"time_in_therapeutic_range": "TTR (true INR, Rosendaal)",
                "ttr_measured_rosendaal": "TTR (measured INR, Rosendaal)",
                **({"ttr_daily_inr": "TTR (true INR each morning, days 1 .. n - 1)"}
                   if daily else {}),
                "percent_days_inr_above_4": "% days INR > 4",
                "percent_days_inr_below_1_5": "% days INR < 1.5",
                "bleeding_events": "major bleeds", "thromboembolic_events": "thromboembolisms",
                "inr_tests": "INR tests", "return": "return"},
        episode_scores=lambda steps, first: warfarin_scores(steps, first, target_inr, daily),
        level_key="inr", level_label="true INR", target_range=target_inr,
        in_range_key="in_therapeutic_range")


def outcomes(core: Any) -> OutcomeSpec:
    """The outcome spec of the env's episodes, for its scenario's target INR range.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> outcomes(gym.make("pkgym/Warfarin-v0").unwrapped.core).target_range
        (2.0, 3.0)
    """
    scenario = core.settings.scenario
    return warfarin_outcomes(scenario.target_inr, isinstance(scenario, WarfarinScenarioV1))


def _daily(core: Any) -> float:
    """Time between doses, h: a day."""
    return HOURS_PER_DAY


def _read_levels(core: Any, observation: Mapping[str, np.ndarray]) -> ObservedLevels:
    """The time now and the measured INRs of a batched observation (days as hours)."""
    hours = np.float32(HOURS_PER_DAY)
    return ObservedLevels(time_h=np.asarray(observation["day"], dtype=np.float32) * hours,
                          values=observation["inr_values"],
                          times_h=np.asarray(observation["inr_days"], dtype=np.float32) * hours,
                          mask=observation["inr_mask"])


HISTORY = HistoryAdapter(context_keys=("covariates", "genotype"), level_key="inr_values",
                         level_unit="INR", interval_h=_daily, read_levels=_read_levels)
"""The canonical history: context is the covariates (and the genotype in WarfarinPGx)."""


def exposure_grid_h(core: Any) -> np.ndarray:
    """The mornings of the exposure course, ``24 d`` h for d = 1 .. n_days.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> exposure_grid_h(gym.make("pkgym/Warfarin-v0").unwrapped.core)[[0, -1]].tolist()
        [24.0, 2160.0]
    """
    days = np.arange(1, core.settings.scenario.n_days + 1)
    return days * HOURS_PER_DAY


def true_exposure(core: Any) -> np.ndarray:
    """The true INR of every patient each morning (n, n_days), NaN for days not reached."""
    records, n_days = core.records, core.settings.scenario.n_days
    reached = np.arange(1, n_days + 1)[None] <= records.day[:, None]
    return np.where(reached, records.inr[:, 1:n_days + 1], np.nan)


EXPOSURE = ExposureAdapter(unit="INR", grid_h=exposure_grid_h, true_course=true_exposure)
"""The true exposure course: the INR each morning, before that day's dose."""
