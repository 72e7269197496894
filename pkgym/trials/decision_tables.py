"""Protocol tables of phase I designs: BOIN's decision table and dose-transition pathways.

Both are read off the design itself, by running its ``next_dose``/``stop``/``select_mtd`` on
hand-made trial states, so they show what the simulator does, options included.

* :func:`boin_decision_table`: escalate / de-escalate / eliminate boundaries by the number of
  patients treated at the current dose, laid out as ``BOIN::get.boundary`` prints them
  (``full_boundary_tab``: n = 1..N; ``boundary_tab``: the ends of cohorts).
* :func:`dose_transition_pathways`: the dose-transition pathways (DTP) of Yap C, Billingham
  LJ, Cheung YK, Craddock C, O'Quigley J (2017), Clin Cancer Res 23:7440-7447: the design's
  next dose after every possible outcome of each of the first k cohorts. All paths after
  cohort j are the trials of one batched :class:`~pkgym.trials.state.TrialState`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from scipy import stats

from pkgym.trials.boin import BoinDesign, elimination_levels
from pkgym.trials.operating_characteristics import treat_cohort
from pkgym.trials.scenarios import DoseFindingScenario
from pkgym.trials.state import DoseFindingDesign, TrialState

MAX_PATHWAY_COHORTS = 8
"""Most cohorts a pathway tree may span ((cohort_size + 1)^k leaves at most)."""
MAX_PATHWAYS = 200_000
"""Most leaves a pathway tree may have."""


DECISION_ROWS = (("n_treated", "Number of patients treated"),
                 ("escalate_if_dlts_le", "Escalate if # of DLT <="),
                 ("deescalate_if_dlts_ge", "Deescalate if # of DLT >="),
                 ("eliminate_if_dlts_ge", "Eliminate if # of DLT >="),
                 ("stop_if_lowest_dlts_ge", "Stop the trial if # of DLT at the lowest dose >="))
"""Columns of :func:`boin_decision_table` and the row names ``BOIN::get.boundary`` prints."""


class RandomisedDesignError(ValueError):
    """A design whose decisions depend on random draws has no single pathway tree."""


def _first(mask: np.ndarray, values: np.ndarray, *, last: bool = False) -> float:
    """First (or last) value where mask holds, NaN if none."""
    hits = values[mask]
    return float(hits[-1] if last else hits[0]) if hits.size else float("nan")


def boin_decision_table(design: BoinDesign, max_patients: int, cohort_size: int) -> pd.DataFrame:
    """BOIN's boundaries by patients treated at the current dose, from the design's decisions.

    For each n = 1..N (N = ``max_patients``, or ``n_earlystop`` if smaller, as the package) and
    each DLT count x, the design decides at a middle dose with no other data: escalate,
    stay, de-escalate, or eliminate the dose (Liu & Yuan 2015's elimination rule, n >= 3).
    With ``extrasafe`` the table adds the count at the lowest dose that stops the trial.

    Args:
        design: A BOIN design (its options change the table, e.g. ``stay_on_1_of_3``).
        max_patients: Maximum sample size N (>= 1).
        cohort_size: Patients per cohort (marks the ends of cohorts).

    Examples:
        >>> table = boin_decision_table(BoinDesign(target=0.3), 30, 3)
        >>> table.loc[table["end_of_cohort"], "escalate_if_dlts_le"].astype(int).tolist()
        [0, 1, 2, 2, 3, 4, 4, 5, 6, 7]
    """
    if max_patients < 1 or cohort_size < 1:
        raise ValueError(f"max_patients and cohort_size must be >= 1, got {max_patients}, "
                         f"{cohort_size}")
    last_n = min(max_patients, design.n_earlystop or max_patients)
    n, x = (a.ravel() for a in np.meshgrid(np.arange(1, last_n + 1), np.arange(last_n + 1),
                                           indexing="ij"))
    n, x = n[x <= n], x[x <= n]
    zero = np.zeros_like(n)
    middle = TrialState.from_counts(np.stack([zero, n, zero], axis=1),
                                    np.stack([zero, x, zero], axis=1), np.ones_like(n))
    moves = design.next_dose(middle) - 1
    eliminated = elimination_levels(middle.patients, middle.dlts, design.target,
                                    design.elimination_cutoff) <= 1
    rows = []
    for size in range(1, last_n + 1):
        here = n == size
        row = {"n_treated": size, "end_of_cohort": size % cohort_size == 0,
               "escalate_if_dlts_le": _first(here & (moves > 0), x, last=True),
               "deescalate_if_dlts_ge": _first(here & (moves < 0), x),
               "eliminate_if_dlts_ge": _first(here & eliminated, x)}
        rows.append(row)
    table = pd.DataFrame(rows).astype({column: "Int64" for column, _ in DECISION_ROWS[1:4]})
    if design.extrasafe:
        lowest = TrialState.from_counts(np.stack([n, zero, zero], axis=1),
                                        np.stack([x, zero, zero], axis=1), np.zeros_like(n))
        stops = dataclasses.replace(design, n_earlystop=None).stop(lowest)  # safety stops only
        table["stop_if_lowest_dlts_ge"] = pd.array(
            [_first((n == size) & stops, x) for size in table["n_treated"]]).astype("Int64")
    return table


def decision_table_markdown(table: pd.DataFrame, title: str) -> str:
    """The table at the ends of cohorts, laid out as ``get.boundary``'s ``boundary_tab``.

    Examples:
        >>> text = decision_table_markdown(boin_decision_table(BoinDesign(target=0.3), 6, 3), "t")
        >>> text.splitlines()[6]
        '| Escalate if # of DLT <= | 0 | 1 |'
    """
    ends = table[table["end_of_cohort"]]
    lines = [f"# {title}", "", "An empty cell: no count triggers it (NA in the package).", "",
             "| " + " | ".join(["Number of patients treated", *map(str, ends["n_treated"])])
             + " |", "|---|" + "---:|" * len(ends)]
    for column, name in DECISION_ROWS[1:]:
        if column in ends:
            cells = ["" if pd.isna(v) else str(int(v)) for v in ends[column]]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _is_deterministic(design: DoseFindingDesign, scenario: DoseFindingScenario,
                      state: TrialState, outcomes: np.ndarray) -> tuple[TrialState, bool]:
    """The state after the cohort (uniforms 0.5), and whether other uniforms change it."""
    states = []
    for uniforms in (np.full(state.uniforms.shape, 0.5),
                     np.random.default_rng(0).random(state.uniforms.shape)):
        copy = dataclasses.replace(_take(state, np.arange(state.levels.size)),
                                   uniforms=uniforms)
        treat_cohort(design, scenario, copy, np.arange(state.levels.size), outcomes)
        states.append(copy)
    same = np.array_equal(states[0].levels, states[1].levels) and np.array_equal(
        states[0].stopped, states[1].stopped)
    return states[0], same


def _take(state: TrialState, rows: np.ndarray) -> TrialState:
    """A new state of the given trials (rows may repeat), every per-trial field copied."""
    return TrialState(**{field.name: getattr(state, field.name)[rows]
                         for field in dataclasses.fields(state)})


def check_pathway_size(scenario: DoseFindingScenario, n_cohorts: int) -> None:
    """Refuse a tree too deep or too wide, naming the allowed range."""
    deepest = min(MAX_PATHWAY_COHORTS, scenario.max_cohorts)
    if not 1 <= n_cohorts <= deepest:
        raise ValueError(f"--pathways (cohorts) must be in 1..{deepest}, got {n_cohorts}")
    if (scenario.cohort_size + 1) ** n_cohorts > MAX_PATHWAYS:
        raise ValueError(f"--pathways: ({scenario.cohort_size} + 1)^{n_cohorts} paths exceed "
                         f"{MAX_PATHWAYS}; use fewer cohorts")


def dose_transition_pathways(design: DoseFindingDesign, scenario: DoseFindingScenario,
                             n_cohorts: int) -> pd.DataFrame:
    """Every path of the first ``n_cohorts`` cohorts and the design's decision at its end.

    One row per leaf: a path that stopped (for a design rule or the maximum sample size)
    before cohort ``n_cohorts``, or one that treated all of them. Columns ``level_j`` and
    ``dlts_j`` (1-based level and DLTs of cohort j; empty after a stop), ``stopped``,
    ``next_level`` (1-based, empty after a stop) and ``selected_level`` (the MTD the design
    names if the trial ends there; empty for none or while it runs). A design that draws
    random numbers for its decisions (Thompson sampling) has no single tree and is refused.

    Args:
        design: A deterministic dose-finding design.
        scenario: Supplies the doses, cohort size, start level and maximum sample size.
        n_cohorts: Cohorts spanned (1..8, at most the scenario's cohorts).

    Examples:
        >>> from pkgym.trials.three_plus_three import ThreePlusThreeDesign
        >>> scenario = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.3, 0.5),
        ...                                target_dlt_rate=0.3)
        >>> tree = dose_transition_pathways(ThreePlusThreeDesign(), scenario, 1)
        >>> tree[["dlts_1", "next_level", "stopped"]].values.tolist()
        [[0, 2, False], [1, 1, False], [2, <NA>, True], [3, <NA>, True]]
    """
    check_pathway_size(scenario, n_cohorts)
    size, n_doses = scenario.cohort_size, scenario.n_doses
    state = TrialState.empty(n_trials=1, n_doses=n_doses, start_level=scenario.start_level)
    history = np.zeros((1, 0, 2), dtype=np.int64)  # (paths, cohorts so far, [level, dlts])
    leaves: list[pd.DataFrame] = []
    for cohort in range(n_cohorts):
        parents = np.repeat(np.arange(state.levels.size), size + 1)
        outcomes = np.tile(np.arange(size + 1), state.levels.size)
        given = state.levels[parents]
        grown = _take(state, parents)
        state, deterministic = _is_deterministic(design, scenario, grown, outcomes)
        if not deterministic:
            raise RandomisedDesignError(f"design {type(design).__name__} draws random "
                                        "numbers for its decisions: it has no single "
                                        "dose-transition pathway tree")
        history = np.concatenate([history[parents], np.stack([given, outcomes], 1)[:, None]], 1)
        ends = state.stopped | (cohort == n_cohorts - 1)
        leaves.append(_leaf_frame(history[ends], state.stopped[ends], state.levels[ends],
                                  design.select_mtd(state)[ends], n_cohorts))
        keep = ~state.stopped
        state = _take(state, np.flatnonzero(keep))
        history = history[keep]
        if not keep.any():
            break
    tree = pd.concat(leaves, ignore_index=True)
    order = [f"dlts_{j + 1}" for j in range(n_cohorts)]
    return tree.sort_values(order, na_position="first", kind="stable").reset_index(drop=True)


def _leaf_frame(history: np.ndarray, stopped: np.ndarray, levels: np.ndarray,
                selected: np.ndarray, n_cohorts: int) -> pd.DataFrame:
    """Leaves of one depth: (paths, depth, [level, dlts]) as 1-based, nullable columns."""
    depth = history.shape[1]
    frame = pd.DataFrame(index=range(history.shape[0]))
    for j in range(n_cohorts):
        for column, axis, shift in (("level", 0, 1), ("dlts", 1, 0)):
            values = history[:, j, axis] + shift if j < depth else [pd.NA] * len(frame)
            frame[f"{column}_{j + 1}"] = pd.array(values, dtype="Int64")
    frame["stopped"] = stopped
    named = stopped & (selected >= 0)
    frame["next_level"] = pd.array([pd.NA if stop else level + 1 for stop, level in
                                    zip(stopped, levels, strict=True)], dtype="Int64")
    frame["selected_level"] = pd.array([level + 1 if name else pd.NA for name, level in
                                        zip(named, selected, strict=True)], dtype="Int64")
    return frame


def path_probabilities(tree: pd.DataFrame, scenario: DoseFindingScenario) -> np.ndarray:
    """Probability of each path of a tree under the scenario's true DLT rates (n_paths,).

    The product over its cohorts of the binomial probability of the cohort's DLT count at its
    level; over all leaves of a tree they sum to 1.

    Examples:
        >>> from pkgym.trials.three_plus_three import ThreePlusThreeDesign
        >>> scenario = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.3, 0.5),
        ...                                target_dlt_rate=0.3)
        >>> tree = dose_transition_pathways(ThreePlusThreeDesign(), scenario, 3)
        >>> round(float(path_probabilities(tree, scenario).sum()), 12)
        1.0
    """
    truth = np.asarray(scenario.true_dlt_probabilities)
    probability = np.ones(len(tree))
    for j in range(1, sum(c.startswith("dlts_") for c in tree.columns) + 1):
        reached = tree[f"level_{j}"].notna().to_numpy()
        levels = tree[f"level_{j}"].fillna(1).to_numpy(dtype=np.int64) - 1
        dlts = tree[f"dlts_{j}"].fillna(0).to_numpy(dtype=np.int64)
        factor = stats.binom.pmf(dlts, scenario.cohort_size, truth[levels])
        probability *= np.where(reached, factor, 1.0)
    return probability


def _decision(row: pd.Series) -> str:
    if not row["stopped"]:
        return f"→ {row['next_level']}"
    return "stop, no MTD" if pd.isna(row["selected_level"]) else \
        f"stop, MTD {row['selected_level']}"


def pathways_markdown(tree: pd.DataFrame, probabilities: dict[str, np.ndarray],
                      title: str) -> str:
    """The tree as Yap et al.'s table: each cohort's "level: DLTs/size", then the decision.

    Args:
        tree: Output of :func:`dose_transition_pathways`.
        probabilities: Path probabilities under named scenarios (columns ``P(name)``).
        title: Heading.

    Examples:
        >>> from pkgym.trials.three_plus_three import ThreePlusThreeDesign
        >>> scenario = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.3, 0.5),
        ...                                target_dlt_rate=0.3)
        >>> tree = dose_transition_pathways(ThreePlusThreeDesign(), scenario, 1)
        >>> pathways_markdown(tree, {}, "3+3").splitlines()[6]
        '| L1: 0 DLT | → 2 |'
    """
    cohorts = sum(c.startswith("dlts_") for c in tree.columns)
    names = list(probabilities)
    lines = [f"# {title}", "", "Cohort j as 'level: DLTs'; then the next level, or the stop "
             "and the MTD named there.", "",
             "| " + " | ".join([f"cohort {j}" for j in range(1, cohorts + 1)] + ["decision"]
                               + [f"P({name})" for name in names]) + " |",
             "|" + "---|" * (cohorts + 1) + "---:|" * len(names)]
    for k, row in tree.iterrows():
        cells = ["" if pd.isna(row[f"level_{j}"]) else
                 f"L{row[f'level_{j}']}: {row[f'dlts_{j}']} DLT" for j in range(1, cohorts + 1)]
        cells += [_decision(row)] + [f"{probabilities[name][k]:.4f}" for name in names]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
