"""Views of the chemotherapy clinic's records: ``info``, text, a figure, a NONMEM-style dataset."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pkgym.envs.nonmem import nonmem_dataset
from pkgym.envs.outcomes import OutcomeSpec, StepTable
from pkgym.models.tumour_immune import SYMBOLS
from pkgym.units import HOURS_PER_DAY

CELL_KEYS = ("normal_cells", "tumour_cells", "immune_cells", "drug_level")
"""Info keys of the true state columns (N, T, I, u)."""
MEASURED_KEYS = ("measured_normal_cells", "measured_tumour_cells", "measured_immune_cells")
PARAMETER_KEYS = {"a2": "a2_tumour_kill_per_day", "a3": "a3_normal_kill_per_day",
                  "d2": "d2_drug_decay_per_day"}
"""Info keys of the patient's varied (true, hidden) parameters."""


def info(records: Any, settings: Any) -> dict[str, np.ndarray]:
    """Clinical metrics of the last day and the hidden truth of every patient (fresh arrays).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make_vec("pkgym/ChemoImmune-v0", num_envs=2,
        ...                    vectorization_mode="vector_entry_point")
        >>> _, first = env.reset(seed=0)
        >>> first["day"].tolist(), first["normal_cells"].tolist()
        ([0, 0], [0.9, 0.9])
    """
    r = records
    state, measured = r.states, r.measured_now.astype(np.float64)  # this morning's rows
    floor = settings.scenario.normal_cell_floor
    out: dict[str, np.ndarray] = {"day": r.day.copy(), "dose": r.last_dose.copy()}
    out.update({key: state[:, k].copy() for k, key in enumerate(CELL_KEYS)})
    out.update({key: measured[:, k].copy() for k, key in enumerate(MEASURED_KEYS)})
    out.update({
        "normal_above_floor": state[:, 0] >= floor, "normal_below_floor": state[:, 0] < floor,
        "days_below_floor": r.days_below_floor.copy(),
        "tumour_relative_to_start": state[:, 1] / r.tumour_at_start,
        "terminated_below_floor": r.stopped.copy(), "tumour_at_start": r.tumour_at_start.copy()})
    out.update({key: r.params.column(symbol).copy() for symbol, key in PARAMETER_KEYS.items()})
    out.update({"patient_id": r.patient_id.copy(), "seed_entropy": r.seed_entropy.copy()})
    return out


def info_row(records: Any, settings: Any, row: int) -> dict[str, Any]:
    """:func:`info` of one patient as plain Python values.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/ChemoImmune-v0")
        >>> _, first = env.reset(seed=0)
        >>> first["day"], first["dose"], first["drug_level"]
        (0, 0.0, 0.0)
    """
    r, day = records, int(records.day[row])
    state = r.course[row, day].tolist()
    measured = r.measured[row, day].tolist()
    floor = settings.scenario.normal_cell_floor
    out: dict[str, Any] = {"day": day, "dose": float(r.doses[row, day - 1]) if day else 0.0}
    out.update(zip(CELL_KEYS, state, strict=True))
    out.update(zip(MEASURED_KEYS, measured, strict=True))
    tumour_at_start = float(r.tumour_at_start[row])
    out.update({
        "normal_above_floor": state[0] >= floor, "normal_below_floor": state[0] < floor,
        "days_below_floor": int(r.below_floor[row].sum()),
        "tumour_relative_to_start": state[1] / tumour_at_start,
        "terminated_below_floor": bool(r.stopped[row]), "tumour_at_start": tumour_at_start})
    table = r.params.table[row]
    out.update({key: float(table[SYMBOLS.index(symbol)])
                for symbol, key in PARAMETER_KEYS.items()})
    out.update({"patient_id": int(r.patient_id[row]), "seed_entropy": r.seed_entropy[row]})
    return out


def render_text(records: Any, settings: Any, row: int) -> str:
    """A line: day, last dose, true and measured cells, drug level, days below the floor.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/ChemoImmune-v0", render_mode="ansi")
        >>> _ = env.reset(seed=0)
        >>> env.render()[:31]
        'day 0/150  last dose 0  N 0.900'
    """
    r, day = records, int(records.day[row])
    n, t, i, u = r.course[row, day]
    mn, mt, mi = r.measured[row, day]
    dose = r.doses[row, day - 1] if day else 0.0
    return (f"day {day}/{settings.scenario.n_days}  last dose {dose:g}  N {n:.3f} T {t:.4f} "
            f"I {i:.3f} drug {u:.3f}  (measured N {mn:.3f} T {mt:.4f} I {mi:.3f})  days below "
            f"floor {int(r.below_floor[row].sum())}")


def render_figure(records: Any, settings: Any, row: int) -> Figure:
    """True and measured N, T, I each morning with the normal-cell floor (top); doses (bottom).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/ChemoImmune-v0")
        >>> _ = env.reset(seed=0)
        >>> core = env.unwrapped.core
        >>> len(render_figure(core.records, core.settings, 0).axes)
        2
    """
    r, day = records, int(records.day[row])
    fig = Figure(figsize=(8, 5), dpi=80)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    days = np.arange(day + 1)
    for k, (name, color) in enumerate((("normal", "tab:green"), ("tumour", "tab:red"),
                                       ("immune", "tab:blue"))):
        top.plot(days, r.course[row, :day + 1, k], color=color, label=f"{name} cells")
        top.plot(days, r.measured[row, :day + 1, k], ".", color=color, alpha=0.5)
    top.axhline(settings.scenario.normal_cell_floor, color="tab:green", linestyle="--",
                label="normal-cell floor")
    top.set(ylabel="cells (normalised)", title=f"chemotherapy, day {day}")
    top.legend(loc="upper right", fontsize=8)
    bottom.bar(np.arange(day), r.doses[row, :day], color="tab:gray", width=0.8)
    bottom.set(xlabel="day", ylabel="dose (units/day)")
    fig.tight_layout()
    return fig


def episode_dataset(records: Any, settings: Any, row: int) -> pd.DataFrame:
    """Infusions (CMT 1, over 24 h) and measured N, T, I (DV, CMT 2, 3, 4) of one patient.

    TIME in h; AMT in drug units (RATE per h); DV in normalised cells; covariate ``TUMOUR0``.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/ChemoImmune-v0")
        >>> _ = env.reset(seed=0)
        >>> _ = env.step(10)
        >>> table = env.unwrapped.episode_dataset()
        >>> table["CMT"].tolist(), table["TIME"].tolist()
        ([2, 3, 4, 1, 2, 3, 4], [0.0, 0.0, 0.0, 0.0, 24.0, 24.0, 24.0])
        >>> table.loc[table["EVID"] == 1, ["AMT", "RATE"]].round(4).values.tolist()
        [[1.0, 0.0417]]
    """
    r, day = records, int(records.day[row])
    times = np.arange(day + 1) * HOURS_PER_DAY
    covariates = {"TUMOUR0": float(r.tumour_at_start[row])}
    parts = [nonmem_dataset(
        int(r.patient_id[row]), times[:-1] if cmt == 3 else np.zeros(0),
        r.doses[row, :day] if cmt == 3 else np.zeros(0), np.full(day if cmt == 3 else 0, 24.0),
        times, r.measured[row, :day + 1, cmt - 2].astype(np.float64), covariates,
        dose_cmt=1, observation_cmt=cmt) for cmt in (2, 3, 4)]
    table = pd.concat(parts, ignore_index=True)
    return table.sort_values(["TIME", "EVID", "CMT"], kind="stable").reset_index(drop=True)


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


def outcomes(core: Any) -> OutcomeSpec:
    """The env's outcome spec, :data:`CHEMO_IMMUNE_OUTCOMES` under any scenario."""
    return CHEMO_IMMUNE_OUTCOMES
