"""The 3+3 design without dose de-escalation, batched, and its exact operating characteristics.

Variant (Storer 1989 "design A"-style A+A+B with A = B = 3; Lin & Shih 2001 "3+3 without
de-escalation"): treat 3 patients at the current level; 0/3 DLTs -> escalate; 1/3 -> treat 3
more at the same level, then <= 1/6 -> escalate and >= 2/6 -> stop; >= 2/3 -> stop. On a stop
at level d the MTD is d - 1 (none if d is the starting level; the level below is not expanded
to 6). Escalating past the top level stops the trial and selects the top level.

:func:`three_plus_three_from_spec` names the variants: ``3+3`` (this rule, unchanged) and
``3+3:deescalation=1``, the standard 3+3 with de-escalation of Lin & Shih (2001) section 2.2
(:class:`~pkgym.trials.a_plus_b.APlusBDesign`; exact characteristics in
:mod:`pkgym.trials.a_plus_b_exact`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import stats

from pkgym.trials.a_plus_b import APlusBDesign, check_flag, parse_spec
from pkgym.trials.scenarios import DoseFindingScenario
from pkgym.trials.state import DoseFindingDesign, TrialState


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ThreePlusThreeDesign:
    """3+3 without de-escalation (cohorts of 3; see the module docstring for the rules).

    Examples:
        >>> design = ThreePlusThreeDesign()
        >>> state = TrialState.from_counts([[3, 0], [3, 0], [6, 0]], [[0, 0], [1, 0], [2, 0]],
        ...                                [0, 0, 0])
        >>> design.next_dose(state).tolist(), design.stop(state).tolist()
        ([1, 0, 0], [False, False, True])
        >>> design.select_mtd(state).tolist()
        [0, 0, -1]
    """

    def _current(self, state: TrialState) -> tuple[np.ndarray, np.ndarray]:
        rows = np.arange(state.levels.size)
        return state.patients[rows, state.levels], state.dlts[rows, state.levels]

    def _escalate(self, state: TrialState) -> np.ndarray:
        n, x = self._current(state)
        return ((n == 3) & (x == 0)) | ((n == 6) & (x <= 1))

    def next_dose(self, state: TrialState) -> np.ndarray:
        """Escalate by one level after 0/3 or <= 1/6, otherwise stay."""
        top = state.patients.shape[1] - 1
        return np.where(self._escalate(state), np.minimum(state.levels + 1, top), state.levels)

    def stop(self, state: TrialState) -> np.ndarray:
        """Stop after >= 2 DLTs at the current level, or on escalating past the top level."""
        _, x = self._current(state)
        top = state.patients.shape[1] - 1
        return (x >= 2) | (self._escalate(state) & (state.levels == top))

    def select_mtd(self, state: TrialState) -> np.ndarray:
        """Highest tried level with <= 1 DLT (-1 if none)."""
        ok = (state.patients > 0) & (state.dlts <= 1)
        n_doses = ok.shape[1]
        return np.where(ok.any(axis=1), n_doses - 1 - ok[:, ::-1].argmax(axis=1), -1)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ThreePlusThreeExact:
    """Exact operating characteristics of the 3+3 design.

    Attributes:
        selection_probabilities: Pr(level d is selected) (n_doses,).
        no_selection_probability: Pr(no level is selected).
        expected_patients: Expected patients per level (n_doses,).
    """

    selection_probabilities: np.ndarray  # (n_doses,)
    no_selection_probability: float
    expected_patients: np.ndarray  # (n_doses,)


def three_plus_three_exact(scenario: DoseFindingScenario) -> ThreePlusThreeExact:
    """Exact selection probabilities by enumerating the binomial outcomes at each level.

    At level d (true p_d) the trial escalates with probability
    b(0; 3, p_d) + b(1; 3, p_d) b(0; 3, p_d) and otherwise stops, selecting d - 1.
    Requires ``cohort_size == 3`` and ``max_sample_size`` >= 6 per level from the start level,
    so that the sample-size cap never binds.

    Examples:
        >>> scenario = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.5),
        ...                                target_dlt_rate=0.3, max_sample_size=12)
        >>> exact = three_plus_three_exact(scenario)
        >>> exact.selection_probabilities.round(4).tolist()
        [0.7504, 0.1557]
        >>> round(exact.no_selection_probability, 4)
        0.0939
    """
    n_levels = scenario.n_doses - scenario.start_level
    if scenario.cohort_size != 3 or scenario.max_sample_size < 6 * n_levels:
        raise ValueError(
            "three_plus_three_exact needs cohort_size == 3 and max_sample_size >= "
            f"{6 * n_levels}, got {scenario.cohort_size} and {scenario.max_sample_size}"
        )
    p = np.asarray(scenario.true_dlt_probabilities)
    zero, one = stats.binom.pmf(0, 3, p), stats.binom.pmf(1, 3, p)
    escalate = zero + one * zero
    selection = np.zeros(scenario.n_doses)
    patients = np.zeros(scenario.n_doses)
    reach, none = 1.0, 0.0
    for d in range(scenario.start_level, scenario.n_doses):
        patients[d] = reach * (3 + 3 * one[d])
        stop_here = reach * (1 - escalate[d])
        if d == scenario.start_level:
            none += stop_here
        else:
            selection[d - 1] += stop_here
        reach *= escalate[d]
    selection[-1] += reach
    return ThreePlusThreeExact(
        selection_probabilities=selection,
        no_selection_probability=float(none),
        expected_patients=patients,
    )


def three_plus_three_from_spec(spec: str, scenario: DoseFindingScenario) -> DoseFindingDesign:
    """The 3+3 variant ``3+3[:deescalation=0|1,expand_top=0|1]``.

    ``3+3`` (both options 0) is :class:`ThreePlusThreeDesign`, unchanged. Otherwise
    :class:`~pkgym.trials.a_plus_b.APlusBDesign` with A = B = 3, C = D = E = 1:
    ``deescalation=1`` is the standard 3+3 with de-escalation (Lin & Shih 2001, section 2.2),
    ``expand_top=1`` also fills the top level to 6 before selecting it (Korn et al. 1994).

    Args:
        spec: e.g. ``3+3``, ``3+3:deescalation=1``, ``3+3:deescalation=1,expand_top=1``.
        scenario: Its ``cohort_size`` must be 3 (or 1) for the de-escalation variant.

    Examples:
        >>> scenario = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.3),
        ...                                target_dlt_rate=0.3)
        >>> type(three_plus_three_from_spec("3+3", scenario)).__name__
        'ThreePlusThreeDesign'
        >>> three_plus_three_from_spec("3+3:deescalation=1", scenario).deescalation
        True
    """
    names = ("deescalation", "expand_top")
    options = parse_spec(spec, "3+3", names)
    deescalation, expand_top = (check_flag("3+3", name, options.get(name, 0)) for name in names)
    if not (deescalation or expand_top):
        return ThreePlusThreeDesign()
    if 3 % scenario.cohort_size:
        raise ValueError(f"cohort_size must divide 3 for {spec}, got {scenario.cohort_size}")
    return APlusBDesign(deescalation=deescalation, expand_top=expand_top)
