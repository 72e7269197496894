"""What the trial team holds for each trial: pinned truths, cohorts treated and their DLTs.

Batched arrays (n trials first) that the core fills in place cohort by cohort. A cohort's DLTs
(:func:`treat_cohort`) are its pre-drawn uniforms below the true probability of its level.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from pkgym.envs.dose_finding.clinic import DoseFindingEnvScenario, curve_columns
from pkgym.models.dose_toxicity import closest_levels

PIN_KEYS = ("true_dlt_probabilities", "id")
"""Keys of a pinned trial; a cohort row may give the curve as ``p_dlt_1`` .. ``p_dlt_J``."""


def pinned_truth(given: Mapping[str, Any], scenario: DoseFindingEnvScenario) -> dict[str, Any]:
    """A pinned trial's true DLT probabilities (validated) and optional id.

    Examples:
        >>> pinned_truth({"true_dlt_probabilities": [0.1, 0.2, 0.3, 0.4, 0.5]},
        ...              DoseFindingEnvScenario())["true_dlt_probabilities"].tolist()
        [0.1, 0.2, 0.3, 0.4, 0.5]
    """
    row = dict(given.items())
    columns = curve_columns(scenario.n_doses)
    if "true_dlt_probabilities" not in row and all(c in row for c in columns):
        row["true_dlt_probabilities"] = [row.pop(c) for c in columns]
    unknown = sorted(set(row) - set(PIN_KEYS))
    if unknown:
        raise ValueError(f"unknown patient field(s) {unknown}; allowed: {PIN_KEYS} (or "
                         f"{columns[0]} .. {columns[-1]} for the curve)")
    if "true_dlt_probabilities" not in row:
        raise ValueError("patient field 'true_dlt_probabilities' is missing")
    values = np.asarray(row["true_dlt_probabilities"], dtype=np.float64).reshape(-1)
    if values.size != scenario.n_doses:
        raise ValueError(f"patient true_dlt_probabilities must list n_doses={scenario.n_doses} "
                         f"values, got {values.size}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"patient true_dlt_probabilities must be finite, got {values.tolist()}")
    scenario.trial(tuple(values.tolist()))
    return {"true_dlt_probabilities": values, "id": int(row.get("id", -1))}


@dataclass(slots=True)
class TrialRecords:
    """Everything that happened in each trial, true and observed (batched, in place).

    Attributes:
        truth: true DLT probability of each level (n, n_doses). true_mtd: (n,).
        patients, dlts: patients treated and DLTs per level (n, n_doses), int64.
        level: last assigned level (n,). highest_tried: highest level treated so far (n,).
        cohort: cohorts treated so far (n,).
        requested, assigned: the last step's requested and assigned level (n_doses = stop).
        selected: recommended MTD, -1 until the end or when stopped (n,). finished: (n,).
        cohort_levels: level of each cohort, -1 for cohorts not treated (n, max_cohorts).
        cohort_dlts: DLT of each patient of each cohort (n, max_cohorts, cohort_size), bool.
        dlt_uniforms: the episode's pre-drawn DLT uniforms (n, max_cohorts, cohort_size).
        trial_id, seed_entropy: pinned id (-1 when drawn) and slot seed entropy (n,).
    """

    truth: np.ndarray
    true_mtd: np.ndarray
    patients: np.ndarray
    dlts: np.ndarray
    level: np.ndarray
    highest_tried: np.ndarray
    cohort: np.ndarray
    requested: np.ndarray
    assigned: np.ndarray
    selected: np.ndarray
    finished: np.ndarray
    cohort_levels: np.ndarray
    cohort_dlts: np.ndarray
    dlt_uniforms: np.ndarray
    trial_id: np.ndarray
    seed_entropy: np.ndarray


def new_records(scenario: DoseFindingEnvScenario, truth: np.ndarray, uniforms: np.ndarray,
                trial_ids: np.ndarray, seed_entropy: np.ndarray) -> TrialRecords:
    """Records of fresh trials after the first cohort, treated at ``start_level``."""
    n, d, s = truth.shape[0], scenario.n_doses, scenario
    start = np.full(n, s.start_level, dtype=np.int64)
    records = TrialRecords(
        truth=truth, true_mtd=closest_levels(truth, s.target_dlt_rate),
        patients=np.zeros((n, d), np.int64), dlts=np.zeros((n, d), np.int64),
        level=start.copy(), highest_tried=start.copy(), cohort=np.zeros(n, np.int64),
        requested=start.copy(), assigned=start.copy(), selected=np.full(n, -1, np.int64),
        finished=np.zeros(n, bool), cohort_levels=np.full((n, s.max_cohorts), -1, np.int64),
        cohort_dlts=np.zeros((n, s.max_cohorts, s.cohort_size), bool), dlt_uniforms=uniforms,
        trial_id=trial_ids, seed_entropy=seed_entropy)
    treat_cohort(records, np.arange(n), start)
    return records


def treat_cohort(records: TrialRecords, rows: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Treat the next cohort of ``rows`` at ``levels``; return its DLT counts (n_rows,)."""
    r, cohort = records, records.cohort[rows]
    toxic = r.dlt_uniforms[rows, cohort] < r.truth[rows, levels][:, None]
    count = toxic.sum(axis=1)
    cohort_size = toxic.shape[1]
    r.patients[rows, levels] += cohort_size
    r.dlts[rows, levels] += count
    r.cohort_levels[rows, cohort], r.cohort_dlts[rows, cohort] = levels, toxic
    r.level[rows], r.cohort[rows] = levels, cohort + 1
    r.highest_tried[rows] = np.maximum(r.highest_tried[rows], levels)
    return count
