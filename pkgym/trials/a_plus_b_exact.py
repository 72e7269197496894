"""Exact operating characteristics of the A+B designs (Lin & Shih 2001), by enumeration.

Each level's binomial outcomes fall into events (Lin & Shih's P_0, Q_0, Q_1, Q_2 and their
complements); a trial is a path of one event per visited level, and levels are independent,
so a path's probability is the product of its events' probabilities (with ``expand_top`` the
top level passes only as a confirmed level, and fails also on its expansion). There are O(n_doses^2)
paths: no de-escalation, "levels below k pass, level k fails" (Lin & Shih eq. 1); with
de-escalation also the level i < k where the way down ends (Lin & Shih eq. 2-3: levels below i
pass, i is confirmed, i + 1 .. k - 1 passed with A and failed on expansion, k failed).

Lin & Shih's P(MTD = i) with de-escalation has the factor (P_0^i + Q_0^i); a level that
passed with A must also survive its expansion, so the factor used here is Q_0^i + Q_1^i
(checked against simulation and against enumerating every cohort outcome of the design).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import stats

from pkgym.trials.a_plus_b import APlusBDesign
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


def _events(design: APlusBDesign, p: float) -> dict[str, Event]:
    """The outcome events of one level with true DLT probability ``p``."""
    a, b, c, d, e = design.a, design.b, design.c, design.d, design.e
    k, m = np.meshgrid(np.arange(a + 1), np.arange(b + 1), indexing="ij")
    joint = stats.binom.pmf(k, a, p) * stats.binom.pmf(m, b, p)  # (a + 1, b + 1)

    def event(mask: np.ndarray, expanded: bool) -> Event:
        dlts = k + m if expanded else k
        return (float(joint[mask].sum()), float((a + b if expanded else a) * joint[mask].sum()),
                float((dlts * joint)[mask].sum()))

    low, mid, ok, untried = k < c, (k >= c) & (k <= d), k + m <= e, k <= d
    events = {
        "pass_a": event(low, False), "pass_ab": event(mid & ok, True),
        "fail_a": event(k > d, False), "fail_ab": event(mid & ~ok, True),
        "confirm_a": event(low & ok, True), "fail_after_a": event(low & ~ok, True),
        "untried_confirm": event(untried & ok, True), "untried_fail_ab": event(untried & ~ok, True),
    }
    merge = {"pass": ("pass_a", "pass_ab"), "fail": ("fail_a", "fail_ab"),
             "confirm": ("pass_ab", "confirm_a"), "untried_fail": ("fail_a", "untried_fail_ab")}
    for name, (first, second) in merge.items():
        (p1, n1, x1), (p2, n2, x2) = events[first], events[second]
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


def _check(design: APlusBDesign, scenario: DoseFindingScenario) -> None:
    """Raise unless the cohorts fit A and B and the sample-size cap never binds."""
    levels = scenario.n_doses if design.deescalation else scenario.n_doses - scenario.start_level
    needed = (design.a + design.b) * levels
    if design.a % scenario.cohort_size or design.b % scenario.cohort_size \
            or scenario.max_sample_size < needed:
        raise ValueError(
            f"a_plus_b_exact needs cohort_size dividing a={design.a} and b={design.b} and "
            f"max_sample_size >= {needed}, got {scenario.cohort_size} and "
            f"{scenario.max_sample_size}")


def a_plus_b_exact(design: APlusBDesign, scenario: DoseFindingScenario) -> APlusBExact:
    """Exact selection probabilities, patients and DLTs per level of an A+B design.

    Args:
        design: The A+B design (with or without de-escalation).
        scenario: True DLT probabilities and start level; ``cohort_size`` must divide A and B
            and ``max_sample_size`` must never bind ((A + B) per level that can be visited).

    Examples:
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
    events = [_events(design, p) for p in scenario.true_dlt_probabilities]
    if design.expand_top:  # the top level is selected only after A + B patients
        top = events[-1]
        (p1, n1, x1), (p2, n2, x2) = top["fail"], top["fail_after_a"]
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
            path |= {j: events[j]["fail_after_a"] for j in range(i + 1, k)}
            _add_path(path | failed, i, totals)
        tried = {j: events[j]["fail_after_a"] for j in range(s, k)} | failed
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
