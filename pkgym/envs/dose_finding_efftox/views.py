"""Views of phase I/II trial records: ``info``, a text table, a figure and a NONMEM dataset.

The phase I parts (the DLT dataset, the per-trial scores, the compiled counts) are
``pkgym/DoseFinding-v0``'s (:mod:`pkgym.envs.dose_finding.views`), extended with responses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pkgym.envs.dose_finding import views as phase1_views
from pkgym.envs.dose_finding.kernel import patients_above, row_sums
from pkgym.envs.dose_finding_efftox.clinic import true_utilities
from pkgym.envs.dose_finding_efftox.kernel import utility_table
from pkgym.envs.outcomes import OutcomeSpec, StepTable, last_valid
from pkgym.models.dose_efficacy import phase12_utilities

RESPONSE_CMT = 3
"""Compartment of the response records in the episode dataset (1: dose, 2: DLT)."""


def relative_utilities(records: Any, settings: Any,
                       utilities: np.ndarray | None = None) -> np.ndarray:
    """u(selected) / u(true OBD) where a trial ended recommending a level <= its MTD, else 0.

    ``utilities``: the trials' :func:`true_utilities`, when the caller has them.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/DoseFindingEffTox-v0")
        >>> _ = env.reset(seed=0)
        >>> core = env.unwrapped.core
        >>> relative_utilities(core.records, core.settings).tolist()
        [0.0]
    """
    r = records
    utilities = true_utilities(r, settings) if utilities is None else utilities
    rows = np.arange(r.selected.size)
    chosen = utilities[rows, np.maximum(r.selected, 0)]
    best = utilities[rows, r.true_obd]
    ok = r.finished & (r.selected >= 0) & (r.selected <= r.true_mtd)
    return np.where(ok, chosen / np.where(best > 0, best, 1.0), 0.0)


def info(records: Any, settings: Any) -> dict[str, np.ndarray]:
    """Trial metrics and the hidden truth of every trial (fresh arrays).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/DoseFindingEffTox-v0")
        >>> _, first = env.reset(seed=0)
        >>> first["selected"], first["dose_level"], first["n_patients"]
        (-1, 1, 3)
    """
    r, s = records, settings
    utilities = utility_table(r.dlt_truth, r.response_truth, r.both_truth, s.utility_neither,
                              s.utility_both)
    return {
        "true_dlt_probabilities": r.dlt_truth.copy(),
        "true_efficacy_probabilities": r.response_truth.copy(),
        "true_joint_probabilities": r.both_truth.copy(),
        "true_utilities": utilities,
        "true_mtd": r.true_mtd.copy(), "true_obd": r.true_obd.copy(),
        "selected": r.selected.copy(), "requested_level": r.requested.copy(),
        "assigned_level": r.assigned.copy(), "dose_level": r.assigned + 1,
        "patients_above_mtd": patients_above(r.true_mtd, r.patients),
        "n_dlts": row_sums(r.dlts), "n_responses": row_sums(r.responses),
        "n_patients": row_sums(r.patients), "cohort": r.cohort.copy(),
        "correct_selection": r.finished & (r.selected == r.true_obd),
        "relative_utility": relative_utilities(r, settings, utilities),
        "trial_id": r.trial_id.copy(), "seed_entropy": r.seed_entropy.copy(),
        # each trial patient's latent outcome uniform (hidden): see records.treat_cohort
        "outcome_uniforms": r.uniforms.reshape(r.uniforms.shape[0], -1).copy(),
    }


def info_row(records: Any, settings: Any, row: int) -> dict[str, Any]:
    """Row ``row`` of :func:`info` with plain Python scalars, computed for that row alone.

    The same keys, values and types as the default ``DosingCore.info_row`` (the row of
    :func:`info`, numpy scalars as Python ones), without building the batch.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/DoseFindingEffTox-v0")
        >>> _, first = env.reset(seed=0)
        >>> first["n_patients"], first["relative_utility"], first["outcome_uniforms"].shape
        (3, 0.0, (36,))
    """
    r, s, entropy = records, settings, records.seed_entropy[row]
    utilities = phase12_utilities(r.dlt_truth[row], r.response_truth[row], r.both_truth[row],
                                  s.utility_neither, s.utility_both)
    true_mtd, true_obd = r.true_mtd[row].item(), r.true_obd[row].item()
    selected, finished, assigned = r.selected[row].item(), r.finished[row].item(), \
        r.assigned[row].item()
    patients, best = r.patients[row].tolist(), utilities[true_obd]
    relative = (utilities[selected] / (best if best > 0 else 1.0)).item() \
        if finished and 0 <= selected <= true_mtd else 0.0
    return {
        "true_dlt_probabilities": r.dlt_truth[row].copy(),
        "true_efficacy_probabilities": r.response_truth[row].copy(),
        "true_joint_probabilities": r.both_truth[row].copy(), "true_utilities": utilities,
        "true_mtd": true_mtd, "true_obd": true_obd, "selected": selected,
        "requested_level": r.requested[row].item(), "assigned_level": assigned,
        "dose_level": assigned + 1, "patients_above_mtd": sum(patients[true_mtd + 1:]),
        "n_dlts": sum(r.dlts[row].tolist()), "n_responses": sum(r.responses[row].tolist()),
        "n_patients": sum(patients), "cohort": r.cohort[row].item(),
        "correct_selection": finished and selected == true_obd, "relative_utility": relative,
        "trial_id": r.trial_id[row].item(),
        "seed_entropy": entropy.item() if isinstance(entropy, np.generic) else entropy,
        "outcome_uniforms": r.uniforms[row].reshape(-1).copy(),
    }


def render_text(records: Any, settings: Any, row: int) -> str:
    """A table per level: true probabilities and utility, patients, DLTs, responses.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/DoseFindingEffTox-v0", render_mode="ansi")
        >>> _ = env.reset(seed=0)
        >>> print(env.render().splitlines()[0])
        trial: 3/36 patients, cohort 1/12, phi_T 0.35, phi_E 0.25, selected -
    """
    r, s = records, settings
    selected = "-" if r.selected[row] < 0 else str(int(r.selected[row]) + 1)
    utility = true_utilities(r, s)[row]
    lines = [f"trial: {int(r.patients[row].sum())}/{s.max_sample_size} patients, cohort "
             f"{int(r.cohort[row])}/{s.max_cohorts}, phi_T {s.target_dlt_rate:g}, "
             f"phi_E {s.min_efficacy_rate:g}, selected {selected}",
             "level   p_T    p_E  utility   n  DLTs  resp"]
    for j in range(s.n_doses):
        marks = (("<" if j == r.level[row] else " ") + ("M" if j == r.true_mtd[row] else " ")
                 + ("O" if j == r.true_obd[row] else " "))
        lines.append(f"{j + 1:5d} {r.dlt_truth[row, j]:5.3f}  {r.response_truth[row, j]:5.3f}"
                     f"  {utility[j]:7.1f}  {int(r.patients[row, j]):2d}  "
                     f"{int(r.dlts[row, j]):4d}  {int(r.responses[row, j]):4d} {marks}")
    lines.append("(<: current level, M: true MTD, O: true OBD)")
    return "\n".join(lines)


def render_figure(records: Any, settings: Any, row: int) -> Figure:
    """Bars of patients, DLTs and responses per level; the true curves on a twin axis.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/DoseFindingEffTox-v0")
        >>> _ = env.reset(seed=0)
        >>> core = env.unwrapped.core
        >>> len(render_figure(core.records, core.settings, 0).axes)
        2
    """
    r, s = records, settings
    levels = np.arange(1, s.n_doses + 1)
    fig = Figure(figsize=(6, 4), dpi=80)
    counts = fig.subplots()
    for offset, values, label, colour in ((-0.27, r.patients, "patients", "tab:blue"),
                                          (0.0, r.dlts, "DLTs", "tab:red"),
                                          (0.27, r.responses, "responses", "tab:green")):
        counts.bar(levels + offset, values[row], width=0.27, label=label, color=colour,
                   alpha=0.6)
    counts.set(xlabel="dose level", ylabel="patients", xticks=levels,
               title=f"phase I/II trial, cohort {int(r.cohort[row])}/{s.max_cohorts}")
    counts.legend(loc="upper left", fontsize=8)
    truth = counts.twinx()
    truth.plot(levels, r.dlt_truth[row], color="tab:red", marker="o", label="true p(DLT)")
    truth.plot(levels, r.response_truth[row], color="tab:green", marker="s",
               label="true p(response)")
    truth.axhline(s.target_dlt_rate, color="tab:red", linestyle="--", label="phi_T")
    truth.axhline(s.min_efficacy_rate, color="tab:green", linestyle=":", label="phi_E")
    truth.set(ylabel="probability", ylim=(0, 1))
    truth.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def episode_dataset(records: Any, settings: Any, row: int) -> pd.DataFrame:
    """DoseFinding-v0's dose and DLT records, plus each patient's response record (CMT 3).

    The response is read at the end of the patient's cohort window (TIME = 28 (c + 1) days,
    DV 0/1), before the next cohort's level is chosen.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/DoseFindingEffTox-v0")
        >>> _ = env.reset(seed=0)
        >>> env.unwrapped.episode_dataset()["CMT"].tolist()[:3]
        [1, 2, 3]
    """
    table = phase1_views.episode_dataset(records, settings, row)
    outcome = table[table["CMT"] == 2]
    cohorts = int(records.cohort[row])
    response = records.cohort_responses[row, :cohorts].reshape(-1).astype(np.float64)
    # outcome rows are sorted by ID, one per patient, patients numbered cohort by cohort
    table = pd.concat([table, outcome.assign(DV=response, CMT=RESPONSE_CMT)],
                      ignore_index=True)
    return table.sort_values(["ID", "TIME", "CMT"], kind="stable").reset_index(drop=True)


def efftox_scores(steps: StepTable, first_info: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Per trial: DoseFinding-v0's scores (correct = the true OBD), relative utility, responses.

    Examples:
        >>> steps = {"correct_selection": np.array([[0.0, 1.0]]),
        ...          "selected": np.array([[-1, 2]]), "n_patients": np.array([[6, 6]]),
        ...          "patients_above_mtd": np.array([[3, 3]]), "n_dlts": np.array([[1, 1]]),
        ...          "relative_utility": np.array([[0.0, 1.0]]),
        ...          "n_responses": np.array([[2, 2]])}
        >>> s = efftox_scores(steps, {})
        >>> float(s["relative_utility"][0]), float(s["n_responses"][0])
        (1.0, 2.0)
    """
    scores = phase1_views.dose_finding_scores(steps, first_info)
    for key in ("relative_utility", "n_responses"):
        scores[key] = last_valid(np.asarray(steps[key], dtype=np.float64))
    return scores


EFFTOX_OUTCOMES = OutcomeSpec(
    step_metrics=("assigned_level", "dose_level", "selected", "correct_selection",
                  "relative_utility", "n_patients", "patients_above_mtd", "n_dlts",
                  "n_responses"),
    scores={"relative_utility": "true utility of the OBD named over the true OBD's",
            "correct_selection": "share of trials naming the true OBD",
            "no_selection": "share of trials naming no dose", "n_patients": "patients treated",
            "above_mtd_fraction": "share of patients treated above the MTD",
            "n_dlts": "DLTs", "n_responses": "responses", "return": "return"},
    episode_scores=efftox_scores, level_key="dose_level",
    level_label="dose level (1-based) of the latest cohort", target_range=(0.0, 0.0),
    in_range_key="correct_selection", dose_key="dose_level")
"""``pkgym/DoseFindingEffTox-v0``: the operating characteristics of a design, per trial."""


def outcomes(core: Any) -> OutcomeSpec:
    """The env's outcome spec, :data:`EFFTOX_OUTCOMES` under any scenario."""
    return EFFTOX_OUTCOMES
