"""Views of the diabetes clinic's records: info, text, a figure, a NONMEM dataset, outcomes."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pkgym.envs.nonmem import nonmem_dataset
from pkgym.envs.outcomes import OutcomeSpec, StepTable, last_valid

TARGET_MG_PER_DL = (70.0, 180.0)
"""Time-in-range band (international consensus, Battelino T et al. 2019, Diabetes Care
42:1593: TIR 70-180, TBR < 70 and < 54, TAR > 180 and > 250 mg/dL)."""
EPISODE_KEYS = ("time_in_range_fraction", "time_below_70_fraction", "time_below_54_fraction",
                "time_above_180_fraction", "time_above_250_fraction", "lbgi", "hbgi",
                "risk_index", "cv", "mean_bg_mg_per_dl")


def episode_metrics(records: Any, rows: np.ndarray | None) -> dict[str, np.ndarray]:
    """The episode so far over every minute of true plasma glucose (0 before the first step).

    ``rows``: the rows (None: every row).

    LBGI and HBGI are Kovatchev's means of rl and rh over all minutes (readings of the other
    side count 0; simglucose's ``risk_index`` averages over the one side only); CV = SD/mean.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Insulin-v0")
        >>> _ = env.reset(seed=0)
        >>> info = env.step(2)[-1]
        >>> info["time_in_range_fraction"], info["lbgi"]
        (1.0, 0.0)
    """
    r, take = records, _taker(rows)
    n = np.maximum(take(r.minutes), 1.0)
    mean = take(r.sum_bg) / n
    sd = np.sqrt(np.maximum(take(r.sum_bg2) / n - mean * mean, 0.0))
    lbgi, hbgi = take(r.sum_low_risk) / n, take(r.sum_high_risk) / n
    return {"time_in_range_fraction": take(r.in_range) / n,
            "time_below_70_fraction": take(r.below_70) / n,
            "time_below_54_fraction": take(r.below_54) / n,
            "time_above_180_fraction": take(r.above_180) / n,
            "time_above_250_fraction": take(r.above_250) / n,
            "lbgi": lbgi, "hbgi": hbgi, "risk_index": lbgi + hbgi,
            "cv": np.where(mean > 0, sd / np.maximum(mean, 1e-12), 0.0),
            "mean_bg_mg_per_dl": mean}


def info(records: Any, settings: Any, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Clinical metrics of the last step and episode and the hidden truth of ``rows``.

    Hidden truth (for analysis and the ``oracle``): ``model_state`` (n, n_states),
    ``model_params`` (n, n_params), ``meal_memory`` (n, 3), ``pending_carbs_g``,
    ``meal_minutes``/``meal_grams`` (n, n_meals: every meal of the episode, announced or not),
    ``profile_index`` (-1 Hovorka) and the row's seeds. ``rows=None``: every row, its arrays
    copied whole (the values, dtypes and C order of gathering every row, without the gather).
    """
    r, s, take = records, settings.scenario, _taker(rows)
    every = np.arange(r.step.shape[0]) if rows is None else rows
    step = take(r.step)  # every value below is a fresh array
    last = np.maximum(step - 1, 0)
    started = step > 0
    bg = r.bg[every, step]
    out = {
        "step": step, "minute": step * s.step_minutes,
        "bg_mg_per_dl": bg, "cgm_mg_per_dl": r.cgm[every, step],
        "in_range": (bg >= TARGET_MG_PER_DL[0]) & (bg <= TARGET_MG_PER_DL[1]),
        "insulin_u": np.where(started, r.delivered_u[every, last], 0.0),
        "carbs_g": np.where(started, r.eaten_g[every, last], 0.0),
        "announced_carbs_g": take(r.announced_now_g),
        "insulin_on_board_u": take(r.iob_u), "cost": take(r.cost),
        "step_lbgi": take(r.step_low_risk), "step_hbgi": take(r.step_high_risk)}
    out.update(episode_metrics(r, rows))
    settings_rows = r.pump_settings if rows is None else r.pump_settings[rows]
    out.update(basal_u_per_h=settings_rows[:, 0].copy(),
               carb_ratio_g_per_u=settings_rows[:, 1].copy(),
               correction_factor_mg_per_dl_per_u=settings_rows[:, 2].copy(),
               body_weight_kg=settings_rows[:, 3].copy(),
               model_state=take(r.state), model_params=take(r.params),
               meal_memory=take(r.memory), pending_carbs_g=take(r.pending_g),
               meal_minutes=take(r.meal_minutes), meal_grams=take(r.meal_grams),
               profile_index=take(r.profile_index), patient_id=take(r.patient_id),
               patient_seed=take(r.patient_seed), meal_seed=take(r.meal_seed),
               noise_seed=take(r.noise_seed), seed_entropy=take(r.seed_entropy))
    return out


def _taker(rows: np.ndarray | None) -> Callable[[np.ndarray], np.ndarray]:
    """``array[rows]``, or for ``rows=None`` a C-ordered copy of the whole array (same values)."""
    if rows is None:
        return lambda array: array.copy(order="C")
    return lambda array: array[rows]


def info_row(records: Any, settings: Any, row: int) -> dict[str, Any]:
    """:func:`info` of one row as the single env gives it: Python scalars, fresh row arrays.

    The same keys, order and values as row ``row`` of :func:`info` with numpy scalars made
    Python values (``DosingCore.info_row``), computed on the row's scalars.
    """
    r, s = records, settings.scenario
    step = int(r.step[row])
    bg = float(r.bg[row, step])
    minutes = max(float(r.minutes[row]), 1.0)
    mean = float(r.sum_bg[row]) / minutes
    sd = math.sqrt(max(float(r.sum_bg2[row]) / minutes - mean * mean, 0.0))
    lbgi, hbgi = float(r.sum_low_risk[row]) / minutes, float(r.sum_high_risk[row]) / minutes
    out: dict[str, Any] = {
        "step": step, "minute": step * s.step_minutes, "bg_mg_per_dl": bg,
        "cgm_mg_per_dl": float(r.cgm[row, step]),
        "in_range": TARGET_MG_PER_DL[0] <= bg <= TARGET_MG_PER_DL[1],
        "insulin_u": float(r.delivered_u[row, step - 1]) if step > 0 else 0.0,
        "carbs_g": float(r.eaten_g[row, step - 1]) if step > 0 else 0.0,
        "announced_carbs_g": float(r.announced_now_g[row]),
        "insulin_on_board_u": float(r.iob_u[row]), "cost": float(r.cost[row]),
        "step_lbgi": float(r.step_low_risk[row]), "step_hbgi": float(r.step_high_risk[row]),
        "time_in_range_fraction": float(r.in_range[row]) / minutes,
        "time_below_70_fraction": float(r.below_70[row]) / minutes,
        "time_below_54_fraction": float(r.below_54[row]) / minutes,
        "time_above_180_fraction": float(r.above_180[row]) / minutes,
        "time_above_250_fraction": float(r.above_250[row]) / minutes,
        "lbgi": lbgi, "hbgi": hbgi, "risk_index": lbgi + hbgi,
        "cv": sd / max(mean, 1e-12) if mean > 0 else 0.0, "mean_bg_mg_per_dl": mean}
    settings_row = r.pump_settings[row]
    out.update(basal_u_per_h=float(settings_row[0]), carb_ratio_g_per_u=float(settings_row[1]),
               correction_factor_mg_per_dl_per_u=float(settings_row[2]),
               body_weight_kg=float(settings_row[3]),
               model_state=r.state[row].copy(), model_params=r.params[row].copy(),
               meal_memory=r.memory[row].copy(), pending_carbs_g=float(r.pending_g[row]),
               meal_minutes=r.meal_minutes[row].copy(), meal_grams=r.meal_grams[row].copy(),
               profile_index=int(r.profile_index[row]), patient_id=int(r.patient_id[row]),
               patient_seed=int(r.patient_seed[row]), meal_seed=int(r.meal_seed[row]),
               noise_seed=int(r.noise_seed[row]), seed_entropy=r.seed_entropy[row])
    return out


def _clock(settings: Any, step: int) -> str:
    s = settings.scenario
    minute = int(round(60 * s.start_hour)) + step * s.step_minutes
    return f"day {minute // 1440} {minute % 1440 // 60:02d}:{minute % 60:02d}"


def render_text(records: Any, settings: Any, row: int) -> str:
    """A line: clock, true BG, CGM, last insulin, IOB, carbs, time in range so far.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Insulin-v0", render_mode="ansi")
        >>> _ = env.reset(seed=0)
        >>> env.render()[:14]
        'day 0 06:00  B'
    """
    r, step = records, int(records.step[row])
    metrics = episode_metrics(r, np.array([row]))
    insulin = r.delivered_u[row, step - 1] if step else 0.0
    return (f"{_clock(settings, step)}  BG {r.bg[row, step]:.0f} mg/dL (CGM "
            f"{r.cgm[row, step]:.0f})  insulin {insulin:.3g} U  IOB {r.iob_u[row]:.2f} U  "
            f"carbs announced {r.announced_now_g[row]:.0f} g  TIR "
            f"{metrics['time_in_range_fraction'][0]:.2f}  step {step}/"
            f"{settings.scenario.n_steps}")


def render_figure(records: Any, settings: Any, row: int) -> Figure:
    """True BG and CGM with the 70-180 band (top); insulin and carbs per step (bottom).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Insulin-v0")
        >>> _ = env.reset(seed=0)
        >>> core = env.unwrapped.core
        >>> len(render_figure(core.records, core.settings, 0).axes)
        3
    """
    r, s = records, settings.scenario
    step = int(r.step[row])
    hours = s.start_hour + np.arange(step + 1) * s.step_minutes / 60.0
    fig = Figure(figsize=(8, 5.5), dpi=80)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    top.axhspan(*TARGET_MG_PER_DL, color="tab:green", alpha=0.15)
    top.plot(hours, r.bg[row, :step + 1], lw=1.0, label="true plasma BG")
    top.plot(hours, r.cgm[row, :step + 1], lw=0.8, ls="--", label="CGM")
    top.set(ylabel="glucose (mg/dL)", title=f"insulin, {_clock(settings, step)}")
    top.legend(loc="upper right", fontsize=8)
    width = s.step_minutes / 60.0
    bottom.bar(hours[:-1], r.delivered_u[row, :step], width=width, align="edge")
    bottom.set(xlabel="hour since midnight of day 0", ylabel="insulin (U/step)")
    carbs = bottom.twinx()
    carbs.bar(hours[:-1], r.eaten_g[row, :step], width=width, align="edge", color="tab:orange",
              alpha=0.6)
    carbs.set_ylabel("carbs eaten (g/step)")
    fig.tight_layout()
    return fig


def episode_dataset(records: Any, settings: Any, row: int) -> pd.DataFrame:
    """Insulin (CMT 1, U, RATE U/h over the step) and CGM readings (CMT 2, mg/dL), TIME h.

    Covariates: WT (kg), BASAL (U/h), CR (g/U), CF (mg/dL/U) and CHO, the carbohydrate eaten
    in the step starting at the record's time (g).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Insulin-v0")
        >>> _ = env.reset(seed=0)
        >>> _ = env.step(3)
        >>> table = env.unwrapped.episode_dataset()[["TIME", "AMT", "EVID", "CMT"]]
        >>> table.round(3).values.tolist()[:2]
        [[0.0, 0.0, 0.0, 2.0], [0.0, 0.1, 1.0, 1.0]]
    """
    r, s = records, settings.scenario
    step = int(r.step[row])
    step_h = s.step_minutes / 60.0
    given = np.flatnonzero(r.delivered_u[row, :step] > 0)
    eaten = r.eaten_g[row]
    settings_row = r.pump_settings[row]
    covariates: dict[str, Any] = {"WT": float(settings_row[3]), "BASAL": float(settings_row[0]),
                  "CR": float(settings_row[1]), "CF": float(settings_row[2]),
                  "CHO": lambda t: eaten[np.clip(np.round(np.asarray(t) / step_h).astype(
                      np.int64), 0, eaten.size - 1)]}
    return nonmem_dataset(int(r.patient_id[row]), step_h * given, r.delivered_u[row, given],
                          np.full(given.size, step_h), step_h * np.arange(step + 1),
                          r.cgm[row, :step + 1], covariates, dose_cmt=1, observation_cmt=2)


def insulin_scores(steps: StepTable, first_info: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The episode's metrics as of its last step (they accumulate over the episode).

    Examples:
        >>> steps = {key: np.array([[0.5, 0.75, np.nan]]) for key in EPISODE_KEYS}
        >>> insulin_scores(steps, {})["time_in_range_fraction"].tolist()
        [0.75]
    """
    return {key: last_valid(np.asarray(steps[key], dtype=np.float64)) for key in EPISODE_KEYS}


INSULIN_OUTCOMES = OutcomeSpec(
    step_metrics=("bg_mg_per_dl", "cgm_mg_per_dl", "in_range", "insulin_u", "carbs_g", "cost",
                  *EPISODE_KEYS),
    scores={"time_in_range_fraction": "time in range 70-180 mg/dL (true plasma BG)",
            "time_below_70_fraction": "time below 70 mg/dL",
            "time_below_54_fraction": "time below 54 mg/dL",
            "time_above_180_fraction": "time above 180 mg/dL",
            "time_above_250_fraction": "time above 250 mg/dL",
            "lbgi": "low blood glucose index (Kovatchev)",
            "hbgi": "high blood glucose index (Kovatchev)",
            "risk_index": "risk index LBGI + HBGI (Magni 2007)",
            "cv": "coefficient of variation of BG", "mean_bg_mg_per_dl": "mean BG (mg/dL)",
            "return": "return"},
    episode_scores=insulin_scores, level_key="bg_mg_per_dl",
    level_label="true plasma glucose at the decision (mg/dL)", target_range=TARGET_MG_PER_DL,
    in_range_key="in_range", dose_key="insulin_u")
"""``pkgym/Insulin-v0``: time in range first, then the consensus CGM metrics and risk indices."""


def outcomes(core: Any) -> OutcomeSpec:
    """The env's outcome spec, :data:`INSULIN_OUTCOMES` under any scenario."""
    return INSULIN_OUTCOMES
