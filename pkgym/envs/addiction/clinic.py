"""The addiction clinic of ``pkgym/Addiction-v0``: treatments, scenario, reward, observation.

Configuration flows one way (STYLE 11): a YAML file or keyword arguments give a frozen
:class:`AddictionScenario`; the core reads it directly.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gymnasium import spaces

from pkgym.envs.addiction.kernel import clinic_observation
from pkgym.envs.base import ObservationModel, RewardFn
from pkgym.models.addiction import Redish2004
from pkgym.models.addiction_treatment import TreatmentPharmacology
from pkgym.populations import Population
from pkgym.scenarios import check_fields
from pkgym.scenarios import resolve_scenario as resolve

DAYS_PER_WEEK = 7


@dataclass(frozen=True, slots=True)
class Treatment:
    """One action: a week of a drug at a daily dose, or of contingency management."""

    name: str
    naltrexone_mg: float = 0.0
    buprenorphine_mg: float = 0.0
    contingency_management: bool = False


TREATMENTS = (
    Treatment("none"),
    Treatment("naltrexone_25mg", naltrexone_mg=25.0),
    Treatment("naltrexone_50mg", naltrexone_mg=50.0),
    Treatment("naltrexone_100mg", naltrexone_mg=100.0),
    Treatment("buprenorphine_8mg", buprenorphine_mg=8.0),
    Treatment("buprenorphine_24mg", buprenorphine_mg=24.0),
    Treatment("contingency_management", contingency_management=True),
)
"""The action table: action k gives ``TREATMENTS[k]`` every day of the week."""
TREATMENT_NAMES = tuple(t.name for t in TREATMENTS)
DAILY_DOSES_MG = np.array([[t.naltrexone_mg, t.buprenorphine_mg] for t in TREATMENTS])
"""(n_actions, 2): daily naltrexone and buprenorphine doses of each action, mg."""
CONTINGENCY = np.array([t.contingency_management for t in TREATMENTS])


@dataclass(frozen=True, slots=True)
class WeekOutcome:
    """One week's outcome of every patient, what reward functions score (all (n,)).

    Attributes:
        use_days: true days of drug use (0-7).
        actions: the treatment (action index) given.
    """

    use_days: np.ndarray
    actions: np.ndarray


@dataclass(frozen=True, slots=True, kw_only=True)
class AbstinenceReward(RewardFn):
    """Weekly reward: ``abstinent_day_weight x abstinent days - treatment_burden[action]``.

    Burdens (side effects, clinic visits, cost) are in abstinent-day equivalents per week,
    one per action of :data:`TREATMENTS` (assumed: higher doses and supervised agonist
    dosing cost more).
    """

    abstinent_day_weight: float = 1.0
    treatment_burden: tuple[float, ...] = (0.0, 0.3, 0.5, 1.0, 0.8, 1.2, 0.6)

    def __post_init__(self) -> None:
        """Weights finite and >= 0; one burden per action."""
        if len(self.treatment_burden) != len(TREATMENTS):
            raise ValueError(f"reward.treatment_burden needs {len(TREATMENTS)} values "
                             f"({list(TREATMENT_NAMES)}), got {len(self.treatment_burden)}")
        named = [("abstinent_day_weight", self.abstinent_day_weight)] + [
            (f"treatment_burden[{i}]", v) for i, v in enumerate(self.treatment_burden)]
        bad = [f"{name} must be finite and >= 0, got {value}" for name, value in named
               if not (math.isfinite(value) and value >= 0)]
        if bad:
            raise ValueError("; ".join(bad))

    def burden(self, actions: np.ndarray) -> np.ndarray:
        """Burden of each action (n,).

        Examples:
            >>> AbstinenceReward().burden(np.array([0, 2])).tolist()
            [0.0, 0.5]
        """
        return np.asarray(self.treatment_burden)[np.asarray(actions, dtype=np.int64)]

    def __call__(self, outcome: WeekOutcome, doses_mg: np.ndarray) -> np.ndarray:
        """Reward of each patient for one week (``doses_mg``: the action indices)."""
        abstinent = DAYS_PER_WEEK - np.asarray(outcome.use_days, dtype=np.float64)
        return self.abstinent_day_weight * abstinent - self.burden(outcome.actions)


@dataclass(frozen=True, slots=True, kw_only=True)
class AddictionScenario:
    """Everything that defines the clinic (YAML fields have the same names).

    Attributes:
        n_weeks: weeks per episode, one decision each week (24, a typical trial length).
        burn_in_days: untreated days simulated at reset, the patient's use history (180).
        report_probability: chance each day of use is self-reported (0.8, assumed).
        urine_window_days: a urine test detects use on the last this many days (3).
        urine_sensitivity, urine_specificity: of the weekly test (0.9, 0.95, assumed).
        reward: reward weights; redish: the learner; pharmacology: the treatments.
    """

    n_weeks: int = 24
    burn_in_days: int = 180
    report_probability: float = 0.8
    urine_window_days: int = 3
    urine_sensitivity: float = 0.9
    urine_specificity: float = 0.95
    reward: AbstinenceReward = field(default_factory=AbstinenceReward)
    redish: Redish2004 = field(default_factory=Redish2004)
    pharmacology: TreatmentPharmacology = field(default_factory=TreatmentPharmacology)

    def __post_init__(self) -> None:
        """Validate the fields, naming the bad one."""
        check_fields(self)
        if not 1 <= self.n_weeks <= 520:
            raise ValueError(f"n_weeks must be in 1..520, got {self.n_weeks}")
        if not 0 <= self.burn_in_days <= 3650:
            raise ValueError(f"burn_in_days must be in 0..3650, got {self.burn_in_days}")
        if not 1 <= self.urine_window_days <= DAYS_PER_WEEK:
            raise ValueError(f"urine_window_days must be in 1..7, got {self.urine_window_days}")
        for name in ("report_probability", "urine_sensitivity", "urine_specificity"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")

    @property
    def population(self) -> Population:
        """No covariates: patients differ by their etas and their use history.

        Examples:
            >>> AddictionScenario().population.columns
            ('id',)
        """
        return Population(covariates={})


def resolve_scenario(scenario: AddictionScenario | str | os.PathLike | None,
                     env_id: str) -> AddictionScenario:
    """The scenario from an object, a YAML path or ``None`` (see ``scenarios.resolve_scenario``).

    Examples:
        >>> resolve_scenario(None, "any id").n_weeks
        24
    """
    return resolve(scenario, AddictionScenario, env_id)


class ClinicObservation(ObservationModel):
    """What the clinic knows (float32): reported use, urine tests, treatments, the week."""

    def space(self, settings: Any) -> spaces.Dict:
        """The observation space of one patient under ``settings``."""
        n = settings.scenario.n_weeks
        return spaces.Dict({
            "reported_use_days": spaces.Box(0.0, 7.0, (n,), dtype=np.float32),
            "urine_positive": spaces.Box(0.0, 1.0, (n,), dtype=np.float32),
            "urine_tested": spaces.Box(0.0, 1.0, (n,), dtype=np.float32),
            "treatments": spaces.Box(0.0, float(len(TREATMENTS)), (n,), dtype=np.float32),
            "week": spaces.Box(0.0, float(n), (1,), dtype=np.float32)})

    def __call__(self, records: Any, settings: Any) -> dict[str, np.ndarray]:
        """Batched observation of all patients (treatments: action + 1, 0 for weeks to come)."""
        return self.fill(records, self.arrays(records.week.shape[0], settings))

    def arrays(self, n: int, settings: Any) -> dict[str, np.ndarray]:
        """Uninitialized float32 arrays of the observation of ``n`` patients, for :meth:`fill`."""
        n_weeks = settings.scenario.n_weeks
        return {key: np.empty((n, 1 if key == "week" else n_weeks), dtype=np.float32)
                for key in OBSERVATION_KEYS}

    def fill(self, records: Any, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The batched observation written whole into ``arrays`` (of :meth:`arrays`), returned."""
        clinic_observation(records.week, records.reported, records.urine_positive,
                           records.actions, tuple(arrays[key] for key in OBSERVATION_KEYS))
        return arrays


OBSERVATION_KEYS = ("reported_use_days", "urine_positive", "urine_tested", "treatments", "week")
"""The keys of :class:`ClinicObservation`, in the order of its kernel's outputs."""
