"""Exact operating characteristics of the A+B designs (Lin & Shih 2001), by enumeration.

Each level's binomial outcomes fall into events (Lin & Shih's P_0, Q_0, Q_1, Q_2 and their
complements; every outcome of a level's K stages, :class:`~pkgym.trials.a_plus_b.Stages`, is
walked through the design's rules, so the A+B+C is covered too); a trial is a path of one
event per visited level, and levels are independent, so a path's probability is the product
of its events' probabilities (with ``expand_top`` the top level passes only as a confirmed
level, and fails also on its expansion). There are O(n_doses^2) paths: no de-escalation,
"levels below k pass, level k fails" (Lin & Shih eq. 1); with de-escalation also the level
i < k where the way down ends (Lin & Shih eq. 2-3: levels below i pass, i is confirmed,
i + 1 .. k - 1 passed with A and failed on expansion, k failed). With K stages "with A" is
"at the first stage" and "expansion" the stages after it.

Lin & Shih's P(MTD = i) with de-escalation has the factor (P_0^i + Q_0^i); a level that
passed with A must also survive its expansion, so the factor used here is Q_0^i + Q_1^i
(checked against simulation and against enumerating every cohort outcome of the design).
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
from scipy import stats

from pkgym.trials.a_plus_b import StagedDesign, Stages
from pkgym.trials.scenarios import DoseFindingScenario

Event = tuple[float, float, float]
"""(probability, E[patients; event], E[DLTs; event]) of one level's outcome event."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class APlusBExact:
    """Exact operating characteristics of an A+B design under a scenario.

    Attributes:
        selection_probabilities: Pr(level d is selected as the MTD) (n_doses,).
        no_selection_probability: Pr(no level is selected).
        expected_patients: Expected patients treated per level (n_doses,).
        expected_dlts: Expected DLTs per level (n_doses,).
    """

    selection_probabilities: np.ndarray  # (n_doses,)
    no_selection_probability: float
    expected_patients: np.ndarray  # (n_doses,)
    expected_dlts: np.ndarray  # (n_doses,)

    @property
    def expected_sample_size(self) -> float:
        """Expected number of patients in the trial."""
        return float(self.expected_patients.sum())

    @property
    def expected_total_dlts(self) -> float:
        """Expected number of DLTs in the trial."""
        return float(self.expected_dlts.sum())


def _grid(stages: Stages, p: float) -> tuple[np.ndarray, np.ndarray]:
    """Every outcome of a level's stages: cumulative DLTs (G, K) and probabilities (G,)."""
    sizes = stages.sizes
    counts = np.array(list(itertools.product(*(range(size + 1) for size in sizes))))
    joint = stats.binom.pmf(counts[:, 0], sizes[0], p)
    for k in range(1, len(sizes)):
        joint = joint * stats.binom.pmf(counts[:, k], sizes[k], p)
    return counts.cumsum(axis=1), joint


def _walk(stages: Stages, cumulative: np.ndarray, first: int,
          pass_first: bool) -> tuple[np.ndarray, np.ndarray]:
    """(passed, stage) of each outcome, the level decided from stage ``first`` on (G,) each.

    ``pass_first`` False: stage 0's <= escalate[0] goes on (a level reached on the way down).
    """
    passed = np.zeros(len(cumulative), dtype=bool)
    stage = np.full(len(cumulative), -1)
    for k in range(first, len(stages.totals)):
        open_ = stage < 0
        up = open_ & (cumulative[:, k] <= stages.escalate[k]) & (pass_first or k > 0)
        down = open_ & (cumulative[:, k] > stages.fail[k])
        passed |= up
        stage[up | down] = k
    return passed, stage


def _events(stages: Stages, p: float) -> dict[str, Event]:
    """The outcome events of one level with true DLT probability ``p``."""
    cumulative, joint = _grid(stages, p)

    def event(mask: np.ndarray, stage: np.ndarray) -> Event:
        total = [0.0, 0.0, 0.0]
        for k, patients in enumerate(stages.totals):
            chosen = mask & (stage == k)
            probability = float(joint[chosen].sum())
            total[0] += probability
            total[1] += float(patients * probability)
            total[2] += float((cumulative[:, k] * joint)[chosen].sum())
        return (total[0], total[1], total[2])

    up, up_stage = _walk(stages, cumulative, 0, True)  # first visit, on the way up
    on, on_stage = _walk(stages, cumulative, 1, False)  # after passing stage 0, on the way down
    new, new_stage = _walk(stages, cumulative, 0, False)  # untried, on the way down
    first = up & (up_stage == 0)
    events = {
        "pass_first": event(first, up_stage), "pass_later": event(up & ~first, up_stage),
        "fail": event(~up, up_stage),
        "confirm_first": event(first & on, on_stage),
        "fail_after_first": event(first & ~on, on_stage),
        "untried_confirm": event(new, new_stage), "untried_fail": event(~new, new_stage),
    }
    merge = {"pass": ("pass_first", "pass_later"), "confirm": ("pass_later", "confirm_first")}
    for name, (one, two) in merge.items():
        (p1, n1, x1), (p2, n2, x2) = events[one], events[two]
        events[name] = (p1 + p2, n1 + n2, x1 + x2)
    return events


def _add_path(path: dict[int, Event], mtd: int, totals: dict[str, np.ndarray]) -> None:
    """Add one path (level -> event) that selects ``mtd`` (-1: none) to the running totals."""
    probabilities = {level: event[0] for level, event in path.items()}
    totals["selection"][mtd + 1] += float(np.prod(list(probabilities.values())))
    for level, (_, patients, dlts) in path.items():
        others = float(np.prod([q for other, q in probabilities.items() if other != level]))
        totals["patients"][level] += patients * others
        totals["dlts"][level] += dlts * others


def _check(design: StagedDesign, scenario: DoseFindingScenario) -> None:
    """Raise unless the cohorts fit the stages and the sample-size cap never binds."""
    levels = scenario.n_doses if design.deescalation else scenario.n_doses - scenario.start_level
    needed = design.stages.totals[-1] * levels
    if any(size % scenario.cohort_size for size in design.stages.sizes) \
            or scenario.max_sample_size < needed:
        names = " and ".join(f"{name}={size}" for name, size in design.cohorts.items())
        raise ValueError(
            f"a_plus_b_exact needs cohort_size dividing {names} and "
            f"max_sample_size >= {needed}, got {scenario.cohort_size} and "
            f"{scenario.max_sample_size}")


def a_plus_b_exact(design: StagedDesign, scenario: DoseFindingScenario) -> APlusBExact:
    """Exact selection probabilities, patients and DLTs per level of an A+B design.

    Args:
        design: An A+B or A+B+C design (with or without de-escalation).
        scenario: True DLT probabilities and start level; ``cohort_size`` must divide every
            stage size and ``max_sample_size`` must never bind (all the stages' patients per
            level that can be visited).

    Examples:
        >>> from pkgym.trials.a_plus_b import APlusBDesign
        >>> scenario = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.5),
        ...                                target_dlt_rate=0.3, max_sample_size=12)
        >>> exact = a_plus_b_exact(APlusBDesign(), scenario)
        >>> exact.selection_probabilities.round(4).tolist()
        [0.7504, 0.1557]
        >>> standard = a_plus_b_exact(APlusBDesign(deescalation=True), scenario)
        >>> standard.selection_probabilities.round(4).tolist()
        [0.7335, 0.1557]
    """
    _check(design, scenario)
    n, s = scenario.n_doses, scenario.start_level
    events = [_events(design.stages, p) for p in scenario.true_dlt_probabilities]
    if design.expand_top:  # the top level is selected only after its second stage
        top = events[-1]
        (p1, n1, x1), (p2, n2, x2) = top["fail"], top["fail_after_first"]
        top["pass"], top["fail"] = top["confirm"], (p1 + p2, n1 + n2, x1 + x2)
    totals = {"selection": np.zeros(n + 1), "patients": np.zeros(n), "dlts": np.zeros(n)}
    _add_path({j: events[j]["pass"] for j in range(s, n)}, n - 1, totals)
    for k in range(s, n):
        failed = {k: events[k]["fail"]}
        if not design.deescalation:
            mtd = k - 1 if k > s else -1  # a failing start level selects nothing
            _add_path({j: events[j]["pass"] for j in range(s, k)} | failed, mtd, totals)
            continue
        for i in range(s, k):  # the way down ends at a tried level i
            path = {j: events[j]["pass"] for j in range(s, i)} | {i: events[i]["confirm"]}
            path |= {j: events[j]["fail_after_first"] for j in range(i + 1, k)}
            _add_path(path | failed, i, totals)
        tried = {j: events[j]["fail_after_first"] for j in range(s, k)} | failed
        for i in range(-1, s):  # ... at an untried level i below the start, or at none
            path = {j: events[j]["untried_fail"] for j in range(i + 1, s)}
            if i >= 0:
                path[i] = events[i]["untried_confirm"]
            _add_path(path | tried, i, totals)
    return APlusBExact(
        selection_probabilities=totals["selection"][1:],
        no_selection_probability=float(totals["selection"][0]),
        expected_patients=totals["patients"],
        expected_dlts=totals["dlts"],
    )
