"""Views of a vancomycin ward's records: text, a figure and a NONMEM-style dataset."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pkgym.envs.adapters import ExposureAdapter, HistoryAdapter, ObservedLevels
from pkgym.envs.nonmem import nonmem_dataset
from pkgym.envs.outcomes import OutcomeSpec, StepTable
from pkgym.sim.interval import infuse_interval
from pkgym.sim.modal import modal_basis_unchecked


def render_text(records: Any, settings: Any, row: int) -> str:
    """A line: time, last dose, true AUC24, creatinine and the levels measured so far.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Vancomycin-v0", render_mode="ansi")
        >>> _ = env.reset(seed=0)
        >>> env.render()[:24]
        't=0 h  step 0/14  last d'
    """
    course, step = records.course, int(records.course.step[row])
    dose = records.doses_mg[row, step - 1] if step else 0.0
    levels = ", ".join(f"{v:.1f} mg/L @ {t:g} h" for v, t, m in zip(
        records.levels_mg_per_l[row], records.level_times_h[row], records.level_mask[row],
        strict=True) if m) or "none"
    return (f"t={step * settings.config.interval_h:g} h  step {step}/{settings.config.n_steps}  "
            f"last dose {dose:g} mg  AUC24 {records.auc24_mg_h_per_l[row]:.0f} mg*h/L  "
            f"SCr {course.kidney.creatinine_mg_per_dl[row]:.2f} mg/dL"
            f"{'  AKI' if course.kidney.had_aki[row] else ''}  levels: {levels}")


def true_profile(records: Any, settings: Any, row: int,
                 points_per_step: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """Dense true concentration of one patient over the steps taken (times h, mg/L).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Vancomycin-v0")
        >>> _ = env.reset(seed=0)
        >>> _ = env.step(4)
        >>> core = env.unwrapped.core
        >>> true_profile(core.records, core.settings, 0)[0][[0, -1]].tolist()
        [0.0, 12.0]
    """
    config, course, one = settings.config, records.course, slice(row, row + 1)
    times, levels = [], []
    for k in range(int(course.step[row])):
        cl = records.clearance_by_step_l_per_h[one, k]
        basis = modal_basis_unchecked(cl, course.volumes_l[one],
                                      course.intercompartmental_clearance_l_per_h[one],
                                      np.ones(1))  # IV only: ka unused
        offsets = np.linspace(0.0, config.interval_h, points_per_step)[None]
        modes = np.einsum("nij,nj->ni", basis.to_modal, records.amounts_by_step_mg[one, k])
        result = infuse_interval(basis, modes, cl, records.doses_mg[one, k],
                                 records.infusion_h[one, k], config.interval_h, offsets)
        times.append(k * config.interval_h + offsets[0])
        levels.append(result.concentrations_mg_per_l[0])
    if not times:
        return np.zeros(1), np.zeros(1)
    return np.concatenate(times), np.concatenate(levels)


def render_figure(records: Any, settings: Any, row: int) -> Figure:
    """True concentration, measured levels and doses (top); creatinine by day (bottom).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Vancomycin-v0")
        >>> _ = env.reset(seed=0)
        >>> len(render_figure(env.unwrapped.core.records, env.unwrapped.core.settings, 0).axes)
        3
    """
    fig = Figure(figsize=(8, 5.5), dpi=80)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    times, levels = true_profile(records, settings, row)
    top.plot(times, levels, lw=1.5, label="true concentration")
    mask = records.level_mask[row]
    top.scatter(records.level_times_h[row, mask], records.levels_mg_per_l[row, mask],
                color="red", zorder=3, label="measured level")
    steps = np.arange(settings.config.n_steps) * settings.config.interval_h
    doses = top.twinx()
    doses.bar(steps, records.doses_mg[row], width=1.0, alpha=0.3, color="gray", align="edge")
    doses.set_ylabel("dose (mg)")
    top.set_ylabel("vancomycin (mg/L)")
    top.set_title(f"AUC24 {records.auc24_mg_h_per_l[row]:.0f} mg*h/L "
                  f"(target {settings.target_auc24_over_mic[0]:g}-"
                  f"{settings.target_auc24_over_mic[1]:g} x MIC {settings.mic_mg_per_l:g})")
    top.legend(loc="lower right")
    days = np.arange(settings.config.n_days) * 24.0
    measured = records.creatinine_mg_per_dl[row] > 0
    bottom.plot(days[measured], records.true_creatinine_mg_per_dl[row, measured], "o-",
                label="true")
    bottom.plot(days[measured], records.creatinine_mg_per_dl[row, measured], "x", label="measured")
    bottom.set_ylabel("SCr (mg/dL)")
    bottom.set_xlabel("time (h)")
    bottom.legend(loc="upper left")
    fig.tight_layout()
    return fig


def episode_dataset(records: Any, settings: Any, row: int) -> pd.DataFrame:
    """Doses, measured levels and covariates (creatinine and CrCL by day) of one patient.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Vancomycin-v0")
        >>> _ = env.reset(seed=0)
        >>> _ = env.step(4)
        >>> env.unwrapped.episode_dataset()[["TIME", "AMT", "RATE", "EVID"]].values.tolist()
        [[0.0, 1000.0, 1000.0, 1.0]]
    """
    config, p = settings.config, records.patients
    steps = int(records.course.step[row])
    mask = records.level_mask[row]
    scr = records.creatinine_mg_per_dl[row]
    crcl = records.creatinine_clearance_ml_per_min[row]

    def by_day(values: np.ndarray):  # noqa: ANN202
        return lambda t: values[np.minimum((t // 24).astype(int), config.n_days - 1)]

    return nonmem_dataset(
        int(records.patient_id[row]), np.arange(steps) * config.interval_h,
        records.doses_mg[row, :steps], records.infusion_h[row, :steps],
        records.level_times_h[row, mask], records.levels_mg_per_l[row, mask],
        {"AGE": p.age_years[row], "SEX": int(p.is_female[row]), "WT": p.weight_kg[row],
         "HT": p.height_cm[row], "DIAL": int(p.on_dialysis[row]), "SCR": by_day(scr),
         "CRCL": by_day(crcl)})


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


def outcomes(core: Any) -> OutcomeSpec:
    """The env's outcome spec, :data:`VANCOMYCIN_OUTCOMES` under any scenario."""
    return VANCOMYCIN_OUTCOMES


def _interval_h(core: Any) -> float:
    """Time between doses, h (the scenario's interval)."""
    return core.settings.config.interval_h


def _read_levels(core: Any, observation: Mapping[str, np.ndarray]) -> ObservedLevels:
    """The time now and the measured levels of a batched observation, h and mg/L."""
    return ObservedLevels(time_h=np.asarray(observation["time_h"], dtype=np.float32),
                          values=observation["levels_mg_per_l"],
                          times_h=observation["level_times_h"], mask=observation["level_mask"])


HISTORY = HistoryAdapter(
    context_keys=("covariates", "creatinine_mg_per_dl", "creatinine_clearance_ml_per_min"),
    level_key="levels_mg_per_l", level_unit="mg/L", interval_h=_interval_h,
    read_levels=_read_levels)
"""The canonical history: context is the covariates, then creatinine and CrCL by day."""


def exposure_grid_h(core: Any) -> np.ndarray:
    """The hours of the exposure course, ``1, 2, ..., n_steps * interval_h``.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> exposure_grid_h(gym.make("pkgym/Vancomycin-v0").unwrapped.core)[[0, -1]].tolist()
        [1.0, 168.0]
    """
    config = core.settings.config
    horizon_h = config.n_steps * config.interval_h
    return np.arange(1.0, np.floor(horizon_h + 1e-9) + 1.0)


def true_exposure(core: Any) -> np.ndarray:
    """Hourly true concentrations (n, T), mg/L, interval by interval, vectorised over patients.

    The exact modal solution of the ward's model with the clearance each interval started
    with (as the kernel and :func:`true_profile` use); NaN where not reached yet.
    """
    records, config = core.records, core.settings.config
    course, interval = records.course, config.interval_h
    times = exposure_grid_h(core)
    out = np.full((core.n_patients, times.size), np.nan)
    for k in range(config.n_steps):
        inside = (times > k * interval) & (times <= (k + 1) * interval)
        rows = np.flatnonzero(course.step > k)
        if not inside.any() or rows.size == 0:
            continue
        clearance = records.clearance_by_step_l_per_h[rows, k]
        basis = modal_basis_unchecked(clearance, course.volumes_l[rows],
                                      course.intercompartmental_clearance_l_per_h[rows],
                                      np.ones(rows.size))  # IV only: ka unused
        modes = np.einsum("nij,nj->ni", basis.to_modal, records.amounts_by_step_mg[rows, k])
        offsets = np.broadcast_to(times[inside] - k * interval, (rows.size, int(inside.sum())))
        result = infuse_interval(basis, modes, clearance, records.doses_mg[rows, k],
                                 records.infusion_h[rows, k], interval, offsets)
        out[np.ix_(rows, np.flatnonzero(inside))] = result.concentrations_mg_per_l
    return out


EXPOSURE = ExposureAdapter(unit="mg/L", grid_h=exposure_grid_h, true_course=true_exposure)
"""The true exposure course: the plasma concentration every hour."""
