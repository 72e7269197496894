"""Views of the transplant clinic's records: info, text, a figure, a NONMEM dataset, adapters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pkgym.envs.adapters import ExposureAdapter, HistoryAdapter, ObservedLevels
from pkgym.envs.nonmem import nonmem_dataset
from pkgym.envs.outcomes import OutcomeSpec, StepTable, last_valid
from pkgym.models.mycophenolate import ETA_NAMES, PARAM_NAMES, simulate_interval
from pkgym.populations import mycophenolate as population

INTERVAL_H = 12.0
"""MMF twice daily (as :data:`pkgym.envs.mycophenolate.records.INTERVAL_H`)."""
STATE_KEYS: tuple[str, ...] = tuple(f"state_{name}_umol" for name in (
    "depot", "central_mpa", "peripheral_mpa", "bound_mpa", "central_mpag", "bound_mpag",
    "gallbladder_mpag"))
"""``info`` keys of the true model state at the next administration, umol, in the order of
the model's states (:data:`pkgym.models.mycophenolate.N_STATES`)."""


def true_params(records: Any, settings: Any, rows: np.ndarray, day: np.ndarray
                ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Covariates on ``day`` (n,) and the individual parameters (n, 15) of ``rows``."""
    patients = {key: value[rows] for key, value in records.patients.items()}
    today = population.covariates_on_day(patients, day)
    return today, settings.model.pk.individual_params(today, records.etas[rows])


def info(records: Any, settings: Any, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Clinical metrics of the last step and the hidden truth of ``rows`` (fresh arrays).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Mycophenolate-v0")
        >>> _, first = env.reset(seed=0)
        >>> first["day"], first["dose_mg"], first["in_target_fraction"]
        (0.0, 0.0, 0.0)
    """
    r, s = records, settings.scenario
    visit, days = r.visit[rows], r.days_done[rows]
    started = visit > 0
    last_day = np.clip(r.day[rows].astype(np.int64) - 1, 0, s.end_day - 1)
    last_admin = np.clip(2 * r.day[rows].astype(np.int64) - 1, 0, 2 * s.end_day - 1)
    first = _firsts(s)[np.maximum(visit - 1, 0)]
    auc = np.where(started, r.daily_auc[rows, last_day], 0.0)
    step_auc = r.daily_auc[rows] * _step_days(s, visit)
    today, params = true_params(r, settings, rows, r.day[rows])
    low, high = s.target_auc_mg_h_per_l
    out = {
        "day": r.day[rows].copy(), "visit": visit.copy(),
        "dose_mg": np.where(started, r.doses_mg[rows, first], 0.0),
        "auc0_12_mg_h_per_l": auc,
        "mean_auc0_12_mg_h_per_l": step_auc.sum(axis=1) / np.maximum(days, 1),
        "trough_mg_per_l": np.where(started, r.daily_trough[rows, last_day], 0.0),
        "in_target_range": started & (auc >= low) & (auc <= high),
        "days_in_target": r.days_in_target[rows].copy(), "days_done": days.copy(),
        "in_target_fraction": r.days_in_target[rows] / np.maximum(days, 1),
        "rejection_probability": r.rejection_risk[rows] / np.maximum(days, 1),
        "toxic_days": r.toxic_days[rows].copy(), "toxic_exposure": r.toxic_days[rows] > 0,
        "daily_auc0_12_mg_h_per_l": r.daily_auc[rows].copy(),
        "daily_trough_mg_per_l": r.daily_trough[rows].copy(),
        "central_trough_at_last_dose_mg_per_l": r.interval_trough[rows, last_admin].copy(),
        "albumin_g_per_l": today["albumin_g_per_l"].copy(),
        "creatinine_clearance_ml_per_min": today["creatinine_clearance_ml_per_min"].copy(),
        "ciclosporin": today["ciclosporin"].copy(),
        "clearance_l_per_h": params[:, PARAM_NAMES.index("cl_l_per_h")].copy()}
    out.update({name: params[:, j].copy() for j, name in enumerate(PARAM_NAMES)})
    out.update({f"eta_{name}": r.etas[rows, j].copy() for j, name in enumerate(ETA_NAMES)})
    out.update(patient_id=r.patient_id[rows].copy(), seed_entropy=r.seed_entropy[rows])
    out.update(_planner_truth(r, s, rows))
    return out


def _planner_truth(records: Any, scenario: Any, rows: np.ndarray) -> dict[str, np.ndarray]:
    """What an exact planner needs: the true state, the patient's fields, the interval AUCs.

    ``state_<name>_umol`` (:data:`STATE_KEYS`) at the administration the decision starts
    with (``next_administration``; 2 end_day at the end), ``patient_<field>`` for each of the
    population's patient fields (day-0 and late albumin and CrCL, their recovery days,
    ciclosporin, weight, age, sex: what :func:`pkgym.populations.mycophenolate.
    covariates_on_day` needs) and every 12-h interval's true AUC so far (n, 2 end_day).
    """
    state = records.state[rows]
    out = {key: state[:, j].copy() for j, key in enumerate(STATE_KEYS)}
    out.update({f"patient_{key}": np.asarray(value[rows], dtype=np.float64)
                for key, value in records.patients.items()})
    out["next_administration"] = _firsts(scenario)[np.minimum(records.visit[rows],
                                                              scenario.n_steps)]
    out["interval_auc_mg_h_per_l"] = records.interval_auc[rows].copy()
    return out


def settings_first(scenario: Any, visit: int) -> int:
    """First administration of visit ``visit``'s decision (the end after the last visit)."""
    return int(_firsts(scenario)[visit])


def _firsts(scenario: Any) -> np.ndarray:
    """First administration of each visit's decision, then the end (n_steps + 1,)."""
    days = np.asarray(scenario.visit_days, dtype=np.int64)
    return np.append(np.where(days == 0, 0, 2 * days + 1), 2 * scenario.end_day)


def _step_days(scenario: Any, visit: np.ndarray) -> np.ndarray:
    """(n, end_day) 1 on the days the last step completed (days of visit - 1 .. visit)."""
    edges = np.append(np.asarray(scenario.visit_days), scenario.end_day)
    start, stop = edges[np.maximum(visit - 1, 0)], np.where(visit > 0, edges[visit], 0)
    days = np.arange(scenario.end_day)[None, :]
    return ((days >= start[:, None]) & (days < stop[:, None])).astype(np.float64)


def render_text(records: Any, settings: Any, row: int) -> str:
    """A line: day, dose, last day's true AUC0-12 and trough, the visit's measured levels.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Mycophenolate-v0", render_mode="ansi")
        >>> _ = env.reset(seed=0)
        >>> env.render()[:12]
        'day 0/28  vi'
    """
    r, s = records, settings.scenario
    visit, day = int(r.visit[row]), int(r.day[row])
    dose = r.doses_mg[row, settings_first(s, visit - 1)] if visit else 0.0
    auc = r.daily_auc[row, day - 1] if visit else 0.0
    mask = r.level_mask[row] > 0
    levels = ", ".join(f"{v:.2f} mg/L @ {t:.1f} h" for v, t in zip(
        r.levels_mg_per_l[row, mask][-3:], r.level_times_h[row, mask][-3:], strict=True))
    low, high = s.target_auc_mg_h_per_l
    daily = r.daily_auc[row, :day] if visit else r.daily_auc[row, :0]
    in_target = int(((daily >= low) & (daily <= high)).sum())
    return (f"day {day}/{s.end_day}  visit {visit}/{s.n_steps}  dose {dose:g} mg bid  "
            f"AUC0-12 {auc:.1f} mg*h/L (target {low:g}-{high:g})  days in target "
            f"{in_target}/{daily.size}  levels: {levels or 'none'}")


def true_profile(records: Any, settings: Any, row: int, points_per_interval: int = 13
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Dense true total MPA (mg/L) of one patient over the administrations given (times h).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Mycophenolate-v0")
        >>> _ = env.reset(seed=0)
        >>> _ = env.step(3)
        >>> core = env.unwrapped.core
        >>> true_profile(core.records, core.settings, 0)[0][[0, -1]].tolist()
        [0.0, 84.0]
    """
    one = np.array([row])
    given = settings_first(settings.scenario, int(records.visit[row]))
    offsets = np.linspace(0.0, INTERVAL_H, points_per_interval)
    times, levels = [np.zeros(1)], [np.zeros(1)]
    for j in range(given):
        _, params = true_params(records, settings, one, np.array([float(j // 2)]))
        _, conc, _ = simulate_interval(records.interval_states[one, j], params,
                                       records.doses_mg[one, j], INTERVAL_H, offsets[1:])
        times.append(INTERVAL_H * j + offsets[1:])
        levels.append(conc[0])
    return np.concatenate(times), np.concatenate(levels)


def render_figure(records: Any, settings: Any, row: int) -> Figure:
    """True total MPA and measured levels (top); daily AUC0-12 with the target band (bottom).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Mycophenolate-v0")
        >>> _ = env.reset(seed=0)
        >>> core = env.unwrapped.core
        >>> len(render_figure(core.records, core.settings, 0).axes)
        3
    """
    r, s = records, settings.scenario
    fig = Figure(figsize=(8, 5.5), dpi=80)
    top, bottom = fig.subplots(2, 1, gridspec_kw={"height_ratios": [3, 2]})
    times, levels = true_profile(records, settings, row)
    top.plot(times / 24.0, levels, lw=0.8, label="true total MPA")
    mask = r.level_mask[row] > 0
    top.scatter(r.level_times_h[row, mask] / 24.0, r.levels_mg_per_l[row, mask], color="red",
                zorder=3, s=12, label="measured")
    top.set(ylabel="MPA (mg/L)", xlim=(0, s.end_day), title=f"MMF, day {int(r.day[row])}")
    top.legend(loc="upper right", fontsize=8)
    done = int(r.day[row]) if r.visit[row] else 0
    bottom.bar(np.arange(done) + 0.5, r.daily_auc[row, :done], width=0.8, alpha=0.6)
    bottom.axhspan(*s.target_auc_mg_h_per_l, color="tab:green", alpha=0.15)
    bottom.axhline(s.toxic_auc_mg_h_per_l, color="tab:orange", ls=":")
    bottom.set(xlabel="day after transplant", ylabel="AUC0-12 (mg*h/L)", xlim=(0, s.end_day))
    doses = bottom.twinx()
    doses.step(np.arange(2 * s.end_day) / 2.0, r.doses_mg[row], where="post", color="gray")
    doses.set_ylabel("dose (mg bid)")
    fig.tight_layout()
    return fig


def episode_dataset(records: Any, settings: Any, row: int) -> pd.DataFrame:
    """MMF doses (CMT 1, mg), measured total MPA (CMT 2, mg/L; BLQ 1 and DV 0 below the LOQ).

    Covariates: WT, AGE, SEX, CSA, and ALB (g/L) and CRCL (mL/min) as last measured at a
    visit (carried forward).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Mycophenolate-v0")
        >>> _ = env.reset(seed=0)
        >>> _ = env.step(3)
        >>> env.unwrapped.episode_dataset()[["TIME", "AMT", "EVID", "CMT"]].values.tolist()[:2]
        [[0.0, 1000.0, 1.0, 1.0], [12.0, 1000.0, 1.0, 1.0]]
    """
    r, s = records, settings.scenario
    given = r.doses_mg[row] > 0
    mask = r.level_mask[row] > 0
    visits_h = 24.0 * np.asarray(s.visit_days, dtype=np.float64)
    censored_h = r.level_times_h[row, mask & (r.levels_mg_per_l[row] == 0)]

    def at_visit(values: np.ndarray):  # noqa: ANN202
        return lambda t: values[np.clip(np.searchsorted(visits_h, t, side="right") - 1, 0,
                                        values.size - 1)]

    covariates = {"WT": float(r.patients["weight_kg"][row]),
                  "AGE": float(r.patients["age_years"][row]),
                  "SEX": int(r.patients["female"][row]),
                  "CSA": int(r.patients["ciclosporin"][row]),
                  "ALB": at_visit(r.albumin_shown[row]), "CRCL": at_visit(r.crcl_shown[row]),
                  "BLQ": lambda t: np.isin(np.asarray(t), censored_h).astype(np.int64)}
    return nonmem_dataset(int(r.patient_id[row]), INTERVAL_H * np.flatnonzero(given),
                          r.doses_mg[row, given], np.zeros(int(given.sum())),
                          r.level_times_h[row, mask], r.levels_mg_per_l[row, mask],
                          covariates, dose_cmt=1, observation_cmt=2)


def mycophenolate_scores(steps: StepTable, first_info: Mapping[str, Any]
                         ) -> dict[str, np.ndarray]:
    """Share of days in target, mean rejection probability, share of toxic days, final AUC.

    Examples:
        >>> steps = {"days_in_target": np.array([[3.0, 4.0]]), "days_done": np.array([[3.0, 4.0]]),
        ...          "rejection_probability": np.array([[0.2, 0.1]]),
        ...          "toxic_days": np.array([[0.0, 7.0]]),
        ...          "auc0_12_mg_h_per_l": np.array([[40.0, 70.0]])}
        >>> s = mycophenolate_scores(steps, {})
        >>> s["days_in_target_fraction"].tolist(), s["toxic_day_fraction"].tolist()
        ([1.0], [1.0])
        >>> s["mean_rejection_probability"].round(4).tolist()
        [0.1429]
    """
    days = np.nan_to_num(np.asarray(steps["days_done"], dtype=np.float64))
    total = np.maximum(days.sum(axis=1), 1.0)

    def share(key: str, weight: np.ndarray | float = 1.0) -> np.ndarray:
        return np.nansum(np.asarray(steps[key], dtype=np.float64) * weight, axis=1) / total

    return {"days_in_target_fraction": share("days_in_target"),
            "mean_rejection_probability": share("rejection_probability", days),
            "toxic_day_fraction": share("toxic_days"),
            "final_auc0_12_mg_h_per_l": last_valid(
                np.asarray(steps["auc0_12_mg_h_per_l"], dtype=np.float64))}


MYCOPHENOLATE_OUTCOMES = OutcomeSpec(
    step_metrics=("auc0_12_mg_h_per_l", "mean_auc0_12_mg_h_per_l", "trough_mg_per_l",
                  "in_target_range", "in_target_fraction", "days_in_target", "days_done",
                  "rejection_probability", "toxic_days", "dose_mg"),
    scores={"days_in_target_fraction": "share of days with AUC0-12 in 30-60 mg*h/L",
            "mean_rejection_probability": "mean daily rejection probability (our fit)",
            "toxic_day_fraction": "share of days with AUC0-12 > 60 mg*h/L",
            "final_auc0_12_mg_h_per_l": "AUC0-12 on the last day (mg*h/L)",
            "return": "return"},
    episode_scores=mycophenolate_scores, level_key="auc0_12_mg_h_per_l",
    level_label="true AUC0-12 of the step's last day (mg*h/L)", target_range=(30.0, 60.0),
    in_range_key="in_target_range")
"""``pkgym/Mycophenolate-v0``: AUC0-12 target attainment, rejection risk and toxic troughs."""


def outcomes(core: Any) -> OutcomeSpec:
    """The env's outcome spec, :data:`MYCOPHENOLATE_OUTCOMES` under any scenario."""
    return MYCOPHENOLATE_OUTCOMES


def _read_levels(core: Any, observation: Mapping[str, np.ndarray]) -> ObservedLevels:
    """The time now and the measured levels of a batched observation, h and mg/L."""
    return ObservedLevels(time_h=np.asarray(observation["time_h"], dtype=np.float32),
                          values=observation["levels_mg_per_l"],
                          times_h=observation["level_times_h"], mask=observation["level_mask"])


HISTORY = HistoryAdapter(
    context_keys=("covariates", "albumin_g_per_l", "creatinine_clearance_ml_per_min"),
    level_key="levels_mg_per_l", level_unit="mg/L", interval_h=lambda core: INTERVAL_H,
    read_levels=_read_levels)
"""The canonical history: one dose slot per administration (12 h), the levels, the labs
(named by the env's registry entry)."""


def exposure_grid_h(core: Any) -> np.ndarray:
    """The hours of the exposure course, ``1, 2, ..., 24 end_day``."""
    return np.arange(1.0, 24.0 * core.settings.scenario.end_day + 1.0)


def true_exposure(core: Any) -> np.ndarray:
    """Hourly true total MPA (n, T), mg/L, from each administration's stored start state.

    NaN where the episode has not reached the hour yet.
    """
    records, settings = core.records, core.settings
    times = exposure_grid_h(core)
    out = np.full((core.n_patients, times.size), np.nan)
    given = _firsts(settings.scenario)[records.visit]
    offsets = np.arange(1.0, INTERVAL_H + 1.0)
    for j in range(int(given.max(initial=0))):
        rows = np.flatnonzero(given > j)
        _, params = true_params(records, settings, rows, np.full(rows.size, float(j // 2)))
        _, conc, _ = simulate_interval(records.interval_states[rows, j], params,
                                       records.doses_mg[rows, j], INTERVAL_H, offsets)
        out[rows, 12 * j:12 * j + 12] = conc
    return out


EXPOSURE = ExposureAdapter(unit="mg/L", grid_h=exposure_grid_h, true_course=true_exposure)
"""The true exposure course: total MPA every hour (named by the env's registry entry)."""
