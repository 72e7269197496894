"""The A+B family of rule-based phase I designs (3+3 with A = B = 3), batched.

Rules of Lin Y, Shih WJ (2001) "Statistical properties of the traditional algorithm-based
designs for phase I cancer clinical trials", Biostatistics 2:203-215, section 2: treat A
patients at level i. With x DLTs among them: x < C -> escalate; x > D -> the level fails;
C <= x <= D -> treat B more, and then <= E DLTs of A + B -> escalate, > E -> the level fails.
Escalating past the top level stops the trial and selects the top level (Lin & Shih's P_n);
with ``expand_top`` the top level is first filled to A + B like any MTD (Korn et al. 1994,
Stat Med 13:1799, p. 1801: "the requirement is to have 6 patients treated at the MTD", as
quoted by the R package precautionary's vignette DTP-vs-Korn94), and > E DLTs there fail it.

* Without de-escalation (Lin & Shih 2.1) a failing level i ends the trial and level i - 1 is
  the MTD (none if i is the starting level).
* With de-escalation (Lin & Shih 2.2; the "standard" 3+3 of Storer 1989, Biometrics 45:925,
  and of Le Tourneau et al. 2009, JNCI 101:708: the MTD is the highest level with <= 1/6 DLTs)
  a failing level i sends the trial to i - 1: if i - 1 already has A + B patients it is the MTD;
  otherwise B more are treated there, and <= E DLTs of its A + B make it the MTD, > E make it
  fail in turn. Below the lowest level no dose is selected. A level below a starting level
  above 0 is untried; reached while de-escalating it gets A patients (> D DLTs: it fails) and
  then B more (the same <= E rule): our extension, Lin & Shih start at the lowest level.

Decisions are taken when a level holds exactly A or A + B patients, so ``cohort_size`` must
divide A and B (e.g. cohorts of 1 run any A+B). With A = B = 3, C = D = E = 1 and no
de-escalation this is the rule of :class:`~pkgym.trials.three_plus_three.ThreePlusThreeDesign`.

The rules are written once, for a level decided in stages (:class:`Stages`): after N_k
patients in all (stage k), <= escalate_k DLTs in all escalate (confirm, on the way down),
> fail_k fail the level, and anything between treats the next stage's patients; the last
stage has escalate_K = fail_K. A+B is the two-stage case, N = (A, A + B), escalate =
(C - 1, E), fail = (D, E); the three-stage A+B+C family (the 3+3+3) is
:mod:`pkgym.trials.a_plus_b_plus_c`. With de-escalation a level is the MTD only after its
second stage (A + B patients, as above); a level reached on the way down goes on through its
stages with "confirm" in place of "escalate".
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pkgym.trials.scenarios import DoseFindingScenario
from pkgym.trials.state import TrialState


@dataclasses.dataclass(frozen=True, slots=True)
class Stages:
    """When a level is decided, and how: cumulative patients and DLT thresholds per stage.

    Attributes:
        totals: Patients at the level after each stage, N_1 < N_2 < ... (K >= 2,).
        escalate: Escalate (or confirm) on <= escalate[k] DLTs of N_k patients (K,).
        fail: The level fails on > fail[k] DLTs of N_k patients (K,); fail[-1] == escalate[-1].

    Examples:
        >>> APlusBDesign(b=6, e=2).stages
        Stages(totals=(3, 9), escalate=(0, 2), fail=(1, 2))
    """

    totals: tuple[int, ...]  # (K,)
    escalate: tuple[int, ...]  # (K,)
    fail: tuple[int, ...]  # (K,)

    @property
    def sizes(self) -> tuple[int, ...]:
        """Patients added at each stage (K,)."""
        return tuple(np.diff((0, *self.totals)).tolist())


class StagedDesign:
    """``next_dose``/``stop``/``select_mtd`` of a design whose levels are decided in stages.

    Subclasses (frozen dataclasses) give ``stages``, ``deescalation`` and ``expand_top``; see
    the module docstring for the rules.
    """

    __slots__ = ()
    deescalation: bool
    expand_top: bool

    @property
    def stages(self) -> Stages:
        """Cumulative patients and thresholds of each stage."""
        raise NotImplementedError

    @property
    def cohorts(self) -> dict[str, int]:
        """Patients added at each stage, by the design's name for them."""
        raise NotImplementedError

    def _decisions(self, state: TrialState) -> tuple[np.ndarray, ...]:
        """(escalate, fail, confirm) at each trial's current level (n_trials,) bool each."""
        stages = self.stages
        rows = np.arange(state.levels.size)
        n, x = state.patients[rows, state.levels], state.dlts[rows, state.levels]
        first = n == stages.totals[0]
        fail = first & (x > stages.fail[0])
        later = np.zeros_like(first)  # passed at stage 2 or later
        for total, escalate, failing in zip(stages.totals[1:], stages.escalate[1:],
                                            stages.fail[1:], strict=True):
            fail |= (n == total) & (x > failing)
            later |= (n == total) & (x <= escalate)
        descending = state.highest_tried > state.levels
        at_top = state.levels == state.patients.shape[1] - 1
        early = first & (x <= stages.escalate[0]) & ~(self.expand_top & at_top)
        escalate = ~descending & (early | later)
        confirm = descending & later
        if not self.deescalation:
            confirm = np.zeros_like(confirm)
        return escalate, fail, confirm

    def _below_full(self, state: TrialState) -> np.ndarray:
        """Whether the level below holds N_2 patients or more (False at level 0) (n_trials,)."""
        below = np.maximum(state.levels - 1, 0)
        full = state.patients[np.arange(state.levels.size), below] >= self.stages.totals[1]
        return (state.levels >= 1) & full

    def next_dose(self, state: TrialState) -> np.ndarray:
        """One level up after an escalation, one down after a failure (de-escalation only)."""
        escalate, fail, _ = self._decisions(state)
        top = state.patients.shape[1] - 1
        levels = np.where(escalate, np.minimum(state.levels + 1, top), state.levels)
        if self.deescalation:
            down = fail & (state.levels >= 1) & ~self._below_full(state)
            levels = np.where(down, state.levels - 1, levels)
        return levels

    def stop(self, state: TrialState) -> np.ndarray:
        """Stop on escalating past the top, on a failure with nowhere to go, or on a confirm."""
        escalate, fail, confirm = self._decisions(state)
        past_top = escalate & (state.levels == state.patients.shape[1] - 1)
        if not self.deescalation:
            return past_top | fail
        return past_top | confirm | (fail & ((state.levels == 0) | self._below_full(state)))

    def select_mtd(self, state: TrialState) -> np.ndarray:
        """The MTD per trial, -1 for none.

        Without de-escalation: the highest tried level that has not failed (<= fail_K DLTs,
        and no stage k < K it failed at). With de-escalation: the highest level that passed
        at its second stage or later, or the top level when the trial escalated past it after
        the first stage (not ``expand_top``).
        """
        stages, n, x = self.stages, state.patients, state.dlts
        if self.deescalation:
            ok = np.zeros(n.shape, dtype=bool)
            for total, escalate in zip(stages.totals[1:], stages.escalate[1:], strict=True):
                ok |= (n == total) & (x <= escalate)
            if not self.expand_top:
                ok[:, -1] |= (n[:, -1] == stages.totals[0]) & (x[:, -1] <= stages.escalate[0])
        else:
            failed = np.zeros(n.shape, dtype=bool)
            for total, failing in zip(stages.totals[:-1], stages.fail[:-1], strict=True):
                failed |= (n == total) & (x > failing)
            ok = (n > 0) & (x <= stages.fail[-1]) & ~failed
        n_doses = n.shape[1]
        return np.where(ok.any(axis=1), n_doses - 1 - ok[:, ::-1].argmax(axis=1), -1)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class APlusBDesign(StagedDesign):
    """A+B design of Lin & Shih (2001), with or without de-escalation.

    Attributes:
        a: Patients first treated at a level (A >= 1).
        b: Patients added when C <= DLTs <= D (B >= 1).
        c: Fewer than C DLTs of A escalate (1 <= C <= D).
        d: More than D DLTs of A fail the level (C <= D <= A).
        e: At most E DLTs of A + B escalate or confirm (D <= E < A + B).
        deescalation: Whether a failing level sends the trial down (Lin & Shih 2.2).
        expand_top: Whether the top level needs A + B patients with <= E DLTs to be selected.

    Examples:
        >>> design = APlusBDesign(deescalation=True)
        >>> state = TrialState.from_counts([[3, 3, 0], [6, 3, 0], [3, 6, 0]],
        ...                                [[0, 2, 0], [1, 2, 0], [0, 1, 0]], [1, 1, 1])
        >>> design.next_dose(state).tolist(), design.stop(state).tolist()
        ([0, 1, 2], [False, True, False])
        >>> design.select_mtd(state).tolist()
        [-1, 0, 1]
    """

    a: int = 3
    b: int = 3
    c: int = 1
    d: int = 1
    e: int = 1
    deescalation: bool = False
    expand_top: bool = False

    def __post_init__(self) -> None:
        """Validate the thresholds, naming the field and the allowed values."""
        checks = (("a", self.a >= 1, ">= 1"), ("b", self.b >= 1, ">= 1"),
                  ("c", 1 <= self.c <= self.d, f"in [1, d={self.d}]"),
                  ("d", self.c <= self.d <= self.a, f"in [c={self.c}, a={self.a}]"),
                  ("e", self.d <= self.e < self.a + self.b,
                   f"in [d={self.d}, a+b-1={self.a + self.b - 1}]"))
        check_fields(self, checks)

    @property
    def stages(self) -> Stages:
        """N = (A, A + B), escalate = (C - 1, E), fail = (D, E)."""
        return Stages(totals=(self.a, self.a + self.b), escalate=(self.c - 1, self.e),
                      fail=(self.d, self.e))

    @property
    def cohorts(self) -> dict[str, int]:
        """The stage sizes by name: A and B."""
        return {"a": self.a, "b": self.b}


def check_fields(design: object, checks: tuple[tuple[str, bool, str], ...]) -> None:
    """Raise a one-line ValueError naming the first failed field and its allowed values.

    Examples:
        >>> check_fields(APlusBDesign(), (("a", False, ">= 1"),))
        Traceback (most recent call last):
        ...
        ValueError: a must be >= 1, got 3
    """
    for name, ok, allowed in checks:
        if not ok:
            raise ValueError(f"{name} must be {allowed}, got {getattr(design, name)}")


_KEYS = ("a", "b", "c", "d", "e", "deescalation", "expand_top")
_FLAGS = ("deescalation", "expand_top")


def parse_spec(spec: str, prefix: str, keys: tuple[str, ...]) -> dict[str, int]:
    """Integer options of ``prefix:key=value[,key=value]`` (``prefix`` alone: none).

    Examples:
        >>> parse_spec("a+b:a=3,e=2", "a+b", ("a", "e"))
        {'a': 3, 'e': 2}
    """
    head, _, body = spec.partition(":")
    if head != prefix:
        raise ValueError(f"design must start with {prefix!r}, got {spec!r}")
    options: dict[str, int] = {}
    for item in filter(None, body.split(",")):
        key, _, value = item.partition("=")
        if key not in keys:
            raise ValueError(f"{prefix} option {key!r} is unknown; allowed: {', '.join(keys)}")
        try:
            options[key] = int(value)
        except ValueError:
            raise ValueError(f"{prefix} option {key} must be an integer, got {value!r}") from None
    return options


def check_flag(prefix: str, name: str, value: int) -> bool:
    """A 0/1 option as a bool; anything else is a one-line ValueError.

    Examples:
        >>> check_flag("3+3", "deescalation", 1)
        True
    """
    if value not in (0, 1):
        raise ValueError(f"{prefix} option {name} must be 0 or 1, got {value}")
    return bool(value)


def check_cohort_size(cohorts: dict[str, int], scenario: DoseFindingScenario) -> None:
    """Raise unless ``scenario.cohort_size`` divides every stage size (decisions at each N_k).

    Examples:
        >>> scenario = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.3),
        ...                                target_dlt_rate=0.3)
        >>> check_cohort_size({"a": 2, "b": 3}, scenario)
        Traceback (most recent call last):
        ...
        ValueError: cohort_size must divide a=2 and b=3, got 3
    """
    if any(size % scenario.cohort_size for size in cohorts.values()):
        names = " and ".join(f"{name}={size}" for name, size in cohorts.items())
        raise ValueError(f"cohort_size must divide {names}, got {scenario.cohort_size}")


def a_plus_b_from_spec(spec: str, scenario: DoseFindingScenario) -> APlusBDesign:
    """The design ``a+b[:a=A,b=B,c=C,d=D,e=E,deescalation=0|1,expand_top=0|1]``.

    Defaults: the 3+3 (A = B = 3, C = D = E = 1) without de-escalation.

    Args:
        spec: ``a+b`` with options; e.g. ``a+b:e=2`` (3+3 escalating after <= 2/6 DLTs).
        scenario: Its ``cohort_size`` must divide A and B.

    Examples:
        >>> scenario = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.3),
        ...                                target_dlt_rate=0.3)
        >>> a_plus_b_from_spec("a+b:b=6,e=2,deescalation=1", scenario)
        APlusBDesign(a=3, b=6, c=1, d=1, e=2, deescalation=True, expand_top=False)
    """
    options = parse_spec(spec, "a+b", _KEYS)
    flags = [check_flag("a+b", name, options.pop(name, 0)) for name in _FLAGS]
    design = APlusBDesign(**options, deescalation=flags[0], expand_top=flags[1])
    check_cohort_size(design.cohorts, scenario)
    return design
