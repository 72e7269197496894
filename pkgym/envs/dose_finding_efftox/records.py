"""What the trial team holds for each phase I/II trial: truths, cohorts, DLTs and responses.

Batched arrays (n trials first) filled in place cohort by cohort. Each patient's outcome is one
of four, drawn from its level's joint probabilities with one pre-drawn uniform U, as
:func:`pkgym.trials.phase12_simulation.simulate_phase12_trials` draws it: a DLT when
U < p_T, a response when U < p_TE or p_T <= U < p_T + p_E - p_TE.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from pkgym.envs.dose_finding_efftox.clinic import DoseFindingEffToxScenario, truth_columns
from pkgym.models.dose_efficacy import optimal_biological_doses, phase12_utilities
from pkgym.models.dose_toxicity import closest_levels

PIN_KEYS = ("true_dlt_probabilities", "true_efficacy_probabilities", "true_joint_probabilities",
            "id")
"""Keys of a pinned trial; a cohort row may give them as the :func:`truth_columns`."""
_TRUTH_KEYS = PIN_KEYS[:3]


def pinned_truth(given: Mapping[str, Any],
                 scenario: DoseFindingEffToxScenario) -> dict[str, Any]:
    """A pinned trial's truth (validated; joint ``None``: independence) and optional id.

    Examples:
        >>> pin = pinned_truth({"true_dlt_probabilities": [0.1, 0.2, 0.3, 0.4, 0.5],
        ...                     "true_efficacy_probabilities": [0.5] * 5},
        ...                    DoseFindingEffToxScenario())
        >>> pin["true_joint_probabilities"].tolist()
        [0.05, 0.1, 0.15, 0.2, 0.25]
    """
    row = dict(given.items())
    columns = truth_columns(scenario.n_doses)
    if all(c in row for c in columns):
        d = scenario.n_doses
        values = [row.pop(c) for c in columns]
        for k, key in enumerate(_TRUTH_KEYS):
            row.setdefault(key, values[k * d:(k + 1) * d])
    unknown = sorted(set(row) - set(PIN_KEYS))
    if unknown:
        raise ValueError(f"unknown patient field(s) {unknown}; allowed: {PIN_KEYS} (or "
                         f"{columns[0]} .. {columns[-1]} for the truth)")
    missing = [key for key in _TRUTH_KEYS[:2] if key not in row]
    if missing:
        raise ValueError(f"patient field(s) {missing} missing")
    tox, eff, both = scenario.check_truth(*(row.get(key) for key in _TRUTH_KEYS))
    return {"true_dlt_probabilities": tox, "true_efficacy_probabilities": eff,
            "true_joint_probabilities": both, "id": int(row.get("id", -1))}


@dataclass(slots=True)
class EffToxRecords:
    """Everything that happened in each trial, true and observed (batched, in place).

    Attributes:
        dlt_truth, response_truth, both_truth: true Pr(DLT), Pr(response), Pr(both) per
            level (n, n_doses).
        true_mtd, true_obd: true MTD (closest to phi_T) and OBD (n,).
        patients, dlts, responses, both: counts per level (n, n_doses), int64.
        level: last assigned level (n,). highest_tried: highest level treated so far (n,).
        cohort: cohorts treated so far (n,).
        requested, assigned: the last step's requested and assigned level (n_doses = stop).
        selected: recommended OBD, -1 until the end or when stopped (n,). finished: (n,).
        cohort_levels: level of each cohort, -1 for cohorts not treated (n, max_cohorts).
        cohort_dlts, cohort_responses: each patient's events (n, max_cohorts, cohort_size).
        uniforms: the episode's pre-drawn outcome uniforms (n, max_cohorts, cohort_size).
        trial_id, seed_entropy: pinned id (-1 when drawn) and slot seed entropy (n,).
    """

    dlt_truth: np.ndarray
    response_truth: np.ndarray
    both_truth: np.ndarray
    true_mtd: np.ndarray
    true_obd: np.ndarray
    patients: np.ndarray
    dlts: np.ndarray
    responses: np.ndarray
    both: np.ndarray
    level: np.ndarray
    highest_tried: np.ndarray
    cohort: np.ndarray
    requested: np.ndarray
    assigned: np.ndarray
    selected: np.ndarray
    finished: np.ndarray
    cohort_levels: np.ndarray
    cohort_dlts: np.ndarray
    cohort_responses: np.ndarray
    uniforms: np.ndarray
    trial_id: np.ndarray
    seed_entropy: np.ndarray


def new_records(scenario: DoseFindingEffToxScenario, truth: tuple[np.ndarray, ...],
                uniforms: np.ndarray, trial_ids: np.ndarray,
                seed_entropy: np.ndarray) -> EffToxRecords:
    """Records of fresh trials (truth: three (n, n_doses) arrays) after the first cohort."""
    tox, eff, both = truth
    n, d, s = tox.shape[0], scenario.n_doses, scenario
    start = np.full(n, s.start_level, dtype=np.int64)
    mtd = closest_levels(tox, s.target_dlt_rate)
    utilities = phase12_utilities(tox, eff, both, s.utility_neither, s.utility_both)

    def counts() -> np.ndarray:
        return np.zeros((n, d), np.int64)

    events = (n, s.max_cohorts, s.cohort_size)
    records = EffToxRecords(
        dlt_truth=tox, response_truth=eff, both_truth=both, true_mtd=mtd,
        true_obd=optimal_biological_doses(utilities, mtd), patients=counts(), dlts=counts(),
        responses=counts(), both=counts(), level=start.copy(), highest_tried=start.copy(),
        cohort=np.zeros(n, np.int64), requested=start.copy(), assigned=start.copy(),
        selected=np.full(n, -1, np.int64), finished=np.zeros(n, bool),
        cohort_levels=np.full((n, s.max_cohorts), -1, np.int64),
        cohort_dlts=np.zeros(events, bool), cohort_responses=np.zeros(events, bool),
        uniforms=uniforms, trial_id=trial_ids, seed_entropy=seed_entropy)
    treat_cohort(records, np.arange(n), start)
    return records


def treat_cohort(records: EffToxRecords, rows: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Treat the next cohort of ``rows`` at ``levels``; return its DLT counts (n_rows,)."""
    r, cohort = records, records.cohort[rows]
    u = r.uniforms[rows, cohort]  # (m, cohort_size)
    p_t, p_e, p_te = (x[rows, levels][:, None] for x in (r.dlt_truth, r.response_truth,
                                                          r.both_truth))
    toxic = u < p_t
    response = (u < p_te) | ((u >= p_t) & (u < p_t + p_e - p_te))
    count = toxic.sum(axis=1)
    r.patients[rows, levels] += toxic.shape[1]
    r.dlts[rows, levels] += count
    r.responses[rows, levels] += response.sum(axis=1)
    r.both[rows, levels] += (toxic & response).sum(axis=1)
    r.cohort_levels[rows, cohort] = levels
    r.cohort_dlts[rows, cohort], r.cohort_responses[rows, cohort] = toxic, response
    r.level[rows], r.cohort[rows] = levels, cohort + 1
    r.highest_tried[rows] = np.maximum(r.highest_tried[rows], levels)
    return count
