"""Views of the depression clinic's records: ``info``, text, a figure and a NONMEM dataset."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pkgym.envs.depression.kernel import last_week, this_visit
from pkgym.envs.nonmem import nonmem_dataset
from pkgym.envs.outcomes import OutcomeSpec, StepTable, last_valid
from pkgym.units import HOURS_PER_WEEK

REMISSION_MADRS = 10.0
"""MADRS <= 10: remission (the usual cut-off, e.g. Hawley et al. 2002)."""


def info(records: Any, settings: Any, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Clinical metrics of the last week and the hidden truth of ``rows`` (fresh arrays).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Depression-v0")
        >>> _, first = env.reset(seed=0)
        >>> first["week"], first["dose_mg"], first["symptom_score"] == first["baseline_score"]
        (0, 0.0, True)
    """
    r = records
    week = r.week[rows]
    (dose, concentration, occupancy, adverse), event = last_week(
        rows, week, (r.doses_mg, r.concentration_mg_per_l, r.occupancy, r.adverse_probability),
        r.adverse_event)
    score, rho, madrs, bias, accuracy, baseline = this_visit(
        rows, week, (r.score, r.rho), (r.madrs_measured, r.bias_measured, r.accuracy_measured))
    p = r.params
    return {
        "week": week, "dose_mg": dose, "concentration_mg_per_l": concentration,
        "occupancy": occupancy, "effect": r.effect[rows], "amount_mg": r.amount_mg[rows],
        "adverse_probability": adverse, "adverse_event": event,
        "symptom_score": score, "baseline_score": baseline, "madrs_measured": madrs,
        "response_bias": bias, "accuracy": accuracy,
        "response": score <= 0.5 * baseline, "remission": score <= REMISSION_MADRS,
        "reward_sensitivity": rho, "baseline_reward_sensitivity": p["rho0"][rows],
        "learning_rate": p["epsilon"][rows], "instruction_sensitivity": p["gamma"][rows],
        "clearance_l_per_h": p["clearance_l_per_h"][rows], "drug_emax": p["emax"][rows],
        "patient_id": r.patient_id[rows], "seed_entropy": r.seed_entropy[rows],
    }


def render_text(records: Any, settings: Any, row: int) -> str:
    """A line: week, last dose, true and rated score, response bias, true rho, side effects.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Depression-v0", render_mode="ansi")
        >>> _ = env.reset(seed=0)
        >>> env.render()[:10]
        'week 0/12 '
    """
    r, week = records, int(records.week[row])
    dose = r.doses_mg[row, week - 1] if week else 0.0
    return (f"week {week}/{settings.scenario.n_weeks}  last dose {dose:g} mg/day  MADRS true "
            f"{r.score[row, week]:.1f} rated {r.madrs_measured[row, week]:.0f}  response bias "
            f"{r.bias_measured[row, week]:+.3f}  rho {r.rho[row, week]:.3f}  adverse events "
            f"{int(r.adverse_event[row, :week].sum())}")


def render_figure(records: Any, settings: Any, row: int) -> Figure:
    """True and rated MADRS with the remission line (top); doses and response bias (bottom).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Depression-v0")
        >>> _ = env.reset(seed=0)
        >>> _ = env.step(2)
        >>> core = env.unwrapped.core
        >>> len(render_figure(core.records, core.settings, 0).axes)
        3
    """
    r, week = records, int(records.week[row])
    weeks = np.arange(week + 1)
    fig = Figure(figsize=(8, 5), dpi=80)
    top, bottom = fig.subplots(2, 1, gridspec_kw={"height_ratios": [3, 2]})
    top.plot(weeks, r.score[row, :week + 1], marker="o", label="true score")
    top.plot(weeks, r.madrs_measured[row, :week + 1], marker="x", linestyle="", label="rated")
    top.axhline(REMISSION_MADRS, color="tab:green", linestyle="--", label="remission")
    top.set(ylabel="MADRS", ylim=(0, 60), title=f"escitalopram, week {week}")
    top.legend(loc="upper right", fontsize=8)
    bottom.bar(np.arange(week) + 0.5, r.doses_mg[row, :week], width=0.6, alpha=0.4)
    bottom.set(xlabel="week", ylabel="dose (mg/day)")
    bias = bottom.twinx()
    bias.plot(weeks, r.bias_measured[row, :week + 1], color="tab:red", marker=".")
    bias.set_ylabel("PRT response bias")
    fig.tight_layout()
    return fig


def episode_dataset(records: Any, settings: Any, row: int) -> pd.DataFrame:
    """Daily doses (CMT 1, oral) and rated MADRS (DV, CMT 2: the effect), with covariates.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Depression-v0")
        >>> _ = env.reset(seed=0)
        >>> _ = env.step(2)
        >>> env.unwrapped.episode_dataset()[["TIME", "AMT", "EVID", "CMT"]].values.tolist()[:2]
        [[0.0, 0.0, 0.0, 2.0], [0.0, 10.0, 1.0, 1.0]]
    """
    r, week = records, int(records.week[row])
    daily = np.repeat(r.doses_mg[row, :week], 7)
    visits = np.flatnonzero(r.assessed[row] > 0)
    c = r.covariates
    covariates = {"AGE": float(c["age_years"][row]), "SEX": float(c["is_female"][row]),
                  "WT": float(c["weight_kg"][row])}
    return nonmem_dataset(int(r.patient_id[row]), 24.0 * np.arange(daily.size), daily,
                          np.zeros(daily.size), HOURS_PER_WEEK * visits,
                          r.madrs_measured[row, visits].astype(np.float64), covariates,
                          dose_cmt=1, observation_cmt=2)


def depression_scores(steps: StepTable, first_info: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Final true symptom score, change from baseline, response, remission, side effects.

    Examples:
        >>> steps = {"symptom_score": np.array([[25.0, 14.0], [28.0, 26.0]]),
        ...          "adverse_probability": np.array([[0.1, 0.3], [0.0, 0.0]])}
        >>> s = depression_scores(steps, {"symptom_score": np.array([30.0, 30.0])})
        >>> s["change_from_baseline"].tolist(), s["response"].tolist(), s["remission"].tolist()
        ([-16.0, -4.0], [1.0, 0.0], [0.0, 0.0])
        >>> s["side_effect_burden"].round(2).tolist()
        [0.2, 0.0]
    """
    score = np.asarray(steps["symptom_score"], dtype=np.float64)
    final = last_valid(score)
    baseline = np.asarray(first_info["symptom_score"], dtype=np.float64)
    return {"final_symptom_score": final, "change_from_baseline": final - baseline,
            "response": (final <= 0.5 * baseline).astype(np.float64),
            "remission": (final <= 10.0).astype(np.float64),
            "side_effect_burden": np.nanmean(
                np.asarray(steps["adverse_probability"], dtype=np.float64), axis=1)}


DEPRESSION_OUTCOMES = OutcomeSpec(
    step_metrics=("symptom_score", "madrs_measured", "response_bias", "reward_sensitivity",
                  "adverse_probability", "adverse_event", "dose_mg", "remission"),
    scores={"final_symptom_score": "final MADRS (true)",
            "change_from_baseline": "MADRS change from baseline",
            "response": "response rate (>= 50% reduction)",
            "remission": "remission rate (MADRS <= 10)",
            "side_effect_burden": "mean weekly side-effect probability", "return": "return"},
    episode_scores=depression_scores, level_key="symptom_score",
    level_label="true MADRS", target_range=(0.0, 10.0), in_range_key="remission")
"""``pkgym/Depression-v0``: symptom relief, response, remission and side effects."""


def outcomes(core: Any) -> OutcomeSpec:
    """The env's outcome spec, :data:`DEPRESSION_OUTCOMES` under any scenario."""
    return DEPRESSION_OUTCOMES
