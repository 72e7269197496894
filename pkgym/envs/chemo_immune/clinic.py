"""The chemotherapy clinic of ``pkgym/ChemoImmune-v0``: scenario, reward, observation, solver.

Configuration flows one way (STYLE 11): a YAML file or keyword arguments give a frozen
:class:`ChemoImmuneScenario`; the core reads it directly.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gymnasium import spaces

from pkgym.envs.base import ObservationModel, RewardFn
from pkgym.models.tumour_immune import DePillis2003
from pkgym.populations import BoundedLogNormal, Population
from pkgym.scenarios import check_fields
from pkgym.scenarios import resolve_scenario as resolve
from pkgym.sim.integrate import METHODS, SolverConfig

CELL_HIGH = 5.0
"""Measured cell levels are reported up to this value (the observation's bound)."""
MAX_DOSE_LEVELS = 10_000
"""Most action levels (``max_dose / dose_step``)."""
MEASURED = ("normal_cells", "tumour_cells", "immune_cells")
"""The measured populations, in the order of the observation's ``cells``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChemoSolver:
    """How the four ODEs are integrated over each day (a :class:`SolverConfig` in YAML form).

    Attributes:
        method: ``"rk4"`` (default: compiled fixed-step RK4, steps of ``max_step_h``) or
            ``"dopri5"`` (adaptive, :func:`pkgym.sim.integrate.integrate_final`).
        max_step_h: RK4 step, or DOPRI5's longest step, h. Default 1 h (24 steps a day;
            error < 1e-7 against ``solve_ivp(rtol=1e-10)`` over 40 days).
        rtol, atol: DOPRI5 tolerances (unused by RK4).
    """

    method: str = "rk4"
    max_step_h: float = 1.0
    rtol: float = 1e-8
    atol: float = 1e-10

    def __post_init__(self) -> None:
        """Validate through :class:`SolverConfig` (which names the bad field)."""
        if self.method not in METHODS:
            raise ValueError(f"solver.method: {self.method!r} is not one of {list(METHODS)}")
        self.config()

    def config(self) -> SolverConfig:
        """The :class:`SolverConfig` these settings stand for.

        Examples:
            >>> ChemoSolver().config().max_step_h
            1.0
        """
        return SolverConfig(method="rk4" if self.method == "rk4" else "dopri5", rtol=self.rtol,
                            atol=self.atol, max_step_h=self.max_step_h)


@dataclass(frozen=True, slots=True)
class ChemoOutcome:
    """One day's outcome of every patient, what reward functions score (all (n,)).

    Attributes:
        tumour_before, tumour_after: true tumour burden this morning and the next.
        normal_after: true normal-cell level the next morning.
        below_floor: whether ``normal_after`` is below the scenario's floor.
        stopped: whether treatment stopped for it (``stop_below_floor``: terminated).
    """

    tumour_before: np.ndarray
    tumour_after: np.ndarray
    normal_after: np.ndarray
    below_floor: np.ndarray
    stopped: np.ndarray


@dataclass(frozen=True, slots=True, kw_only=True)
class TumourReductionReward(RewardFn):
    """Daily reward: relative tumour reduction, minus dose, normal-floor and stop penalties.

    ``reward = tumour_reduction_weight * (T_k - T_k+1) / max(T_k, tumour_reference_level)
    - dose_cost * dose - below_floor_penalty * (N_k+1 < floor) - stop_penalty * stopped``.

    The first term is Padmanabhan et al. 2017's reward, the relative one-day fall of the
    tumour (as ReiL's replication codes it, ``1 - T_k+1 / T_k``; the paper's own text could
    not be opened). pkgym floors the denominator at ``tumour_reference_level`` so that a
    vanishing tumour stops paying for more drug, and adds the named penalties (0 turns
    them off).
    """

    tumour_reduction_weight: float = 1.0
    tumour_reference_level: float = 1e-3
    dose_cost: float = 0.0
    below_floor_penalty: float = 1.0
    stop_penalty: float = 10.0

    def __post_init__(self) -> None:
        """Weights finite and >= 0; the reference level > 0."""
        for name in ("tumour_reduction_weight", "dose_cost", "below_floor_penalty",
                     "stop_penalty"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"reward.{name} must be finite and >= 0, got {value}")
        if not (math.isfinite(self.tumour_reference_level) and self.tumour_reference_level > 0):
            raise ValueError(f"reward.tumour_reference_level must be finite and > 0, got "
                             f"{self.tumour_reference_level}")

    def __call__(self, outcome: ChemoOutcome, doses_mg: np.ndarray) -> np.ndarray:
        """Reward of each patient for one day (``doses_mg``: drug units given that day)."""
        reference = np.maximum(outcome.tumour_before, self.tumour_reference_level)
        return (self.tumour_reduction_weight * (outcome.tumour_before - outcome.tumour_after)
                / reference - self.dose_cost * doses_mg
                - self.below_floor_penalty * outcome.below_floor
                - self.stop_penalty * outcome.stopped)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChemoImmuneScenario:
    """Everything that defines the chemotherapy clinic (YAML fields have the same names).

    Attributes:
        n_days: days per episode, one decision each morning (default 150, the horizon of
            DTRGym's de Pillis env; Padmanabhan's own horizon was not read).
        max_dose, dose_step: action levels 0, step, ..., max: the drug infusion rate v held
            over the day, drug units/day (1 = de Pillis's unit rate).
        initial_normal_cells, initial_immune_cells: N and I at day 0 (DTRGym's start).
        tumour_at_start_median, tumour_at_start_cv, tumour_at_start_bounds: the log-normal
            distribution of T at day 0, a patient covariate (median 0.2 as DTRGym; CV 0.3
            and bounds assumed; CV 0 gives every patient the median).
        normal_cell_floor: the normal-cell level treatment must protect (0.75).
        stop_below_floor: end the episode (terminated) when N falls below the floor.
        measurement_log_sd: SD of log of the daily N, T and I measurements (0.1, assumed).
        reward: reward weights.
        de_pillis: the model parameters and between-patient CVs.
        solver: the daily integration.
    """

    n_days: int = 150
    max_dose: float = 1.0
    dose_step: float = 0.1
    initial_normal_cells: float = 0.9
    initial_immune_cells: float = 0.005
    tumour_at_start_median: float = 0.2
    tumour_at_start_cv: float = 0.3
    tumour_at_start_bounds: tuple[float, float] = (0.05, 0.6)
    normal_cell_floor: float = 0.75
    stop_below_floor: bool = False
    measurement_log_sd: float = 0.1
    reward: TumourReductionReward = field(default_factory=TumourReductionReward)
    de_pillis: DePillis2003 = field(default_factory=DePillis2003)
    solver: ChemoSolver = field(default_factory=ChemoSolver)

    def __post_init__(self) -> None:
        """Validate the fields the objects they build do not check, naming the field."""
        check_fields(self)
        if not 1 <= self.n_days <= 3650:
            raise ValueError(f"n_days must be in 1..3650, got {self.n_days}")
        if not 0 < self.dose_step <= self.max_dose <= 100 or \
                self.max_dose / self.dose_step > MAX_DOSE_LEVELS:
            raise ValueError(f"need 0 < dose_step <= max_dose <= 100 and at most "
                             f"{MAX_DOSE_LEVELS} steps, got {self.dose_step}, {self.max_dose}")
        for name in ("initial_normal_cells", "initial_immune_cells", "normal_cell_floor"):
            if not 0 <= getattr(self, name) <= CELL_HIGH:
                raise ValueError(f"{name} must be in [0, {CELL_HIGH}], got {getattr(self, name)}")
        low, high = self.tumour_at_start_bounds
        if not 0 < low <= self.tumour_at_start_median <= high <= 1:
            raise ValueError(f"need 0 < tumour_at_start_bounds[0] <= tumour_at_start_median <= "
                             f"tumour_at_start_bounds[1] <= 1, got {self.tumour_at_start_bounds}"
                             f" and {self.tumour_at_start_median}")
        if not 0 <= self.tumour_at_start_cv <= 2:
            raise ValueError(f"tumour_at_start_cv must be in [0, 2], got {self.tumour_at_start_cv}")
        if not 0 <= self.measurement_log_sd <= 2:
            raise ValueError(f"measurement_log_sd must be in [0, 2], got "
                             f"{self.measurement_log_sd}")

    @property
    def dose_levels(self) -> np.ndarray:
        """The discrete infusion rates, drug units/day.

        Examples:
            >>> ChemoImmuneScenario().dose_levels.round(1).tolist()
            [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
        """
        return np.arange(0.0, self.max_dose + 1e-9, self.dose_step)

    @property
    def population(self) -> Population:
        """Patients differ in tumour burden at day 0 (no covariate when its CV is 0).

        Examples:
            >>> ChemoImmuneScenario().population.columns
            ('id', 'tumour_at_start')
        """
        if self.tumour_at_start_cv == 0:
            return Population(covariates={})
        low, high = self.tumour_at_start_bounds
        return Population(covariates={"tumour_at_start": BoundedLogNormal(
            median=self.tumour_at_start_median, cv=self.tumour_at_start_cv, low=low, high=high)})


def resolve_scenario(scenario: ChemoImmuneScenario | str | os.PathLike | None,
                     env_id: str) -> ChemoImmuneScenario:
    """The scenario from an object, a YAML path or ``None`` (see ``scenarios.resolve_scenario``).

    Examples:
        >>> resolve_scenario(None, "any id").n_days
        150
    """
    return resolve(scenario, ChemoImmuneScenario, env_id)


class CellCountObservation(ObservationModel):
    """What the clinic knows (float32): this morning's measured N, T, I, the doses, the day."""

    def space(self, settings: Any) -> spaces.Dict:
        """The observation space of one patient under ``settings``."""
        scenario = settings.scenario
        return spaces.Dict({
            "cells": spaces.Box(0.0, CELL_HIGH, (len(MEASURED),), dtype=np.float32),
            "doses": spaces.Box(0.0, np.float32(scenario.max_dose), (scenario.n_days,),
                                dtype=np.float32),
            "day": spaces.Box(0.0, np.float32(scenario.n_days), (1,), dtype=np.float32)})

    def __call__(self, records: Any, settings: Any) -> dict[str, np.ndarray]:
        """Batched observation of all patients."""
        return self.with_doses(records, records.doses_f32.copy())

    @staticmethod
    def with_doses(records: Any, doses: np.ndarray) -> dict[str, np.ndarray]:
        """The batched observation around ``doses``, a copy of ``records.doses_f32``."""
        return {"cells": records.measured_now.copy(), "doses": doses,
                "day": records.day[:, None].astype(np.float32)}
