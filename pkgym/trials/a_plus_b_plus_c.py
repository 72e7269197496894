"""The 3+3+3 design and its A+B+C family: the A+B with a third stage, batched.

The 3+3+3 (Hansen AR, Graham DM, Pond GR, Siu LL (2014) "Phase 1 trial design: is 3 + 3 the
best?", Cancer Control 21:200-208, which compares it with the 3+3): treat 3 patients at a
level; 0/3 DLTs -> escalate, 1/3 -> treat 3 more, >= 2/3 -> the level fails; of 6, <= 1 ->
escalate, 2 -> treat a third 3, >= 3 -> the level fails; of 9, <= 2 -> escalate (the third
3 without a DLT), >= 3 -> the level fails. As in pkgym's ``3+3``, a failing level ends the
trial and the level below it is the MTD (none if it is the starting level), and escalating
past the top level selects the top level.

The A+B+C generalises it as Lin & Shih (2001, Biostatistics 2:203) generalise the 3+3 to the
A+B: A, B and C patients, and thresholds on the DLTs counted over all the level's patients
so far: <= ``escalate_a`` of A escalate, > ``fail_a`` fail, anything between treats B more;
then <= ``escalate_ab`` of A + B escalate, > ``fail_ab`` fail, between treats C more; then
<= ``escalate_abc`` of A + B + C escalate, more fail. (Lee & Fan 2012, J Biopharm Stat 22:802,
name an A+B+C test with thresholds on each cohort's own DLTs; cumulative thresholds hold
theirs whenever each middle band is one count wide, as in the 3+3+3.) The options
``deescalation`` and ``expand_top`` are the A+B's (:mod:`pkgym.trials.a_plus_b`): with
de-escalation a level is the MTD only with 6 or 9 patients (its second stage or later), and
a level reached on the way down goes on through its stages with "confirm" for "escalate".

The rules are :class:`~pkgym.trials.a_plus_b.StagedDesign`'s, written once for K stages, so
the two-stage case is the A+B design itself; exact operating characteristics come from
:func:`~pkgym.trials.a_plus_b_exact.a_plus_b_exact`.
"""

from __future__ import annotations

import dataclasses

from pkgym.trials.a_plus_b import (
    StagedDesign,
    Stages,
    check_cohort_size,
    check_fields,
    check_flag,
    parse_spec,
)
from pkgym.trials.scenarios import DoseFindingScenario


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class APlusBPlusCDesign(StagedDesign):
    """A+B+C design: the A+B with a third stage; the defaults are the 3+3+3.

    Attributes:
        a: Patients first treated at a level (>= 1).
        b: Patients added when escalate_a < DLTs <= fail_a (>= 1).
        c: Patients added when escalate_ab < DLTs of A + B <= fail_ab (>= 1).
        escalate_a: At most this many DLTs of A escalate (0 <= escalate_a < A).
        fail_a: More than this many DLTs of A fail the level (escalate_a < fail_a <= A).
        escalate_ab: At most this many DLTs of A + B escalate (fail_a <= it < A + B).
        fail_ab: More than this many DLTs of A + B fail the level
            (escalate_ab < fail_ab <= A + B).
        escalate_abc: At most this many DLTs of A + B + C escalate, more fail
            (fail_ab <= it < A + B + C).
        deescalation: Whether a failing level sends the trial down (Lin & Shih 2.2).
        expand_top: Whether the top level must pass its second stage to be selected.

    Examples:
        >>> from pkgym.trials.state import TrialState
        >>> design = APlusBPlusCDesign()
        >>> state = TrialState.from_counts([[6, 0], [6, 0], [9, 0], [9, 0]],
        ...                                [[1, 0], [2, 0], [2, 0], [3, 0]], [0, 0, 0, 0])
        >>> design.next_dose(state).tolist(), design.stop(state).tolist()
        ([1, 0, 1, 0], [False, False, False, True])
        >>> design.select_mtd(state).tolist()
        [0, 0, 0, -1]
    """

    a: int = 3
    b: int = 3
    c: int = 3
    escalate_a: int = 0
    fail_a: int = 1
    escalate_ab: int = 1
    fail_ab: int = 2
    escalate_abc: int = 2
    deescalation: bool = False
    expand_top: bool = False

    def __post_init__(self) -> None:
        """Validate the sizes and thresholds, naming the field and the allowed values."""
        a, ab, abc = self.a, self.a + self.b, self.a + self.b + self.c
        check_fields(self, (  # each threshold bounded by the fields before it
            ("a", a >= 1, ">= 1"), ("b", self.b >= 1, ">= 1"), ("c", self.c >= 1, ">= 1"),
            ("escalate_a", 0 <= self.escalate_a < a, f"in [0, a-1={a - 1}]"),
            ("fail_a", self.escalate_a < self.fail_a <= a,
             f"in [escalate_a+1={self.escalate_a + 1}, a={a}]"),
            ("escalate_ab", self.fail_a <= self.escalate_ab < ab,
             f"in [fail_a={self.fail_a}, a+b-1={ab - 1}]"),
            ("fail_ab", self.escalate_ab < self.fail_ab <= ab,
             f"in [escalate_ab+1={self.escalate_ab + 1}, a+b={ab}]"),
            ("escalate_abc", self.fail_ab <= self.escalate_abc < abc,
             f"in [fail_ab={self.fail_ab}, a+b+c-1={abc - 1}]"),
        ))

    @property
    def stages(self) -> Stages:
        """N = (A, A + B, A + B + C) and the thresholds of each stage."""
        return Stages(totals=(self.a, self.a + self.b, self.a + self.b + self.c),
                      escalate=(self.escalate_a, self.escalate_ab, self.escalate_abc),
                      fail=(self.fail_a, self.fail_ab, self.escalate_abc))

    @property
    def cohorts(self) -> dict[str, int]:
        """The stage sizes by name: A, B and C."""
        return {"a": self.a, "b": self.b, "c": self.c}


_SIZES = ("a", "b", "c", "escalate_a", "fail_a", "escalate_ab", "fail_ab", "escalate_abc")
_FLAGS = ("deescalation", "expand_top")


def _build(spec: str, prefix: str, keys: tuple[str, ...],
           scenario: DoseFindingScenario) -> APlusBPlusCDesign:
    """Parse ``prefix:key=value,...`` into a design whose cohorts fit the scenario."""
    options = parse_spec(spec, prefix, keys)
    flags = [check_flag(prefix, name, options.pop(name, 0)) for name in _FLAGS]
    design = APlusBPlusCDesign(**options, deescalation=flags[0], expand_top=flags[1])
    check_cohort_size(design.cohorts, scenario)
    return design


def a_plus_b_plus_c_from_spec(spec: str, scenario: DoseFindingScenario) -> APlusBPlusCDesign:
    """The A+B+C design of a spec ``a+b+c[:key=value,...]``; alone, the 3+3+3.

    Keys: ``a``, ``b``, ``c``, ``escalate_a``, ``fail_a``, ``escalate_ab``, ``fail_ab``,
    ``escalate_abc`` (the :class:`APlusBPlusCDesign` fields) and ``deescalation=0|1``,
    ``expand_top=0|1`` (both 0 by default).

    Args:
        spec: ``a+b+c`` with options; e.g. ``a+b+c:escalate_abc=3`` (escalate on <= 3/9).
        scenario: Its ``cohort_size`` must divide A, B and C.

    Examples:
        >>> scenario = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.3),
        ...                                target_dlt_rate=0.3)
        >>> a_plus_b_plus_c_from_spec("a+b+c:c=6,escalate_abc=3", scenario).stages
        Stages(totals=(3, 6, 12), escalate=(0, 1, 3), fail=(1, 2, 3))
    """
    return _build(spec, "a+b+c", (*_SIZES, *_FLAGS), scenario)


def three_plus_three_plus_three_from_spec(
    spec: str, scenario: DoseFindingScenario
) -> APlusBPlusCDesign:
    """The 3+3+3 ``3+3+3[:deescalation=0|1,expand_top=0|1]`` (Hansen et al. 2014).

    Args:
        spec: e.g. ``3+3+3``, ``3+3+3:deescalation=1``.
        scenario: Its ``cohort_size`` must divide 3 (3 or 1).

    Examples:
        >>> scenario = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.3),
        ...                                target_dlt_rate=0.3)
        >>> three_plus_three_plus_three_from_spec("3+3+3:deescalation=1", scenario)
        ... # doctest: +NORMALIZE_WHITESPACE
        APlusBPlusCDesign(a=3, b=3, c=3, escalate_a=0, fail_a=1, escalate_ab=1, fail_ab=2,
                          escalate_abc=2, deescalation=True, expand_top=False)
    """
    return _build(spec, "3+3+3", _FLAGS, scenario)
