"""Views of a vancomycin ward's records: text, a figure and a NONMEM-style dataset."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pkgym.envs.nonmem import nonmem_dataset
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
