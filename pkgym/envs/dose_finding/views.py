"""Views of phase I trial records: ``info``, a text table, a figure and a NONMEM dataset."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pkgym.envs.dose_finding.clinic import DLT_WINDOW_DAYS
from pkgym.envs.dose_finding.kernel import patients_above, row_sums
from pkgym.envs.nonmem import COLUMNS
from pkgym.envs.outcomes import OutcomeSpec, StepTable, last_valid


def info(records: Any, settings: Any) -> dict[str, np.ndarray]:
    """Trial metrics and the hidden truth of every trial (fresh arrays).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/DoseFinding-v0")
        >>> _, first = env.reset(seed=0)
        >>> first["selected"], first["assigned_level"], first["n_patients"]
        (-1, 0, 3)
    """
    r = records
    return {
        "true_dlt_probabilities": r.truth.copy(), "true_mtd": r.true_mtd.copy(),
        "selected": r.selected.copy(), "requested_level": r.requested.copy(),
        "assigned_level": r.assigned.copy(),
        "patients_above_mtd": patients_above(r.true_mtd, r.patients),
        "n_dlts": row_sums(r.dlts), "n_patients": row_sums(r.patients),
        "cohort": r.cohort.copy(),
        "correct_selection": r.finished & (r.selected == r.true_mtd),
        "trial_id": r.trial_id.copy(), "seed_entropy": r.seed_entropy.copy(),
        # each trial patient's latent tolerance: a DLT at level j iff uniform < p_j (hidden)
        "dlt_uniforms": r.dlt_uniforms.reshape(r.dlt_uniforms.shape[0], -1).copy(),
    }


def info_row(records: Any, row: int) -> dict[str, Any]:
    """Row ``row`` of :func:`info` with plain Python scalars, computed for that row alone.

    The same keys, values and types as the default ``DosingCore.info_row`` (the row of
    :func:`info`, numpy scalars as Python ones), without building the batch.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/DoseFinding-v0")
        >>> _, first = env.reset(seed=0)
        >>> first["n_patients"], first["correct_selection"], first["dlt_uniforms"].shape
        (3, False, (36,))
    """
    r, entropy = records, records.seed_entropy[row]
    true_mtd, selected = r.true_mtd[row].item(), r.selected[row].item()
    patients = r.patients[row].tolist()
    return {
        "true_dlt_probabilities": r.truth[row].copy(), "true_mtd": true_mtd,
        "selected": selected, "requested_level": r.requested[row].item(),
        "assigned_level": r.assigned[row].item(),
        "patients_above_mtd": sum(patients[true_mtd + 1:]),
        "n_dlts": sum(r.dlts[row].tolist()), "n_patients": sum(patients),
        "cohort": r.cohort[row].item(),
        "correct_selection": r.finished[row].item() and selected == true_mtd,
        "trial_id": r.trial_id[row].item(),
        "seed_entropy": entropy.item() if isinstance(entropy, np.generic) else entropy,
        "dlt_uniforms": r.dlt_uniforms[row].reshape(-1).copy(),
    }


def render_text(records: Any, settings: Any, row: int) -> str:
    """A table per level: true DLT probability, patients, DLTs, the current level and MTD.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/DoseFinding-v0", render_mode="ansi")
        >>> _ = env.reset(seed=0)
        >>> print(env.render().splitlines()[0])
        trial: 3/36 patients, cohort 1/12, target 0.3, selected -
    """
    r, s = records, settings
    selected = "-" if r.selected[row] < 0 else str(int(r.selected[row]) + 1)
    lines = [f"trial: {int(r.patients[row].sum())}/{s.max_sample_size} patients, cohort "
             f"{int(r.cohort[row])}/{s.max_cohorts}, target {s.target_dlt_rate:g}, "
             f"selected {selected}", "level  p_true   n  DLTs"]
    for j in range(s.n_doses):
        marks = ("<" if j == r.level[row] else " ") + ("*" if j == r.true_mtd[row] else " ")
        lines.append(f"{j + 1:5d}  {r.truth[row, j]:6.3f}  {int(r.patients[row, j]):2d}  "
                     f"{int(r.dlts[row, j]):4d} {marks}")
    lines.append("(<: current level, *: true MTD)")
    return "\n".join(lines)


def render_figure(records: Any, settings: Any, row: int) -> Figure:
    """Bars of patients and DLTs per level; the true DLT curve and the target on a twin axis.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/DoseFinding-v0")
        >>> _ = env.reset(seed=0)
        >>> core = env.unwrapped.core
        >>> len(render_figure(core.records, core.settings, 0).axes)
        2
    """
    r, s = records, settings
    levels = np.arange(1, s.n_doses + 1)
    fig = Figure(figsize=(6, 4), dpi=80)
    counts = fig.subplots()
    counts.bar(levels - 0.2, r.patients[row], width=0.4, label="patients", alpha=0.6)
    counts.bar(levels + 0.2, r.dlts[row], width=0.4, label="DLTs", color="tab:red", alpha=0.6)
    counts.set(xlabel="dose level", ylabel="patients", xticks=levels,
               title=f"phase I trial, cohort {int(r.cohort[row])}/{s.max_cohorts}")
    counts.legend(loc="upper left", fontsize=8)
    truth = counts.twinx()
    truth.plot(levels, r.truth[row], color="black", marker="o", label="true p(DLT)")
    truth.axhline(s.target_dlt_rate, color="tab:green", linestyle="--", label="target")
    truth.set(ylabel="DLT probability", ylim=(0, 1))
    truth.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def episode_dataset(records: Any, settings: Any, row: int) -> pd.DataFrame:
    """Each treated patient: a dose record (AMT = 1-based level) and its DLT record (DV 0/1).

    TIME is in days: cohort c is dosed on day 28 c and assessed at the end of its 28-day DLT
    window (CMT 1 dose, CMT 2 the DLT outcome). ID numbers the trial's patients from 1;
    extra columns: TRIAL (pinned id, -1 when drawn), COHORT (from 1), DOSE_LEVEL (from 1).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/DoseFinding-v0")
        >>> _ = env.reset(seed=0)
        >>> env.unwrapped.episode_dataset()[["ID", "TIME", "AMT", "EVID"]].values.tolist()[:2]
        [[1.0, 0.0, 1.0, 1.0], [1.0, 28.0, 0.0, 0.0]]
    """
    r, cohorts = records, int(records.cohort[row])
    size = settings.cohort_size
    cohort = np.repeat(np.arange(cohorts), size)
    level = np.repeat(r.cohort_levels[row, :cohorts], size) + 1
    dlt = r.cohort_dlts[row, :cohorts].reshape(-1).astype(np.float64)
    ids = np.arange(1, cohort.size + 1)
    start = DLT_WINDOW_DAYS * cohort
    dose = pd.DataFrame({"ID": ids, "TIME": start, "AMT": level.astype(np.float64),
                         "RATE": 0.0, "DV": np.nan, "MDV": 1, "EVID": 1, "CMT": 1,
                         "COHORT": cohort + 1, "DOSE_LEVEL": level})
    outcome = dose.assign(TIME=start + DLT_WINDOW_DAYS, AMT=0.0, DV=dlt, MDV=0, EVID=0, CMT=2)
    table = pd.concat([dose, outcome], ignore_index=True).sort_values(
        ["ID", "TIME"], kind="stable").reset_index(drop=True)
    table.insert(len(COLUMNS), "TRIAL", int(r.trial_id[row]))
    return table


def dose_finding_scores(steps: StepTable, first_info: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Per trial: correct MTD, no MTD named, patients, share above the MTD, DLTs.

    Examples:
        >>> steps = {"correct_selection": np.array([[0.0, 1.0]]), "selected": np.array([[-1, 2]]),
        ...          "n_patients": np.array([[6, 6]]), "patients_above_mtd": np.array([[3, 3]]),
        ...          "n_dlts": np.array([[1, 1]])}
        >>> s = dose_finding_scores(steps, {})
        >>> float(s["correct_selection"][0]), float(s["above_mtd_fraction"][0])
        (1.0, 0.5)
    """
    final = {key: last_valid(np.asarray(steps[key], dtype=np.float64))
             for key in ("correct_selection", "selected", "n_patients", "patients_above_mtd",
                         "n_dlts")}
    return {"correct_selection": final["correct_selection"],
            "no_selection": (final["selected"] == -1).astype(np.float64),
            "n_patients": final["n_patients"],
            "above_mtd_fraction": final["patients_above_mtd"] / final["n_patients"],
            "n_dlts": final["n_dlts"]}


DOSE_FINDING_OUTCOMES = OutcomeSpec(
    step_metrics=("assigned_level", "selected", "correct_selection", "n_patients",
                  "patients_above_mtd", "n_dlts"),
    scores={"correct_selection": "share of trials naming the true MTD",
            "no_selection": "share of trials naming no MTD", "n_patients": "patients treated",
            "above_mtd_fraction": "share of patients treated above the MTD",
            "n_dlts": "DLTs", "return": "return"},
    episode_scores=dose_finding_scores, level_key="assigned_level",
    level_label="dose level (0-based)", target_range=(0.0, 0.0),
    in_range_key="correct_selection", dose_key="assigned_level")
"""``pkgym/DoseFinding-v0``: the operating characteristics of a design, per trial."""


def outcomes(core: Any) -> OutcomeSpec:
    """The env's outcome spec, :data:`DOSE_FINDING_OUTCOMES` under any scenario."""
    return DOSE_FINDING_OUTCOMES
