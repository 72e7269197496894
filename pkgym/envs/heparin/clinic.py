"""The heparin clinic: scenario, decision table, risk terms and reward, observation model.

Configuration flows one way (STYLE 11): a YAML file or keyword arguments give a frozen
:class:`HeparinScenario`, which :func:`pkgym.envs.heparin.records.clinic_settings` turns into
the core's settings.

Sources of the clinical terms:

* target 60-100 s: Nemati S, Ghassemi MM, Clifford GD 2016, IEEE EMBC ("Optimal medication
  dosing from suboptimal clinical examples: a deep reinforcement learning approach"), whose
  reward is +1 inside and -1 outside 60-100 s (two sigmoids; here its sharp limit, averaged
  over the TRUE aPTT between measurements); ``target: control_ratio`` uses 1.5-2.5 x the
  patient's control aPTT instead (Hirsh 2001 Chest; Raschke 1993 used 1.5-2.3);
* thrombosis: Hull RD et al. 1986 (N Engl J Med 315:1109): recurrent venous thromboembolism
  in 24.5 % of patients whose aPTT stayed below 1.5 x control in the first 24 h vs 1.6 % of
  those above it. We charge the excess, 0.23, pro rata to the share of the first 24 h spent
  below 1.5 x control (a linear interpolation of Hull's two groups: ours);
* bleeding: risk rising with supratherapeutic aPTT. No cited hazard was at hand; the term is
  ours: the mean over time of ``max(0, aPTT / upper - 1)`` (0 in range, 0.5 at 150 s).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gymnasium import spaces

from pkgym.envs.base import ObservationModel, RewardFn
from pkgym.envs.heparin.kernel import observe_rows
from pkgym.models.heparin_alsallami2016 import AlSallami2016, advance_amount_iu
from pkgym.scenarios import check_fields
from pkgym.scenarios import resolve_scenario as resolve

TARGETS = ("seconds", "control_ratio")
HULL_EXCESS_RECURRENCE = 0.245 - 0.016
"""Hull 1986: recurrent VTE 24.5 % (subtherapeutic first 24 h) minus 1.6 % (therapeutic)."""
PATIENT_HIGHS = np.array([300.0, 230.0, 110.0, 1.0, 200.0], dtype=np.float32)
"""Upper bounds of ``patient``: weight kg, height cm, age years, is_female, control aPTT s."""
OBSERVATION_KEYS = ("aptt_s", "aptt_mask", "bolus_u_per_kg", "hold_h", "rate_u_per_kg_per_h",
                    "current_rate_u_per_kg_per_h", "hours_since_start", "patient",
                    "target_aptt_s")
"""The observation's keys, in the order :func:`~pkgym.envs.heparin.kernel.observe_rows` returns."""


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """One decision interval's clinical outcome of every stepped patient, (n,) each.

    Attributes:
        in_range: share of the interval with the true aPTT in the target range.
        below, above: shares below and above it.
        bleeding: mean of ``max(0, aPTT / upper - 1)`` over the interval.
        thrombosis_risk: Hull's excess recurrence charged for this interval's share of the
            first 24 h below 1.5 x control.
    """

    in_range: np.ndarray
    below: np.ndarray
    above: np.ndarray
    bleeding: np.ndarray
    thrombosis_risk: np.ndarray


@dataclass(frozen=True, slots=True, kw_only=True)
class HeparinReward(RewardFn):
    """``reward = w_range (2 in_range - 1) - w_bleeding bleeding - w_thrombosis risk``.

    ``2 in_range - 1`` is Nemati 2016's +1/-1 reward averaged over the interval's true aPTT;
    the risk terms are :class:`StepOutcome`'s (module docstring: Hull 1986 and ours).

    Attributes:
        range_weight: weight of time in range (1).
        bleeding_weight: weight of the supratherapeutic excess (1; ours).
        thrombosis_weight: per unit probability of recurrent VTE (10: a fully subtherapeutic
            first day then costs 2.3, about two intervals out of range; ours).
    """

    range_weight: float = 1.0
    bleeding_weight: float = 1.0
    thrombosis_weight: float = 10.0

    def __post_init__(self) -> None:
        """Weights >= 0."""
        for name in ("range_weight", "bleeding_weight", "thrombosis_weight"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"reward.{name} must be >= 0, got {getattr(self, name)}")

    def __call__(self, outcome: StepOutcome, doses_mg: np.ndarray) -> np.ndarray:
        """Reward of each patient for one interval (``doses_mg``: the decisions, unused)."""
        return (self.range_weight * (2.0 * outcome.in_range - 1.0)
                - self.bleeding_weight * outcome.bleeding
                - self.thrombosis_weight * outcome.thrombosis_risk)


@dataclass(frozen=True, slots=True, kw_only=True)
class HeparinScenario:
    """Everything that defines the clinic (YAML fields have the same names).

    Attributes:
        horizon_h: episode length, h (72: the first three days, where the nomograms act and
            Hull's first-24-h risk lies; VTE courses run 5 days, ``120`` gives that).
        interval_h: hours between aPTT measurements (= decisions; 6, as Raschke's re-checks).
        target: ``seconds`` (``target_aptt_s``) or ``control_ratio`` (``target_ratio`` x the
            patient's control aPTT).
        target_aptt_s, target_ratio: the two kinds of range (60-100 s; 1.5-2.5).
        bolus_levels_u_per_kg: boluses of the discrete table (none, 40, 80: Raschke's).
        hold_h: infusion hold of the discrete table's fourth start option (1 h: Raschke's).
        rate_step_u_per_kg_per_h, max_rate_u_per_kg_per_h: discrete rates 0, step, ..., max.
        max_bolus_u_per_kg, max_hold_h: the Box variant's ranges (its rate range is the max).
        grid_points: true aPTT points per interval for the time-based metrics (midpoints).
        subtherapeutic_ratio, early_window_h: Hull's threshold (x control) and window (h).
        model: the truth's parameters.
        reward: the reward weights.
    """

    horizon_h: float = 72.0
    interval_h: float = 6.0
    target: str = "seconds"
    target_aptt_s: tuple[float, float] = (60.0, 100.0)
    target_ratio: tuple[float, float] = (1.5, 2.5)
    bolus_levels_u_per_kg: tuple[float, ...] = (0.0, 40.0, 80.0)
    hold_h: float = 1.0
    rate_step_u_per_kg_per_h: float = 1.0
    max_rate_u_per_kg_per_h: float = 40.0
    max_bolus_u_per_kg: float = 80.0
    max_hold_h: float = 2.0
    grid_points: int = 24
    subtherapeutic_ratio: float = 1.5
    early_window_h: float = 24.0
    model: AlSallami2016 = field(default_factory=AlSallami2016)
    reward: HeparinReward = field(default_factory=HeparinReward)

    def __post_init__(self) -> None:
        """Validate every field, naming it."""
        check_fields(self)
        if not 1.0 <= self.interval_h <= 24.0:
            raise ValueError(f"interval_h must be in [1, 24], got {self.interval_h}")
        steps = self.horizon_h / self.interval_h
        if not (1 <= steps <= 100 and abs(steps - round(steps)) < 1e-9):
            raise ValueError(f"horizon_h must be 1..100 whole intervals of interval_h, got "
                             f"{self.horizon_h}")
        if self.target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {self.target!r}")
        low, high = self.target_aptt_s
        if not 20.0 <= low < high <= self.model.aptt_assay_max_s:
            raise ValueError(f"target_aptt_s must rise within [20, assay max], got "
                             f"{self.target_aptt_s}")
        if not 1.0 <= self.target_ratio[0] < self.target_ratio[1] <= 5.0:
            raise ValueError(f"target_ratio must rise within [1, 5], got {self.target_ratio}")
        boluses = np.asarray(self.bolus_levels_u_per_kg)
        if boluses.size < 1 or boluses[0] != 0 or np.any(np.diff(boluses) <= 0) or \
                boluses[-1] > self.max_bolus_u_per_kg:
            raise ValueError(f"bolus_levels_u_per_kg must start at 0 and rise to at most "
                             f"max_bolus_u_per_kg, got {self.bolus_levels_u_per_kg}")
        if not 0 < self.hold_h <= self.max_hold_h < self.interval_h:
            raise ValueError("0 < hold_h <= max_hold_h < interval_h must hold")
        if not 0 < self.rate_step_u_per_kg_per_h <= self.max_rate_u_per_kg_per_h <= 100:
            raise ValueError("0 < rate_step_u_per_kg_per_h <= max_rate_u_per_kg_per_h <= 100 "
                             "must hold")
        if not 1 <= self.grid_points <= 720:
            raise ValueError(f"grid_points must be in 1..720, got {self.grid_points}")
        if not 1.0 < self.subtherapeutic_ratio <= 5.0 or not 0 < self.early_window_h:
            raise ValueError("subtherapeutic_ratio must be in (1, 5] and early_window_h > 0")

    @property
    def n_steps(self) -> int:
        """Decisions per episode (the first at time 0)."""
        return int(round(self.horizon_h / self.interval_h))

    @property
    def rate_levels_u_per_kg_per_h(self) -> np.ndarray:
        """The discrete table's infusion rates, U/kg/h.

        Examples:
            >>> HeparinScenario().rate_levels_u_per_kg_per_h[[0, 18, -1]].tolist()
            [0.0, 18.0, 40.0]
        """
        step = self.rate_step_u_per_kg_per_h
        return np.arange(0.0, self.max_rate_u_per_kg_per_h + step / 2, step)

    @property
    def start_options(self) -> np.ndarray:
        """The discrete table's start options, rows ``(bolus U/kg, hold h)``: each bolus, hold.

        Examples:
            >>> HeparinScenario().start_options.tolist()
            [[0.0, 0.0], [40.0, 0.0], [80.0, 0.0], [0.0, 1.0]]
        """
        boluses = np.asarray(self.bolus_levels_u_per_kg, dtype=np.float64)
        rows = np.column_stack([boluses, np.zeros_like(boluses)])
        return np.vstack([rows, [[0.0, self.hold_h]]])


def resolve_scenario(scenario: HeparinScenario | str | os.PathLike | None,
                     env_id: str) -> HeparinScenario:
    """The scenario from an object, a YAML path or ``None``.

    Examples:
        >>> resolve_scenario(None, "any id").n_steps
        12
    """
    return resolve(scenario, HeparinScenario, env_id)


class ClinicObservation(ObservationModel):
    """What the ward knows (float32): aPTT history, doses given, rate, clock, patient, target."""

    def space(self, settings: Any) -> spaces.Dict:
        """The observation space of one patient under ``settings``."""
        s = settings.scenario
        n, top = s.n_steps, float(s.model.aptt_assay_max_s)

        def box(size: int, high: float | np.ndarray) -> spaces.Box:
            return spaces.Box(0.0, np.broadcast_to(np.float32(high), (size,)), dtype=np.float32)

        return spaces.Dict({
            "aptt_s": box(n + 1, top), "aptt_mask": box(n + 1, 1.0),
            "bolus_u_per_kg": box(n, s.max_bolus_u_per_kg), "hold_h": box(n, s.max_hold_h),
            "rate_u_per_kg_per_h": box(n, s.max_rate_u_per_kg_per_h),
            "current_rate_u_per_kg_per_h": box(1, s.max_rate_u_per_kg_per_h),
            "hours_since_start": box(1, s.horizon_h), "patient": box(5, PATIENT_HIGHS),
            "target_aptt_s": box(2, top)})

    def __call__(self, records: Any, settings: Any) -> dict[str, np.ndarray]:
        """Batched observation of all patients (fresh float32 arrays, clipped to the space).

        One compiled pass (:func:`pkgym.envs.heparin.kernel.observe_rows`): each value
        clipped at 0 and its high, then float32; aPTT samples after the current step are 0.
        """
        s, r = settings.scenario, records
        highs = (float(s.model.aptt_assay_max_s), float(s.max_bolus_u_per_kg),
                 float(s.max_hold_h), float(s.max_rate_u_per_kg_per_h), float(s.horizon_h))
        values = observe_rows(
            r.step, r.aptt_measured_s, (r.bolus_u_per_kg, r.hold_h, r.rate_u_per_kg_per_h),
            r.current_rate, (r.weight_kg, r.height_cm, r.age_years, r.is_female,
                             r.baseline_aptt_s), (r.target_low_s, r.target_high_s), highs,
            PATIENT_HIGHS, float(s.interval_h))
        return dict(zip(OBSERVATION_KEYS, values, strict=True))


def interval_amounts(amount_iu: np.ndarray, params: np.ndarray, weight_kg: np.ndarray,
                     decisions: np.ndarray, times_h: np.ndarray) -> np.ndarray:
    """Exact heparin amounts at ``times_h`` into an interval (pure physics; planners reuse it).

    The bolus enters at time 0, the infusion is held for ``hold`` h, then runs at ``rate``.

    Args:
        amount_iu: amount at the interval's start, before the bolus (n,).
        params: (n, 3) CL, V, SLOPE.
        weight_kg: (n,).
        decisions: (n, 3) bolus U/kg, hold h, rate U/kg/h.
        times_h: (m,) times into the interval, h, >= 0.

    Returns:
        Amounts (n, m), IU.

    Examples:
        >>> a = interval_amounts(np.zeros(1), np.array([[2.0, 3.0, 0.1]]), np.array([80.0]),
        ...                      np.array([[80.0, 0.0, 0.0]]), np.array([0.0]))
        >>> a.tolist()
        [[6400.0]]
    """
    cl, v = params[:, 0:1], params[:, 1:2]
    start = (amount_iu + decisions[:, 0] * weight_kg)[:, None]
    hold = decisions[:, 1:2]
    rate = (decisions[:, 2] * weight_kg)[:, None]
    t = np.asarray(times_h, dtype=np.float64)[None, :]
    held = advance_amount_iu(start, cl, v, 0.0, np.minimum(t, hold))
    return advance_amount_iu(held, cl, v, rate, np.maximum(t - hold, 0.0))
