"""Views of the heparin ward's records: info, text, a figure, a NONMEM dataset, outcomes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pkgym.envs.adapters import ExposureAdapter, HistoryAdapter, ObservedLevels
from pkgym.envs.heparin import kernel
from pkgym.envs.heparin.clinic import interval_amounts
from pkgym.envs.nonmem import nonmem_dataset
from pkgym.envs.outcomes import OutcomeSpec, StepTable, last_valid
from pkgym.models.heparin_alsallami2016 import aptt_s

EPISODE_KEYS = ("time_in_range_fraction", "time_below_range_fraction",
                "time_above_range_fraction", "hours_to_first_therapeutic_aptt",
                "subtherapeutic_at_24h", "thrombosis_excess_risk", "bleeding_index",
                "cumulative_dose_u_per_kg")


def _taker(rows: np.ndarray, n: int) -> Callable[[np.ndarray], np.ndarray]:
    """``a[rows]`` of a records array; a plain copy when ``rows`` is every row in order.

    (The same values, dtype and shape; the full batch's info takes it every step, and a copy
    costs a fraction of numpy's gather.)
    """
    if rows.size == n and (n == 0 or (rows[0] == 0 and rows[-1] == n - 1
                                       and bool(np.all(np.diff(rows) == 1)))):
        return lambda values: values.copy()  # C order, as a gather gives
    return lambda values: values[rows]


def episode_metrics(records: Any, settings: Any, rows: np.ndarray) -> dict[str, np.ndarray]:
    """The episode so far, from the TRUE aPTT between measurements (0 before the first step).

    ``hours_to_first_therapeutic_aptt`` is the time of the first MEASURED aPTT in range (the
    horizon if none yet); ``subtherapeutic_at_24h`` is 1 when the true aPTT at 24 h was below
    the range (0 before 24 h); ``bleeding_index`` is the mean of ``max(0, aPTT/upper - 1)``.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Heparin-v0")
        >>> _ = env.reset(seed=0)
        >>> info = env.step(2 * 41 + 18)[-1]
        >>> info["hours_so_far"], 0.0 <= info["time_in_range_fraction"] <= 1.0
        (6.0, True)
    """
    r, s = records, settings.scenario
    rows = np.asarray(rows, dtype=np.int64)
    take = _taker(rows, r.step.size)
    shares_in, shares_below, shares_above, first, sub24, bleeding, dose = kernel.episode_values(
        rows, s.interval_h, s.horizon_h, min(int(round(24.0 / s.interval_h)), s.n_steps),
        r.step, r.hours, r.in_range_h, r.below_h, r.above_h, r.first_therapeutic_h,
        r.aptt_true_s, r.target_low_s, r.bleeding_sum, r.dose_iu, r.weight_kg)
    return {"time_in_range_fraction": shares_in, "time_below_range_fraction": shares_below,
            "time_above_range_fraction": shares_above,
            "hours_to_first_therapeutic_aptt": first, "subtherapeutic_at_24h": sub24,
            "thrombosis_excess_risk": take(r.thrombosis_risk), "bleeding_index": bleeding,
            "cumulative_dose_u_per_kg": dose, "hours_so_far": take(r.hours)}


def info(records: Any, settings: Any, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Clinical metrics of the last step and episode and the hidden truth of ``rows``.

    Hidden truth (for analysis and the ``oracle``): ``concentration_iu_per_ml``, the true aPTT
    now, ``model_params`` (n, 3: CL L/h, V L, SLOPE s per IU/L; also one key each:
    ``clearance_l_per_h``, ``volume_l``, ``aptt_slope_s_per_iu_per_l``), ``etas`` and
    ``amount_iu``.
    """
    r, s = records, settings.scenario
    rows = np.asarray(rows, dtype=np.int64)
    take = _taker(rows, r.step.size)
    true, measured, in_range, concentration, bolus, dose = kernel.step_values(
        rows, s.interval_h, r.step, r.aptt_true_s, r.aptt_measured_s, r.target_low_s,
        r.target_high_s, r.amount_iu, r.params, r.weight_kg, r.bolus_u_per_kg,
        r.rate_u_per_kg_per_h, r.hold_h)
    params = take(r.params)
    out = {
        "step": take(r.step), "aptt_s": true, "measured_aptt_s": measured, "in_range": in_range,
        "concentration_iu_per_ml": concentration, "bolus_u_per_kg": bolus,
        "rate_u_per_kg_per_h": take(r.current_rate),
        "step_time_in_range_fraction": take(r.step_in_range),
        "step_bleeding": take(r.step_bleeding), "step_thrombosis_risk": take(r.step_thrombosis),
        "dose_u": dose}
    out.update(episode_metrics(r, settings, rows))
    out.update(weight_kg=take(r.weight_kg), baseline_aptt_s=take(r.baseline_aptt_s),
               target_low_s=take(r.target_low_s), target_high_s=take(r.target_high_s),
               model_params=params, clearance_l_per_h=params[:, 0].copy(),
               volume_l=params[:, 1].copy(), aptt_slope_s_per_iu_per_l=params[:, 2].copy(),
               etas=take(r.etas), amount_iu=take(r.amount_iu),
               patient_id=take(r.patient_id), seed_entropy=take(r.seed_entropy))
    return out


def render_text(records: Any, settings: Any, row: int) -> str:
    """A line: hour, true and measured aPTT, rate, time in range so far.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Heparin-v0", render_mode="ansi")
        >>> _ = env.reset(seed=0)
        >>> env.render()[:6]
        'hour 0'
    """
    r, s, step = records, settings.scenario, int(records.step[row])
    metrics = episode_metrics(r, settings, np.array([row]))
    return (f"hour {step * s.interval_h:g}  aPTT {r.aptt_true_s[row, step]:.0f} s (measured "
            f"{r.aptt_measured_s[row, step]:.0f})  target {r.target_low_s[row]:.0f}-"
            f"{r.target_high_s[row]:.0f} s  rate {r.current_rate[row]:g} U/kg/h  TIR "
            f"{metrics['time_in_range_fraction'][0]:.2f}  step {step}/{s.n_steps}")


def render_figure(records: Any, settings: Any, row: int) -> Figure:
    """True and measured aPTT with the target band (top); bolus and rate (bottom).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Heparin-v0")
        >>> _ = env.reset(seed=0)
        >>> core = env.unwrapped.core
        >>> len(render_figure(core.records, core.settings, 0).axes)
        3
    """
    r, s = records, settings.scenario
    step = int(r.step[row])
    hours = np.arange(step + 1) * s.interval_h
    fig = Figure(figsize=(8, 5.5), dpi=80)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    top.axhspan(r.target_low_s[row], r.target_high_s[row], color="tab:green", alpha=0.15)
    top.plot(hours, r.aptt_true_s[row, :step + 1], lw=1.0, marker="o", label="true aPTT")
    top.plot(hours, r.aptt_measured_s[row, :step + 1], lw=0.8, ls="--", marker="x",
             label="measured")
    top.set(ylabel="aPTT (s)", title=f"heparin, hour {step * s.interval_h:g}")
    top.legend(loc="upper right", fontsize=8)
    bottom.step(hours[:-1], r.rate_u_per_kg_per_h[row, :step], where="post",
                label="rate (U/kg/h)")
    bottom.set(xlabel="hour", ylabel="rate (U/kg/h)")
    bolus = bottom.twinx()
    bolus.bar(hours[:-1], r.bolus_u_per_kg[row, :step], width=0.5, color="tab:orange",
              alpha=0.6)
    bolus.set_ylabel("bolus (U/kg)")
    fig.tight_layout()
    return fig


def episode_dataset(records: Any, settings: Any, row: int) -> pd.DataFrame:
    """Boluses and infusions (CMT 1, AMT in IU, RATE IU/h) and aPTTs (CMT 2, s), TIME h.

    Covariates: WT (kg), HT (cm), AGE (years), SEX (1 female) and APTT0 (control, s).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Heparin-v0")
        >>> _ = env.reset(seed=0)
        >>> _ = env.step(2 * 41 + 18)
        >>> table = env.unwrapped.episode_dataset()
        >>> table[["TIME", "EVID", "CMT"]].values.tolist()[:3]
        [[0.0, 0.0, 2.0], [0.0, 1.0, 1.0], [0.0, 1.0, 1.0]]
    """
    r, s = records, settings.scenario
    step, dt, wt = int(r.step[row]), s.interval_h, float(r.weight_kg[row])
    starts = dt * np.arange(step)
    hold = r.hold_h[row, :step]
    times = np.concatenate([starts, starts + hold])
    amounts = np.concatenate([wt * r.bolus_u_per_kg[row, :step],
                              wt * r.rate_u_per_kg_per_h[row, :step] * (dt - hold)])
    durations = np.concatenate([np.zeros(step), dt - hold])
    order = np.argsort(times, kind="stable")
    covariates: dict[str, Any] = {"WT": wt, "HT": float(r.height_cm[row]),
                                  "AGE": float(r.age_years[row]),
                                  "SEX": float(r.is_female[row]),
                                  "APTT0": float(r.baseline_aptt_s[row])}
    return nonmem_dataset(int(r.patient_id[row]), times[order], amounts[order],
                          durations[order], dt * np.arange(step + 1),
                          r.aptt_measured_s[row, :step + 1], covariates, dose_cmt=1,
                          observation_cmt=2)


def heparin_scores(steps: StepTable, first_info: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The episode's metrics as of its last step (they accumulate over the episode).

    Examples:
        >>> steps = {key: np.array([[0.5, 0.75, np.nan]]) for key in EPISODE_KEYS}
        >>> heparin_scores(steps, {})["time_in_range_fraction"].tolist()
        [0.75]
    """
    return {key: last_valid(np.asarray(steps[key], dtype=np.float64)) for key in EPISODE_KEYS}


HEPARIN_OUTCOMES = OutcomeSpec(
    step_metrics=("aptt_s", "measured_aptt_s", "in_range", "dose_u", "rate_u_per_kg_per_h",
                  "concentration_iu_per_ml", *EPISODE_KEYS),
    scores={"time_in_range_fraction": "time in therapeutic range (true aPTT)",
            "time_below_range_fraction": "time below range",
            "time_above_range_fraction": "time above range",
            "hours_to_first_therapeutic_aptt": "hours to first measured therapeutic aPTT",
            "subtherapeutic_at_24h": "true aPTT below range at 24 h (share)",
            "thrombosis_excess_risk": "excess recurrent VTE risk (Hull 1986)",
            "bleeding_index": "mean supratherapeutic excess aPTT/upper - 1",
            "cumulative_dose_u_per_kg": "heparin given (U/kg)", "return": "return"},
    episode_scores=heparin_scores, level_key="aptt_s",
    level_label="true aPTT at the decision (s)", target_range=(60.0, 100.0),
    in_range_key="in_range", dose_key="dose_u")
"""``pkgym/Heparin-v0``: time in range first, then the time to therapy and the risk terms."""


def outcomes(core: Any) -> OutcomeSpec:
    """The env's outcome spec (its plotted band follows the scenario's seconds range)."""
    s = core.settings.scenario
    if s.target != "seconds" or tuple(s.target_aptt_s) == (60.0, 100.0):
        return HEPARIN_OUTCOMES
    return dataclasses.replace(HEPARIN_OUTCOMES, target_range=tuple(s.target_aptt_s))


def mean_rates_u_per_kg_per_h(core: Any, observation: Mapping[str, np.ndarray]) -> np.ndarray:
    """Heparin given in each interval as a mean rate, ``(bolus + rate (dt - hold)) / dt``.

    U/kg/h, (n, n_steps): the canonical history's one dose per decision step. A plain
    infusion gives its rate (the discrete table's dose levels); a bolus adds ``bolus / dt``.
    Slots not yet decided read 0 (the observation's decisions are 0 there).
    """
    dt = float(core.settings.scenario.interval_h)
    bolus, hold = observation["bolus_u_per_kg"], observation["hold_h"]
    rate = observation["rate_u_per_kg_per_h"]
    return ((np.asarray(bolus, np.float64) + np.asarray(rate, np.float64)
             * (dt - np.asarray(hold, np.float64))) / dt).astype(np.float32)


def _max_mean_rate(core: Any) -> float:
    """The largest mean rate of one interval: the largest bolus plus the top rate, U/kg/h."""
    s = core.settings.scenario
    return float(s.max_bolus_u_per_kg / s.interval_h + s.max_rate_u_per_kg_per_h)


def _read_levels(core: Any, observation: Mapping[str, np.ndarray]) -> ObservedLevels:
    """The time now and the measured aPTTs (s) of a batched observation, decision k at k dt.

    Slot 0 is the control aPTT, measured before any heparin at time 0.
    """
    n_slots = observation["aptt_s"].shape[1]
    dt = np.float32(core.settings.scenario.interval_h)
    times = np.broadcast_to(np.arange(n_slots, dtype=np.float32) * dt,
                            observation["aptt_s"].shape)
    return ObservedLevels(time_h=np.asarray(observation["hours_since_start"], np.float32),
                          values=observation["aptt_s"], times_h=times,
                          mask=observation["aptt_mask"])


HISTORY = HistoryAdapter(
    context_keys=("patient", "target_aptt_s"), level_key="aptt_s", level_unit="s",
    interval_h=lambda core: float(core.settings.scenario.interval_h), read_levels=_read_levels,
    dose_key="rate_u_per_kg_per_h", read_doses=mean_rates_u_per_kg_per_h,
    max_dose=_max_mean_rate)
"""The canonical history: context is the patient (weight, height, age, sex, control aPTT) and
the target range; levels the measured aPTTs (the control at 0 h included); one dose slot per
interval, the heparin given as a mean rate, U/kg/h (:func:`mean_rates_u_per_kg_per_h`)."""


def exposure_grid_h(core: Any) -> np.ndarray:
    """The hours of the exposure course, ``1, 2, ..., horizon_h``.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> exposure_grid_h(gym.make("pkgym/Heparin-v0").unwrapped.core)[[0, -1]].tolist()
        [1.0, 72.0]
    """
    return np.arange(1.0, np.floor(core.settings.scenario.horizon_h + 1e-9) + 1.0)


def true_exposure(core: Any) -> np.ndarray:
    """The true aPTT every hour (n, T), s, replayed exactly from the recorded decisions.

    Interval by interval from no heparin at time 0 (the exact one-compartment solution the
    core steps with); NaN where the episode has not reached the hour yet.
    """
    r, s = core.records, core.settings.scenario
    dt, times = s.interval_h, exposure_grid_h(core)
    out = np.full((core.n_patients, times.size), np.nan)
    amount = np.zeros(core.n_patients)
    for k in range(int(r.step.max(initial=0))):
        inside = np.flatnonzero((times > k * dt + 1e-9) & (times <= (k + 1) * dt + 1e-9))
        decisions = np.column_stack([r.bolus_u_per_kg[:, k], r.hold_h[:, k],
                                     r.rate_u_per_kg_per_h[:, k]])
        amounts = interval_amounts(amount, r.params, r.weight_kg, decisions,
                                   np.append(times[inside] - k * dt, dt))
        course = aptt_s(amounts[:, :-1], r.params[:, 1:2], r.baseline_aptt_s[:, None],
                        r.params[:, 2:3])
        out[:, inside] = np.where((r.step > k)[:, None], course, np.nan)
        amount = amounts[:, -1]
    return out


EXPOSURE = ExposureAdapter(unit="s", grid_h=exposure_grid_h, true_course=true_exposure)
"""The true exposure course: the true aPTT (s) every hour."""
