"""Views of the addiction clinic's records: ``info``, text, a figure, a NONMEM-style dataset."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pkgym.envs.addiction.kernel import last_week
from pkgym.envs.nonmem import nonmem_dataset
from pkgym.envs.outcomes import OutcomeSpec, StepTable, last_valid
from pkgym.models.addiction import VARIED
from pkgym.units import HOURS_PER_DAY, HOURS_PER_WEEK

VALUE_KEYS = ("value_choice", "value_drug", "value_natural", "value_abstain")


def info(records: Any, settings: Any) -> dict[str, np.ndarray]:
    """Clinical metrics of the last week and the hidden truth of every patient (fresh arrays).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Addiction-v0")
        >>> _, first = env.reset(seed=0)
        >>> first["week"], first["use_days"], first["value_drug"] > first["value_natural"]
        (0, 0, True)
    """
    r, scenario = records, settings.scenario
    treatment, use_days, reported, positive, occupancy, taken, blocked = last_week(
        r.week, r.actions, r.used, r.reported, r.urine_positive, r.occupancy, r.taken)
    started = r.week > 0
    out: dict[str, np.ndarray] = {
        "week": r.week.copy(), "treatment": treatment, "use_days": use_days,
        "abstinent_days": np.where(started, 7 - use_days, 0),
        "reported_use_days": reported, "urine_positive": positive,
        "cm_streak": r.cm_streak.copy(),
        "naltrexone_occupancy": occupancy[:, 0], "buprenorphine_occupancy": occupancy[:, 1],
        "blocked_fraction": blocked,
        "dopamine_effective": r.params[:, 1] * (1.0 - blocked),
        "treatment_burden": np.where(started, scenario.reward.burden(treatment), 0.0),
        "naltrexone_taken_mg": taken[:, 0], "buprenorphine_taken_mg": taken[:, 1]}
    out.update({"naltrexone_amount_mg": r.amounts[:, 0].copy(),
                "buprenorphine_amount_mg": r.amounts[:, 1].copy()})
    out.update({key: r.values[:, k].copy() for k, key in enumerate(VALUE_KEYS)})
    out["drug_value_lead"] = r.values[:, 1] - r.values[:, 2]
    out.update({name: r.params[:, k].copy() for k, name in enumerate(VARIED)})
    out.update({"prior_use_fraction": r.prior_use_fraction.copy(),
                "patient_id": r.patient_id.copy(), "seed_entropy": r.seed_entropy.copy()})
    return out


def render_text(records: Any, settings: Any, row: int) -> str:
    """A line: week, last treatment, true and reported use, urine test, values.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Addiction-v0", render_mode="ansi")
        >>> _ = env.reset(seed=0)
        >>> env.render()[:21]
        'week 0/24  treatment '
    """
    from pkgym.envs.addiction.clinic import TREATMENT_NAMES

    r, week = records, int(records.week[row])
    last = week - 1
    treatment = TREATMENT_NAMES[int(r.actions[row, last])] if week else "-"
    used = int(r.used[row, last].sum()) if week else 0
    reported = int(r.reported[row, last]) if week else 0
    urine = ("positive" if r.urine_positive[row, last] else "negative") if week else "-"
    v = r.values[row]
    return (f"week {week}/{settings.scenario.n_weeks}  treatment {treatment}  use days "
            f"{used} (reported {reported})  urine {urine}  V drug {v[1]:.2f} natural "
            f"{v[2]:.2f} abstain {v[3]:.2f}")


def render_figure(records: Any, settings: Any, row: int) -> Figure:
    """Use days per week with the treatment (top); the learned values (bottom).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Addiction-v0")
        >>> _ = env.reset(seed=0)
        >>> core = env.unwrapped.core
        >>> len(render_figure(core.records, core.settings, 0).axes)
        2
    """
    r, week = records, int(records.week[row])
    fig = Figure(figsize=(8, 5), dpi=80)
    top, bottom = fig.subplots(2, 1, sharex=True)
    weeks = np.arange(week)
    top.bar(weeks, r.used[row, :week].sum(axis=1), color="tab:red", label="use days (true)")
    top.plot(weeks, r.reported[row, :week], "k.", label="reported")
    positive = weeks[r.urine_positive[row, :week]]
    top.plot(positive, np.full(positive.size, 7.3), "rv", label="urine positive")
    top.set(ylabel="days", ylim=(0, 7.8), title=f"addiction treatment, week {week}")
    top.legend(loc="upper right", fontsize=8)
    for k, name in enumerate(("choice", "drug", "natural", "abstain")):
        bottom.plot(np.arange(week + 1), r.value_course[row, :week + 1, k], label=f"V({name})")
    bottom.set(xlabel="week", ylabel="learned value")
    bottom.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def episode_dataset(records: Any, settings: Any, row: int) -> pd.DataFrame:
    """Daily doses taken (naltrexone CMT 1, buprenorphine CMT 2) and weekly reported use days.

    TIME in h from week 0; AMT in mg; DV is the self-reported use days of the week (CMT 3),
    at the week's end; covariate ``PRIORUSE`` (share of use days before the clinic).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Addiction-v0")
        >>> _ = env.reset(seed=0)
        >>> _ = env.step(2)
        >>> table = env.unwrapped.episode_dataset()
        >>> sorted(set(table["CMT"])) == [1, 3] and float(table["TIME"].max())
        168.0
    """
    r, week = records, int(records.week[row])
    days = week * 7
    times = np.arange(days) * HOURS_PER_DAY
    taken = r.taken[row, :week].reshape(days, 2)
    covariates = {"PRIORUSE": float(r.prior_use_fraction[row])}
    empty = np.zeros(0)
    parts = [nonmem_dataset(int(r.patient_id[row]), times, taken[:, k], np.zeros(days), empty,
                            empty, covariates, dose_cmt=k + 1, observation_cmt=3)
             for k in range(2)]
    parts.append(nonmem_dataset(int(r.patient_id[row]), empty, empty, empty,
                                (np.arange(week) + 1) * HOURS_PER_WEEK,
                                r.reported[row, :week].astype(np.float64), covariates,
                                dose_cmt=1, observation_cmt=3))
    table = pd.concat(parts, ignore_index=True)
    return table.sort_values(["TIME", "EVID", "CMT"], kind="stable").reset_index(drop=True)


def addiction_scores(steps: StepTable, first_info: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Abstinent-day share, use days, positive-test share, final drug value, burden.

    Examples:
        >>> steps = {"use_days": np.array([[7, 0]]), "urine_positive": np.array([[1, 0]]),
        ...          "value_drug": np.array([[3.0, 2.5]]),
        ...          "treatment_burden": np.array([[0.5, 0.5]])}
        >>> s = addiction_scores(steps, {})
        >>> float(s["abstinent_days_fraction"][0]), float(s["final_drug_value"][0])
        (0.5, 2.5)
    """
    use = np.asarray(steps["use_days"], dtype=np.float64)
    return {"abstinent_days_fraction": 1.0 - use.mean(axis=1) / 7.0,
            "use_days": use.sum(axis=1),
            "positive_urine_fraction": np.asarray(steps["urine_positive"], np.float64).mean(axis=1),
            "final_drug_value": last_valid(np.asarray(steps["value_drug"], dtype=np.float64)),
            "treatment_burden": np.asarray(steps["treatment_burden"], np.float64).sum(axis=1)}


ADDICTION_OUTCOMES = OutcomeSpec(
    step_metrics=("use_days", "reported_use_days", "urine_positive", "value_drug",
                  "value_natural", "treatment", "treatment_burden", "blocked_fraction"),
    scores={"abstinent_days_fraction": "share of abstinent days", "use_days": "use days",
            "positive_urine_fraction": "share of positive urine tests",
            "final_drug_value": "final V(drug)", "treatment_burden": "treatment burden",
            "return": "return"},
    episode_scores=addiction_scores, level_key="use_days", level_label="use days per week",
    target_range=(0.0, 0.0), in_range_key="urine_positive", dose_key="treatment")
"""``pkgym/Addiction-v0``: abstinence, urine tests, learned drug value and burden."""


def outcomes(core: Any) -> OutcomeSpec:
    """The env's outcome spec, :data:`ADDICTION_OUTCOMES` under any scenario."""
    return ADDICTION_OUTCOMES
