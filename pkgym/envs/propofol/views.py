"""Views of the theatre's records: info, text, a figure, a NONMEM dataset, outcomes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pkgym.envs.nonmem import nonmem_dataset
from pkgym.envs.outcomes import OutcomeSpec, StepTable, last_valid
from pkgym.envs.propofol.clinic import BIS_TARGET, stimulation_by_step
from pkgym.envs.propofol.kernel import STEP_ARRAYS, info_rows

EPISODE_KEYS = ("time_in_range_fraction", "time_below_40_fraction", "time_above_60_fraction",
                "induction_time_min", "total_propofol_mg_per_kg")


def info(records: Any, settings: Any, rows: np.ndarray | None) -> dict[str, np.ndarray]:
    """Clinical metrics of the last step and episode and the hidden truth of ``rows`` (all: None).

    ``stimulation_bis``: the BIS points surgical stimulation adds now (an event of the
    scenario, not observed). Hidden truth (for analysis and the ``oracle``): ``model_state``
    (n, 4: A1, A2, A3 mg, Ce mg/L), ``pk_params`` (n, 7), ``pd_params`` (n, 6), ``etas``
    (n, 9) and the covariates. The step's metrics come from one compiled pass
    (:func:`pkgym.envs.propofol.kernel.info_rows`), the episode's too: time in 40-60, below and
    above over its step ends (true BIS), ``induction_time_min`` (first step end with true BIS
    < 60; -1 before) and ``total_propofol_mg_per_kg``.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Propofol-v0")
        >>> _ = env.reset(seed=0)
        >>> info = env.step(0)[-1]
        >>> info["time_above_60_fraction"], info["total_propofol_mg_per_kg"]
        (1.0, 0.0)
    """
    r = records
    every = rows is None
    rows = np.arange(r.step.size) if rows is None else np.asarray(rows, dtype=np.int64)
    step, floats, flags, state = info_rows(rows, STEP_ARRAYS(r), r.pk, settings.scenario.step_min,
                                           stimulation_by_step(settings.scenario))
    out = {"step": step, "minute": floats[0], "bis": floats[1], "bis_measured": floats[2],
           "cp_ug_per_ml": floats[3], "ce_ug_per_ml": floats[4], "in_range": flags[0],
           "too_deep": flags[1], "too_light": flags[2], "rate_mg_per_kg_per_h": floats[5],
           "stimulation_bis": floats[6]}
    out.update(zip(EPISODE_KEYS, floats[7:], strict=True))
    truth = ("pk", "pd", "etas", "covariates", "patient_id", "seed_entropy")
    pk, pd, etas, cov, ids, entropy = (getattr(r, name).copy() if every else getattr(r, name)[rows]
                                       for name in truth)
    out.update(model_state=state, pk_params=pk, pd_params=pd, etas=etas, covariates=cov,
               patient_id=ids, seed_entropy=entropy)
    return out


def info_row(records: Any, settings: Any, row: int, stimulation: list[float]) -> dict[str, Any]:
    """:func:`info` of one patient as plain Python values (the single env's fast path).

    The same keys, values and types as ``info``'s row (numpy scalars as Python ones), from
    scalar arithmetic (IEEE, as numpy's); ``stimulation``: :func:`stimulation_bis` at every
    step end ``k * step_min``, k = 0 ... n_steps (a list).
    """
    r, s = records, settings.scenario
    step = int(r.step[row])
    bis, state = float(r.bis_true[row, step]), r.states[row, step]
    n, first = float(max(step, 1)), int(r.induction_step[row])
    low, high = BIS_TARGET
    return {"step": step, "minute": step * s.step_min, "bis": bis,
            "bis_measured": float(r.bis_measured[row, step]),
            "cp_ug_per_ml": float(state[0]) / float(r.pk[row, 0]),
            "ce_ug_per_ml": float(state[3]), "in_range": low <= bis <= high,
            "too_deep": bis < low, "too_light": bis > high,
            "rate_mg_per_kg_per_h": float(r.rates[row, step - 1]) if step > 0 else 0.0,
            "stimulation_bis": stimulation[step],
            "time_in_range_fraction": float(r.in_range[row]) / n,
            "time_below_40_fraction": float(r.below_40[row]) / n,
            "time_above_60_fraction": float(r.above_60[row]) / n,
            "induction_time_min": (first + 1) * s.step_min if first >= 0 else -1.0,
            "total_propofol_mg_per_kg": float(r.total_mg_per_kg[row]),
            "model_state": state.copy(), "pk_params": r.pk[row].copy(),
            "pd_params": r.pd[row].copy(), "etas": r.etas[row].copy(),
            "covariates": r.covariates[row].copy(), "patient_id": int(r.patient_id[row]),
            "seed_entropy": r.seed_entropy[row]}


def render_text(records: Any, settings: Any, row: int) -> str:
    """A line: time, true and measured BIS, Cp, Ce, last rate, time in range so far.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Propofol-v0", render_mode="ansi")
        >>> _ = env.reset(seed=0)
        >>> env.render()[:12]
        't 0.0 min  B'
    """
    one = info(records, settings, np.array([row]))
    return (f"t {one['minute'][0]:.1f} min  BIS {one['bis'][0]:.0f} (monitor "
            f"{one['bis_measured'][0]:.0f})  Cp {one['cp_ug_per_ml'][0]:.2f}  Ce "
            f"{one['ce_ug_per_ml'][0]:.2f} ug/mL  rate {one['rate_mg_per_kg_per_h'][0]:.3g} "
            f"mg/kg/h  in 40-60 {one['time_in_range_fraction'][0]:.2f}  step "
            f"{int(one['step'][0])}/{settings.scenario.n_steps}")


def render_figure(records: Any, settings: Any, row: int) -> Figure:
    """True and measured BIS with the 40-60 band (top); Cp, Ce and the rate (bottom).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Propofol-v0")
        >>> _ = env.reset(seed=0)
        >>> core = env.unwrapped.core
        >>> len(render_figure(core.records, core.settings, 0).axes)
        3
    """
    r, s = records, settings.scenario
    step = int(r.step[row])
    minutes = np.arange(step + 1) * s.step_min
    fig = Figure(figsize=(8, 5.5), dpi=80)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    top.axhspan(*BIS_TARGET, color="tab:green", alpha=0.15)
    top.plot(minutes, r.bis_true[row, :step + 1], lw=1.0, label="true BIS")
    top.plot(minutes, r.bis_measured[row, :step + 1], lw=0.6, ls="--", label="monitor")
    top.set(ylabel="BIS", ylim=(0, 100), title=f"propofol, {step * s.step_min:.1f} min")
    top.legend(loc="upper right", fontsize=8)
    bottom.plot(minutes, r.states[row, :step + 1, 0] / r.pk[row, 0], label="Cp")
    bottom.plot(minutes, r.states[row, :step + 1, 3], label="Ce")
    bottom.set(xlabel="minutes", ylabel="ug/mL")
    bottom.legend(loc="upper left", fontsize=8)
    rate = bottom.twinx()
    rate.step(minutes[:-1], r.rates[row, :step], where="post", color="tab:gray", lw=0.8)
    rate.set_ylabel("rate (mg/kg/h)")
    fig.tight_layout()
    return fig


def episode_dataset(records: Any, settings: Any, row: int) -> pd.DataFrame:
    """Infusions (CMT 1, mg, RATE mg/h over each step) and monitor BIS (CMT 2), TIME h.

    Covariates: AGE (y), WT (kg), HT (cm), SEX (1 female), OPIOID (0/1).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Propofol-v0")
        >>> _ = env.reset(seed=0)
        >>> _ = env.step(5)
        >>> table = env.unwrapped.episode_dataset()[["TIME", "EVID", "CMT"]]
        >>> table.values.tolist()[:2]
        [[0.0, 0.0, 2.0], [0.0, 1.0, 1.0]]
    """
    r, s = records, settings.scenario
    step = int(r.step[row])
    step_h = s.step_min / 60.0
    weight = float(r.covariates[row, 1])
    given = np.flatnonzero(r.rates[row, :step] > 0)
    amounts = r.rates[row, given] * weight * step_h
    covariates: dict[str, Any] = {
        name: float(r.covariates[row, j])
        for j, name in enumerate(("AGE", "WT", "HT", "SEX", "OPIOID"))}
    return nonmem_dataset(int(r.patient_id[row]), step_h * given, amounts,
                          np.full(given.size, step_h), step_h * np.arange(step + 1),
                          r.bis_measured[row, :step + 1], covariates, dose_cmt=1,
                          observation_cmt=2)


def propofol_scores(steps: StepTable, first_info: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The episode's metrics as of its last step; induction never reached = episode length.

    Examples:
        >>> steps = {key: np.array([[0.5, 0.75]]) for key in EPISODE_KEYS}
        >>> steps["induction_time_min"] = np.array([[-1.0, -1.0]])
        >>> steps["minute"] = np.array([[0.5, 1.0]])
        >>> out = propofol_scores(steps, {})
        >>> out["time_in_range_fraction"].tolist(), out["induction_time_min"].tolist()
        ([0.75], [1.0])
    """
    scores = {key: last_valid(np.asarray(steps[key], dtype=np.float64)) for key in EPISODE_KEYS}
    minutes = last_valid(np.asarray(steps["minute"], dtype=np.float64))
    induction = scores["induction_time_min"]
    scores["induction_time_min"] = np.where(induction >= 0, induction, minutes)
    return scores


PROPOFOL_OUTCOMES = OutcomeSpec(
    step_metrics=("bis", "bis_measured", "cp_ug_per_ml", "ce_ug_per_ml", "in_range",
                  "rate_mg_per_kg_per_h", "minute", *EPISODE_KEYS),
    scores={"time_in_range_fraction": "time with true BIS in 40-60",
            "time_below_40_fraction": "time with true BIS < 40 (too deep)",
            "time_above_60_fraction": "time with true BIS > 60 (too light, induction included)",
            "induction_time_min": "induction time to true BIS < 60 (min)",
            "total_propofol_mg_per_kg": "total propofol (mg/kg)", "return": "return"},
    episode_scores=propofol_scores, level_key="bis",
    level_label="true BIS at the step's end", target_range=BIS_TARGET,
    in_range_key="in_range", dose_key="rate_mg_per_kg_per_h")
"""``pkgym/Propofol-v0``: time in BIS 40-60 first, then depth, induction and dose."""


def outcomes(core: Any) -> OutcomeSpec:
    """The env's outcome spec, :data:`PROPOFOL_OUTCOMES` under any scenario."""
    return PROPOFOL_OUTCOMES
