"""The depression clinic: scenario, reward, what the clinic observes, the patient population.

Configuration flows one way (STYLE 11): a YAML file or keyword arguments give a frozen
:class:`DepressionScenario`; the core reads it directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gymnasium import spaces

from pkgym.envs.base import ObservationModel, RewardFn
from pkgym.models.depression_drug import DepressionPatientModel
from pkgym.populations import Bernoulli, BodySize, BoundedNormal, Population
from pkgym.scenarios import check_fields
from pkgym.scenarios import resolve_scenario as resolve

MDD_OUTPATIENTS = Population(covariates={
    "is_female": Bernoulli(p=0.64),
    "age_years": BoundedNormal(mean=40.7, sd=13.2, low=18.0, high=75.0),
    "body_size": BodySize(),
})
"""Adult outpatients with MDD: 64% women, age 40.7 +- 13.2 y (STAR*D level 1, Trivedi et al.
2006, Am J Psychiatry 163:28), truncated to 18-75 y (*assumed*); NHANES height and weight."""
POPULATIONS = {"mdd_outpatients": MDD_OUTPATIENTS}
COVARIATES = ("age_years", "is_female", "weight_kg")
COVARIATE_HIGHS = np.array([120.0, 1.0, 300.0], dtype=np.float32)
BIAS_BOUND = 8.0
"""|log b| is below 1/2 log(n_trials^2 / 0.25) <= 8 for up to 2000 trials."""


@dataclass(frozen=True, slots=True)
class WeekOutcome:
    """One week's clinical outcome of every patient (all (n,)).

    Attributes:
        score_before, score_after: true symptom score at the week's start and end.
        adverse_probability: the week's side-effect burden (probability of a troublesome
            adverse effect).
    """

    score_before: np.ndarray
    score_after: np.ndarray
    adverse_probability: np.ndarray


@dataclass(frozen=True, slots=True, kw_only=True)
class SymptomReliefReward(RewardFn):
    """Weekly reward: symptom improvement against side effects.

    ``reward = improvement_per_point * (score_before - score_after)
    - side_effect_weight * adverse_probability`` (true scores; an undiscounted return is
    ``improvement_per_point`` x the total improvement minus the side-effect burden).
    """

    improvement_per_point: float = 0.1
    side_effect_weight: float = 1.0

    def __call__(self, outcome: WeekOutcome, doses_mg: np.ndarray) -> np.ndarray:
        """Reward of each patient for one week."""
        return (self.improvement_per_point * (outcome.score_before - outcome.score_after)
                - self.side_effect_weight * outcome.adverse_probability)


@dataclass(frozen=True, slots=True, kw_only=True)
class DepressionScenario:
    """Everything that defines the clinic (YAML fields have the same names).

    Attributes:
        population: one of ``POPULATIONS``.
        n_weeks: weeks per episode (one decision per week).
        dose_levels_mg: daily escitalopram doses of the action levels (label: 10 mg, up to
            20 mg; 5 mg for the elderly is below the usual start).
        reward, model: reward weights and the patient model.
    """

    population: str = "mdd_outpatients"
    n_weeks: int = 12
    dose_levels_mg: tuple[float, ...] = (0.0, 5.0, 10.0, 15.0, 20.0)
    reward: SymptomReliefReward = field(default_factory=SymptomReliefReward)
    model: DepressionPatientModel = field(default_factory=DepressionPatientModel)

    def __post_init__(self) -> None:
        """Validate the fields the objects they build do not check."""
        check_fields(self)
        if self.population not in POPULATIONS:
            raise ValueError(f"population: {self.population!r} is not one of {sorted(POPULATIONS)}")
        if not 1 <= self.n_weeks <= 104:
            raise ValueError(f"n_weeks must be in 1..104, got {self.n_weeks}")
        levels = np.asarray(self.dose_levels_mg)
        if levels.size < 2 or np.any(np.diff(levels) <= 0) or levels[0] < 0 or levels[-1] > 60:
            raise ValueError(f"dose_levels_mg must rise strictly within [0, 60], got "
                             f"{self.dose_levels_mg}")


def resolve_scenario(scenario: DepressionScenario | str | os.PathLike | None,
                     env_id: str) -> DepressionScenario:
    """The scenario from an object, a YAML path or ``None`` (see ``scenarios.resolve_scenario``).

    Examples:
        >>> resolve_scenario(None, "any id").n_weeks
        12
    """
    return resolve(scenario, DepressionScenario, env_id)


class ClinicAssessments(ObservationModel):
    """What the clinic knows (float32): covariates, weekly ratings, PRT results, doses, events."""

    def space(self, settings: Any) -> spaces.Dict:
        """The observation space of one patient under ``settings``."""
        s = settings.scenario
        n = s.n_weeks + 1

        def box(size: int, low: float, high: float | np.ndarray) -> spaces.Box:
            return spaces.Box(np.float32(low), np.broadcast_to(np.float32(high), (size,)),
                              shape=(size,), dtype=np.float32)

        return spaces.Dict({
            "covariates": box(len(COVARIATES), 0.0, COVARIATE_HIGHS),
            "madrs": box(n, 0.0, 60.0), "response_bias": box(n, -BIAS_BOUND, BIAS_BOUND),
            "accuracy": box(n, 0.0, 1.0), "assessed": box(n, 0.0, 1.0),
            "doses_mg": box(s.n_weeks, 0.0, max(s.dose_levels_mg)),
            "adverse_event": box(s.n_weeks, 0.0, 1.0), "week": box(1, 0.0, s.n_weeks)})

    def __call__(self, records: Any, settings: Any) -> dict[str, np.ndarray]:
        """Batched observation of all patients."""
        return {"covariates": records.covariates_f32.copy(),
                "madrs": records.madrs_measured.copy(),
                "response_bias": records.bias_measured.copy(),
                "accuracy": records.accuracy_measured.copy(),
                "assessed": records.assessed.copy(),
                "doses_mg": records.doses_mg.astype(np.float32),
                "adverse_event": records.adverse_event.astype(np.float32),
                "week": records.week[:, None].astype(np.float32)}
